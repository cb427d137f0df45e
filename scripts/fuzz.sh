#!/usr/bin/env bash
# Build the libFuzzer harnesses (fuzz/) in build-fuzz and run each one for a bounded time on a
# copy of its seed corpus. Any crash, sanitizer report (ASan, LSan, UBSan: halt on error),
# timeout (-timeout) or OOM (-rss_limit_mb) fails that target; its reproducer is kept in
# build-fuzz/artifacts/. The targets run two at a time (one per core).
#
#   bash scripts/fuzz.sh [seconds-per-target]      (default 45)
#
# Reproduce a finding:  build-fuzz/fuzz/<target> build-fuzz/artifacts/<target>-crash-...
# The last line is always: fuzz: P passed, F failed
set -u
secs=${1:-45}
root=$(cd "$(dirname "$0")/.." && pwd)
bd="$root/build-fuzz"
targets=(fuzz_model fuzz_state fuzz_schedule fuzz_capi)

if [ ! -f "$bd/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$bd" "$root" -Dfuzz=true -Dtests=false -Dbenchmarks=false \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ||
    { echo "fuzz: meson setup failed"; echo "fuzz: 0 passed, ${#targets[@]} failed"; exit 1; }
fi
if ! ninja -C "$bd" -j2 "${targets[@]/#/fuzz/}" >"$bd/fuzz-build.log" 2>&1; then
  tail -30 "$bd/fuzz-build.log"
  echo "fuzz: 0 passed, ${#targets[@]} failed"
  exit 1
fi

work=$(mktemp -d /tmp/mpsync-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$bd/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:handle_abort=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {  # target -> exit status of the fuzzer; log in $work/<target>.log
  local t=$1 dict=()
  mkdir -p "$work/$t.corpus" "$work/$t.art"
  cp "$root/fuzz/corpus/$t/"* "$work/$t.corpus/" 2>/dev/null
  [ -f "$root/fuzz/$t.dict" ] && dict=(-dict="$root/fuzz/$t.dict")
  timeout -k 10 $((secs + 90)) "$bd/fuzz/$t" "$work/$t.corpus" "${dict[@]}" \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$t.art/" >"$work/$t.log" 2>&1
}

pass=0 fail=0
report() {  # target rc
  local t=$1 rc=$2 arts
  arts=$(ls "$work/$t.art" 2>/dev/null)
  local runs
  runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$')
  if [ "$rc" -eq 0 ] && [ -z "$arts" ]; then
    echo "fuzz: $t passed (${runs:-?} inputs in ${secs} s)"
    pass=$((pass + 1))
  else
    echo "fuzz: $t FAILED (exit $rc)"
    grep -E -A6 'FUZZ CHECK FAILED|ERROR: |runtime error|SUMMARY' "$work/$t.log" | head -40
    for a in $arts; do cp "$work/$t.art/$a" "$bd/artifacts/$t-$a"; echo "  reproducer: $bd/artifacts/$t-$a"; done
    cp "$work/$t.log" "$bd/artifacts/$t.log"
    fail=$((fail + 1))
  fi
}

# Two lanes, one per core.
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  a=${targets[i]} b=${targets[i + 1]:-}
  run_one "$a" & pa=$!
  if [ -n "$b" ]; then run_one "$b" & pb=$!; fi
  wait "$pa"; ra=$?
  report "$a" "$ra"
  if [ -n "$b" ]; then wait "$pb"; rb=$?; report "$b" "$rb"; fi
done

echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
