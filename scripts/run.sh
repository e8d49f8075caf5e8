#!/usr/bin/env bash
# The main job: install what is missing, then start ComfyUI on 127.0.0.1:8188 with this pack,
# its example workflows (Templates browser -> ComfyUI-RealCam) and their example inputs.
# Extra arguments go to ComfyUI's main.py (e.g. --port 8190). COMFYUI_PATH selects another ComfyUI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh"
home="${REALCAM_HOME:-$HOME/.cache/comfyui-realcam}"
# shellcheck disable=SC1091
. "$home/env"
"$REALCAM_PY" "$here/scripts/install_examples.py" "$COMFYUI_PATH/input"
extra=()
if ! "$REALCAM_PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  extra+=(--cpu)
fi
cd "$COMFYUI_PATH"
exec "$REALCAM_PY" main.py --listen 127.0.0.1 --port 8188 --disable-auto-launch "${extra[@]}" "$@"
