// Upload camera files through the RealCam loader buttons (glTF, nerfstudio, COLMAP's two files) with the
// real file chooser inputs; check each combo switches to the stored file.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const result = {};
const cases = [
  ["RealCamLoadGLTFCamera", "gltf_file", [args.glb]],
  ["RealCamLoadNerfstudio", "transforms_file", [args.json]],
  ["RealCamLoadCOLMAP", "images_txt", [args.cameras, args.images]],
  // a different file with the name of one already in input/: stored beside it, never over it
  ["RealCamLoadGLTFCamera", "gltf_file", [args.glb2], "second"],
];
try {
  for (const [type, widget, files, tag] of cases) {
    await page.evaluate((t) => {
      const n = window.LiteGraph.createNode(t);
      n.pos = [200, 200];
      window.app.graph.add(n);
      window.__node = n;
    }, type);
    const before = await page.evaluate((w) => window.__node.widgets.find((x) => x.name === w).value, widget);
    await page.locator(`input.realcam-upload-${type}`).last().setInputFiles(files);
    await page.waitForFunction(([w, b]) => {
      const v = window.__node.widgets.find((x) => x.name === w).value;
      return v && v !== b;
    }, [widget, before], { timeout: 15000 });
    result[tag ? `${type}:${tag}` : type] = await page.evaluate((w) => ({
      value: window.__node.widgets.find((x) => x.name === w).value,
      buttons: window.__node.widgets.map((x) => x.name),
      widgetsValues: window.__node.serialize().widgets_values,
    }), widget);
  }
  await page.screenshot({ path: path.join(args.out, "camera_upload.png") });
} finally {
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "camera_upload.json"), JSON.stringify(result, null, 1));
