// Trajectory Editor render benchmark: the camera view (and the 3D view) for ~200k points, timed in
// headless Chromium (Debian chromium driven by playwright-core from tests/browser/node_modules) and,
// for comparison, in node. Prints a markdown table for BENCHMARKS.md.
//
//   node bench/editor_render.mjs [--frames 60] [--points 200000] [--splat 2] [--mode mesh] [--view-width W] [--node-only]
//
// --mode: the camera view's render mode (mesh: the widget's, surface: its earlier rule, points: plain splats;
// "all" times the three in one run); the 3D view is always plain 1-px points. --view-width: the camera view's
// width (default the grid's, 512): the widget renders up to 640 px wide from a payload subsampled to <= 200k
// points, i.e. magnified 1.25x (1024x576 scenes) to 1.5x (832x480), where the mesh rule has more to fill.
//
// The page imports web/js/realcam_math.js exactly as the widget does, builds the cloud through
// cloudFromDepth (the payload path), and times renderPointCloud + ImageData + putImageData per frame
// along an orbit, i.e. what the widget does for every camera-view redraw.
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function parseArgs(argv) {
  const out = { frames: 60, points: 200000, splat: 2, mode: "mesh", "node-only": false };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "");
    if (k === "node-only") out[k] = true;
    else if (k === "mode") out[k] = argv[++i];
    else out[k] = Number(argv[++i]);
  }
  return out;
}

/** Benchmark body: runs in the page and in node (needs the realcam_math module M). */
async function benchBody(M, { frames, points, splat, mode, "view-width": viewWidth }, canvasFactory) {
  // a synthetic metric scene: a floor, a back wall and boxes; size chosen for ~`points` points
  const W = 512, H = Math.round(points / W);
  const depth = new Float32Array(W * H), rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const y = (i + 0.5 - H / 2) / (0.5 * W);
      let d = y > 0.05 ? Math.min(6, 1.5 / y) : 6; // floor 1.5 m below the camera, wall at 6 m
      if (Math.abs(j - 160) < 50 && i > H * 0.45 && i < H * 0.8) d = 2.5;
      if (Math.abs(j - 360) < 40 && i > H * 0.35 && i < H * 0.75) d = 3.4;
      depth[i * W + j] = d;
      rgb[3 * (i * W + j)] = (j * 255) / W;
      rgb[3 * (i * W + j) + 1] = (i * 255) / H;
      rgb[3 * (i * W + j) + 2] = d * 40;
    }
  }
  const K = M.defaultIntrinsics(W, H);
  const cloud = M.cloudFromDepth(depth, rgb, W, H, 1, K, W, H);
  const path = M.interpolateC2w([0, frames - 1], [M.identity4(), M.presetC2w("orbit_left", 2, 25, 3)[1]], frames);
  const stats = (t) => {
    const s = [...t].sort((a, b) => a - b);
    const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    return { median: q(0.5), p95: q(0.95), max: s[s.length - 1], mean: t.reduce((a, b) => a + b, 0) / t.length };
  };
  const run = (w, h, Kv, poses, sp, md) => {
    const canvas = canvasFactory ? canvasFactory(w, h) : null;
    const ctx = canvas ? canvas.getContext("2d") : null;
    let buf = null;
    const times = [];
    let covered = 0;
    for (let rep = 0; rep < 2; rep++) {
      for (const c2w of poses) {
        const t0 = performance.now();
        buf = M.renderPointCloud(cloud, Kv, c2w, w, h, { splat: sp, background: [0, 0, 0], mode: md }, buf);
        if (ctx) ctx.putImageData(new ImageData(buf.rgba, w, h), 0, 0);
        const dt = performance.now() - t0;
        if (rep === 1) times.push(dt); // the first pass warms the JIT and the buffers
        if (rep === 1) for (let q = 0; q < w * h; q++) covered += buf.index[q] >= 0; // untimed
      }
    }
    return { ...stats(times), covered: covered / (w * h * poses.length) };
  };
  const modes = mode === "all" ? ["points", "surface", "mesh"] : [mode];
  // the mesh rule's per-cloud set-up (grid map, which triangles lie on one surface), once when a cloud arrives
  let meshGridMs = null;
  if (modes.includes("mesh")) {
    const t0 = performance.now();
    M.meshGrid(cloud);
    meshGridMs = performance.now() - t0;
  }
  const CW = viewWidth || W, CH = Math.round((H * CW) / W);
  const KC = M.fitIntrinsics(K, H, W, CH, CW, "stretch");
  const camera = Object.fromEntries(modes.map((md) => [md, run(CW, CH, KC, path, splat, md)]));
  // the 3D view: an orbit camera looking at the scene from behind and above, 800x500
  const vw = 800, vh = 500;
  const f = (0.5 * vh) / Math.tan(Math.PI / 6);
  const views = path.map((_, k) => M.orbitC2w({ target: [0, 0, 3], distance: 7, azimuth: -40 + k, elevation: 25 }));
  const viewport = run(vw, vh, { fx: f, fy: f, cx: vw / 2, cy: vh / 2 }, views, 1, "points");
  return { points: cloud.count, width: CW, height: CH, frames, splat, camera, viewport, meshGridMs };
}

function serve() {
  const page = `<!doctype html><html><body><script type="module">
    import * as M from "/web/js/realcam_math.js";
    const bench = ${benchBody.toString()};
    window.runBench = (opts) => bench(M, opts, (w, h) => Object.assign(document.createElement("canvas"), { width: w, height: h }));
    window.benchReady = true;
  </script></body></html>`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/" || url.pathname === "/bench.html") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(page);
      return;
    }
    const file = path.join(ROOT, path.normalize(url.pathname));
    if (!file.startsWith(path.join(ROOT, "web")) || !fs.existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/javascript" });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function runChromium(opts) {
  const require = createRequire(path.join(ROOT, "tests", "browser", "package.json"));
  let chromium;
  try {
    ({ chromium } = require("playwright-core"));
  } catch {
    return { error: "playwright-core not installed (cd tests/browser && npm ci)" };
  }
  const exe = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!fs.existsSync(exe)) return { error: `no chromium at ${exe} (apt-get install chromium, or set CHROMIUM)` };
  const server = await serve();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "realcam-bench-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: exe, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    await page.goto(`http://127.0.0.1:${server.address().port}/bench.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
    const version = ctx.browser()?.version?.() ?? (await page.evaluate(() => navigator.userAgent));
    const result = await page.evaluate((o) => window.runBench(o), opts);
    return { ...result, runtime: `Chromium ${version} (headless)` };
  } finally {
    await ctx.close();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runNode(opts) {
  const M = await import(pathToFileURL(path.join(ROOT, "web", "js", "realcam_math.js")).href);
  return { ...(await benchBody(M, opts, null)), runtime: `node ${process.version}` };
}

const opts = parseArgs(process.argv);
const cpu = (os.cpus()[0]?.model ?? "unknown CPU").trim();
const results = [];
if (!opts["node-only"]) results.push(await runChromium(opts));
results.push(await runNode(opts));

console.log(`Trajectory Editor render, ${cpu}, ${os.cpus().length} logical CPUs, load ${os.loadavg()[0].toFixed(2)}`);
console.log("");
console.log("| runtime | view | points | size | splat | median ms | p95 ms | max ms | pixels covered |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  if (r.error) {
    console.log(`| chromium | – | – | – | – | ${r.error} | | | |`);
    continue;
  }
  const row = (name, s, size, sp) =>
    console.log(`| ${r.runtime} | ${name} | ${r.points} | ${size} | ${sp} | ${s.median.toFixed(1)} | ${s.p95.toFixed(1)} | ` +
      `${s.max.toFixed(1)} | ${(100 * s.covered).toFixed(1)} % |`);
  const draw = r.runtime.startsWith("Chromium") ? " + putImageData" : " (no canvas)";
  for (const [md, s] of Object.entries(r.camera)) row(`camera view, ${md}${draw}`, s, `${r.width}x${r.height}`, r.splat);
  row(`3D view${draw}`, r.viewport, "800x500", 1);
}
for (const r of results) {
  if (!r.error && r.meshGridMs !== null) console.log(`\n${r.runtime}: mesh set-up per cloud (meshGrid) ${r.meshGridMs.toFixed(1)} ms`);
}
const chrome = results.find((r) => !r.error && r.runtime.startsWith("Chromium"));
if (chrome) {
  for (const [md, s] of Object.entries(chrome.camera)) {
    const ok = s.median <= 33;
    console.log("");
    console.log(`camera view (${md}) median ${s.median.toFixed(1)} ms per frame for ${chrome.points} points: ` +
      `${ok ? "within" : "OVER"} the 33 ms budget`);
    if (!ok) process.exitCode = 1;
  }
}
