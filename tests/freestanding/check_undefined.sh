#!/usr/bin/env bash
# The freestanding check: every symbol the core libraries leave undefined must be
# one of the five C functions a kernel provides (memcpy memmove memset memcmp
# strlen) or a symbol that one of the core libraries itself defines. Anything
# else (malloc, operator new, __cxa_*, __stack_chk_fail, printf...) means the
# core grew a dependency on a hosted runtime. Prints every offender with the
# object that references it.
#
# usage: check_undefined.sh NM LIBRARY...
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 NM LIBRARY..." >&2
  exit 2
fi
nm=$1
shift

allowed=$(mktemp)
trap 'rm -f "$allowed"' EXIT
printf '%s\n' memcpy memmove memset memcmp strlen >"$allowed"

for lib in "$@"; do
  if [[ ! -f "$lib" ]]; then
    echo "freestanding: $lib does not exist (build it first)" >&2
    exit 2
  fi
  # Global and weak definitions of every member (locals cannot satisfy a
  # reference from another object).
  "$nm" --defined-only --format=posix "$lib" |
    awk 'NF >= 2 && ($2 ~ /^[A-TV-Z]$/ || $2 == "u" || $2 == "i") { print $1 }' >>"$allowed"
done

offenders=0
for lib in "$@"; do
  # With -A each line reads "lib.a[member.o]: symbol U" in POSIX format.
  while read -r where sym _; do
    [[ -n "$sym" ]] || continue  # a member with no undefined symbols
    if ! grep -qxF -- "$sym" "$allowed"; then
      where=${where%:}
      pretty=$(printf '%s\n' "$sym" | c++filt 2>/dev/null || printf '%s\n' "$sym")
      if [[ "$pretty" != "$sym" ]]; then pretty="$sym ($pretty)"; fi
      echo "freestanding: $where references $pretty"
      offenders=$((offenders + 1))
    fi
  done < <("$nm" --undefined-only --format=posix -A "$lib")
done

if [[ $offenders -ne 0 ]]; then
  echo "freestanding: $offenders undefined reference(s) outside the core and memcpy/memmove/memset/memcmp/strlen"
  exit 1
fi
echo "freestanding: $# core libraries reference nothing outside the core but memcpy/memmove/memset/memcmp/strlen"
