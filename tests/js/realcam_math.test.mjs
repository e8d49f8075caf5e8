// Unit tests of the editor's maths module. Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import * as M from "../../web/js/realcam_math.js";

/** Small deterministic PRNG so failures reproduce. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function close(a, b, tol, what) {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

function randomPose(r, maxDeg = 60, maxT = 2) {
  const R = M.eulerToMatrix((r() * 2 - 1) * maxDeg, (r() * 2 - 1) * maxDeg, (r() * 2 - 1) * maxDeg);
  return M.compose4(R, [(r() * 2 - 1) * maxT, (r() * 2 - 1) * maxT, (r() * 2 - 1) * maxT]);
}

test("euler convention: +yaw looks right, +pitch looks up, +roll turns the right side down", () => {
  const fwd = (R) => [R[2], R[5], R[8]];
  close(fwd(M.eulerToMatrix(90, 0, 0)), [1, 0, 0], 1e-12, "yaw 90 forward");
  close(fwd(M.eulerToMatrix(0, 90, 0)), [0, -1, 0], 1e-12, "pitch 90 forward (up is -y)");
  const right = (R) => [R[0], R[3], R[6]];
  close(right(M.eulerToMatrix(0, 0, 90)), [0, 1, 0], 1e-12, "roll 90 right axis (down is +y)");
});

test("euler <-> matrix round trip, including gimbal lock", () => {
  const r = rng(1);
  for (let i = 0; i < 200; i++) {
    const e = [(r() * 2 - 1) * 179, (r() * 2 - 1) * 89, (r() * 2 - 1) * 179];
    close(M.matrixToEuler(M.eulerToMatrix(...e)), e, 1e-9, "euler");
  }
  const R = M.eulerToMatrix(30, 90, 20);
  close(M.eulerToMatrix(...M.matrixToEuler(R)), R, 1e-9, "gimbal matrix");
});

test("SE(3) exp/log invert each other and quaternions match matrices", () => {
  const r = rng(2);
  for (let i = 0; i < 100; i++) {
    const T = randomPose(r, 170);
    close(M.se3Exp(M.se3Log(T)), T, 1e-9, "exp(log(T))");
    const R = M.rotationOf(T);
    close(M.matrixFromQuat(M.quatFromMatrix(R)), R, 1e-12, "quat");
    close(M.mul4(T, M.invertRigid(T)), M.identity4(), 1e-12, "T T^-1");
    close(M.invert4(T), M.invertRigid(T), 1e-9, "invert4");
  }
});

test("linear_se3 hits keyframes exactly and follows an orbit's arc", () => {
  const orbit = M.presetC2w("orbit_left", 9);
  const path = M.interpolateC2w([0, 8], [orbit[0], orbit[8]], 9, { method: "linear_se3" });
  for (let i = 0; i < 9; i++) close(path[i], orbit[i], 1e-9, `orbit frame ${i}`);
  // the camera centre stays 3 m from the pivot (0, 0, 3): an arc, not the chord
  for (const m of path) assert.ok(Math.abs(Math.hypot(m[3], m[7], m[11] - 3) - 3) < 1e-9);
  const chord = M.interpolateC2w([0, 8], [orbit[0], orbit[8]], 9, { method: "geodesic" });
  assert.ok(Math.abs(Math.hypot(chord[4][3], chord[4][7], chord[4][11] - 3) - 3) > 0.1, "geodesic cuts the chord");
});

test("interpolation holds before the first and after the last keyframe; closed loops back", () => {
  const r = rng(3);
  const A = randomPose(r), B = randomPose(r);
  for (const method of M.INTERPOLATIONS) {
    const p = M.interpolateC2w([3, 7], [A, B], 12, { method });
    close(p[0], A, 0, `${method} hold start`);
    close(p[11], B, 0, `${method} hold end`);
    close(p[3], A, 0, `${method} key 3`);
    close(p[7], B, 0, `${method} key 7`);
    const loop = M.interpolateC2w([0, 5], [A, B], 11, { method, closed: true });
    close(loop[10], A, 1e-12, `${method} closed end`);
  }
  assert.throws(() => M.interpolateC2w([0, 10], [A, B], 11, { closed: true }), /closed/);
});

test("smooth with two keyframes equals linear_se3; easing keeps the ends", () => {
  const r = rng(4);
  const A = randomPose(r), B = randomPose(r);
  const s = M.interpolateC2w([0, 10], [A, B], 11, { method: "smooth" });
  const l = M.interpolateC2w([0, 10], [A, B], 11, { method: "linear_se3" });
  for (let i = 0; i < 11; i++) close(s[i], l[i], 1e-9, `frame ${i}`);
  for (const easing of M.EASINGS) {
    assert.equal(M.ease(0, easing), 0);
    assert.equal(M.ease(1, easing), 1);
    const e = M.interpolateC2w([0, 10], [A, B], 11, { easing });
    close(e[0], A, 0, easing);
    close(e[10], B, 0, easing);
  }
});

test("presets reduce to few keyframes that reproduce them", () => {
  for (const name of M.PRESET_NAMES) {
    const dense = M.presetC2w(name, 25);
    const { keyframes, interpolation } = M.presetKeyframes(name, 25);
    assert.ok(keyframes.length <= 2, `${name}: ${keyframes.length} keyframes`);
    const state = { ...M.defaultEditorState(25), interpolation, keyframes };
    const path = M.statePath(M.validateEditorState(state));
    for (let i = 0; i < 25; i++) {
      const e = M.poseError(path[i], dense[i]);
      assert.ok(e.position < 2e-4 && e.degrees < 0.02, `${name} frame ${i}: ${e.position} m ${e.degrees} deg`);
    }
  }
});

test("editor state: default serialises and parses back", () => {
  const s = M.defaultEditorState(16, 8);
  const text = M.serializeEditorState(s);
  assert.deepEqual(M.parseEditorState(text), M.validateEditorState(s));
});

test("editor state: bad input names the field", () => {
  const good = () => structuredClone(M.defaultEditorState(16));
  const cases = [
    ["not json", /^editor_state: expected valid JSON/],
    ["", /^editor_state: expected JSON text/],
    [JSON.stringify({ ...good(), version: 2 }), /^editor_state\.version: expected 1 \(this ComfyUI-RealCam/],
    [JSON.stringify({ ...good(), num_frames: 0 }), /^editor_state\.num_frames: expected an integer from 1 to 1024/],
    [JSON.stringify({ ...good(), num_frames: 1025 }), /^editor_state\.num_frames:/],
    [JSON.stringify({ ...good(), fps: null }), /^editor_state\.fps:/],
    [JSON.stringify({ ...good(), interpolation: "cubic" }), /^editor_state\.interpolation:/],
    [JSON.stringify({ ...good(), bogus: 1 }), /^editor_state\.bogus: expected one of the known fields/],
    [JSON.stringify({ ...good(), keyframes: [] }), /^editor_state\.keyframes: expected at least one keyframe/],
  ];
  const two = good();
  two.keyframes.push({ frame: 0, position: [0, 0, 0], rotation: [0, 0, 0] });
  cases.push([JSON.stringify(two), /^editor_state\.keyframes\[1\]\.frame: .*unique/]);
  const unsorted = good();
  unsorted.keyframes = [{ frame: 5, position: [0, 0, 0], rotation: [0, 0, 0] }, { frame: 2, position: [0, 0, 0], rotation: [0, 0, 0] }];
  cases.push([JSON.stringify(unsorted), /^editor_state\.keyframes\[1\]\.frame: .*sorted/]);
  const nan = good();
  nan.keyframes[0].position = [0, NaN, 0]; // JSON.stringify writes null
  cases.push([JSON.stringify(nan), /^editor_state\.keyframes\[0\]\.position\[1\]: expected a finite number, got null/]);
  for (const [text, re] of cases) {
    assert.throws(() => M.parseEditorState(text), (e) => e instanceof M.EditorStateError && re.test(e.message), text);
  }
  assert.throws(() => M.serializeEditorState(nan), M.EditorStateError);
});

test("retimeFrames keeps frames unique and in range", () => {
  assert.deepEqual(M.retimeFrames([0, 5, 15], 16, 32), [0, 10, 31]);
  assert.deepEqual(M.retimeFrames([0, 1, 2, 15], 16, 4), [0, 1, 2, 3]);
  assert.equal(M.retimeFrames([0, 1, 2], 16, 2), null);
});

test("renderer: identity view puts every pixel's point back on its own pixel", () => {
  const W = 40, H = 30;
  const depth = new Float32Array(W * H), rgb = new Uint8Array(W * H * 3);
  const r = rng(5);
  for (let i = 0; i < W * H; i++) depth[i] = 1 + 4 * r();
  const K = M.defaultIntrinsics(W, H);
  const cloud = M.cloudFromDepth(depth, rgb, W, H, 1, K, W, H);
  assert.equal(cloud.count, W * H);
  for (const splat of [1, 2, 3]) {
    const out = M.renderPointCloud(cloud, K, M.identity4(), W, H, { splat });
    // every pixel is covered; with splat 1 each pixel's own point wins
    for (let q = 0; q < W * H; q++) assert.ok(out.index[q] >= 0);
    if (splat === 1) for (let q = 0; q < W * H; q++) assert.equal(out.index[q], q);
  }
});

test("renderer: nearest point wins, ties go to the lower index, behind-camera points are culled", () => {
  const K = { fx: 10, fy: 10, cx: 5, cy: 5 };
  const positions = new Float32Array([0.01, 0.01, 2, 0.01, 0.01, 1, 0.01, 0.01, 1, 0, 0, -1]);
  const cloud = { count: 4, positions, colors: new Uint8Array(12) };
  const out = M.renderPointCloud(cloud, K, M.identity4(), 10, 10, { splat: 1 });
  assert.equal(out.index[5 * 10 + 5], 1);
  assert.equal(out.zbuf[5 * 10 + 5], 1);
  assert.equal(out.index.filter((i) => i >= 0).length, 1);
  // the point sits at (5.1, 5.1): a 2x2 splat covers the pixels around its nearest corner (5, 5),
  // a 3x3 splat the ring around its own pixel (5, 5)
  const covered = (splat) => {
    const out = [];
    M.renderPointCloud(cloud, K, M.identity4(), 10, 10, { splat }).index.forEach((i, q) => { if (i >= 0) out.push(q); });
    return out;
  };
  assert.deepEqual(covered(2), [44, 45, 54, 55]);
  assert.deepEqual(covered(3), [44, 45, 46, 54, 55, 56, 64, 65, 66]);
});

test("fitIntrinsics crop keeps pixels square and centred", () => {
  const K = M.defaultIntrinsics(512, 320);
  const c = M.fitIntrinsics(K, 320, 512, 256, 256, "crop");
  assert.equal(c.fx, c.fy);
  assert.equal(c.cx, 128);
  assert.equal(c.cy, 128);
  const s = M.fitIntrinsics(K, 320, 512, 160, 512, "stretch");
  assert.equal(s.fy, K.fy / 2);
});

test("scene payload decodes to the same points as a direct unprojection", () => {
  const W = 6, H = 4;
  const depth = new Float32Array(W * H).map((_, i) => (i % 5 === 0 ? 0 : 1 + i / 10));
  const rgb = new Uint8Array(W * H * 3).map((_, i) => i % 256);
  const payload = {
    version: 1, width: W, height: H, stride: 1, grid_w: W, grid_h: H,
    K: [[3, 0, 3], [0, 3, 2], [0, 0, 1]],
    depth_f32_b64: M.bytesToBase64(new Uint8Array(depth.buffer)),
    rgb_u8_b64: M.bytesToBase64(rgb),
  };
  const cloud = M.decodeScenePayload(payload);
  assert.equal(cloud.count, depth.filter((d) => d > 0).length);
  // first valid pixel is (0, 1): u = 1.5, v = 0.5
  const d = depth[1];
  close(Array.from(cloud.positions.slice(0, 3)), [((1.5 - 3) / 3) * d, ((0.5 - 2) / 3) * d, d], 1e-6, "point");
});

test("mesh mode: a magnified quad is filled at its depth, cut across a depth jump; needs a source grid", () => {
  // a 2x2 source grid (K: f = 2, centre 1) seen from its own camera at 20x20: the points land on pixel
  // positions 5 and 15, so the quad covers the pixel centres 5.5..14.5 (10 x 10), and each corner's 2-px
  // splat (anchor floor(u + 0.5) = 5 or 15) the 2 x 2 pixels 4-5 or 14-15: 100 + 4 x 3 pixels
  const K2 = { fx: 2, fy: 2, cx: 1, cy: 1 };
  const K20 = M.fitIntrinsics(K2, 2, 2, 20, 20, "stretch");
  const render = (depths, mode) => {
    const cloud = M.cloudFromDepth(new Float32Array(depths), new Uint8Array(12), 2, 2, 1, K2, 2, 2);
    return M.renderPointCloud(cloud, K20, M.identity4(), 20, 20, { splat: 2, mode });
  };
  const count = (b) => b.index.reduce((a, i) => a + (i >= 0), 0);
  const flat = render([2, 2, 2, 2], "mesh");
  assert.equal(count(flat), 112);
  assert.equal(count(render([2, 2, 2, 2], "points")), 16);
  for (let q = 0; q < 400; q++) if (flat.index[q] >= 0) assert.equal(flat.zbuf[q], 2); // 1/z constant on the plane
  assert.equal(flat.index[6 * 20 + 6], 0); // the nearest corner's point: top left
  assert.equal(flat.index[13 * 20 + 13], 3); // bottom right
  assert.equal(flat.index[6 * 20 + 13], 1); // top right
  // corner 11 twice as far (a jump beyond the 30 % spread): both triangles hold it, so the quad is cut
  assert.equal(count(render([2, 2, 2, 4], "mesh")), 16);
  // 25 % farther: still one surface
  assert.ok(count(render([2, 2, 2, 2.5], "mesh")) > 100);
  const noGrid = { count: 1, positions: new Float32Array([0, 0, 2]) };
  assert.throws(() => M.renderPointCloud(noGrid, K20, M.identity4(), 20, 20, { mode: "mesh" }), /"mesh".*cloudFromDepth/);
});
