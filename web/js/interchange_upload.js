// Upload buttons for the RealCam camera-file loaders (glTF, nerfstudio, COLMAP): put the chosen file(s) into
// ComfyUI's input folder and select them in the node's combo. COLMAP models are two files (cameras.txt +
// images.txt), so they are uploaded together into a new subfolder of input/.
import { app } from "../../../scripts/app.js";
import { addUploadButton, selectInCombo, uploadToInput } from "./upload_common.js";

const LOADERS = {
  RealCamLoadGLTFCamera: { kind: "gltf", widget: "gltf_file", accept: ".glb,.gltf,model/gltf-binary,model/gltf+json",
                           label: "choose glTF file to upload" },
  RealCamLoadNerfstudio: { kind: "nerfstudio", widget: "transforms_file", accept: ".json,application/json",
                           label: "choose transforms.json to upload" },
  RealCamLoadCOLMAP: { kind: "colmap", widget: "images_txt", accept: ".txt,text/plain", multiple: true,
                       label: "choose cameras.txt + images.txt to upload" },
};

async function uploadColmap(files) {
  const names = files.map((f) => f.name);
  if (!names.includes("images.txt") || !names.includes("cameras.txt")) {
    throw new Error(`COLMAP: choose both cameras.txt and images.txt (got ${names.join(", ")})`);
  }
  const folder = `colmap/${Date.now().toString(36)}`; // one folder per model: never mixes two models
  let chosen;
  for (const f of files) {
    const name = await uploadToInput(f, "colmap", folder);
    if (f.name === "images.txt") chosen = name;
  }
  return chosen;
}

app.registerExtension({
  name: "RealCam.CameraFileUpload",
  async nodeCreated(node) {
    const spec = LOADERS[node.comfyClass];
    if (!spec) return;
    addUploadButton(node, {
      label: spec.label,
      accept: spec.accept,
      multiple: !!spec.multiple,
      className: `realcam-camera-upload realcam-upload-${node.comfyClass}`,
      onFiles: async (files) => selectInCombo(node, spec.widget,
        spec.multiple ? await uploadColmap(files) : await uploadToInput(files[0], spec.kind)),
    });
  },
});
