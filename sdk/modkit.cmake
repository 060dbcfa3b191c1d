# modkit SDK for CMake: build loadable modules (.ko) from C and C++ sources.
#
#   include(<modkit>/sdk/modkit.cmake)
#   modkit_add_module(echo SOURCES echo.c echo_ring.cc
#                     [INCLUDE_DIRS dir...] [COMPILE_DEFINITIONS def...]
#                     [COMPILE_OPTIONS opt...] [OUTPUT_DIRECTORY dir] [CXX_EXCEPTIONS])
#
# builds OUTPUT_DIRECTORY/echo.ko (default: the current binary directory): the
# sources are compiled into an OBJECT library `echo.objects`, and `ld -r`
# combines its objects into one ELF relocatable object, which modkit links in
# process. The target `echo` (built by `all`) stands for the .ko; its path is
# the target property MODKIT_MODULE_FILE.
#
# Static modules: the same sources, unchanged, go into the kernel executable
# (the same macros; the kernel finds their records through its own
# modkit_modinfo section): modkit_add_static_modules(kernel SOURCES echo.c).
#
# Flags (MODKIT_MODULE_FLAGS, for every language), and why:
#   -fPIC      modkit places a module anywhere in the arena, near the kernel but
#              not at a link-time address, so the code must be position
#              independent. PIC rather than PIE: -fPIE lets the compiler assume
#              that extern data is in reach of a 32-bit PC-relative access (the
#              executable's copy-relocation convention); a module's outside
#              data (KPI variables) is reached through a GOT slot instead, which
#              modkit fills with the full 64-bit address wherever it is. Not
#              -fno-pic: absolute 32-bit relocations would need the low 2 GiB.
#   (no -fno-plt)  calls to the KPI stay PLT32 `call`s: modkit places modules
#              within +-2 GiB of the kernel, so they bind to a direct call (or
#              to a stub the linker makes when out of reach). -fno-plt would make
#              every KPI call an indirect call through a GOT slot.
#   -fno-semantic-interposition  with -fPIC, gcc otherwise treats the module's
#              own global functions as replaceable and will not inline them or
#              call them directly; modkit resolves a file's symbols in the file
#              first, so nothing can interpose them.
#   -fno-stack-protector  the canary lives at %fs:0x28 (a libc TLS convention)
#              and a failure calls __stack_chk_fail; neither is part of the KPI.
#              Distributions turn the protector on by default.
#   -U_FORTIFY_SOURCE  likewise: fortified builtins call __*_chk from libc.
#   -fno-common  C tentative definitions become ordinary .bss symbols, not
#              COMMON ones for a final link that never happens.
#   -fno-sanitize=all  a sanitizer build of the kernel must not instrument its
#              modules: the sanitizer runtime is not part of the KPI.
#   Unwind tables (.eh_frame) stay: modkit registers them, so C++ unwinding and
#   backtraces work in module code.
# Per machine (CMAKE_SYSTEM_PROCESSOR), added to MODKIT_MODULE_FLAGS:
#   aarch64  -mno-outline-atomics: gcc otherwise calls libgcc.a's
#            __aarch64_ldadd4_acq_rel and friends for atomics, which no shared
#            library exports, so no kernel can resolve them; the atomics are
#            inlined instead. (BL reaches +-128 MiB: KPI calls farther than
#            that go through veneers the linker makes; ADRP reaches +-4 GiB.)
#   riscv64  -mno-relax: modkit does no linker relaxation. R_RISCV_RELAX hints
#            are harmless, but with relaxation on the assembler may leave
#            R_RISCV_ALIGN (padding only a relaxing linker can size), which
#            modkit refuses; -mno-relax makes it emit the exact padding.
#            -fasynchronous-unwind-tables: gcc emits no .eh_frame for C code
#            on riscv64 by default, and backtraces through a module need it.
# C++ only (MODKIT_MODULE_CXX_FLAGS): -fno-exceptions -fno-rtti
#   -fno-threadsafe-statics, as kernel C++ is written: the KPI exports no C++
#   runtime (no __cxa_throw, typeinfo or __cxa_guard_acquire). Not a rule of
#   the linker: CXX_EXCEPTIONS keeps exceptions and RTTI, for a kernel that
#   exports the C++ runtime to its modules. Global objects with destructors
#   need __cxa_atexit, which the hosted kernel exports (destructors run at
#   unload, against the module's own __dso_handle).
#
# Including this file sets MODKIT_SDK_INCLUDE_DIR, MODKIT_MODULE_FLAGS and
# MODKIT_MODULE_CXX_FLAGS in the including directory (include it wherever they
# are wanted); the functions work from any directory once it was included.

set(MODKIT_SDK_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/include")
set(MODKIT_MODULE_FLAGS -fPIC -fno-semantic-interposition -fno-stack-protector -U_FORTIFY_SOURCE
    -fno-common -fno-sanitize=all)
set(MODKIT_MODULE_CXX_FLAGS -fno-exceptions -fno-rtti -fno-threadsafe-statics)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  list(APPEND MODKIT_MODULE_FLAGS -mno-outline-atomics)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^riscv64")
  list(APPEND MODKIT_MODULE_FLAGS -mno-relax -fasynchronous-unwind-tables)
endif()
set_property(GLOBAL PROPERTY MODKIT_SDK_INCLUDE_DIR "${MODKIT_SDK_INCLUDE_DIR}")
set_property(GLOBAL PROPERTY MODKIT_MODULE_FLAGS "${MODKIT_MODULE_FLAGS}")
set_property(GLOBAL PROPERTY MODKIT_MODULE_CXX_FLAGS "${MODKIT_MODULE_CXX_FLAGS}")

if(NOT MODKIT_LD)
  if(CMAKE_LINKER)
    set(MODKIT_LD "${CMAKE_LINKER}" CACHE FILEPATH "ld used for `ld -r` of modules")
  else()
    find_program(MODKIT_LD NAMES ld ld.bfd REQUIRED)
  endif()
endif()

function(modkit_add_module name)
  cmake_parse_arguments(ARG "CXX_EXCEPTIONS" "OUTPUT_DIRECTORY"
                        "SOURCES;INCLUDE_DIRS;COMPILE_DEFINITIONS;COMPILE_OPTIONS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "modkit_add_module(${name}): no SOURCES")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "modkit_add_module(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  set(dir "${ARG_OUTPUT_DIRECTORY}")
  if(NOT dir)
    set(dir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set(ko "${dir}/${name}.ko")
  get_property(sdk_include GLOBAL PROPERTY MODKIT_SDK_INCLUDE_DIR)
  get_property(flags GLOBAL PROPERTY MODKIT_MODULE_FLAGS)

  set(objects ${name}.objects)
  add_library(${objects} OBJECT ${ARG_SOURCES})
  target_include_directories(${objects} PRIVATE ${sdk_include} ${ARG_INCLUDE_DIRS})
  target_compile_definitions(${objects} PRIVATE ${ARG_COMPILE_DEFINITIONS})
  if(ARG_CXX_EXCEPTIONS)
    set(cxx_flags -fexceptions -frtti)
  else()
    get_property(cxx_flags GLOBAL PROPERTY MODKIT_MODULE_CXX_FLAGS)
  endif()
  target_compile_options(${objects} PRIVATE ${flags}
                                            "$<$<COMPILE_LANGUAGE:CXX>:${cxx_flags}>"
                                            ${ARG_COMPILE_OPTIONS})

  add_custom_command(
    OUTPUT "${ko}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${dir}"
    COMMAND "${MODKIT_LD}" -r -o "${ko}" "$<TARGET_OBJECTS:${objects}>"
    DEPENDS ${objects} "$<TARGET_OBJECTS:${objects}>"
    COMMENT "ld -r: module ${name}.ko"
    COMMAND_EXPAND_LISTS VERBATIM)
  add_custom_target(${name} ALL DEPENDS "${ko}")
  set_target_properties(${name} PROPERTIES MODKIT_MODULE_FILE "${ko}")
endfunction()

# modkit_add_static_modules(TARGET SOURCES... [INCLUDE_DIRS dir...]): links
# modules into the kernel executable TARGET as static modules. The sources are
# the module sources as they are (no #ifdef); they are compiled with TARGET's
# own flags. The kernel must also add their MODKIT_EXPORTs to its export index
# (ExportIndex::add_kernel_symbol before boot) for loaded modules to bind to them.
function(modkit_add_static_modules target)
  cmake_parse_arguments(ARG "" "" "SOURCES;INCLUDE_DIRS" ${ARGN})
  target_sources(${target} PRIVATE ${ARG_SOURCES})
  get_property(sdk_include GLOBAL PROPERTY MODKIT_SDK_INCLUDE_DIR)
  target_include_directories(${target} PRIVATE ${sdk_include} ${ARG_INCLUDE_DIRS})
endfunction()
