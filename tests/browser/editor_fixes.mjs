// First-five-minutes fixes of the Trajectory Editor (issue 13), with real mouse and wheel input:
// scrubbing from frame 0 never retimes a keyframe; frame 0's camera is a fixed, visible anchor that an
// orbit drag starting on it does not move; after a graph-canvas zoom (wheel outside the editor) every
// editor canvas's backing store follows its displayed size x devicePixelRatio within one frame, in the
// classic (LiteGraph) and the Nodes 2.0 (Vue) renderer.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const DPR = 1.5;
const { page, consoleErrors, close } = await openComfy(args.url, { deviceScaleFactor: DPR });
const result = { dpr: DPR, zoom: {} };

const editor = () => "window.app.graph.nodes.find((x) => x.comfyClass === 'RealCamTrajectoryEditor').realcamEditor";
const ev = (body, arg) => page.evaluate(new Function("arg", `const ed = ${editor()}; ${body}`), arg);
const keyframes = () => ev("return ed.state.keyframes.map((k) => ({ frame: k.frame, position: k.position.slice() }));");
const twoFrames = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

async function loadTemplate() {
  const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/camera_editor_offline.json`)).json();
  await page.evaluate(async (wf) => { await window.app.loadGraphData(wf, true, false, "camera_editor_offline"); }, wf);
  await page.waitForFunction(() => window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor")
    ?.realcamEditor?.element?.isConnected, null, { timeout: 30000 });
  await page.waitForTimeout(800);
}

// backing size vs displayed size x dpr for the three canvases
const canvasSizes = () => ev(`
  const dpr = window.devicePixelRatio;
  return Object.fromEntries([["viewport", ed.viewport], ["camera", ed.camera], ["timeline", ed.timeline]].map(([n, c]) => {
    const r = c.getBoundingClientRect();
    return [n, { backing: [c.width, c.height], wanted: [Math.round(r.width * dpr), Math.round(r.height * dpr)] }];
  }));`);

// wheel over an empty spot of the graph canvas (no node, no widget under it), never over the editor
async function zoomGraph(deltaY) {
  const at = await page.evaluate(() => {
    const c = window.app.canvas.canvas, r = c.getBoundingClientRect();
    for (let y = r.top + r.height * 0.95; y > r.top + 60; y -= 25) {
      for (let x = r.left + r.width * 0.3; x < r.right - 40; x += 25) {
        if (document.elementFromPoint(x, y) === c) {
          const g = window.app.canvas.convertEventToCanvasOffset({ clientX: x, clientY: y });
          if (!window.app.graph.getNodeOnPos(g[0], g[1])) return [x, y];
        }
      }
    }
    return null;
  });
  if (!at) throw new Error("no empty spot on the graph canvas to zoom at");
  await page.mouse.move(at[0], at[1]);
  await page.mouse.wheel(0, deltaY);
}

async function zoomCheck(label) {
  await twoFrames();
  const before = await canvasSizes();
  await zoomGraph(-240);  // zoom in
  await twoFrames();
  const after = await canvasSizes();
  result.zoom[label] = { before, after };
  await page.screenshot({ path: path.join(args.out, `editor_fixes_zoom_${label}.png`) });
}

try {
  await loadTemplate();
  await page.evaluate(() => {  // the editor in the middle of the page, clear of the floating toolbars
    const ds = window.app.canvas.ds;
    const n = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor");
    ds.scale = 0.8;
    ds.offset = [200 / ds.scale - n.pos[0], 180 / ds.scale - n.pos[1]];
    window.app.canvas.setDirty(true, true);
  });
  await twoFrames();

  // 1. scrub from frame 0: press on the playhead over keyframe 0's diamond, drag right
  result.keyframesBeforeScrub = await keyframes();
  const tl = await ev(`
    const r = ed.timeline.getBoundingClientRect(), s = ed.timeline.width / r.width;
    ed.setFrame(0); ed.drawNow();
    return { x: r.left + ed.timelineX(0) / s, y: r.top + (ed.timeline.height / 2 + 4 * ed.pxRatio("timeline")) / s, w: r.width };`);
  await page.mouse.move(tl.x, tl.y);
  await page.mouse.down();
  await page.mouse.move(tl.x + tl.w * 0.5, tl.y, { steps: 10 });
  await page.mouse.up();
  result.keyframesAfterScrub = await keyframes();
  result.frameAfterScrub = await ev("return ed.frame;");

  // 2. frame 0 is a visible anchor; an orbit drag starting on it leaves it where it is
  await ev("ed.frameAll(); ed.drawNow();");
  const anchor = await ev(`
    const uv = ed.keyframeScreenPos(0), r = ed.viewport.getBoundingClientRect(), s = ed.viewport.width / r.width;
    // anchor colour drawn around its centre
    const ctx = ed.viewport.getContext("2d");
    const d = Math.round(6 * ed.pxRatio("viewport"));
    const px = ctx.getImageData(Math.round(uv[0]) - d, Math.round(uv[1]) - d, 2 * d + 1, 2 * d + 1).data;
    let green = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] === 95 && px[i + 1] === 208 && px[i + 2] === 104) green++;
    return { x: r.left + uv[0] / s, y: r.top + uv[1] / s, green, azimuth: ed.view.azimuth };`);
  result.anchor = anchor;
  const beforeOrbit = await keyframes();
  await page.mouse.move(anchor.x, anchor.y);
  await page.mouse.down();
  await page.mouse.move(anchor.x + 70, anchor.y + 20, { steps: 8 });
  await page.mouse.up();
  result.keyframesBeforeOrbit = beforeOrbit;
  result.keyframesAfterOrbit = await keyframes();
  result.azimuthAfterOrbit = await ev("return ed.view.azimuth;");
  await page.screenshot({ path: path.join(args.out, "editor_fixes_anchor.png") });

  // 4. nothing clipped: the help text wraps inside the widget, the last frame's label ends inside the timeline
  result.clipping = await ev(`
    ed.drawNow();
    const h = ed.help;
    return { helpFits: h.scrollWidth <= h.clientWidth + 1 && h.scrollHeight <= h.clientHeight + 1,
      helpInside: h.getBoundingClientRect().bottom <= ed.element.getBoundingClientRect().bottom + 1,
      labels: ed.timelineLabelBoxes, width: ed.timeline.width, numFrames: ed.state.num_frames };`);

  // 5. the preset menu forgets its preset once "Use input" replaced the path
  await ev(`ed.setPayload({ input_state: arg });`, JSON.stringify({ version: 1, num_frames: 16, keyframes: [
    { frame: 0, position: [0, 0, 0], rotation: [0, 0, 0] }, { frame: 15, position: [0.3, 0, 0], rotation: [0, 0, 0] }] }));
  const sel = page.locator(".rc-ed select").first();
  await sel.selectOption("zoom_in");
  await page.locator(".rc-ed button", { hasText: "Apply" }).click();
  result.presetAfterApply = await sel.inputValue();
  await page.locator(".rc-ed button", { hasText: "Use input" }).click();
  result.presetAfterUseInput = await sel.inputValue();
  result.keyframesAfterUseInput = await keyframes();

  // 3. graph zoom: classic renderer, then Nodes 2.0
  await zoomCheck("classic");
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", true); });
  await loadTemplate();
  await zoomCheck("vue");
} finally {
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", false); })
    .catch(() => {});
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "editor_fixes.json"), JSON.stringify(result, null, 1));
