#!/usr/bin/env bash
# Checks installed man pages: MANDIR holds man3/ and man7/ (as `meson install` lays them out).
# Every page renders with groff without a warning (-wall), `man -l` formats it, and man finds
# mpsync(7) and a function's page through its .so link. Exit 1 on any failure.
#   bash scripts/check_man.sh MANDIR
set -uo pipefail
mandir=$1
n=0; bad=0
for page in "$mandir"/man7/*.7 "$mandir"/man3/*.3; do
  [ -e "$page" ] || { echo "no pages under $mandir"; exit 1; }
  n=$((n + 1))
  if [ "$(head -c 3 "$page")" = ".so" ]; then
    target=$mandir/$(sed -n 's/^\.so //p' "$page")
    [ -e "$target" ] || { echo "$page: .so target $target missing"; bad=$((bad + 1)); }
    continue
  fi
  w=$(groff -z -wall -man "$page" 2>&1)
  [ -z "$w" ] || { echo "$page: $w" | head -5; bad=$((bad + 1)); }
  man -l "$page" >/dev/null 2>&1 || { echo "$page: man -l failed"; bad=$((bad + 1)); }
done
for name in "7 mpsync" "3 mpsync_lock_acquire" "3 mpsync_cond_wait" "3 mpsync_region_create_memfd" "3 mpsync_region_name"; do
  MANPATH=$mandir man -w $name >/dev/null 2>&1 || { echo "man $name: not found"; bad=$((bad + 1)); }
  # (grep, not grep -q: with pipefail an early exit could fail the pipeline by SIGPIPE to man)
  MANPATH=$mandir man $name 2>/dev/null | grep "SEE ALSO" >/dev/null || { echo "man $name: does not render"; bad=$((bad + 1)); }
done
echo "man pages: $n checked, $bad problems"
[ "$bad" -eq 0 ]
