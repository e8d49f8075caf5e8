// Shared by the upload buttons (pose files, camera files): a hidden file chooser behind a node button, and
// POST /realcam/upload, which stores the file in input/ without following links or overwriting
// (realcam_comfy/upload.py); the chosen name is selected in the node's combo.
import { api } from "../../../scripts/api.js";

export async function uploadToInput(file, kind, subfolder = "") {
  const body = new FormData();
  body.append("file", file, file.name);
  body.append("kind", kind);
  if (subfolder) body.append("subfolder", subfolder);
  const resp = await api.fetchApi("/realcam/upload", { method: "POST", body });
  if (resp.status !== 200) {
    let detail = resp.statusText;
    try { detail = (await resp.json()).error || detail; } catch (_) { /* not JSON */ }
    throw new Error(`upload of ${file.name} failed: ${detail}`);
  }
  const data = await resp.json();
  return data.subfolder ? `${data.subfolder}/${data.name}` : data.name;
}

export function selectInCombo(node, widgetName, value) {
  const combo = node.widgets.find((w) => w.name === widgetName);
  if (!combo.options.values.includes(value)) combo.options.values.push(value);
  combo.value = value;
  combo.callback?.(value);
  node.setDirtyCanvas?.(true, true);
  return value;
}

// A button that opens a file chooser; onFiles(files) runs with the chosen files, errors are shown.
export function addUploadButton(node, { label, accept, multiple = false, className, onFiles }) {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = accept;
  input.multiple = multiple;
  input.style.display = "none";
  input.className = className;
  input.onchange = async () => {
    if (!input.files.length) return;
    try {
      await onFiles(Array.from(input.files));
    } catch (err) {
      console.error(err);
      alert(err.message);
    } finally {
      input.value = "";
    }
  };
  document.body.append(input);
  const button = node.addWidget("button", label, null, () => input.click());
  button.serialize = false; // keeps widgets_values aligned with the backend's inputs
  const onRemoved = node.onRemoved;
  node.onRemoved = function () {
    input.remove();
    return onRemoved?.apply(this, arguments);
  };
  return button;
}
