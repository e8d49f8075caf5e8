"""Conformance of `realcam_core.model` against reference tensors computed by the upstream code.

A fixture folder (format of `tests/fixtures/tiny_realcam`) holds `model.safetensors` (real key
names), `config.json` (upstream yaml vocabulary: the diffusion settings and head counts that the
weights cannot tell, plus the sampler settings of the reference runs) and `io.safetensors`
(`in.*` inputs, `out.*` outputs, `rng.*` recorded draws, `sched.*` schedules). Nothing here knows
a particular fixture: widths, levels, frame counts, latent size, eps / v all come from the files.

`run_conformance(dir)` runs the Plücker map, pair translations, epipolar masks, pose features,
Resampler, the single denoiser call with and without camera and both DDIM runs (noise shaping off
and on), and returns one `Check` per compared tensor; `python -m realcam_core.conformance DIR`
prints them as a table and exits non-zero when any exceeds its bound.

Bounds are the fixture README's suggested criteria for a float32 re-implementation (schedules and
Plücker 1e-5 abs; features, Resampler, context and UNet outputs 1e-4 abs; DDIM latents 5e-5 of
max|reference|; mask entries may differ only within 1e-3 px of the threshold). A fixture can
override any of them with `"conformance_bounds": {"<check name>": bound}` in config.json.

Epipolar mask entries whose pixel distance sits within that margin of the threshold ("knife edges")
are decided by float rounding, so upstream and we may put them on different sides. They are counted
in their own "info" line; the UNet and DDIM checks run on the fixture's own masks (the ones the
reference outputs were computed with), so they test the model, not the rounding. When knife-edge
entries differ, the single call on our own masks is reported too, as information.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ..errors import input_error, require
from ..model.camera import CameraCondition, PackedMask, epipolar_masks, pack_bits, plucker_embedding, relative_pairs
from ..model.config import DiffusionConfig, RealCamConfig
from ..model.ddim import ReferenceShaping, ddim_sample
from ..model.loading import build_models, infer_config, load_weights
from ..model.schedule import Schedule, ddim_timesteps, linear_betas, rescale_zero_terminal_snr

DEFAULT_BOUNDS = {
    "schedule": 1e-5,
    "plucker": 1e-5,
    "t_pairs": 1e-5,
    "mask_margin_px": 1e-3,
    "feature": 1e-4,
    "ddim_rel": 5e-5,
}


@dataclass
class Check:
    """One comparison: `value` against `bound` (kind "abs", "rel" to max|ref|, or "count").

    A bound of infinity marks a line that informs and never fails (status "info").
    """

    name: str
    value: float
    bound: float
    kind: str = "abs"
    ref_max: float = float("nan")
    note: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value)) and self.value <= self.bound


@dataclass
class Report:
    fixture: str
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def table(self) -> str:
        w = max(len(c.name) for c in self.checks)
        lines = [f"{'check':<{w}}  {'kind':<5}  {'max abs':>10}  {'max|ref|':>9}  {'rel':>9}  {'bound':>9}  status",
                 "-" * (w + 62)]
        for c in self.checks:
            if c.kind == "count":
                val = f"{int(c.value):>10d}"
                ref, rel = f"{'':>9}", f"{'':>9}"
            else:
                absv = c.value * c.ref_max if c.kind == "rel" else c.value
                val = f"{absv:>10.3e}"
                ref = f"{c.ref_max:>9.3g}" if np.isfinite(c.ref_max) else f"{'':>9}"
                relv = c.value if c.kind == "rel" else (c.value / c.ref_max if c.ref_max else float("nan"))
                rel = f"{relv:>9.2e}" if np.isfinite(relv) else f"{'':>9}"
            status = "FAIL" if not c.passed else "info" if math.isinf(c.bound) else "ok"
            note = f"  {c.note}" if c.note else ""
            lines.append(f"{c.name:<{w}}  {c.kind:<5}  {val}  {ref}  {rel}  {c.bound:>9.1e}  {status}{note}")
        n_bad = len(self.failures())
        lines.append(f"{len(self.checks)} checks, {n_bad} failed: {'PASS' if self.passed else 'FAIL'} ({self.fixture})")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"fixture": self.fixture, "passed": self.passed,
                           "checks": [{**asdict(c), "passed": c.passed} for c in self.checks]}, indent=1)


class _Recorder:
    def __init__(self, bounds: dict[str, float]) -> None:
        self.checks: list[Check] = []
        self.bounds = bounds

    def bound(self, name: str, default: float) -> float:
        return float(self.bounds.get(name, default))

    def compare(self, name: str, got: torch.Tensor, ref: torch.Tensor, bound: float, rel: bool = False,
                note: str = "") -> None:
        got, ref = got.detach().double().cpu(), ref.detach().double().cpu()
        if tuple(got.shape) != tuple(ref.shape):
            self.checks.append(Check(name, float("inf"), self.bound(name, bound), "rel" if rel else "abs",
                                     note=f"shape {tuple(got.shape)} != reference {tuple(ref.shape)}"))
            return
        diff = float((got - ref).abs().max()) if got.numel() else 0.0
        ref_max = float(ref.abs().max()) if ref.numel() else 0.0
        if rel:
            self.checks.append(Check(name, diff / max(ref_max, 1e-30), self.bound(name, bound), "rel", ref_max, note))
        else:
            self.checks.append(Check(name, diff, self.bound(name, bound), "abs", ref_max, note))

    def count(self, name: str, value: int, bound: int = 0, note: str = "") -> None:
        self.checks.append(Check(name, float(value), self.bound(name, bound), "count", note=note))


def _unpack(packed: torch.Tensor, length: int) -> torch.Tensor:
    return torch.from_numpy(np.unpackbits(packed.numpy(), axis=-1, count=length, bitorder="big").astype(bool))


def _mask_margin(c2w: torch.Tensor, K: torch.Tensor, t_pairs: torch.Tensor, idx: torch.Tensor, grid: tuple[int, int],
                 frames: int, d: int) -> torch.Tensor:
    """|distance - threshold| in pixels (float64) for mask entries idx (n, 3) = (b, row, col)."""
    rows, cols = grid
    n = rows * cols
    c2w, K, t_pairs = c2w.double(), K.double(), t_pairs.double()
    b, r, c = idx[:, 0], idx[:, 1], idx[:, 2]
    i, p, j, q = r // n, r % n, c // n, c % n
    pairs = torch.linalg.inv(c2w)[b, j] @ c2w[b, i]
    R, t = pairs[:, :3, :3], t_pairs[b, i, j]
    E = torch.cross(t[:, :, None].expand_as(R), R, dim=1)
    F = torch.linalg.inv(K[b, j]).transpose(1, 2) @ E @ torch.linalg.inv(K[b, i])

    def pix(k: torch.Tensor) -> torch.Tensor:
        y, x = (k // cols).double(), (k % cols).double()
        return torch.stack([x * d + d / 2 - 0.5, y * d + d / 2 - 0.5, torch.ones_like(x)], dim=1)

    line = (F @ pix(p)[:, :, None])[:, :, 0]
    line = line / line[:, :2].norm(dim=1, keepdim=True)
    dist = (line * pix(q)).sum(1).abs()
    return (dist - d * math.sqrt(2) / 2).abs()


def _use_fixture_masks(unet: torch.nn.Module, cam: CameraCondition, masks: dict[int, torch.Tensor]) -> None:
    """Make `unet` attend with the fixture's masks (d -> bool (B, L, L)) for every batch element of `cam`.

    The UNet caches each camera's products by value; replacing the masks in that entry means every
    later call with an equal camera (single calls, DDIM runs on one batch element) uses them.
    """
    if not masks or not getattr(unet.cfg, "has_camera", False):
        return
    for b in range(cam.c2w_rel.shape[0]):
        prep = unet.prepare_camera(cam, b, torch.device("cpu"), torch.float32)
        for d, dense in masks.items():
            if d in prep.masks:
                prep.masks[d] = PackedMask(pack_bits(dense[b:b + 1]), dense.shape[-1], prep.masks[d].grid)


def _keys(io: dict[str, torch.Tensor], pattern: str) -> list[tuple[int, str]]:
    rx = re.compile(pattern)
    return sorted((int(m.group(1)), k) for k in io for m in [rx.fullmatch(k)] if m)


def _fixture_settings(cfg_json: dict) -> tuple[dict, dict, DiffusionConfig, tuple[int, ...], dict]:
    try:
        params = cfg_json["config"]["model"]["params"]
    except (KeyError, TypeError) as exc:
        raise input_error("config.json", "config.model.params (upstream yaml vocabulary)", "missing") from exc
    unet_p = params.get("unet_config", {}).get("params", {})
    diff = DiffusionConfig(
        parameterization=params.get("parameterization", "eps"),
        zero_terminal_snr=bool(params.get("rescale_betas_zero_snr", False)),
        dynamic_rescale=bool(params.get("use_dynamic_rescale", False)),
        base_scale=float(params.get("base_scale", 1.0)),
        linear_start=float(params.get("linear_start", 0.00085)),
        linear_end=float(params.get("linear_end", 0.012)),
        num_timesteps=int(params.get("timesteps", 1000)),
        fs_type=params.get("fps_condition_type", "fs"),
        default_fs=int(unet_p.get("default_fs", 4)),
    )
    epi = params.get("epipolar_config") or {}
    factors: tuple[int, ...] = ()
    if epi and not epi.get("is_3d_full_attn", False):
        factors = tuple(int(8 * a) for a in epi.get("attention_resolution", [8, 4, 2, 1]))
    return params, unet_p, diff, factors, epi


def _architecture_check(rec: _Recorder, cfg: RealCamConfig, params: dict, unet_p: dict) -> None:
    u = cfg.unet
    got = {
        "in_channels": u.in_channels, "out_channels": u.out_channels, "model_channels": u.model_channels,
        "channel_mult": list(u.channel_mult), "num_res_blocks": u.num_res_blocks,
        "attention_resolutions": sorted(u.attention_resolutions), "num_head_channels": u.num_head_channels,
        "transformer_depth": u.transformer_depth, "context_dim": u.context_dim, "use_linear": u.use_linear,
        "temporal_length": u.temporal_length, "addition_attention": u.addition_attention,
        "image_cross_attention": u.image_cross_attention,
        "image_cross_attention_scale_learnable": u.image_cross_attention_learnable, "temporal_conv": u.temporal_conv,
    }
    bad = []
    for k, v in got.items():
        if k in unet_p:
            ref = unet_p[k]
            ref = sorted(ref) if k == "attention_resolutions" else ref
            if ref != v:
                bad.append(f"{k}: inferred {v}, config {ref}")
    rp = (params.get("image_proj_stage_config") or {}).get("params", {})
    if cfg.resampler is not None:
        r = cfg.resampler
        for k, v in {"dim": r.dim, "depth": r.depth, "num_queries": r.num_queries, "embedding_dim": r.embedding_dim,
                     "output_dim": r.output_dim, "ff_mult": r.ff_mult, "video_length": r.video_length}.items():
            if k in rp and rp[k] != v:
                bad.append(f"resampler.{k}: inferred {v}, config {rp[k]}")
    pp = (params.get("pose_encoder_config") or {}).get("params", {})
    if u.pose_encoder is not None:
        pe = u.pose_encoder
        for k, v in {"channels": list(pe.channels), "nums_rb": pe.nums_rb, "cin": pe.cin,
                     "downscale_factor": pe.downscale, "ksize": pe.ksize,
                     "temporal_position_encoding_max_len": pe.max_len}.items():
            if k in pp and pp[k] != v:
                bad.append(f"pose_encoder.{k}: inferred {v}, config {pp[k]}")
    rec.count("architecture inferred from weights", len(bad), 0, "; ".join(bad))


def run_conformance(fixture_dir: str | os.PathLike, log: Callable[[str], None] | None = None,
                    epipolar_backend: str = "auto") -> Report:
    """Compare the model against one fixture folder; see the module docstring.

    `epipolar_backend` ("auto", "sparse", "dense") picks the masked epipolar attention path.
    """
    from safetensors.torch import load_file

    d = os.fspath(fixture_dir)
    for f in ("model.safetensors", "config.json", "io.safetensors"):
        require(os.path.isfile(os.path.join(d, f)), "fixture folder", f"a file {f}", d)
    say = log or (lambda s: None)
    with open(os.path.join(d, "config.json")) as fh:
        cfg_json = json.load(fh)
    sd = load_file(os.path.join(d, "model.safetensors"))
    io = load_file(os.path.join(d, "io.safetensors"))
    rec = _Recorder(cfg_json.get("conformance_bounds", {}))
    B = DEFAULT_BOUNDS
    params, unet_p, diff, factors, epi = _fixture_settings(cfg_json)
    rp = (params.get("image_proj_stage_config") or {}).get("params", {})
    pp = (params.get("pose_encoder_config") or {}).get("params", {})

    # -- model
    cfg = infer_config(sd, diffusion=diff, epipolar_mask_factors=factors, resampler_heads=rp.get("heads"),
                       pose_heads=pp.get("temporal_attention_nhead"))
    if not factors:
        from dataclasses import replace

        cfg = replace(cfg, unet=replace(cfg.unet, epipolar_mask_factors=()))
    _architecture_check(rec, cfg, params, unet_p)
    unet, res = build_models(cfg)
    unet.set_epipolar_backend(epipolar_backend)
    rep = load_weights(unet, res, sd, strict=False)
    rec.count("weights: missing + unexpected keys", len(rep.missing) + len(rep.unexpected), 0,
              ", ".join((rep.missing + rep.unexpected)[:4]))
    unet.eval()
    if res is not None:
        res.eval()
    say("model built")

    # -- schedule
    sched = Schedule(diff)
    sb = B["schedule"]
    if "sched.betas" in io:
        rec.compare("schedule.betas", sched.betas, io["sched.betas"], sb)
    if "sched.alphas_cumprod" in io:
        rec.compare("schedule.alphas_cumprod", sched.alphas_cumprod, io["sched.alphas_cumprod"], sb)
    plain = linear_betas(diff.linear_start, diff.linear_end, diff.num_timesteps)
    if "sched.alphas_cumprod_f64_no_zsnr" in io:
        rec.compare("schedule.alphas_cumprod_f64_no_zsnr", torch.cumprod(1 - plain, 0),
                    io["sched.alphas_cumprod_f64_no_zsnr"], sb)
    if "sched.betas_f64_zsnr" in io:
        rec.compare("schedule.betas_f64_zsnr", rescale_zero_terminal_snr(plain), io["sched.betas_f64_zsnr"], sb)
    if "sched.alphas_cumprod_f64_zsnr" in io:
        rec.compare("schedule.alphas_cumprod_f64_zsnr", torch.cumprod(1 - rescale_zero_terminal_snr(plain), 0),
                    io["sched.alphas_cumprod_f64_zsnr"], sb)
    if "sched.scale_arr" in io and sched.scale_arr is not None:
        rec.compare("schedule.scale_arr", sched.scale_arr, io["sched.scale_arr"], sb)
    for steps, key in _keys(io, r"sched\.ddim(\d+)_timesteps"):
        tab = sched.ddim(steps, 1.0)
        rec.count(f"schedule.ddim{steps}_timesteps (entries differing)",
                  int((ddim_timesteps(steps, diff.num_timesteps) != io[key]).sum()), 0)
        for attr, name in (("alphas", "alphas"), ("alphas_prev", "alphas_prev"), ("sigmas", "sigmas_eta1"),
                           ("sqrt_one_minus_alphas", "sqrt_one_minus_alphas"), ("scale", "scale_arr"),
                           ("scale_prev", "scale_arr_prev")):
            k = f"sched.ddim{steps}_{name}"
            if k in io and getattr(tab, attr) is not None:
                rec.compare(f"schedule.ddim{steps}_{name}", getattr(tab, attr), io[k], sb)

    # -- cameras
    c2w, K = io["in.camera_c2w_rel"], io["in.camera_K"]
    batch, frames = c2w.shape[:2]
    down = cfg.unet.pose_encoder.downscale if cfg.unet.pose_encoder else 8
    lat_h, lat_w = io["in.x_t"].shape[-2:]
    hw = tuple((cfg_json.get("derived") or {}).get("image_size_pixels_HW") or (lat_h * down, lat_w * down))
    for b, key in _keys(io, r"out\.plucker_embedding_b(\d+)"):
        rec.compare(f"plucker_embedding[b{b}]", plucker_embedding(c2w[b:b + 1], K[b:b + 1], *hw), io[key],
                    B["plucker"])
    t_ref = io.get("out.epipolar_t_pairs_perturbed")
    t_used = None
    if t_ref is not None:
        t_used = t_ref[..., 0] if t_ref.ndim == 5 else t_ref
        t_ours = relative_pairs(c2w)[..., :3, 3]
        keep = ~(t_ours.abs() < 1e-6).all(-1)
        rec.compare("epipolar t pairs (unperturbed)", t_ours[keep], t_used[keep], B["t_pairs"],
                    note=f"{int((~keep).sum())} zero pairs perturbed upstream")
    cam = CameraCondition(c2w, K, hw, seed=0, t_pairs=t_used)
    stored = _keys(io, r"out\.epipolar_mask_d(\d+)_packed")
    fixture_masks: dict[int, torch.Tensor] = {}
    knife_edges = 0
    if stored:
        ours = epipolar_masks(cam, [dd for dd, _ in stored])
        for dd, key in stored:
            if dd not in ours:
                rec.count(f"epipolar mask d={dd}: beyond {B['mask_margin_px']} px", 1, 0, "not produced")
                continue
            m: PackedMask = ours[dd]
            mine = m.dense()
            ref = _unpack(io[key], m.length)
            fixture_masks[dd] = ref
            bad = (mine != ref).nonzero()
            far = 0
            if len(bad) and t_used is not None:
                margin = _mask_margin(c2w, K, t_used, bad, m.grid, frames, dd)
                far = int((margin >= B["mask_margin_px"]).sum())
            elif len(bad):
                far = len(bad)
            knife_edges += len(bad) - far
            rec.count(f"epipolar mask d={dd}: mismatches beyond {B['mask_margin_px']:g} px", far, 0,
                      f"{len(bad)} of {mine.numel()} differ")
            rec.count(f"epipolar mask d={dd}: knife-edge entries within {B['mask_margin_px']:g} px",
                      len(bad) - far, math.inf, "float rounding decides their side; the UNet is checked on "
                      "the fixture's masks")
            if dd not in cfg.unet.epipolar_mask_factors:
                rec.count(f"epipolar mask d={dd}: used by the model", 1, 0, "factor not in attention_resolution")

    with torch.no_grad():
        # -- pose encoder
        feats_ref = _keys(io, r"out\.pose_encoder_feature_(\d+)")
        if feats_ref and cfg.unet.pose_encoder is not None:
            feats = unet.pose_encoder(plucker_embedding(c2w, K, *hw))
            for lvl, key in feats_ref:
                rec.compare(f"pose_encoder_feature_{lvl}", feats[lvl], io[key], B["feature"])
        say("camera checks done")

        # -- resampler, context
        ctx = {}
        for tag in ("", "_uncond"):
            if f"in.clip_image_hidden{tag}" not in io or res is None:
                continue
            out = res(io[f"in.clip_image_hidden{tag}"])
            if f"out.resampler_out{tag}" in io:
                rec.compare(f"resampler_out{tag}", out, io[f"out.resampler_out{tag}"], B["feature"])
            ctx[tag] = torch.cat([io[f"in.text_context{tag}"], out], dim=1)
            if f"out.context{tag}" in io:
                rec.compare(f"context{tag}", ctx[tag], io[f"out.context{tag}"], B["feature"])
        require("" in ctx, "fixture", "in.clip_image_hidden and in.text_context", "missing")

        # -- single denoiser call
        concat = io["in.cond_latent"].expand(-1, -1, frames, -1, -1)
        x = torch.cat([io["in.x_t"], concat], dim=1)
        ts, fs = io["in.timesteps"], io.get("in.fs")
        if "out.unet_out" in io and knife_edges:
            rec.compare("unet_out (with camera, our masks)", unet(x, ts, ctx[""], fs, cam), io["out.unet_out"],
                        math.inf, note=f"differs from upstream only through {knife_edges} knife-edge mask entries")
        _use_fixture_masks(unet, cam, fixture_masks)
        if "out.unet_out" in io:
            rec.compare("unet_out (with camera)", unet(x, ts, ctx[""], fs, cam), io["out.unet_out"], B["feature"],
                        note="on the fixture's masks" if fixture_masks else "")
        if "out.unet_out_nocam" in io:
            rec.compare("unet_out_nocam", unet(x, ts, ctx[""], fs, None), io["out.unet_out_nocam"], B["feature"])
        say("single calls done")

        # -- DDIM runs
        samp = cfg_json.get("sampling") or {}
        if "in.ddim_x_T" in io and "out.ddim_final" in io:
            _ddim_checks(rec, unet, sched, io, samp, ctx, cam, frames, say)
    return Report(d, rec.checks)


def _ddim_checks(rec: _Recorder, unet: torch.nn.Module, sched: Schedule, io: dict, samp: dict, ctx: dict,
                 cam: CameraCondition, frames: int, say: Callable[[str], None]) -> None:
    B = DEFAULT_BOUNDS
    be = int(samp.get("batch_element_used", 0))
    steps = int(samp.get("ddim_steps", io["rng.ddim_step_noise"].shape[0]))
    fs_val = samp.get("fs", int(io["in.fs"][be]) if "in.fs" in io else None)
    fs = None if fs_val is None else torch.tensor([int(fs_val)])
    concat = io["in.cond_latent"][be:be + 1].expand(-1, -1, frames, -1, -1)
    cam1 = CameraCondition(cam.c2w_rel[be:be + 1], cam.K[be:be + 1], cam.image_size, cam.seed,
                           None if cam.t_pairs is None else cam.t_pairs[be:be + 1])
    use_cam = bool(samp.get("enable_camera_condition", True))

    def model(x: torch.Tensor, t: torch.Tensor, c: Any) -> torch.Tensor:
        context, camera = c
        return unet(torch.cat([x, concat], dim=1), t, context, fs, camera)

    cond = (ctx[""][be:be + 1], cam1 if use_cam else None)
    uncond = (ctx["_uncond"][be:be + 1], cam1 if use_cam else None) if "_uncond" in ctx else None
    camera_cfg = float(samp.get("camera_cfg", 1.0))
    require(camera_cfg == 1.0, "config.json sampling.camera_cfg",
            "1.0 (camera CFG is not implemented; upstream's default and the paper's setting)", camera_cfg)
    runs = [("ddim", "rng.ddim_step_noise", None)]
    ns = samp.get("noise_shaping_run") or {}
    if "out.ddim_ns_final" in io and "in.ns_scene_frames" in io:
        shaping = ReferenceShaping(io["in.ns_scene_frames"], io["in.ns_scene_mask"],
                               int(ns.get("noise_shaping_minimum_timesteps", 900)))
        runs.append(("ddim_ns", "rng.ddim_ns_step_noise", shaping))
    for tag, noise_key, shaping in runs:
        draws: dict[str, Iterator[torch.Tensor]] = {"step": iter(io[noise_key])}
        if shaping is not None and "rng.ns_q_sample_noise" in io:
            draws["shaping"] = iter(io["rng.ns_q_sample_noise"])

        def noise_fn(kind: str, shape: torch.Size, draws: dict = draws) -> torch.Tensor:
            return next(draws[kind]).reshape(shape)

        out = ddim_sample(model, io["in.ddim_x_T"], sched, steps, cond, uncond,
                          cfg_scale=float(samp.get("unconditional_guidance_scale", 1.0)),
                          guidance_rescale=float(samp.get("guidance_rescale", 0.0)), eta=float(samp.get("eta", 1.0)),
                          noise_shaping=shaping, noise_fn=noise_fn, record=True)
        rec.compare(f"{tag}_final", out.final, io[f"out.{tag}_final"], B["ddim_rel"], rel=True)
        if f"out.{tag}_unet_input_per_step" in io:
            rec.compare(f"{tag}_unet_input_per_step", torch.stack(out.unet_inputs),
                        io[f"out.{tag}_unet_input_per_step"], B["ddim_rel"], rel=True)
        for branch, got in (("cond", out.out_cond), ("uncond", out.out_uncond)):
            k = f"out.{tag}_model_out_{branch}_per_step"
            if k in io and got:
                rec.compare(f"{tag}_model_out_{branch}_per_step", torch.stack(got), io[k], B["feature"])
        say(f"{tag} done")
