"""glTF 2.0 in and out: the scene's point cloud and an animated camera, written with `pygltflib`.

Out (`write_glb`): one binary `.glb` with
- a mesh of POINTS (POSITION float32 metres, COLOR_0 linear float RGB) in the glTF world;
- a camera node (perspective: yfov from frame 0's intrinsics, aspectRatio) whose translation and
  rotation are sampled once per frame (LINEAR, time = frame / fps) in one animation;
- when the focal length changes over the path, the per-frame yfov as a `KHR_animation_pointer`
  channel (`/cameras/0/perspective/yfov`), listed in extensionsUsed (not required). glTF core cannot
  animate a camera's lens; readers without that extension see the first frame's lens.
Axes change once, in `axes.cv_to_gl` (see there).

In (`read_gltf_trajectory`): a `.glb` / `.gltf` (e.g. from Blender) -> a `Trajectory` relative to the
chosen camera's first frame, with per-frame intrinsics from yfov (animated or not) and aspectRatio.
The camera's world matrix is its node chain (parents included) sampled at every key time of the
animation that moves it. Errors name the file and say what to do: no camera, several cameras without
a name, an orthographic camera, non-uniform scale, a camera that does not move.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib as gl
import torch

from ..camera.adapters import trajectory_from_c2w
from ..errors import RealCamInputError, require
from ..trajectory.types import Trajectory
from .axes import (
    cv_to_gl,
    gl_to_cv,
    k_norm_to_yfov_aspect,
    matrix_to_quat_xyzw,
    points_cv_to_gl,
    quat_xyzw_to_matrix,
    srgb_to_linear,
    yfov_aspect_to_k_norm,
)

__all__ = ["GltfImport", "gltf_camera_names", "read_gltf_trajectory", "write_glb"]

POINTER_EXT = "KHR_animation_pointer"
DEFAULT_CAMERA_NAME = "RealCamCamera"
_FLOAT = gl.FLOAT  # 5126


class _Blob:
    """Accumulates 4-byte aligned buffer views and accessors into one binary chunk."""

    def __init__(self, doc: gl.GLTF2):
        self.doc, self.data = doc, bytearray()

    def add(self, array: np.ndarray, kind: str, target: int | None = None, minmax: bool = False) -> int:
        arr = np.ascontiguousarray(array, dtype=np.float32)
        offset = len(self.data)
        self.data += arr.tobytes()
        self.data += b"\0" * (-len(self.data) % 4)
        self.doc.bufferViews.append(gl.BufferView(buffer=0, byteOffset=offset, byteLength=arr.nbytes, target=target))
        acc = gl.Accessor(bufferView=len(self.doc.bufferViews) - 1, componentType=_FLOAT, count=int(arr.shape[0]),
                          type={1: gl.SCALAR, 3: gl.VEC3, 4: gl.VEC4}[1 if arr.ndim == 1 else arr.shape[1]])
        if minmax:  # required for POSITION and animation inputs
            flat = arr.reshape(arr.shape[0], -1)
            acc.min, acc.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.doc.accessors.append(acc)
        return len(self.doc.accessors) - 1


def write_glb(
    path: str | Path,
    trajectory: Trajectory,
    points: torch.Tensor | np.ndarray | None = None,
    colors: torch.Tensor | np.ndarray | None = None,
    fps: float = 24.0,
    camera_name: str = DEFAULT_CAMERA_NAME,
    znear: float = 0.01,
) -> dict:
    """Write `trajectory` (and optionally points (P, 3) metres in its world, sRGB colours (P, 3) 0..1) as .glb.

    Returns a summary: frames, points, yfov range (degrees), whether the lens animates.
    """
    trajectory.validate()
    require(fps > 0 and math.isfinite(fps), "fps", "a positive number of frames per second", fps)
    n = trajectory.num_frames
    c2w = cv_to_gl(trajectory.c2w.double().cpu().numpy())
    R, t = c2w[:, :3, :3], c2w[:, :3, 3]
    yfov, aspect = k_norm_to_yfov_aspect(trajectory.K_norm.double().cpu().numpy())
    doc = gl.GLTF2(asset=gl.Asset(generator="ComfyUI-RealCam", version="2.0"), scene=0)
    blob = _Blob(doc)
    root_nodes: list[int] = []

    n_points = 0
    if points is not None:
        p = np.asarray(points.cpu() if isinstance(points, torch.Tensor) else points, dtype=np.float64)
        require(p.ndim == 2 and p.shape[1] == 3, "points", "(P, 3)", p.shape)
        n_points = int(p.shape[0])
    if n_points:
        attrs = gl.Attributes(POSITION=blob.add(points_cv_to_gl(p), gl.VEC3, gl.ARRAY_BUFFER, minmax=True))
        if colors is not None:
            c = np.asarray(colors.cpu() if isinstance(colors, torch.Tensor) else colors, dtype=np.float64)
            require(c.shape == p.shape, "colors", f"one RGB colour per point {p.shape}", c.shape)
            attrs.COLOR_0 = blob.add(srgb_to_linear(c), gl.VEC3, gl.ARRAY_BUFFER)
        doc.meshes.append(gl.Mesh(name="RealCamScene", primitives=[gl.Primitive(attributes=attrs, mode=gl.POINTS)]))
        doc.nodes.append(gl.Node(name="RealCamScene", mesh=0))
        root_nodes.append(len(doc.nodes) - 1)

    aspect0 = float(aspect[0])
    doc.cameras.append(gl.Camera(name=camera_name, type=gl.PERSPECTIVE, perspective=gl.Perspective(
        yfov=float(yfov[0]), aspectRatio=aspect0, znear=float(znear))))
    q = matrix_to_quat_xyzw(R)
    for k in range(1, n):  # each key on the hemisphere of the previous (flipped) one: shortest arcs for slerp
        if float(q[k] @ q[k - 1]) < 0:
            q[k] = -q[k]
    doc.nodes.append(gl.Node(name=camera_name, camera=0, translation=t[0].tolist(), rotation=q[0].tolist()))
    cam_node = len(doc.nodes) - 1
    root_nodes.append(cam_node)

    times = np.arange(n, dtype=np.float64) / fps
    t_in = blob.add(times, gl.SCALAR, minmax=True)
    samplers = [gl.AnimationSampler(input=t_in, output=blob.add(t, gl.VEC3), interpolation="LINEAR"),
                gl.AnimationSampler(input=t_in, output=blob.add(q, gl.VEC4), interpolation="LINEAR")]
    channels = [gl.AnimationChannel(sampler=0, target=gl.AnimationChannelTarget(node=cam_node, path="translation")),
                gl.AnimationChannel(sampler=1, target=gl.AnimationChannelTarget(node=cam_node, path="rotation"))]
    lens_animates = bool(np.ptp(yfov) > 1e-9)
    if lens_animates:
        samplers.append(gl.AnimationSampler(input=t_in, output=blob.add(yfov, gl.SCALAR), interpolation="LINEAR"))
        target = gl.AnimationChannelTarget(path="pointer")
        target.extensions = {POINTER_EXT: {"pointer": "/cameras/0/perspective/yfov"}}
        channels.append(gl.AnimationChannel(sampler=2, target=target))
        doc.extensionsUsed = [POINTER_EXT]
    doc.animations.append(gl.Animation(name=f"{camera_name}Action", samplers=samplers, channels=channels))
    doc.scenes.append(gl.Scene(name="RealCam", nodes=root_nodes))
    doc.buffers.append(gl.Buffer(byteLength=len(blob.data)))
    doc.set_binary_blob(bytes(blob.data))
    doc.save_binary(str(path))
    deg = np.degrees(yfov)
    return {"frames": n, "points": n_points, "yfov_deg": (float(deg.min()), float(deg.max())),
            "aspect": aspect0, "lens_animates": lens_animates, "fps": fps}


# --------------------------------------------------------------------------------------------------
# reading


@dataclass
class GltfImport:
    trajectory: Trajectory
    camera_name: str
    times: np.ndarray  # seconds of each frame
    lens_animates: bool


_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def _load(path: Path) -> gl.GLTF2:
    try:
        return gl.GLTF2.load(str(path))
    except Exception as exc:  # pygltflib raises many types for broken files
        raise RealCamInputError(f"gltf_file: {path.name} is not a readable glTF 2.0 file ({exc})") from None


def _buffer_bytes(doc: gl.GLTF2, path: Path, index: int, cache: dict[int, bytes]) -> bytes:
    if index in cache:
        return cache[index]
    buf = doc.buffers[index]
    if buf.uri is None:
        data = doc.binary_blob() or b""
    elif buf.uri.startswith("data:"):
        data = base64.b64decode(buf.uri.split(",", 1)[1])
    else:
        src = (path.parent / buf.uri).resolve()
        if path.parent.resolve() not in src.parents:
            raise RealCamInputError(f"gltf_file: buffer {buf.uri!r} points outside the file's folder; refusing it")
        if not src.is_file():
            raise RealCamInputError(f"gltf_file: its buffer {buf.uri!r} is missing; put it next to {path.name} "
                                    "or export a single .glb")
        data = src.read_bytes()
    cache[index] = data
    return data


def _accessor(doc: gl.GLTF2, path: Path, index: int, cache: dict[int, bytes]) -> np.ndarray:
    acc = doc.accessors[index]
    if acc.sparse is not None or acc.bufferView is None:
        raise RealCamInputError(f"gltf_file: accessor {index} is sparse or empty; re-export without sparse data")
    view = doc.bufferViews[acc.bufferView]
    dtype = np.dtype(_COMPONENTS[acc.componentType])
    width = _WIDTH[acc.type]
    data = _buffer_bytes(doc, path, view.buffer, cache)
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    stride = view.byteStride or dtype.itemsize * width
    rows = np.lib.stride_tricks.as_strided(
        np.frombuffer(data, dtype=np.uint8, offset=start), shape=(acc.count, dtype.itemsize * width),
        strides=(stride, 1)) if acc.count else np.zeros((0, dtype.itemsize * width), np.uint8)
    out = np.ascontiguousarray(rows).view(dtype).reshape(acc.count, width).astype(np.float64)
    if acc.normalized and dtype.kind in "iu":
        info = np.iinfo(dtype)
        out = np.maximum(out / info.max, -1.0)
    return out if width > 1 else out[:, 0]


def gltf_camera_names(path: str | Path) -> list[str]:
    """Names of the nodes that carry a camera (a camera node without a name is 'camera_<node index>')."""
    doc = _load(Path(path))
    return [_node_name(doc, i) for i, nd in enumerate(doc.nodes) if nd.camera is not None]


def _node_name(doc: gl.GLTF2, i: int) -> str:
    nd = doc.nodes[i]
    return nd.name or (doc.cameras[nd.camera].name if nd.camera is not None and doc.cameras[nd.camera].name else None) \
        or f"camera_{i}"


def _trs_matrix(t: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    M = np.eye(4)
    M[:3, :3] = quat_xyzw_to_matrix(r) * s[None, :]
    M[:3, 3] = t
    return M


def _sample(times: np.ndarray, values: np.ndarray, interp: str, at: np.ndarray, rotation: bool) -> np.ndarray:
    """Evaluate a glTF sampler (LINEAR / STEP / CUBICSPLINE keys only) at times `at`."""
    if interp == "CUBICSPLINE":  # (in-tangent, value, out-tangent) triplets: evaluate the values' polyline
        values = values.reshape(len(times), 3, -1)[:, 1]
    values = values.reshape(len(times), -1)
    idx = np.clip(np.searchsorted(times, at, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(idx + 1, len(times) - 1)
    span = np.where(nxt > idx, times[nxt] - times[idx], 1.0)
    u = np.clip((at - times[idx]) / span, 0.0, 1.0)[:, None]
    if interp == "STEP":
        u = np.zeros_like(u)
    a, b = values[idx], values[nxt]
    if not rotation:
        return a + (b - a) * u
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    d = np.sum(a * b, axis=1, keepdims=True)
    b = np.where(d < 0, -b, b)
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    sin = np.sin(theta)
    small = sin < 1e-9
    wa = np.where(small, 1 - u, np.sin((1 - u) * theta) / np.where(small, 1, sin))
    wb = np.where(small, u, np.sin(u * theta) / np.where(small, 1, sin))
    return wa * a + wb * b


def read_gltf_trajectory(
    path: str | Path, camera_name: str = "", aspect_fallback: float | None = None,
) -> GltfImport:
    """The animated camera of a glTF file as a Trajectory relative to its first frame (OpenCV axes, metres).

    camera_name: which camera node when the file has several (see `gltf_camera_names`).
    aspect_fallback: W / H to use when the camera does not state aspectRatio (else an error).
    """
    path = Path(path)
    doc = _load(path)
    cams = [i for i, nd in enumerate(doc.nodes) if nd.camera is not None]
    names = [_node_name(doc, i) for i in cams]
    if not cams:
        raise RealCamInputError(f"gltf_file: {path.name} has no camera; add one (in Blender: Add > Camera, animate it, "
                                "export glTF with 'Cameras' ticked)")
    if camera_name:
        if camera_name not in names:
            raise RealCamInputError(f"camera_name: {camera_name!r} is not a camera in {path.name}; its cameras are "
                                    f"{names}")
        node = cams[names.index(camera_name)]
    elif len(cams) > 1:
        raise RealCamInputError(f"camera_name: {path.name} has {len(cams)} cameras {names}; type the one to use")
    else:
        node = cams[0]
    name = names[cams.index(node)]
    cam = doc.cameras[doc.nodes[node].camera]
    if cam.type != gl.PERSPECTIVE or cam.perspective is None:
        raise RealCamInputError(f"gltf_file: camera {name!r} is {cam.type}; only perspective cameras have a "
                                "field of view RealCam can use")
    aspect = cam.perspective.aspectRatio or aspect_fallback
    if not aspect:
        raise RealCamInputError(f"gltf_file: camera {name!r} states no aspectRatio; set the aspect (width / height)")

    parent = {c: i for i, nd in enumerate(doc.nodes) for c in (nd.children or [])}
    chain = [node]
    while chain[-1] in parent:
        chain.append(parent[chain[-1]])
    cache: dict[int, bytes] = {}
    cam_index = doc.nodes[node].camera
    pointer = f"/cameras/{cam_index}/perspective/yfov"
    # the first animation that moves the camera's node chain supplies every channel used
    chosen = None
    for anim in doc.animations:
        if any(ch.target.node in chain and ch.target.path in ("translation", "rotation", "scale", "matrix")
               for ch in anim.channels):
            chosen = anim
            break
    if chosen is None:
        raise RealCamInputError(f"gltf_file: camera {name!r} in {path.name} does not animate (no translation/rotation "
                                "keys on it or its parents); key its motion, or use RealCam Load3D Camera for one pose")
    channels: dict[tuple[int, str], tuple[np.ndarray, np.ndarray, str]] = {}
    yfov_track = None
    key_times: list[np.ndarray] = []
    for ch in chosen.channels:
        smp = chosen.samplers[ch.sampler]
        ext = (ch.target.extensions or {}).get(POINTER_EXT) if ch.target.extensions else None
        if ch.target.node in chain and ch.target.path in ("translation", "rotation", "scale"):
            times = _accessor(doc, path, smp.input, cache)
            channels[(ch.target.node, ch.target.path)] = (times, _accessor(doc, path, smp.output, cache),
                                                          smp.interpolation or "LINEAR")
            key_times.append(times)
        elif ext and ext.get("pointer") == pointer:
            yfov_track = (_accessor(doc, path, smp.input, cache), _accessor(doc, path, smp.output, cache),
                          smp.interpolation or "LINEAR")
            key_times.append(yfov_track[0])
    at = np.unique(np.concatenate(key_times))
    if len(at) < 2:
        raise RealCamInputError(f"gltf_file: camera {name!r} has a single key; it does not animate (key at least "
                                "two frames)")

    world = np.broadcast_to(np.eye(4), (len(at), 4, 4)).copy()
    for i in reversed(chain):  # root first: world = parent @ local
        nd = doc.nodes[i]
        if nd.matrix is not None and any(nd.matrix[k] != v for k, v in enumerate(np.eye(4).T.ravel())):
            local = np.broadcast_to(np.asarray(nd.matrix, dtype=np.float64).reshape(4, 4).T, (len(at), 4, 4))
        else:
            trs = {"translation": np.asarray(nd.translation or [0, 0, 0], float),
                   "rotation": np.asarray(nd.rotation or [0, 0, 0, 1], float),
                   "scale": np.asarray(nd.scale or [1, 1, 1], float)}
            vals = {k: np.broadcast_to(v, (len(at), v.shape[0])) for k, v in trs.items()}
            for key in trs:
                if (i, key) in channels:
                    ts, vs, interp = channels[(i, key)]
                    vals[key] = _sample(ts, vs, interp, at, rotation=key == "rotation")
            local = np.stack([_trs_matrix(vals["translation"][k], vals["rotation"][k], vals["scale"][k])
                              for k in range(len(at))])
        world = world @ local
    scale = np.linalg.norm(world[:, :3, :3], axis=1)  # column norms (N, 3)
    if np.any(np.abs(scale - scale[:, :1]) > 1e-4 * scale[:, :1]):
        raise RealCamInputError(f"gltf_file: camera {name!r} has non-uniform scale {scale[0].round(4).tolist()} "
                                "(it would shear the view); apply scale to its parents (Ctrl+A > Scale in Blender)")
    world[:, :3, :3] /= scale[:, :1, None]
    c2w = torch.from_numpy(gl_to_cv(world))
    if yfov_track is not None:
        yfov = _sample(*yfov_track[:2], yfov_track[2], at, rotation=False)[:, 0]
    else:
        yfov = np.full(len(at), cam.perspective.yfov)
    K = torch.from_numpy(yfov_aspect_to_k_norm(yfov, float(aspect))).float()
    traj = trajectory_from_c2w(c2w, K_norm=K, relative=True, atol=1e-4)
    return GltfImport(trajectory=traj, camera_name=name, times=at, lens_animates=bool(np.ptp(yfov) > 1e-9))
