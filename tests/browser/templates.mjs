// Opens every workflow template of the pack in the real frontend: no missing node types, no
// extension errors, the graph converts to an API prompt. Prints one JSON result per template.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const results = { extensions: [], templates: {}, consoleErrors: [] };
try {
  results.extensions = await page.evaluate(() => window.app.extensions.map((e) => e.name));
  const index = await (await fetch(`${args.url}/workflow_templates`)).json();
  const names = index[args.pack] || [];
  for (const name of names) {
    const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/${name}.json`)).json();
    const r = await page.evaluate(async (wf) => {
      const missing = [...new Set(wf.nodes.map((n) => n.type).filter((t) => !(t in window.LiteGraph.registered_node_types)))];
      await window.app.loadGraphData(wf, true, false, "template");
      const prompt = await window.app.graphToPrompt();
      return { missing, nodeCount: window.app.graph._nodes.length, promptNodes: Object.keys(prompt.output).length, output: prompt.output };
    }, wf);
    await page.evaluate(async () => { try { await window.app.extensionManager.command.execute("Comfy.Canvas.FitView"); } catch (e) { /* older frontends */ } });
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(args.out, `template_${name}.png`) });
    results.templates[name] = r;
  }
} finally {
  results.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "templates.json"), JSON.stringify(results, null, 1));
console.log(JSON.stringify({ ok: true }));
