// The Trajectory Editor's camera view draws the "mesh" rule (issue 13 item 2), in the real widget: a scene
// cloud subsampled 4x (so the view magnifies its grid 4x, as a big scene's payload is) of a floor seen at
// grazing angles and a box, put into the live editor; the camera canvas it draws is read back and compared
// with realcam_math's renderPointCloud in "mesh" and plain "points" mode for the same camera.
import fs from "node:fs";
import path from "node:path";
import { openComfy, parseArgs, relevantErrors } from "./lib.mjs";

const args = parseArgs(process.argv);
const { page, consoleErrors, close } = await openComfy(args.url);
const result = {};

try {
  const wf = await (await fetch(`${args.url}/api/workflow_templates/${args.pack}/camera_editor_offline.json`)).json();
  await page.evaluate(async (wf) => { await window.app.loadGraphData(wf, true, false, "camera_editor_offline"); }, wf);
  await page.waitForFunction(() => window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor")
    ?.realcamEditor?.element?.isConnected, null, { timeout: 30000 });
  await page.waitForTimeout(500);
  Object.assign(result, await page.evaluate(async (pack) => {
    const M = await import(`/extensions/${pack}/js/realcam_math.js`);
    const ed = window.app.graph.nodes.find((x) => x.comfyClass === "RealCamTrajectoryEditor").realcamEditor;
    // 640x400 scene, payload grid 160x100 (stride 4): floor 1.5 m below the camera up to a wall at 8 m, a box
    const W = 640, H = 400, s = 4, gw = W / s, gh = H / s;
    const K = M.defaultIntrinsics(W, H);
    const depth = new Float32Array(gw * gh), rgb = new Uint8Array(gw * gh * 3);
    for (let i = 0; i < gh; i++) {
      for (let j = 0; j < gw; j++) {
        const y = (i * s + 0.5 - K.cy) / K.fy;
        let d = y > 0.02 ? Math.min(8, 1.5 / y) : 8;
        if (Math.abs(j - 60) < 15 && i > 45 && i < 80) d = Math.min(d, 3);
        const g = i * gw + j;
        depth[g] = d;
        rgb.set([(j * 255) / gw, (i * 255) / gh, 40 + 20 * d], 3 * g);
      }
    }
    const cloud = M.cloudFromDepth(depth, rgb, gw, gh, s, K, W, H);
    ed.cloud = cloud;
    ed.sceneInfo = { width: W, height: H, K };
    ed.frame = ed.path.length - 1; // the default path's last frame: the camera has moved
    ed.drawCamera();
    const off = ed.cameraCanvas;
    const rw = off.width, rh = off.height;
    const shown = off.getContext("2d").getImageData(0, 0, rw, rh).data;
    const cam = ed.cameraModel();
    const Kv = M.fitIntrinsics(cam.K, cam.height, cam.width, rh, rw, "stretch");
    const pose = ed.path[ed.frame];
    const render = (mode) => M.renderPointCloud(cloud, Kv, pose, rw, rh, { splat: 2, background: [0, 0, 0], mode });
    const mesh = render("mesh"), pts = render("points"), surf = render("surface");
    const differing = (b) => {
      let n = 0;
      for (let q = 0; q < rw * rh * 4; q++) n += shown[q] !== b.rgba[q];
      return n;
    };
    const covered = (b) => b.index.reduce((a, i) => a + (i >= 0), 0) / (rw * rh);
    return {
      size: [rw, rh], frame: ed.frame, points: cloud.count,
      differsFromMesh: differing(mesh), differsFromPoints: differing(pts), differsFromSurface: differing(surf),
      covered: { shown: covered(ed.cameraBuffers), mesh: covered(mesh), points: covered(pts), surface: covered(surf) },
      label: ed.cameraLabel.textContent,
    };
  }, args.pack));
  await page.screenshot({ path: path.join(args.out, "editor_mesh.png") });
} finally {
  result.consoleErrors = relevantErrors(consoleErrors);
  await close();
}
fs.writeFileSync(path.join(args.out, "editor_mesh.json"), JSON.stringify(result, null, 1));
