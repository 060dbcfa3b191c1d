#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR SECONDS [NAME...]: runs each fuzzer of BUILD_DIR/fuzz
# (default: all) for SECONDS seconds, one after the other, one process each.
# Each first replays its regressions (fuzz/regressions/NAME: every earlier
# finding), then fuzzes its working corpus BUILD_DIR/fuzz/corpus/NAME (kept
# between runs, so long runs build on earlier ones) seeded from the generated
# BUILD_DIR/fuzz/seeds/NAME. Prints one line per fuzzer: executions, time,
# corpus size. A finding stops the script with exit 1, the input saved as
# BUILD_DIR/fuzz/findings/NAME-crash-... (add it to fuzz/regressions/NAME
# once fixed, with a regression test in the layer's tests).
set -euo pipefail

build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [NAME...]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [NAME...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=(validate decode metadata link hints control registry)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

out=$build/fuzz
mkdir -p "$out/findings" "$out/logs"
for name in "${names[@]}"; do
  bin=$out/fuzz_$name
  [[ -x $bin ]] || { echo "fuzz/run.sh: no $bin (build target modkit_fuzzers)" >&2; exit 2; }
  corpus=$out/corpus/$name
  mkdir -p "$corpus"
  log=$out/logs/$name.log
  regressions=$here/regressions/$name
  if [[ -d $regressions ]] && compgen -G "$regressions/*" >/dev/null; then
    if ! "$bin" -runs=0 "$regressions"/* >"$log" 2>&1; then
      echo "fuzz_$name: a regression input fails again; see $log" >&2
      exit 1
    fi
  fi
  if ! "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 -print_final_stats=1 \
      -artifact_prefix="$out/findings/$name-" "$corpus" "$out/seeds/$name" >"$log" 2>&1; then
    echo "fuzz_$name: FINDING after $(awk '/stat::number_of_executed_units:/ {print $2}' "$log") executions; input and log:" >&2
    grep -o "Test unit written to .*" "$log" >&2 || true
    echo "  $log" >&2
    exit 1
  fi
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log")
  rate=$(awk '/stat::average_exec_per_sec:/ {print $2}' "$log")
  echo "fuzz_$name: $execs executions in ${seconds} s ($rate/s), corpus $(ls "$corpus" | wc -l) inputs, no finding"
done
