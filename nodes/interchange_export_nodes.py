"""Cameras and scenes out to other tools: glTF (Blender), PLY, COLMAP, nerfstudio.

Files are written under ComfyUI's output folder with a counter, never overwriting (`realcam_comfy.files`);
the work is in realcam_core/interchange. The readers are in `interchange_import_nodes`.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType
from ..realcam_comfy.files import new_output, saved
from ..realcam_core.interchange import colmap, gltf, nerfstudio, ply
from ..realcam_core.scene.geometry import optional_point_cloud, scene_point_cloud

SUB = CATEGORY + "/interchange"


class RealCamExportGLTF(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamExportGLTF", display_name="RealCam Export glTF (Blender)", category=SUB,
            description="Writes a .glb into the output folder: the scene's point cloud (metres, colours) and the "
                        "trajectory as an animated camera (one key per frame, lens from the per-frame intrinsics). "
                        "Opens in Blender (File > Import > glTF 2.0) and in core's Load 3D / Preview 3D.",
            inputs=[
                TrajectoryType.Input("trajectory"),
                SceneType.Input("scene", optional=True, tooltip="Its point cloud is written too (the trajectory's "
                                                                "frame 0 is the scene's camera)."),
                io.Float.Input("fps", default=24.0, min=1.0, max=240.0, step=1.0,
                               tooltip="Frame rate of the camera animation (Blender's default is 24)."),
                io.String.Input("filename_prefix", default="realcam/scene",
                                tooltip="Path under ComfyUI's output folder; a counter and .glb are appended."),
            ],
            outputs=[io.String.Output(display_name="model_file",
                                      tooltip="The file's path in the output folder (core Preview 3D's model_file).")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, trajectory, fps: float, filename_prefix: str, scene=None) -> io.NodeOutput:
        path, rel = new_output(filename_prefix, ".glb")
        pts, cols = optional_point_cloud(scene)
        info = gltf.write_glb(path, trajectory, pts, cols, fps=fps)
        lens = "animated lens" if info["lens_animates"] else f"yfov {info['yfov_deg'][0]:.2f} deg"
        return io.NodeOutput(rel, ui=saved(rel, f"{info['frames']} frames, {info['points']} points, {lens}"))


class RealCamExportPLY(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamExportPLY", display_name="RealCam Export PLY Point Cloud", category=SUB,
            description="Writes the scene's point cloud (metres, colours) as a binary .ply into the output folder.",
            inputs=[
                SceneType.Input("scene"),
                io.Combo.Input("axes", options=list(ply.PLY_AXES), default="opengl",
                               tooltip="opengl: y up, as glTF / Blender / nerfstudio (matches the .glb export); "
                                       "opencv: RealCam's own world (first camera, y down)."),
                io.String.Input("filename_prefix", default="realcam/points",
                                tooltip="Path under ComfyUI's output folder; a counter and .ply are appended."),
            ],
            outputs=[io.String.Output(display_name="ply_file")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, scene, axes: str, filename_prefix: str) -> io.NodeOutput:
        path, rel = new_output(filename_prefix, ".ply")
        pts, cols = scene_point_cloud(scene)
        n = ply.write_ply(path, pts, cols, axes=axes)
        return io.NodeOutput(rel, ui=saved(rel, f"{n} points"))


def _folder_inputs(scene_tip: str, prefix: str) -> list:
    """Inputs of the exports that write a folder: the path, the image size its intrinsics refer to, the scene."""
    return [TrajectoryType.Input("trajectory"),
            io.Int.Input("width", default=512, min=1, max=16384, tooltip="Image width the intrinsics refer to."),
            io.Int.Input("height", default=320, min=1, max=16384, tooltip="Image height the intrinsics refer to."),
            SceneType.Input("scene", optional=True, tooltip=scene_tip),
            io.String.Input("filename_prefix", default=prefix,
                            tooltip="Folder under ComfyUI's output folder; a counter is appended.")]


class RealCamExportCOLMAP(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamExportCOLMAP", display_name="RealCam Export COLMAP Model", category=SUB,
            description="Writes a COLMAP text model (cameras.txt, images.txt, points3D.txt, via pycolmap) into a "
                        "new folder in the output folder; images are named frame_00000.png...",
            inputs=_folder_inputs("Its points go into points3D.txt.", "realcam/colmap"),
            outputs=[io.String.Output(display_name="folder")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, trajectory, width: int, height: int, filename_prefix: str, scene=None) -> io.NodeOutput:
        path, rel = new_output(filename_prefix, "")
        pts, cols = optional_point_cloud(scene)
        info = colmap.write_colmap_text(path, trajectory, width, height,
                                        None if pts is None else pts.numpy(), None if cols is None else cols.numpy())
        return io.NodeOutput(rel, ui=saved(rel, f"{info['frames']} images, {info['cameras']} cameras, "
                                                 f"{info['points']} points"))


class RealCamExportNerfstudio(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamExportNerfstudio", display_name="RealCam Export nerfstudio transforms.json",
            category=SUB,
            description="Writes transforms.json (OpenGL camera axes, pixel intrinsics, per frame when the lens "
                        "animates) into a new folder in the output folder, with points.ply when a scene is given.",
            inputs=_folder_inputs("Written as points.ply (ply_file_path).", "realcam/nerfstudio"),
            outputs=[io.String.Output(display_name="transforms_file")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, trajectory, width: int, height: int, filename_prefix: str, scene=None) -> io.NodeOutput:
        folder, rel = new_output(filename_prefix, "")
        nerfstudio.write_nerfstudio_folder(folder, trajectory, width, height, *optional_point_cloud(scene))
        return io.NodeOutput(f"{rel}/transforms.json", ui=saved(f"{rel}/transforms.json",
                                                                 f"{trajectory.num_frames} frames"))


NODES = [RealCamExportGLTF, RealCamExportPLY, RealCamExportCOLMAP, RealCamExportNerfstudio]
