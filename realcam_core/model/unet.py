"""RealCam-I2V / CamI2V denoiser: the DynamiCrafter 3D UNet with the camera modules and pose encoder.

Call: `unet(x, timesteps, context, fs, camera)` with
  x (B, C_in, T, h, w): noisy latent then the concat (image) latent on channels;
  timesteps (B,): DDPM timesteps 0..999 (float allowed);
  context (B, 77 + T*Q, D): text tokens then Q Resampler tokens per frame (frame t gets text +
    its Q tokens; any other length is shared by all frames);
  fs (B,): frame stride (256) or fps (512), None -> config default;
  camera: CameraCondition or None (None = plain DynamiCrafter path, as upstream without camera).
The Plücker map, pose features and epipolar masks are computed once per distinct camera and cached
(keyed on the camera tensors' values), so a sampler calling the UNet every step pays for them once.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import require
from .attention import (
    EPIPOLAR_BACKENDS,
    BlockCamera,
    EpipolarAttention,
    SpatialTransformer,
    TemporalTransformer,
    group_norm32,
)
from .camera import CameraCondition, PackedMask, epipolar_masks, plucker_embedding
from .config import TEXT_TOKENS, UNetConfig
from .pose_encoder import CameraPoseEncoder
from .transformer_options import stage_patches

CAMERA_CACHE_SIZE = 4


def _cat_orders(orders: list[torch.Tensor | None]) -> torch.Tensor | None:
    return None if any(o is None for o in orders) else torch.cat(orders)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """(B, dim) sinusoid, cos half first then sin half (upstream order), float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb




class TemporalConvBlock(nn.Module):
    """Four residual-free stages [GN, SiLU, Conv3d (3,1,1)] over frames, added to the input at the end."""

    def __init__(self, ch: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()

        def conv() -> nn.Module:
            return operations.Conv3d(ch, ch, (3, 1, 1), padding=(1, 0, 0), **factory)

        def gn() -> nn.Module:
            return operations.GroupNorm(32, ch, **factory)

        self.conv1 = nn.Sequential(gn(), nn.SiLU(), conv())
        self.conv2 = nn.Sequential(gn(), nn.SiLU(), nn.Identity(), conv())
        self.conv3 = nn.Sequential(gn(), nn.SiLU(), nn.Identity(), conv())
        self.conv4 = nn.Sequential(gn(), nn.SiLU(), nn.Identity(), conv())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for stage in (self.conv1, self.conv2, self.conv3, self.conv4):
            h = stage[-1](F.silu(group_norm32(stage[0], h)))
        return x + h


class ResBlock(nn.Module):
    """GN-SiLU-conv, + Linear(emb), GN-SiLU-conv, skip; then the temporal conv block (key `temopral_conv`)."""

    def __init__(self, cin: int, emb_ch: int, cout: int, temporal_conv: bool, operations: Any = nn,
                 **factory: Any) -> None:
        super().__init__()
        self.in_layers = nn.Sequential(operations.GroupNorm(32, cin, **factory), nn.SiLU(),
                                       operations.Conv2d(cin, cout, 3, padding=1, **factory))
        self.emb_layers = nn.Sequential(nn.SiLU(), operations.Linear(emb_ch, cout, **factory))
        self.out_layers = nn.Sequential(operations.GroupNorm(32, cout, **factory), nn.SiLU(), nn.Identity(),
                                        operations.Conv2d(cout, cout, 3, padding=1, **factory))
        self.skip_connection = nn.Identity() if cin == cout else operations.Conv2d(cin, cout, 1, **factory)
        if temporal_conv:
            self.temopral_conv = TemporalConvBlock(cout, operations, **factory)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, batch: int) -> torch.Tensor:
        """x ((B T), C, h, w), emb ((B T), E)."""
        h = self.in_layers[2](F.silu(group_norm32(self.in_layers[0], x)))
        h = h + self.emb_layers(emb).to(h.dtype)[:, :, None, None]
        h = self.out_layers[3](F.silu(group_norm32(self.out_layers[0], h)))
        h = self.skip_connection(x) + h
        if hasattr(self, "temopral_conv"):
            bt, c, hh, ww = h.shape
            v = h.reshape(batch, bt // batch, c, hh, ww).transpose(1, 2)
            h = self.temopral_conv(v).transpose(1, 2).reshape(bt, c, hh, ww)
        return h


class Downsample(nn.Module):
    def __init__(self, ch: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.op = operations.Conv2d(ch, ch, 3, stride=2, padding=1, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.conv = operations.Conv2d(ch, ch, 3, padding=1, **factory)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        x = F.interpolate(x, size=size, mode="nearest") if size else F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class Stage(nn.ModuleList):
    """One input/middle/output block (upstream's TimestepEmbedSequential): layers dispatched by type."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor, batch: int,
                camera: BlockCamera | None = None, up_size: tuple[int, int] | None = None,
                transformer_options: dict | None = None) -> torch.Tensor:
        to = transformer_options
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb, batch)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context, to)
            elif isinstance(layer, TemporalTransformer):
                bt, c, h, w = x.shape
                v = x.reshape(batch, bt // batch, c, h, w).transpose(1, 2)
                x = layer(v, camera, to).transpose(1, 2).reshape(bt, c, h, w)
            elif isinstance(layer, Upsample):
                x = layer(x, up_size)
            else:
                x = layer(x)
            if to is not None and "transformer_index" in to and isinstance(layer, (SpatialTransformer,
                                                                                    TemporalTransformer)):
                to["transformer_index"] += 1  # as core's forward_timestep_embed
        return x


@dataclass
class PreparedCamera:
    """Per-camera products of one CameraCondition sample: pose features per level and packed masks."""

    features: list[torch.Tensor]  # each (1, C_l, T, h_l, w_l)
    masks: dict[int, PackedMask]  # d -> (1, L, L)


class RealCamUNet(nn.Module):
    """DynamiCrafter UNet + CamI2V camera modules; state-dict keys as upstream minus `model.diffusion_model.`,
    the pose encoder under `pose_encoder.`."""

    def __init__(self, cfg: UNetConfig, operations: Any = nn, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        fk = {"dtype": dtype, "device": device}
        ops = operations
        mc = cfg.model_channels
        ed = mc * 4
        self.time_embed = nn.Sequential(ops.Linear(mc, ed, **fk), nn.SiLU(), ops.Linear(ed, ed, **fk))
        if cfg.fs_condition:
            self.fps_embedding = nn.Sequential(ops.Linear(mc, ed, **fk), nn.SiLU(), ops.Linear(ed, ed, **fk))
        hc = cfg.num_head_channels
        cam_kw = {"pluker_projection": cfg.pluker_projection and cfg.has_camera,
                  "epipolar": cfg.epipolar and cfg.has_camera, "num_register_tokens": cfg.num_register_tokens}

        def attn_layers(ch: int) -> list[nn.Module]:
            layers: list[nn.Module] = [
                SpatialTransformer(ch, ch // hc, hc, cfg.transformer_depth, cfg.context_dim, cfg.use_linear,
                                   cfg.image_cross_attention, cfg.image_cross_attention_learnable, ops, **fk)]
            if cfg.temporal_attention:
                layers.append(TemporalTransformer(ch, ch // hc, hc, cfg.transformer_depth, cfg.use_linear,
                                                  operations=ops, **cam_kw, **fk))
            return layers

        def res(cin: int, cout: int) -> ResBlock:
            return ResBlock(cin, ed, cout, cfg.temporal_conv, ops, **fk)

        self.input_blocks = nn.ModuleList([Stage([ops.Conv2d(cfg.in_channels, mc, 3, padding=1, **fk)])])
        if cfg.addition_attention:
            self.init_attn = Stage([TemporalTransformer(mc, 8, hc, cfg.transformer_depth, False, operations=ops,
                                                        **fk)])
        chans, ch, ds = [mc], mc, 1
        self.input_ds, self.output_ds = [1], []
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers: list[nn.Module] = [res(ch, mult * mc)]
                ch = mult * mc
                if ds in cfg.attention_resolutions:
                    layers += attn_layers(ch)
                self.input_blocks.append(Stage(layers))
                self.input_ds.append(ds)
                chans.append(ch)
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(Stage([Downsample(ch, ops, **fk)]))
                self.input_ds.append(ds)
                chans.append(ch)
                ds *= 2
        self.middle_block = Stage([res(ch, ch), *attn_layers(ch), res(ch, ch)])
        self.middle_ds = ds
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                layers = [res(ch + chans.pop(), mc * mult)]
                ch = mc * mult
                if ds in cfg.attention_resolutions:
                    layers += attn_layers(ch)
                self.output_ds.append(ds)
                if level and i == cfg.num_res_blocks:
                    layers.append(Upsample(ch, ops, **fk))
                    ds //= 2
                self.output_blocks.append(Stage(layers))
        self.out = nn.Sequential(ops.GroupNorm(32, ch, **fk), nn.SiLU(),
                                 ops.Conv2d(mc, cfg.out_channels, 3, padding=1, **fk))
        if cfg.has_camera:
            self.pose_encoder = CameraPoseEncoder(cfg.pose_encoder, ops, **fk)
        self._camera_cache: OrderedDict[tuple, PreparedCamera] = OrderedDict()
        self.camera_cache_misses = 0

    # ---------------------------------------------------------------- camera
    def set_epipolar_backend(self, backend: str) -> None:
        """Masked epipolar attention: "auto" (default), "sparse" or "dense" (the reference), see attention.py."""
        require(backend in EPIPOLAR_BACKENDS, "epipolar backend", f"one of {EPIPOLAR_BACKENDS}", backend)
        for mod in self.modules():
            if isinstance(mod, EpipolarAttention):
                mod.backend = backend

    def clear_camera_cache(self) -> None:
        """Forget cached pose features / masks (call after changing the pose-encoder weights)."""
        self._camera_cache.clear()

    def _camera_key(self, camera: CameraCondition, b: int, device: torch.device, dtype: torch.dtype) -> tuple:
        """Value of one camera (plus where / how it is used): equal cameras share cached products.

        Where the weights live is left out on purpose, so weight offloading between steps keeps the cache.
        """
        parts = [camera.c2w_rel[b], camera.K[b]] + ([camera.t_pairs[b]] if camera.t_pairs is not None else [])
        blob = b"".join(p.detach().float().cpu().contiguous().numpy().tobytes() for p in parts)
        return (blob, tuple(camera.image_size), int(camera.seed), camera.t_pairs is not None, str(device), dtype)

    def prepare_camera(self, camera: CameraCondition, b: int, device: torch.device,
                       dtype: torch.dtype) -> PreparedCamera:
        """Pose features and masks of batch element `b` of `camera` (cached by value)."""
        key = self._camera_key(camera, b, device, dtype)
        hit = self._camera_cache.get(key)
        if hit is not None:
            self._camera_cache.move_to_end(key)
            return hit
        self.camera_cache_misses += 1
        one = CameraCondition(camera.c2w_rel[b:b + 1].to(device), camera.K[b:b + 1].to(device), camera.image_size,
                              camera.seed, None if camera.t_pairs is None else camera.t_pairs[b:b + 1].to(device))
        h, w = camera.image_size
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            pl = plucker_embedding(one.c2w_rel, one.K, h, w)
            masks = epipolar_masks(one, self.cfg.epipolar_mask_factors) if self.cfg.epipolar else {}
        with torch.no_grad():
            feats = [f.to(dtype) for f in self.pose_encoder(pl.to(dtype))]
        prep = PreparedCamera(feats, masks)
        self._camera_cache[key] = prep
        while len(self._camera_cache) > CAMERA_CACHE_SIZE:
            self._camera_cache.popitem(last=False)
        return prep

    def _camera_inputs(self, camera: CameraCondition, batch: int, frames: int, hw: tuple[int, int],
                       device: torch.device, dtype: torch.dtype) -> tuple[list[torch.Tensor], dict[int, PackedMask]]:
        camera.validate(frames)
        bc = camera.c2w_rel.shape[0]
        require(bc in (1, batch), "camera.c2w_rel", f"batch 1 or {batch} (the latent's)", bc)
        down = self.cfg.pose_encoder.downscale
        require(tuple(camera.image_size) == (hw[0] * down, hw[1] * down), "camera.image_size",
                f"the latent size x {down} = {(hw[0] * down, hw[1] * down)}", tuple(camera.image_size))
        f = 2 ** (len(self.cfg.channel_mult) - 1)
        require(hw[0] % f == 0 and hw[1] % f == 0, "x", f"latent height and width divisible by {f} with a camera",
                hw)
        require(frames <= self.cfg.pose_encoder.max_len, "frames", f"at most {self.cfg.pose_encoder.max_len} "
                "(the pose encoder's position table)", frames)
        preps = [self.prepare_camera(camera, i, device, dtype) for i in range(bc)]
        keys = [id(p) for p in preps]
        if len(set(keys)) == 1:  # one camera for the whole batch: broadcast
            feats = [f.expand(batch, *f.shape[1:]) for f in preps[0].features]
            return feats, preps[0].masks
        feats = [torch.cat([p.features[lvl] for p in preps]) for lvl in range(len(preps[0].features))]
        masks = {d: PackedMask(torch.cat([p.masks[d].packed for p in preps]), m.length, m.grid,
                               _cat_orders([p.masks[d].query_order for p in preps]),
                               tuple(p.masks[d] for p in preps))
                 for d, m in preps[0].masks.items()}
        return feats, masks

    # ---------------------------------------------------------------- forward
    def _validate(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor) -> None:
        require(x.ndim == 5, "x", "(B, C, T, H, W) latent", tuple(x.shape))
        require(x.shape[1] == self.cfg.in_channels, "x", f"{self.cfg.in_channels} channels (noisy + concat latent)",
                x.shape[1])
        f = 2 ** (len(self.cfg.channel_mult) - 1)
        require(x.shape[3] >= f and x.shape[4] >= f, "x", f"latent height and width of at least {f}",
                tuple(x.shape[3:]))
        require(timesteps.ndim == 1 and timesteps.shape[0] == x.shape[0], "timesteps", f"shape ({x.shape[0]},)",
                tuple(timesteps.shape))
        require(context.ndim == 3 and context.shape[0] == x.shape[0] and context.shape[2] == self.cfg.context_dim,
                "context", f"({x.shape[0]}, L, {self.cfg.context_dim})", tuple(context.shape))
        require(context.shape[1] >= TEXT_TOKENS, "context", f"at least {TEXT_TOKENS} tokens (text first)",
                context.shape[1])

    def _frame_context(self, context: torch.Tensor, t: int) -> torch.Tensor:
        b, n, d = context.shape
        q = self.cfg.image_tokens_per_frame
        if n == TEXT_TOKENS + t * q:
            text = context[:, :TEXT_TOKENS].repeat_interleave(t, dim=0)
            img = context[:, TEXT_TOKENS:].reshape(b * t, q, d)
            return torch.cat([text, img], dim=1)
        return context.repeat_interleave(t, dim=0)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
                fs: torch.Tensor | None = None, camera: CameraCondition | None = None, *,
                control: Any = None, transformer_options: dict | None = None) -> torch.Tensor:
        """(B, C_in, T, h, w) -> (B, C_out, T, h, w): eps or v prediction (by the model's training).

        `control` / `transformer_options` are what ComfyUI's BaseModel always passes: the options' attention
        and block patches are applied as ComfyUI's UNet applies them (transformer_options.py); ControlNet
        residuals have no counterpart in this model and are refused.
        """
        require(control is None, "control", "no ControlNet (none exists for RealCam-I2V)", type(control).__name__)
        self._validate(x, timesteps, context)
        b, _, t, hh, ww = x.shape
        dtype = x.dtype
        emb = self.time_embed(timestep_embedding(timesteps, self.cfg.model_channels).to(dtype))
        if self.cfg.fs_condition:
            if fs is None:
                fs = torch.full((b,), self.cfg.default_fs, device=x.device)
            fs = torch.as_tensor(fs, device=x.device).reshape(-1)
            require(fs.numel() in (1, b), "fs", f"1 or {b} values", fs.numel())
            fs = fs.expand(b)
            emb = emb + self.fps_embedding(timestep_embedding(fs, self.cfg.model_channels).to(dtype))
        emb = emb.repeat_interleave(t, dim=0)
        ctx = self._frame_context(context.to(dtype), t)

        feats: list[torch.Tensor] | None = None
        masks: dict[int, PackedMask] = {}
        if camera is not None and self.cfg.has_camera:
            feats, masks = self._camera_inputs(camera, b, t, (hh, ww), x.device, dtype)
        img_h = camera.image_size[0] if camera is not None else None

        def block_camera(level_feat: torch.Tensor | None) -> BlockCamera | None:
            if level_feat is None:
                return None
            return BlockCamera(level_feat, masks.get(img_h // level_feat.shape[3]))  # d = image / feature rows

        def feat_for(ds: int) -> torch.Tensor | None:
            if feats is None or ds not in self.cfg.attention_resolutions:
                return None
            idx = int(math.log2(ds))
            return feats[idx] if idx < len(feats) else None

        to = transformer_options
        if to is not None:  # frames as batch, as the sampler sees the latent
            to["original_shape"] = [b * t, x.shape[1], hh, ww]
            to["transformer_index"] = 0
        h = x.permute(0, 2, 1, 3, 4).reshape(b * t, -1, hh, ww)
        hs = []
        for i, stage in enumerate(self.input_blocks):
            if to is not None:
                to["block"] = ("input", i)
            h = stage(h, emb, ctx, b, block_camera(feat_for(self.input_ds[i])), transformer_options=to)
            if i == 0 and self.cfg.addition_attention:
                h = self.init_attn(h, emb, ctx, b, None, transformer_options=to)
            for p in stage_patches(to, "input_block_patch"):
                h = p(h, to)
            hs.append(h)
            for p in stage_patches(to, "input_block_patch_after_skip"):
                h = p(h, to)
        mid_feat = feats[-1] if feats is not None else None
        if to is not None:
            to["block"] = ("middle", 0)
        h = self.middle_block(h, emb, ctx, b, block_camera(mid_feat), transformer_options=to)
        for i, stage in enumerate(self.output_blocks):
            if to is not None:
                to["block"] = ("output", i)
            skip = hs.pop()
            for p in stage_patches(to, "output_block_patch"):
                h, skip = p(h, skip, to)
            h = torch.cat([h, skip], dim=1)
            up = tuple(hs[-1].shape[-2:]) if hs else None  # upsample to the next skip's size
            h = stage(h, emb, ctx, b, block_camera(feat_for(self.output_ds[i])), up, transformer_options=to)
        y = self.out[2](F.silu(group_norm32(self.out[0], h)))
        return y.reshape(b, t, -1, hh, ww).transpose(1, 2)
