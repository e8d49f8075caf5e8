"""Cameras and scenes in and out of other tools: glTF (Blender), PLY, COLMAP, nerfstudio, core Load3D.

Files are written under ComfyUI's output folder with a counter (never overwriting) and read from its
input folder through the same helpers as the pose-file nodes; the work is in realcam_core/interchange.
"""

from __future__ import annotations

import os
from pathlib import Path

import folder_paths
import torch
from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType, input_file, list_input_files
from ..realcam_core.camera.adapters import trajectory_from_c2w
from ..realcam_core.camera.lens import keyframe_K_norm
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.interchange import colmap, gltf, load3d, nerfstudio, ply
from ..realcam_core.scene.geometry import scene_point_cloud
from ..realcam_core.trajectory.types import Trajectory

SUB = CATEGORY + "/interchange"
GLTF_SUFFIXES = (".glb", ".gltf")
JSON_SUFFIXES = (".json",)
COLMAP_SUFFIXES = (".txt",)


def _new_output(filename_prefix: str, suffix: str) -> tuple[Path, str]:
    """A fresh path under the output folder (ComfyUI's counter; refuses to overwrite) and its relative name."""
    out_dir = folder_paths.get_output_directory()
    full_dir, filename, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, out_dir)
    path = Path(full_dir) / f"{filename}_{counter:05}_{suffix}"
    if path.exists():
        raise RealCamInputError(f"filename_prefix: {path.name} already exists in the output folder; choose "
                                "another prefix")
    rel = os.path.relpath(path, out_dir).replace(os.sep, "/")
    return path, rel


def _points(scene) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if scene is None:
        return None, None
    return scene_point_cloud(scene)


def _saved(rel: str, info: str) -> dict:
    return {"text": (f"{rel}: {info}",)}


def _file_fingerprint(name: str, what: str, suffixes: tuple[str, ...], *rest) -> str:
    try:
        p = input_file(name, what, suffixes)
        return f"{p}:{p.stat().st_mtime_ns}:{rest}"
    except RealCamInputError:
        return f"{name}:{rest}"


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
        path, rel = _new_output(filename_prefix, ".glb")
        pts, cols = _points(scene)
        info = gltf.write_glb(path, trajectory, pts, cols, fps=fps)
        lens = "animated lens" if info["lens_animates"] else f"yfov {info['yfov_deg'][0]:.2f} deg"
        return io.NodeOutput(rel, ui=_saved(rel, f"{info['frames']} frames, {info['points']} points, {lens}"))


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
        path, rel = _new_output(filename_prefix, ".ply")
        pts, cols = scene_point_cloud(scene)
        n = ply.write_ply(path, pts, cols, axes=axes)
        return io.NodeOutput(rel, ui=_saved(rel, f"{n} points"))


def _size_inputs() -> list:
    return [io.Int.Input("width", default=512, min=1, max=16384, tooltip="Image width the intrinsics refer to."),
            io.Int.Input("height", default=320, min=1, max=16384, tooltip="Image height the intrinsics refer to.")]


class RealCamExportCOLMAP(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamExportCOLMAP", display_name="RealCam Export COLMAP Model", category=SUB,
            description="Writes a COLMAP text model (cameras.txt, images.txt, points3D.txt, via pycolmap) into a "
                        "new folder in the output folder; images are named frame_00000.png...",
            inputs=[TrajectoryType.Input("trajectory"), *_size_inputs(),
                    SceneType.Input("scene", optional=True, tooltip="Its points go into points3D.txt."),
                    io.String.Input("filename_prefix", default="realcam/colmap",
                                    tooltip="Folder under ComfyUI's output folder; a counter is appended.")],
            outputs=[io.String.Output(display_name="folder")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, trajectory, width: int, height: int, filename_prefix: str, scene=None) -> io.NodeOutput:
        path, rel = _new_output(filename_prefix, "")
        pts, cols = _points(scene)
        info = colmap.write_colmap_text(path, trajectory, width, height,
                                        None if pts is None else pts.numpy(), None if cols is None else cols.numpy())
        return io.NodeOutput(rel, ui=_saved(rel, f"{info['frames']} images, {info['cameras']} cameras, "
                                                 f"{info['points']} points"))


class RealCamExportNerfstudio(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamExportNerfstudio", display_name="RealCam Export nerfstudio transforms.json",
            category=SUB,
            description="Writes transforms.json (OpenGL camera axes, pixel intrinsics, per frame when the lens "
                        "animates) into a new folder in the output folder, with points.ply when a scene is given.",
            inputs=[TrajectoryType.Input("trajectory"), *_size_inputs(),
                    SceneType.Input("scene", optional=True, tooltip="Written as points.ply (ply_file_path)."),
                    io.String.Input("filename_prefix", default="realcam/nerfstudio",
                                    tooltip="Folder under ComfyUI's output folder; a counter is appended.")],
            outputs=[io.String.Output(display_name="transforms_file")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, trajectory, width: int, height: int, filename_prefix: str, scene=None) -> io.NodeOutput:
        folder, rel = _new_output(filename_prefix, "")
        folder.mkdir(parents=True)
        ply_name = None
        if scene is not None:
            pts, cols = scene_point_cloud(scene)
            ply.write_ply(folder / "points.ply", pts, cols, axes="opengl")
            ply_name = "points.ply"
        nerfstudio.write_transforms_json(folder / "transforms.json", trajectory, width, height, ply_name)
        return io.NodeOutput(f"{rel}/transforms.json", ui=_saved(f"{rel}/transforms.json",
                                                                 f"{trajectory.num_frames} frames"))


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
        return _file_fingerprint(gltf_file, "gltf_file", GLTF_SUFFIXES, camera_name, aspect)


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
        return _file_fingerprint(images_txt, "images_txt", COLMAP_SUFFIXES)


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
        return _file_fingerprint(transforms_file, "transforms_file", JSON_SUFFIXES)


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
        c2w = torch.from_numpy(load3d.load3d_to_c2w(camera_info, pts)).float()
        K = torch.from_numpy(load3d.load3d_to_k_norm(camera_info, fov, width, height)).float()
        if append_to is None:
            return io.NodeOutput(trajectory_from_c2w(c2w[None], K_norm=K, relative=False))
        times, keys = append_to.keyframes()
        key_K = keyframe_K_norm(append_to, times)
        keys = torch.cat([keys.float(), c2w[None]])
        out = Trajectory(c2w=keys.clone(), K_norm=torch.cat([key_K, K[None]]), key_times=[*times, times[-1] +
                         frames_after], key_c2w=keys.clone())
        return io.NodeOutput(out.validate())


NODES = [RealCamExportGLTF, RealCamExportPLY, RealCamExportCOLMAP, RealCamExportNerfstudio, RealCamLoadGLTFCamera,
         RealCamLoadCOLMAP, RealCamLoadNerfstudio, RealCamLoad3DCamera]

