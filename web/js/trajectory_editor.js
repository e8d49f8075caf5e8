/**
 * ComfyUI-RealCam Trajectory Editor: the DOM widget of the RealCamTrajectoryEditor node.
 *
 * - Works in the classic LiteGraph canvas and in the Vue "Nodes 2.0" renderer: everything is one
 *   DOM widget (`addDOMWidget`); nothing is drawn on the node canvas.
 * - The path lives as versioned JSON in the node's `editor_state` STRING widget (hidden here), so
 *   workflows save it and API prompts carry it; realcam_core/editor_state.py validates it.
 * - The scene's point cloud arrives once through the node's `ui` payload ("realcam_editor") and is
 *   cached per node (memory + IndexedDB), so editing never needs a re-run.
 * - All maths (projection, splatting, interpolation, presets, validation) is in realcam_math.js,
 *   the module the node tests and the Python parity tests run; this file is DOM and events only.
 *
 * Served at /extensions/<pack>/js/trajectory_editor.js, hence three levels up to /scripts/app.js.
 */
import { app } from "../../../scripts/app.js";
import * as M from "./realcam_math.js";

const NODE_TYPE = "RealCamTrajectoryEditor";
const STATE_WIDGET = "editor_state";
const UI_KEY = "realcam_editor";
const MIN_EDITOR_HEIGHT = 470;
const UNDO_LIMIT = 200;
const SNAP_M = 0.05;
const SNAP_DEG = 5;
const VIEW_FOV_DEG = 60;
const MAX_CAMERA_VIEW_WIDTH = 640;
const IDB_INDEX = "__recent__";
const IDB_KEEP = 12;
const COLORS = {
  bg: [22, 22, 26],
  grid: "rgba(150,150,160,0.28)",
  gridMajor: "rgba(190,190,200,0.5)",
  path: "#f5c542",
  key: "#e6e6e6",
  selected: "#ff8a3d",
  current: "#3dd6ff",
  axisX: "#e05555",
  axisY: "#55c060",
  axisZ: "#5588ff",
};

/** Scene payloads by node key, so rebuilt nodes (tab switches, subgraphs) keep their cloud. */
const payloads = new Map();

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v;
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function numberInput(title, step, width = 56) {
  return el("input", { type: "number", step: String(step), title, style: `width:${width}px` });
}

function installStyle() {
  if (document.getElementById("realcam-editor-style")) return;
  const css = `
.rc-ed{display:flex;flex-direction:column;gap:4px;width:100%;height:100%;min-height:${MIN_EDITOR_HEIGHT}px;
  box-sizing:border-box;padding:4px;contain:inline-size;min-width:0;
  font:11px/1.2 system-ui,sans-serif;color:#ddd;background:#18181c;border-radius:6px;outline:none;overflow:hidden;
  user-select:none}
.rc-ed:focus-visible{box-shadow:0 0 0 1px #4a90e2 inset}
.rc-row{display:flex;flex-wrap:wrap;gap:3px 4px;align-items:center;flex:0 0 auto}
.rc-ed select,.rc-ed input,.rc-ed button{font:inherit;color:#eee;background:#2a2a31;border:1px solid #44444c;
  border-radius:4px;padding:0 4px;height:20px;box-sizing:border-box}
.rc-ed input[type=checkbox]{height:auto}
.rc-ed button{cursor:pointer}
.rc-ed button:disabled{opacity:.45;cursor:default}
.rc-ed button.rc-on{background:#36598a;border-color:#5279b0}
.rc-ed label{display:inline-flex;align-items:center;gap:2px}
.rc-views{display:flex;gap:4px;flex:1 1 auto;min-height:160px}
.rc-view{position:relative;flex:1 1 0;min-width:0;background:#111114;border-radius:4px;overflow:hidden}
.rc-view canvas{position:absolute;left:0;top:0;width:100%;height:100%;display:block;touch-action:none}
.rc-label{position:absolute;left:5px;top:3px;pointer-events:none;color:#bbb;text-shadow:0 0 3px #000}
.rc-timeline{position:relative;height:34px;flex:0 0 34px;background:#111114;border-radius:4px}
.rc-timeline canvas{position:absolute;left:0;top:0;width:100%;height:100%;touch-action:none}
.rc-status{color:#f08a8a;min-height:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.rc-status.rc-info{color:#9ac}
.rc-help{color:#888;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.rc-sep{width:1px;height:16px;background:#444;margin:0 2px}`;
  document.head.append(el("style", { id: "realcam-editor-style", textContent: css }));
}

// ---------------------------------------------------------------------------------------------
// Persistent cache of scene payloads (IndexedDB; optional, failures only cost a re-run)

const idb = {
  db: null,
  open() {
    if (this.db) return this.db;
    this.db = new Promise((resolve) => {
      try {
        const req = indexedDB.open("comfyui-realcam", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("scenes");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
    return this.db;
  },
  async get(key) {
    const db = await this.open();
    if (!db) return null;
    return new Promise((resolve) => {
      const req = db.transaction("scenes").objectStore("scenes").get(key);
      req.onsuccess = () => resolve(req.result ?? null);
      req.onerror = () => resolve(null);
    });
  },
  /** Store a payload; only the IDB_KEEP most recent nodes' scenes are kept. */
  async put(key, value) {
    const db = await this.open();
    if (!db) return;
    try {
      const store = db.transaction("scenes", "readwrite").objectStore("scenes");
      const req = store.get(IDB_INDEX);
      req.onsuccess = () => {
        const keys = (Array.isArray(req.result) ? req.result : []).filter((k) => k !== key);
        keys.push(key);
        while (keys.length > IDB_KEEP) store.delete(keys.shift());
        store.put(keys, IDB_INDEX);
        store.put(value, key);
      };
    } catch {
      /* quota or private mode: the memory cache still works */
    }
  },
};

// ---------------------------------------------------------------------------------------------
// The editor

/**
 * Create an editor bound to a string value (the node's editor_state widget).
 * @param {{readValue: () => string, writeValue: (text: string) => void}} io
 */
export function createTrajectoryEditor(io) {
  return new TrajectoryEditor(io);
}

class TrajectoryEditor {
  constructor(io) {
    installStyle();
    this.io = io;
    this.state = M.validateEditorState(M.defaultEditorState());
    this.path = M.statePath(this.state);
    this.selected = 0;
    this.frame = 0;
    this.undoStack = [];
    this.redoStack = [];
    this.cloud = null;
    this.sceneInfo = null; // {width, height, K}
    this.pendingInput = null; // input_state text offered but not adopted
    this.brokenText = null; // saved text that failed validation: never overwritten silently
    this.lastWritten = null;
    this.snap = false;
    this.mode = "move";
    this.view = { target: [0, 0, 2], distance: 6, azimuth: -35, elevation: 22 };
    this.drag = null;
    this.playing = false;
    this.dirty = true;
    this.timing = { camera: 0, viewport: 0 };
    this.buildDom();
    this.loadFromValue();
    this.raf = 0;
    this.watch = setInterval(() => this.checkExternalChange(), 400);
    this.resizeObserver = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => this.requestDraw()) : null;
    this.resizeObserver?.observe(this.element);
    this.requestDraw();
  }

  // ---- DOM -----------------------------------------------------------------------------------

  buildDom() {
    // widget-expands: the Vue renderer (Nodes 2.0) then gives the widget the node's spare height
    const root = el("div", { class: "rc-ed widget-expands", tabIndex: 0 });
    this.element = root;

    // toolbar 1: path settings
    this.presetSelect = el("select", { title: "Start from a preset motion (RealCam-I2V demo presets)" },
      [el("option", { value: "", textContent: "preset…" }), ...M.PRESET_NAMES.map((n) => el("option", { value: n, textContent: n }))]);
    this.presetAmp = numberInput("Preset amplitude: metres for zoom/pan, degrees for look/orbit/rotate (blank = upstream)", 0.1, 48);
    this.presetApply = el("button", { textContent: "Apply", title: "Replace the path with the preset" });
    this.interpSelect = el("select", { title: "Interpolation between keyframes" },
      M.INTERPOLATIONS.map((n) => el("option", { value: n, textContent: n })));
    this.easingSelect = el("select", { title: "Easing (time warp)" }, M.EASINGS.map((n) => el("option", { value: n, textContent: n })));
    this.perSegment = el("input", { type: "checkbox", title: "Ease inside every segment (the camera rests at each keyframe)" });
    this.framesInput = numberInput("Number of frames (1..1024)", 1, 50);
    this.fpsInput = numberInput("Playback frames per second", 1, 42);
    this.closedBox = el("input", { type: "checkbox", title: "Loop: the last frame returns to the first keyframe" });
    this.fovInput = numberInput("Horizontal field of view in degrees (blank = the scene's intrinsics)", 1, 44);
    const row1 = el("div", { class: "rc-row" }, [
      this.presetSelect, this.presetAmp, this.presetApply, el("span", { class: "rc-sep" }),
      this.interpSelect, this.easingSelect, el("label", { title: this.perSegment.title }, [this.perSegment, "per seg"]),
      el("span", { class: "rc-sep" }),
      el("label", {}, ["frames", this.framesInput]), el("label", {}, ["fps", this.fpsInput]),
      el("label", { title: this.closedBox.title }, [this.closedBox, "loop"]), el("label", {}, ["fov°", this.fovInput]),
    ]);

    // toolbar 2: tools
    this.moveBtn = el("button", { textContent: "Move", title: "Drag a camera to move it (Shift: along the view axis)" });
    this.rotateBtn = el("button", { textContent: "Rotate", title: "Drag a camera to turn it (Alt-drag does this in Move mode)" });
    this.snapBtn = el("button", { textContent: "Snap", title: `Snap to ${SNAP_M} m and ${SNAP_DEG}°` });
    this.addBtn = el("button", { textContent: "+ Key", title: "Add a keyframe at the current frame (K)" });
    this.delBtn = el("button", { textContent: "Delete", title: "Delete the selected keyframe (Del)" });
    this.undoBtn = el("button", { textContent: "Undo", title: "Undo the last path edit (Ctrl+Z: ComfyUI's undo)" });
    this.redoBtn = el("button", { textContent: "Redo", title: "Redo a path edit" });
    this.frameViewBtn = el("button", { textContent: "Frame all", title: "Re-centre the 3D view on the scene and path" });
    this.inputBtn = el("button", { textContent: "Use input", title: "Replace the path with the trajectory connected to this node" });
    const row2 = el("div", { class: "rc-row" }, [
      this.moveBtn, this.rotateBtn, this.snapBtn, el("span", { class: "rc-sep" }),
      this.addBtn, this.delBtn, this.undoBtn, this.redoBtn, el("span", { class: "rc-sep" }),
      this.frameViewBtn, this.inputBtn,
    ]);

    // views
    this.viewport = el("canvas", { title: "3D view" });
    this.camera = el("canvas", { title: "Camera view of the current frame" });
    this.viewportLabel = el("div", { class: "rc-label" });
    this.cameraLabel = el("div", { class: "rc-label" });
    const views = el("div", { class: "rc-views" }, [
      el("div", { class: "rc-view", style: "flex-grow:1.35" }, [this.viewport, this.viewportLabel]),
      el("div", { class: "rc-view" }, [this.camera, this.cameraLabel]),
    ]);

    // timeline
    this.playBtn = el("button", { textContent: "▶", title: "Play / pause (Space)" });
    this.frameLabel = el("span", { style: "min-width:64px;display:inline-block" });
    this.timeline = el("canvas");
    const timelineBox = el("div", { class: "rc-timeline", style: "flex:1 1 auto" }, [this.timeline]);
    const row3 = el("div", { class: "rc-row", style: "flex-wrap:nowrap" }, [this.playBtn, this.frameLabel, timelineBox]);

    // inspector
    this.keyLabel = el("span", { style: "min-width:58px;display:inline-block;color:#ffb27a" });
    this.fFrame = numberInput("Keyframe frame index", 1, 48);
    this.fPos = ["x (m)", "y (m, down)", "z (m, forward)"].map((t) => numberInput(t, 0.01, 62));
    this.fRot = ["yaw ° (+ right)", "pitch ° (+ up)", "roll ° (+ clockwise)"].map((t) => numberInput(t, 1, 56));
    const row4 = el("div", { class: "rc-row" }, [
      this.keyLabel, el("label", {}, ["frame", this.fFrame]),
      el("label", {}, ["x", this.fPos[0]]), el("label", {}, ["y", this.fPos[1]]), el("label", {}, ["z", this.fPos[2]]),
      el("label", {}, ["yaw", this.fRot[0]]), el("label", {}, ["pitch", this.fRot[1]]), el("label", {}, ["roll", this.fRot[2]]),
    ]);

    this.status = el("div", { class: "rc-status" });
    this.help = el("div", {
      class: "rc-help",
      textContent: "drag: orbit · right/middle/shift-drag: pan · wheel: zoom · double-click: orbit around that point · " +
        "drag a camera: move (Shift: forward/back, Alt: rotate) · K add · Del delete · Space play · ←/→ frame",
    });
    root.append(row1, row2, views, row3, row4, this.status, this.help);
    this.bindEvents();
  }

  bindEvents() {
    const root = this.element;
    // keep keys (Delete, Space, K, arrows) away from ComfyUI's graph shortcuts
    root.addEventListener("keydown", (e) => this.onKey(e));
    // Nodes 2.0 drags a node from any pointerdown that bubbles up to it; the title bar still does
    root.addEventListener("pointerdown", (e) => e.stopPropagation());
    for (const c of [this.viewport, this.camera, this.timeline]) {
      c.addEventListener("contextmenu", (e) => e.preventDefault());
    }
    this.viewport.addEventListener("pointerdown", (e) => this.onViewportDown(e));
    this.viewport.addEventListener("pointermove", (e) => this.onViewportMove(e));
    this.viewport.addEventListener("pointerup", (e) => this.onPointerUp(e));
    this.viewport.addEventListener("pointercancel", (e) => this.onPointerUp(e));
    this.viewport.addEventListener("dblclick", (e) => this.onViewportDblClick(e));
    this.viewport.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.camera.addEventListener("wheel", (e) => e.stopPropagation(), { passive: true });
    this.timeline.addEventListener("pointerdown", (e) => this.onTimelineDown(e));
    this.timeline.addEventListener("pointermove", (e) => this.onTimelineMove(e));
    this.timeline.addEventListener("pointerup", (e) => this.onPointerUp(e));
    this.timeline.addEventListener("pointercancel", (e) => this.onPointerUp(e));
    for (const c of [this.viewport, this.camera, this.timeline]) {
      // stop the graph canvas (classic) or the Vue node (Nodes 2.0) from starting a node drag
      c.addEventListener("pointerdown", (e) => e.stopPropagation());
    }

    this.presetApply.addEventListener("click", () => this.applyPreset());
    this.interpSelect.addEventListener("change", () => this.edit((s) => { s.interpolation = this.interpSelect.value; }));
    this.easingSelect.addEventListener("change", () => this.edit((s) => { s.easing = this.easingSelect.value; }));
    this.perSegment.addEventListener("change", () => this.edit((s) => { s.ease_per_segment = this.perSegment.checked; }));
    this.closedBox.addEventListener("change", () => this.edit((s) => { s.closed = this.closedBox.checked; }));
    this.framesInput.addEventListener("change", () => this.setNumFrames(Number(this.framesInput.value)));
    this.fpsInput.addEventListener("change", () => this.edit((s) => { s.fps = Number(this.fpsInput.value); }));
    this.fovInput.addEventListener("change", () => this.edit((s) => {
      s.fov_deg = this.fovInput.value === "" ? null : Number(this.fovInput.value);
    }));
    this.moveBtn.addEventListener("click", () => { this.mode = "move"; this.refreshControls(); });
    this.rotateBtn.addEventListener("click", () => { this.mode = "rotate"; this.refreshControls(); });
    this.snapBtn.addEventListener("click", () => { this.snap = !this.snap; this.refreshControls(); });
    this.addBtn.addEventListener("click", () => this.addKeyframe());
    this.delBtn.addEventListener("click", () => this.deleteKeyframe());
    this.undoBtn.addEventListener("click", () => this.undo());
    this.redoBtn.addEventListener("click", () => this.redo());
    this.frameViewBtn.addEventListener("click", () => { this.frameAll(); this.requestDraw(); });
    this.inputBtn.addEventListener("click", () => this.adoptInput(true));
    this.playBtn.addEventListener("click", () => this.togglePlay());
    this.fFrame.addEventListener("change", () => this.setKeyFrame(Number(this.fFrame.value)));
    this.fPos.forEach((input, i) => input.addEventListener("change", () => this.editSelected((k) => {
      k.position[i] = Number(input.value);
    })));
    this.fRot.forEach((input, i) => input.addEventListener("change", () => this.editSelected((k) => {
      k.rotation[i] = Number(input.value);
    })));
  }

  destroy() {
    clearInterval(this.watch);
    cancelAnimationFrame(this.raf);
    this.playing = false;
    this.resizeObserver?.disconnect();
  }

  // ---- state ---------------------------------------------------------------------------------

  /** Read the widget value; an invalid one is shown as an error and left untouched. */
  loadFromValue() {
    const text = this.io.readValue();
    this.lastWritten = text;
    if (!text) {
      this.brokenText = null;
      this.setState(M.validateEditorState(M.defaultEditorState()), false);
      return;
    }
    try {
      const state = M.parseEditorState(text);
      this.brokenText = null;
      if (state.view) {
        this.view = { ...this.view, ...sanitizeView(state.view) };
        this.viewFramed = true;
      }
      this.setState(state, false);
      this.showStatus("");
    } catch (e) {
      this.brokenText = text;
      this.showStatus(`${e.message} — the saved path is kept unchanged until you edit or choose a preset.`);
      this.requestDraw();
    }
  }

  checkExternalChange() {
    if (!this.element.isConnected) return;
    const text = this.io.readValue();
    if (text !== this.lastWritten && !this.drag) this.loadFromValue();
  }

  setState(state, write = true) {
    this.state = state;
    this.path = M.statePath(state);
    this.selected = Math.min(this.selected, state.keyframes.length - 1);
    this.frame = Math.min(this.frame, state.num_frames - 1);
    if (write) this.write();
    this.refreshControls();
    this.requestDraw();
  }

  write() {
    const doc = { ...this.state, view: { ...this.view } };
    const text = M.serializeEditorState(doc);
    this.lastWritten = text;
    this.brokenText = null;
    this.io.writeValue(text);
  }

  /** Apply a change to a copy of the state; validate; record undo; write the widget. */
  edit(mutate, { record = true, markEdited = true } = {}) {
    const draft = structuredClone(this.state);
    try {
      mutate(draft);
      if (markEdited) draft.source.edited = true;
      const next = M.validateEditorState(draft);
      if (record) this.pushUndo();
      this.setState(next);
      this.showStatus("");
      return true;
    } catch (e) {
      this.showStatus(e.message);
      this.refreshControls();
      return false;
    }
  }

  editSelected(mutate, opts) {
    const i = this.selected;
    return this.edit((s) => {
      const k = s.keyframes[i];
      mutate(k);
      if (this.snap) snapKeyframe(k);
    }, opts);
  }

  pushUndo() {
    this.undoStack.push(JSON.stringify(this.state));
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }

  undo() {
    if (!this.undoStack.length) return;
    this.redoStack.push(JSON.stringify(this.state));
    this.setState(M.validateEditorState(JSON.parse(this.undoStack.pop())));
  }

  redo() {
    if (!this.redoStack.length) return;
    this.undoStack.push(JSON.stringify(this.state));
    this.setState(M.validateEditorState(JSON.parse(this.redoStack.pop())));
  }

  setNumFrames(n) {
    if (!Number.isInteger(n) || n < 1 || n > M.MAX_FRAMES) {
      this.showStatus(`editor_state.num_frames: expected an integer from 1 to ${M.MAX_FRAMES}, got ${n}`);
      this.refreshControls();
      return;
    }
    const frames = M.retimeFrames(this.state.keyframes.map((k) => k.frame), this.state.num_frames, n);
    if (!frames) {
      this.showStatus(`${this.state.keyframes.length} keyframes do not fit in ${n} frames; delete some first`);
      this.refreshControls();
      return;
    }
    this.edit((s) => {
      s.num_frames = n;
      s.keyframes.forEach((k, i) => { k.frame = frames[i]; });
      if (s.closed && s.keyframes.length >= 2 && frames[frames.length - 1] >= n - 1) s.closed = false;
    });
  }

  setKeyFrame(f) {
    const i = this.selected;
    const others = this.state.keyframes.filter((_, j) => j !== i).map((k) => k.frame);
    if (others.includes(f)) {
      this.showStatus(`frame ${f} already has a keyframe`);
      this.refreshControls();
      return;
    }
    if (this.edit((s) => {
      s.keyframes[i].frame = f;
      s.keyframes.sort((a, b) => a.frame - b.frame);
    })) this.selected = Math.max(0, this.state.keyframes.findIndex((k) => k.frame === f));
    this.refreshControls();
  }

  addKeyframe() {
    const f = this.frame;
    const existing = this.state.keyframes.findIndex((k) => k.frame === f);
    if (existing >= 0) {
      this.selected = existing;
      this.refreshControls();
      this.requestDraw();
      return;
    }
    const kf = M.c2wToKeyframe(f, this.path[f]);
    if (this.snap) snapKeyframe(kf);
    if (this.edit((s) => {
      s.keyframes.push(kf);
      s.keyframes.sort((a, b) => a.frame - b.frame);
    })) {
      this.selected = this.state.keyframes.findIndex((k) => k.frame === f);
      this.refreshControls();
    }
  }

  deleteKeyframe() {
    if (this.state.keyframes.length <= 1) {
      this.showStatus("the path needs at least one keyframe");
      return;
    }
    const i = this.selected;
    this.edit((s) => { s.keyframes.splice(i, 1); });
    this.selected = Math.max(0, i - 1);
    this.refreshControls();
  }

  applyPreset() {
    const name = this.presetSelect.value;
    if (!name) {
      this.showStatus("choose a preset first");
      return;
    }
    const amp = this.presetAmp.value === "" ? null : Number(this.presetAmp.value);
    const { keyframes, interpolation } = M.presetKeyframes(name, this.state.num_frames, amp);
    this.edit((s) => {
      s.keyframes = keyframes.map((k) => ({ frame: k.frame, position: k.position.slice(), rotation: k.rotation.slice() }));
      s.interpolation = interpolation;
      s.easing = "linear";
      s.closed = false;
      s.source.preset = name;
      s.source.seeded_from_input = false;
    });
    this.selected = this.state.keyframes.length - 1;
    this.frameAll();
    this.refreshControls();
  }

  // ---- node payload --------------------------------------------------------------------------

  /** The node ran: take its scene cloud and (maybe) the incoming trajectory. */
  setPayload(payload) {
    if (!payload) return;
    if (payload.scene) {
      try {
        this.cloud = M.decodeScenePayload(payload.scene);
        this.sceneInfo = { width: payload.scene.width, height: payload.scene.height, K: this.cloud.K };
        this.groundY = estimateGround(this.cloud);
        if (!this.viewFramed) this.frameAll();
      } catch (e) {
        this.showStatus(`could not read the scene from the node: ${e.message}`);
      }
    }
    this.pendingInput = payload.input_state ?? null;
    if (this.pendingInput && !this.state.source.edited && !this.brokenText) this.adoptInput(false);
    this.refreshControls();
    this.requestDraw();
  }

  /** Seed from the incoming trajectory: automatic while the path is unedited, else on request. */
  adoptInput(userAsked) {
    if (!this.pendingInput) return;
    let seeded;
    try {
      seeded = M.parseEditorState(this.pendingInput);
    } catch (e) {
      this.showStatus(`incoming trajectory: ${e.message}`);
      return;
    }
    const same = JSON.stringify(seeded.keyframes) === JSON.stringify(this.state.keyframes)
      && seeded.num_frames === this.state.num_frames && seeded.interpolation === this.state.interpolation;
    if (same && !userAsked) return;
    seeded.source = { preset: null, seeded_from_input: true, edited: Boolean(userAsked) };
    this.pushUndo();
    this.setState(M.validateEditorState(seeded));
    this.showStatus(userAsked ? "path replaced by the connected trajectory (Undo restores yours)"
      : "path seeded from the connected trajectory; your edits will take over from it", true);
  }

  // ---- view helpers --------------------------------------------------------------------------

  /** Image size and intrinsics of the path's cameras (scene, or RealCam's default at 512x320). */
  cameraModel() {
    const w = this.sceneInfo?.width ?? 512, h = this.sceneInfo?.height ?? 320;
    let K = this.sceneInfo?.K ?? M.defaultIntrinsics(w, h);
    if (this.state.fov_deg !== null) K = M.defaultIntrinsics(w, h, this.state.fov_deg);
    return { width: w, height: h, K };
  }

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
  }

  viewportCamera(width, height) {
    const f = (0.5 * height) / Math.tan((VIEW_FOV_DEG * Math.PI) / 360);
    const K = { fx: f, fy: f, cx: width / 2, cy: height / 2 };
    const c2w = M.orbitC2w(this.view);
    return { K, c2w, w2c: M.invertRigid(c2w) };
  }

  eventPos(e, canvas) {
    const r = canvas.getBoundingClientRect();
    const sx = canvas.width / Math.max(1, r.width), sy = canvas.height / Math.max(1, r.height);
    return [(e.clientX - r.left) * sx, (e.clientY - r.top) * sy];
  }

  /** Index of the keyframe whose camera is under the pointer (centre or frustum), or -1. */
  pickKeyframe(x, y) {
    const { K, w2c } = this.viewportCamera(this.viewport.width, this.viewport.height);
    const cam = this.cameraModel();
    let best = -1, bestD = 14;
    this.state.keyframes.forEach((k, i) => {
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
  }

  frustumSize() {
    return Math.max(0.12, Math.min(1.0, this.view.distance * 0.06));
  }

  // ---- events --------------------------------------------------------------------------------

  onKey(e) {
    e.stopPropagation();
    const tag = e.target?.tagName;
    if (tag === "INPUT" || tag === "SELECT") {
      if (e.key === "Enter") e.target.blur();
      return;
    }
    const ctrl = e.ctrlKey || e.metaKey;
    // Ctrl+Z / Ctrl+Y: ComfyUI's own undo (a window capture listener) already restores the graph,
    // this widget's value included, and every edit here is recorded there; doing it here as well
    // would undo twice. The Undo / Redo buttons use the editor's own history.
    if (ctrl) return;
    let handled = true;
    if (e.key === "Delete" || e.key === "Backspace") this.deleteKeyframe();
    else if (e.key === "k" || e.key === "K") this.addKeyframe();
    else if (e.key === " ") this.togglePlay();
    else if (e.key === "ArrowLeft") this.setFrame(this.frame - 1);
    else if (e.key === "ArrowRight") this.setFrame(this.frame + 1);
    else if (e.key === "Home") this.setFrame(0);
    else if (e.key === "End") this.setFrame(this.state.num_frames - 1);
    else handled = false;
    if (handled) e.preventDefault();
  }

  onViewportDown(e) {
    this.element.focus({ preventScroll: true });
    const [x, y] = this.eventPos(e, this.viewport);
    const hit = e.button === 0 ? this.pickKeyframe(x, y) : -1;
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
  }

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
  }

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
  }

  onPointerUp(e) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    try { e.target.releasePointerCapture?.(e.pointerId); } catch { /* already released */ }
    if (d.changed && d.startState) {
      const done = structuredClone(this.state);
      this.state = M.validateEditorState(d.startState);
      this.edit((s) => Object.assign(s, done));
    } else if (d.changed) {
      this.setState(this.state);
    }
    this.requestDraw();
  }

  onViewportDblClick(e) {
    const [x, y] = this.eventPos(e, this.viewport);
    const p = this.pickScenePoint(Math.round(x), Math.round(y));
    if (!p) return;
    const eye = M.translationOf(M.orbitC2w(this.view));
    this.view = M.orbitFromEye(eye, p);
    this.requestDraw();
  }

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
  }

  onWheel(e) {
    e.preventDefault();
    e.stopPropagation();
    this.view.distance = Math.max(0.05, Math.min(500, this.view.distance * Math.exp(e.deltaY * 0.0012)));
    this.requestDraw();
  }

  timelineFrameAt(x) {
    const n = this.state.num_frames;
    const pad = 10, w = this.timeline.width - 2 * pad;
    return Math.max(0, Math.min(n - 1, Math.round(((x - pad) / Math.max(1, w)) * Math.max(1, n - 1))));
  }

  timelineX(f) {
    const n = this.state.num_frames;
    const pad = 10, w = this.timeline.width - 2 * pad;
    return pad + (n > 1 ? (f / (n - 1)) * w : w / 2);
  }

  onTimelineDown(e) {
    this.element.focus({ preventScroll: true });
    const [x, y] = this.eventPos(e, this.timeline);
    const hit = this.state.keyframes.findIndex((k) => Math.abs(this.timelineX(k.frame) - x) < 7 && y > 6);
    this.timeline.setPointerCapture(e.pointerId);
    if (hit >= 0) {
      this.selected = hit;
      this.frame = this.state.keyframes[hit].frame;
      this.drag = { kind: "retime", startState: structuredClone(this.state), changed: false };
    } else {
      this.drag = { kind: "scrub", changed: false };
      this.setFrame(this.timelineFrameAt(x));
    }
    this.refreshControls();
    this.requestDraw();
    e.preventDefault();
  }

  onTimelineMove(e) {
    const d = this.drag;
    if (!d || !this.timeline.hasPointerCapture(e.pointerId)) return;
    const [x] = this.eventPos(e, this.timeline);
    const f = this.timelineFrameAt(x);
    if (d.kind === "scrub") this.setFrame(f);
    else if (d.kind === "retime") {
      const i = this.selected;
      const ks = this.state.keyframes;
      const lo = i > 0 ? ks[i - 1].frame + 1 : 0;
      const hi = i < ks.length - 1 ? ks[i + 1].frame - 1 : this.state.num_frames - 1;
      const nf = Math.max(lo, Math.min(hi, f));
      if (nf !== ks[i].frame) {
        const draft = structuredClone(this.state);
        draft.keyframes[i].frame = nf;
        try {
          this.state = M.validateEditorState(draft);
          this.path = M.statePath(this.state);
          this.frame = nf;
          d.changed = true;
          this.refreshInspector();
        } catch (err) {
          this.showStatus(err.message);
        }
      }
      this.requestDraw();
    }
  }

  setFrame(f) {
    this.frame = Math.max(0, Math.min(this.state.num_frames - 1, f));
    const k = this.state.keyframes.findIndex((kf) => kf.frame === this.frame);
    if (k >= 0) this.selected = k;
    this.refreshControls();
    this.requestDraw();
  }

  togglePlay() {
    this.playing = !this.playing;
    this.playBtn.textContent = this.playing ? "❚❚" : "▶";
    if (!this.playing) return;
    let last = performance.now();
    let acc = 0;
    const step = (now) => {
      if (!this.playing || !this.element.isConnected) {
        this.playing = false;
        this.playBtn.textContent = "▶";
        return;
      }
      acc += ((now - last) / 1000) * this.state.fps;
      last = now;
      if (acc >= 1) {
        const adv = Math.floor(acc);
        acc -= adv;
        this.frame = (this.frame + adv) % this.state.num_frames;
        this.refreshFrameLabel();
        this.drawNow();
      }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  // ---- UI refresh ----------------------------------------------------------------------------

  showStatus(text, info = false) {
    this.status.textContent = text;
    this.status.classList.toggle("rc-info", info);
    this.status.title = text;
  }

  refreshControls() {
    const s = this.state;
    const active = document.activeElement;
    const set = (input, value) => { if (input !== active) input.value = value; };
    set(this.interpSelect, s.interpolation);
    set(this.easingSelect, s.easing);
    this.perSegment.checked = s.ease_per_segment;
    this.closedBox.checked = s.closed;
    set(this.framesInput, String(s.num_frames));
    set(this.fpsInput, String(s.fps));
    set(this.fovInput, s.fov_deg === null ? "" : String(s.fov_deg));
    this.moveBtn.classList.toggle("rc-on", this.mode === "move");
    this.rotateBtn.classList.toggle("rc-on", this.mode === "rotate");
    this.snapBtn.classList.toggle("rc-on", this.snap);
    this.undoBtn.disabled = !this.undoStack.length;
    this.redoBtn.disabled = !this.redoStack.length;
    this.delBtn.disabled = s.keyframes.length <= 1;
    this.inputBtn.disabled = !this.pendingInput;
    this.refreshInspector();
    this.refreshFrameLabel();
  }

  refreshInspector() {
    const k = this.state.keyframes[this.selected];
    const active = document.activeElement;
    const set = (input, v, digits) => { if (input !== active) input.value = String(Number(v.toFixed(digits))); };
    this.keyLabel.textContent = `key ${this.selected + 1}/${this.state.keyframes.length}`;
    set(this.fFrame, k.frame, 0);
    this.fPos.forEach((input, i) => set(input, k.position[i], 3));
    this.fRot.forEach((input, i) => set(input, k.rotation[i], 2));
  }

  refreshFrameLabel() {
    this.frameLabel.textContent = `frame ${this.frame}/${this.state.num_frames - 1}`;
  }

  requestDraw() {
    this.dirty = true;
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      if (this.dirty) this.drawNow();
    });
  }

  drawNow() {
    this.dirty = false;
    if (!this.element.isConnected) return;
    this.drawViewport();
    this.drawCamera();
    this.drawTimeline();
  }

  // ---- drawing -------------------------------------------------------------------------------

  fitCanvas(canvas, maxWidth = 1600) {
    const r = canvas.getBoundingClientRect();
    const scale = Math.min(1, maxWidth / Math.max(1, r.width));
    const w = Math.max(16, Math.round(r.width * scale)), h = Math.max(16, Math.round(r.height * scale));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    return [w, h];
  }

  drawViewport() {
    const canvas = this.viewport;
    const [W, H] = this.fitCanvas(canvas, 900);
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
    ctx.lineWidth = 2;
    ctx.strokeStyle = COLORS.path;
    for (let i = 0; i + 1 < this.path.length; i++) {
      this.line(ctx, M.translationOf(this.path[i]), M.translationOf(this.path[i + 1]), w2c, K);
    }
    ctx.fillStyle = COLORS.path;
    for (const m of this.path) {
      const uv = M.projectPoint(M.translationOf(m), w2c, K, 0.05);
      if (uv) ctx.fillRect(uv[0] - 1.5, uv[1] - 1.5, 3, 3);
    }
    // cameras: keyframes, then the current frame
    const cam = this.cameraModel();
    const size = this.frustumSize();
    this.state.keyframes.forEach((k, i) => {
      ctx.strokeStyle = i === this.selected ? COLORS.selected : COLORS.key;
      ctx.lineWidth = i === this.selected ? 2 : 1.2;
      for (const [a, b] of M.frustumSegments(M.keyframeToC2w(k), cam.K, cam.width, cam.height, size)) this.line(ctx, a, b, w2c, K);
    });
    ctx.strokeStyle = COLORS.current;
    ctx.lineWidth = 1.5;
    for (const [a, b] of M.frustumSegments(this.path[this.frame], cam.K, cam.width, cam.height, size * 0.8)) this.line(ctx, a, b, w2c, K);
    // pivot
    const piv = M.projectPoint(this.view.target, w2c, K, 0.05);
    if (piv) {
      ctx.strokeStyle = "rgba(255,255,255,0.6)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(piv[0], piv[1], 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    const n = this.cloud ? `${this.cloud.count.toLocaleString()} points` : "no scene yet: run the workflow once to load the point cloud";
    this.viewportLabel.textContent = `3D view · ${n} · grid 1 m`;
  }

  line(ctx, a, b, w2c, K) {
    const s = M.projectSegment(a, b, w2c, K, 0.05);
    if (!s) return;
    ctx.beginPath();
    ctx.moveTo(s[0], s[1]);
    ctx.lineTo(s[2], s[3]);
    ctx.stroke();
  }

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
  }

  drawAxes(ctx, w2c, K) {
    const o = [0, 0, 0];
    ctx.lineWidth = 2;
    for (const [axis, color] of [[[0.5, 0, 0], COLORS.axisX], [[0, 0.5, 0], COLORS.axisY], [[0, 0, 0.5], COLORS.axisZ]]) {
      ctx.strokeStyle = color;
      this.line(ctx, o, axis, w2c, K);
    }
  }

  drawCamera() {
    const canvas = this.camera;
    const [CW, CH] = this.fitCanvas(canvas, 900);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#0c0c0e";
    ctx.fillRect(0, 0, CW, CH);
    const cam = this.cameraModel();
    // render at the scene's aspect (capped resolution), letterboxed into the panel
    const rw = Math.min(cam.width, MAX_CAMERA_VIEW_WIDTH);
    const rh = Math.max(1, Math.round((cam.height * rw) / cam.width));
    const K = M.fitIntrinsics(cam.K, cam.height, cam.width, rh, rw, "stretch");
    const pose = this.path[this.frame];
    const t0 = performance.now();
    if (!this.cameraCanvas) this.cameraCanvas = document.createElement("canvas");
    const off = this.cameraCanvas;
    if (off.width !== rw || off.height !== rh) { off.width = rw; off.height = rh; }
    const octx = off.getContext("2d");
    if (this.cloud) {
      this.cameraBuffers = M.renderPointCloud(this.cloud, K, pose, rw, rh, { splat: 2, background: [0, 0, 0], mode: "surface" }, this.cameraBuffers);
      octx.putImageData(new ImageData(this.cameraBuffers.rgba, rw, rh), 0, 0);
    } else {
      octx.fillStyle = "#000";
      octx.fillRect(0, 0, rw, rh);
      this.drawGrid(octx, M.invertRigid(pose), K, 1);
    }
    this.timing.camera = performance.now() - t0;
    const s = Math.min(CW / rw, CH / rh);
    const dw = rw * s, dh = rh * s;
    ctx.imageSmoothingEnabled = s < 1;
    ctx.drawImage(off, (CW - dw) / 2, (CH - dh) / 2, dw, dh);
    this.cameraLabel.textContent = `camera · frame ${this.frame} · ${rw}×${rh} · ${this.timing.camera.toFixed(1)} ms`;
  }

  drawTimeline() {
    const canvas = this.timeline;
    const [W, H] = this.fitCanvas(canvas, 2000);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, W, H);
    const n = this.state.num_frames;
    const y = H / 2 + 4;
    ctx.strokeStyle = "#555";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(this.timelineX(0), y);
    ctx.lineTo(this.timelineX(n - 1), y);
    ctx.stroke();
    const every = Math.max(1, Math.ceil(n / Math.max(1, W / 8)));
    ctx.fillStyle = "#777";
    ctx.font = "9px system-ui,sans-serif";
    for (let f = 0; f < n; f += every) {
      const x = this.timelineX(f);
      ctx.fillRect(x, y - 3, 1, 6);
      if (f % (every * 5) === 0) ctx.fillText(String(f), x + 2, 10);
    }
    this.state.keyframes.forEach((k, i) => {
      const x = this.timelineX(k.frame);
      ctx.fillStyle = i === this.selected ? COLORS.selected : COLORS.key;
      ctx.beginPath();
      ctx.moveTo(x, y - 7);
      ctx.lineTo(x + 6, y);
      ctx.lineTo(x, y + 7);
      ctx.lineTo(x - 6, y);
      ctx.closePath();
      ctx.fill();
    });
    const x = this.timelineX(this.frame);
    ctx.strokeStyle = COLORS.current;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, 2);
    ctx.lineTo(x, H - 2);
    ctx.stroke();
  }
}

// ---------------------------------------------------------------------------------------------
// helpers outside the class

function snapKeyframe(k) {
  k.position = k.position.map((v) => M.snapTo(v, SNAP_M));
  k.rotation = k.rotation.map((v) => M.snapTo(v, SNAP_DEG));
}

function sanitizeView(v) {
  const out = {};
  if (Array.isArray(v.target) && v.target.length === 3 && v.target.every(Number.isFinite)) out.target = v.target.slice();
  for (const k of ["distance", "azimuth", "elevation"]) if (Number.isFinite(v[k])) out[k] = v[k];
  return out;
}

/** Centre and robust radius of a cloud (subsampled). */
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

/** Height of the ground grid: the 98th percentile of y (y points down), i.e. near the cloud's bottom. */
function estimateGround(cloud) {
  const step = Math.max(1, Math.floor(cloud.count / 4000));
  const ys = [];
  for (let i = 0; i < cloud.count; i += step) ys.push(cloud.positions[3 * i + 1]);
  if (!ys.length) return 1.6;
  ys.sort((a, b) => a - b);
  return ys[Math.floor(0.98 * (ys.length - 1))];
}

function hideWidget(widget) {
  widget.hidden = true; // classic canvas
  widget.options = { ...(widget.options ?? {}), hidden: true }; // Vue renderer (Nodes 2.0)
  widget.type = "hidden";
  widget.computeSize = () => [0, -4];
  widget.computeLayoutSize = () => ({ minHeight: 0, maxHeight: 0, minWidth: 0 });
}

/** Cache key of a node's scene: the graph's id (saved with the workflow) and the node id. */
function nodeKey(node) {
  return `${app.graph?.id ?? ""}:${String(node.id)}`;
}

function payloadOf(message) {
  const raw = message?.[UI_KEY]?.[0];
  if (!raw) return null;
  return typeof raw === "string" ? JSON.parse(raw) : raw;
}

function restorePayload(node) {
  const editor = node.realcamEditor;
  if (!editor) return;
  const key = nodeKey(node);
  const mem = payloads.get(key) ?? payloadOf(app.nodeOutputs?.[String(node.id)]);
  if (mem) {
    editor.setPayload(mem);
    return;
  }
  idb.get(key).then((stored) => {
    if (stored && node.realcamEditor === editor && !editor.cloud) {
      payloads.set(key, stored);
      editor.setPayload({ ...stored, input_state: null });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// ComfyUI extension

app.registerExtension({
  name: "comfyui-realcam.TrajectoryEditor",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_TYPE) return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      try {
        const payload = payloadOf(message);
        if (payload) {
          const key = nodeKey(this);
          payloads.set(key, payload);
          if (payload.scene) idb.put(key, { scene: payload.scene });
          this.realcamEditor?.setPayload(payload);
        }
      } catch (e) {
        console.warn("[RealCam] could not read the editor payload", e);
      }
      return result;
    };
  },

  nodeCreated(node) {
    if (node.comfyClass !== NODE_TYPE) return;
    const stateWidget = node.widgets?.find((w) => w.name === STATE_WIDGET);
    if (!stateWidget) return;
    hideWidget(stateWidget);
    const editor = createTrajectoryEditor({
      readValue: () => (typeof stateWidget.value === "string" ? stateWidget.value : ""),
      writeValue: (text) => {
        stateWidget.value = text;
        stateWidget.callback?.(text);
        node.setDirtyCanvas?.(true, true);
        // record the change now (undo history, "modified" mark, the auto-saved workflow): the
        // frontend otherwise only looks after canvas events, and edits here may not produce one
        try {
          app.extensionManager?.workflow?.activeWorkflow?.changeTracker?.checkState?.();
        } catch (e) {
          console.warn("[RealCam] change tracking failed", e);
        }
      },
    });
    node.realcamEditor = editor;
    const widget = node.addDOMWidget("trajectory_editor", "realcam_trajectory_editor", editor.element, {
      serialize: false,
      hideOnZoom: false,
      getMinHeight: () => MIN_EDITOR_HEIGHT,
    });
    widget.serialize = false;

    const onConfigure = node.onConfigure;
    node.onConfigure = function () {
      const r = onConfigure?.apply(this, arguments);
      editor.loadFromValue();
      restorePayload(node);
      return r;
    };
    const onRemoved = node.onRemoved;
    node.onRemoved = function () {
      editor.destroy();
      return onRemoved?.apply(this, arguments);
    };
    node.setSize?.([Math.max(node.size?.[0] ?? 0, 600), Math.max(node.size?.[1] ?? 0, 700)]);
    queueMicrotask(() => restorePayload(node));
  },

  afterConfigureGraph() {
    for (const node of app.graph?.nodes ?? []) {
      if (node.comfyClass === NODE_TYPE && node.realcamEditor && !node.realcamEditor.cloud) restorePayload(node);
    }
  },
});
