#!/usr/bin/env bash
# make test-cross: modkit cross-built for aarch64 and riscv64 with Debian's
# cross compilers, and its tests run under qemu-user.
#
# For each architecture (ARCHES, default "aarch64 riscv64"):
#   1. googletest for the target, built from the sources libgtest-dev ships
#      (Debian 12 has no riscv64 packages to install it from);
#   2. the project, configured for the target in build-cross-<arch> with
#      qemu-<arch> as CMake's cross-compiling emulator, and the test binaries
#      and `modkit` built;
#   3. the tests run by ctest under qemu-user. The tests compile small C and
#      C++ programs and modules at run time with `gcc`, `g++`, `clang` and
#      `clang++`, and run native links of them as the oracle: a directory of
#      wrappers first in PATH makes those the target's cross compilers
#      (clang with --target), and qemu is registered with binfmt_misc (as
#      Debian's qemu-user-binfmt does) so that a target program a test starts
#      runs under qemu too.
#
# Environment: ARCHES, JOBS (default 2), TEST_TIMEOUT (default 600 s),
# CROSS_TESTS (a ctest -R regex; default: every test), CROSS_EXCLUDE (ctest -E).
# Prints the time each phase took. Needs root (or sudo) for the packages and
# the binfmt_misc registration.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCHES=${ARCHES:-"aarch64 riscv64"}
JOBS=${JOBS:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
CROSS_TESTS=${CROSS_TESTS:-}
CROSS_EXCLUDE=${CROSS_EXCLUDE:-}

bash scripts/deps.sh --cross

SUDO=()
[[ $(id -u) -ne 0 ]] && SUDO=(sudo)

# binfmt_misc magic and mask of 64-bit little-endian ELF executables of the
# machine (from qemu's scripts/qemu-binfmt-conf.sh).
ELF_MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
declare -A ELF_MACHINE=([aarch64]='\xb7\x00' [riscv64]='\xf3\x00')

register_binfmt() {
  local arch=$1 dir=/proc/sys/fs/binfmt_misc
  if [[ ! -e $dir/register ]]; then
    "${SUDO[@]}" mount -t binfmt_misc binfmt_misc "$dir" || {
      echo "cross.sh: cannot mount binfmt_misc: target programs the tests start cannot run" >&2
      return 1
    }
  fi
  local name=qemu-$arch
  # Any existing handler for the machine will do (qemu-user-binfmt's too).
  if grep -qs "^enabled" "$dir/$name" "$dir/qemu-$arch-static" 2>/dev/null; then return 0; fi
  local magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00'${ELF_MACHINE[$arch]}
  echo "cross.sh: registering $(command -v qemu-"$arch") for $arch programs with binfmt_misc"
  echo ":$name:M::$magic:$ELF_MASK:$(command -v qemu-"$arch"):F" | "${SUDO[@]}" tee "$dir/register" >/dev/null
}

# `gcc`, `clang`... for the target, first in PATH while the tests run.
write_wrappers() {
  local arch=$1 bin=$2 triple=$1-linux-gnu
  mkdir -p "$bin"
  local tool
  for tool in gcc g++ cc c++ as ld nm objdump objcopy strip ar; do
    local real=$triple-$tool
    [[ $tool == cc ]] && real=$triple-gcc
    [[ $tool == c++ ]] && real=$triple-g++
    printf '#!/bin/sh\nexec %s "$@"\n' "$real" >"$bin/$tool"
  done
  for tool in clang clang++; do
    printf '#!/bin/sh\nexec /usr/bin/%s --target=%s "$@"\n' "$tool" "$triple" >"$bin/$tool"
  done
  chmod +x "$bin"/*
}

now() { date +%s; }

summary=()
status=0
for arch in $ARCHES; do
  triple=$arch-linux-gnu
  sysroot=/usr/$triple
  build=$ROOT/build-cross-$arch
  echo "=== $arch ==="
  register_binfmt "$arch"
  export QEMU_LD_PREFIX=$sysroot
  # qemu-user does not see code written through the arena's alias mapping:
  # HostRuntime::sync_code makes it drop stale translations (code_runtime.cc).
  export MODKIT_QEMU_USER=1

  t0=$(now)
  target_flags=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="$arch"
                -DCMAKE_C_COMPILER="$triple-gcc" -DCMAKE_CXX_COMPILER="$triple-g++")
  if [[ ! -f $build/gtest/lib/cmake/GTest/GTestConfig.cmake ]]; then
    cmake -S /usr/src/googletest -B "$build/gtest-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "${target_flags[@]}" -DCMAKE_INSTALL_PREFIX="$build/gtest" -DBUILD_GMOCK=ON >/dev/null
    cmake --build "$build/gtest-build" -j "$JOBS" >/dev/null
    cmake --install "$build/gtest-build" >/dev/null
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${target_flags[@]}" \
    -DCMAKE_CROSSCOMPILING_EMULATOR="qemu-$arch;-L;$sysroot" \
    -DCMAKE_PREFIX_PATH="$build/gtest" >/dev/null
  write_wrappers "$arch" "$build/cross-bin"
  # Test discovery runs each test binary under qemu while building.
  PATH="$build/cross-bin:$PATH" cmake --build "$build" -j "$JOBS"
  t1=$(now)

  ctest_args=(--output-on-failure --timeout "$TEST_TIMEOUT" -j"$JOBS" --test-dir "$build")
  [[ -n $CROSS_TESTS ]] && ctest_args+=(-R "$CROSS_TESTS")
  [[ -n $CROSS_EXCLUDE ]] && ctest_args+=(-E "$CROSS_EXCLUDE")
  log=$build/cross-test.log
  if PATH="$build/cross-bin:$PATH" ctest "${ctest_args[@]}" 2>&1 | tee "$log"; then
    result=passed
  else
    result=FAILED
    status=1
  fi
  t2=$(now)
  summary+=("$arch: build $((t1 - t0)) s, tests $((t2 - t1)) s: $(grep -E 'tests passed' "$log" | tail -1) ($result)")
done

echo "=== cross summary ==="
printf '%s\n' "${summary[@]}"
exit $status
