// Fuzzer: a full link (link/linker.h) of an untrusted object into a sandbox
// arena (fuzz/sandbox_pages.h), with a fake resolver that answers most names
// with made-up addresses (data and functions, near and far) and refuses some.
// Constructors never run; the runtime registers nothing. Properties:
// - a failed link has a message and leaves the arena empty;
// - after a successful link, every byte of the arena outside the file's
//   blocks is still zero, and every loaded section differs from its input
//   bytes only where one of its relocations may write ([offset, offset +
//   width), plus the two opcode bytes x86_64 GOTPCRELX relaxation rewrites):
//   every relocation write lands inside its section;
// - the same object linked again in a fresh sandbox gives the same result
//   (the same error, or the same addresses and bytes);
// - unlink gives every byte back and nothing stays allocated.
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "fuzz/check.h"
#include "fuzz/counting_allocator.h"
#include "fuzz/sandbox_pages.h"
#include "link/arena.h"
#include "link/linker.h"
#include "support/name_table.h"

using namespace mk;
using namespace mk::elf;

namespace {

constexpr uintptr_t kHome = 0x7f0000000000;

class FakeResolver final : public link::Resolver {
 public:
  bool resolve(const char* name, uint32_t hash, link::ResolvedSymbol* out) override {
    if (hash % 8 == 0) return false;  // some names are nowhere
    out->type = hash & 1 ? STT_FUNC : STT_OBJECT;
    out->size = hash % 64;
    // Most near the home (reachable PC-relatively), some in the low 2 GiB,
    // some far away (calls need stubs, data cannot be reached).
    switch ((hash >> 3) % 4) {
      case 0:
        out->addr = 0x400000 + (hash & 0xffff0);
        break;
      case 1:
        out->addr = kHome + (uint64_t{hash} << 20);
        break;
      default:
        out->addr = kHome - 0x100000 + (hash & 0xfffff0);
        break;
    }
    out->read_only = false;  // a copy would read the made-up address
    return true;
  }
};

class NullRuntime final : public CodeRuntime {
 public:
  bool register_eh_frame(uintptr_t, size_t) override { return true; }
  void deregister_eh_frame(uintptr_t) override {}
  void finalize(uintptr_t) override {}
};

// The alias of executing address `addr` in the sandbox, or nullptr.
uint8_t* AliasOf(const fuzz::SandboxPages& pages, uint64_t addr, uint64_t size) {
  for (const Mapping& m : pages.maps())
    if (addr >= m.base && addr - m.base <= m.size && size <= m.size - (addr - m.base))
      return reinterpret_cast<uint8_t*>(m.alias + (addr - m.base));
  return nullptr;
}

uint64_t RoomBefore(uint16_t machine, uint32_t type) {
  return machine == EM_X86_64 && (type == 41 || type == 42) ? 2 : 0;  // GOTPCRELX, REX_
}

void CheckWrites(const ValidatedObject& obj, const link::LinkerFile& f,
                 const fuzz::SandboxPages& pages) {
  // Outside the file's blocks: untouched zeros.
  for (const Mapping& m : pages.maps()) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(m.alias);
    for (size_t i = 0; i < m.size; ++i) {
      uint64_t addr = m.base + i;
      bool inside = false;
      for (const link::Block& b : f.blocks)
        inside = inside || (b.size != 0 && addr >= b.base && addr - b.base < b.size);
      FUZZ_CHECK(inside || p[i] == 0, "byte at %#lx, outside every block of the file, is %#x", addr,
                 p[i]);
    }
  }
  // Inside each loaded section: the input, but where its relocations write.
  for (const link::FileSection& s : f.sections()) {
    FUZZ_CHECK(s.object == 0 && s.index < obj.sections.size(), "section %s of object %u index %u",
               s.name, s.object, s.index);
    const Section& in = obj.sections[s.index];
    FUZZ_CHECK(s.size == in.size, "section %s: size %lu, input %lu", s.name,
               static_cast<unsigned long>(s.size), static_cast<unsigned long>(in.size));
    if (s.size == 0) continue;
    const uint8_t* out = AliasOf(pages, s.addr, s.size);
    FUZZ_CHECK(out != nullptr, "section %s at %#lx+%#lx is not in the sandbox", s.name, s.addr,
               s.size);
    std::vector<bool> may(s.size, false);
    for (const RelocSection& rs : obj.relocs) {
      if (rs.target != s.index) continue;
      for (uint64_t k = 0; k < rs.count; ++k) {
        Relocation r = obj.relocation(rs, k);
        uint64_t before = RoomBefore(obj.machine->machine, r.type);
        uint64_t lo = r.offset < before ? 0 : r.offset - before;
        uint64_t hi = r.offset + obj.machine->shape(r.type)->width;
        for (uint64_t x = lo; x < hi && x < s.size; ++x)
          may[x] = true;
      }
    }
    for (uint64_t x = 0; x < s.size; ++x) {
      uint8_t was = in.nobits() ? 0 : in.data.data()[x];
      FUZZ_CHECK(out[x] == was || may[x],
                 "%s+%#lx changed from %#x to %#x where no relocation of the section writes",
                 s.name, x, was, out[x]);
    }
  }
}

// Links obj in a fresh sandbox; returns what happened as text (the error, or
// every block's address and bytes).
std::string LinkOnce(const ValidatedObject& obj, fuzz::CountingAllocator& alloc) {
  fuzz::SandboxPages pages;
  NullRuntime runtime;
  FakeResolver resolver;
  std::string out;
  {
    link::Arena arena(pages, alloc, size_t{64} << 10);
    link::Linker linker(arena, alloc, &runtime, kHome);
    const ValidatedObject* objs[] = {&obj};
    const char* names[] = {"fuzz.o"};
    link::LinkRequest req;
    req.objects = objs;
    req.count = 1;
    req.names = names;
    req.resolver = &resolver;
    req.run_constructors = false;
    Result<link::LinkerFile*> r = linker.link(req);
    if (!r) {
      FUZZ_CHECK(r.error().message()[0] != '\0', "a link error without a message");
      FUZZ_CHECK(arena.stats().used == 0, "a failed link left %zu bytes in the arena",
                 arena.stats().used);
      return std::string("error ") + errc_name(r.error().code()) + ": " + r.error().message();
    }
    link::LinkerFile* f = r.value();
    CheckWrites(obj, *f, pages);
    for (const link::Block& b : f->blocks) {
      out += "block " + std::to_string(b.base) + " " + std::to_string(b.size) + "\n";
      if (b.size != 0) out.append(reinterpret_cast<const char*>(arena.alias(b)), b.size);
    }
    linker.unlink(f);
    FUZZ_CHECK(arena.stats().used == 0, "unlink left %zu bytes in the arena", arena.stats().used);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::CountingAllocator alloc;
  {
    Result<ValidatedObject> v = validate(ByteView(data, size), arch::rules_for, alloc);
    if (!v) return 0;  // fuzz_validate's ground
    std::string first = LinkOnce(v.value(), alloc);
    std::string second = LinkOnce(v.value(), alloc);
    FUZZ_CHECK(first == second, "two links of the same object differ: %s",
               first.substr(0, 200).c_str());
  }
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left", alloc.live());
  return 0;
}
