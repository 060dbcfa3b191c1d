# Warnings for everything we compile.
add_compile_options(-Wall -Wextra -Wno-unused-parameter)

# The freestanding core (layers support..service): no exceptions, no RTTI, no
# runtime support calls. tests/freestanding checks the result with nm.
set(MODKIT_CORE_FLAGS -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -fno-stack-protector -fno-use-cxa-atexit)

# UBSan's vptr check is left out: it looks up the dynamic type's typeinfo,
# which a class of the core (built without RTTI) does not have. The core's own
# allocators (support/scratch.h) reach code built with RTTI through the
# inline templates both share (Vec<T> calling Allocator::deallocate), where
# the check would call every such call a bad vptr.
set(MODKIT_UBSAN_FLAGS -fsanitize=undefined -fno-sanitize=vptr)
if(MODKIT_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address ${MODKIT_UBSAN_FLAGS} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(MODKIT_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT MODKIT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "MODKIT_SANITIZE must be empty, address or thread")
endif()

# The fuzz build (fuzz/): everything instrumented for libFuzzer's coverage and
# checked by ASan+UBSan; the fuzzers themselves link -fsanitize=fuzzer.
# Modules keep -fno-sanitize=all (sdk/modkit.cmake).
if(MODKIT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT MODKIT_SANITIZE STREQUAL "")
    message(FATAL_ERROR "MODKIT_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++) and no MODKIT_SANITIZE")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address ${MODKIT_UBSAN_FLAGS}
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# modkit_core_library(NAME SOURCES... DEPS ...): one layer of the core. Each one
# is listed in the global property MODKIT_CORE_LIBRARIES, which the freestanding
# check (tests/freestanding) reads.
function(modkit_core_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  set_property(GLOBAL APPEND PROPERTY MODKIT_CORE_LIBRARIES ${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${MODKIT_CORE_FLAGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# Some targets' compilers call libatomic for atomics they do not inline (gcc 12
# on riscv64: a one-byte compare-exchange is __atomic_compare_exchange_1). The
# hosted layer links it there; the freestanding core must not need it.
include(CheckCXXSourceCompiles)
check_cxx_source_compiles([[
#include <atomic>
#include <stdint.h>
std::atomic<uint8_t> byte;
int main() { uint8_t expected = 0; return byte.compare_exchange_weak(expected, 1) ? 0 : 1; }
]] MODKIT_ATOMICS_INLINE)
set(MODKIT_ATOMIC_LIBS)
if(NOT MODKIT_ATOMICS_INLINE)
  set(MODKIT_ATOMIC_LIBS atomic)
endif()
