// Shared helpers: launch Debian chromium through playwright-core and open the real ComfyUI frontend.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
];

export async function openComfy(url, { width = 1500, height = 950 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "realcam-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width, height },
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  // skip the first-run template browser so the canvas is usable
  await fetch(`${url}/api/settings/Comfy.TutorialCompleted`, { method: "POST", body: "true" });
  await page.goto(url);
  await page.waitForFunction(() => window.app && window.app.graph && window.LiteGraph
    && window.app.extensionManager, null, { timeout: 60000 });
  await page.waitForTimeout(500);
  return { context, page, consoleErrors, close: async () => { await context.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

export function parseArgs(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  return out;
}

// Console noise that is expected offline and unrelated to the pack. The test server runs with
// --disable-api-nodes, whose Content-Security-Policy blocks the missing-model dialog's size probes of
// the templates' official huggingface.co files (a user's server without that flag allows them).
export function relevantErrors(errors) {
  return errors.filter((e) => !/user\.css|userdata|api\.comfy\.org|ERR_NAME_NOT_RESOLVED|Failed to load resource|reading 'id'|favicon/i.test(e))
    .filter((e) => !/(Connecting to '|Fetch API cannot load )https:\/\/huggingface\.co\/.*Content Security Policy|^Error fetching file size: TypeError: Failed to fetch/is.test(e));
}
