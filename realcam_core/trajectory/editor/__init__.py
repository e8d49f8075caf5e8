"""The Trajectory Editor's state: schema and parsing (`schema`), value types (`state`), the rotation
convention (`euler`), seeding from presets and trajectories (`seed`), and the scene the widget shows
(`payload`), what the node outputs (`output`). The widget is `web/js/trajectory_editor.js` + `web/js/editor/`; `web/js/realcam_math.js`
mirrors the checks with the same field names (tests/core/test_editor_parity.py runs both).
"""

from ...errors import RealCamInputError
from .euler import euler_to_matrix, matrix_to_euler
from .output import editor_output
from .payload import scene_payload
from .schema import parse_editor_state
from .seed import default_state, simplify_keyframes, state_from_keyframes, state_from_trajectory
from .state import EASINGS, EDITOR_STATE_VERSION, INTERPOLATIONS, MAX_FRAMES, EditorState, Keyframe

__all__ = [
    "EASINGS",
    "EDITOR_STATE_VERSION",
    "INTERPOLATIONS",
    "MAX_FRAMES",
    "EditorState",
    "Keyframe",
    "RealCamInputError",
    "default_state",
    "editor_output",
    "euler_to_matrix",
    "matrix_to_euler",
    "parse_editor_state",
    "scene_payload",
    "simplify_keyframes",
    "state_from_keyframes",
    "state_from_trajectory",
]
