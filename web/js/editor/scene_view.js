/**
 * Trajectory Editor: the 3D scene view. Orbit camera, point cloud, grid, path, keyframe frusta (frame 0 drawn
 * as the fixed anchor), picking and dragging cameras. Methods mixed into the editor class (editor/core.js).
 */
import * as M from "../realcam_math.js";
import { COLORS, MAX_WIDTH, VIEW_FOV_DEG } from "./dom.js";
import { snapKeyframe } from "./keyframe_model.js";

export /** Centre and robust radius of a cloud (subsampled). */
function cloudStats(cloud) {
  const step = Math.max(1, Math.floor(cloud.count / 4000));
  const P = cloud.positions;
  const c = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < cloud.count; i += step) { c[0] += P[3 * i]; c[1] += P[3 * i + 1]; c[2] += P[3 * i + 2]; n++; }
  const center = c.map((v) => v / Math.max(1, n));
  const d = [];
  for (let i = 0; i < cloud.count; i += step) d.push(Math.hypot(P[3 * i] - center[0], P[3 * i + 1] - center[1], P[3 * i + 2] - center[2]));
  d.sort((a, b) => a - b);
  return { center, radius: d[Math.floor(0.9 * (d.length - 1))] || 1 };
}

export /** Height of the ground grid: the 98th percentile of y (y points down), i.e. near the cloud's bottom. */
function estimateGround(cloud) {
  const step = Math.max(1, Math.floor(cloud.count / 4000));
  const ys = [];
  for (let i = 0; i < cloud.count; i += step) ys.push(cloud.positions[3 * i + 1]);
  if (!ys.length) return 1.6;
  ys.sort((a, b) => a - b);
  return ys[Math.floor(0.98 * (ys.length - 1))];
}

export const sceneView = {
  /** Image size and intrinsics of the path's cameras (scene, or RealCam's default at 512x320). */
  cameraModel() {
    const w = this.sceneInfo?.width ?? 512, h = this.sceneInfo?.height ?? 320;
    let K = this.sceneInfo?.K ?? M.defaultIntrinsics(w, h);
    if (this.state.fov_deg !== null) K = M.defaultIntrinsics(w, h, this.state.fov_deg);
    return { width: w, height: h, K };
  },

  frameAll() {
    const pts = this.path.map((m) => M.translationOf(m));
    let center = [0, 0, 0];
    let radius = 1.5;
    if (this.cloud && this.cloud.count) {
      const c = cloudStats(this.cloud);
      pts.push(c.center);
      radius = Math.max(radius, c.radius);
    }
    for (const p of pts) center = center.map((v, i) => v + p[i] / pts.length);
    for (const p of pts) radius = Math.max(radius, M.norm([p[0] - center[0], p[1] - center[1], p[2] - center[2]]));
    this.view = { target: center, distance: radius * 2.2 + 0.5, azimuth: -35, elevation: 22 };
    this.viewFramed = true;
  },

  viewportCamera(width, height) {
    const f = (0.5 * height) / Math.tan((VIEW_FOV_DEG * Math.PI) / 360);
    const K = { fx: f, fy: f, cx: width / 2, cy: height / 2 };
    const c2w = M.orbitC2w(this.view);
    return { K, c2w, w2c: M.invertRigid(c2w) };
  },

  /** Viewport pixel (backing-store units) of keyframe i's camera centre, or null when behind the view. */
  keyframeScreenPos(i) {
    const { K, w2c } = this.viewportCamera(this.viewport.width, this.viewport.height);
    return M.projectPoint(this.state.keyframes[i].position, w2c, K, 0.05);
  },

  /**
   * Index of the keyframe whose camera is under the pointer (centre or frustum), or -1. The anchor
   * (frame 0) is only reported with {anchor: true}: a drag that starts on it orbits the view.
   */
  pickKeyframe(x, y, { anchor = false } = {}) {
    const { K, w2c } = this.viewportCamera(this.viewport.width, this.viewport.height);
    const cam = this.cameraModel();
    let best = -1, bestD = 14 * this.pxRatio("viewport");
    this.state.keyframes.forEach((k, i) => {
      if (!anchor && this.isAnchor(i)) return;
      const m = M.keyframeToC2w(k);
      const size = this.frustumSize();
      const corners = [[cam.width / 2, cam.height / 2], [0, 0], [cam.width, 0], [cam.width, cam.height], [0, cam.height]];
      const pts = [M.translationOf(m), ...corners.slice(1).map(([u, v]) =>
        M.transformPoint(m, [((u - cam.K.cx) / cam.K.fx) * size, ((v - cam.K.cy) / cam.K.fy) * size, size]))];
      for (const p of pts) {
        const uv = M.projectPoint(p, w2c, K, 0.05);
        if (!uv) continue;
        const d = Math.hypot(uv[0] - x, uv[1] - y);
        if (d < bestD) { bestD = d; best = i; }
      }
    });
    return best;
  },

  frustumSize() {
    return Math.max(0.12, Math.min(1.0, this.view.distance * 0.06));
  },

  onViewportDown(e) {
    this.element.focus({ preventScroll: true });
    const [x, y] = this.eventPos(e, this.viewport);
    const hit = e.button === 0 ? this.pickKeyframe(x, y) : -1;
    if (hit < 0 && e.button === 0 && this.pickKeyframe(x, y, { anchor: true }) === 0) {
      this.showStatus("the green camera is frame 0, the photo's own camera: it stays put when you drag " +
        "(change it in the x/y/z/yaw fields of key 1 if you mean to)", true);
    }
    let kind;
    if (hit >= 0) {
      this.selected = hit;
      this.frame = this.state.keyframes[hit].frame;
      kind = e.altKey || this.mode === "rotate" ? "rotate" : e.shiftKey ? "dolly" : "move";
    } else if (e.button === 1 || e.button === 2 || (e.button === 0 && e.shiftKey)) kind = "pan";
    else if (e.button === 0) kind = "orbit";
    else return;
    this.viewport.setPointerCapture(e.pointerId);
    this.drag = {
      kind, x, y, startView: structuredClone(this.view),
      startState: hit >= 0 ? structuredClone(this.state) : null, changed: false,
    };
    this.refreshControls();
    this.requestDraw();
    e.preventDefault();
  },

  onViewportMove(e) {
    const d = this.drag;
    if (!d || !this.viewport.hasPointerCapture(e.pointerId)) return;
    const [x, y] = this.eventPos(e, this.viewport);
    const du = x - d.x, dv = y - d.y;
    if (d.kind === "orbit") {
      this.view.azimuth = d.startView.azimuth + du * 0.35;
      this.view.elevation = Math.max(-89, Math.min(89, d.startView.elevation + dv * 0.35));
    } else if (d.kind === "pan") {
      const { K } = this.viewportCamera(this.viewport.width, this.viewport.height);
      const R = M.rotationOf(M.orbitC2w(d.startView));
      const s = d.startView.distance / K.fx;
      this.view.target = d.startView.target.map((t, i) => t - (R[i * 3] * du + R[i * 3 + 1] * dv) * s);
    } else {
      this.dragKeyframe(d, du, dv);
    }
    this.requestDraw();
  },

  dragKeyframe(d, du, dv) {
    const i = this.selected;
    const start = d.startState.keyframes[i];
    const { K, w2c, c2w } = this.viewportCamera(this.viewport.width, this.viewport.height);
    const R = M.rotationOf(c2w);
    const depth = Math.max(0.2, M.transformPoint(w2c, start.position)[2]);
    const k = structuredClone(start);
    if (d.kind === "move") {
      const a = (du * depth) / K.fx, b = (dv * depth) / K.fy;
      k.position = start.position.map((p, j) => p + R[j * 3] * a + R[j * 3 + 1] * b);
    } else if (d.kind === "dolly") {
      const a = (-dv * depth * 2) / K.fy;
      k.position = start.position.map((p, j) => p + R[j * 3 + 2] * a);
    } else {
      k.rotation = [start.rotation[0] + du * 0.3, start.rotation[1] - dv * 0.3, start.rotation[2]];
    }
    if (this.snap) snapKeyframe(k);
    // live preview without an undo record or a widget write; committed on pointer up
    const draft = structuredClone(this.state);
    draft.keyframes[i] = k;
    try {
      this.state = M.validateEditorState(draft);
      this.path = M.statePath(this.state);
      d.changed = true;
      this.refreshInspector();
    } catch (e) {
      this.showStatus(e.message);
    }
  },

  onViewportDblClick(e) {
    const [x, y] = this.eventPos(e, this.viewport);
    const p = this.pickScenePoint(Math.round(x), Math.round(y));
    if (!p) return;
    const eye = M.translationOf(M.orbitC2w(this.view));
    this.view = M.orbitFromEye(eye, p);
    this.requestDraw();
  },

  /** World point of the scene under a viewport pixel (from the last render's index buffer). */
  pickScenePoint(x, y) {
    const buf = this.viewportBuffers;
    if (!buf || !this.cloud) return null;
    let best = -1, bestD = Infinity;
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const u = x + dx, v = y + dy;
        if (u < 0 || v < 0 || u >= buf.width || v >= buf.height) continue;
        const i = buf.index[v * buf.width + u];
        if (i >= 0 && dx * dx + dy * dy < bestD) { bestD = dx * dx + dy * dy; best = i; }
      }
    }
    if (best < 0) return null;
    const P = this.cloud.positions;
    return [P[3 * best], P[3 * best + 1], P[3 * best + 2]];
  },

  onWheel(e) {
    e.preventDefault();
    e.stopPropagation();
    this.view.distance = Math.max(0.05, Math.min(500, this.view.distance * Math.exp(e.deltaY * 0.0012)));
    this.requestDraw();
  },

  drawViewport() {
    const canvas = this.viewport;
    const [W, H] = this.fitCanvas(canvas, MAX_WIDTH.viewport);
    const px = this.pxRatio("viewport");
    const ctx = canvas.getContext("2d");
    const { K, c2w, w2c } = this.viewportCamera(W, H);
    const t0 = performance.now();
    if (this.cloud) {
      const splat = this.cloud.count > 120000 ? 1 : 2;
      this.viewportBuffers = M.renderPointCloud(this.cloud, K, c2w, W, H,
        { splat, background: COLORS.bg, near: 0.02 }, this.viewportBuffers);
      ctx.putImageData(new ImageData(this.viewportBuffers.rgba, W, H), 0, 0);
    } else {
      ctx.fillStyle = `rgb(${COLORS.bg.join(",")})`;
      ctx.fillRect(0, 0, W, H);
    }
    this.timing.viewport = performance.now() - t0;
    this.drawGrid(ctx, w2c, K, 1);
    this.drawAxes(ctx, w2c, K);
    // path
    ctx.lineWidth = 2 * px;
    ctx.strokeStyle = COLORS.path;
    for (let i = 0; i + 1 < this.path.length; i++) {
      this.line(ctx, M.translationOf(this.path[i]), M.translationOf(this.path[i + 1]), w2c, K);
    }
    ctx.fillStyle = COLORS.path;
    for (const m of this.path) {
      const uv = M.projectPoint(M.translationOf(m), w2c, K, 0.05);
      if (uv) ctx.fillRect(uv[0] - 1.5 * px, uv[1] - 1.5 * px, 3 * px, 3 * px);
    }
    // cameras: keyframes, then the current frame
    const cam = this.cameraModel();
    const size = this.frustumSize();
    this.state.keyframes.forEach((k, i) => {
      const anchor = this.isAnchor(i);
      ctx.strokeStyle = anchor ? COLORS.anchor : i === this.selected ? COLORS.selected : COLORS.key;
      ctx.lineWidth = (i === this.selected || anchor ? 2 : 1.2) * px;
      for (const [a, b] of M.frustumSegments(M.keyframeToC2w(k), cam.K, cam.width, cam.height, size)) this.line(ctx, a, b, w2c, K);
      if (anchor) this.drawAnchorMark(ctx, k, w2c, K, px);
    });
    ctx.strokeStyle = COLORS.current;
    ctx.lineWidth = 1.5 * px;
    for (const [a, b] of M.frustumSegments(this.path[this.frame], cam.K, cam.width, cam.height, size * 0.8)) this.line(ctx, a, b, w2c, K);
    // pivot
    const piv = M.projectPoint(this.view.target, w2c, K, 0.05);
    if (piv) {
      ctx.strokeStyle = "rgba(255,255,255,0.6)";
      ctx.lineWidth = px;
      ctx.beginPath();
      ctx.arc(piv[0], piv[1], 4 * px, 0, 2 * Math.PI);
      ctx.stroke();
    }
    const n = this.cloud ? `${this.cloud.count.toLocaleString()} points` : "no scene yet: run the workflow once to load the point cloud";
    this.viewportLabel.textContent = `3D view · ${n} · grid 1 m`;
  },

  /** Frame 0's camera: a filled green marker and a label, so it reads as the fixed photo camera. */
  drawAnchorMark(ctx, k, w2c, K, px) {
    const uv = M.projectPoint(k.position, w2c, K, 0.05);
    if (!uv) return;
    const r = 5 * px;
    ctx.fillStyle = COLORS.anchor;
    ctx.beginPath();
    ctx.moveTo(uv[0], uv[1] - r);
    ctx.lineTo(uv[0] + r, uv[1]);
    ctx.lineTo(uv[0], uv[1] + r);
    ctx.lineTo(uv[0] - r, uv[1]);
    ctx.closePath();
    ctx.fill();
    ctx.font = `${Math.round(10 * px)}px system-ui,sans-serif`;
    ctx.fillText("photo · frame 0", uv[0] + r + 3 * px, uv[1] - r);
  },

  line(ctx, a, b, w2c, K) {
    const s = M.projectSegment(a, b, w2c, K, 0.05);
    if (!s) return;
    ctx.beginPath();
    ctx.moveTo(s[0], s[1]);
    ctx.lineTo(s[2], s[3]);
    ctx.stroke();
  },

  drawGrid(ctx, w2c, K, alpha) {
    const y = this.groundY ?? 1.6;
    const c = this.view.target;
    const half = Math.max(5, Math.ceil(this.view.distance * 1.5));
    const x0 = Math.round(c[0]), z0 = Math.round(c[2]);
    ctx.lineWidth = 1;
    ctx.globalAlpha = alpha;
    for (let i = -half; i <= half; i++) {
      ctx.strokeStyle = (x0 + i) % 5 === 0 ? COLORS.gridMajor : COLORS.grid;
      this.line(ctx, [x0 + i, y, z0 - half], [x0 + i, y, z0 + half], w2c, K);
      ctx.strokeStyle = (z0 + i) % 5 === 0 ? COLORS.gridMajor : COLORS.grid;
      this.line(ctx, [x0 - half, y, z0 + i], [x0 + half, y, z0 + i], w2c, K);
    }
    ctx.globalAlpha = 1;
  },

  drawAxes(ctx, w2c, K) {
    const o = [0, 0, 0];
    ctx.lineWidth = 2;
    for (const [axis, color] of [[[0.5, 0, 0], COLORS.axisX], [[0, 0.5, 0], COLORS.axisY], [[0, 0, 0.5], COLORS.axisZ]]) {
      ctx.strokeStyle = color;
      this.line(ctx, o, axis, w2c, K);
    }
  },
};
