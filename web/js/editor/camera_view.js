/**
 * Trajectory Editor: the camera view, the current frame rendered like RealCam Point Cloud Render (at the
 * scene's aspect, letterboxed), with its default "mesh" rule (realcam_math.js meshDensify / meshTriangles). Methods mixed into the editor class (editor/core.js).
 */
import * as M from "../realcam_math.js";
import { MAX_CAMERA_VIEW_WIDTH, MAX_WIDTH } from "./dom.js";

export const cameraView = {
  drawCamera() {
    const canvas = this.camera;
    const [CW, CH] = this.fitCanvas(canvas, MAX_WIDTH.camera);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#0c0c0e";
    ctx.fillRect(0, 0, CW, CH);
    const cam = this.cameraModel();
    // render at the scene's aspect (capped resolution), letterboxed into the panel
    const rw = Math.min(cam.width, MAX_CAMERA_VIEW_WIDTH);
    const rh = Math.max(1, Math.round((cam.height * rw) / cam.width));
    const K = M.fitIntrinsics(cam.K, cam.height, cam.width, rh, rw, "stretch");
    const pose = this.path[this.frame];
    const t0 = performance.now();
    if (!this.cameraCanvas) this.cameraCanvas = document.createElement("canvas");
    const off = this.cameraCanvas;
    if (off.width !== rw || off.height !== rh) { off.width = rw; off.height = rh; }
    const octx = off.getContext("2d");
    if (this.cloud) {
      this.cameraBuffers = M.renderPointCloud(this.cloud, K, pose, rw, rh, { splat: 2, background: [0, 0, 0], mode: "mesh" }, this.cameraBuffers);
      octx.putImageData(new ImageData(this.cameraBuffers.rgba, rw, rh), 0, 0);
    } else {
      octx.fillStyle = "#000";
      octx.fillRect(0, 0, rw, rh);
      this.drawGrid(octx, M.invertRigid(pose), K, 1);
    }
    this.timing.camera = performance.now() - t0;
    const s = Math.min(CW / rw, CH / rh);
    const dw = rw * s, dh = rh * s;
    ctx.imageSmoothingEnabled = s < 1;
    ctx.drawImage(off, (CW - dw) / 2, (CH - dh) / 2, dw, dh);
    this.cameraLabel.textContent = `camera · frame ${this.frame} · ${rw}×${rh} · ${this.timing.camera.toFixed(1)} ms`;
  },
};
