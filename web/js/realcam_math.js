/**
 * ComfyUI-RealCam Trajectory Editor maths: one pure ES module (no DOM) used by the widget, the
 * node tests (`node --test tests/js/`) and the Python parity tests.
 *
 * Conventions (ARCHITECTURE §2, the same as realcam_core): OpenCV camera axes (x right, y down, z
 * forward), camera-to-world 4x4 poses acting on column vectors, metres. Matrices here are flat
 * row-major arrays of 16 numbers (m[r * 4 + c]); 3x3 rotations are flat arrays of 9.
 * Pixel intrinsics K = {fx, fy, cx, cy} at a stated width/height with pixel centres at +0.5:
 * pixel (col, row) covers [col, col + 1) and its centre is u = col + 0.5.
 *
 * Editor state: the versioned JSON documented in realcam_core/trajectory/editor/__init__.py; validateEditorState
 * here applies the same rules and names the same fields in its errors.
 */

export const EDITOR_STATE_VERSION = 1;
export const MAX_FRAMES = 1024;
export const MAX_FPS = 240;
export const MAX_ABS_POSITION = 1e4;
export const INTERPOLATIONS = ["linear_se3", "geodesic", "smooth", "upstream_matrix_lerp"];
export const EASINGS = ["linear", "ease_in", "ease_out", "ease_in_out", "smootherstep"];
// Frame-count choices of the editor's frames menu: realcam_core/wan.py FRAME_CHOICES, in the same order
// (tests/core/test_editor_parity.py keeps them equal). Wan's 4x temporal VAE takes 4k+1 frames.
export const FRAME_CHOICES = [
  ["custom", null],
  ["DynamiCrafter 16 frames", 16],
  ["Wan 33 frames", 33],
  ["Wan 49 frames", 49],
  ["Wan 81 frames", 81],
  ["Wan 121 frames", 121],
];

/** The FRAME_CHOICES name whose frame count is n, or "custom". */
export function frameChoiceFor(n) {
  return FRAME_CHOICES.find(([, count]) => count === n)?.[0] ?? "custom";
}
const ROOT = "editor_state";
const TOP_KEYS = ["closed", "ease_per_segment", "easing", "fov_deg", "fps", "interpolation", "keyframes", "num_frames",
  "source", "version", "view"];
const KEY_KEYS = ["frame", "position", "rotation"];
const SOURCE_KEYS = ["edited", "preset", "seeded_from_input"];

const DEG = Math.PI / 180;

// ---------------------------------------------------------------------------------------------
// Small linear algebra

/** @returns {number[]} 4x4 identity, row-major. */
export function identity4() {
  return [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
}

/** a @ b for row-major 4x4. */
export function mul4(a, b) {
  const o = new Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      o[r * 4 + c] = a[r * 4] * b[c] + a[r * 4 + 1] * b[4 + c] + a[r * 4 + 2] * b[8 + c] + a[r * 4 + 3] * b[12 + c];
    }
  }
  return o;
}

/** a @ b for row-major 3x3. */
export function mul3(a, b) {
  const o = new Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) o[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  }
  return o;
}

export function transpose3(a) {
  return [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];
}

/** Rotation block (3x3) of a 4x4. */
export function rotationOf(m) {
  return [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]];
}

/** Translation column of a 4x4. */
export function translationOf(m) {
  return [m[3], m[7], m[11]];
}

/** 4x4 from a 3x3 rotation and a translation. */
export function compose4(R, t) {
  return [R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2], 0, 0, 0, 1];
}

/** Inverse of a rigid transform (rotation + translation): [R^T, -R^T t]. */
export function invertRigid(m) {
  const Rt = transpose3(rotationOf(m));
  const t = translationOf(m);
  return compose4(Rt, [
    -(Rt[0] * t[0] + Rt[1] * t[1] + Rt[2] * t[2]),
    -(Rt[3] * t[0] + Rt[4] * t[1] + Rt[5] * t[2]),
    -(Rt[6] * t[0] + Rt[7] * t[1] + Rt[8] * t[2]),
  ]);
}

/** General 4x4 inverse (cofactors); used for non-rigid interpolated matrices. */
export function invert4(m) {
  const [a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33] = m;
  const b00 = a00 * a11 - a01 * a10, b01 = a00 * a12 - a02 * a10, b02 = a00 * a13 - a03 * a10;
  const b03 = a01 * a12 - a02 * a11, b04 = a01 * a13 - a03 * a11, b05 = a02 * a13 - a03 * a12;
  const b06 = a20 * a31 - a21 * a30, b07 = a20 * a32 - a22 * a30, b08 = a20 * a33 - a23 * a30;
  const b09 = a21 * a32 - a22 * a31, b10 = a21 * a33 - a23 * a31, b11 = a22 * a33 - a23 * a32;
  const det = b00 * b11 - b01 * b10 + b02 * b09 + b03 * b08 - b04 * b07 + b05 * b06;
  if (!det) throw new Error("invert4: singular matrix");
  const d = 1 / det;
  return [
    (a11 * b11 - a12 * b10 + a13 * b09) * d, (a02 * b10 - a01 * b11 - a03 * b09) * d,
    (a31 * b05 - a32 * b04 + a33 * b03) * d, (a22 * b04 - a21 * b05 - a23 * b03) * d,
    (a12 * b08 - a10 * b11 - a13 * b07) * d, (a00 * b11 - a02 * b08 + a03 * b07) * d,
    (a32 * b02 - a30 * b05 - a33 * b01) * d, (a20 * b05 - a22 * b02 + a23 * b01) * d,
    (a10 * b10 - a11 * b08 + a13 * b06) * d, (a01 * b08 - a00 * b10 - a03 * b06) * d,
    (a30 * b04 - a31 * b02 + a33 * b00) * d, (a21 * b02 - a20 * b04 - a23 * b00) * d,
    (a11 * b07 - a10 * b09 - a12 * b06) * d, (a00 * b09 - a01 * b07 + a02 * b06) * d,
    (a31 * b01 - a30 * b03 - a32 * b00) * d, (a20 * b03 - a21 * b01 + a22 * b00) * d,
  ];
}

/** m @ [p, 1] for a 4x4 and a 3-vector (affine part only). */
export function transformPoint(m, p) {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  ];
}

export function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot(a, b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function norm(a) {
  return Math.hypot(a[0], a[1], a[2]);
}

export function normalize(a) {
  const n = norm(a) || 1;
  return [a[0] / n, a[1] / n, a[2] / n];
}

// ---------------------------------------------------------------------------------------------
// Rotation conventions

/**
 * Camera-to-world rotation from [yaw, pitch, roll] degrees: R = Ry(yaw) Rx(pitch) Rz(roll).
 * +yaw turns right, +pitch tilts up, +roll turns clockwise (OpenCV axes, y down).
 * @returns {number[]} row-major 3x3
 */
export function eulerToMatrix(yaw, pitch, roll) {
  const y = yaw * DEG, p = pitch * DEG, r = roll * DEG;
  const cy = Math.cos(y), sy = Math.sin(y), cp = Math.cos(p), sp = Math.sin(p), cr = Math.cos(r), sr = Math.sin(r);
  return [
    cy * cr + sy * sp * sr, -cy * sr + sy * sp * cr, sy * cp,
    cp * sr, cp * cr, -sp,
    -sy * cr + cy * sp * sr, sy * sr + cy * sp * cr, cy * cp,
  ];
}

/** [yaw, pitch, roll] degrees of a row-major 3x3 rotation (roll = 0 at pitch = ±90°). */
export function matrixToEuler(R) {
  const sp = Math.max(-1, Math.min(1, -R[5]));
  const pitch = Math.asin(sp);
  let yaw, roll;
  if (Math.hypot(R[3], R[4]) > 1e-9) {
    yaw = Math.atan2(R[2], R[8]);
    roll = Math.atan2(R[3], R[4]);
  } else {
    yaw = Math.atan2(-R[6], R[0]);
    roll = 0;
  }
  return [yaw / DEG + 0, pitch / DEG + 0, roll / DEG + 0]; // + 0 turns -0 into 0
}

/** 4x4 c2w of a keyframe {position, rotation: [yaw, pitch, roll]}. */
export function keyframeToC2w(kf) {
  return compose4(eulerToMatrix(kf.rotation[0], kf.rotation[1], kf.rotation[2]), kf.position);
}

/** Keyframe {frame, position, rotation} of a 4x4 c2w. */
export function c2wToKeyframe(frame, m) {
  return { frame, position: translationOf(m), rotation: matrixToEuler(rotationOf(m)) };
}

/** Unit quaternion [w, x, y, z] of a row-major 3x3 rotation (w >= 0). */
export function quatFromMatrix(R) {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = R;
  const tr = m00 + m11 + m22;
  let w, x, y, z;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = 0.25 * s; x = (m21 - m12) / s; y = (m02 - m20) / s; z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / s; x = 0.25 * s; y = (m01 + m10) / s; z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / s; x = (m01 + m10) / s; y = 0.25 * s; z = (m12 + m21) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / s; x = (m02 + m20) / s; y = (m12 + m21) / s; z = 0.25 * s;
  }
  const n = Math.hypot(w, x, y, z);
  const sign = w < 0 ? -1 : 1;
  return [(sign * w) / n, (sign * x) / n, (sign * y) / n, (sign * z) / n];
}

/** Row-major 3x3 rotation of a quaternion [w, x, y, z] (normalised first). */
export function matrixFromQuat(q) {
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  const w = q[0] / n, x = q[1] / n, y = q[2] / n, z = q[3] / n;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/** Spherical linear interpolation of unit quaternions along the shorter arc. */
export function slerp(a, b, t) {
  let d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  let bb = b;
  if (d < 0) {
    d = -d;
    bb = [-b[0], -b[1], -b[2], -b[3]];
  }
  if (d > 0.9995) {
    const o = [0, 1, 2, 3].map((i) => a[i] + t * (bb[i] - a[i]));
    const n = Math.hypot(...o);
    return o.map((v) => v / n);
  }
  const th = Math.acos(Math.min(1, d));
  const s = Math.sin(th);
  const wa = Math.sin((1 - t) * th) / s, wb = Math.sin(t * th) / s;
  return [0, 1, 2, 3].map((i) => wa * a[i] + wb * bb[i]);
}

/** Axis-angle vector (radians) of a rotation: the SO(3) logarithm. */
export function so3Log(R) {
  const c = Math.max(-1, Math.min(1, (R[0] + R[4] + R[8] - 1) / 2));
  const th = Math.acos(c);
  if (th < 1e-7) return [(R[7] - R[5]) / 2, (R[2] - R[6]) / 2, (R[3] - R[1]) / 2];
  if (Math.PI - th < 1e-4) {
    // near pi: axis from the quaternion, which stays well conditioned there
    const q = quatFromMatrix(R);
    const s = Math.hypot(q[1], q[2], q[3]) || 1;
    const ang = 2 * Math.atan2(s, q[0]);
    return [(q[1] / s) * ang, (q[2] / s) * ang, (q[3] / s) * ang];
  }
  const k = th / (2 * Math.sin(th));
  return [(R[7] - R[5]) * k, (R[2] - R[6]) * k, (R[3] - R[1]) * k];
}

/** Rotation of an axis-angle vector (Rodrigues): the SO(3) exponential. */
export function so3Exp(w) {
  const th = norm(w);
  if (th < 1e-12) return [1, -w[2], w[1], w[2], 1, -w[0], -w[1], w[0], 1];
  const k = [w[0] / th, w[1] / th, w[2] / th];
  const c = Math.cos(th), s = Math.sin(th), v = 1 - c;
  return [
    c + k[0] * k[0] * v, k[0] * k[1] * v - k[2] * s, k[0] * k[2] * v + k[1] * s,
    k[1] * k[0] * v + k[2] * s, c + k[1] * k[1] * v, k[1] * k[2] * v - k[0] * s,
    k[2] * k[0] * v - k[1] * s, k[2] * k[1] * v + k[0] * s, c + k[2] * k[2] * v,
  ];
}

/** Left Jacobian of SO(3) and its inverse (for the SE(3) log/exp). */
function so3LeftJacobian(w, inverse) {
  const th = norm(w);
  const W = [0, -w[2], w[1], w[2], 0, -w[0], -w[1], w[0], 0];
  const W2 = mul3(W, W);
  let a, b;
  if (!inverse) {
    if (th < 1e-6) { a = 0.5; b = 1 / 6; } else {
      a = (1 - Math.cos(th)) / (th * th);
      b = (th - Math.sin(th)) / (th * th * th);
    }
    return [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => (i % 4 === 0 ? 1 : 0) + a * W[i] + b * W2[i]);
  }
  if (th < 1e-6) { b = 1 / 12; } else {
    b = (1 / (th * th)) * (1 - (th * Math.sin(th)) / (2 * (1 - Math.cos(th))));
  }
  return [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => (i % 4 === 0 ? 1 : 0) - 0.5 * W[i] + b * W2[i]);
}

function mulVec3(M, v) {
  return [
    M[0] * v[0] + M[1] * v[1] + M[2] * v[2],
    M[3] * v[0] + M[4] * v[1] + M[5] * v[2],
    M[6] * v[0] + M[7] * v[1] + M[8] * v[2],
  ];
}

/** SE(3) logarithm of a rigid 4x4: [rho (3), omega (3)]. */
export function se3Log(m) {
  const w = so3Log(rotationOf(m));
  const rho = mulVec3(so3LeftJacobian(w, true), translationOf(m));
  return [...rho, ...w];
}

/** SE(3) exponential of [rho, omega] to a rigid 4x4. */
export function se3Exp(xi) {
  const w = [xi[3], xi[4], xi[5]];
  return compose4(so3Exp(w), mulVec3(so3LeftJacobian(w, false), [xi[0], xi[1], xi[2]]));
}

// ---------------------------------------------------------------------------------------------
// Editor state: the versioned JSON (schema in realcam_core/trajectory/editor/__init__.py)

/** Bad editor state; `field` names the offending JSON field (e.g. "editor_state.keyframes[2].frame"). */
export class EditorStateError extends Error {
  constructor(field, expected, got) {
    super(`${field}: expected ${expected}${got === undefined ? "" : `, got ${got}`}`);
    this.name = "EditorStateError";
    this.field = field;
  }
}

function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v.length <= 40 ? v : `${v.slice(0, 37)}...`);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return "an object";
}

function need(cond, field, expected, got) {
  if (!cond) throw new EditorStateError(field, expected, got);
}

function finiteNumber(v, field, expected = "a finite number") {
  need(typeof v === "number" && Number.isFinite(v), field, expected, show(v));
  return v;
}

function integerIn(v, field, lo, hi) {
  const expected = `an integer from ${lo} to ${hi}`;
  need(typeof v === "number" && Number.isInteger(v), field, expected, show(v));
  need(v >= lo && v <= hi, field, expected, show(v));
  return v;
}

function vec3(v, field, bound) {
  need(Array.isArray(v) && v.length === 3, field, "a list of 3 numbers", show(v));
  const out = v.map((x, i) => finiteNumber(x, `${field}[${i}]`));
  out.forEach((x, i) => need(Math.abs(x) <= bound, `${field}[${i}]`, `a value within ±${bound}`, show(x)));
  return out;
}

function noUnknown(obj, allowed, field) {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k)).sort();
  need(unknown.length === 0, `${field}.${unknown[0]}`, `one of the known fields ${JSON.stringify(allowed)}`,
    "an unknown field");
}

/**
 * Validate a decoded editor-state object; returns a normalised copy with every optional field set.
 * Same rules and field names as realcam_core.trajectory.editor.parse_editor_state.
 * @throws {EditorStateError}
 */
export function validateEditorState(data) {
  need(isObject(data), ROOT, "a JSON object", show(data));
  need("version" in data, `${ROOT}.version`, `${EDITOR_STATE_VERSION}`, "nothing");
  const version = data.version;
  need(typeof version === "number" && Number.isInteger(version), `${ROOT}.version`, "an integer", show(version));
  if (version > EDITOR_STATE_VERSION) {
    throw new EditorStateError(`${ROOT}.version`, `${EDITOR_STATE_VERSION} (this ComfyUI-RealCam reads editor state ` +
      `up to version ${EDITOR_STATE_VERSION}; update the pack to open this workflow)`, show(version));
  }
  need(version === EDITOR_STATE_VERSION, `${ROOT}.version`, `${EDITOR_STATE_VERSION}`, show(version));
  noUnknown(data, TOP_KEYS, ROOT);
  for (const key of ["num_frames", "keyframes"]) need(key in data, `${ROOT}.${key}`, "a value (required field)", "nothing");
  const numFrames = integerIn(data.num_frames, `${ROOT}.num_frames`, 1, MAX_FRAMES);
  const fpsExpected = `a number above 0 and at most ${MAX_FPS}`;
  const fps = finiteNumber("fps" in data ? data.fps : 8, `${ROOT}.fps`, fpsExpected);
  need(fps > 0 && fps <= MAX_FPS, `${ROOT}.fps`, fpsExpected, show(fps));
  const interpolation = "interpolation" in data ? data.interpolation : "linear_se3";
  need(INTERPOLATIONS.includes(interpolation), `${ROOT}.interpolation`, `one of ${JSON.stringify(INTERPOLATIONS)}`,
    show(interpolation));
  const easing = "easing" in data ? data.easing : "linear";
  need(EASINGS.includes(easing), `${ROOT}.easing`, `one of ${JSON.stringify(EASINGS)}`, show(easing));
  const perSegment = "ease_per_segment" in data ? data.ease_per_segment : false;
  need(typeof perSegment === "boolean", `${ROOT}.ease_per_segment`, "true or false", show(perSegment));
  const closed = "closed" in data ? data.closed : false;
  need(typeof closed === "boolean", `${ROOT}.closed`, "true or false", show(closed));
  let fov = "fov_deg" in data ? data.fov_deg : null;
  if (fov !== null) {
    const e = "null or a number of degrees from 1 to 179";
    fov = finiteNumber(fov, `${ROOT}.fov_deg`, e);
    need(fov >= 1 && fov <= 179, `${ROOT}.fov_deg`, e, show(fov));
  }
  const source = "source" in data ? data.source : {};
  need(isObject(source), `${ROOT}.source`, "an object", show(source));
  noUnknown(source, SOURCE_KEYS, `${ROOT}.source`);
  const preset = "preset" in source ? source.preset : null;
  need(preset === null || typeof preset === "string", `${ROOT}.source.preset`, "null or a preset name", show(preset));
  const seeded = "seeded_from_input" in source ? source.seeded_from_input : false;
  need(typeof seeded === "boolean", `${ROOT}.source.seeded_from_input`, "true or false", show(seeded));
  const edited = "edited" in source ? source.edited : false;
  need(typeof edited === "boolean", `${ROOT}.source.edited`, "true or false", show(edited));
  const view = "view" in data ? data.view : null;
  need(view === null || isObject(view), `${ROOT}.view`, "null or an object", show(view));

  const keys = data.keyframes;
  need(Array.isArray(keys), `${ROOT}.keyframes`, "a list of keyframes", show(keys));
  need(keys.length >= 1, `${ROOT}.keyframes`, "at least one keyframe", "an empty list");
  need(keys.length <= numFrames, `${ROOT}.keyframes`, `at most num_frames (${numFrames}) keyframes`, keys.length);
  const out = [];
  keys.forEach((k, i) => {
    const name = `${ROOT}.keyframes[${i}]`;
    need(isObject(k), name, "an object with frame, position, rotation", show(k));
    noUnknown(k, KEY_KEYS, name);
    for (const key of ["frame", "position", "rotation"]) need(key in k, `${name}.${key}`, "a value (required field)", "nothing");
    const frame = integerIn(k.frame, `${name}.frame`, 0, numFrames - 1);
    if (out.length) {
      const prev = out[out.length - 1].frame;
      need(frame !== prev, `${name}.frame`, `a frame different from keyframes[${i - 1}].frame ` +
        "(keyframe frames must be unique)", `${frame}, a duplicate`);
      need(frame > prev, `${name}.frame`, `a frame after keyframes[${i - 1}].frame = ${prev} ` +
        "(keyframes must be sorted by frame)", frame);
    }
    const position = vec3(k.position, `${name}.position`, MAX_ABS_POSITION);
    const rotation = vec3(k.rotation, `${name}.rotation`, 1e5);
    out.push({ frame, position, rotation });
  });
  if (closed && out.length >= 2) {
    const last = out.length - 1;
    need(out[last].frame < numFrames - 1, `${ROOT}.keyframes[${last}].frame`, `a frame before the last frame ` +
      `(${numFrames - 1}) when closed is true, where the loop returns to the first keyframe`, out[last].frame);
  }
  const state = {
    version: EDITOR_STATE_VERSION,
    num_frames: numFrames,
    fps,
    interpolation,
    easing,
    ease_per_segment: perSegment,
    closed,
    fov_deg: fov,
    keyframes: out,
    source: { preset, seeded_from_input: seeded, edited },
  };
  if (view !== null) state.view = structuredClone(view);
  return state;
}

/** Parse editor-state JSON text and validate it. @throws {EditorStateError} */
export function parseEditorState(text) {
  need(typeof text === "string", ROOT, "JSON text", typeof text);
  need(text.trim() !== "", ROOT, "JSON text describing the camera path", "an empty string");
  let data;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new EditorStateError(ROOT, "valid JSON", `invalid JSON: ${e.message}`);
  }
  return validateEditorState(data);
}

/** Compact JSON text of a state (validated first, so NaN never leaks out as null). */
export function serializeEditorState(state) {
  return JSON.stringify(validateEditorState(state));
}

/** A still camera at the origin: a fresh editor's state. */
export function defaultEditorState(numFrames = 16, fps = 8) {
  return {
    version: EDITOR_STATE_VERSION,
    num_frames: numFrames,
    fps,
    interpolation: "linear_se3",
    easing: "linear",
    ease_per_segment: false,
    closed: false,
    fov_deg: null,
    keyframes: [{ frame: 0, position: [0, 0, 0], rotation: [0, 0, 0] }],
    source: { preset: null, seeded_from_input: false, edited: false },
  };
}

/** Keyframe times (frames) and c2w matrices of a validated state. */
export function keyframesC2w(state) {
  return { times: state.keyframes.map((k) => k.frame), poses: state.keyframes.map(keyframeToC2w) };
}

// ---------------------------------------------------------------------------------------------
// Scene point cloud (decoded from the node's `ui` payload, see editor_state.scene_payload)

/** Bytes of a base64 string (browser and node both have atob). */
export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Base64 of bytes (for tests and for writing payloads from JS). */
export function bytesToBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// ---------------------------------------------------------------------------------------------
// Interpolation: keyframes -> one pose per frame (mirrors realcam_core/trajectory/interpolate.py)

const ROUNDOFF_REL_EPS = 1e-9;

/** Easing curve on u in [0, 1] (same formulas as interpolate.ease). */
export function ease(u, name) {
  switch (name) {
    case "linear": return u;
    case "ease_in": return u * u * u;
    case "ease_out": { const v = 1 - u; return 1 - v * v * v; }
    case "ease_in_out": return u * u * (3 - 2 * u);
    case "smootherstep": return u * u * u * (u * (u * 6 - 15) + 10);
    default: throw new Error(`easing: expected one of ${EASINGS.join(", ")}, got ${name}`);
  }
}

/** Zero entries below 1e-9 * max(1, max|m|) (float64 round-off), as se3.snap_roundoff. */
export function snapRoundoff(m) {
  let scale = 1;
  for (const v of m) scale = Math.max(scale, Math.abs(v));
  return m.map((v) => (Math.abs(v) < ROUNDOFF_REL_EPS * scale ? 0 : v));
}

function scaleVec(v, s) {
  return v.map((x) => x * s);
}

function segmentTwists(P) {
  const d = [];
  for (let i = 0; i + 1 < P.length; i++) d.push(se3Log(mul4(invertRigid(P[i]), P[i + 1])));
  return d;
}

function keyVelocities(d, h, closed) {
  const k = d.length + 1;
  const slope = d.map((di, i) => scaleVec(di, 1 / h[i]));
  const v = new Array(k);
  for (let i = 1; i < k - 1; i++) {
    const hp = h[i - 1], hn = h[i];
    v[i] = slope[i - 1].map((s, j) => (hn * s + hp * slope[i][j]) / (hp + hn));
  }
  if (closed) {
    const hp = h[h.length - 1], hn = h[0];
    const seam = slope[slope.length - 1].map((s, j) => (hn * s + hp * slope[0][j]) / (hp + hn));
    v[0] = seam;
    v[k - 1] = seam;
  } else {
    v[0] = slope[0];
    v[k - 1] = slope[slope.length - 1];
  }
  return v;
}

const FD_EPS = 1e-5;

/** Inverse right Jacobian of the SE(3) log at T (6x6 rows), column k = d/ds log(T exp(s e_k)) at 0. */
function dlogRight(T) {
  const J = [0, 1, 2, 3, 4, 5].map(() => new Array(6).fill(0));
  for (let k = 0; k < 6; k++) {
    const e = [0, 0, 0, 0, 0, 0];
    e[k] = FD_EPS;
    const plus = se3Log(mul4(T, se3Exp(e)));
    const minus = se3Log(mul4(T, se3Exp(e.map((x) => -x))));
    for (let r = 0; r < 6; r++) J[r][k] = (plus[r] - minus[r]) / (2 * FD_EPS);
  }
  return J;
}

/**
 * Per-frame c2w poses from keyframes, as realcam_core.trajectory.interpolate.interpolate_c2w (time unit: frames).
 * @param {number[]} times keyframe frames, strictly ascending
 * @param {number[][]} poses keyframe c2w (row-major 4x4 each)
 * @param {number} numFrames 1..1024
 * @param {{method?: string, easing?: string, closed?: boolean, easePerSegment?: boolean}} opts
 * @returns {number[][]} numFrames row-major 4x4 poses
 */
export function interpolateC2w(times, poses, numFrames, opts = {}) {
  const method = opts.method ?? "linear_se3";
  const easing = opts.easing ?? "linear";
  const closed = Boolean(opts.closed);
  const perSegment = Boolean(opts.easePerSegment);
  if (!INTERPOLATIONS.includes(method)) throw new Error(`method: expected one of ${INTERPOLATIONS.join(", ")}, got ${method}`);
  if (!EASINGS.includes(easing)) throw new Error(`easing: expected one of ${EASINGS.join(", ")}, got ${easing}`);
  if (!(Number.isInteger(numFrames) && numFrames >= 1 && numFrames <= MAX_FRAMES)) {
    throw new Error(`num_frames: expected 1 to ${MAX_FRAMES} frames, got ${numFrames}`);
  }
  if (times.length !== poses.length || poses.length < 1) throw new Error("key_times: expected one time per keyframe");
  for (let i = 1; i < times.length; i++) {
    if (!(times[i] > times[i - 1])) throw new Error(`key_times: expected ascending unique times at keyframe ${i}`);
  }
  let T = times.slice();
  let P = poses.map((p) => p.slice());
  if (closed && P.length >= 2) {
    const tEnd = numFrames - 1;
    if (!(T[T.length - 1] < tEnd)) {
      throw new Error(`key_times: with closed=true the last keyframe (t=${T[T.length - 1]}) must come before the end of the clip (t=${tEnd})`);
    }
    T.push(tEnd);
    P.push(P[0].slice());
  }
  if (P.length === 1) return Array.from({ length: numFrames }, () => P[0].slice());

  const K = P.length;
  const a = T[0], b = T[K - 1];
  const h = T.slice(1).map((t, i) => t - T[i]);
  const d = method === "linear_se3" || method === "smooth" ? segmentTwists(P) : null;
  let smooth = null;
  if (method === "smooth") {
    // cubic Hermite per segment in the Lie algebra of its relative motion: xi(0) = 0,
    // xi(1) = d_i, xi'(0) = h_i v_i, xi'(1) = J_r^-1(d_i) h_i v_i+1 (J_r^-1 by central differences)
    const v = keyVelocities(d, h, closed);
    const m0 = h.map((hi, i) => scaleVec(v[i], hi));
    const m1 = h.map((hi, i) => {
      const J = dlogRight(mul4(invertRigid(P[i]), P[i + 1]));
      const w = scaleVec(v[i + 1], hi);
      return [0, 1, 2, 3, 4, 5].map((r) => J[r].reduce((acc, x, k) => acc + x * w[k], 0));
    });
    smooth = { m0, m1 };
  }
  let geo = null;
  if (method === "geodesic") {
    geo = h.map((_, i) => so3Log(mul3(transpose3(rotationOf(P[i])), rotationOf(P[i + 1]))));
  }

  const out = [];
  for (let f = 0; f < numFrames; f++) {
    let t = f;
    if (easing !== "linear" && !perSegment) {
      const s = Math.min(1, Math.max(0, (t - a) / (b - a)));
      t = s >= 1 ? b : Math.min(b, Math.max(a, a + ease(s, easing) * (b - a)));
    }
    let idx = 0;
    while (idx + 1 < K && T[idx + 1] <= t) idx++;
    idx = Math.min(idx, K - 2);
    let u = Math.min(1, Math.max(0, (t - T[idx]) / h[idx]));
    if (easing !== "linear" && perSegment) u = ease(u, easing);
    let m;
    if (u === 0) m = P[idx].slice();
    else if (u === 1) m = P[idx + 1].slice();
    else if (method === "linear_se3") m = mul4(P[idx], se3Exp(scaleVec(d[idx], u)));
    else if (method === "geodesic") {
      const R = mul3(rotationOf(P[idx]), so3Exp(scaleVec(geo[idx], u)));
      const c0 = translationOf(P[idx]), c1 = translationOf(P[idx + 1]);
      m = compose4(R, [0, 1, 2].map((j) => c0[j] + u * (c1[j] - c0[j])));
    } else if (method === "smooth") {
      const uu = u * u, uuu = uu * u;
      const h10 = uuu - 2 * uu + u, h01 = 3 * uu - 2 * uuu, h11 = uuu - uu;
      const xi = [0, 1, 2, 3, 4, 5].map((j) => h10 * smooth.m0[idx][j] + h01 * d[idx][j] + h11 * smooth.m1[idx][j]);
      m = mul4(P[idx], se3Exp(xi));
    } else {
      m = P[idx].map((x, j) => x + u * (P[idx + 1][j] - x));
    }
    m[12] = 0; m[13] = 0; m[14] = 0; m[15] = 1;
    out.push(snapRoundoff(m));
  }
  return out;
}

/** The per-frame path of a validated editor state. */
export function statePath(state) {
  const { times, poses } = keyframesC2w(state);
  return interpolateC2w(times, poses, state.num_frames, {
    method: state.interpolation, easing: state.easing, closed: state.closed, easePerSegment: state.ease_per_segment,
  });
}

/** Position (m) and rotation (deg) error between two poses. */
export function poseError(a, b) {
  const dp = Math.hypot(a[3] - b[3], a[7] - b[7], a[11] - b[11]);
  const R = mul3(transpose3(rotationOf(a)), rotationOf(b));
  const c = (R[0] + R[4] + R[8] - 1) / 2;
  const s = Math.hypot(R[7] - R[5], R[2] - R[6], R[3] - R[1]) / 2;
  return { position: dp, degrees: Math.atan2(s, c) / DEG };
}

/**
 * Few frame indices whose interpolation reproduces a dense path (as editor_state.simplify_keyframes):
 * greedy insertion of the worst frame until every frame is within tolM metres and tolDeg degrees.
 */
export function simplifyKeyframes(dense, method = "linear_se3", tolM = 1e-4, tolDeg = 0.01, maxKeys = 64) {
  const n = dense.length;
  const still = dense.every((m) => {
    const e = poseError(dense[0], m);
    return e.position <= tolM && e.degrees <= tolDeg;
  });
  if (still) return [0];
  if (n <= 2) return [...Array(n).keys()];
  let keys = [0, n - 1];
  while (keys.length <= maxKeys) {
    const approx = interpolateC2w(keys, keys.map((k) => dense[k]), n, { method });
    let worst = 0, score = -1;
    for (let i = 0; i < n; i++) {
      const e = poseError(approx[i], dense[i]);
      const s = Math.max(e.position / tolM, e.degrees / tolDeg);
      if (s > score) { score = s; worst = i; }
    }
    if (score <= 1) return keys;
    if (keys.includes(worst)) break; // numerical floor: keep every frame
    keys = [...new Set([...keys, worst])].sort((x, y) => x - y);
  }
  return [...Array(n).keys()];
}

// ---------------------------------------------------------------------------------------------
// Presets (mirrors realcam_core/trajectory/presets.py)

export const PRESETS = {
  zoom_in: { kind: "translate", axis: [0, 0, 1], amplitude: 1, unit: "m" },
  zoom_out: { kind: "translate", axis: [0, 0, -1], amplitude: 1, unit: "m" },
  pan_left: { kind: "translate", axis: [-1, 0, 0], amplitude: 2, unit: "m" },
  pan_right: { kind: "translate", axis: [1, 0, 0], amplitude: 1, unit: "m" },
  pan_up: { kind: "pan_vertical", axis: [0, -1, 0], amplitude: 1, unit: "m" },
  pan_down: { kind: "pan_vertical", axis: [0, 1, 0], amplitude: 1, unit: "m" },
  look_left: { kind: "rotate", euler: [-1, 0, 0], amplitude: 90, unit: "deg" },
  look_right: { kind: "rotate", euler: [1, 0, 0], amplitude: 90, unit: "deg" },
  look_up: { kind: "rotate", euler: [0, 1, 0], amplitude: 90, unit: "deg" },
  look_down: { kind: "rotate", euler: [0, -1, 0], amplitude: 90, unit: "deg" },
  orbit_left: { kind: "orbit", euler: [1, 0, 0], amplitude: 90, unit: "deg", radius: 3 },
  orbit_right: { kind: "orbit", euler: [-1, 0, 0], amplitude: 90, unit: "deg", radius: 3 },
  orbit_up: { kind: "orbit", euler: [0, -1, 0], amplitude: 45, unit: "deg", radius: 2 },
  rotate_clockwise: { kind: "rotate", euler: [0, 0, -1], amplitude: 90, unit: "deg" },
  "rotate_anti-clockwise": { kind: "rotate", euler: [0, 0, 1], amplitude: 90, unit: "deg" },
  stationary: { kind: "stationary", amplitude: 0, unit: "" },
};
export const PRESET_NAMES = Object.keys(PRESETS);
export const PAN_VERTICAL_TARGET_DISTANCE = 10;

/** c2w of a camera at eye looking at target; `up` is the world direction shown up (OpenCV: -y). */
export function lookAt(eye, target, up = [0, -1, 0]) {
  const z = normalize([target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]]);
  const x = normalize(cross(z, up));
  const y = cross(z, x);
  return compose4([x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]], eye);
}

/** Per-frame c2w of a preset (frame 0 = identity), as presets.preset_c2w. */
export function presetC2w(name, numFrames = 16, amplitude = null, orbitRadius = null, panTargetDistance = null) {
  const spec = PRESETS[name];
  if (!spec) throw new Error(`preset: unknown name ${JSON.stringify(name)}; expected one of ${PRESET_NAMES.join(", ")}`);
  const amp = amplitude ?? spec.amplitude;
  const n = numFrames;
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = n > 1 ? i / (n - 1) : 0;
    let m;
    if (spec.kind === "stationary") m = identity4();
    else if (spec.kind === "translate") m = compose4(eulerToMatrix(0, 0, 0), scaleVec(spec.axis, amp * u));
    else if (spec.kind === "pan_vertical") {
      const dist = panTargetDistance ?? PAN_VERTICAL_TARGET_DISTANCE;
      const eye = scaleVec(spec.axis, amp * u);
      m = dist === 0 ? compose4(eulerToMatrix(0, 0, 0), eye) : lookAt(eye, [0, 0, dist]);
    } else {
      const ang = amp * u;
      const R = eulerToMatrix(spec.euler[0] * ang, spec.euler[1] * ang, spec.euler[2] * ang);
      let t = [0, 0, 0];
      if (spec.kind === "orbit") {
        const r = orbitRadius ?? spec.radius;
        const Rp = mulVec3(R, [0, 0, r]);
        t = [-Rp[0], -Rp[1], r - Rp[2]];
      }
      m = compose4(R, t);
    }
    out.push(i === 0 ? identity4() : snapRoundoff(m));
  }
  return out;
}

/**
 * Fewest keyframes (exact to 0.1 mm / 0.01°) reproducing a dense path with linear_se3 or geodesic.
 * @returns {{keyframes: object[], interpolation: string}}
 */
export function keyframesForPath(dense) {
  let best = null;
  for (const method of ["linear_se3", "geodesic"]) {
    const idx = simplifyKeyframes(dense, method);
    if (!best || idx.length < best.idx.length) best = { idx, method };
  }
  return { keyframes: best.idx.map((i) => c2wToKeyframe(i, dense[i])), interpolation: best.method };
}

/** Keyframes and interpolation reproducing a preset (see keyframesForPath). */
export function presetKeyframes(name, numFrames = 16, amplitude = null) {
  return keyframesForPath(presetC2w(name, numFrames, amplitude));
}

// ---------------------------------------------------------------------------------------------
// Intrinsics and projection (mirrors realcam_core/scene/render.py and camera/intrinsics.py)

/** {fx, fy, cx, cy} of a 3x3 K given as nested rows [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]. */
export function intrinsicsFromRows(K) {
  return { fx: K[0][0], fy: K[1][1], cx: K[0][2], cy: K[1][2], skew: K[0][1] || 0 };
}

/** RealCam's default: fx = fy = 0.5 * max(H, W), centred (or from a horizontal FOV in degrees). */
export function defaultIntrinsics(width, height, fovDeg = null) {
  const f = fovDeg === null || fovDeg === undefined ? 0.5 * Math.max(width, height) : (0.5 * width) / Math.tan((fovDeg * DEG) / 2);
  return { fx: f, fy: f, cx: width / 2, cy: height / 2, skew: 0 };
}

/**
 * K at src (H, W) -> the camera showing the same view at dst (H, W), as render.fit_intrinsics:
 * "stretch" scales each axis; "crop" scales both by the larger ratio and centre-crops.
 */
export function fitIntrinsics(K, srcH, srcW, dstH, dstW, fit = "crop") {
  if (fit !== "crop" && fit !== "stretch") throw new Error(`fit: expected 'crop' or 'stretch', got ${fit}`);
  if (fit === "stretch" || (srcH === dstH && srcW === dstW)) {
    const sx = dstW / srcW, sy = dstH / srcH;
    return { fx: K.fx * sx, fy: K.fy * sy, cx: K.cx * sx, cy: K.cy * sy, skew: (K.skew || 0) * sx };
  }
  const s = Math.max(dstH / srcH, dstW / srcW);
  return {
    fx: K.fx * s, fy: K.fy * s, skew: (K.skew || 0) * s,
    cx: K.cx * s - (srcW * s - dstW) / 2, cy: K.cy * s - (srcH * s - dstH) / 2,
  };
}

/**
 * Continuous image position of a world point seen by camera c2w: [u, v, z] with u = fx x/z + cx
 * (pixel column floor(u), centres at +0.5), or null when z <= near.
 */
export function projectPoint(p, w2c, K, near = 1e-3) {
  const q = transformPoint(w2c, p);
  if (!(q[2] > near)) return null;
  return [(K.fx * q[0] + (K.skew || 0) * q[1]) / q[2] + K.cx, (K.fy * q[1]) / q[2] + K.cy, q[2]];
}

/**
 * Unproject the scene payload (editor_state.scene_payload) into a point cloud in the scene camera,
 * exactly as render.unproject_depth: pixel (i, j) is the ray through (j + 0.5, i + 0.5) at z = depth,
 * in float32. Points keep row-major pixel order, invalid (0) depth skipped, like scene_point_cloud.
 * @returns {{count: number, positions: Float32Array, colors: Uint8Array, width: number, height: number, K: object, stride: number}}
 */
export function decodeScenePayload(payload) {
  const need2 = (c, what) => { if (!c) throw new Error(`scene payload: ${what}`); };
  need2(payload && payload.version === 1, "expected version 1");
  const { grid_w: gw, grid_h: gh, stride, width, height } = payload;
  const depthBytes = base64ToBytes(payload.depth_f32_b64);
  const rgb = base64ToBytes(payload.rgb_u8_b64);
  need2(depthBytes.length === gw * gh * 4, "depth size does not match grid_w * grid_h");
  need2(rgb.length === gw * gh * 3, "rgb size does not match grid_w * grid_h");
  const depth = new Float32Array(depthBytes.buffer, depthBytes.byteOffset, gw * gh);
  const K = intrinsicsFromRows(payload.K);
  return cloudFromDepth(depth, rgb, gw, gh, stride, K, width, height);
}

/** Point cloud of a (gh, gw) depth grid sampled every `stride` pixels of a (height, width) image with K. */
export function cloudFromDepth(depth, rgb, gw, gh, stride, K, width, height) {
  // K^-1 (u, v, 1) for K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]
  const { fx, fy, cx, cy } = K;
  const skew = K.skew || 0;
  let count = 0;
  for (let i = 0; i < depth.length; i++) if (depth[i] > 0 && Number.isFinite(depth[i])) count++;
  const positions = new Float32Array(count * 3);
  const colors = new Uint8Array(count * 3);
  let k = 0;
  for (let gi = 0; gi < gh; gi++) {
    const v = gi * stride + 0.5;
    const ry = Math.fround((v - cy) / fy);
    for (let gj = 0; gj < gw; gj++) {
      const g = gi * gw + gj;
      const d = depth[g];
      if (!(d > 0 && Number.isFinite(d))) continue;
      const u = gj * stride + 0.5;
      const rx = Math.fround((u - cx - (skew * (v - cy)) / fy) / fx);
      positions[3 * k] = rx * d;
      positions[3 * k + 1] = ry * d;
      positions[3 * k + 2] = d;
      colors[3 * k] = rgb[3 * g];
      colors[3 * k + 1] = rgb[3 * g + 1];
      colors[3 * k + 2] = rgb[3 * g + 2];
      k++;
    }
  }
  // grid: each point's cell in the (gh, gw) grid, row-major (for the "surface" and "mesh" render modes)
  const grid = new Int32Array(count);
  for (let g = 0, k2 = 0; g < depth.length; g++) if (depth[g] > 0 && Number.isFinite(depth[g])) grid[k2++] = g;
  return { count, positions, colors, width, height, K, stride, grid, gridWidth: gw, gridHeight: gh };
}

/** Splat footprint of size s, as render._Footprint: offsets d in [-lo, hi] from the anchor. */
export function splatFootprint(size) {
  const even = size % 2 === 0;
  const lo = even ? size / 2 : (size - 1) / 2;
  const hi = even ? size / 2 - 1 : (size - 1) / 2;
  const rank = (d) => {
    const c = even ? (Math.abs(2 * d + 1) - 1) / 2 : Math.abs(d);
    return c * c;
  };
  return { size, even, lo, hi, rank };
}

/** Reusable buffers for renderPointCloud at (width, height) (and any point count). */
export function makeRenderBuffers(width, height) {
  const n = width * height;
  return {
    width, height,
    zbuf: new Float32Array(n), // depth of the winner (0 where empty)
    index: new Int32Array(n), // winning point index, -1 where empty
    rgba: new Uint8ClampedArray(n * 4),
    anchors: null, // padded anchor grid, sized on first use
  };
}

/**
 * Z-buffer point splat with the same rules, and float32 rounding, as render.render_point_cloud:
 * 1. K [R|t] of w2c = inverse(c2w) in float64 with the principal point moved into a padded grid
 *    (+pad, and +0.5 then x2 for even splats), cast to float32; each point's (u z, v z, z) is
 *    accumulated in float32 like torch's addcmul chain, u = (u z) / z; z <= near is culled.
 *    (Bit-exact against torch on FMA CPUs; opts.fusedMultiplyAdd = false rounds every product,
 *    as torch does without FMA. Either way only a point exactly on a pixel edge can differ.)
 * 2. Anchor: odd splat s: the pixel containing the point, floor(u); even s: the nearest pixel
 *    corner floor(u + 0.5) plus the half bits (which side of the corner the point is on).
 * 3. Each anchor keeps its smallest (float32 depth, y half, x half, index).
 * 4. Pixel q = anchor + d, d in [-lo, hi] per axis, keeps the smallest (depth, rank(dx) + rank(dy),
 *    y half ^ [dy = 0], x half ^ [dx = 0], index) over the anchors covering it (half bits: even s only).
 * Colours: cloud.colors (uint8 RGB) into buffers.rgba; background [r, g, b] 0..255.
 * opts.mode "surface" then closes the gaps between splats of one surface (fillSurfaceGaps); "mesh" (the
 * editor's camera view, as render_scene's default) also fills the source grid's stretched quads (meshDensify
 * before step 4, meshTriangles after it; needs cloud.grid, i.e. a cloud from cloudFromDepth).
 * @param {{count: number, positions: Float32Array, colors?: Uint8Array}} cloud world points (scene camera frame)
 * @param {{fx, fy, cx, cy, skew?}} K pixel intrinsics at (width, height)
 * @param {number[]} c2w row-major 4x4 camera-to-world
 * @returns buffers: index (winning point or -1), zbuf (depth or 0), rgba
 */
export function renderPointCloud(cloud, K, c2w, width, height, opts = {}, buffers = null) {
  const fp = splatFootprint(opts.splat ?? 2);
  const near = Math.fround(opts.near ?? 1e-3);
  const bg = opts.background ?? [0, 0, 0];
  const fused = opts.fusedMultiplyAdd ?? true;
  const buf = buffers && buffers.width === width && buffers.height === height ? buffers : makeRenderBuffers(width, height);
  const { zbuf, index } = buf;
  const n = cloud.count;
  const { even, lo, hi } = fp;
  const pad = hi + 1;
  const wp = width + fp.size + 1, hp = height + fp.size + 1;
  const cells = wp * hp;
  if (!buf.anchors || buf.anchors.z.length < cells) {
    buf.anchors = { z: new Float32Array(cells), code: new Uint8Array(cells), index: new Int32Array(cells) };
  }
  const az = buf.anchors.z, acode = buf.anchors.code, aidx = buf.anchors.index;
  az.fill(Infinity, 0, cells);
  aidx.fill(-1, 0, cells);

  // 1. projection matrix in padded (half) pixels, float32 like render.py
  const w2c = invert4(c2w);
  const f = Math.fround;
  const scale = even ? 2 : 1;
  const shift = pad + (even ? 0.5 : 0);
  const skew = K.skew || 0;
  const row0 = [0, 1, 2, 3].map((c) => f(scale * (K.fx * w2c[c] + skew * w2c[4 + c] + (K.cx + shift) * w2c[8 + c])));
  const row1 = [0, 1, 2, 3].map((c) => f(scale * (K.fy * w2c[4 + c] + (K.cy + shift) * w2c[8 + c])));
  const row2 = [0, 1, 2, 3].map((c) => f(w2c[8 + c]));
  const a0 = row0[0], a1 = row0[1], a2 = row0[2], a3 = row0[3];
  const b0 = row1[0], b1 = row1[1], b2 = row1[2], b3 = row1[3];
  const c0 = row2[0], c1 = row2[1], c2 = row2[2], c3 = row2[3];
  const umax = scale * wp - 1, vmax = scale * hp - 1;
  const pos = cloud.positions;
  // mode "mesh": every point's splat-pass position (clamped; culled points at 0), as render_mesh reads them
  const mesh = opts.mode === "mesh" ? meshBuffers(buf, cloud) : null;
  const pu = mesh ? mesh.pu : null, pv = mesh ? mesh.pv : null, pz = mesh ? mesh.pz : null;

  // 2-3. anchors and the per-anchor z-buffer
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const x = pos[p], y = pos[p + 1], z = pos[p + 2];
    // addcmul chain ((m3 + m0 x) + m1 y) + m2 z in float32, with fused multiply-adds (as torch's
    // vectorised addcmul on FMA CPUs: the product is exact in float64, each sum rounds once) or not
    let zc, u, v;
    if (fused) {
      zc = f(f(f(c3 + c0 * x) + c1 * y) + c2 * z);
      if (!(zc > near)) {
        if (pu) { pu[i] = 0; pv[i] = 0; pz[i] = Infinity; }
        continue;
      }
      u = f(f(f(f(a3 + a0 * x) + a1 * y) + a2 * z) / zc);
      v = f(f(f(f(b3 + b0 * x) + b1 * y) + b2 * z) / zc);
    } else {
      zc = f(f(f(c3 + f(c0 * x)) + f(c1 * y)) + f(c2 * z));
      if (!(zc > near)) {
        if (pu) { pu[i] = 0; pv[i] = 0; pz[i] = Infinity; }
        continue;
      }
      u = f(f(f(f(a3 + f(a0 * x)) + f(a1 * y)) + f(a2 * z)) / zc);
      v = f(f(f(f(b3 + f(b0 * x)) + f(b1 * y)) + f(b2 * z)) / zc);
    }
    u = u < 0 ? 0 : u > umax ? umax : u;
    v = v < 0 ? 0 : v > vmax ? vmax : v;
    if (pu) { pu[i] = u; pv[i] = v; pz[i] = zc; }
    let iu = u | 0, iv = v | 0; // truncation == floor for clamped, non-negative values
    let code = 0;
    if (even) {
      code = ((iv & 1) << 1) | (iu & 1);
      iu >>= 1;
      iv >>= 1;
    }
    const cell = iv * wp + iu;
    const zo = az[cell];
    if (zc < zo || (zc === zo && (code < acode[cell] || (code === acode[cell] && i < aidx[cell])))) {
      az[cell] = zc;
      acode[cell] = code;
      aidx[cell] = i;
    }
  }

  let pending = 0;
  if (mesh) pending = meshDensify(cloud, mesh, az, acode, aidx, { wp, hp, scale, even, splat: fp.size, offset: shift, width, height });

  // 4. footprints, gathered per pixel: q takes the smallest (depth, tie) over the anchors q - d;
  // tie = (rank(d), y half ^ [dy = 0], x half ^ [dx = 0], index), computed only on depth ties
  const idxScale = 2 ** Math.max(1, Math.ceil(Math.log2(n + 2)));
  const nt = fp.size * fp.size;
  const tapOff = new Int32Array(nt), tapBase = new Float64Array(nt), tapFx = new Uint8Array(nt), tapFy = new Uint8Array(nt);
  {
    let k = 0;
    for (let dy = -lo; dy <= hi; dy++) {
      for (let dx = -lo; dx <= hi; dx++, k++) {
        tapOff[k] = (pad - dy) * wp + (pad - dx);
        tapBase[k] = (fp.rank(dx) + fp.rank(dy)) * 4 * idxScale;
        tapFx[k] = dx === 0 ? 1 : 0;
        tapFy[k] = dy === 0 ? 1 : 0;
      }
    }
  }
  const tieOf = (k, cell) => {
    const code = acode[cell];
    const half = even ? (((code >> 1) ^ tapFy[k]) << 1) | ((code & 1) ^ tapFx[k]) : 0;
    return tapBase[k] + half * idxScale + aidx[cell];
  };
  for (let r = 0, q = 0; r < height; r++) {
    const rowBase = r * wp;
    for (let c = 0; c < width; c++, q++) {
      let bz = Infinity, bk = -1, bcell = 0;
      for (let k = 0; k < nt; k++) {
        const cell = rowBase + c + tapOff[k];
        const z = az[cell];
        if (z < bz) {
          bz = z; bk = k; bcell = cell;
        } else if (z === bz && bk >= 0 && z !== Infinity && tieOf(k, cell) < tieOf(bk, bcell)) {
          bk = k; bcell = cell;
        }
      }
      if (bk < 0) {
        index[q] = -1;
        zbuf[q] = 0;
      } else {
        index[q] = aidx[bcell];
        zbuf[q] = bz;
      }
    }
  }

  if (opts.mode === "surface") fillSurfaceGaps(buf, cloud);
  if (mesh && pending) meshTriangles(cloud, mesh, pending, K, w2c, width, height, near, buf);

  // colours: one 32-bit RGBA word per pixel
  const rgba32 = buf.rgba32 ?? (buf.rgba32 = new Uint32Array(buf.rgba.buffer));
  const packed = cloud.colors ? packedColors(cloud) : null;
  const bgWord = packRGBA(bg[0], bg[1], bg[2]);
  for (let q = 0; q < index.length; q++) {
    const i = index[q];
    if (i < 0) rgba32[q] = bgWord;
    else if (packed) rgba32[q] = packed[i];
  }
  return buf;
}

/** render._GapFill's constants. */
export const SURFACE_GAP = { reach: 16, tol: 0.2, gridStep: 3 };
const FLT_MAX = 3.4028234663852886e38;

/**
 * The "surface" rule of render._GapFill on a rendered buffer (index, zbuf), in place: along each
 * row, then each column, two passes, each reading the line as it was before the pass:
 *  1. the nearest-in-depth points within REACH pixels before and after q (smallest (depth, index));
 *  2. the nearest covered pixels within REACH before and after q.
 * q takes the nearer (smaller (depth, index)) of the two when their depths agree within TOL, they
 * are neighbours in the source grid (cloud.grid, at most gridStep rows and columns apart), and q is
 * empty or farther than both by more than TOL. Products and comparisons in float32, as torch.
 */
export function fillSurfaceGaps(buf, cloud) {
  const { width: w, height: h, zbuf, index } = buf;
  const { reach: r, tol, gridStep: g } = SURFACE_GAP;
  const f = Math.fround, scale = f(1 + tol);
  const grid = cloud.grid, gw = cloud.gridWidth;
  const D = new Float32Array(w * h), I = new Int32Array(w * h);
  for (let q = 0; q < w * h; q++) {
    D[q] = index[q] < 0 ? FLT_MAX : zbuf[q];
    I[q] = index[q];
  }
  const n = Math.max(w, h), L = n + 2 * r;
  const ld = new Float32Array(n), li = new Int32Array(n), bd = new Float32Array(n), bi = new Int32Array(n);
  const ad = new Float32Array(n), ai = new Int32Array(n);
  // window minima in O(1) per cell (van Herk / Gil-Werman): per block of r cells of the padded line,
  // prefix and suffix minima; the window [a, a + r - 1] is min(suffix[a], prefix[a + r - 1])
  const xd = new Float32Array(L), xi = new Int32Array(L);
  const pd = new Float32Array(L), pi = new Int32Array(L), sd = new Float32Array(L), si = new Int32Array(L);
  const less = (d1, i1, d2, i2) => d1 < d2 || (d1 === d2 && i1 < i2);
  const joined = (i1, i2) => {
    if (!grid) return true;
    const d = grid[i2] - grid[i1];
    const e = (((d + g) % gw) + gw) % gw;
    return e <= 2 * g && Math.abs(d) <= g * gw + g;
  };
  const windowMin = (a, outD, outI, k) => {
    const e = a + r - 1;
    if (less(sd[a], si[a], pd[e], pi[e])) { outD[k] = sd[a]; outI[k] = si[a]; } else { outD[k] = pd[e]; outI[k] = pi[e]; }
  };
  for (const alongRows of [true, false]) {
    const lines = alongRows ? h : w, len = alongRows ? w : h;
    const step = alongRows ? 1 : w;
    for (let line = 0; line < lines; line++) {
      const base = alongRows ? line * w : line;
      for (const nearest of [false, true]) {
        for (let k = 0, q = base; k < len; k++, q += step) {
          ld[k] = D[q];
          li[k] = I[q];
        }
        if (nearest) {
          let last = -1;
          for (let k = 0; k < len; k++) {
            if (last >= 0 && k - last <= r) { bd[k] = ld[last]; bi[k] = li[last]; } else { bd[k] = FLT_MAX; bi[k] = -1; }
            if (ld[k] < FLT_MAX) last = k;
          }
          last = -1;
          for (let k = len - 1; k >= 0; k--) {
            if (last >= 0 && last - k <= r) { ad[k] = ld[last]; ai[k] = li[last]; } else { ad[k] = FLT_MAX; ai[k] = -1; }
            if (ld[k] < FLT_MAX) last = k;
          }
        } else {
          const Lk = len + 2 * r;
          for (let j = 0; j < Lk; j++) {
            const k = j - r;
            if (k >= 0 && k < len) { xd[j] = ld[k]; xi[j] = li[k]; } else { xd[j] = FLT_MAX; xi[j] = -1; }
          }
          for (let j = 0; j < Lk; j++) {
            if (j % r === 0 || !less(xd[j], xi[j], pd[j - 1], pi[j - 1])) {
              if (j % r === 0) { pd[j] = xd[j]; pi[j] = xi[j]; } else { pd[j] = pd[j - 1]; pi[j] = pi[j - 1]; }
            } else { pd[j] = xd[j]; pi[j] = xi[j]; }
          }
          for (let j = Lk - 1; j >= 0; j--) {
            if (j % r === r - 1 || j === Lk - 1 || less(xd[j], xi[j], sd[j + 1], si[j + 1])) { sd[j] = xd[j]; si[j] = xi[j]; }
            else { sd[j] = sd[j + 1]; si[j] = si[j + 1]; }
          }
          for (let k = 0; k < len; k++) {
            windowMin(k, bd, bi, k); // cells k - r .. k - 1
            windowMin(k + r + 1, ad, ai, k); // cells k + 1 .. k + r
          }
        }
        for (let k = 0, q = base; k < len; k++, q += step) {
          if (bd[k] === FLT_MAX || ad[k] === FLT_MAX) continue; // a side empty: the limit is inf
          const bFirst = less(bd[k], bi[k], ad[k], ai[k]);
          const loD = bFirst ? bd[k] : ad[k], loI = bFirst ? bi[k] : ai[k];
          const hiD = bFirst ? ad[k] : bd[k], hiI = bFirst ? ai[k] : bi[k];
          if (!(ld[k] > f(hiD * scale)) || !(hiD <= f(loD * scale)) || !joined(loI, hiI)) continue;
          D[q] = loD;
          I[q] = loI;
        }
      }
    }
  }
  for (let q = 0; q < w * h; q++) {
    index[q] = I[q];
    zbuf[q] = I[q] < 0 ? 0 : D[q];
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// The "mesh" render mode (realcam_core/scene/render_mesh.py, MeshFill): the source grid's quads that the
// 2-px splats leave gaps in (stretched: a diagonal longer than BIG px along x or y) are densified (three
// more splats, mildly stretched ones) or rasterised as two triangles, cut where the corner depths differ
// by more than TOL or the source camera saw the triangle more than MAX_SLANT degrees edge-on.

/** render_mesh.MeshFill's constants. */
export const MESH = { big: 2.0, mid: 3.6, tol: 0.3, maxSlant: 89.5, eps: 1e-4 };

const F32 = new Float32Array(1), I32 = new Int32Array(F32.buffer);

/** The next float32 above a positive float32 (the densified splats' depth: one step behind the corners). */
function nextFloat32Up(x) {
  F32[0] = x;
  I32[0] += 1;
  return F32[0];
}

/**
 * Per cloud (cached on it): grid cell -> point index (-1 where invalid) and, per quad (named by its corner
 * 00's cell), bit 1 if its triangle 00-01-11 and bit 2 if 00-11-10 lie on one surface, as
 * MeshFill._validity: corners valid, depths within TOL, the normal at least 90 - MAX_SLANT degrees off the
 * source camera's ray through the triangle (view-independent, so computed once).
 */
export function meshGrid(cloud) {
  if (cloud.meshGrid && cloud.meshGrid.count === cloud.count) return cloud.meshGrid;
  if (!cloud.grid || !cloud.gridWidth || !cloud.gridHeight) throw new Error('render mode "mesh": the cloud has no source grid (build it with cloudFromDepth)');
  const gw = cloud.gridWidth, gh = cloud.gridHeight, n = gw * gh;
  const cell = new Int32Array(n).fill(-1);
  for (let i = 0; i < cloud.count; i++) cell[cloud.grid[i]] = i;
  const valid = new Uint8Array(n);
  const P = cloud.positions, f = Math.fround;
  const scale = f(1 + MESH.tol);
  const cos2 = Math.cos((MESH.maxSlant * Math.PI) / 180) ** 2;
  const tri = (a, b, d) => {
    const za = P[3 * a + 2], zb = P[3 * b + 2], zd = P[3 * d + 2];
    const zmin = Math.min(za, zb, zd), zmax = Math.max(za, zb, zd);
    if (!(zmin > 0 && zmax <= f(zmin * scale))) return false;
    const ux = P[3 * b] - P[3 * a], uy = P[3 * b + 1] - P[3 * a + 1], uz = zb - za;
    const vx = P[3 * d] - P[3 * a], vy = P[3 * d + 1] - P[3 * a + 1], vz = zd - za;
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const rx = P[3 * a] + P[3 * b] + P[3 * d], ry = P[3 * a + 1] + P[3 * b + 1] + P[3 * d + 1], rz = za + zb + zd;
    const dot = nx * rx + ny * ry + nz * rz;
    return dot * dot >= cos2 * (nx * nx + ny * ny + nz * nz) * (rx * rx + ry * ry + rz * rz);
  };
  for (let r = 0; r + 1 < gh; r++) {
    for (let c = 0, g = r * gw; c + 1 < gw; c++, g++) {
      const i00 = cell[g], i01 = cell[g + 1], i10 = cell[g + gw], i11 = cell[g + gw + 1];
      if (i00 < 0 || i11 < 0) continue; // both triangles hold the diagonal 00-11
      valid[g] = (i01 >= 0 && tri(i00, i01, i11) ? 1 : 0) | (i10 >= 0 && tri(i00, i11, i10) ? 2 : 0);
    }
  }
  cloud.meshGrid = { count: cloud.count, cell, valid };
  return cloud.meshGrid;
}

/** The mesh mode's scratch in the render buffers: positions per point, the quads left for the triangles. */
function meshBuffers(buf, cloud) {
  const grid = meshGrid(cloud);
  const n = cloud.count;
  if (!buf.mesh || buf.mesh.pu.length < n) {
    buf.mesh = { pu: new Float32Array(n), pv: new Float32Array(n), pz: new Float32Array(n), quads: new Int32Array(1024) };
  }
  buf.mesh.grid = grid;
  return buf.mesh;
}

/**
 * MeshFill.densify on the anchors (before the footprints): each stretched quad (diagonal > BIG px along x or
 * y, in the splat pass's units) on one surface, up to MID px, with its corners inside the splat grid gets
 * three more splats at the midpoints of its top and left edges and its centre, with the farthest corner's
 * depth one float32 step farther and corner 00's point. The other stretched quads with a valid triangle and
 * a box meeting the view are listed in mesh.quads for meshTriangles; returns how many.
 */
function meshDensify(cloud, mesh, az, acode, aidx, g) {
  const { pu, pv, pz } = mesh, { cell, valid } = mesh.grid;
  const gw = cloud.gridWidth, gh = cloud.gridHeight;
  const { wp, scale, even } = g;
  const big = MESH.big * (g.splat / 2) * 1.02 * scale, mid = MESH.mid * (g.splat / 2) * scale;
  const umax = scale * g.wp - 1, vmax = scale * g.hp - 1;
  const x0 = scale * g.offset, x1 = scale * (g.width + g.offset), y0 = x0, y1 = scale * (g.height + g.offset);
  let quads = mesh.quads, np = 0;
  const splat = (u, v, z, i) => {
    let iu = u | 0, iv = v | 0; // truncation == floor: u, v > 0 here
    let code = 0;
    if (even) {
      code = ((iv & 1) << 1) | (iu & 1);
      iu >>= 1;
      iv >>= 1;
    }
    const c = iv * wp + iu;
    const zo = az[c];
    if (z < zo || (z === zo && (code < acode[c] || (code === acode[c] && i < aidx[c])))) {
      az[c] = z;
      acode[c] = code;
      aidx[c] = i;
    }
  };
  for (let r = 0; r + 1 < gh; r++) {
    for (let c = 0, q = r * gw; c + 1 < gw; c++, q++) {
      const vb = valid[q];
      if (vb === 0) continue; // no triangle on one surface: neither densified nor rasterised
      const i00 = cell[q], i01 = cell[q + 1], i10 = cell[q + gw], i11 = cell[q + gw + 1];
      // corners 00 and 11 are valid in either triangle; 01 and 10 may be missing (then at 00's place)
      const u00 = pu[i00], v00 = pv[i00], u11 = pu[i11], v11 = pv[i11];
      const u01 = i01 < 0 ? u00 : pu[i01], v01 = i01 < 0 ? v00 : pv[i01];
      const u10 = i10 < 0 ? u00 : pu[i10], v10 = i10 < 0 ? v00 : pv[i10];
      // the longer diagonal along x or y decides, with all four corners valid; else the quad counts as stretched
      // (in Python a missing corner sits at a far-off garbage position) and goes to the triangles
      const d = vb === 3 ? Math.max(Math.abs(u11 - u00), Math.abs(v11 - v00), Math.abs(u10 - u01), Math.abs(v10 - v01)) : Infinity;
      if (!(d > big)) continue;
      const loU = Math.min(u00, u01, u10, u11), hiU = Math.max(u00, u01, u10, u11);
      const loV = Math.min(v00, v01, v10, v11), hiV = Math.max(v00, v01, v10, v11);
      if (d <= mid && Math.min(loU, loV) > 0 && hiU < umax && hiV < vmax) { // mild, inside the splat grid
        const z = nextFloat32Up(Math.max(pz[i00], pz[i01], pz[i10], pz[i11]));
        splat((u00 + u01) * 0.5, (v00 + v01) * 0.5, z, i00);
        splat((u00 + u10) * 0.5, (v00 + v10) * 0.5, z, i00);
        splat((u00 + u01 + u10 + u11) * 0.25, (v00 + v01 + v10 + v11) * 0.25, z, i00);
        continue;
      }
      if (!(hiU > x0 && loU < x1 && hiV > y0 && loV < y1)) continue; // wholly outside the view
      if (np === quads.length) {
        const grown = new Int32Array(2 * quads.length);
        grown.set(quads);
        quads = mesh.quads = grown;
      }
      quads[np++] = q;
    }
  }
  return np;
}

/**
 * MeshFill's triangles (after the footprints), in place on buf.index / buf.zbuf: every pixel centre inside
 * a valid triangle of the listed quads (edge functions with EPS slack) gets the perspective-correct depth
 * there and the triangle's corner with the largest barycentric weight, where nearer than what is there
 * (depth, then point index). Corners are projected again exactly (K [R|t] in float32, as M_pix).
 */
function meshTriangles(cloud, mesh, np, K, w2c, width, height, near, buf) {
  const { cell, valid } = mesh.grid, quads = mesh.quads;
  const { zbuf, index } = buf;
  const gw = cloud.gridWidth, P = cloud.positions, f = Math.fround, eps = MESH.eps;
  const skew = K.skew || 0;
  const m0 = [0, 1, 2, 3].map((c) => f(K.fx * w2c[c] + skew * w2c[4 + c] + K.cx * w2c[8 + c]));
  const m1 = [0, 1, 2, 3].map((c) => f(K.fy * w2c[4 + c] + K.cy * w2c[8 + c]));
  const m2 = [0, 1, 2, 3].map((c) => f(w2c[8 + c]));
  const X = new Float64Array(3), Y = new Float64Array(3), Z = new Float64Array(3), V = new Int32Array(3);
  const project = (k, i) => {
    const x = P[3 * i], y = P[3 * i + 1], z = P[3 * i + 2];
    const zc = f(m2[0] * x + m2[1] * y + m2[2] * z + m2[3]);
    Z[k] = zc;
    X[k] = f(m0[0] * x + m0[1] * y + m0[2] * z + m0[3]) / zc - 0.5; // pixel centres at integers
    Y[k] = f(m1[0] * x + m1[1] * y + m1[2] * z + m1[3]) / zc - 0.5;
    V[k] = i;
  };
  for (let t = 0; t < np; t++) {
    const q = quads[t], vb = valid[q];
    for (let odd = 0; odd < 2; odd++) {
      if (!(vb & (1 << odd))) continue;
      project(0, cell[q]);
      project(1, odd ? cell[q + gw + 1] : cell[q + 1]);
      project(2, odd ? cell[q + gw] : cell[q + gw + 1]);
      if (!(Math.min(Z[0], Z[1], Z[2]) > near)) continue;
      const xa = X[0], xb = X[1], xc = X[2], ya = Y[0], yb = Y[1], yc = Y[2];
      const area = (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa);
      if (!(Math.abs(area) > 1e-9)) continue;
      const bx0 = Math.min(Math.max(Math.ceil(Math.min(xa, xb, xc) - eps), 0), width);
      const by0 = Math.min(Math.max(Math.ceil(Math.min(ya, yb, yc) - eps), 0), height);
      const bx1 = Math.min(Math.floor(Math.max(xa, xb, xc) + eps), width - 1);
      const by1 = Math.min(Math.floor(Math.max(ya, yb, yc) + eps), height - 1);
      if (bx1 < bx0 || by1 < by0) continue;
      const inv = 1 / area;
      // barycentric weights w_k = A_k x + B_k y + C_k; 1/z = Zx x + Zy y + Zc (linear in screen space)
      const A0 = (yb - yc) * inv, A1 = (yc - ya) * inv, A2 = (ya - yb) * inv;
      const B0 = (xc - xb) * inv, B1 = (xa - xc) * inv, B2 = (xb - xa) * inv;
      const C0 = (xb * yc - xc * yb) * inv, C1 = (xc * ya - xa * yc) * inv, C2 = (xa * yb - xb * ya) * inv;
      const iza = 1 / Z[0], izb = 1 / Z[1], izc = 1 / Z[2];
      const Zx = A0 * iza + A1 * izb + A2 * izc, Zy = B0 * iza + B1 * izb + B2 * izc;
      const Zc = C0 * iza + C1 * izb + C2 * izc;
      for (let py = by0; py <= by1; py++) {
        const r0 = B0 * py + C0, r1 = B1 * py + C1, r2 = B2 * py + C2;
        for (let px = bx0, p = py * width + bx0; px <= bx1; px++, p++) {
          const w0 = A0 * px + r0, w1 = A1 * px + r1, w2 = A2 * px + r2;
          if (w0 < -eps || w1 < -eps || w2 < -eps) continue;
          const zp = f(1 / (Zx * px + Zy * py + Zc));
          const k = w0 >= w1 ? (w0 >= w2 ? 0 : 2) : w1 >= w2 ? 1 : 2; // the nearest corner (first on ties)
          const i = V[k];
          const old = index[p];
          if (old < 0 || zp < zbuf[p] || (zp === zbuf[p] && i < old)) {
            zbuf[p] = zp;
            index[p] = i;
          }
        }
      }
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function packRGBA(r, g, b) {
  return LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}

/** The cloud's colours as RGBA words (cached on the cloud). */
function packedColors(cloud) {
  if (cloud.packed && cloud.packed.length === cloud.count) return cloud.packed;
  const out = new Uint32Array(cloud.count);
  const c = cloud.colors;
  for (let i = 0; i < cloud.count; i++) out[i] = packRGBA(c[3 * i], c[3 * i + 1], c[3 * i + 2]);
  cloud.packed = out;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Viewport helpers (orbit camera, line overlays)

/**
 * c2w of an orbit camera looking at `target` from `distance` metres; azimuth 0 looks along +z
 * (from behind the scene camera), +elevation looks down from above (world up is -y).
 */
export function orbitC2w({ target, distance, azimuth, elevation }) {
  const az = azimuth * DEG, el = elevation * DEG;
  const fwd = [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
  const eye = [target[0] - distance * fwd[0], target[1] - distance * fwd[1], target[2] - distance * fwd[2]];
  return lookAt(eye, target);
}

/** Orbit parameters that keep the camera at `eye` while looking at a new target. */
export function orbitFromEye(eye, target) {
  const d = [target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]];
  const distance = norm(d) || 1e-3;
  const el = Math.asin(Math.max(-1, Math.min(1, d[1] / distance)));
  const az = Math.atan2(d[0], d[2]);
  return { target: target.slice(), distance, azimuth: az / DEG, elevation: el / DEG };
}

/**
 * Project a world segment for line drawing: clipped to z > near in the camera, or null.
 * @returns {number[]|null} [u0, v0, u1, v1]
 */
export function projectSegment(a, b, w2c, K, near = 0.05) {
  let p = transformPoint(w2c, a), q = transformPoint(w2c, b);
  if (p[2] <= near && q[2] <= near) return null;
  if (p[2] <= near || q[2] <= near) {
    const t = (near - p[2]) / (q[2] - p[2]);
    const c = [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]), near];
    if (p[2] <= near) p = c; else q = c;
  }
  return [K.fx * p[0] / p[2] + K.cx, K.fy * p[1] / p[2] + K.cy, K.fx * q[0] / q[2] + K.cx, K.fy * q[1] / q[2] + K.cy];
}

/**
 * World-space segments of a camera frustum drawn `size` metres deep (apex at the camera centre),
 * for an image of (width, height) with intrinsics K. Returns [[a, b], ...] plus an "up" tick.
 */
export function frustumSegments(c2w, K, width, height, size) {
  const corners = [[0, 0], [width, 0], [width, height], [0, height]].map(([u, v]) =>
    transformPoint(c2w, [((u - K.cx) / K.fx) * size, ((v - K.cy) / K.fy) * size, size]));
  const o = translationOf(c2w);
  const segs = corners.map((c) => [o, c]);
  for (let i = 0; i < 4; i++) segs.push([corners[i], corners[(i + 1) % 4]]);
  // a small triangle above the top edge marks "up" (-y in the camera)
  const topMid = transformPoint(c2w, [((width / 2 - K.cx) / K.fx) * size, ((-0.25 * height - K.cy) / K.fy) * size, size]);
  segs.push([corners[0], topMid], [topMid, corners[1]]);
  return segs;
}

/** Round to a step (snapping); step <= 0 returns the value unchanged. */
export function snapTo(value, step) {
  return step > 0 ? Number((Math.round(value / step) * step).toFixed(9)) : value; // toFixed: no 0.35000000000000003
}

/**
 * Retime keyframe frames for a new frame count: proportional, then pushed apart so frames stay
 * unique and inside 0..numFrames-1. Returns null when there are more keyframes than frames.
 */
export function retimeFrames(frames, oldN, newN) {
  if (frames.length > newN) return null;
  const scale = oldN > 1 ? (newN - 1) / (oldN - 1) : 0;
  const out = frames.map((f) => Math.round(f * scale));
  for (let i = 1; i < out.length; i++) out[i] = Math.max(out[i], out[i - 1] + 1);
  for (let i = out.length - 1; i >= 0; i--) {
    const cap = i === out.length - 1 ? newN - 1 : out[i + 1] - 1;
    out[i] = Math.min(out[i], cap);
  }
  return out;
}

/**
 * Point cloud of a scene file (realcam_core/scene/scene_file.py: "RCPC", u32 header length, JSON header,
 * padding to 4 bytes, float32 depth grid, uint8 rgb grid), unprojected as decodeScenePayload does.
 * @param {ArrayBuffer} buffer
 */
export function decodeSceneFile(buffer) {
  const bytes = new Uint8Array(buffer);
  const fail = (what) => { throw new Error(`scene file: ${what}`); };
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== "RCPC") fail("not a RealCam point-cloud file");
  const hlen = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  if (header.version !== 1) fail(`expected version 1, got ${header.version}`);
  const { grid_w: gw, grid_h: gh, stride, width, height } = header;
  const off = 8 + hlen + ((4 - ((8 + hlen) % 4)) % 4);
  if (bytes.length !== off + 7 * gw * gh) fail("size does not match grid_w * grid_h");
  const depth = new Float32Array(buffer, off, gw * gh);
  const rgb = bytes.subarray(off + 4 * gw * gh, off + 7 * gw * gh);
  return cloudFromDepth(depth, rgb, gw, gh, stride, intrinsicsFromRows(header.K), width, height);
}
