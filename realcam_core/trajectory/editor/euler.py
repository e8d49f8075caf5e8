"""The editor's rotation convention: [yaw, pitch, roll] in degrees <-> rotation matrices.

R = Ry(yaw) @ Rx(pitch) @ Rz(roll), intrinsic Y-X-Z about the camera's OpenCV axes: +yaw turns right,
+pitch tilts up, +roll turns clockwise seen from behind. The matrix side is `se3.from_euler`'s (written
once there); `web/js/realcam_math.js` uses the same convention.
"""

from __future__ import annotations

import math

import torch

from ...camera.se3 import from_euler


def euler_to_matrix(yaw: float, pitch: float, roll: float) -> torch.Tensor:
    """(3, 3) float64 rotation R = Ry(yaw) @ Rx(pitch) @ Rz(roll); angles in degrees (see module doc).

    The convention is `se3.from_euler`'s (written once there)."""
    return from_euler(float(yaw), float(pitch), float(roll))[:3, :3]


def matrix_to_euler(R: torch.Tensor) -> tuple[float, float, float]:
    """[yaw, pitch, roll] in degrees of a (3, 3) rotation; at pitch = ±90° roll is set to 0."""
    m = R.detach().to(torch.float64).cpu().tolist()
    # atan2, not asin: at pitch = ±90° a last-ulp error in m[1][2] would move asin by ~1e-6 degrees
    pitch = math.atan2(-m[1][2], math.hypot(m[1][0], m[1][1]))
    if math.hypot(m[1][0], m[1][1]) > 1e-9:
        yaw = math.atan2(m[0][2], m[2][2])
        roll = math.atan2(m[1][0], m[1][1])
    else:  # gimbal lock: yaw and roll turn about the same axis; put it all in yaw
        yaw = math.atan2(-m[2][0], m[0][0])
        roll = 0.0
    return (math.degrees(yaw) + 0.0, math.degrees(pitch) + 0.0, math.degrees(roll) + 0.0)  # no -0.0 in JSON

