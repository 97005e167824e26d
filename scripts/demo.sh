#!/usr/bin/env bash
# Install stylecast (runtime only: no torch needed) into .venv and stylize the bundled sample clip with the
# default shipped style. Writes stylecast-demo.mp4 here. Extra arguments go to `stylecast demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
exec .venv/bin/stylecast demo "$@"
