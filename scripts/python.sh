#!/usr/bin/env bash
# Builds and installs the Python package into a virtual environment (default .venv) with Debian's
# /usr/bin/python3 and python3-mesonpy: the README's Python install, also used by scripts/test.sh.
#   bash scripts/python.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
if ! out=$("$venv/bin/pip" install --no-build-isolation --no-index --force-reinstall --no-deps -q . 2>&1); then
  echo "$out" | tail -40; exit 1
fi
"$venv/bin/python" -c "import mpsync; print('mpsync', mpsync.__version__, 'in', '$venv')"
