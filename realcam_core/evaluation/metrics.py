"""RotErr, TransErr and CamMC as CamI2V / RealCam-I2V define them (their `evaluation/` scripts).

Both paths are first made relative to their own frame 0 (c2w_i <- c2w_0^-1 c2w_i), then:
- RotErr = sum over frames of the geodesic angle arccos((tr(R_req^T R_est) - 1) / 2), in radians;
- TransErr = sum over frames of |t_req - t_est|;
- CamMC = sum over frames of the Frobenius norm of [R|t]_req - [R|t]_est (3x4).
Translations are normalised before TransErr / CamMC:
- relative: each path divided by its own largest camera distance from frame 0 (so an SfM path of
  unknown scale compares with a metric one);
- absolute: the estimate is first put in metres (a scale from metric depth of frame 0), then both are
  divided by the *requested* path's largest distance, so a camera that moves twice as far is penalised.
One deviation, for a requested path that does not translate at all (look/rotate/stationary): the paper
divides by 1e-9 there, which turns SfM noise into errors of ~1e9; the absolute variant divides by 1 m
instead (errors in metres), and says so in its result. The relative variant is the paper's as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["NORMALISE_EPS", "CameraMetrics", "camera_metrics", "geodesic_angles", "normalise_translations",
           "relative_to_frame0"]

NORMALISE_EPS = 1e-9  # the paper's epsilon in the translation normalisation
STATIONARY_M = 1e-6  # a requested path whose cameras stay within this of frame 0 does not translate


@dataclass
class CameraMetrics:
    """Sums over frames (radians for RotErr); `*_abs` are None without a metric scale."""

    rot_err: float
    trans_err_rel: float
    cammc_rel: float
    trans_err_abs: float | None = None
    cammc_abs: float | None = None
    abs_unit_m: bool = False  # True when the requested path does not translate and abs errors are in metres

    def as_dict(self) -> dict[str, float | None]:
        return {"RotErr": self.rot_err, "TransErr_rel": self.trans_err_rel, "CamMC_rel": self.cammc_rel,
                "TransErr_abs": self.trans_err_abs, "CamMC_abs": self.cammc_abs}


def relative_to_frame0(c2w: torch.Tensor) -> torch.Tensor:
    """(N, 4, 4) -> (N, 4, 4) float64 with frame 0 the identity (the paper's 'left' relative pose)."""
    c2w = c2w.to(torch.float64)
    return torch.linalg.inv(c2w[:1]) @ c2w


def geodesic_angles(R1: torch.Tensor, R2: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) x2 -> (N,) radians of the rotation R1^T R2."""
    cos = ((R1.transpose(-1, -2) @ R2).diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    return cos.clamp(-1.0, 1.0).acos()


def normalise_translations(c2w: torch.Tensor, ref: torch.Tensor | None = None, eps: float = NORMALISE_EPS) -> torch.Tensor:
    """Translations divided by the largest translation norm of `ref` (default: the path itself) + eps."""
    ref = c2w if ref is None else ref
    scale = ref[:, :3, 3].norm(dim=-1).amax() + eps
    out = c2w.clone()
    out[:, :3, 3] = c2w[:, :3, 3] / scale
    return out


def _sums(req: torch.Tensor, est: torch.Tensor) -> tuple[float, float]:
    trans = (req[:, :3, 3] - est[:, :3, 3]).norm(dim=-1).sum()
    mc = (req[:, :3, :4] - est[:, :3, :4]).reshape(-1, 12).norm(dim=-1).sum()
    return float(trans), float(mc)


def camera_metrics(requested_c2w: torch.Tensor, estimated_c2w: torch.Tensor, metric_scale: float | None = None
                   ) -> CameraMetrics:
    """Metrics of an estimated path (SfM units) against the requested one (metres), both (N, 4, 4).

    metric_scale: metres per SfM unit of the estimate (None: no absolute metrics).
    """
    req = relative_to_frame0(requested_c2w)
    est = relative_to_frame0(estimated_c2w)
    rot = float(geodesic_angles(req[:, :3, :3], est[:, :3, :3]).sum())
    t_rel, mc_rel = _sums(normalise_translations(req), normalise_translations(est))
    out = CameraMetrics(rot_err=rot, trans_err_rel=t_rel, cammc_rel=mc_rel)
    if metric_scale is not None and math.isfinite(metric_scale):
        est_m = est.clone()
        est_m[:, :3, 3] *= metric_scale
        reach = float(req[:, :3, 3].norm(dim=-1).amax())
        if reach < STATIONARY_M:
            ref = torch.eye(4, dtype=torch.float64)[None].clone()
            ref[0, 0, 3] = 1.0 - NORMALISE_EPS  # divide by exactly 1 m
            out.abs_unit_m = True
        else:
            ref = req
        out.trans_err_abs, out.cammc_abs = _sums(normalise_translations(req, ref), normalise_translations(est_m, ref))
    return out
