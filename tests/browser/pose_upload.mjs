// Upload a pose file through the RealCam Load Pose File button (real file chooser) and check the
// combo switches to it and the server stored it in input/.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const result = {};
try {
  await page.evaluate(() => {
    const n = window.LiteGraph.createNode("RealCamLoadPoseFile");
    n.pos = [200, 200];
    window.app.graph.add(n);
    window.__poseNode = n;
  });
  result.buttons = await page.evaluate(() => window.__poseNode.widgets.map((w) => w.name));
  // the button opens this (hidden) file input; a headless page cannot show the OS picker
  await page.locator("input.realcam-pose-upload").setInputFiles(args.file);
  await page.waitForFunction((name) => window.__poseNode.widgets.find((w) => w.name === "pose_file").value === name,
    path.basename(args.file), { timeout: 15000 });
  result.value = await page.evaluate(() => window.__poseNode.widgets.find((w) => w.name === "pose_file").value);
  result.widgetsValues = await page.evaluate(() => window.__poseNode.serialize().widgets_values);
  await page.screenshot({ path: path.join(args.out, "pose_upload.png") });
} finally {
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "pose_upload.json"), JSON.stringify(result, null, 1));
