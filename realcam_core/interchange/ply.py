"""PLY point clouds (binary little-endian, x y z float32 metres + red green blue uchar) through `plyfile`.

`axes="opengl"` (default) writes the glTF / Blender / nerfstudio world (y up, see `axes`), so the scene
stands upright in MeshLab, Blender or CloudCompare and lines up with our .glb and transforms.json;
`axes="opencv"` keeps RealCam's own world (the first camera's frame, y down).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from ..errors import RealCamInputError, require
from .axes import points_cv_to_gl

__all__ = ["read_ply_points", "write_ply"]

PLY_AXES = ("opengl", "opencv")


def write_ply(path: str | Path, points: torch.Tensor | np.ndarray, colors: torch.Tensor | np.ndarray | None = None,
              axes: str = "opengl") -> int:
    """Write points (P, 3) in the RealCam world (metres) and sRGB colours (P, 3) 0..1; returns P."""
    require(axes in PLY_AXES, "axes", f"one of {PLY_AXES}", axes)
    p = np.asarray(points, dtype=np.float64)
    require(p.ndim == 2 and p.shape[1] == 3, "points", "(P, 3)", p.shape)
    if axes == "opengl":
        p = points_cv_to_gl(p)
    fields = [("x", "f4"), ("y", "f4"), ("z", "f4")]
    if colors is not None:
        c = np.asarray(colors, dtype=np.float64)
        require(c.shape == p.shape, "colors", f"one RGB colour per point {p.shape}", c.shape)
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    vert = np.empty(p.shape[0], dtype=fields)
    vert["x"], vert["y"], vert["z"] = p[:, 0], p[:, 1], p[:, 2]
    if colors is not None:
        rgb = np.clip(np.round(c * 255), 0, 255).astype(np.uint8)
        vert["red"], vert["green"], vert["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    PlyData([PlyElement.describe(vert, "vertex")], text=False, byte_order="<").write(str(path))
    return int(p.shape[0])


def read_ply_points(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(P, 3) float64 positions and (P, 3) uint8 colours (or None) of a PLY file's vertices, as stored."""
    try:
        ply = PlyData.read(str(path))
        v = ply["vertex"].data
    except Exception as exc:
        raise RealCamInputError(f"ply_file: {Path(path).name} is not a readable PLY point cloud ({exc})") from None
    pts = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)
    names = v.dtype.names or ()
    cols = np.stack([v["red"], v["green"], v["blue"]], axis=1) if "red" in names else None
    return pts, cols
