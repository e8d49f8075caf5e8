// The Trajectory Editor's frames menu (issue 10): choosing "Wan 81 frames" with a real click sets the path to
// 81 frames (keyframe times stretched), the widget's state says so, and a queued run outputs 81 frames.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, queueAndWait, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const result = {};

const editorState = () => page.evaluate(() => window.app.graph.nodes
  .find((x) => x.comfyClass === "RealCamTrajectoryEditor").widgets.find((w) => w.name === "editor_state").value);


try {
  const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/camera_editor_offline.json`)).json();
  await page.evaluate(async (wf) => { await window.app.loadGraphData(wf, true, false, "camera_editor_offline"); }, wf);
  await page.waitForFunction(() => window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor")
    ?.realcamEditor?.element?.isConnected, null, { timeout: 30000 });
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.Canvas.FitView"));
  await page.waitForTimeout(600);
  // only the path is under test: drop the preview render and video (81 rendered frames would only cost time)
  await page.evaluate(() => {
    for (const n of [...window.app.graph.nodes]) {
      if (["RealCamPointCloudRender", "CreateVideo", "SaveVideo"].includes(n.comfyClass)) window.app.graph.remove(n);
    }
  });
  result.stateBefore = await editorState();
  const menu = page.locator(".rc-ed select[title^='Frame count']");
  result.options = await menu.locator("option").allTextContents();
  result.menuBefore = await menu.inputValue();
  await menu.selectOption({ label: "Wan 81 frames" });  // a real pick: focus, change event
  await page.waitForTimeout(300);
  result.stateAfter = await editorState();
  result.menuAfter = await menu.inputValue();
  result.framesField = await page.locator(".rc-ed input[title^='Number of frames']").inputValue();
  await page.screenshot({ path: path.join(args.out, "editor_frames.png") });
  result.run = await queueAndWait(page, args.url, 120000);
} finally {
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "editor_frames.json"), JSON.stringify(result, null, 1));
