from pathlib import Path

import pytest
import torch

from realcam_core.camera import re10k, se3
from realcam_core.errors import RealCamInputError
from realcam_core.trajectory.types import Trajectory

POSE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "pose_files_upstream"
UPSTREAM_FILES = sorted(POSE_DIR.glob("*.txt"))
REFLECTED = {"look_down", "look_left", "look_right", "look_up", "orbit_left", "orbit_right", "orbit_up",
             "pan_down", "pan_up", "rotate_anti-clockwise", "rotate_clockwise"}
ROW = "0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0"


def _random_trajectory(n: int, seed: int) -> Trajectory:
    g = torch.Generator().manual_seed(seed)
    xi = torch.randn(n, 6, generator=g, dtype=torch.float64) * torch.tensor([3.0, 3, 3, 1, 1, 1], dtype=torch.float64)
    c2w = se3.se3_exp(xi).float()
    K = torch.tensor([[0.61, 0.0, 0.49], [0.0, 0.97, 0.52], [0.0, 0.0, 1.0]]).expand(n, 3, 3).clone()
    return Trajectory(c2w=c2w, K_norm=K)


def test_all_sixteen_upstream_files_load_relative():
    assert len(UPSTREAM_FILES) == 16
    for path in UPSTREAM_FILES:
        traj = re10k.read_re10k(path)
        assert traj.c2w.dtype == torch.float32 and traj.c2w.shape[1:] == (4, 4)
        assert torch.equal(traj.c2w[0], torch.eye(4)), path.name
        # relative rotations are proper even where the file stores reflections
        se3.check_rotations(traj.c2w[:, :3, :3], path.name, atol=1e-5)
        assert torch.allclose(traj.K_norm[:, 0, 0], torch.full((traj.num_frames,), 0.5))
        assert traj.key_times == [float(i) for i in range(traj.num_frames)]


def test_reflection_files_are_the_documented_ones():
    for path in UPSTREAM_FILES:
        absolute = re10k.read_re10k(path, relative=False)
        det = torch.linalg.det(absolute.c2w[:, :3, :3].double())
        assert bool((det < 0).all()) == (path.stem in REFLECTED), path.name


def test_relative_pose_matches_upstream_formula():
    path = POSE_DIR / "orbit_left.txt"
    rows = [line.split() for line in path.read_text().splitlines()[1:]]
    w2c = torch.zeros(len(rows), 4, 4, dtype=torch.float64)
    w2c[:, :3, :] = torch.tensor([[float(v) for v in r[7:]] for r in rows], dtype=torch.float64).reshape(-1, 3, 4)
    w2c[:, 3, 3] = 1.0
    c2w = torch.linalg.inv(w2c)
    expected = torch.linalg.inv(c2w[0]) @ c2w
    traj = re10k.read_re10k(path)
    assert torch.allclose(traj.c2w.double(), expected, atol=1e-6)
    assert torch.allclose(traj.c2w[-1, :3, 3], torch.tensor([-3.0, 0.0, 3.0]), atol=1e-5)


@pytest.mark.parametrize("relative", [True, False])
def test_round_trip_is_bit_exact_for_upstream_files(relative):
    for path in UPSTREAM_FILES:
        traj = re10k.read_re10k(path, relative=relative)
        again = re10k.parse_re10k(re10k.format_re10k(traj), relative=relative)
        assert torch.equal(traj.c2w, again.c2w), path.name
        assert torch.equal(traj.K_norm, again.K_norm), path.name


def test_round_trip_is_bit_exact_for_random_trajectories(tmp_path):
    for seed in range(20):
        traj = _random_trajectory(40, seed)
        out = tmp_path / f"t{seed}.txt"
        re10k.write_re10k(traj, out)
        again = re10k.read_re10k(out, relative=False)
        assert torch.equal(traj.c2w, again.c2w), seed
        assert torch.equal(traj.K_norm, again.K_norm), seed
        rel = Trajectory(c2w=se3.relative_to_first(traj.c2w), K_norm=traj.K_norm)
        assert torch.equal(re10k.parse_re10k(re10k.format_re10k(rel)).c2w, rel.c2w), seed


def test_short_float_text_would_not_be_exact():
    # guards the writer's precision: 9 significant digits of the float64 w2c are not enough
    traj = _random_trajectory(40, 3)
    text = re10k.format_re10k(traj)
    lines = text.splitlines()
    short = [lines[0]] + [" ".join(f"{float(v):.9g}" for v in line.split()) for line in lines[1:]]
    lossy = re10k.parse_re10k("\n".join(short), relative=False)
    assert not torch.equal(lossy.c2w, traj.c2w)


def test_written_text_suits_animatediff_loader():
    traj = re10k.read_re10k(POSE_DIR / "zoom_in.txt")
    text = re10k.format_re10k(traj)
    assert text.startswith("https://") and text.endswith("\n") and not text.endswith("\n\n")
    assert "  " not in text
    # ADE: skip line 1, split on single spaces, float() every token
    rows = [[float(x) for x in line.strip().split(" ")] for line in text.splitlines(keepends=True)[1:]]
    assert len(rows) == traj.num_frames and all(len(r) == 19 for r in rows)
    assert rows[1][0] == 33333  # integer microsecond timestamps at 30 fps


def test_header_handling():
    no_header = ROW + "\n" + ROW
    assert re10k.parse_re10k(no_header).num_frames == 2  # a pose on line 1 is not dropped
    with_url = "https://example.com/v\n" + ROW + "\n\n"
    assert re10k.parse_re10k(with_url).num_frames == 1  # trailing blank line is fine
    words = "camera poses exported by X\n" + ROW
    assert re10k.parse_re10k(words).num_frames == 1
    tabs = "http://x\n" + ROW.replace(" ", "\t  ")
    assert re10k.parse_re10k(tabs).num_frames == 1
    bom = ("\ufeff" + ROW + "\r\n" + ROW + "\r\n").encode("utf-8")
    assert re10k.parse_re10k(bom).num_frames == 2  # BOM and CRLF from Windows editors


def test_wrong_column_count_names_line_and_count():
    text = "https://x\n" + ROW + "\n" + " ".join(ROW.split()[:18]) + "\n"
    with pytest.raises(RealCamInputError, match=r"line 3 has 18 numbers, expected 19"):
        re10k.parse_re10k(text)


def test_non_numbers_and_non_finite_values():
    with pytest.raises(RealCamInputError, match=r"line 2, column 8: non-finite value 'nan'"):
        re10k.parse_re10k("https://x\n" + ROW.replace(" 1 0 0 0 0 1", " nan 0 0 0 0 1", 1))
    with pytest.raises(RealCamInputError, match=r"line 2, column 3: 'abc' is not a number"):
        re10k.parse_re10k("https://x\n" + ROW.replace("0.5", "abc", 2).replace("abc", "0.5", 1))


def test_empty_and_header_only_files():
    with pytest.raises(RealCamInputError, match="the file is empty"):
        re10k.parse_re10k("")
    with pytest.raises(RealCamInputError, match="no pose lines"):
        re10k.parse_re10k("https://only-a-url\n\n")


def test_unreadable_files(tmp_path):
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(RealCamInputError, match="not readable as UTF-8 text"):
        re10k.read_re10k(binary)
    with pytest.raises(RealCamInputError, match="cannot be read"):
        re10k.read_re10k(tmp_path / "missing.txt")


def test_non_orthonormal_and_inconsistent_rotations():
    scaled = ROW.split()
    scaled[7] = "1.5"
    with pytest.raises(RealCamInputError, match=r"line 3 \(pose 1\) rotation is not orthonormal"):
        re10k.parse_re10k("https://x\n" + ROW + "\n" + " ".join(scaled))
    mirrored = ROW.split()
    mirrored[7] = "-1"
    with pytest.raises(RealCamInputError, match="line 3 changes handedness"):
        re10k.parse_re10k("https://x\n" + ROW + "\n" + " ".join(mirrored))
    # a file that is mirrored throughout is accepted (upstream presets)
    assert re10k.parse_re10k("https://x\n" + " ".join(mirrored) + "\n" + " ".join(mirrored)).num_frames == 2


def test_non_positive_focal_is_rejected():
    bad = ROW.split()
    bad[1] = "0"
    with pytest.raises(RealCamInputError, match="line 2 has focal lengths"):
        re10k.parse_re10k("https://x\n" + " ".join(bad))
