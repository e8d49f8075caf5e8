"""Camera paths: the REALCAM_TRAJECTORY type and everything that makes or edits one.

- `types`: the `Trajectory` dataclass (per-frame c2w + normalised K, keyframes).
- `presets`: upstream's named moves (pan, zoom, orbit, ...) as trajectories.
- `interpolate`: keyframes -> per-frame poses (SE3 / spline, easing).
- `clips`: cutting long paths into overlapping clips and joining them.
- `loop`: the looping-video interpolation of two photos' poses.
- `editor`: the Trajectory Editor's saved state (schema, seeding, the widget's scene payload).
- `plot`: a picture of a path for the UI.
Camera maths these build on (SE3, intrinsics, lenses) lives in `realcam_core.camera`.
"""
