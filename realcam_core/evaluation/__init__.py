"""Camera-accuracy evaluation (RotErr, TransErr, CamMC) of a video against its requested camera path.

`sfm` estimates per-frame cameras with pycolmap, `metrics` holds the paper's definitions,
`accuracy` aligns, averages trials and reports, `plot` draws requested vs estimated paths.
"""

from .accuracy import (
    INTRINSICS,
    AccuracyReport,
    TrialResult,
    evaluate_camera_accuracy,
    metric_scale,
    track_camera,
    track_camera_report,
    video_intrinsics,
)
from .metrics import CameraMetrics, camera_metrics, geodesic_angles, normalise_translations, relative_to_frame0
from .plot import plot_paths
from .sfm import MIN_FRAMES, PoseEstimate, Tracker, check_video

__all__ = [
    "INTRINSICS",
    "MIN_FRAMES",
    "AccuracyReport",
    "CameraMetrics",
    "PoseEstimate",
    "Tracker",
    "TrialResult",
    "camera_metrics",
    "check_video",
    "evaluate_camera_accuracy",
    "geodesic_angles",
    "metric_scale",
    "normalise_translations",
    "plot_paths",
    "relative_to_frame0",
    "track_camera",
    "track_camera_report",
    "video_intrinsics",
]
