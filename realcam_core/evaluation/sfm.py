"""Per-frame camera poses of a video with COLMAP (`pycolmap`): SIFT features, matching, incremental mapping.

Like the CamI2V evaluation (COLMAP SIFT + sequential matching + GLOMAP with intrinsics fixed to the
requested ones), but in-process: features of every frame, exhaustive matching for short clips
(sequential beyond `EXHAUSTIVE_MAX_FRAMES`), incremental mapping with the intrinsics either fixed
(PINHOLE, from the trajectory / scene) or unknown and shared by all frames (SIMPLE_PINHOLE, focal
refined). Two cases SfM cannot reconstruct get their own answer instead of a failure:
- a static video (no pixel changes): every camera is frame 0's;
- a pure rotation (look / rotate presets): no parallax, so nothing triangulates; the rotations are
  fitted to the matched rays directly (R = argmin sum |b_j - R b_i|, RANSAC + Kabsch) and the camera
  does not translate. Chosen only when the mapper cannot register every frame, the rotation model
  explains each frame's matches to a pixel, and the chained rotations explain >= 75 % of COLMAP's
  verified matches between frames far apart (where a translating camera shows its parallax).
Everything runs in a work folder the caller gives (ComfyUI's temp folder in the nodes).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import input_error, require

__all__ = ["EXHAUSTIVE_MAX_FRAMES", "MIN_FRAMES", "PoseEstimate", "Tracker", "check_video"]

MIN_FRAMES = 3
MIN_SIZE = 32
EXHAUSTIVE_MAX_FRAMES = 32
STATIC_TOL = 1.0 / 255.0  # mean absolute change (0..1) under which a frame equals frame 0
ROTATION_MAX_RESIDUAL_PX = 1.0  # median reprojection residual for the pure-rotation model
ROTATION_MIN_INLIERS = 0.3
ROTATION_MIN_MATCHES = 12
ROTATION_MIN_VERIFIED_SHARE = 0.75  # measured: pure rotations 0.92-0.95, a 1 m pan 0.29
GUIDED_MATCHING = False
# initial pair's triangulation angle: COLMAP's default first (a flatter start lets repetitive texture
# pick a wrong rotation-for-translation solution on pans), then 4 degrees when that registers nothing
INIT_MIN_TRI_ANGLE = 16.0
INIT_MIN_TRI_ANGLE_RETRY = 4.0

Callback = Callable[[int, int], None]


def _pycolmap():
    try:
        import pycolmap
    except ImportError as e:  # pragma: no cover - requirements.txt installs it
        raise RuntimeError("camera tracking needs pycolmap: pip install pycolmap (see requirements.txt)") from e
    return pycolmap


@dataclass
class PoseEstimate:
    """Estimated cameras of one reconstruction.

    c2w: (N, 4, 4) float64, frame 0 = identity, SfM units (NaN for frames that did not register).
    registered: (N,) bool. method: 'incremental', 'rotation-only', 'static' or 'failed'.
    frame0_uv / frame0_z: pixel positions in frame 0 of triangulated points and their camera depth
    (SfM units), to fix the metric scale. K: (3, 3) pixel intrinsics used (or estimated).
    """

    c2w: torch.Tensor
    registered: torch.Tensor
    method: str
    message: str = ""
    K: torch.Tensor | None = None
    frame0_uv: np.ndarray | None = None
    frame0_z: np.ndarray | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def num_registered(self) -> int:
        return int(self.registered.sum())

    @property
    def complete(self) -> bool:
        return bool(self.registered.all()) and self.method != "failed"


def check_video(frames: object, name: str = "video") -> torch.Tensor:
    """An IMAGE batch (N, H, W, 3) of at least MIN_FRAMES frames -> float32 CPU tensor."""
    if not isinstance(frames, torch.Tensor):
        raise input_error(name, "an IMAGE batch (N, H, W, 3)", type(frames).__name__)
    require(frames.ndim == 4 and frames.shape[-1] == 3, name, "an IMAGE batch (N, H, W, 3)", tuple(frames.shape))
    n, h, w = (int(s) for s in frames.shape[:3])
    require(n >= MIN_FRAMES, name, f"at least {MIN_FRAMES} frames to estimate camera motion", f"{n} frame(s)")
    require(min(h, w) >= MIN_SIZE, name, f"frames of at least {MIN_SIZE} pixels a side", f"{w}x{h}")
    f = frames.detach().to("cpu", torch.float32)
    require(bool(torch.isfinite(f).all()), name, "finite pixel values", "NaN or inf")
    return f


def is_static(frames: torch.Tensor, tol: float = STATIC_TOL) -> bool:
    """True when no frame differs from frame 0 by more than `tol` mean absolute value."""
    diff = (frames[1:] - frames[:1]).abs().mean(dim=(1, 2, 3))
    return bool((diff <= tol).all())


def _identity(n: int) -> torch.Tensor:
    return torch.eye(4, dtype=torch.float64).expand(n, 4, 4).clone()


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |b - R a| over unit vectors a, b (M, 3)."""
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def fit_rotation(a: np.ndarray, b: np.ndarray, thresh: float, rng: np.random.Generator, iters: int = 200
                 ) -> tuple[np.ndarray, np.ndarray]:
    """RANSAC + Kabsch: R with b ~ R a for unit rays (M, 3); returns (R, inlier mask)."""
    best = np.zeros(len(a), bool)
    for _ in range(iters):
        idx = rng.choice(len(a), 2, replace=False)
        R = _kabsch(a[idx], b[idx])
        inl = np.linalg.norm(b - a @ R.T, axis=1) < thresh
        if inl.sum() > best.sum():
            best = inl
    if best.sum() < 3:
        return np.eye(3), best
    R = _kabsch(a[best], b[best])
    return R, np.linalg.norm(b - a @ R.T, axis=1) < thresh


class _Watch:
    """Polls `should_stop` while a long pycolmap call runs and cancels its token (ComfyUI's interrupt)."""

    def __init__(self, token, should_stop: Callable[[], bool] | None):
        self.token, self.should_stop, self.stopped = token, should_stop, False
        self._done = threading.Event()

    def _run(self) -> None:
        while not self._done.wait(0.2):
            if self.should_stop is not None and self.should_stop():
                self.stopped = True
                self.token.cancel()
                return

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


class Tracker:
    """One video's features, computed once; `estimate(seed)` matches and maps (one trial).

    frames: (N, H, W, 3) 0..1. K: (3, 3) pixel intrinsics at the frames' size, or None (unknown, shared,
    estimated). work_dir: folder for the frames and COLMAP database (default: a temporary folder).
    callback(done, total) runs between steps and may raise to interrupt; should_stop() is polled while
    pycolmap works and cancels it.
    """

    def __init__(self, frames: torch.Tensor, K: torch.Tensor | None = None, *, work_dir: str | Path | None = None,
                 matcher: str = "auto", num_threads: int = -1, should_stop: Callable[[], bool] | None = None):
        self.frames = check_video(frames)
        self.n, self.h, self.w = (int(s) for s in self.frames.shape[:3])
        require(matcher in ("auto", "exhaustive", "sequential"), "matcher", "'auto', 'exhaustive' or 'sequential'",
                matcher)
        if K is not None:
            require(isinstance(K, torch.Tensor) and tuple(K.shape) == (3, 3), "K", "pixel intrinsics (3, 3)",
                    getattr(K, "shape", K))
            K = K.detach().to("cpu", torch.float64)
            require(bool(torch.isfinite(K).all()) and float(K[0, 0]) > 0 and float(K[1, 1]) > 0, "K",
                    "finite intrinsics with positive focal lengths", K.tolist())
        self.K = K
        self.matcher = ("exhaustive" if self.n <= EXHAUSTIVE_MAX_FRAMES else "sequential") if matcher == "auto" else matcher
        self.num_threads = num_threads
        # SIFT's first octave: -1 (COLMAP's default) doubles the image first, needed for small frames;
        # 0 is ~3x faster and finds enough features from ~400 px up
        self.first_octave = -1 if max(self.h, self.w) < 400 else 0
        self.should_stop = should_stop
        self._tmp = None
        if work_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="realcam_track_")
            self.root = Path(self._tmp)
        else:
            self.root = Path(tempfile.mkdtemp(prefix="realcam_track_", dir=str(work_dir)))
        self.static = is_static(self.frames)
        self.names = [f"{i:05d}.png" for i in range(self.n)]
        self._features_done = False
        self.extract_seconds = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _guard(self, pc):
        token = pc.CancellationToken()
        with _Watch(token, self.should_stop) as watch:
            try:
                yield token
            except Exception as e:
                # a cancelled pycolmap call may raise its own error: the interrupt is the cause, say so
                if watch.stopped:
                    raise InterruptedError("camera tracking interrupted") from e
                raise
        if watch.stopped:
            raise InterruptedError("camera tracking interrupted")

    # -- steps -------------------------------------------------------------------------------------
    def _camera_options(self, pc):
        ro = pc.ImageReaderOptions()
        if self.K is not None:
            K = self.K
            ro.camera_model = "PINHOLE"
            ro.camera_params = ",".join(repr(float(v)) for v in (K[0, 0], K[1, 1], K[0, 2], K[1, 2]))
        else:
            ro.camera_model = "SIMPLE_PINHOLE"
        return ro

    def extract(self) -> None:
        """Write the frames as PNG and extract SIFT features of all of them into the database."""
        if self._features_done:
            return
        from PIL import Image

        pc = _pycolmap()
        t0 = time.perf_counter()
        img_dir = self.root / "images"
        img_dir.mkdir(exist_ok=True)
        u8 = (self.frames.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        for name, f in zip(self.names, u8, strict=True):
            Image.fromarray(f).save(img_dir / name, compress_level=1)
        opts = pc.FeatureExtractionOptions()
        opts.num_threads = self.num_threads
        opts.sift.first_octave = self.first_octave
        with self._guard(pc) as token:
            pc.extract_features(self.root / "features.db", img_dir, camera_mode=pc.CameraMode.SINGLE,
                                reader_options=self._camera_options(pc), extraction_options=opts,
                                device=pc.Device.cpu, cancellation_token=token)
        self._features_done = True
        self.extract_seconds = time.perf_counter() - t0

    def estimate(self, seed: int = 0, callback: Callback | None = None) -> PoseEstimate:
        """One trial: match (RANSAC seeded) and map; returns the poses relative to frame 0."""
        t0 = time.perf_counter()
        if self.static:
            return PoseEstimate(c2w=_identity(self.n), registered=torch.ones(self.n, dtype=torch.bool),
                                method="static", K=self.K,
                                message="static video: no frame differs from frame 0, so the camera did not move",
                                seconds=time.perf_counter() - t0)
        self.extract()
        pc = _pycolmap()
        pc.set_random_seed(int(seed))
        trial = self.root / f"trial_{seed}"
        shutil.rmtree(trial, ignore_errors=True)
        trial.mkdir()
        db = trial / "database.db"
        shutil.copyfile(self.root / "features.db", db)
        mopts = pc.FeatureMatchingOptions()
        mopts.num_threads = self.num_threads
        mopts.guided_matching = GUIDED_MATCHING
        with self._guard(pc) as token:
            if self.matcher == "exhaustive":
                pc.match_exhaustive(db, matching_options=mopts, device=pc.Device.cpu, cancellation_token=token)
            else:
                pc.match_sequential(db, matching_options=mopts, device=pc.Device.cpu, cancellation_token=token)
        est = self._map(pc, db, trial, seed, callback, INIT_MIN_TRI_ANGLE)
        if not est.complete:  # short clips with small baselines (zoom) may need a flatter initial pair
            est = self._map(pc, db, trial, seed, callback, INIT_MIN_TRI_ANGLE_RETRY)
        if not est.complete:
            rot = self._rotation_only(pc, db, seed)
            if rot is not None and (rot.complete or rot.num_registered > est.num_registered):
                est = rot
        est.seconds = time.perf_counter() - t0
        return est

    def _map(self, pc, db: Path, trial: Path, seed: int, callback: Callback | None, init_angle: float
             ) -> PoseEstimate:
        opts = pc.IncrementalPipelineOptions()
        opts.random_seed = int(seed)
        opts.num_threads = self.num_threads
        opts.multiple_models = False
        opts.min_model_size = 2
        opts.mapper.init_min_tri_angle = init_angle
        fixed = self.K is not None
        opts.ba_refine_focal_length = not fixed
        opts.ba_refine_principal_point = False
        opts.ba_refine_extra_params = False
        opts.mapper.abs_pose_refine_focal_length = not fixed
        opts.mapper.abs_pose_refine_extra_params = False
        count = [0]
        error: list[BaseException] = []
        token = pc.CancellationToken()

        def step() -> None:
            count[0] += 1
            if callback is not None and not error:
                try:
                    callback(min(count[0], self.n), self.n)
                except BaseException as e:  # noqa: BLE001 - re-raised after pycolmap returns
                    error.append(e)
                    token.cancel()

        out = trial / f"sparse_{init_angle:g}"
        out.mkdir()
        with _Watch(token, self.should_stop) as watch:
            try:
                recs = pc.incremental_mapping(db, self.root / "images", out, opts, initial_image_pair_callback=step,
                                              next_image_callback=step, cancellation_token=token)
            except Exception as e:
                if watch.stopped:  # cancelled by the interrupt (see _guard)
                    raise InterruptedError("camera tracking interrupted") from e
                raise
        if error:
            raise error[0]
        if watch.stopped:
            raise InterruptedError("camera tracking interrupted")
        return self._read(recs)

    def _read(self, recs: dict) -> PoseEstimate:
        n = self.n
        fail = PoseEstimate(c2w=torch.full((n, 4, 4), float("nan"), dtype=torch.float64),
                            registered=torch.zeros(n, dtype=torch.bool), method="failed", K=self.K)
        best, best_count = None, -1
        for rec in recs.values():
            names = {rec.images[i].name for i in rec.reg_image_ids()}
            if self.names[0] in names and len(names) > best_count:
                best, best_count = rec, len(names)
        if best is None:
            fail.message = ("could not register: no reconstruction contains frame 0 (too little texture, too "
                            "little overlap between frames, or no parallax)")
            return fail
        w2c = torch.full((n, 4, 4), float("nan"), dtype=torch.float64)
        reg = torch.zeros(n, dtype=torch.bool)
        index = {name: i for i, name in enumerate(self.names)}
        cam = None
        for iid in best.reg_image_ids():
            im = best.images[iid]
            cfw = im.cam_from_world() if callable(im.cam_from_world) else im.cam_from_world
            m = torch.eye(4, dtype=torch.float64)
            m[:3, :4] = torch.from_numpy(np.asarray(cfw.matrix(), dtype=np.float64))
            w2c[index[im.name]] = m
            reg[index[im.name]] = True
            if im.name == self.names[0]:
                cam, im0, T0 = best.cameras[im.camera_id], im, m
        c2w_world = torch.linalg.inv(torch.where(reg[:, None, None], w2c, torch.eye(4, dtype=torch.float64)))
        c2w = torch.linalg.inv(T0.inverse()) @ c2w_world  # relative to frame 0: c2w_0^-1 c2w_i
        c2w[~reg] = float("nan")
        # triangulated points seen in frame 0: pixel + depth in frame 0's camera, for the metric scale
        uv, z = [], []
        for p2d in im0.points2D:
            if p2d.has_point3D():
                X = np.asarray(best.points3D[p2d.point3D_id].xyz, dtype=np.float64)
                zc = float((T0[:3, :3].numpy() @ X + T0[:3, 3].numpy())[2])
                if zc > 0:
                    uv.append(np.asarray(p2d.xy, dtype=np.float64))
                    z.append(zc)
        params = np.asarray(cam.params, dtype=np.float64)
        if len(params) == 3:  # SIMPLE_PINHOLE f, cx, cy
            K = torch.tensor([[params[0], 0, params[1]], [0, params[0], params[2]], [0, 0, 1]], dtype=torch.float64)
        else:
            K = torch.tensor([[params[0], 0, params[2]], [0, params[1], params[3]], [0, 0, 1]], dtype=torch.float64)
        k = int(reg.sum())
        msg = "" if k == n else (f"could not register {n - k} of {n} frames (first missing: "
                                 f"{int((~reg).nonzero()[0])}): too little overlap or texture there")
        return PoseEstimate(c2w=c2w, registered=reg, method="incremental" if k == n else "failed", message=msg, K=K,
                            frame0_uv=np.array(uv).reshape(-1, 2), frame0_z=np.array(z))

    def _rotation_only(self, pc, db: Path, seed: int) -> PoseEstimate | None:
        """Pure-rotation model over consecutive frames, or None when it does not explain the matches."""
        K = self.K
        if K is None:  # unknown focal: a rotation-only fit would also have to fit f; not attempted
            return None
        database = pc.Database.open(str(db)) if hasattr(pc.Database, "open") else pc.Database(str(db))
        try:
            ids = {im.name: im.image_id for im in database.read_all_images()}
            Kinv = np.linalg.inv(K.numpy())
            f = float(K[0, 0] + K[1, 1]) / 2
            thresh = 2.0 / f
            rng = np.random.default_rng(seed)
            c2w = _identity(self.n)
            residuals = []
            keypoints = {name: np.asarray(database.read_keypoints(ids[name]))[:, :2] for name in self.names}

            def rays(xy: np.ndarray) -> np.ndarray:
                r = np.c_[xy, np.ones(len(xy))] @ Kinv.T
                return r / np.linalg.norm(r, axis=1, keepdims=True)

            for j in range(1, self.n):
                best = None  # link frame j to the earlier frame (up to 3 back) it shares most inliers with
                for i in range(max(0, j - 3), j):
                    m = np.asarray(database.read_matches(ids[self.names[i]], ids[self.names[j]]))
                    if len(m) < ROTATION_MIN_MATCHES:
                        continue
                    ra, rb = rays(keypoints[self.names[i]][m[:, 0]]), rays(keypoints[self.names[j]][m[:, 1]])
                    R, inl = fit_rotation(ra, rb, thresh, rng)  # rb = R ra: R = cam_j from cam_i
                    if inl.sum() >= ROTATION_MIN_MATCHES and inl.mean() >= ROTATION_MIN_INLIERS and (
                            best is None or inl.sum() > best[2]):
                        res = float(np.median(np.linalg.norm(rb[inl] - ra[inl] @ R.T, axis=1))) * f
                        best = (i, R, int(inl.sum()), res)
                if best is None:  # frame j shares too few rays with frames j-3..j-1
                    break
                i, R, _, res = best
                residuals.append(res)
                step = torch.eye(4, dtype=torch.float64)
                step[:3, :3] = torch.from_numpy(R.T.copy())  # c2w_j = c2w_i (cam_i from cam_j)
                c2w[j] = c2w[i] @ step
            linked = len(residuals) + 1
            if linked < 2 or max(residuals) > ROTATION_MAX_RESIDUAL_PX:
                return None
            # parallax grows with the baseline: on frames far apart the chained rotations must explain
            # nearly every match COLMAP verified (essential / fundamental / homography), else the camera also
            # translated (a pan or an orbit fits a rotation frame to frame)
            fit = total = 0
            for i in range(linked):
                for j in range(i + max(3, linked // 3), linked):
                    inl = np.asarray(database.read_two_view_geometry(
                        ids[self.names[i]], ids[self.names[j]]).inlier_matches).reshape(-1, 2)
                    if len(inl) < ROTATION_MIN_MATCHES:
                        continue
                    ra, rb = rays(keypoints[self.names[i]][inl[:, 0]]), rays(keypoints[self.names[j]][inl[:, 1]])
                    R = (c2w[j, :3, :3].T @ c2w[i, :3, :3]).numpy()  # cam_j from cam_i
                    fit += int((np.linalg.norm(rb - ra @ R.T, axis=1) < thresh).sum())
                    total += len(inl)
            if total and fit < ROTATION_MIN_VERIFIED_SHARE * total:
                return None
        finally:
            database.close()
        worst = max(residuals)
        reg = torch.arange(self.n) < linked
        c2w[~reg] = float("nan")
        if linked < self.n:
            return PoseEstimate(c2w=c2w, registered=reg, method="failed", K=K,
                                message=f"the frames fit a camera that only rotates up to frame {linked - 1}, but "
                                        f"frame {linked} shares too few matches with the frames before it (did "
                                        f"the view leave the textured scene?)")
        return PoseEstimate(c2w=c2w, registered=reg, method="rotation-only", K=K,
                            message=f"no parallax: the frames fit a camera that only rotates (median residual "
                                    f"<= {worst:.2f} px); its translation is taken as zero",
                            frame0_uv=None, frame0_z=None)


def angle_deg(R: torch.Tensor) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, (float(R.trace()) - 1) / 2))))
