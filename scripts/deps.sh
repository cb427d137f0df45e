#!/usr/bin/env bash
# Installs everything mpsync needs on Debian 12 (idempotent, quiet). Run as root (or with sudo on PATH).
set -euo pipefail
pkgs=(meson ninja-build pkg-config g++ clang libclang-rt-14-dev python3
      libgtest-dev googletest libbenchmark-dev liburing-dev strace cmake
      g++-aarch64-linux-gnu g++-riscv64-linux-gnu qemu-user
      python3-matplotlib  # bench/compare's chart
      groff-base man-db   # the man pages' check (scripts/check_man.sh)
      spin  # the Promela model check (scripts/model.sh)
      python3-dev python3-venv python3-mesonpy  # the Python package (pyproject.toml)
      python3-pytest libpython3.11-testsuite)   # its tests, and CPython's own (python/tests)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "deps: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
