"""Downloads (realcam_core/weights/hub.py): staged under a temporary name, verified, moved into place, resumed."""

from __future__ import annotations

import hashlib
import os

import pytest

from realcam_core.errors import RealCamInputError
from realcam_core.weights.hub import download, leftover_partial, partial_path

DATA = b"weights" * 100


def expected(repo_id):
    return {"model.safetensors": (len(DATA), hashlib.sha256(DATA).hexdigest()), "config.json": (2, None)}


def test_file_download_staged_then_moved(tmp_path):
    seen = []

    def fetch(repo_id, filename, local_dir, patterns):
        seen.append(local_dir)
        assert not (tmp_path / filename).exists()  # never written under the final name
        (tmp_path / ".x").write_text("")
        open(os.path.join(local_dir, filename), "wb").write(DATA)

    path = download("org/repo", "model.safetensors", str(tmp_path), "model", fetch=fetch, expected=expected)
    assert path == str(tmp_path / "model.safetensors") and open(path, "rb").read() == DATA
    assert seen == [partial_path(path)] and leftover_partial(path) is None


def test_interrupted_download_reported_and_resumed(tmp_path):
    final = str(tmp_path / "M-hf")

    def broken(repo_id, filename, local_dir, patterns):
        os.makedirs(os.path.join(local_dir, ".cache"))
        open(os.path.join(local_dir, ".cache", "x.lock"), "w").write("lock")
        open(os.path.join(local_dir, "model.safetensors"), "wb").write(DATA[:10])
        raise ConnectionError("network down")

    with pytest.raises(RealCamInputError) as e:
        download("org/M-hf", None, final, "depth model", fetch=broken, expected=expected)
    msg = str(e.value)
    assert "depth model" in msg and "huggingface.co/org/M-hf" in msg and "resumes" in msg
    assert not os.path.exists(final) and leftover_partial(final)

    def resume(repo_id, filename, local_dir, patterns):
        assert os.path.getsize(os.path.join(local_dir, "model.safetensors")) == 10  # the partial bytes are there
        open(os.path.join(local_dir, "model.safetensors"), "ab").write(DATA[10:])
        open(os.path.join(local_dir, "config.json"), "w").write("{}")

    assert download("org/M-hf", None, final, "depth model", fetch=resume, expected=expected) == final
    assert sorted(os.listdir(final)) == ["config.json", "model.safetensors"] and leftover_partial(final) is None


@pytest.mark.parametrize("payload, words", [(DATA[:-1], ["incomplete"]), (DATA[:-1] + b"!", ["sha256"])])
def test_size_and_hash_checked(tmp_path, payload, words):
    def fetch(repo_id, filename, local_dir, patterns):
        open(os.path.join(local_dir, filename), "wb").write(payload)

    with pytest.raises(RealCamInputError) as e:
        download("org/repo", "model.safetensors", str(tmp_path), "camera_checkpoint", fetch=fetch, expected=expected)
    assert "camera_checkpoint" in str(e.value) and all(w in str(e.value) for w in words)
    assert not (tmp_path / "model.safetensors").exists()


def test_failed_download_without_data_leaves_nothing(tmp_path):
    """Offline: nothing was fetched, so no staging folder (nor the folder made for it) is left behind."""
    def offline(repo_id, filename, local_dir, patterns):
        os.makedirs(os.path.join(local_dir, ".cache", "huggingface", "download"), exist_ok=True)
        open(os.path.join(local_dir, ".cache", "huggingface", ".gitignore"), "w").write("*")
        open(os.path.join(local_dir, ".cache", "huggingface", "download", "model.ckpt.lock"), "w").close()
        raise OSError("offline mode is enabled")

    target = tmp_path / "DynamiCrafter_512"
    with pytest.raises(RealCamInputError) as e:
        download("Doubiiu/DynamiCrafter_512", "model.ckpt", str(target), "base_checkpoint", fetch=offline)
    assert "base_checkpoint" in str(e.value) and "by hand" in str(e.value) and "resumes" not in str(e.value)
    assert os.listdir(tmp_path) == []
