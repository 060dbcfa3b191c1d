// LinkHarness: the link layer as a kernel would assemble it, for tests. The
// real hosted platform (LinuxPageMemory, HostRuntime) under a counting
// TestAllocator (its destructor fails the test on leaked bookkeeping), a
// Linker, and a Resolver the test fills with exports (and, when asked, the
// host process's own symbols, as `modkit exec` sees them). Files still linked
// at the end are unlinked.
#pragma once

#include <gtest/gtest.h>
#include <stdint.h>

#include <map>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "hosted/code_runtime.h"
#include "hosted/host_symbols.h"
#include "hosted/page_memory.h"
#include "link/arena.h"
#include "link/linker.h"
#include "link/toolchain.h"
#include "support/test_allocator.h"

namespace mk::test {

inline void LinkHarnessHome() {}

class LinkHarness final : public link::Resolver {
 public:
  explicit LinkHarness(CodeRuntime* runtime = nullptr, bool host_symbols = true)
      : host_symbols_(host_symbols),
        arena(pages, alloc),
        linker(arena, alloc, runtime != nullptr ? runtime : &host_runtime,
               reinterpret_cast<uintptr_t>(&LinkHarnessHome)) {}
  ~LinkHarness() {
    while (!files.empty())
      Unlink(files.back());
  }

  void Export(const std::string& name, const void* addr, uint8_t type = elf::STT_FUNC,
              uint64_t size = 0) {
    exports[name] = {reinterpret_cast<uint64_t>(addr), size, type};
  }

  bool resolve(const char* name, uint32_t, link::ResolvedSymbol* out) override {
    ++resolve_calls[name];
    auto it = exports.find(name);
    if (it != exports.end()) {
      *out = it->second;
      return true;
    }
    return host_symbols_ && hosted::host_symbol(name, out);
  }

  // Validates and links objects (read from files) as one file. Validation
  // errors come back as they are, with the object's path in front.
  Result<link::LinkerFile*> Link(const std::vector<std::string>& paths,
                                 link::LinkRequest req = {}) {
    std::vector<std::vector<uint8_t>> bytes;
    for (const std::string& p : paths)
      bytes.push_back(ReadBytes(p));
    return LinkBytes(bytes, paths, req);
  }

  Result<link::LinkerFile*> LinkBytes(const std::vector<std::vector<uint8_t>>& bytes,
                                      const std::vector<std::string>& names,
                                      link::LinkRequest req = {}) {
    std::vector<elf::ValidatedObject> objects;
    objects.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i) {
      Result<elf::ValidatedObject> v =
          elf::validate(ByteView(bytes[i].data(), bytes[i].size()), arch::rules_for, alloc);
      if (!v) {
        Error e = v.error();
        e.prefix("%s: ", names[i].c_str());
        return e;
      }
      objects.push_back(std::move(v).value());
    }
    std::vector<const elf::ValidatedObject*> ptrs;
    std::vector<const char*> cnames;
    for (size_t i = 0; i < objects.size(); ++i) {
      ptrs.push_back(&objects[i]);
      cnames.push_back(names[i].c_str());
    }
    req.objects = ptrs.data();
    req.count = ptrs.size();
    req.names = cnames.data();
    if (req.resolver == nullptr) req.resolver = this;
    Result<link::LinkerFile*> f = linker.link(req);
    if (f) files.push_back(f.value());
    return f;
  }

  // Links or fails the test; nullptr on failure.
  link::LinkerFile* MustLink(const std::vector<std::string>& paths, link::LinkRequest req = {}) {
    Result<link::LinkerFile*> f = Link(paths, req);
    if (!f) {
      ADD_FAILURE() << "link failed: " << f.error().message();
      return nullptr;
    }
    return f.value();
  }

  void Unlink(link::LinkerFile* f) {
    for (size_t i = 0; i < files.size(); ++i) {
      if (files[i] == f) {
        files.erase(files.begin() + static_cast<long>(i));
        break;
      }
    }
    linker.unlink(f);
  }

  // The address of a global the file defines, as T (a function pointer type
  // or a data pointer type); fails the test when it is missing.
  template <class T>
  T Sym(link::LinkerFile* f, const char* name) {
    const link::FileSymbol* s = f == nullptr ? nullptr : f->find(name);
    if (s == nullptr) {
      ADD_FAILURE() << "no global symbol " << name;
      return T{};
    }
    return reinterpret_cast<T>(static_cast<uintptr_t>(s->addr));
  }

  size_t used() const { return arena.stats().used; }

  // Declared in the order they must be built (and destroyed in reverse).
  testing::TestAllocator alloc;
  hosted::LinuxPageMemory pages;
  hosted::HostRuntime host_runtime;
  bool host_symbols_;
  link::Arena arena;
  link::Linker linker;
  std::map<std::string, link::ResolvedSymbol> exports;
  std::map<std::string, int> resolve_calls;
  std::vector<link::LinkerFile*> files;
};

// Asserts an mk::Result failed with exactly this category and message.
#define EXPECT_LINK_ERROR(result, errc, text)                         \
  do {                                                                \
    const auto& r_ = (result);                                        \
    ASSERT_FALSE(r_.ok()) << "expected failure: " << (text);          \
    EXPECT_EQ(mk::errc_name(r_.error().code()), mk::errc_name(errc)); \
    EXPECT_EQ(std::string(r_.error().message()), std::string(text));  \
  } while (0)

}  // namespace mk::test
