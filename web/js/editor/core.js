/**
 * Trajectory Editor: the editor object. Builds the DOM, routes events, refreshes controls and draws on
 * request; the concerns live in keyframe_model.js, scene_view.js, camera_view.js and timeline.js (mixed in
 * below). Works in the classic LiteGraph canvas and in Nodes 2.0: everything is one DOM element.
 */
import * as M from "../realcam_math.js";
import { cameraView } from "./camera_view.js";
import { el, installStyle, MAX_WIDTH, numberInput, SNAP_DEG, SNAP_M } from "./dom.js";
import { keyframeModel } from "./keyframe_model.js";
import { sceneView } from "./scene_view.js";
import { timeline } from "./timeline.js";

/**
 * Create an editor bound to a string value (the node's editor_state widget).
 * @param {{readValue: () => string, writeValue: (text: string) => void}} io
 */
export function createTrajectoryEditor(io) {
  return new TrajectoryEditor(io);
}

export class TrajectoryEditor {
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
    // A canvas zoom scales the widget with a CSS transform: no resize event, no ResizeObserver call.
    // So every animation frame compares the canvases' backing size with their displayed size.
    this.sizeRaf = 0;
    const watchSize = () => {
      if (this.destroyed) return;
      if (this.element.isConnected && !this.dirty && this.canvasSizesStale()) this.drawNow();
      this.sizeRaf = requestAnimationFrame(watchSize);
    };
    this.sizeRaf = requestAnimationFrame(watchSize);
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
    this.presetAmp = numberInput("Preset amplitude: metres for zoom/pan, degrees for look/orbit/rotate " +
      "(0 or blank = the official demo's amount, as on RealCam Camera Preset)", 0.1, 48);
    this.presetApply = el("button", { textContent: "Apply", title: "Replace the path with the preset" });
    this.interpSelect = el("select", { title: "Interpolation between keyframes" },
      M.INTERPOLATIONS.map((n) => el("option", { value: n, textContent: n })));
    this.easingSelect = el("select", { title: "Easing (time warp)" }, M.EASINGS.map((n) => el("option", { value: n, textContent: n })));
    this.perSegment = el("input", { type: "checkbox", title: "Ease inside every segment (the camera rests at each keyframe)" });
    this.framesInput = numberInput("Number of frames (1..1024)", 1, 50);
    this.framesChoice = el("select", { title: "Frame count for the video model (Wan takes 4k+1 frames); " +
      "keyframe times stretch to the new length" }, M.FRAME_CHOICES.map(([n]) => el("option", { value: n, textContent: n })));
    this.fpsInput = numberInput("Playback frames per second", 1, 42);
    this.closedBox = el("input", { type: "checkbox", title: "Loop: the last frame returns to the first keyframe" });
    this.fovInput = numberInput("Horizontal field of view in degrees (blank = the scene's intrinsics)", 1, 44);
    const row1 = el("div", { class: "rc-row" }, [
      this.presetSelect, this.presetAmp, this.presetApply, el("span", { class: "rc-sep" }),
      this.interpSelect, this.easingSelect, el("label", { title: this.perSegment.title }, [this.perSegment, "per seg"]),
      el("span", { class: "rc-sep" }),
      el("label", {}, ["frames", this.framesInput, this.framesChoice]), el("label", {}, ["fps", this.fpsInput]),
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
        "drag a camera: move (Shift: forward/back, Alt: rotate) · the green camera is the photo's own (frame 0): " +
        "edit it in the fields · K add · Del delete · Space play · ←/→ frame",
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
    this.framesChoice.addEventListener("change", () => {
      const n = M.FRAME_CHOICES.find(([name]) => name === this.framesChoice.value)?.[1];
      if (n) this.setNumFrames(n);
      else this.framesInput.focus(); // "custom": type the count
    });
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
    this.destroyed = true;
    clearInterval(this.watch);
    cancelAnimationFrame(this.raf);
    cancelAnimationFrame(this.sizeRaf);
    this.playing = false;
    this.resizeObserver?.disconnect();
  }

  eventPos(e, canvas) {
    const r = canvas.getBoundingClientRect();
    const sx = canvas.width / Math.max(1, r.width), sy = canvas.height / Math.max(1, r.height);
    return [(e.clientX - r.left) * sx, (e.clientY - r.top) * sy];
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
    this.framesChoice.value = M.frameChoiceFor(s.num_frames); // always: a refused choice must not stay shown
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

  /**
   * Backing-store size of a canvas: its displayed size (after the graph's zoom) times devicePixelRatio,
   * capped at maxWidth pixels across (the point splat's cost grows with the pixel count).
   */
  canvasTarget(canvas, maxWidth) {
    const r = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const scale = Math.min(dpr, maxWidth / Math.max(1, r.width));
    return [Math.max(16, Math.round(r.width * scale)), Math.max(16, Math.round(r.height * scale)), r.width];
  }

  fitCanvas(canvas, maxWidth) {
    const [w, h, cssWidth] = this.canvasTarget(canvas, maxWidth);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    this.ratios = this.ratios ?? {};
    this.ratios[canvas === this.viewport ? "viewport" : canvas === this.camera ? "camera" : "timeline"] =
      w / Math.max(1, cssWidth);
    return [w, h];
  }

  /** Backing pixels per CSS pixel of a canvas at its last draw (line widths and hit radii scale by it). */
  pxRatio(name) {
    return this.ratios?.[name] ?? 1;
  }

  canvasSizesStale() {
    for (const [canvas, max] of [[this.viewport, MAX_WIDTH.viewport], [this.camera, MAX_WIDTH.camera],
      [this.timeline, MAX_WIDTH.timeline]]) {
      const [w, h] = this.canvasTarget(canvas, max);
      if (canvas.width !== w || canvas.height !== h) return true;
    }
    return false;
  }
}

Object.assign(TrajectoryEditor.prototype, keyframeModel, sceneView, cameraView, timeline);
