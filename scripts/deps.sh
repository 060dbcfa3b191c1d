#!/usr/bin/env bash
# Installs the Debian packages modkit needs to build, test and run. Idempotent:
# prints nothing and touches nothing when every package is already installed.
# Debian 12 (bookworm); runs as root, or through sudo when that is available.
set -euo pipefail

# The one list of what the project needs from Debian.
PACKAGES=(
  build-essential gcc g++ clang binutils cmake ninja-build pkg-config  # toolchain
  ccache                                             # every build tree uses it (Makefile)
  lld                                                # ld.lld: the arch golden tests
  libclang-rt-14-dev                                 # clang sanitizer and libFuzzer runtimes
  libgtest-dev libgmock-dev libbenchmark-dev         # tests and benchmarks
  gnuplot-nox                                        # make bench's plot
  libfuse3-dev fuse3                                 # hosted devfs
  libsodium-dev                                      # module signatures
  libcli11-dev nlohmann-json3-dev libfmt-dev         # command-line tools
  gdb clang-format                                   # debugger tests, make format
  gnuplot-nox                                        # make bench: the load-time plot
)

# The cross toolchains and qemu-user, installed only for `make test-cross`
# (scripts/cross.sh runs `deps.sh --cross`). googletest for the cross builds
# is built from the sources libgtest-dev ships, libsodium from Debian's source
# package (Debian 12 has no riscv64 packages).
CROSS_PACKAGES=(
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-riscv64-linux-gnu g++-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-dev-riscv64-cross
  qemu-user
  autoconf automake libtool                          # libsodium for the targets, from source
)
if [[ "${1:-}" == --cross ]]; then PACKAGES+=("${CROSS_PACKAGES[@]}"); fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

APT=(env DEBIAN_FRONTEND=noninteractive apt-get)
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps.sh: missing packages: ${missing[*]}" >&2
    echo "deps.sh: not root and no sudo: install them and rerun" >&2
    exit 1
  fi
  APT=(sudo "${APT[@]}")
fi

echo "deps.sh: installing ${missing[*]}"
"${APT[@]}" update -qq
"${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"
