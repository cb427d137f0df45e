#!/usr/bin/env bash
# README's first command: install what mpsync needs (Debian 12), build it, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
./build/examples/demo
