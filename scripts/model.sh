#!/usr/bin/env bash
# Model check of the Condition and Barrier protocols (fuzz/model/*.pml) with spin: each
# configuration is `spin -a` + `gcc pan.c` + an exhaustive safety search (assertions and invalid
# end states). The real models must finish with "errors: 0" (and a complete search: no depth or
# memory limit hit); every mutant (a deliberately broken protocol) must make spin find an error,
# which shows the properties can fail. Last line: "model: P passed, F failed".
#   usage: scripts/model.sh [-k]   (-k keeps the work directory with pan outputs and trails)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep=0; [ "${1:-}" = "-k" ] && keep=1
work=$(mktemp -d "${TMPDIR:-/tmp}/mpsync-model.XXXXXX")
[ "$keep" -eq 1 ] && echo "model: work directory $work" || trap 'rm -rf "$work"' EXIT
passed=0; failed=0

if ! command -v spin >/dev/null 2>&1; then
  echo "model: spin not found (Debian package 'spin'; scripts/deps.sh installs it)"
  echo "model: 0 passed, 1 failed"; exit 1
fi

# COLLAPSE: lossless state compression (the search stays exhaustive); SAFETY: no cycle checks.
# MEMLIM caps pan's memory at 1 GiB; -m is the search-depth limit (checked below).
CFLAGS_PAN="-w -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=1024"

# check NAME MODEL EXPECT(pass|fail) [spin -D flags...]
check() {
  local name=$1 model=$2 expect=$3; shift 3
  local d="$work/$name"; mkdir -p "$d"
  cp "$root/fuzz/model/$model" "$d/"
  local t0=$SECONDS out="$d/pan.out" verdict
  if ! (cd "$d" && spin -a "$@" "$model" >spin.out 2>&1 && gcc $CFLAGS_PAN -o pan pan.c >gcc.out 2>&1); then
    echo "FAIL $name: spin/gcc failed"; sed 's/^/    /' "$d/spin.out" "$d/gcc.out" 2>/dev/null | head -20
    failed=$((failed + 1)); return
  fi
  (cd "$d" && ./pan -m300000 >"$out" 2>&1)
  local errors states depth
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | tail -1)
  states=$(awk '/states, stored/ {print $1; exit}' "$out")
  depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$out" | tail -1)
  local why; why=$(grep -m1 -E 'assertion violated|invalid end state \(|out of memory|max search depth too small' "$out" | sed 's/^pan:[0-9]*: *//')
  if [ "$expect" = pass ]; then
    if [ "${errors:-x}" = 0 ] && ! grep -qE 'out of memory|max search depth too small' "$out"; then verdict=ok; else verdict=bad; fi
  else
    if [ -n "$errors" ] && [ "$errors" -gt 0 ] && grep -qE 'assertion violated|invalid end state' "$out"; then verdict=ok; else verdict=bad; fi
  fi
  local info="states ${states:-?}, depth ${depth:-?}, errors ${errors:-?}, $((SECONDS - t0)) s"
  if [ "$verdict" = ok ]; then
    passed=$((passed + 1))
    if [ "$expect" = pass ]; then echo "ok   $name: $info"; else echo "ok   $name (mutant, caught: ${PROP:-?}): $why"; fi
  else
    failed=$((failed + 1))
    echo "FAIL $name (expected $expect): $info${why:+; $why}"
    grep -E 'error|violated|memory|depth' "$out" | head -5 | sed 's/^/    /'
  fi
}

echo "=== Condition (fuzz/model/condition.pml): 3 waiters, notify(1|2|all) x3"
check cond-faithful condition.pml pass
check cond-stress   condition.pml pass -DSPURIOUS -DTIMED=6 -DGROUPBITS=2 -DWAITS0=1
PROP='P3 lost wake-up' check cond-mut-seq-after-unlock condition.pml fail -DMUT_SEQ_AFTER_UNLOCK
PROP='P3 lost wake-up' check cond-mut-any-bit          condition.pml fail -DMUT_ANY_BIT
PROP='P2 stolen wake-up' check cond-mut-one-group        condition.pml fail -DMUT_ONE_GROUP
PROP='P3 lost wake-up' check cond-mut-wake-before-seq  condition.pml fail -DMUT_WAKE_BEFORE_SEQ
PROP='P3 lost wake-up' check cond-mut-no-s            condition.pml fail -DMUT_NO_S
PROP='P3 lost wake-up' check cond-mut-clear-s-g1       condition.pml fail -DMUT_CLEAR_S_G1

echo "=== Barrier (fuzz/model/barrier.pml): 3 threads + reset/abort"
check bar-cycles   barrier.pml pass -DTIMED=0
check bar-timeouts barrier.pml pass -DCYCLES=1 -DACTFAIL -DINTR -DSPURIOUS
check bar-extra    barrier.pml pass -DP=2 -DCYCLES=1 -DSPURIOUS -DINTR
PROP='Q4 wrong fate' check bar-mut-no-record     barrier.pml fail -DMUT_NO_RECORD -DP=2 -DCYCLES=1
PROP='Q5 lost wake-up' check bar-mut-no-w          barrier.pml fail -DMUT_NO_W -DP=2 -DCYCLES=1
PROP='Q5 lost wake-up' check bar-mut-reset-no-wake barrier.pml fail -DMUT_RESET_NO_WAKE -DP=2 -DCYCLES=1

echo "model: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
