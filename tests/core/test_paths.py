"""Path policy (realcam_core/paths.py): names, containment, links, writes that never follow links or overwrite."""

from __future__ import annotations

import os

import pytest

from realcam_core.paths import PathPolicyError, check_name, check_tree, resolve_read, write_new


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "input"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "a.txt").write_text("a")
    (outside / "secret.txt").write_text("secret")
    (root / "link_out.txt").symlink_to(outside / "secret.txt")
    (root / "dir_out").symlink_to(outside, target_is_directory=True)
    (root / "link_in.txt").symlink_to(root / "a.txt")
    return root, outside


@pytest.mark.parametrize("name, words", [
    ("", ["expected a file name"]), ("a\x00b.txt", ["NUL"]), ("/etc/passwd", ["absolute"]),
    ("../x.txt", ["'..'"]), ("sub/../../x.txt", ["'..'"]), ("x" * 300 + ".txt", ["at most 200"]),
    ("C:\\win.txt", ["absolute"]),
])
def test_check_name_refuses(name, words):
    with pytest.raises(PathPolicyError) as e:
        check_name(name, "pose_file")
    assert "pose_file" in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_resolve_read_inside_and_links(tree):
    root, outside = tree
    assert resolve_read("a.txt", [root], "file") == (root / "a.txt").resolve()
    assert resolve_read("link_in.txt", [root], "file") == (root / "a.txt").resolve()
    for name in ("link_out.txt", "dir_out/secret.txt"):
        with pytest.raises(PathPolicyError, match="outside") as e:
            resolve_read(name, [root], "file", label="ComfyUI's input folder")
        assert "file:" in str(e.value) and "input folder" in str(e.value)
    # a link into a second allowed root is fine
    assert resolve_read("link_out.txt", [root, outside], "file") == (outside / "secret.txt").resolve()
    with pytest.raises(PathPolicyError, match="expected a .npy file"):
        resolve_read("a.txt", [root], "file", suffixes=(".npy",))
    with pytest.raises(PathPolicyError, match="not found"):
        resolve_read("none.txt", [root], "file")


def test_check_tree_refuses_links_out(tree):
    root, outside = tree
    hf = root / "model-hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    check_tree(hf, [root], "model")
    (hf / "model.safetensors").symlink_to(outside / "secret.txt")
    with pytest.raises(PathPolicyError, match="model: .*outside"):
        check_tree(hf, [root], "model")


def test_write_new_never_follows_links_nor_overwrites(tree):
    root, outside = tree
    before = {p.name: p.read_text() for p in outside.iterdir()}
    p = write_new(root, "sub/new.txt", b"x", "filename_prefix")
    assert p.read_bytes() == b"x" and not any(n.startswith(".realcam-tmp") for n in os.listdir(root / "sub"))
    with pytest.raises(PathPolicyError, match="already exists"):
        write_new(root, "sub/new.txt", b"y", "filename_prefix")
    assert p.read_bytes() == b"x"
    assert write_new(root, "sub/new.txt", b"y", "f", on_exists="rename").name == "new_1.txt"
    assert write_new(root, "sub/new.txt", b"x", "f", on_exists="same") == p
    assert write_new(root, "sub/t.txt", b"1", "f", on_exists="counter").name == "t_00001_.txt"
    assert write_new(root, "sub/t.txt", b"2", "f", on_exists="counter").name == "t_00002_.txt"
    with pytest.raises(PathPolicyError, match="link"):
        write_new(root, "dir_out/evil.txt", b"x", "filename_prefix")
    # a link at the final name is never written through (renamed instead, or refused)
    assert write_new(root, "link_out.txt", b"evil", "file", on_exists="rename").name == "link_out_1.txt"
    with pytest.raises(PathPolicyError):
        write_new(root, "link_out.txt", b"evil", "file")
    assert {p.name: p.read_text() for p in outside.iterdir()} == before
