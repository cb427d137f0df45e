#!/usr/bin/env bash
# Install mpsync from BUILDDIR into a staging prefix and build + run small consumers against the
# installed copy with nothing but pkg-config: a C11 program and a C++20 -fno-exceptions -fno-rtti
# program, each linked shared and static. Prints "consumers: P passed, F failed".
set -uo pipefail
build=${1:-build}
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
prefix=/usr/local
pass=0 fail=0
check() { local what=$1; shift; if "$@" >"$stage/log" 2>&1; then pass=$((pass+1)); echo "  ok   $what"; else fail=$((fail+1)); echo "  FAIL $what"; sed 's/^/       /' "$stage/log" | tail -15; fi; }
check "meson install" env DESTDIR="$stage" meson install -C "$build" --no-rebuild --quiet
libdir=$(find "$stage$prefix" -name 'mpsync.pc' -printf '%h\n' | head -1)
export PKG_CONFIG_PATH=$libdir PKG_CONFIG_SYSROOT_DIR=$stage
so_dir=$(dirname "$libdir")
cflags=$(pkg-config --cflags mpsync) libs=$(pkg-config --libs mpsync)
src=$(cd "$(dirname "$0")/../tests/consumers" && pwd)
check "C11 consumer (shared)" sh -c "gcc -std=c11 -Wall -Werror $cflags '$src/consumer.c' $libs -Wl,-rpath,$so_dir -o '$stage/c' && '$stage/c'"
check "C11 consumer (static)" sh -c "gcc -std=c11 -Wall -Werror $cflags '$src/consumer.c' $so_dir/libmpsync.a -lstdc++ -lpthread -o '$stage/cs' && '$stage/cs'"
check "C++ -fno-exceptions -fno-rtti consumer" sh -c "g++ -std=c++20 -fno-exceptions -fno-rtti -Wall -Werror $cflags '$src/consumer_noexc.cpp' $libs -Wl,-rpath,$so_dir -o '$stage/x' && '$stage/x'"
echo "consumers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
