"""The Trajectory Editor node: a camera path drawn in the scene's point cloud (web/js/trajectory_editor.js)."""

from __future__ import annotations

import logging

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType
from ..realcam_comfy.files import scene_file_ref
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.trajectory import editor as core_editor

log = logging.getLogger("comfyui-realcam.editor")

UI_KEY = "realcam_editor"  # web/js/trajectory_editor.js reads message[UI_KEY][0]
MAX_PREVIEW_POINTS = 200_000
SCENE_SUBFOLDER = "realcam"  # under ComfyUI's temp folder; the widget fetches it through /view


class RealCamTrajectoryEditor(io.ComfyNode):
    """Outputs the path drawn in the widget; an incoming trajectory seeds it but never overrides edits.

    `editor_state` is the widget's versioned JSON (schema: realcam_core/trajectory/editor/__init__.py). Until the
    user edits the path, a connected `trajectory` is passed through unchanged (and shown in the
    editor); once `source.edited` is true the drawn path is the output and the input is only offered
    through the widget's "Use input" button.
    """

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrajectoryEditor",
            display_name="RealCam Trajectory Editor",
            category=CATEGORY,
            description=(
                "Draw a camera path in the image's metric point cloud: keyframe cameras you can move and turn, "
                "numeric fields in metres and degrees, presets, interpolation, a timeline and a camera view "
                "rendered like RealCam Point Cloud Render. Run the workflow once to load the point cloud; "
                "after that, editing needs no re-run. The path is saved with the workflow."
            ),
            inputs=[
                io.String.Input(
                    "editor_state", default=core_editor.default_state().to_json(), multiline=False,
                    tooltip="The path as versioned JSON; the editor widget writes it (schema in "
                            "realcam_core/trajectory/editor/__init__.py). API prompts may set it directly.",
                ),
                SceneType.Input("scene", optional=True,
                                tooltip="The scene whose point cloud the editor shows (and whose intrinsics the "
                                        "output trajectory carries)."),
                TrajectoryType.Input("trajectory", optional=True,
                                     tooltip="Seeds the editor (e.g. a preset or a pose file). Used as the output "
                                             "until you edit the path in the widget; never overwrites your edits."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, editor_state: str | None = None) -> bool | str:
        if not isinstance(editor_state, str):  # linked from another node: checked when it runs
            return True
        try:
            core_editor.parse_editor_state(editor_state)
        except RealCamInputError as e:
            return str(e)
        return True

    @classmethod
    def execute(cls, editor_state: str, scene=None, trajectory=None) -> io.NodeOutput:
        out, input_state, warning = core_editor.editor_output(core_editor.parse_editor_state(editor_state), scene,
                                                              trajectory)
        if warning:
            log.warning("RealCam Trajectory Editor: %s", warning)
        payload = {
            "scene_file": None if scene is None else scene_file_ref(scene, SCENE_SUBFOLDER, MAX_PREVIEW_POINTS),
            "input_state": input_state,
            "num_frames": out.num_frames,
        }
        return io.NodeOutput(out, ui={UI_KEY: [payload]})


NODES = [RealCamTrajectoryEditor]
