/**
 * Trajectory Editor: the keyframe model. The path as validated state, its edits with undo / redo, keyframes,
 * presets, the incoming trajectory, and the widget value it is saved in. Methods mixed into the editor class
 * (editor/core.js); all maths and validation are realcam_math.js's.
 */
import * as M from "../realcam_math.js";
import { SNAP_DEG, SNAP_M, UNDO_LIMIT } from "./dom.js";
import { estimateGround } from "./scene_view.js";

export function snapKeyframe(k) {
  k.position = k.position.map((v) => M.snapTo(v, SNAP_M));
  k.rotation = k.rotation.map((v) => M.snapTo(v, SNAP_DEG));
}

function sanitizeView(v) {
  const out = {};
  if (Array.isArray(v.target) && v.target.length === 3 && v.target.every(Number.isFinite)) out.target = v.target.slice();
  for (const k of ["distance", "azimuth", "elevation"]) if (Number.isFinite(v[k])) out[k] = v[k];
  return out;
}

export const keyframeModel = {
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
  },

  checkExternalChange() {
    if (!this.element.isConnected) return;
    const text = this.io.readValue();
    if (text !== this.lastWritten && !this.drag) this.loadFromValue();
  },

  setState(state, write = true) {
    this.state = state;
    this.path = M.statePath(state);
    this.selected = Math.min(this.selected, state.keyframes.length - 1);
    this.frame = Math.min(this.frame, state.num_frames - 1);
    if (write) this.write();
    this.refreshControls();
    this.requestDraw();
  },

  write() {
    const doc = { ...this.state, view: { ...this.view } };
    const text = M.serializeEditorState(doc);
    this.lastWritten = text;
    this.brokenText = null;
    this.io.writeValue(text);
  },

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
  },

  editSelected(mutate, opts) {
    const i = this.selected;
    return this.edit((s) => {
      const k = s.keyframes[i];
      mutate(k);
      if (this.snap) snapKeyframe(k);
    }, opts);
  },

  pushUndo() {
    this.undoStack.push(JSON.stringify(this.state));
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  },

  undo() {
    if (!this.undoStack.length) return;
    this.redoStack.push(JSON.stringify(this.state));
    this.setState(M.validateEditorState(JSON.parse(this.undoStack.pop())));
  },

  redo() {
    if (!this.redoStack.length) return;
    this.undoStack.push(JSON.stringify(this.state));
    this.setState(M.validateEditorState(JSON.parse(this.redoStack.pop())));
  },

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
  },

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
  },

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
  },

  deleteKeyframe() {
    if (this.state.keyframes.length <= 1) {
      this.showStatus("the path needs at least one keyframe");
      return;
    }
    const i = this.selected;
    this.edit((s) => { s.keyframes.splice(i, 1); });
    this.selected = Math.max(0, i - 1);
    this.refreshControls();
  },

  applyPreset() {
    const name = this.presetSelect.value;
    if (!name) {
      this.showStatus("choose a preset first");
      return;
    }
    const amp = this.presetAmp.value === "" || Number(this.presetAmp.value) === 0 ? null : Number(this.presetAmp.value);
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
  },

  /** The node ran: take its scene cloud and (maybe) the incoming trajectory. */
  setPayload(payload) {
    if (!payload) return;
    if (payload.cloud || payload.scene) {
      try {
        // payload.scene: the inline JSON of older runs still in a saved history
        this.cloud = payload.cloud ?? M.decodeScenePayload(payload.scene);
        this.sceneInfo = { width: this.cloud.width, height: this.cloud.height, K: this.cloud.K };
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
  },

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
    this.presetSelect.value = "";  // the path is no longer the preset the menu named
    this.pushUndo();
    this.setState(M.validateEditorState(seeded));
    this.showStatus(userAsked ? "path replaced by the connected trajectory (Undo restores yours)"
      : "path seeded from the connected trajectory; your edits will take over from it", true);
  },

  /** Keyframe i is the anchor: frame 0, the photo's own camera. Drags never move it (the fields do). */
  isAnchor(i) {
    return i === 0 && this.state.keyframes[0]?.frame === 0;
  },
};
