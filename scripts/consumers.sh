#!/usr/bin/env bash
# Install mpsync from BUILDDIR into a DESTDIR stage and build + run small consumers against the
# installed copy, the way a user would find it:
#   pkg-config       a C11 program (shared and static) and a C++20 -fno-exceptions -fno-rtti program
#   CMake package    tests/consumers/cmake: find_package(mpsync) -> mpsync::mpsync; C++20 shared and
#                    static, C11 static; then the same project C-only with mpsync::mpsync
#                    made static (CONSUMER_LANGS=C, MPSYNC_USE_STATIC_LIBS=ON)
#   ctypes           tests/consumers/ctypes_consumer.py on the installed libmpsync.so, two Python
#                    processes, under both wait backends
# and one that needs no install:
#   meson subproject tests/consumers/subproject with subprojects/mpsync -> this source tree
# The stage is a relocation: the package was configured for the build's prefix, consumers find it
# under $stage$prefix. Prints "consumers: P passed, F failed" (scripts/test.sh tallies it).
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/tests/consumers
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@" >"$stage/log" 2>&1; then pass=$((pass+1)); echo "  ok   $what"; else fail=$((fail+1)); echo "  FAIL $what"; sed 's/^/       /' "$stage/log" | tail -15; fi; }
need() { command -v "$1" >/dev/null || { echo "$1 not found (scripts/deps.sh installs it)"; return 1; }; }

check "meson install" env DESTDIR="$stage/root" meson install -C "$build" --no-rebuild --quiet
prefix=$(meson introspect "$build" --buildoptions |
         python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
inst=$stage/root$prefix
libdir=$(find "$inst" -name 'mpsync.pc' -printf '%h\n' | head -1)
check "man pages (installed: groff -wall, man -l, man 3 mpsync_lock_acquire)" \
  bash "$root/scripts/check_man.sh" "$(find "$inst" -type d -name man7 -printf '%h\n' | head -1)"
check "mpsync-inspect (installed in bin/: --help, a listing)" \
  sh -c "'$inst/bin/mpsync-inspect' --help | grep deadlocks >/dev/null && '$inst/bin/mpsync-inspect' >/dev/null"

# ---- pkg-config ----
export PKG_CONFIG_PATH=$libdir PKG_CONFIG_SYSROOT_DIR=$stage/root
so_dir=$(dirname "$libdir")
cflags=$(pkg-config --cflags mpsync) libs=$(pkg-config --libs mpsync)
check "C11 consumer (shared)" sh -c "gcc -std=c11 -Wall -Werror $cflags '$src/consumer.c' $libs -Wl,-rpath,$so_dir -o '$stage/c' && '$stage/c'"
check "C11 consumer (static)" sh -c "gcc -std=c11 -Wall -Werror $cflags '$src/consumer.c' $so_dir/libmpsync.a -lstdc++ -lpthread -o '$stage/cs' && '$stage/cs'"
check "C++ -fno-exceptions -fno-rtti consumer" sh -c "g++ -std=c++20 -fno-exceptions -fno-rtti -Wall -Werror $cflags '$src/consumer_noexc.cpp' $libs -Wl,-rpath,$so_dir -o '$stage/x' && '$stage/x'"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# ---- CMake package: configure (the package's own checks), build, run every program ----
cmake_project() {  # <build dir> [cmake -D...]
  local dir=$1; shift
  need cmake || return 1
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$src/cmake" -B "$dir" "${gen[@]}" -DCMAKE_PREFIX_PATH="$inst" -DMPSYNC_EXPECT_PREFIX="$inst" "$@" &&
    cmake --build "$dir" --parallel 2 &&
    for exe in "$dir"/cmake_consumer_*; do [ -x "$exe" ] && { "$exe" || return 1; }; done &&
    # the shared program runs the staged libmpsync.so, the static ones need none. (grep reads all of
    # ldd's output: with pipefail, `grep -q` leaving early could fail the pipeline by SIGPIPE to ldd.)
    ldd "$dir/cmake_consumer_shared" 2>/dev/null | grep "$inst" >/dev/null ||
    { [ ! -e "$dir/cmake_consumer_shared" ] && ! ldd "$dir/cmake_consumer_c_static" | grep libmpsync >/dev/null; }
}
check "CMake find_package(mpsync) consumer (C++20 shared + static, C11 static)" cmake_project "$stage/cmake"
check "CMake find_package(mpsync) consumer (C-only project, MPSYNC_USE_STATIC_LIBS)" cmake_project "$stage/cmake-c" \
  -DCONSUMER_LANGS=C -DMPSYNC_USE_STATIC_LIBS=ON

# ---- meson subproject: dependency('mpsync') through meson.override_dependency ----
subproject_consumer() {
  cp -r "$src/subproject" "$stage/sub" && mkdir -p "$stage/sub/subprojects" &&
    ln -s "$root" "$stage/sub/subprojects/mpsync" &&
    meson setup "$stage/sub-build" "$stage/sub" &&
    ninja -C "$stage/sub-build" -j2 sub_consumer_cpp sub_consumer_c &&
    "$stage/sub-build/sub_consumer_cpp" && "$stage/sub-build/sub_consumer_c"
}
check "meson subproject consumer (override_dependency + get_variable)" subproject_consumer

# ---- Python ctypes on the installed shared library ----
py=/usr/bin/python3; [ -x "$py" ] || py=$(command -v python3)
so=$(find "$inst" -name 'libmpsync.so.*' -type f | head -1)
for backend in futex sleeploop; do
  check "Python ctypes consumer ($backend)" env MPSYNC_WAIT_BACKEND=$backend "$py" "$src/ctypes_consumer.py" "$so"
done

echo "consumers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
