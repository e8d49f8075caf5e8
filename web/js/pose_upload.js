// Upload button for RealCam Load Pose File: puts a RealEstate10K .txt into ComfyUI's input
// folder (the frontend's own upload widgets only accept images, video and audio).
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

const NODE = "RealCamLoadPoseFile";

async function uploadPoseFile(node, file) {
  const combo = node.widgets.find((w) => w.name === "pose_file");
  const body = new FormData();
  body.append("file", file, file.name);
  // our route: a new file in input/, never through a link, never overwriting (nodes/upload.py)
  const resp = await api.fetchApi("/realcam/upload_pose", { method: "POST", body });
  if (resp.status !== 200) {
    let detail = resp.statusText;
    try { detail = (await resp.json()).error || detail; } catch (_) { /* not JSON */ }
    throw new Error(`pose file upload failed: ${detail}`);
  }
  const data = await resp.json();
  const name = data.subfolder ? `${data.subfolder}/${data.name}` : data.name;
  const values = combo.options.values;
  if (!values.includes(name)) values.push(name);
  combo.value = name;
  combo.callback?.(name);
  node.setDirtyCanvas?.(true, true);
  return name;
}

app.registerExtension({
  name: "RealCam.PoseFileUpload",
  async nodeCreated(node) {
    if (node.comfyClass !== NODE) return;
    const input = document.createElement("input");
    input.type = "file";
    input.accept = ".txt,text/plain";
    input.style.display = "none";
    input.className = "realcam-pose-upload";
    input.onchange = async () => {
      if (!input.files.length) return;
      try {
        await uploadPoseFile(node, input.files[0]);
      } catch (err) {
        console.error(err);
        alert(err.message);
      } finally {
        input.value = "";
      }
    };
    document.body.append(input);
    const button = node.addWidget("button", "choose pose file to upload", null, () => input.click());
    button.serialize = false;  // keeps widgets_values aligned with the backend's inputs
    const onRemoved = node.onRemoved;
    node.onRemoved = function () {
      input.remove();
      return onRemoved?.apply(this, arguments);
    };
  },
});
