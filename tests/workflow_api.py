"""Convert a UI-format workflow (what the Templates browser loads) into an API-format prompt.

Uses the live server's /object_info for each node's widget order, so a template whose widget
values no longer match the node schema fails here, not in front of a user.
"""

from __future__ import annotations

import copy

VIRTUAL_NODES = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}
# A dynamic combo (newer ComfyUI, e.g. 0.33 SaveVideo.codec) is a combo whose chosen option brings its own
# inputs; the frontend lays their widgets out right after the combo, named "<combo>.<input>", and sends them
# under those names in the API prompt (nested combos nest the prefix: "codec.encoding.crf").
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", DYNAMIC_COMBO}


def _widget_specs(inputs: dict) -> list[tuple[str, str | list, dict]]:
    """(name, type, options) of the widget inputs in an input dict, required before optional."""
    out = []
    for section in ("required", "optional"):
        for name, spec in inputs.get(section, {}).items():
            kind = spec[0]
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if isinstance(kind, list) or kind in WIDGET_TYPES:
                out.append((name, kind, opts))
    return out


def widget_inputs(node_def: dict) -> list[tuple[str, dict]]:
    """(name, options) of the node's own widget inputs, in the order the frontend lays them out
    (a dynamic combo's option inputs are not listed: they depend on the chosen value)."""
    return [(name, opts) for name, _kind, opts in _widget_specs(node_def["input"])]


def _take_widget_values(inputs: dict, values: list, specs: list, prefix: str = "") -> None:
    """Assign `values` (consumed from the front) to the widgets in `specs`, as the frontend does."""
    for name, kind, opts in specs:
        if not values:
            return
        key = prefix + name
        inputs[key] = value = values.pop(0)
        if opts.get("control_after_generate") and values:
            values.pop(0)  # the "fixed/randomize" companion widget
        if kind == DYNAMIC_COMBO:
            chosen = next((o for o in opts.get("options", []) if o.get("key") == value), None)
            if chosen is not None:
                _take_widget_values(inputs, values, _widget_specs(chosen.get("inputs", {})), key + ".")


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    links = {link[0]: link for link in workflow["links"]}
    prompt: dict[str, dict] = {}
    for node in workflow["nodes"]:
        ntype = node["type"]
        if ntype in VIRTUAL_NODES or node.get("mode", 0) in (2, 4):  # muted / bypassed
            continue
        if ntype not in object_info:
            raise KeyError(f"node {node['id']}: type {ntype!r} is not registered on the server")
        node_def = object_info[ntype]
        inputs: dict = {}
        _take_widget_values(inputs, list(node.get("widgets_values") or []), _widget_specs(node_def["input"]))
        for inp in node.get("inputs", []):
            if inp.get("link") is not None:
                link = links[inp["link"]]
                inputs[inp["name"]] = [str(link[1]), link[2]]
        prompt[str(node["id"])] = {"class_type": ntype, "inputs": inputs}
    return prompt


def with_inputs(prompt: dict, changes: dict[str, dict]) -> dict:
    """A copy of `prompt` with some node inputs replaced: {node_id: {input: value}}."""
    out = copy.deepcopy(prompt)
    for nid, kv in changes.items():
        out[nid]["inputs"].update(kv)
    return out


def find_node(prompt: dict, class_type: str) -> str:
    ids = [k for k, v in prompt.items() if v["class_type"] == class_type]
    if len(ids) != 1:
        raise KeyError(f"expected one {class_type} node, found {len(ids)}")
    return ids[0]
