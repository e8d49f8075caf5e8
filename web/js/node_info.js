// Shows the text a RealCam node returns in its `ui` payload (model summaries, warnings such as
// "path does not return to its start", saved file names) in a small read-only box on the node.
// A DOM widget sized to its text (no tall empty STRING box), not serialised (widgets_values stay aligned
// with the backend's inputs), its text kept on the node so it survives a switch of renderer (Nodes 2.0).
import { app } from "../../../scripts/app.js";

const WIDGET = "realcam_info";
const LINE_PX = 15;
const MAX_LINES = 6;

function installStyle() {
  if (document.getElementById("realcam-info-style")) return;
  const style = document.createElement("style");
  style.id = "realcam-info-style";
  style.textContent = `.rc-info-box{box-sizing:border-box;width:100%;padding:3px 6px;border-radius:4px;
    background:rgba(0,0,0,.25);color:#cfd3da;font:11px/${LINE_PX}px ui-monospace,monospace;white-space:pre-wrap;
    overflow-wrap:anywhere;overflow:auto;user-select:text}`;
  document.head.append(style);
}

function lineCount(text) {
  return Math.min(MAX_LINES, Math.max(1, String(text ?? "").split("\n").length));
}

function ensureWidget(node) {
  let widget = node.widgets?.find((w) => w.name === WIDGET);
  if (widget) return widget;
  installStyle();
  const box = document.createElement("div");
  box.className = "rc-info-box";
  const height = () => lineCount(node.realcamInfo) * LINE_PX + 10;
  widget = node.addDOMWidget(WIDGET, "realcam_info", box, {
    serialize: false,
    hideOnZoom: false,
    getValue: () => node.realcamInfo ?? "",
    setValue: (v) => { node.realcamInfo = String(v ?? ""); box.textContent = node.realcamInfo; },
    getMinHeight: height,
    getMaxHeight: height,
  });
  widget.serialize = false;
  return widget;
}

function showText(node, text) {
  const widget = ensureWidget(node);
  widget.value = text;
  const el = widget.element;
  if (el) el.textContent = text;
  // grow the node to fit the box, never shrink what the user sized
  const want = node.computeSize?.();
  if (want && node.size) node.setSize([Math.max(node.size[0], want[0]), Math.max(node.size[1], want[1])]);
  node.setDirtyCanvas?.(true, true);
}

app.registerExtension({
  name: "RealCam.NodeInfo",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!nodeData.name?.startsWith("RealCam") || nodeData.name === "RealCamTrajectoryEditor") return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      const text = message?.text;
      if (text && text.length) showText(this, Array.isArray(text) ? text.join("\n") : String(text));
      return result;
    };
  },
});
