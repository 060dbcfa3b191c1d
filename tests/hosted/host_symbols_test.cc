// Tests of hosted/host_symbols.h: what a module sees of the host process
// with Options::host_symbols (dlsym with the ELF type and size from the
// dynamic symbol table, plus the libc_nonshared.a names dlsym cannot find).
#include "hosted/host_symbols.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elf.h"

namespace mk::hosted {
namespace {

TEST(HostSymbols, LibcFunctionHasItsAddressAndFunctionType) {
  link::ResolvedSymbol s;
  ASSERT_TRUE(host_symbol("qsort", &s));
  EXPECT_EQ(s.addr, reinterpret_cast<uint64_t>(dlsym(RTLD_DEFAULT, "qsort")));
  EXPECT_EQ(s.type, elf::STT_FUNC);
  EXPECT_GT(s.size, 0u);
}

// glibc's strlen is an ifunc: what comes back is the resolved function, a
// plain function to the linker.
TEST(HostSymbols, IfuncIsReportedAsAFunction) {
  link::ResolvedSymbol s;
  ASSERT_TRUE(host_symbol("strlen", &s));
  EXPECT_EQ(s.type, elf::STT_FUNC);
  auto fn = reinterpret_cast<size_t (*)(const char*)>(s.addr);
  EXPECT_EQ(fn("seven!!"), 7u);
}

TEST(HostSymbols, LibcDataHasObjectTypeAndSize) {
  link::ResolvedSymbol s;
  ASSERT_TRUE(host_symbol("stdout", &s));
  EXPECT_EQ(s.type, elf::STT_OBJECT);
  EXPECT_EQ(s.size, sizeof(FILE*));
  EXPECT_EQ(*reinterpret_cast<FILE**>(s.addr), stdout);
}

TEST(HostSymbols, LibcNonsharedNamesAreSupplied) {
  for (const char* name : {"atexit", "pthread_atfork"}) {
    link::ResolvedSymbol s;
    ASSERT_TRUE(host_symbol(name, &s)) << name;
    EXPECT_EQ(s.type, elf::STT_FUNC) << name;
    EXPECT_NE(s.addr, 0u) << name;
  }
}

int g_atexit_ran = 0;

TEST(HostSymbols, SuppliedAtexitWorks) {
  link::ResolvedSymbol s;
  ASSERT_TRUE(host_symbol("atexit", &s));
  // Registered, and returns 0; it runs at exit (not checked here).
  auto fn = reinterpret_cast<int (*)(void (*)())>(s.addr);
  EXPECT_EQ(fn([] { g_atexit_ran = 1; }), 0);
}

TEST(HostSymbols, UnknownNameIsNotFound) {
  link::ResolvedSymbol s;
  s.addr = 123;
  EXPECT_FALSE(host_symbol("modkit_no_such_symbol_anywhere", &s));
  EXPECT_FALSE(host_symbol("", &s));
}

TEST(HostSymbols, CxxRuntimeIsVisible) {
  for (const char* name : {"__cxa_atexit", "__cxa_finalize", "__gxx_personality_v0",
                           "_Unwind_Resume", "__cxa_begin_catch", "_ZTISt13runtime_error"}) {
    link::ResolvedSymbol s;
    EXPECT_TRUE(host_symbol(name, &s)) << name;
  }
}

}  // namespace
}  // namespace mk::hosted
