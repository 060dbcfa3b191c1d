# modkit's entry points. A newcomer needs two:
#   make run    build and boot the hosted kernel modkitd on the sample modules: its
#               console on a terminal, else the scripted demo (tools/modkitd/demo.sh)
#   make test   build and run every test, then again under ASan+UBSan, then the
#               concurrency tests under TSan, then each fuzzer briefly (fuzz/),
#               then the linker, module and exec suites cross-built for aarch64
#               and riscv64 and run under qemu-user (test-cross-quick)
# Both install missing Debian packages first (scripts/deps.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.NOTPARALLEL:

BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
# make fuzz: seconds per fuzzer; make test runs each for FUZZ_TEST_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 5
# make fuzz-long: each fuzzer until FUZZ_LONG_RUNS executions or FUZZ_LONG_SECONDS.
FUZZ_LONG_RUNS ?= 10000000
FUZZ_LONG_SECONDS ?= 1800
JOBS ?= 2
CMAKE ?= cmake

# ccache, when installed, for every build tree (scripts/cross.sh's too). Paths
# under the checkout are hashed relative to it and the build directory is not
# hashed, so a fresh clone anywhere hits what another checkout compiled. (Only
# the debug info's compilation directory then names that checkout; the gdb
# tests compile the modules they debug at test time, without ccache.)
ifneq ($(shell command -v ccache 2>/dev/null),)
LAUNCHER = -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1
endif
CONFIGURE = $(CMAKE) -S . -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCHER)
# A hung test fails after TEST_TIMEOUT seconds instead of eating CI's time.
TEST_TIMEOUT ?= 600
CTEST = ctest --output-on-failure --no-tests=error --timeout $(TEST_TIMEOUT) -j$(JOBS) --test-dir
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
TSAN_ENV = TSAN_OPTIONS='halt_on_error=1 second_deadlock_stack=1'

MODKIT = $(BUILD)/tools/modkit/modkit
HELLO_OBJ = $(BUILD)/examples/hello/hello.o

.DEFAULT_GOAL := build
.PHONY: run hello test test-quick test-asan test-tsan test-fuzz build build-asan build-tsan build-fuzz build-modkit build-kernel build-bench bench bench-quick fuzz fuzz-long deps format

run: build-kernel
	bash tools/modkitd/demo.sh $(BUILD)

test: check-disk test-quick test-asan test-tsan test-fuzz test-cross-quick

# make test's build trees take about 4.5 GiB (a fresh clone after make test,
# 2026-11-22); a disk that fills half-way fails a build deep in its log with
# "No space left on device". What the trees already here take counts as room.
TEST_DISK_GIB ?= 6
.PHONY: check-disk
check-disk:
	@have=$$( (du -skc $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) build-cross-* 2>/dev/null || true) | tail -n1 | cut -f1); \
	free=$$(df -Pk . | awk 'NR == 2 { print $$4 }'); \
	need=$$(( $(TEST_DISK_GIB) * 1048576 - have )); \
	if [ "$$free" -lt "$$need" ]; then \
	  echo "make test: $$(( free / 1048576 )) GiB free on $$(df -P . | awk 'NR == 2 { print $$6 }'), and its build trees need about $$(( (need + 1048575) / 1048576 )) GiB more: free some space (old clones, build trees) first" >&2; \
	  exit 1; \
	fi

test-quick: build
	$(CTEST) $(BUILD)

test-asan: build-asan
	$(SANITIZER_ENV) $(CTEST) $(ASAN_BUILD)

# ThreadSanitizer: only the tests labelled `concurrency` (tests/concurrency),
# and only what they need is built.
test-tsan: build-tsan
	$(TSAN_ENV) $(CTEST) $(TSAN_BUILD) -L concurrency

# libFuzzer (clang, ASan+UBSan; fuzz/): every fuzzer for FUZZ_SECONDS each, one
# after the other, after replaying its earlier findings (fuzz/regressions).
fuzz: build-fuzz
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The long run issue 7 asks for: each fuzzer until 10 million executions or 30
# minutes, whichever first (about 4 hours in all); the summary goes to
# build-fuzz/fuzz/summary.txt.
fuzz-long: build-fuzz
	FUZZ_RUNS=$(FUZZ_LONG_RUNS) bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_LONG_SECONDS)

test-fuzz: build-fuzz
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS)

# `modkit exec` on the demo program examples/hello (compiled with `cc -c`).
hello: build-modkit $(HELLO_OBJ)
	$(MODKIT) exec $(HELLO_OBJ)

# modkit against dlopen (bench/): a table, CSV and plot in $(BUILD)/bench/out;
# then the export index's lookup by name at 1 to 10,000 files (modkit_lookup_bench).
bench: build-bench
	$(BUILD)/bench/modkit_bench
	$(BUILD)/bench/modkit_lookup_bench

bench-quick: build-bench
	$(BUILD)/bench/modkit_bench --quick

deps:
	@bash scripts/deps.sh

# CMake reruns itself from inside ninja when a CMakeLists.txt changes, so a
# build tree is configured once.
$(BUILD)/build.ninja: | deps
	$(CONFIGURE) -B $(BUILD)

$(ASAN_BUILD)/build.ninja: | deps
	$(CONFIGURE) -B $(ASAN_BUILD) -DMODKIT_SANITIZE=address

$(TSAN_BUILD)/build.ninja: | deps
	$(CONFIGURE) -B $(TSAN_BUILD) -DMODKIT_SANITIZE=thread

build: $(BUILD)/build.ninja
	$(CMAKE) --build $(BUILD) -j $(JOBS)

# Test discovery runs the instrumented binaries while building.
build-asan: $(ASAN_BUILD)/build.ninja
	$(SANITIZER_ENV) $(CMAKE) --build $(ASAN_BUILD) -j $(JOBS)

build-tsan: $(TSAN_BUILD)/build.ninja
	$(TSAN_ENV) $(CMAKE) --build $(TSAN_BUILD) -j $(JOBS) --target concurrency_test

$(FUZZ_BUILD)/build.ninja: | deps
	$(CONFIGURE) -B $(FUZZ_BUILD) -DMODKIT_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++

build-fuzz: $(FUZZ_BUILD)/build.ninja
	$(CMAKE) --build $(FUZZ_BUILD) -j $(JOBS) --target modkit_fuzzers

build-modkit: $(BUILD)/build.ninja
	$(CMAKE) --build $(BUILD) -j $(JOBS) --target modkit

# What `make run` needs: the kernel, the command, the sample modules and their hints.
build-kernel: $(BUILD)/build.ninja
	$(CMAKE) --build $(BUILD) -j $(JOBS) --target modkitd modkit modkit_sample_modules

build-bench: $(BUILD)/build.ninja
	$(CMAKE) --build $(BUILD) -j $(JOBS) --target modkit_bench modkit_lookup_bench

$(HELLO_OBJ): examples/hello/hello.c | $(BUILD)/build.ninja
	@mkdir -p $(@D)
	$(CC) -c -O2 -g $< -o $@

format: deps
	git ls-files -z -- '*.c' '*.h' '*.cc' '*.cpp' '*.hpp' | xargs -0 -r clang-format -i

# aarch64 and riscv64: the project cross-built with Debian's cross compilers
# and its tests run under qemu-user (scripts/cross.sh) in build-cross-<arch>/.
# test-cross-quick: the linker and relocation suites, the module framework and
# modkit exec on the C and C++ programs; test-cross: every test the cross build
# has. ARCHES=aarch64 or ARCHES=riscv64 runs one.
.PHONY: test-cross test-cross-quick
CROSS = JOBS=$(JOBS) TEST_TIMEOUT=$(TEST_TIMEOUT) bash scripts/cross.sh

test-cross-quick:
	CROSS_SET=quick $(CROSS)

test-cross:
	CROSS_SET=full $(CROSS)
