/**
 * Trajectory Editor: shared constants, colours and small DOM helpers (no ComfyUI imports).
 */

export const MIN_EDITOR_HEIGHT = 470;
export const UNDO_LIMIT = 200;
export const SNAP_M = 0.05;
export const SNAP_DEG = 5;
export const VIEW_FOV_DEG = 60;
export const MAX_CAMERA_VIEW_WIDTH = 640;
// most backing-store pixels across per canvas (displayed width x devicePixelRatio up to this)
export const MAX_WIDTH = { viewport: 1400, camera: 1200, timeline: 2400 };
export const COLORS = {
  bg: [22, 22, 26],
  grid: "rgba(150,150,160,0.28)",
  gridMajor: "rgba(190,190,200,0.5)",
  path: "#f5c542",
  key: "#e6e6e6",
  selected: "#ff8a3d",
  current: "#3dd6ff",
  anchor: "#5fd068",
  axisX: "#e05555",
  axisY: "#55c060",
  axisZ: "#5588ff",
};

export function el(tag, props = {}, children = []) {
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

export function numberInput(title, step, width = 56) {
  return el("input", { type: "number", step: String(step), title, style: `width:${width}px` });
}

export function installStyle() {
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
.rc-help{color:#888;white-space:normal;line-height:1.25;flex:0 0 auto}
.rc-sep{width:1px;height:16px;background:#444;margin:0 2px}`;
  document.head.append(el("style", { id: "realcam-editor-style", textContent: css }));
}
