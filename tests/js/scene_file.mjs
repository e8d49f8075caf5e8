// Decodes a scene file (realcam_core/scene/scene_file.py) with the widget's decoder and prints the cloud as
// JSON, so tests/core/test_scene_file.py can compare it with Python's unprojection.
import { readFileSync } from "node:fs";
import * as M from "../../web/js/realcam_math.js";

const buf = readFileSync(process.argv[2]);
const cloud = M.decodeSceneFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
process.stdout.write(JSON.stringify({
  count: cloud.count, positions: Array.from(cloud.positions), colors: Array.from(cloud.colors),
  width: cloud.width, height: cloud.height, stride: cloud.stride,
}));
