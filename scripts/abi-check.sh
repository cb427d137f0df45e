#!/usr/bin/env bash
# meson test wrapper: check include/mpsync.h and the built library against ../shared/API.md with
# the project's ABI checker, when the shared folder is present (exit 77 = skipped otherwise).
src=$1 libdir=$2
tool="$src/../shared/tools/abi-check"
[ -x "$tool" ] || { echo "SKIP: $tool not found"; exit 77; }
cd "$src" && "$tool" "$libdir"
