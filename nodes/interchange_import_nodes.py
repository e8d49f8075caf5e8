"""Cameras in from other tools: glTF (Blender), COLMAP, nerfstudio files in the input folder, core Load3D views.

Files are read from ComfyUI's input folder under the path policy (`realcam_comfy.common.input_file`); the
work is in realcam_core/interchange. The writers are in `interchange_export_nodes`.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType, input_file, list_input_files
from ..realcam_comfy.files import input_fingerprint
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.interchange import colmap, gltf, load3d, nerfstudio
from ..realcam_core.scene.geometry import scene_point_cloud

SUB = CATEGORY + "/interchange"
GLTF_SUFFIXES = (".glb", ".gltf")
JSON_SUFFIXES = (".json",)
COLMAP_SUFFIXES = (".txt",)


class RealCamLoadGLTFCamera(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoadGLTFCamera", display_name="RealCam Load glTF Camera (Blender)", category=SUB,
            description="An animated camera from a .glb / .gltf in the input folder (e.g. exported from Blender) "
                        "as a trajectory relative to its first frame, with per-frame intrinsics from its field of "
                        "view (KHR_animation_pointer yfov keys are read too).",
            inputs=[
                io.Combo.Input("gltf_file", options=list_input_files(GLTF_SUFFIXES),
                               tooltip="A .glb / .gltf in ComfyUI's input folder (upload with the button below)."),
                io.String.Input("camera_name", default="",
                                tooltip="Which camera when the file has several (the error lists them)."),
                io.Float.Input("aspect", default=0.0, min=0.0, max=10.0, step=0.01,
                               tooltip="Width / height when the camera states no aspectRatio (0 = required in "
                                       "the file)."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory"), io.String.Output(display_name="camera_name")],
        )

    @classmethod
    def execute(cls, gltf_file: str, camera_name: str, aspect: float) -> io.NodeOutput:
        path = input_file(gltf_file, "gltf_file", GLTF_SUFFIXES)
        got = gltf.read_gltf_trajectory(path, camera_name.strip(), aspect_fallback=aspect or None)
        return io.NodeOutput(got.trajectory, got.camera_name)

    @classmethod
    def fingerprint_inputs(cls, gltf_file: str, camera_name: str, aspect: float):
        return input_fingerprint(gltf_file, "gltf_file", GLTF_SUFFIXES, camera_name, aspect)


class RealCamLoadCOLMAP(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoadCOLMAP", display_name="RealCam Load COLMAP Model", category=SUB,
            description="Camera path from a COLMAP text model in the input folder (images.txt with cameras.txt "
                        "beside it; undistorted), images in name order, relative to the first.",
            inputs=[io.Combo.Input("images_txt", options=list_input_files(("images.txt",)),
                                   tooltip="images.txt of the model (upload cameras.txt + images.txt together with "
                                           "the button below).")],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, images_txt: str) -> io.NodeOutput:
        path = input_file(images_txt, "images_txt", COLMAP_SUFFIXES)
        if path.name != "images.txt":
            raise RealCamInputError(f"images_txt: expected a file named images.txt, got {images_txt!r}")
        return io.NodeOutput(colmap.read_colmap_text(path.parent))

    @classmethod
    def fingerprint_inputs(cls, images_txt: str):
        return input_fingerprint(images_txt, "images_txt", COLMAP_SUFFIXES)


class RealCamLoadNerfstudio(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoadNerfstudio", display_name="RealCam Load nerfstudio transforms.json", category=SUB,
            description="Camera path from a nerfstudio transforms.json in the input folder (frames in file order, "
                        "relative to the first).",
            inputs=[io.Combo.Input("transforms_file", options=list_input_files(JSON_SUFFIXES),
                                   tooltip="A transforms.json in ComfyUI's input folder (upload with the button).")],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, transforms_file: str) -> io.NodeOutput:
        return io.NodeOutput(nerfstudio.read_transforms_json(
            input_file(transforms_file, "transforms_file", JSON_SUFFIXES)))

    @classmethod
    def fingerprint_inputs(cls, transforms_file: str):
        return input_fingerprint(transforms_file, "transforms_file", JSON_SUFFIXES)


class RealCamLoad3DCamera(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoad3DCamera", display_name="RealCam Pose From Load3D Camera", category=SUB,
            description="The view of core's Load 3D node (camera_info) as a RealCam keyframe. Load the scene's .glb "
                        "(RealCam Export glTF) into Load 3D, orbit to a view, connect camera_info and the same "
                        "scene: the pose comes back in metres in the scene's world. Chain several with append_to, "
                        "then SE3 Interpolate, or seed the Trajectory Editor with it.",
            inputs=[
                io.Load3DCamera.Input("camera_info", tooltip="camera_info output of core's Load 3D node."),
                io.Float.Input("fov", default=load3d.LOAD3D_DEFAULT_FOV, min=1.0, max=179.0, step=0.1,
                               tooltip="Load 3D's FOV setting (vertical degrees; its default is 75)."),
                io.Int.Input("width", default=1024, min=1, max=16384, tooltip="Load 3D's width (for the aspect)."),
                io.Int.Input("height", default=1024, min=1, max=16384, tooltip="Load 3D's height (for the aspect)."),
                SceneType.Input("scene", optional=True,
                                tooltip="The scene shown in Load 3D: undoes the viewer's rescaling to metres. "
                                        "Without it the pose is in the viewer's units (model fitted to 5)."),
                TrajectoryType.Input("append_to", optional=True,
                                     tooltip="Keyframes to add this pose to (after the last one)."),
                io.Int.Input("frames_after", default=16, min=1, max=1024,
                             tooltip="Keyframe time of this pose after the last keyframe of append_to."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, camera_info, fov: float, width: int, height: int, frames_after: int, scene=None,
                append_to=None) -> io.NodeOutput:
        pts = None if scene is None else scene_point_cloud(scene)[0].double().numpy()
        return io.NodeOutput(load3d.load3d_keyframe(camera_info, fov, width, height, pts, append_to, frames_after))


NODES = [RealCamLoadGLTFCamera, RealCamLoadCOLMAP, RealCamLoadNerfstudio, RealCamLoad3DCamera]
