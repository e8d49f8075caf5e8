/**
 * Trajectory Editor: the timeline. Frame ruler, keyframe diamonds (retimed by dragging; frame 0's anchor
 * never), scrubbing and playback. Methods mixed into the editor class (editor/core.js).
 */
import * as M from "../realcam_math.js";
import { COLORS, MAX_WIDTH } from "./dom.js";

export const timeline = {
  timelineFrameAt(x) {
    const n = this.state.num_frames;
    const pad = 10 * this.pxRatio("timeline"), w = this.timeline.width - 2 * pad;
    return Math.max(0, Math.min(n - 1, Math.round(((x - pad) / Math.max(1, w)) * Math.max(1, n - 1))));
  },

  timelineX(f) {
    const n = this.state.num_frames;
    const pad = 10 * this.pxRatio("timeline"), w = this.timeline.width - 2 * pad;
    return pad + (n > 1 ? (f / (n - 1)) * w : w / 2);
  },

  onTimelineDown(e) {
    this.element.focus({ preventScroll: true });
    const [x, y] = this.eventPos(e, this.timeline);
    // the ruler strip (labels) always scrubs; a keyframe diamond retimes it, except the anchor at frame 0
    const r = this.pxRatio("timeline");
    const hit = y > 12 * r ? this.state.keyframes.findIndex((k, i) => !this.isAnchor(i)
      && Math.abs(this.timelineX(k.frame) - x) < 7 * r) : -1;
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
  },

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
  },

  setFrame(f) {
    this.frame = Math.max(0, Math.min(this.state.num_frames - 1, f));
    const k = this.state.keyframes.findIndex((kf) => kf.frame === this.frame);
    if (k >= 0) this.selected = k;
    this.refreshControls();
    this.requestDraw();
  },

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
  },

  refreshFrameLabel() {
    this.frameLabel.textContent = `frame ${this.frame}/${this.state.num_frames - 1}`;
  },

  drawTimeline() {
    const canvas = this.timeline;
    const [W, H] = this.fitCanvas(canvas, MAX_WIDTH.timeline);
    const px = this.pxRatio("timeline");
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, W, H);
    const n = this.state.num_frames;
    const y = H / 2 + 4 * px;
    ctx.strokeStyle = "#555";
    ctx.lineWidth = px;
    ctx.beginPath();
    ctx.moveTo(this.timelineX(0), y);
    ctx.lineTo(this.timelineX(n - 1), y);
    ctx.stroke();
    const every = Math.max(1, Math.ceil(n / Math.max(1, W / (8 * px))));
    ctx.fillStyle = "#777";
    ctx.font = `${Math.round(9 * px)}px system-ui,sans-serif`;
    const labels = [];
    for (let f = 0; f < n; f += every) {
      const x = this.timelineX(f);
      ctx.fillRect(x, y - 3 * px, px, 6 * px);
      if (f % (every * 5) === 0) labels.push(f);
    }
    if (labels[labels.length - 1] !== n - 1) labels.push(n - 1);  // the last frame is always labelled
    let right = -Infinity;
    this.timelineLabelBoxes = [];  // what was drawn where (tests check nothing is clipped)
    for (const f of labels) {
      const text = String(f);
      const tw = ctx.measureText(text).width;
      // keep every label inside the canvas (the last one ends at the right edge) and apart
      const tx = Math.min(this.timelineX(f) + 2 * px, W - tw - px);
      if (tx < right + 3 * px && f !== n - 1) continue;
      ctx.fillText(text, tx, 10 * px);
      this.timelineLabelBoxes.push({ frame: f, x: tx, width: tw });
      right = tx + tw;
    }
    this.state.keyframes.forEach((k, i) => {
      const x = this.timelineX(k.frame);
      ctx.fillStyle = this.isAnchor(i) ? COLORS.anchor : i === this.selected ? COLORS.selected : COLORS.key;
      ctx.beginPath();
      ctx.moveTo(x, y - 7 * px);
      ctx.lineTo(x + 6 * px, y);
      ctx.lineTo(x, y + 7 * px);
      ctx.lineTo(x - 6 * px, y);
      ctx.closePath();
      ctx.fill();
    });
    const x = this.timelineX(this.frame);
    ctx.strokeStyle = COLORS.current;
    ctx.lineWidth = 2 * px;
    ctx.beginPath();
    ctx.moveTo(x, 2);
    ctx.lineTo(x, H - 2);
    ctx.stroke();
  },
};
