"""One error type for bad input, and one helper to raise it with the input's name."""

from __future__ import annotations


class RealCamInputError(ValueError):
    """Bad user input: the message names the input and says what was expected."""

    # ComfyUI shows module + class name; inside ComfyUI our module name is a long file path.
    __module__ = "realcam"


def require(condition: bool, name: str, expected: str, got: object = None) -> None:
    """Raise RealCamInputError(`name`: expected ..., got ...) unless `condition` holds."""
    if not condition:
        raise input_error(name, expected, got)


def input_error(name: str, expected: str, got: object = None) -> RealCamInputError:
    msg = f"{name}: expected {expected}"
    if got is not None:
        msg += f", got {got}"
    return RealCamInputError(msg)
