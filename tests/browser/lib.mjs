// Shared helpers: launch Debian chromium through playwright-core and open the real ComfyUI frontend.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
];

export async function openComfy(url, { width = 1500, height = 950, deviceScaleFactor = 1 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "realcam-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width, height },
    deviceScaleFactor,
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

// Console noise that is expected offline and unrelated to the pack.
// Newer frontends (1.48 with ComfyUI 0.33) also log, with no custom node loaded at all, an early
// "ComfyApp graph accessed before initialization" and Content-Security-Policy blocks of model URLs.
const NEWER_FRONTEND_NOISE = /ComfyApp graph accessed before initialization|Content Security Policy/i;
export function relevantErrors(errors) {
  return errors.filter((e) => !/user\.css|userdata|api\.comfy\.org|ERR_NAME_NOT_RESOLVED|Failed to load resource|reading 'id'|favicon/i.test(e))
    .filter((e) => !NEWER_FRONTEND_NOISE.test(e))
    // the missing-model dialog asks huggingface.co for file sizes; the test server's --disable-api-nodes CSP
    // (connect-src 'self') refuses that, which only happens in this offline set-up
    .filter((e) => !/huggingface\.co\/.*Content Security Policy|Error fetching file size/s.test(e));
}

/** Queue the loaded graph through the frontend and wait for its history entry (a fresh prompt id). */
export async function queueAndWait(page, url, timeoutMs = 180000) {
  const history = async () => (await fetch(`${url}/history`)).json();
  const before = new Set(Object.keys(await history()));
  await page.evaluate(async () => { await window.app.queuePrompt(0, 1); });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = await history();
    const fresh = Object.keys(h).filter((id) => !before.has(id));
    if (fresh.length && h[fresh[0]].status?.completed !== undefined) return h[fresh[0]];
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("the queued prompt did not finish");
}
