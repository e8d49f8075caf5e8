"""What the Trajectory Editor node outputs: the drawn path, or the incoming trajectory until the user edits.

An incoming trajectory seeds the widget (as editor state) but never overrides edits: until `source.edited`
is true it passes through unchanged; after that the drawn path is the output, with the scene's intrinsics
(or the incoming ones) as `EditorState.intrinsics_norm` decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import RealCamInputError
from ..types import Trajectory
from .seed import state_from_trajectory
from .state import EditorState

if TYPE_CHECKING:
    from ...scene.types import Scene

__all__ = ["editor_output"]


def editor_output(state: EditorState, scene: Scene | None = None, trajectory: Trajectory | None = None
                  ) -> tuple[Trajectory, str | None, str | None]:
    """(the output path, the incoming trajectory as editor-state JSON for the widget or None, a warning when
    the incoming trajectory cannot be shown in the editor - the node still passes it on)."""
    input_state = warning = None
    if trajectory is not None:
        try:
            input_state = state_from_trajectory(trajectory, fps=state.fps).to_json()
        except RealCamInputError as e:
            warning = f"cannot show the incoming trajectory: {e}"
    if trajectory is not None and not state.edited:
        return trajectory, input_state, warning
    incoming = None if trajectory is None else trajectory.K_norm
    if scene is not None:
        K_norm = state.intrinsics_norm(scene.height, scene.width, scene.K, incoming=incoming)
    else:
        K_norm = state.intrinsics_norm(incoming=incoming)
    return state.trajectory(K_norm), input_state, warning
