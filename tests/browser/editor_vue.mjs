// The Trajectory Editor under the "Nodes 2.0" (Vue) renderer: the widget mounts, numeric fields and
// the timeline respond to real input, the state JSON follows.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const result = {};
const state = () => page.evaluate(() => {
  const n = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor");
  return { state: n.widgets.find((w) => w.name === "editor_state").value, frame: n.realcamEditor.frame };
});
try {
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", true); });
  await page.waitForTimeout(500);
  result.vueEnabled = await page.evaluate(() => window.app.extensionManager.setting.get("Comfy.VueNodes.Enabled"));
  await page.evaluate(() => {
    window.app.graph.clear();
    const n = window.LiteGraph.createNode("RealCamTrajectoryEditor");
    n.pos = [100, 100];
    window.app.graph.add(n);
  });
  await page.waitForTimeout(1000);
  result.mounted = await page.locator(".rc-ed").count();
  result.before = await state();
  const x = page.locator(".rc-ed input[title='x (m)']");
  await x.click();
  await x.fill("0.75");
  await x.press("Enter");
  result.afterX = await state();
  const timeline = await page.locator(".rc-timeline canvas").boundingBox();
  await page.mouse.click(timeline.x + timeline.width * 0.6, timeline.y + 6);
  result.afterScrub = await state();
  await page.screenshot({ path: path.join(args.out, "editor_vue.png") });
} finally {
  // the setting is stored on the server: put the classic renderer back for the other browser tests
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", false); });
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "editor_vue.json"), JSON.stringify(result, null, 1));
