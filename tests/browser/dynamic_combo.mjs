// Builds one node that has a dynamic combo (COMFY_DYNAMICCOMBO_V3) in the real frontend, picks an option
// that brings nested widgets (recursively), and reports how the frontend serialises it: the node's
// widgets_values in the saved workflow and its inputs in the API prompt (graphToPrompt).
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
let result = {};
try {
  result = await page.evaluate(async (nodeType) => {
    const graph = window.app.graph;
    graph.clear();
    const node = window.LiteGraph.createNode(nodeType);
    graph.add(node);
    // choose, depth first, the first option of each dynamic combo that adds widgets
    const chosen = {};
    for (let pass = 0; pass < 8; pass++) {
      let changed = false;
      for (const w of node.widgets) {
        if (w.type !== "combo" || chosen[w.name] !== undefined) continue;
        const values = typeof w.options.values === "function" ? w.options.values() : w.options.values;
        for (const v of values) {
          const before = node.widgets.length;
          w.value = v;
          if (node.widgets.length > before) { chosen[w.name] = v; changed = true; break; }
        }
        if (changed) break;
      }
      if (!changed) break;
    }
    // give the nested numeric widgets a non-default value so the test sees them move
    for (const w of node.widgets) if (w.name.includes(".") && w.type === "number") w.value = w.value + 1;
    const workflow = graph.serialize();
    const prompt = await window.app.graphToPrompt();
    return { chosen, workflow, output: prompt.output };
  }, args.node);
} finally {
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "dynamic_combo.json"), JSON.stringify(result, null, 1));
console.log(JSON.stringify({ ok: true }));
