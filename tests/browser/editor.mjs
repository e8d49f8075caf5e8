// The Trajectory Editor in the real frontend: open the template, run it once so the point cloud
// arrives, drag a keyframe camera with real mouse events, queue again, reload the page.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, queueAndWait, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const shot = (page, name) => page.screenshot({ path: path.join(args.out, `editor_${name}.png`) });
const { page, consoleErrors, close } = await openComfy(args.url);
const result = {};

const editorState = () => page.evaluate(() => {
  const n = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor");
  return n.widgets.find((w) => w.name === "editor_state").value;
});

// screen position of keyframe `k`'s camera in the editor viewport (found with the editor's own picking)
const keyframeOnScreen = (k) => page.evaluate((k) => {
  const ed = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor").realcamEditor;
  ed.drawNow();
  const c = ed.viewport, r = c.getBoundingClientRect();
  for (let y = 0; y < c.height; y += 2) for (let x = 0; x < c.width; x += 2) {
    if (ed.pickKeyframe(x, y) === k) return [r.left + (x / c.width) * r.width, r.top + (y / c.height) * r.height];
  }
  return null;
}, k);

try {
  const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/camera_editor_offline.json`)).json();
  await page.evaluate(async (wf) => { await window.app.loadGraphData(wf, true, false, "camera_editor_offline"); }, wf);
  await page.waitForTimeout(500);
  result.stateInitial = await editorState();
  result.firstRun = await queueAndWait(page, args.url, 120000);
  await page.waitForFunction(() => {
    const n = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor");
    return n?.realcamEditor?.cloud?.count > 0;
  }, null, { timeout: 30000 });
  result.cloudPoints = await page.evaluate(() => window.app.graph.nodes
    .find((x) => x.comfyClass === "RealCamTrajectoryEditor").realcamEditor.cloud.count);
  await shot(page, "1_cloud");

  // drag the last keyframe's camera with the mouse
  const lastKey = JSON.parse(await editorState()).keyframes.length - 1;
  result.seededKeyframes = lastKey + 1;
  const at = await keyframeOnScreen(lastKey);
  result.dragFrom = at;
  if (!at) throw new Error(`keyframe ${lastKey} not visible in the editor viewport`);
  await page.mouse.move(at[0], at[1]);
  await page.mouse.down();
  await page.mouse.move(at[0] + 60, at[1] + 25, { steps: 8 });
  await page.mouse.up();
  await page.waitForTimeout(300);
  result.stateAfterDrag = await editorState();
  await shot(page, "2_dragged");

  result.secondRun = await queueAndWait(page, args.url, 120000);
  await page.waitForTimeout(500);
  // the Save Pose File node shows the file it wrote (RealCam.NodeInfo extension)
  result.saveInfo = await page.evaluate(() => window.app.graph.nodes.find((x) => x.comfyClass === "RealCamSavePoseFile")
    ?.widgets?.find((w) => w.name === "realcam_info")?.value ?? null);
  await shot(page, "3_second_run");

  // the info box is as tall as its text and keeps it across a switch to Nodes 2.0 and back
  const infoBox = async () => {
    await page.evaluate(async () => { await window.app.extensionManager.command.execute("Comfy.Canvas.FitView"); });
    await page.waitForTimeout(700);
    return boxes();
  };
  const boxes = () => page.evaluate(() => [...document.querySelectorAll(".rc-info-box")]
    .filter((e) => e.offsetParent !== null)
    .map((e) => ({ text: e.textContent, height: e.getBoundingClientRect().height / window.app.canvas.ds.scale })));
  result.infoBoxClassic = await infoBox();
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", true); });
  await page.waitForTimeout(1500);
  result.infoBoxVue = await infoBox();
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", false); });
  await page.waitForTimeout(1000);
  result.infoBoxBack = await infoBox();

  // reload: ComfyUI restores the open workflow; the editor state and the cloud come back
  await page.reload();
  await page.waitForFunction(() => window.app?.graph?.nodes?.some((x) => x.comfyClass === "RealCamTrajectoryEditor"),
    null, { timeout: 60000 });
  await page.waitForTimeout(1500);
  result.stateAfterReload = await editorState();
  result.cloudAfterReload = await page.evaluate(() => window.app.graph.nodes
    .find((x) => x.comfyClass === "RealCamTrajectoryEditor").realcamEditor?.cloud?.count ?? null);
  // and the saved workflow JSON carries the state too
  result.serializedState = await page.evaluate(() => {
    const wf = window.app.graph.serialize();
    return wf.nodes.find((n) => n.type === "RealCamTrajectoryEditor").widgets_values[0];
  });
  await shot(page, "4_reloaded");
} finally {
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "editor.json"), JSON.stringify(result, null, 1));
