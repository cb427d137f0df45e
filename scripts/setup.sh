#!/usr/bin/env bash
# README's first command: install what mpsync needs (Debian 12), build it, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
./build/examples/demo
# The Python package into .venv (Debian's meson-python; no package index needed), and its demo.
bash scripts/python.sh .venv >/dev/null
.venv/bin/python examples/python_demo.py
