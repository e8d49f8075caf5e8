/**
 * ComfyUI-RealCam Trajectory Editor: the DOM widget of the RealCamTrajectoryEditor node.
 *
 * - Works in the classic LiteGraph canvas and in the Vue "Nodes 2.0" renderer: everything is one
 *   DOM widget (`addDOMWidget`); nothing is drawn on the node canvas.
 * - The path lives as versioned JSON in the node's `editor_state` STRING widget (hidden here), so
 *   workflows save it and API prompts carry it; realcam_core/trajectory/editor/__init__.py validates it.
 * - The scene's point cloud arrives once per run as a binary file in ComfyUI's temp folder, named in
 *   the node's `ui` payload ("realcam_editor"; the prompt history keeps only that name), and is
 *   cached per node (memory + IndexedDB), so editing never needs a re-run.
 * - All maths (projection, splatting, interpolation, presets, validation) is in realcam_math.js,
 *   the module the node tests and the Python parity tests run. The editor itself is in editor/:
 *   core.js (DOM, events, drawing schedule), keyframe_model.js, scene_view.js, camera_view.js and
 *   timeline.js. This file is the widget glue: the node's widgets, the point-cloud cache, the extension.
 *
 * Served at /extensions/<pack>/js/trajectory_editor.js, hence three levels up to /scripts/app.js.
 */
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import * as M from "./realcam_math.js";
import { createTrajectoryEditor } from "./editor/core.js";
import { MIN_EDITOR_HEIGHT } from "./editor/dom.js";

export { createTrajectoryEditor };

const NODE_TYPE = "RealCamTrajectoryEditor";
const STATE_WIDGET = "editor_state";
const UI_KEY = "realcam_editor";
const IDB_INDEX = "__recent__";
const IDB_KEEP = 12;

/** Scene payloads by node key, so rebuilt nodes (tab switches, subgraphs) keep their cloud. */
const payloads = new Map();
/** Decoded clouds by scene file name (content-addressed), shared by nodes showing the same scene. */
const clouds = new Map();

// ---------------------------------------------------------------------------------------------
// Persistent cache of scene payloads (IndexedDB; optional, failures only cost a re-run)

const idb = {
  db: null,
  open() {
    if (this.db) return this.db;
    this.db = new Promise((resolve) => {
      try {
        const req = indexedDB.open("comfyui-realcam", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("scenes");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
    return this.db;
  },
  async get(key) {
    const db = await this.open();
    if (!db) return null;
    return new Promise((resolve) => {
      const req = db.transaction("scenes").objectStore("scenes").get(key);
      req.onsuccess = () => resolve(req.result ?? null);
      req.onerror = () => resolve(null);
    });
  },
  /** Store a payload; only the IDB_KEEP most recent nodes' scenes are kept. */
  async put(key, value) {
    const db = await this.open();
    if (!db) return;
    try {
      const store = db.transaction("scenes", "readwrite").objectStore("scenes");
      const req = store.get(IDB_INDEX);
      req.onsuccess = () => {
        const keys = (Array.isArray(req.result) ? req.result : []).filter((k) => k !== key);
        keys.push(key);
        while (keys.length > IDB_KEEP) store.delete(keys.shift());
        store.put(keys, IDB_INDEX);
        store.put(value, key);
      };
    } catch {
      /* quota or private mode: the memory cache still works */
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Widget glue

function hideWidget(widget) {
  widget.hidden = true; // classic canvas
  widget.options = { ...(widget.options ?? {}), hidden: true }; // Vue renderer (Nodes 2.0)
  widget.type = "hidden";
  widget.computeSize = () => [0, -4];
  widget.computeLayoutSize = () => ({ minHeight: 0, maxHeight: 0, minWidth: 0 });
}

/** Cache key of a node's scene: the graph's id (saved with the workflow) and the node id. */
function nodeKey(node) {
  return `${app.graph?.id ?? ""}:${String(node.id)}`;
}

function payloadOf(message) {
  const raw = message?.[UI_KEY]?.[0];
  if (!raw) return null;
  return typeof raw === "string" ? JSON.parse(raw) : raw;
}

/** The scene file's bytes: from this node's IndexedDB entry if it is the same file, else from /view. */
async function sceneFileBytes(key, ref) {
  const stored = await idb.get(key);
  if (stored?.scene_file?.filename === ref.filename && stored.buffer instanceof ArrayBuffer) return stored.buffer;
  const q = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder ?? "", type: ref.type ?? "temp" });
  const resp = await api.fetchApi(`/view?${q}`);
  if (!resp.ok) throw new Error(`scene file ${ref.filename}: HTTP ${resp.status}; run the workflow again`);
  const buffer = await resp.arrayBuffer();
  idb.put(key, { scene_file: ref, buffer });
  return buffer;
}

/** Give the editor a node payload, with its scene file fetched and decoded (once per file name). */
async function applyPayload(node, payload) {
  const editor = node.realcamEditor;
  if (!editor || !payload) return;
  const ref = payload.scene_file;
  let cloud = null;
  if (ref?.filename) {
    try {
      cloud = clouds.get(ref.filename) ?? M.decodeSceneFile(await sceneFileBytes(nodeKey(node), ref));
      clouds.set(ref.filename, cloud);
    } catch (e) {
      editor.showStatus(`could not load the scene's point cloud: ${e.message}`);
    }
  }
  if (node.realcamEditor === editor) editor.setPayload({ ...payload, cloud });
}

function restorePayload(node) {
  const editor = node.realcamEditor;
  if (!editor) return;
  const key = nodeKey(node);
  const mem = payloads.get(key) ?? payloadOf(app.nodeOutputs?.[String(node.id)]);
  if (mem) {
    applyPayload(node, mem);
    return;
  }
  idb.get(key).then((stored) => {
    if (!stored || node.realcamEditor !== editor || editor.cloud) return;
    if (stored.scene_file && stored.buffer instanceof ArrayBuffer) {
      const cloud = M.decodeSceneFile(stored.buffer);
      clouds.set(stored.scene_file.filename, cloud);
      editor.setPayload({ cloud, input_state: null });
    } else if (stored.scene) {
      editor.setPayload({ scene: stored.scene, input_state: null });
    }
  }).catch((e) => console.warn("[RealCam] could not restore the editor's point cloud", e));
}

// ---------------------------------------------------------------------------------------------
// ComfyUI extension

app.registerExtension({
  name: "comfyui-realcam.TrajectoryEditor",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_TYPE) return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      try {
        const payload = payloadOf(message);
        if (payload) {
          payloads.set(nodeKey(this), payload);
          applyPayload(this, payload);
        }
      } catch (e) {
        console.warn("[RealCam] could not read the editor payload", e);
      }
      return result;
    };
  },

  nodeCreated(node) {
    if (node.comfyClass !== NODE_TYPE) return;
    const stateWidget = node.widgets?.find((w) => w.name === STATE_WIDGET);
    if (!stateWidget) return;
    hideWidget(stateWidget);
    const editor = createTrajectoryEditor({
      readValue: () => (typeof stateWidget.value === "string" ? stateWidget.value : ""),
      writeValue: (text) => {
        stateWidget.value = text;
        stateWidget.callback?.(text);
        node.setDirtyCanvas?.(true, true);
        // record the change now (undo history, "modified" mark, the auto-saved workflow): the
        // frontend otherwise only looks after canvas events, and edits here may not produce one
        try {
          app.extensionManager?.workflow?.activeWorkflow?.changeTracker?.checkState?.();
        } catch (e) {
          console.warn("[RealCam] change tracking failed", e);
        }
      },
    });
    node.realcamEditor = editor;
    const widget = node.addDOMWidget("trajectory_editor", "realcam_trajectory_editor", editor.element, {
      serialize: false,
      hideOnZoom: false,
      getMinHeight: () => MIN_EDITOR_HEIGHT,
    });
    widget.serialize = false;

    const onConfigure = node.onConfigure;
    node.onConfigure = function () {
      const r = onConfigure?.apply(this, arguments);
      editor.loadFromValue();
      restorePayload(node);
      return r;
    };
    const onRemoved = node.onRemoved;
    node.onRemoved = function () {
      editor.destroy();
      return onRemoved?.apply(this, arguments);
    };
    node.setSize?.([Math.max(node.size?.[0] ?? 0, 600), Math.max(node.size?.[1] ?? 0, 700)]);
    queueMicrotask(() => restorePayload(node));
  },

  afterConfigureGraph() {
    for (const node of app.graph?.nodes ?? []) {
      if (node.comfyClass === NODE_TYPE && node.realcamEditor && !node.realcamEditor.cloud) restorePayload(node);
    }
  },
});
