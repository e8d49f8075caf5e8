"""Downloads from the Hugging Face hub with one readable error when offline or refused."""

from __future__ import annotations

import os
from collections.abc import Sequence

from .errors import RealCamInputError


def hub_url(repo_id: str, filename: str | None = None) -> str:
    return f"https://huggingface.co/{repo_id}" + (f" (file {filename})" if filename else "")


def download(
    repo_id: str, filename: str | None, target_dir: str, what: str, allow_patterns: Sequence[str] | None = None,
) -> str:
    """Fetch `filename` of `repo_id` into `target_dir` (or, with filename None, a snapshot of the repo).

    Returns the local path. Any failure (no network, no huggingface_hub, auth, disk) raises
    RealCamInputError naming `what`, the source and the folder, so the user can fetch it by hand.
    """
    where = hub_url(repo_id, filename)
    try:
        import huggingface_hub
    except ImportError:
        raise RealCamInputError(f"{what}: huggingface_hub is not installed; download {where} into {target_dir}") from None
    os.makedirs(target_dir, exist_ok=True)
    try:
        if filename is None:
            huggingface_hub.snapshot_download(repo_id=repo_id, local_dir=target_dir, allow_patterns=allow_patterns)
            return target_dir
        return huggingface_hub.hf_hub_download(repo_id=repo_id, filename=filename, local_dir=target_dir)
    except Exception as e:  # network, offline mode, auth, disk: one readable line
        raise RealCamInputError(
            f"{what}: downloading from {where} into {target_dir} failed ({type(e).__name__}: {str(e)[:200]}); "
            "download it by hand into that folder"
        ) from None


def hub_offline() -> bool:
    """True when huggingface_hub will not download (HF_HUB_OFFLINE set), so a missing file is missing for good."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
