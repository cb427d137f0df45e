#!/usr/bin/env bash
# The Python package's tests (a step of scripts/test.sh): build it into build-python/venv, run its
# pytest suite with each wait backend, then CPython's own _test_multiprocessing synchronization
# classes on mpsync's context (fork, spawn) and, for the comparison, on the standard library's.
# Last line: "python: P passed, F failed".
set -uo pipefail
cd "$(dirname "$0")/.."
venv=build-python/venv
mkdir -p build-python
p=0; f=0
if ! bash scripts/python.sh "$venv"; then echo "python: 0 passed, 1 failed"; exit 1; fi
# test_inspect.py compares mpsync.inspect() with the program's output, if the C build made it.
export MPSYNC_INSPECT=${MPSYNC_INSPECT:-$PWD/build/tools/inspect/mpsync-inspect}
for backend in futex sleeploop; do
  out=$(cd python/tests && MPSYNC_WAIT_BACKEND=$backend timeout 600 "../../$venv/bin/python" -m pytest -q -p no:cacheprovider 2>&1)
  echo "$out" | grep -E "^(FAILED|ERROR)" | head -20
  line=$(echo "$out" | tail -1); echo "pytest ($backend backend): $line"
  np=$(echo "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i} END {print s+0}')
  nf=$(echo "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) ~ /^(failed|error)/) s += $i} END {print s+0}')
  [ "$np" -gt 0 ] || nf=$((nf + 1))
  p=$((p + np)); f=$((f + nf))
done
for impl in mpsync stdlib; do
  for method in fork spawn; do
    out=$(cd python/tests && timeout 900 "../../$venv/bin/python" cpython_mp.py "$method" "$impl" 2>&1)
    echo "$out" | grep -E "^(FAIL|ERROR):" | head -20
    line=$(echo "$out" | tail -1); echo "$line"
    [ "$impl" = mpsync ] || continue  # the stdlib's run is the reference, not ours to count
    np=$(echo "$line" | awk '/passed/ {print $4}'); nf=$(echo "$line" | awk '/passed/ {print $6}')
    if [ -z "$np" ]; then np=0; nf=1; fi
    p=$((p + np)); f=$((f + nf))
  done
done
echo "python: $p passed, $f failed"
[ "$f" -eq 0 ]
