#!/usr/bin/env bash
# The freestanding check: every symbol the core libraries leave undefined must be
# one of the five C functions a kernel provides (memcpy memmove memset memcmp
# strlen) or a symbol that one of the core libraries itself defines. Anything
# else (malloc, operator new, __cxa_*, __stack_chk_fail, printf...) means the
# core grew a dependency on a hosted runtime. Prints every offender with the
# archive member that references it.
#
# usage: check_undefined.sh NM LIBRARY...
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 NM LIBRARY..." >&2
  exit 2
fi
nm=$1
shift
for lib in "$@"; do
  if [[ ! -f "$lib" ]]; then
    echo "freestanding: $lib does not exist (build it first)" >&2
    exit 2
  fi
done

# Global and weak definitions across all the libraries (a local symbol cannot
# satisfy a reference from another object), as "D name" lines; then every
# undefined reference, as "U member name" lines. POSIX format: "name type ...",
# and with -A "lib.a[member.o]: name type ...".
{
  "$nm" --defined-only --format=posix "$@" |
    awk 'NF >= 2 && ($2 ~ /^[A-TV-Z]$/ || $2 == "u" || $2 == "i") { print "D", $1 }'
  "$nm" --undefined-only --format=posix -A "$@" |
    awk 'NF >= 3 { sub(/:$/, "", $1); print "U", $1, $2 }'
} | awk -v count="$#" '
  BEGIN { split("memcpy memmove memset memcmp strlen", libc, " "); for (i in libc) ok[libc[i]] = 1
          # Defined by any static linker, not a run-time dependency: gcc leaves it
          # undefined in some objects that never use it.
          ok["_GLOBAL_OFFSET_TABLE_"] = 1 }
  $1 == "D" { ok[$2] = 1; next }
  $1 == "U" && !($3 in ok) { print "freestanding: " $2 " references " $3; bad++ }
  END {
    if (bad) {
      print "freestanding: " bad " undefined reference(s) outside the core and memcpy/memmove/memset/memcmp/strlen"
      exit 1
    }
    print "freestanding: " count " core libraries reference nothing outside the core but memcpy/memmove/memset/memcmp/strlen"
  }' | { c++filt 2>/dev/null || cat; }
