#!/usr/bin/env bash
# Futex syscalls per operation, counted by strace over N iterations of each bench_probe case.
#   bench/syscalls.sh BUILDDIR [N] [--json]
# Every case but the control should show 0 (uncontended paths never enter the kernel, and a
# release/notify with nobody waiting issues no FUTEX_WAKE). "pingpong_pinned" (two processes on
# one CPU, N/100 round trips) is the control: it must show futex calls, or the counting is broken.
# "contended4_lock" / "contended4_glibc_mutex" (4 processes, N acquisitions in all) are
# diagnostics: futex calls per acquisition under contention, ours vs glibc.
# The "baseline" case (start-up and exit only) is subtracted from every other case.
set -euo pipefail
build=${1:?usage: syscalls.sh BUILDDIR [N] [--json]}
n=${2:-1000000}
json=${3:-}
probe=$build/bench/bench_probe
# The futex backend unless told otherwise (the sleep-loop backend issues no futex calls at all, so
# there even the control shows 0).
export MPSYNC_WAIT_BACKEND=${MPSYNC_WAIT_BACKEND:-futex}
command -v strace >/dev/null || { echo "syscalls.sh: strace not installed" >&2; exit 1; }
[ -x "$probe" ] || { echo "syscalls.sh: $probe not built" >&2; exit 1; }
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT

count() {  # count CASE ITERATIONS -> futex calls in the whole process tree
  strace -f -c -e trace=futex -o "$tmp" "$probe" run "$1" "$2" >/dev/null
  awk '$NF == "futex" { print $4; found = 1 } END { if (!found) print 0 }' "$tmp"
}

base=$(count baseline "$n")
rows=()
for c in $("$probe" list); do
  [ "$c" = baseline ] && continue
  iters=$n
  case $c in pingpong_pinned) iters=$(( n / 100 > 0 ? n / 100 : 1 )) ;; esac
  calls=$(count "$c" "$iters")
  net=$(( calls > base ? calls - base : 0 ))
  rows+=("$c $iters $calls $net")
done

if [ "$json" = --json ]; then
  printf '{"iterations": %s, "baseline_calls": %s, "backend": "%s", "cases": [\n' "$n" "$base" "$MPSYNC_WAIT_BACKEND"
  for i in "${!rows[@]}"; do
    read -r c it calls net <<<"${rows[$i]}"
    sep=,; [ "$i" -eq $(( ${#rows[@]} - 1 )) ] && sep=
    printf '  {"case": "%s", "iterations": %s, "futex_calls": %s, "per_op": %s}%s\n' \
      "$c" "$it" "$calls" "$(awk -v a="$net" -v b="$it" 'BEGIN { printf "%.6g", a / b }')" "$sep"
  done
  printf ']}\n'
else
  echo "futex calls per operation, $MPSYNC_WAIT_BACKEND backend (strace -f -c -e trace=futex; start-up baseline $base call(s) subtracted)"
  printf '%-32s %10s %12s %10s\n' case iterations futex_calls per_op
  for r in "${rows[@]}"; do
    read -r c it calls net <<<"$r"
    printf '%-32s %10s %12s %10s\n' "$c" "$it" "$calls" "$(awk -v a="$net" -v b="$it" 'BEGIN { printf "%.3g", a / b }')"
  done
fi
