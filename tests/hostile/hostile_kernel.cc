#include "hostile/hostile_kernel.h"

#include <fstream>

#ifndef MODKIT_HOSTILE_MODULE_DIR
#error "MODKIT_HOSTILE_MODULE_DIR: the sample modules' directory"
#endif

namespace mk::test {

HostileKernel::HostileKernel(hosted::SignaturePolicy policy, std::vector<std::string> trusted) {
  hosted::SystemConfig c;
  c.signature_policy = policy;
  c.trusted_keys = std::move(trusted);
  c.module_path = {MODKIT_HOSTILE_MODULE_DIR, scratch_.dir()};
  c.static_modules = false;
  c.alloc = &locked;
  c.pages = &pages;
  c.runtime = &runtime;
  system_ = std::make_unique<hosted::System>(std::move(c));
  Result<module::File*> k = system_->boot();
  EXPECT_TRUE(k) << k.error().message();
}

HostileKernel::~HostileKernel() {
  system_.reset();
  EXPECT_EQ(pages.live(), 0) << "mappings left after the kernel went";
  EXPECT_EQ(runtime.registered(), 0) << "unwind tables left registered";
}

void HostileKernel::WriteModule(const std::string& file, const std::vector<uint8_t>& bytes) {
  std::ofstream(scratch_.path(file), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void HostileKernel::WriteHints(const std::vector<std::string>& entries) {
  std::ofstream out(scratch_.path("modkit.hints"));
  out << "modkit-hints 1\n";
  for (const std::string& e : entries)
    out << e << "\n";
}

KernelState HostileKernel::State() {
  KernelState s;
  registry().for_each_file(
      [](void* ctx, const module::File& f) {
        std::string line = std::string(f.name) + " " + module::state_name(f.state) + ":";
        for (const module::Module* m : f.modules)
          line += std::string(" ") + m->name + " " + module::state_name(m->state) + " refs " +
                  std::to_string(m->refs);
        line += " holders " + std::to_string(f.holders);
        static_cast<std::vector<std::string>*>(ctx)->push_back(line);
      },
      &s.files);
  s.arena_used = system_->arena().stats().used;
  s.exports = system_->exports().size();
  s.live_allocations = alloc.live_allocations();
  s.live_bytes = alloc.live_bytes();
  return s;
}

KernelState HostileKernel::Warm() {
  for (const char* m : {"chain_top", "counter", "hello"}) {
    Result<module::File*> f = registry().load_module(m, kAnyVersion);
    EXPECT_TRUE(f) << m << ": " << f.error().message();
    if (f) {
      EXPECT_TRUE(registry().unload(f.value(), module::UnloadOptions{}));
    }
  }
  return State();
}

::testing::AssertionResult Matches(const std::string& text, const std::string& pattern) {
  size_t at = 0, from = 0;
  bool first = true;
  for (;;) {
    size_t star = pattern.find('*', from);
    std::string piece = pattern.substr(from, star == std::string::npos ? star : star - from);
    if (star == std::string::npos) {
      bool ok = text.size() >= at + piece.size() &&
                text.compare(text.size() - piece.size(), piece.size(), piece) == 0 &&
                (!first || text.size() == piece.size());
      if (ok) return ::testing::AssertionSuccess();
      break;
    }
    size_t found = first ? (text.compare(0, piece.size(), piece) == 0 ? 0 : std::string::npos)
                         : text.find(piece, at);
    if (found == std::string::npos) break;
    at = found + piece.size();
    from = star + 1;
    first = false;
  }
  return ::testing::AssertionFailure()
         << "message\n  \"" << text << "\"\nis not\n  \"" << pattern << "\"";
}

void ExpectSameRegistry(const KernelState& before, const KernelState& now,
                        const std::string& after) {
  EXPECT_EQ(now.files, before.files) << "files after " << after;
  EXPECT_EQ(now.arena_used, before.arena_used) << "arena bytes in use after " << after;
  EXPECT_EQ(now.exports, before.exports) << "exports after " << after;
}

void ExpectUnchanged(const KernelState& before, const KernelState& now, const std::string& after) {
  ExpectSameRegistry(before, now, after);
  EXPECT_EQ(now.live_allocations, before.live_allocations) << "live allocations after " << after;
  EXPECT_EQ(now.live_bytes, before.live_bytes) << "live bytes after " << after;
}

}  // namespace mk::test
