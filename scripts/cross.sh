#!/usr/bin/env bash
# make test-cross (and make test, with CROSS_SET=quick): modkit cross-built for
# aarch64 and riscv64 with Debian's cross compilers, and its tests run under
# qemu-user.
#
# For each architecture (ARCHES, default "aarch64 riscv64"):
#   1. the target's libraries the build needs and Debian 12 has no package of
#      for riscv64: googletest, from the sources libgtest-dev ships, and
#      libsodium, from Debian's source package (apt-get source, into
#      build-cross-src/); both built once into build-cross-<arch>/;
#   2. the project, configured for the target in build-cross-<arch> with
#      qemu-<arch> as CMake's cross-compiling emulator and MODKIT_FUSE=OFF (no
#      libfuse3 for the target: no devfs mount, no modkitd, no daemon tests),
#      and MODKIT_BENCH=OFF (no Google Benchmark for the target), and only
#      `modkit`, the sample modules and the test binaries of the set built (no
#      daemon, fuzzers or benchmarks);
#   3. the tests run by ctest under qemu-user. The tests compile small C and
#      C++ programs and modules at run time with `gcc`, `g++`, `clang` and
#      `clang++` (each at -O0 and -O2; tests/exec), and run native links of them
#      as the oracle: a directory of wrappers first in PATH makes those the
#      target's cross compilers (clang with --target), and qemu is registered
#      with binfmt_misc (as Debian's qemu-user-binfmt does) so that a target
#      program a test starts runs under qemu too.
#
# CROSS_SET picks the test binaries:
#   full   (make test-cross) every test binary the cross build has;
#   quick  (make test) the linker and relocation suites (tests/arch, tests/link,
#          tests/cross), the module framework (tests/module, tests/lifecycle)
#          and `modkit exec` on the C and C++ programs (tests/exec): quick_tests.
#
# Environment: ARCHES, CROSS_SET (default full), JOBS (default 2), TEST_TIMEOUT
# (default 600 s), CROSS_TESTS (a ctest -R regex; default: every test of the
# set), CROSS_EXCLUDE (ctest -E). Prints the time each phase took. Needs root
# (or sudo) for the packages and the binfmt_misc registration.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCHES=${ARCHES:-"aarch64 riscv64"}
CROSS_SET=${CROSS_SET:-full}
JOBS=${JOBS:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
CROSS_TESTS=${CROSS_TESTS:-}
CROSS_EXCLUDE=${CROSS_EXCLUDE:-}

# The quick set's test binaries; their tests carry the binary's name as label.
quick_tests=(arch_machine_test arch_aarch64_test arch_riscv64_test arch_cross_golden_test
             link_arena_test link_resolver_test link_linker_test link_linker_runtime_test
             link_linker_file_test cross_link_test cross_on_target_test module_test
             lifecycle_dynamic_test lifecycle_static_test exec_test)
labels=()
case $CROSS_SET in
  full) targets=(modkit modkit_sample_modules modkit_tests concurrency_test) ;;
  quick)
    targets=(modkit modkit_sample_modules "${quick_tests[@]}")
    labels=(-L "^($(IFS='|'; echo "${quick_tests[*]}"))\$") ;;
  *) echo "cross.sh: CROSS_SET is full or quick, not \"$CROSS_SET\"" >&2; exit 2 ;;
esac

bash scripts/deps.sh --cross

SUDO=()
[[ $(id -u) -ne 0 ]] && SUDO=(sudo)
LAUNCHER=()
if command -v ccache >/dev/null; then
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # As the Makefile: hashed relative to the checkout, not by build directory,
  # so that a fresh clone anywhere hits what another checkout compiled.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi

# binfmt_misc magic and mask of 64-bit little-endian ELF executables of the
# machine (the ELF header: class, data, version, type EXEC or DYN, machine).
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

# `gcc`, `clang`... for the target, first in PATH while the tests run. No
# `as`: the target's gcc runs its own, and the host's x86_64-linux-gnu-gcc
# (the tools tests' x86_64 samples) would run an `as` found first in PATH.
write_wrappers() {
  local arch=$1 bin=$2 triple=$1-linux-gnu
  rm -rf "$bin"
  mkdir -p "$bin"
  local tool
  for tool in gcc g++ cc c++ ld nm objdump objcopy strip ar readelf; do
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

# libsodium's source, once for every target: Debian's source package, through
# apt with a deb-src list of its own (the machine's apt configuration is not
# touched), and its configure script generated (the tarball has none).
SRC=$ROOT/build-cross-src
fetch_sodium() {
  [[ -x $SRC/libsodium/configure ]] && return 0
  local apt=$SRC/apt
  rm -rf "$SRC/libsodium" "$apt"
  mkdir -p "$apt/parts" "$apt/lists/partial" "$SRC"
  local codename
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$codename" >"$apt/parts/debian-src.sources"
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts"
              -o "Dir::State::Lists=$apt/lists")
  # As root, apt's download user _apt cannot write into the build tree.
  [[ $(id -u) -eq 0 ]] && opts+=(-o APT::Sandbox::User=root)
  apt-get "${opts[@]}" -qq update
  (cd "$SRC" && apt-get "${opts[@]}" -qq source libsodium >/dev/null)
  local dir
  dir=$(find "$SRC" -maxdepth 1 -type d -name 'libsodium-*' | head -1)
  [[ -n $dir ]] || { echo "cross.sh: apt-get source libsodium unpacked nothing in $SRC" >&2; exit 1; }
  mv "$dir" "$SRC/libsodium"
  (cd "$SRC/libsodium" && autoreconf -fi >/dev/null 2>&1)
}

# libsodium for the target, static and position-independent, into $2.
build_sodium() {
  local triple=$1 prefix=$2 work=$2-build
  [[ -f $prefix/lib/pkgconfig/libsodium.pc ]] && return 0
  fetch_sodium
  rm -rf "$work" && mkdir -p "$work"
  local cc=$triple-gcc
  command -v ccache >/dev/null && cc="ccache $cc"
  (cd "$work" &&
    "$SRC/libsodium/configure" --host="$triple" --prefix="$prefix" --disable-shared --with-pic \
      --disable-dependency-tracking CC="$cc" >configure.log 2>&1 &&
    make -j"$JOBS" >make.log 2>&1 && make install >install.log 2>&1) || {
    echo "cross.sh: building libsodium for $triple failed: see the logs in $work" >&2
    exit 1
  }
}

now() { date +%s; }

summary=()
status=0
for arch in $ARCHES; do
  triple=$arch-linux-gnu
  sysroot=/usr/$triple
  build=$ROOT/build-cross-$arch
  echo "=== $arch ($CROSS_SET) ==="
  register_binfmt "$arch"
  export QEMU_LD_PREFIX=$sysroot
  # qemu-user does not see code written through the arena's alias mapping:
  # HostRuntime::sync_code makes it drop stale translations (code_runtime.cc).
  export MODKIT_QEMU_USER=1
  # pkg-config finds the target's libsodium, never the host's libraries.
  export PKG_CONFIG_LIBDIR=$build/sodium/lib/pkgconfig

  t0=$(now)
  target_flags=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="$arch"
                -DCMAKE_C_COMPILER="$triple-gcc" -DCMAKE_CXX_COMPILER="$triple-g++")
  if [[ ! -f $build/gtest/lib/cmake/GTest/GTestConfig.cmake ]]; then
    cmake -S /usr/src/googletest -B "$build/gtest-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "${target_flags[@]}" "${LAUNCHER[@]}" -DCMAKE_INSTALL_PREFIX="$build/gtest" \
      -DBUILD_GMOCK=ON >/dev/null
    cmake --build "$build/gtest-build" -j "$JOBS" >/dev/null
    cmake --install "$build/gtest-build" >/dev/null
  fi
  build_sodium "$triple" "$build/sodium"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${target_flags[@]}" \
    "${LAUNCHER[@]}" -DMODKIT_FUSE=OFF -DMODKIT_BENCH=OFF \
    -DCMAKE_CROSSCOMPILING_EMULATOR="qemu-$arch;-L;$sysroot" \
    -DCMAKE_PREFIX_PATH="$build/gtest" >/dev/null
  write_wrappers "$arch" "$build/cross-bin"
  # Test discovery runs each test binary under qemu while building.
  PATH="$build/cross-bin:$PATH" cmake --build "$build" -j "$JOBS" --target "${targets[@]}"
  t1=$(now)

  # The quick set runs its binaries' tests only (by label); a binary that was
  # never built is listed by ctest as NAME_NOT_BUILT, not a test of this run.
  ctest_args=(--output-on-failure --no-tests=error --timeout "$TEST_TIMEOUT" -j"$JOBS"
              --test-dir "$build" "${labels[@]}"
              -E "_NOT_BUILT\$${CROSS_EXCLUDE:+|$CROSS_EXCLUDE}")
  [[ -n $CROSS_TESTS ]] && ctest_args+=(-R "$CROSS_TESTS")
  log=$build/cross-test.log
  if PATH="$build/cross-bin:$PATH" ctest "${ctest_args[@]}" >"$log" 2>&1; then
    result=passed
  else
    result=FAILED
    status=1
    # The failures and their output; the whole log stays in $log.
    sed -n '/The following tests FAILED/,$p' "$log"
    grep -B2 -A40 -E '\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception' "$log" | head -400
  fi
  t2=$(now)
  summary+=("$arch ($CROSS_SET): build $((t1 - t0)) s, tests $((t2 - t1)) s: $(grep -E 'tests passed' "$log" | tail -1) ($result; log: $log)")
done

echo "=== cross summary ==="
printf '%s\n' "${summary[@]}"
exit $status
