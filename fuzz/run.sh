#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR SECONDS [NAME...]: runs each fuzzer of BUILD_DIR/fuzz
# (default: all) one after the other, one process each, until it has done
# FUZZ_RUNS executions (environment; default: no limit) or SECONDS seconds
# have passed, whichever comes first.
#
# Each first replays its regressions (fuzz/regressions/NAME: every earlier
# finding), then fuzzes its working corpus BUILD_DIR/fuzz/corpus/NAME (kept
# between runs, so long runs build on earlier ones) seeded from the generated
# BUILD_DIR/fuzz/seeds/NAME. Prints one summary line per fuzzer (executions,
# time, rate, corpus size, finding or not) and appends the same lines, under a
# header naming the commit, host and command, to FUZZ_SUMMARY (default
# BUILD_DIR/fuzz/summary.txt), so a long run's numbers can be pasted as they
# are. libFuzzer's logs go to FUZZ_LOG_DIR (default BUILD_DIR/fuzz/logs).
#
# A finding (a crash, a broken property, a leak, a timeout) does not stop the
# other fuzzers; the script exits 1 at the end if there was one, its input
# saved as BUILD_DIR/fuzz/findings/NAME-crash-... (add it to
# fuzz/regressions/NAME once fixed, with a regression test in the layer's
# tests). Exit 2: a usage error or a fuzzer not built.
set -euo pipefail

usage="usage: [FUZZ_RUNS=N] [FUZZ_SUMMARY=FILE] [FUZZ_LOG_DIR=DIR] fuzz/run.sh BUILD_DIR SECONDS [NAME...]"
build=${1:?$usage}
seconds=${2:?$usage}
shift 2
runs=${FUZZ_RUNS:--1}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz/run.sh: SECONDS must be a positive number, not \`$seconds'" >&2; exit 2; }
[[ $runs =~ ^(-1|[0-9]+)$ ]] || { echo "fuzz/run.sh: FUZZ_RUNS must be a number, not \`$runs'" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=(validate decode metadata link hints trailer control registry)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

out=$build/fuzz
logs=${FUZZ_LOG_DIR:-$out/logs}
summary=${FUZZ_SUMMARY:-$out/summary.txt}
mkdir -p "$out/findings" "$logs" "$(dirname "$summary")"
for name in "${names[@]}"; do
  [[ -x $out/fuzz_$name ]] || { echo "fuzz/run.sh: no $out/fuzz_$name (build target modkit_fuzzers)" >&2; exit 2; }
done

limit="${seconds} s"
[[ $runs != -1 ]] && limit="$runs executions or ${seconds} s, whichever first"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$here" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
{
  echo "== fuzz/run.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $commit$dirty, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "   FUZZ_RUNS=$runs fuzz/run.sh $build $seconds ${names[*]}  (each: $limit)"
} | tee -a "$summary"

# Executions a libFuzzer log reports: its final stats, else (a run that
# died) the last status line "#N ...".
executions() {
  local n
  n=$(awk '/stat::number_of_executed_units:/ {print $2}' "$1" | tail -1)
  [[ -n $n ]] || n=$(grep -o '^#[0-9]*' "$1" | tail -1 | tr -d '#')
  echo "${n:-0}"
}

found=0
for name in "${names[@]}"; do
  bin=$out/fuzz_$name
  corpus=$out/corpus/$name
  mkdir -p "$corpus"
  log=$logs/$name.log
  regressions=$here/regressions/$name
  if [[ -d $regressions ]] && compgen -G "$regressions/*" >/dev/null; then
    if ! "$bin" -runs=0 "$regressions"/* >"$log" 2>&1; then
      line="fuzz_$name: FINDING: a regression input of $regressions fails again; see $log"
      echo "$line" | tee -a "$summary" >&2
      found=1
      continue
    fi
  fi
  start=$(date +%s)
  status="no finding"
  if ! "$bin" -max_total_time="$seconds" -runs="$runs" -timeout=30 -rss_limit_mb=3072 \
      -print_final_stats=1 -artifact_prefix="$out/findings/$name-" \
      "$corpus" "$out/seeds/$name" >"$log" 2>&1; then
    unit=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' | tail -1 || true)
    status="FINDING: ${unit:-no input saved}; log $log"
    found=1
  fi
  elapsed=$(($(date +%s) - start))
  execs=$(executions "$log")
  rate=$((execs / (elapsed > 0 ? elapsed : 1)))
  line=$(printf 'fuzz_%-9s %12s executions in %5s s (%s/s), corpus %s inputs, %s' "$name" \
    "$execs" "$elapsed" "$rate" "$(ls "$corpus" | wc -l)" "$status")
  echo "$line" | tee -a "$summary"
done
exit $found
