// JS side of the Python <-> JS parity tests. tests/core/test_editor_parity.py writes cases computed
// by realcam_core (renderer, interpolation, presets, editor-state validation) to a JSON file and runs
// this file with REALCAM_PARITY_CASES=<file>; without it every test here is skipped.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as M from "../../web/js/realcam_math.js";

const path = process.env.REALCAM_PARITY_CASES;
const cases = path ? JSON.parse(readFileSync(path, "utf8")) : null;
const skip = cases ? false : "set REALCAM_PARITY_CASES (tests/core/test_editor_parity.py does)";

const flat = (m) => m.flat();

function maxAbsDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test("surface mode parity: the same gaps are closed with the same points", { skip }, () => {
  for (const c of cases.surface) {
    const cloud = M.decodeScenePayload(c.payload);
    const K = { fx: c.K[0][0], fy: c.K[1][1], cx: c.K[0][2], cy: c.K[1][2], skew: c.K[0][1] };
    const winners = new Int32Array(M.base64ToBytes(c.winners_i32_b64).buffer);
    const n = c.width * c.height;
    // fused or not (see the render parity test): the closer rounding must agree on all but 0.5%
    const mismatch = Math.min(...[true, false].map((fused) => {
      let m = 0;
      for (let f = 0; f < c.c2w.length; f++) {
        const out = M.renderPointCloud(cloud, K, flat(c.c2w[f]), c.width, c.height,
          { splat: 2, fusedMultiplyAdd: fused, mode: "surface" });
        for (let q = 0; q < n; q++) {
          const js = out.index[q] < 0 ? -1 : cloud.grid[out.index[q]]; // Python's index is the grid cell
          if (js !== winners[f * n + q]) m++;
        }
      }
      return m;
    }));
    assert.ok(mismatch / (c.c2w.length * n) <= 5e-3, `${c.name}: ${mismatch} of ${c.c2w.length * n} pixels differ`);
  }
});

test("render parity: same points land on the same pixels as RealCamPointCloudRender", { skip }, () => {
  for (const c of cases.render) {
    const cloud = M.decodeScenePayload(c.payload);
    // the decoded cloud is the renderer's cloud, point for point
    const pyPoints = new Float32Array(M.base64ToBytes(c.points_f32_b64).buffer);
    assert.equal(cloud.count * 3, pyPoints.length, `${c.name}: point count`);
    const pointErr = maxAbsDiff(cloud.positions, pyPoints);
    assert.ok(pointErr <= 1e-5, `${c.name}: unprojection differs by ${pointErr} m`);

    const K = { fx: c.K[0][0], fy: c.K[1][1], cx: c.K[0][2], cy: c.K[1][2], skew: c.K[0][1] };
    const winners = new Int32Array(M.base64ToBytes(c.winners_i32_b64).buffer);
    // torch rounds (u z, v z, z) with or without fused multiply-adds depending on the CPU: the JS
    // renderer can do either; the closer one must agree on all but 0.1% of the pixels
    const counts = [true, false].map((fused) => {
      let m = 0;
      for (let f = 0; f < c.c2w.length; f++) {
        const out = M.renderPointCloud(cloud, K, flat(c.c2w[f]), c.width, c.height, { splat: c.splat, fusedMultiplyAdd: fused });
        for (let q = 0; q < c.width * c.height; q++) if (out.index[q] !== winners[f * c.width * c.height + q]) m++;
      }
      return m;
    });
    const fused = counts[0] <= counts[1];
    let mismatch = 0;
    let worstPx = 0;
    for (let f = 0; f < c.c2w.length; f++) {
      const c2w = flat(c.c2w[f]);
      const out = M.renderPointCloud(cloud, K, c2w, c.width, c.height, { splat: c.splat, fusedMultiplyAdd: fused });
      const w2c = M.invert4(c2w);
      for (let q = 0; q < c.width * c.height; q++) {
        const py = winners[f * c.width * c.height + q];
        if (out.index[q] !== py) {
          mismatch++;
          // a disagreement must come from float rounding at a pixel edge: both points project
          // within half a pixel of where the other side put them
          for (const i of [py, out.index[q]]) {
            if (i < 0) continue;
            const p = [cloud.positions[3 * i], cloud.positions[3 * i + 1], cloud.positions[3 * i + 2]];
            const uv = M.projectPoint(p, w2c, K);
            const col = q % c.width, row = Math.floor(q / c.width);
            const lo = (c.splat - 1) >> 1, hi = c.splat >> 1;
            const du = Math.max(0, col - hi - uv[0], uv[0] - (col + lo + 1));
            const dv = Math.max(0, row - hi - uv[1], uv[1] - (row + lo + 1));
            worstPx = Math.max(worstPx, du, dv);
          }
        }
      }
    }
    const total = c.c2w.length * c.width * c.height;
    assert.ok(mismatch / total <= 1e-3, `${c.name}: ${mismatch} of ${total} pixels differ`);
    assert.ok(worstPx <= 0.5, `${c.name}: a differing pixel's point is ${worstPx} px outside its footprint`);
    c.result = { mismatch, total };
  }
});

test("projection parity: continuous pixel coordinates match K [R|t] in float64", { skip }, () => {
  for (const c of cases.projection) {
    const K = { fx: c.K[0][0], fy: c.K[1][1], cx: c.K[0][2], cy: c.K[1][2], skew: c.K[0][1] };
    const w2c = M.invert4(flat(c.c2w));
    c.points.forEach((p, i) => {
      const uv = M.projectPoint(p, w2c, K);
      const ref = c.uv[i];
      if (ref === null) assert.equal(uv, null, `${c.name} point ${i} should be culled`);
      else {
        assert.ok(uv !== null, `${c.name} point ${i} culled`);
        assert.ok(Math.abs(uv[0] - ref[0]) <= 1e-6 && Math.abs(uv[1] - ref[1]) <= 1e-6, `${c.name} point ${i}: ${uv} vs ${ref}`);
      }
    });
  }
});

test("fit intrinsics parity", { skip }, () => {
  for (const c of cases.fit) {
    const K = M.fitIntrinsics(M.intrinsicsFromRows(c.K), c.src[0], c.src[1], c.dst[0], c.dst[1], c.fit);
    const ref = M.intrinsicsFromRows(c.out);
    for (const k of ["fx", "fy", "cx", "cy"]) assert.ok(Math.abs(K[k] - ref[k]) <= 1e-9, `${c.fit} ${k}`);
  }
});

test("interpolation parity with realcam_core.trajectory.interpolate.interpolate_c2w", { skip }, () => {
  for (const c of cases.interpolation) {
    const out = M.interpolateC2w(c.times, c.poses.map(flat), c.num_frames, {
      method: c.method, easing: c.easing, closed: c.closed, easePerSegment: c.ease_per_segment,
    });
    assert.equal(out.length, c.expected.length);
    out.forEach((m, i) => {
      const d = maxAbsDiff(m, flat(c.expected[i]));
      assert.ok(d <= 2e-5, `${c.name} frame ${i}: max diff ${d}`);
    });
  }
});

test("preset parity with realcam_core.trajectory.presets.preset_c2w", { skip }, () => {
  for (const c of cases.presets) {
    const out = M.presetC2w(c.name, c.num_frames, c.amplitude);
    out.forEach((m, i) => {
      const d = maxAbsDiff(m, flat(c.expected[i]));
      assert.ok(d <= 1e-9, `${c.name} x${c.num_frames} frame ${i}: max diff ${d}`);
    });
  }
});

test("editor state parity: the same documents pass, the same field is named on failure", { skip }, () => {
  for (const c of cases.states) {
    if (c.error_field === null) {
      const s = M.parseEditorState(c.text);
      const norm = JSON.parse(JSON.stringify(s));
      assert.deepEqual(norm, c.normalised, c.text);
      // same path from the same state
      const path = M.statePath(s);
      path.forEach((m, i) => assert.ok(maxAbsDiff(m, flat(c.path[i])) <= 2e-5, `${c.text} frame ${i}`));
    } else {
      assert.throws(() => M.parseEditorState(c.text), (e) => {
        assert.ok(e instanceof M.EditorStateError, `${c.text}: ${e}`);
        assert.equal(e.field, c.error_field, `${c.text}: JS names ${e.field}, Python ${c.error_field}: ${e.message}`);
        return true;
      });
    }
  }
});

test("euler parity", { skip }, () => {
  for (const c of cases.euler) {
    const R = M.eulerToMatrix(...c.euler);
    assert.ok(maxAbsDiff(R, c.matrix.flat()) <= 1e-12);
    const e = M.matrixToEuler(c.matrix.flat());
    assert.ok(maxAbsDiff(e, c.back) <= 1e-9, `${e} vs ${c.back}`);
  }
});
