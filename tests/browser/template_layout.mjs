// Every template laid out without overlapping nodes, measured in the page: node rectangles (title bar
// included) in the classic LiteGraph canvas, and the node elements' boxes under Nodes 2.0 (Vue).
// Also opens the template browser and records every request that answered 404 (thumbnails, JSON).
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, queueAndWait, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const result = { overlaps: {}, rects: {}, runs: {}, notFound: [], thumbnails: [], templateCards: [] };
page.on("response", (r) => {
  if (r.status() === 404) result.notFound.push(r.url());
  if (/\/workflow_templates\/.*\.(jpg|webp)$/.test(r.url())) result.thumbnails.push([r.url(), r.status()]);
});

// pairs of nodes whose rectangles intersect by more than 2 px both ways
function overlapsOf(rects) {
  const out = [];
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i], b = rects[j];
      const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (w > 2 && h > 2) out.push([a.title, b.title, Math.round(w), Math.round(h)]);
    }
  }
  return out;
}

const RUN = ["camera_editor_offline", "camera_preview_offline"];  // need no model: run, then measure again

async function load(name, dialogs = false) {
  const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/${name}.json`)).json();
  await page.evaluate(async ([wf, dialogs]) => {
    await window.app.loadGraphData(wf, true, false, "template", { showMissingModelsDialog: dialogs });
  }, [wf, dialogs]);
  await page.waitForTimeout(700);
}


const classicRects = () => page.evaluate(() => {
  window.app.canvas.draw(true, true);
  return window.app.graph.nodes.map((n) => {
    const r = n.boundingRect;  // graph units, title bar included
    return { id: n.id, title: `${n.id}:${n.type}`, x: r[0], y: r[1], w: r[2], h: r[3] };
  });
});

const vueRects = () => page.evaluate(() => [...document.querySelectorAll("[data-node-id]")]
  .filter((e) => e.offsetParent !== null)
  .map((e) => {
    const r = e.getBoundingClientRect();
    return { id: e.dataset.nodeId, title: `${e.dataset.nodeId}`, x: r.left, y: r.top, w: r.width, h: r.height };
  }));

try {
  const index = await (await fetch(`${args.url}/workflow_templates`)).json();
  const names = index[args.pack] || [];
  for (const renderer of ["classic", "vue"]) {
    await page.evaluate(async (on) => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", on); },
      renderer === "vue");
    await page.waitForTimeout(500);
    for (const name of names) {
      await load(name);
      const rects = renderer === "vue" ? await vueRects() : await classicRects();
      result.rects[`${renderer}/${name}`] = rects;
      result.overlaps[`${renderer}/${name}`] = overlapsOf(rects);
      if (RUN.includes(name)) {
        // a different mask_kernel per renderer, so the second run executes too (and shows its previews)
        await page.evaluate((k) => {
          const n = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamPointCloudRender");
          n.widgets.find((w) => w.name === "mask_kernel").value = k;
        }, renderer === "vue" ? 3 : 7);
        const entry = await queueAndWait(page, args.url);
        result.runs[`${renderer}/${name}`] = entry.status?.status_str;
        await page.waitForTimeout(2500);
        const after = renderer === "vue" ? await vueRects() : await classicRects();
        result.rects[`${renderer}/${name}/after_run`] = after;
        result.overlaps[`${renderer}/${name}/after_run`] = overlapsOf(after);
        await page.screenshot({ path: path.join(args.out, `layout_${renderer}_${name}.png`) });
      }
    }
  }
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", false); });

  // the missing-model dialog of the full pipeline lists the official files
  await load("realcam_i2v", true);
  await page.waitForTimeout(1500);
  result.missingModelsDialog = await page.evaluate(() => [...document.querySelectorAll(".p-dialog")]
    .map((d) => d.innerText).join("\n"));
  await page.keyboard.press("Escape");
  await page.waitForTimeout(500);

  // the template browser: open it, show the pack's section, wait for the thumbnails
  result.notFound = [];
  result.thumbnails = [];
  await page.evaluate(async () => { await window.app.extensionManager.command.execute("Comfy.BrowseTemplates"); });
  await page.waitForTimeout(1500);
  result.navLabels = await page.evaluate(() => [...document.querySelectorAll("nav *, aside *")]
    .filter((e) => e.children.length === 0 && e.textContent.trim()).map((e) => e.textContent.trim()));
  const section = page.getByText("RealCam", { exact: true }).first();
  result.sectionVisible = await section.count() > 0;
  if (result.sectionVisible) {
    await section.scrollIntoViewIfNeeded();
    await section.click();
  }
  await page.waitForTimeout(1500);
  for (let i = 0; i < 4; i++) {  // scroll the cards so lazily loaded thumbnails below the fold load too
    await page.evaluate(() => document.querySelectorAll("[role=dialog] *").forEach((e) => {
      if (e.scrollHeight > e.clientHeight + 10) e.scrollTop = e.scrollHeight;
    }));
    await page.waitForTimeout(700);
  }
  result.templateCards = await page.evaluate(() => [...document.querySelectorAll("[role=dialog] img")]
    .map((i) => ({ src: i.src, loaded: i.complete && i.naturalWidth > 0 })));
  result.cardTexts = await page.evaluate(() => document.querySelector("[role=dialog]")?.innerText ?? "");
  await page.screenshot({ path: path.join(args.out, "template_browser.png") });
} finally {
  await page.evaluate(async () => { await window.app.extensionManager.setting.set("Comfy.VueNodes.Enabled", false); })
    .catch(() => {});
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "template_layout.json"), JSON.stringify(result, null, 1));
