"""Scene-constrained noise shaping (RealCam-I2V, ARCHITECTURE §5): the maths, free of ComfyUI.

Vocabulary (the glossary of ARCHITECTURE §5): a `ShapingWindow` (window_start, window_end, window_units)
says which steps are shaped; a `ShapingSpec` is what a shaping patch carries (preview latent, shaping
mask, window, mode, start latent); a `ShapingRun` is a spec bound to one sampling run (scene latent and
latent mask in the state's layout); `ShapingNoise` draws the noise of each shaped step.

Upstream (CamI2V `ddim.py`) replaces the sampler state before the model call at every step whose
DDPM timestep is >= 900:  x_t <- m * q_sample(z_preview, t) + (1 - m) * x_t, fresh noise each step,
m = the eroded visibility of the point-cloud preview, bilinearly resized to latent size, >= 0.9.

Sampler space. ComfyUI's k-diffusion samplers keep the state of discrete (VP) models as
x = x0 + sigma * eps, i.e. upstream's x_t divided by sqrt(alpha_bar); there q_sample(z, t) becomes
z + sigma * eps, and the blend is the same linear map up to that uniform scale. Flow models (Wan,
LTXV: CONST sampling) keep x = (1 - sigma) * x0 + sigma * eps. `q_sample` covers both; the ComfyUI
glue may pass the model's own `noise_scaling` instead.

Layouts. Video latents are (B, C, T, h, w). Models that put frames in the batch (SVD, image models)
use (T, C, h, w); `to_state_layout` converts between the two. Pixel masks are (F, H, W) in 0..1,
1 = the preview can be trusted there (RealCamPointCloudRender's shaping mask, already eroded).

Temporal compression. Causal video VAEs (Wan 2.1/2.2: 4x, LTXV: 8x) encode pixel frame 0 alone
and then groups of k frames: latent frame j >= 1 covers pixel frames k(j-1)+1 .. kj; frames past the
last full group are dropped by the encoder. A latent pixel is shaped only if it is shaped in every
pixel frame of its group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import RealCamInputError, input_error, require

MODES = ("xt_paste", "x0_paste")
UNITS = ("timestep", "sigma_percent")
MASK_THRESHOLD = 0.9  # upstream: bilinear-resized visibility >= 0.9
TEMPORAL_COMPRESSIONS = (1, 4, 8)  # none (DynamiCrafter, SVD), Wan 2.x, LTXV
NOISE_SEED_OFFSET = 0x5EED  # keep shaping noise apart from the sampler's initial noise (same seed)

# (step index, sigma of that step, the state) -> standard-normal noise shaped like the state
ShapingNoise = Callable[[int, float, torch.Tensor], torch.Tensor]
# seed of the sampling run -> the noise of its shaped steps (the seam for recorded noise)
ShapingNoiseFactory = Callable[[int | None], ShapingNoise]


# -- the window -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ShapingWindow:
    """Steps to shape, in the sampler's own terms; the nodes' window_start / window_end / window_units.

    units "timestep": the model's timestep (DDPM index 0..999 for discrete models, sigma*1000 for
    flow models); a step is shaped when end <= t <= start (upstream: 1000 -> 900).
    units "sigma_percent": core's percent of the schedule (0 = pure noise, 1 = clean) as in
    `percent_to_sigma`; a step is shaped when start <= percent <= end. Either order is accepted.
    Errors name the widgets (window_start, window_end, window_units).
    """

    start: float = 1000.0
    end: float = 900.0
    units: str = "timestep"

    def validated(self) -> ShapingWindow:
        """Check units and ranges (naming the widget) and return the window with start/end ordered."""
        require(self.units in UNITS, "window_units", f"one of {list(UNITS)}", repr(self.units))
        for name, v in (("window_start", self.start), ("window_end", self.end)):
            require(isinstance(v, (int, float)) and math.isfinite(v), name, "a finite number", v)
            if self.units == "sigma_percent" and not 0.0 <= v <= 1.0:
                hint = (f"; {v:g} reads as a timestep, which is percent {timestep_to_sigma_percent(v):.3g} on a "
                        "DDPM schedule: give that, or set window_units to timestep") if 1.0 < v <= 1000.0 else ""
                raise input_error(name, "a sigma percent in 0..1 with window_units sigma_percent "
                                        f"(0 = pure noise, 1 = clean; upstream's window is 0 -> 0.1){hint}", v)
        if self.units == "timestep":
            return ShapingWindow(max(self.start, self.end), min(self.start, self.end), self.units)
        return ShapingWindow(min(self.start, self.end), max(self.start, self.end), self.units)


def check_window_reaches(window: ShapingWindow, t_lowest: float, t_highest: float) -> None:
    """A timestep window must overlap the model's timesteps t_lowest..t_highest, or it can never shape a step.

    The usual cause is switching window_units to timestep and keeping percent values (0 -> 0.1).
    A sigma_percent window always overlaps (0..1 is the whole schedule).
    """
    w = window.validated()
    tol = 1e-5 * max(abs(t_lowest), abs(t_highest), 1.0)  # as `window_predicate`
    if w.units != "timestep" or (w.end <= t_highest + tol and w.start >= t_lowest - tol):
        return
    raise RealCamInputError(
        f"window_start/window_end: expected a window that overlaps this model's timesteps "
        f"{t_lowest:.4g}..{t_highest:.4g} (window_units timestep), got {w.start:g}..{w.end:g}, which shapes no "
        "step; give timesteps in that range (upstream: 1000 -> 900), or percents with window_units sigma_percent")


def timestep_to_sigma_percent(t: float, t_max: float = 999.0) -> float:
    """DDPM timestep -> core's sigma percent (ModelSamplingDiscrete: percent p <-> t = (1 - p) * 999)."""
    return min(max(1.0 - float(t) / t_max, 0.0), 1.0)


def sigma_percent_to_timestep(p: float, t_max: float = 999.0) -> float:
    """Core's sigma percent -> DDPM timestep (inverse of `timestep_to_sigma_percent`)."""
    return (1.0 - float(p)) * t_max


def convert_window(window: ShapingWindow, units: str, t_max: float = 999.0) -> ShapingWindow:
    """The same window expressed in other units (t_max = 999 for discrete models, 1000 for flow)."""
    w = window.validated()
    require(units in UNITS, "window_units", f"one of {list(UNITS)}", repr(units))
    if units == w.units:
        return w
    if units == "sigma_percent":
        return ShapingWindow(timestep_to_sigma_percent(w.start, t_max), timestep_to_sigma_percent(w.end, t_max), units)
    return ShapingWindow(sigma_percent_to_timestep(w.start, t_max), sigma_percent_to_timestep(w.end, t_max), units)


def window_predicate(
    window: ShapingWindow,
    timestep_fn: Callable[[torch.Tensor], torch.Tensor],
    percent_to_sigma: Callable[[float], float],
    rel_tol: float = 1e-5,
) -> Callable[[float], bool]:
    """sigma -> whether a step (or model call) at that sigma is shaped. sigma 0 never is.

    timestep_fn: the model's sigma -> timestep (`model_sampling.timestep`); percent_to_sigma: the
    model's `percent_to_sigma`. Bounds get a relative tolerance so a step that sits exactly on a
    bound (t = 900 vs percent 1 - 900/999) counts as inside in both units.
    """
    w = window.validated()
    if w.units == "timestep":
        lo, hi = w.end, w.start
        tol = rel_tol * max(abs(lo), abs(hi), 1.0)

        def inside(sigma: float) -> bool:
            if sigma <= 0:
                return False
            t = float(timestep_fn(torch.tensor([float(sigma)], dtype=torch.float32)).flatten()[0])
            return lo - tol <= t <= hi + tol

        return inside
    s_hi, s_lo = float(percent_to_sigma(w.start)), float(percent_to_sigma(w.end))

    def inside_sigma(sigma: float) -> bool:
        return sigma > 0 and s_lo * (1 - rel_tol) <= sigma <= s_hi * (1 + rel_tol)

    return inside_sigma


def window_steps(sigmas: torch.Tensor | Sequence[float], inside: Callable[[float], bool]) -> list[int]:
    """Indices i of the steps sigmas[i] -> sigmas[i+1] whose start sigma is in the window. sigmas: (N+1,)."""
    values = [float(s) for s in (sigmas.flatten().tolist() if torch.is_tensor(sigmas) else sigmas)]
    return [i for i in range(len(values) - 1) if inside(values[i])]


# -- running a sampler in chunks ------------------------------------------------------------
@dataclass(frozen=True)
class Chunk:
    """Steps start..stop-1 run in one sampler call; `shaped` chunks are one step, blended first."""

    start: int
    stop: int
    shaped: bool


def plan_chunks(n_steps: int, shaped_steps: Sequence[int]) -> list[Chunk]:
    """Split n_steps into one-step chunks for shaped steps and maximal runs of the others."""
    shaped = {i for i in shaped_steps if 0 <= i < n_steps}
    out: list[Chunk] = []
    i = 0
    while i < n_steps:
        if i in shaped:
            out.append(Chunk(i, i + 1, True))
            i += 1
            continue
        j = i
        while j < n_steps and j not in shaped:
            j += 1
        out.append(Chunk(i, j, False))
        i = j
    return out


def sample_in_chunks(
    run: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
    x: torch.Tensor,
    sigmas: torch.Tensor,
    shaped_steps: Sequence[int],
    before_step: Callable[[torch.Tensor, int, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Run `run(x, sigmas[a:b+1], a)` per chunk; `before_step(x, i, sigmas[i])` replaces the state first.

    The sampler's own loop does the stepping, so any single-step sampler gives exactly the result of
    blending inside its loop. Multistep samplers (dpmpp_2m, lms, ...) restart their history at each
    chunk: one first-order step after every state replacement.
    """
    for c in plan_chunks(len(sigmas) - 1, shaped_steps):
        if c.shaped:
            x = before_step(x, c.start, sigmas[c.start])
        x = run(x, sigmas[c.start:c.stop + 1], c.start)
    return x


# -- masks ---------------------------------------------------------------------------------
def infer_temporal_compression(pixel_frames: int, latent_frames: int, name: str = "shaping_mask") -> int:
    """The VAE's temporal factor k with (F - 1) // k + 1 == T (1, 4 or 8; a single frame broadcasts)."""
    if pixel_frames == latent_frames or pixel_frames == 1:
        return 1
    for k in TEMPORAL_COMPRESSIONS[1:]:
        if (pixel_frames - 1) // k + 1 == latent_frames:
            return k
    raise input_error(
        name,
        f"{latent_frames} frames (one per latent frame), 1 frame, or the pixel frame count of a video VAE "
        f"that compresses time 4x/8x (e.g. {4 * (latent_frames - 1) + 1} or {8 * (latent_frames - 1) + 1})",
        f"{pixel_frames} frames",
    )


def temporal_groups(pixel_frames: int, latent_frames: int, compression: int) -> list[list[int]]:
    """Pixel frames each latent frame covers: [0], then k(j-1)+1 .. kj (k = compression)."""
    if pixel_frames == 1:
        return [[0] for _ in range(latent_frames)]
    if compression == 1:
        require(pixel_frames == latent_frames, "shaping_mask", f"{latent_frames} frames", pixel_frames)
        return [[j] for j in range(latent_frames)]
    groups = [[0]] + [list(range(compression * (j - 1) + 1, compression * j + 1)) for j in range(1, latent_frames)]
    require(groups[-1][-1] < pixel_frames, "shaping_mask",
            f"at least {groups[-1][-1] + 1} frames for {latent_frames} latent frames at {compression}x", pixel_frames)
    return groups


def check_pixel_mask(mask: torch.Tensor, name: str = "shaping_mask") -> torch.Tensor:
    """A MASK (F, H, W) or (H, W) in 0..1 (bool allowed) -> float32 (F, H, W)."""
    require(torch.is_tensor(mask), name, "a MASK tensor (frames, height, width)", type(mask).__name__)
    require(mask.ndim in (2, 3), name, "a MASK of shape (frames, height, width)", tuple(mask.shape))
    m = mask.float()
    if m.ndim == 2:
        m = m[None]
    require(m.numel() > 0, name, "a non-empty mask", tuple(mask.shape))
    require(bool(torch.isfinite(m).all()), name, "finite values", "NaN/inf")
    lo, hi = float(m.min()), float(m.max())
    require(lo >= 0.0 and hi <= 1.0, name, "values in 0..1", f"range {lo:.3g}..{hi:.3g}")
    return m


def latent_mask(
    mask: torch.Tensor,
    latent_frames: int,
    latent_hw: tuple[int, int],
    threshold: float = MASK_THRESHOLD,
    compression: int | None = None,
    name: str = "shaping_mask",
) -> torch.Tensor:
    """Pixel shaping mask (F, H, W) -> latent mask (T, h, w) of 0/1 float32.

    Per pixel frame as upstream: bilinear (align_corners=True) to (h, w), then >= threshold; then a
    latent frame is the AND of the pixel frames it covers. The mask must have the latent's aspect
    ratio (any scale: 8x for SD/Wan 2.1, 16x for Wan 2.2 5B, 32x for LTXV, 1x = already latent size).
    """
    m = check_pixel_mask(mask, name)
    f, hh, ww = m.shape
    h, w = int(latent_hw[0]), int(latent_hw[1])
    require(hh >= h and ww >= w and round(hh * w / ww) == h, name,
            f"a mask with the latent's aspect ratio (latent {h}x{w}, e.g. pixels {8 * h}x{8 * w})", f"{hh}x{ww}")
    k = infer_temporal_compression(f, latent_frames, name) if compression is None else int(compression)
    groups = temporal_groups(f, latent_frames, k)
    small = F.interpolate(m[:, None], size=(h, w), mode="bilinear", align_corners=True)[:, 0]
    per_frame = (small >= threshold).float()
    return torch.stack([per_frame[g].amin(dim=0) for g in groups])


def mask_for_state(mask_thw: torch.Tensor, state_shape: Sequence[int]) -> torch.Tensor:
    """Latent mask (T, h, w) -> broadcastable onto the state: (1, 1, T, h, w) or (T, 1, h, w)."""
    if len(state_shape) == 5:
        return mask_thw[None, None]
    return mask_thw[:, None]


# -- latents -------------------------------------------------------------------------------
def video_view(x: torch.Tensor) -> torch.Tensor:
    """(T, C, h, w) frames-as-batch -> (1, C, T, h, w); 5D unchanged."""
    return x.permute(1, 0, 2, 3)[None] if x.ndim == 4 else x


def to_state_layout(latent: torch.Tensor, state_shape: Sequence[int], name: str, frames: int | None = None) -> torch.Tensor:
    """Bring a latent into the sampler state's layout and check it fits.

    latent: (b, C, T, h, w) or frames-as-batch (T, C, h, w). state: (B, C, T, h, w) or (T, C, h, w).
    b must be 1 or B (it broadcasts). `frames` overrides the expected frame count (1 for a start frame).
    """
    require(torch.is_tensor(latent), name, "a latent tensor", type(latent).__name__)
    require(latent.ndim in (4, 5), name, "a latent of shape (B, C, T, h, w) or (frames, C, h, w)", tuple(latent.shape))
    require(len(state_shape) in (4, 5), "model", "a video model whose latent is (B, C, T, h, w) or (frames, C, h, w)",
            tuple(state_shape))
    v = video_view(latent)
    if len(state_shape) == 5:
        b_state, c, t, h, w = state_shape
    else:
        t, c, h, w = state_shape
        b_state = 1
    t = t if frames is None else frames
    ok = v.shape[1] == c and v.shape[2] == t and tuple(v.shape[3:]) == (h, w) and v.shape[0] in (1, b_state)
    if not ok:
        raise RealCamInputError(
            f"{name}: expected a latent with {c} channels, {t} frame(s) and {h}x{w} latent pixels to match the "
            f"sampled latent {tuple(state_shape)}, got {tuple(latent.shape)} "
            "(encode the preview with the model's VAE at the sampling resolution and frame count)")
    if len(state_shape) == 5:
        return v
    require(v.shape[0] == 1, name, "a single video for a frames-as-batch model", tuple(latent.shape))
    return v[0].permute(1, 0, 2, 3)


def replace_first_frame(preview: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Upstream: latent frame 0 of the preview is the encoded conditioning image. 5D (B,C,T,h,w) or 4D (T,C,h,w)."""
    out = preview.clone()
    if out.ndim == 5:
        out[:, :, :1] = first[:, :, :1].to(out)
    else:
        out[:1] = first[:1].to(out)
    return out


# -- the blend -----------------------------------------------------------------------------
def q_sample(z: torch.Tensor, sigma: float | torch.Tensor, noise: torch.Tensor, flow: bool = False) -> torch.Tensor:
    """Forward-noise z to `sigma` in sampler space: z + sigma*eps (discrete/VP), (1-sigma) z + sigma*eps (flow)."""
    s = float(sigma)
    if flow:
        return (1.0 - s) * z + s * noise
    return z + s * noise


def q_sample_scaling(flow: bool = False) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """`q_sample` with ComfyUI's `noise_scaling` argument order: (sigma, noise, z) -> noised z."""
    return lambda sigma, noise, z: q_sample(z, sigma, noise, flow)


def blend_xt(x: torch.Tensor, noised_preview: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Upstream's x_t paste: mask * q_sample(z, t) + (1 - mask) * x_t (bit-exact x where mask = 0)."""
    return noised_preview * mask + (1 - mask) * x


def paste_x0(denoised: torch.Tensor, preview: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The paper's form: paste the preview latent into the predicted clean latent."""
    return preview * mask + (1 - mask) * denoised


class SeededStepNoise:
    """Default shaping noise: a fresh standard-normal draw per shaped step from one CPU generator.

    Seeded from the sampler's seed (plus an offset, so it never repeats the initial noise), drawn on
    the CPU like ComfyUI's initial noise, so a seed gives the same result on every device.
    """

    def __init__(self, seed: int | None):
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed((int(seed or 0) + NOISE_SEED_OFFSET) % (2**63))

    def __call__(self, step: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
        n = torch.randn(like.shape, generator=self.generator, dtype=torch.float32, device="cpu")
        return n.to(device=like.device, dtype=like.dtype)


class RecordedNoise:
    """Replays given noise tensors in order (fixture replay, tests): noise[k] for the k-th shaped step."""

    def __init__(self, noise: Sequence[torch.Tensor] | torch.Tensor):
        self.noise = list(noise)
        self.used = 0

    def __call__(self, step: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
        if self.used >= len(self.noise):
            raise RealCamInputError(f"noise: {len(self.noise)} recorded draws, but shaped step {self.used + 1} needs one")
        n = self.noise[self.used]
        self.used += 1
        return n.reshape(like.shape).to(device=like.device, dtype=like.dtype)


@dataclass
class ShapingRun:
    """A `ShapingSpec` bound to one sampling run: scene latent z and mask m in the state's layout/space.

    z: the state's shape (batch may be 1). mask: broadcastable (see `mask_for_state`).
    scaling: (sigma, noise, z) -> q_sample(z, sigma); the model's `noise_scaling` or `q_sample`.
    """

    z: torch.Tensor
    mask: torch.Tensor
    inside: Callable[[float], bool]
    noise_fn: ShapingNoise
    scaling: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

    def blend(self, x: torch.Tensor, step: int, sigma: torch.Tensor | float) -> torch.Tensor:
        """xt_paste before step `step`: replace the state x (sampler space) in the masked region."""
        noise = self.noise_fn(step, float(sigma), x)
        s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(())
        q = self.scaling(s, noise, self.z.to(x))
        return blend_xt(x, q, self.mask.to(x))

    def paste(self, denoised: torch.Tensor, sigma: float) -> torch.Tensor:
        """x0_paste: replace the predicted clean latent inside the window."""
        if not self.inside(float(sigma)):
            return denoised
        return paste_x0(denoised, self.z.to(denoised), self.mask.to(denoised))


def prepare_scene_latent(
    preview: torch.Tensor,
    state_shape: Sequence[int],
    start_latent: torch.Tensor | None = None,
    process_in: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Preview latent (raw VAE space) -> the state's layout and model space, frame 0 from `start_latent` if given."""
    z = to_state_layout(preview, state_shape, "preview_latent")
    z = process_in(z) if process_in is not None else z
    if start_latent is not None:
        s = to_state_layout(start_latent, state_shape, "start_image", frames=1)
        s = process_in(s) if process_in is not None else s
        z = replace_first_frame(z, s)
    return z


def state_frames_hw(state_shape: Sequence[int]) -> tuple[int, tuple[int, int]]:
    """(T, (h, w)) of a state (B, C, T, h, w) or (T, C, h, w)."""
    if len(state_shape) == 5:
        return int(state_shape[2]), (int(state_shape[3]), int(state_shape[4]))
    require(len(state_shape) == 4, "model", "a latent of shape (B, C, T, h, w) or (frames, C, h, w)", tuple(state_shape))
    return int(state_shape[0]), (int(state_shape[2]), int(state_shape[3]))


# -- what a shaping patch carries ------------------------------------------------------------
@dataclass
class ShapingSpec:
    """What a shaping patch carries. preview / start_latent: raw VAE latents (as VAEEncode returns them).

    preview: (B, C, T, h, w) or frames-as-batch (T, C, h, w). mask: pixel MASK (F, H, W).
    start_latent: the start image's latent; replaces latent frame 0 of the preview (upstream).
    noise_factory: seed -> the shaped steps' noise (default `SeededStepNoise`).
    """

    preview: torch.Tensor
    mask: torch.Tensor
    window: ShapingWindow
    mode: str = "xt_paste"
    start_latent: torch.Tensor | None = None
    threshold: float = MASK_THRESHOLD
    noise_factory: ShapingNoiseFactory | None = None

    def validated(self) -> ShapingSpec:
        """Check every part (naming the node input it came from); the mask as float32 (F, H, W)."""
        require(self.mode in MODES, "mode", f"one of {list(MODES)}", repr(self.mode))
        mask = check_pixel_mask(self.mask)
        require(torch.is_tensor(self.preview) and self.preview.ndim in (4, 5), "preview_latent",
                "a latent of shape (B, C, T, h, w) or (frames, C, h, w)",
                tuple(self.preview.shape) if torch.is_tensor(self.preview) else type(self.preview).__name__)
        require(bool(torch.isfinite(self.preview).all()), "preview_latent", "finite values", "NaN/inf")
        start = self.start_latent
        require(start is None or bool(torch.isfinite(start).all()), "start_image", "finite values", "NaN/inf")
        video = video_view(self.preview)
        latent_mask(mask, int(video.shape[2]), (int(video.shape[3]), int(video.shape[4])), self.threshold)
        if start is not None:
            first = video_view(start)
            require(first.shape[1] == video.shape[1] and tuple(first.shape[3:]) == tuple(video.shape[3:]),
                    "start_image", f"a latent like the preview's ({video.shape[1]} channels, {tuple(video.shape[3:])})",
                    tuple(start.shape))
        return ShapingSpec(self.preview, mask, self.window.validated(), self.mode, start, self.threshold,
                           self.noise_factory)
