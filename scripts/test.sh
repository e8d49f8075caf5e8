#!/usr/bin/env bash
# Runs every test: lint, core unit tests, JS maths tests (node), node tests against a real
# ComfyUI server, and browser tests in Debian chromium driving the real ComfyUI frontend.
# Installs whatever is missing first (scripts/setup.sh --browser). Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh" --browser
home="${REALCAM_HOME:-$HOME/.cache/comfyui-realcam}"
# shellcheck disable=SC1091
. "$home/env"
export COMFYUI_PATH REALCAM_PY
cd "$here"
"$REALCAM_PY" -m ruff check .
set +e
"$REALCAM_PY" -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit "$rc"
