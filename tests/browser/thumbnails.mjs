// Template thumbnails and README screenshots from the real frontend (scripts/make_thumbnails.py runs it):
// every template is opened and fitted to the view; the offline ones are run first, so the editor shows the
// room's point cloud and the render node its preview. Writes <dest>/<name>.jpg and <docs>/*.jpg.
import path from "node:path";
import { openComfy, parseArgs, queueAndWait } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, close } = await openComfy(args.url, { width: 1280, height: 800 });
const RUN_FIRST = new Set(["camera_editor_offline", "camera_preview_offline"]);


// the graph canvas only (no menus), as JPEG
async function shoot(file, quality, scale) {
  const box = await page.evaluate(() => {
    const r = window.app.canvas.canvas.getBoundingClientRect();
    // below the tab bar and the floating Run bar, right of the side bar
    return { x: r.left + 60, y: r.top + 96, width: r.width - 62, height: r.height - 98 };
  });
  await page.screenshot({ path: file, type: "jpeg", quality, clip: box, scale });
}

try {
  await page.evaluate(async () => {
    const s = window.app.extensionManager.setting;
    for (const [k, v] of [["Comfy.Minimap.Visible", false], ["Comfy.VueNodes.Enabled", false]]) {
      try { await s.set(k, v); } catch { /* unknown in this frontend */ }
    }
  });
  const index = await (await fetch(`${args.url}/workflow_templates`)).json();
  for (const name of index[args.pack] || []) {
    const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/${name}.json`)).json();
    await page.evaluate(async (wf) => {
      await window.app.loadGraphData(wf, true, false, "template", { showMissingModelsDialog: false });
    }, wf);
    await page.waitForTimeout(600);
    if (RUN_FIRST.has(name)) {
      const entry = await queueAndWait(page, args.url);
      if (entry.status?.status_str !== "success") throw new Error(`${name} failed: ${JSON.stringify(entry.status)}`);
      await page.waitForTimeout(2500);
    }
    await page.evaluate(async () => { await window.app.extensionManager.command.execute("Comfy.Canvas.FitView"); });
    await page.waitForTimeout(800);
    await shoot(path.join(args.dest, `${name}.jpg`), 60, "css");
    if (args.docs && RUN_FIRST.has(name)) await shoot(path.join(args.docs, `${name}.jpg`), 72, "css");
    if (args.docs && name === "camera_editor_offline") {
      // the editor close up: zoom the canvas onto the editor node
      await page.evaluate(() => {
        const n = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor");
        const ds = window.app.canvas.ds, c = window.app.canvas.canvas.getBoundingClientRect();
        ds.scale = Math.min((c.width - 100) / (n.size[0] * 1.75), (c.height - 140) / (n.size[1] + 40));
        ds.offset = [80 / ds.scale - n.pos[0], 130 / ds.scale - n.pos[1]];
        window.app.canvas.setDirty(true, true);
      });
      await page.waitForTimeout(1200);
      await shoot(path.join(args.docs, "editor.jpg"), 75, "css");
    }
  }
} finally {
  await close();
}
