"""The noise-shaping widgets, declared once for RealCam Sampler, RealCam Noise Shaping and RealCam Wan Noise
Shaping: one name and one tooltip per idea (the glossary of ARCHITECTURE §5)."""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_core import shaping as core

MODE_TOOLTIP = ("xt_paste: blend the noised preview into the sampler state before each step in the window (the "
                "official code); x0_paste: paste the preview into the predicted clean latent (the paper's text).")


def mode_input(name: str = "mode") -> io.Combo.Input:
    return io.Combo.Input(name, options=list(core.MODES), default="xt_paste", tooltip=MODE_TOOLTIP)


def window_inputs(window: core.ShapingWindow) -> list:
    """window_units, window_start, window_end with `window`'s values as defaults.

    The values do not follow a change of units (a widget never rewrites another in ComfyUI): a value that
    the new units cannot take is refused naming the widget, its range and the converted value.
    """
    return [
        io.Combo.Input("window_units", options=list(core.UNITS), default=window.units,
                       tooltip="Units of window_start / window_end. timestep: the model's timestep (DDPM 999..0 "
                               "for RealCam / SD models, sigma x 1000 for Wan); upstream shapes 1000 -> 900. "
                               "sigma_percent: core's percent of the schedule, 0 = pure noise .. 1 = clean, as "
                               "core's start_percent / end_percent; 0 -> 0.1 is upstream's share. Switching units "
                               "keeps the numbers: set both bounds in the new units."),
        io.Float.Input("window_start", default=window.start, min=0.0, max=1000.0, step=0.001,
                       tooltip="Where shaping starts, the noisy end of the window: timestep 1000, or percent 0."),
        io.Float.Input("window_end", default=window.end, min=0.0, max=1000.0, step=0.001,
                       tooltip="Where shaping stops: timestep 900 (upstream: the first 3 of 25 steps), or a "
                               "percent such as 0.1 (the first 10 % of the schedule)."),
    ]
