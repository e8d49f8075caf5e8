// Upload buttons for the RealCam camera-file loaders (glTF, nerfstudio, COLMAP): put the chosen file(s) into
// ComfyUI's input folder and select them in the node's combo. COLMAP models are two files (cameras.txt +
// images.txt), so they are uploaded together into their own subfolder of input/.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

const LOADERS = {
  RealCamLoadGLTFCamera: { widget: "gltf_file", accept: ".glb,.gltf,model/gltf-binary,model/gltf+json", label: "choose glTF file to upload" },
  RealCamLoadNerfstudio: { widget: "transforms_file", accept: ".json,application/json", label: "choose transforms.json to upload" },
  RealCamLoadCOLMAP: { widget: "images_txt", accept: ".txt,text/plain", multiple: true, pick: "images.txt",
                       label: "choose cameras.txt + images.txt to upload" },
};

async function uploadOne(file, subfolder) {
  const body = new FormData();
  body.append("image", file, file.name); // /upload/image stores any file type in input/
  body.append("type", "input");
  body.append("overwrite", "true");
  if (subfolder) body.append("subfolder", subfolder);
  const resp = await api.fetchApi("/upload/image", { method: "POST", body });
  if (resp.status !== 200) throw new Error(`upload of ${file.name} failed: ${resp.status} ${resp.statusText}`);
  const data = await resp.json();
  return data.subfolder ? `${data.subfolder}/${data.name}` : data.name;
}

async function upload(node, spec, files) {
  let chosen;
  if (spec.multiple) {
    const names = files.map((f) => f.name);
    if (!names.includes(spec.pick) || !names.includes("cameras.txt")) {
      throw new Error(`COLMAP: choose both cameras.txt and images.txt (got ${names.join(", ")})`);
    }
    const folder = `colmap/${Date.now().toString(36)}`; // one folder per model: never mixes two models
    for (const f of files) {
      const name = await uploadOne(f, folder);
      if (f.name === spec.pick) chosen = name;
    }
  } else {
    chosen = await uploadOne(files[0]);
  }
  const combo = node.widgets.find((w) => w.name === spec.widget);
  if (!combo.options.values.includes(chosen)) combo.options.values.push(chosen);
  combo.value = chosen;
  combo.callback?.(chosen);
  node.setDirtyCanvas?.(true, true);
  return chosen;
}

app.registerExtension({
  name: "RealCam.CameraFileUpload",
  async nodeCreated(node) {
    const spec = LOADERS[node.comfyClass];
    if (!spec) return;
    const input = document.createElement("input");
    input.type = "file";
    input.accept = spec.accept;
    input.multiple = !!spec.multiple;
    input.style.display = "none";
    input.className = `realcam-camera-upload realcam-upload-${node.comfyClass}`;
    input.onchange = async () => {
      if (!input.files.length) return;
      try {
        await upload(node, spec, Array.from(input.files));
      } catch (err) {
        console.error(err);
        alert(err.message);
      } finally {
        input.value = "";
      }
    };
    document.body.append(input);
    const button = node.addWidget("button", spec.label, null, () => input.click());
    button.serialize = false; // keeps widgets_values aligned with the backend's inputs
    const onRemoved = node.onRemoved;
    node.onRemoved = function () {
      input.remove();
      return onRemoved?.apply(this, arguments);
    };
  },
});
