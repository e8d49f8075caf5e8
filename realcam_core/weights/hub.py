"""Downloads from the Hugging Face hub: into a temporary name, moved into place only when complete.

A download goes to `<folder>/.realcam-partial-<name>/` first (huggingface_hub resumes its own
`.incomplete` files there), each file is checked against the size and sha256 the hub lists, and
only then is the file / folder renamed to its final name. So a model folder never holds a
half-written model under a name the loaders would pick up; a leftover partial folder from an
interrupted run is reported and resumed by the next download. Any failure raises one
RealCamInputError naming the input, the source and the folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence

from ..errors import RealCamInputError

log = logging.getLogger("RealCam")
PARTIAL_PREFIX = ".realcam-partial-"

# (repo_id, filename or None, local_dir, allow_patterns) -> None; downloads into local_dir
Fetch = Callable[[str, "str | None", str, "Sequence[str] | None"], None]
# repo_id -> {file name in the repo: (size in bytes or None, sha256 hex or None)}
Expected = Callable[[str], Mapping[str, tuple]]


def hub_url(repo_id: str, filename: str | None = None) -> str:
    return f"https://huggingface.co/{repo_id}" + (f" (file {filename})" if filename else "")


def partial_path(final: str) -> str:
    """Where the download of `final` (a file or folder path) is staged."""
    final = os.path.normpath(final)
    return os.path.join(os.path.dirname(final), PARTIAL_PREFIX + os.path.basename(final))


def leftover_partial(final: str) -> str | None:
    """The staging folder of an interrupted download of `final`, if one is there."""
    p = partial_path(final)
    return p if os.path.isdir(p) else None


def _hf_fetch(repo_id: str, filename: str | None, local_dir: str, allow_patterns: Sequence[str] | None) -> None:
    import huggingface_hub

    if filename is None:
        huggingface_hub.snapshot_download(repo_id=repo_id, local_dir=local_dir, allow_patterns=allow_patterns)
    else:
        huggingface_hub.hf_hub_download(repo_id=repo_id, filename=filename, local_dir=local_dir)


def _hf_expected(repo_id: str) -> dict[str, tuple]:
    """Sizes and LFS sha256 the hub lists for the repo's files ({} when it cannot say)."""
    import huggingface_hub

    try:
        info = huggingface_hub.HfApi().model_info(repo_id, files_metadata=True)
    except Exception:  # metadata is a bonus: the download itself already worked
        return {}
    out = {}
    for s in info.siblings or []:
        lfs = getattr(s, "lfs", None)
        sha = getattr(lfs, "sha256", None) if lfs is not None else None
        out[s.rfilename] = (getattr(s, "size", None), sha)
    return out


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def verify(local_dir: str, names: Sequence[str], expected: Mapping[str, tuple], what: str, where: str) -> None:
    """Every downloaded file has the size (and sha256) the hub lists; a mismatch is an incomplete download."""
    for name in names:
        path = os.path.join(local_dir, name)
        if not os.path.isfile(path):
            raise RealCamInputError(f"{what}: the download from {where} did not produce {name}")
        size, sha = expected.get(name, (None, None))
        got = os.path.getsize(path)
        if size is not None and got != size:
            raise RealCamInputError(f"{what}: {name} from {where} has {got} of {size} bytes (incomplete download)")
        if sha and _sha256(path) != sha:
            os.remove(path)  # corrupt bytes cannot be resumed
            raise RealCamInputError(f"{what}: {name} from {where} does not match the hub's sha256; removed it")


def _downloaded_files(local_dir: str) -> list[str]:
    out = []
    for dirpath, dirs, files in os.walk(local_dir):
        dirs[:] = [d for d in dirs if d != ".cache"]  # huggingface_hub's own bookkeeping
        out += [os.path.relpath(os.path.join(dirpath, f), local_dir).replace(os.sep, "/") for f in files]
    return sorted(out)


def _missing_ancestors(path: str) -> list[str]:
    """`path` and its parents that do not exist yet (deepest first): what a failed attempt may remove."""
    out = []
    p = os.path.abspath(path)
    while not os.path.exists(p):
        out.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return out


def _leftover_note(stage: str, created: list[str]) -> str:
    """Keep a stage that holds downloaded bytes (resumed next time); remove an empty one and the folders made for it."""
    def holds_bytes(d: str, f: str) -> bool:  # downloaded data, not huggingface_hub's locks and metadata
        inside_cache = f"{os.sep}.cache" in d[len(stage):]
        return (not inside_cache or f.endswith(".incomplete")) and os.path.getsize(os.path.join(d, f)) > 0

    has_data = any(holds_bytes(d, f) for d, _, fs in os.walk(stage) for f in fs)
    if has_data:
        return f"; the partial download stays in {stage} and the next run resumes it (or delete that folder)"
    shutil.rmtree(stage, ignore_errors=True)
    for d in created:
        try:
            if os.path.isdir(d):
                os.rmdir(d)
        except OSError:
            break
    return ""


def download(
    repo_id: str, filename: str | None, target_dir: str, what: str, allow_patterns: Sequence[str] | None = None,
    *, fetch: Fetch | None = None, expected: Expected | None = None,
) -> str:
    """Fetch `filename` of `repo_id` into `target_dir` (or, with filename None, a snapshot of the repo as
    the folder `target_dir`). Returns the final local path. `fetch` / `expected` replace the hub (tests).
    """
    where = hub_url(repo_id, filename)
    final = target_dir if filename is None else os.path.join(target_dir, filename)
    stage = partial_path(final)
    if fetch is None:
        try:
            import huggingface_hub  # noqa: F401
        except ImportError:
            raise RealCamInputError(f"{what}: huggingface_hub is not installed; download {where} into {target_dir}") from None
        fetch, expected = _hf_fetch, expected or _hf_expected
    if os.path.lexists(final):
        raise RealCamInputError(f"{what}: {final} already exists; refusing to download over it")
    if os.path.isdir(stage):
        log.warning("RealCam: resuming the interrupted download of %s in %s", where, stage)
    created = _missing_ancestors(stage)
    try:
        os.makedirs(stage, exist_ok=True)
        fetch(repo_id, filename, stage, allow_patterns)
        names = [filename] if filename is not None else _downloaded_files(stage)
        verify(stage, names, expected(repo_id) if expected else {}, what, where)
    except RealCamInputError as e:
        raise RealCamInputError(f"{e}{_leftover_note(stage, created)}") from None
    except Exception as e:  # network, offline mode, auth, disk: one readable line
        raise RealCamInputError(
            f"{what}: downloading from {where} into {target_dir} failed ({type(e).__name__}: {str(e)[:200]})"
            f"{_leftover_note(stage, created)}; or download it by hand into that folder"
        ) from None
    # complete and verified: move into place (same file system, so rename is atomic)
    if filename is None:
        shutil.rmtree(os.path.join(stage, ".cache"), ignore_errors=True)
        os.replace(stage, final)
    else:
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(os.path.join(stage, filename), final)
        shutil.rmtree(stage, ignore_errors=True)
    return final


def hub_offline() -> bool:
    """True when huggingface_hub will not download (HF_HUB_OFFLINE set), so a missing file is missing for good."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
