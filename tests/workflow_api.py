"""Convert a UI-format workflow (what the Templates browser loads) into an API-format prompt.

Uses the live server's /object_info for each node's widget order, so a template whose widget
values no longer match the node schema fails here, not in front of a user.
"""

from __future__ import annotations

import copy

VIRTUAL_NODES = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def widget_inputs(node_def: dict) -> list[tuple[str, dict]]:
    """(name, options) of the inputs that are widgets, in the order the frontend lays them out."""
    out = []
    for section in ("required", "optional"):
        for name, spec in node_def["input"].get(section, {}).items():
            kind = spec[0]
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if isinstance(kind, list) or kind in WIDGET_TYPES:
                out.append((name, opts))
    return out


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
        values = list(node.get("widgets_values") or [])
        for name, opts in widget_inputs(node_def):
            if not values:
                break
            inputs[name] = values.pop(0)
            if opts.get("control_after_generate") and values:
                values.pop(0)  # the "fixed/randomize" companion widget
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
