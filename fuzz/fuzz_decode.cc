// Fuzzer: symbol and relocation decoding. The input is not an ELF file but a
// program of choices that ElfBuilder (tests/util) turns into one: a machine,
// section contents, symbols (any section index, value, size, binding, type)
// and REL/RELA relocations (any type, offset, symbol, addend), so nearly every
// input reaches the symbol and relocation rules instead of dying in the ELF
// header. Properties:
// - validate() either refuses with a message, or the object keeps every
//   promise of validated_object.h (tests/util/object_invariants.h);
// - for every relocation of an accepted object, the arch layer knows the type
//   with the width the validator checked (the two tables agree);
// - apply() with arbitrary formula values (S, A, P, G, GOT, Z, H) on a copy
//   of the target section writes only inside [offset, offset + width) (x86_64
//   GOTPCRELX relaxation: also the two opcode bytes before), never outside the
//   section, and nothing at all when it fails (machine.h: "on failure it
//   stores nothing"); applying twice gives the same bytes and status.
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "fuzz/check.h"
#include "fuzz/counting_allocator.h"
#include "util/elf_builder.h"
#include "util/object_invariants.h"

using namespace mk;
using namespace mk::elf;

namespace {

constexpr size_t kGuard = 16;
constexpr uint8_t kGuardByte = 0xa5;

// Relocation types worth trying on each machine: mostly known ones, sometimes anything.
uint32_t PickType(fuzz::FuzzInput& in, uint16_t machine) {
  uint8_t b = in.byte();
  if (b >= 0xf0) return in.take<uint32_t>();
  if (machine == EM_AARCH64) return 256 + in.byte() % 64 + (b & 1) * 256;  // 256..575
  return b % 64;  // x86_64 0..43, riscv64 0..62
}

std::vector<uint8_t> Bytes(fuzz::FuzzInput& in, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v)
    b = in.byte();
  return v;
}

test::Image Build(fuzz::FuzzInput& in) {
  static const uint16_t kMachines[] = {EM_X86_64, EM_AARCH64, EM_RISCV};
  const uint16_t machine = kMachines[in.below(3)];
  test::ElfBuilder b(machine);
  uint32_t text = b.add_section(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
                                Bytes(in, 4 + in.below(60)), 4);
  uint32_t data =
      b.add_section(".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, Bytes(in, in.below(40)), 8);
  uint32_t bss = b.add_nobits(".bss", SHF_ALLOC | SHF_WRITE, in.below(64), 8);
  uint32_t note = b.add_section(".comment", SHT_PROGBITS, 0, Bytes(in, in.below(16)), 1);
  // Relocations against .text and .data, each section REL or RELA; an
  // unloaded target (.comment) sometimes.
  const bool text_rel = in.byte() & 1, data_rel = in.byte() & 1;
  uint32_t rel_text = text_rel ? b.add_rel_section(text) : b.add_rela_section(text);
  uint32_t rel_data =
      data_rel ? b.add_rel_section(in.byte() == 0 ? note : data) : b.add_rela_section(data);

  static const char* kNames[] = {"a", "b", "printk", "memcpy", "x", "", "$x", ".L0"};
  const uint32_t nsyms = in.below(12);
  for (uint32_t i = 0; i < nsyms; ++i) {
    uint32_t shndx;
    switch (in.below(8)) {
      case 0:
        shndx = text;
        break;
      case 1:
        shndx = data;
        break;
      case 2:
        shndx = bss;
        break;
      case 3:
        shndx = SHN_UNDEF;
        break;
      case 4:
        shndx = SHN_ABS;
        break;
      case 5:
        shndx = SHN_COMMON;
        break;
      case 6:
        shndx = note;
        break;
      default:
        shndx = in.take<uint16_t>();
        break;
    }
    uint64_t value = in.byte() & 1 ? in.below(72) : in.take<uint64_t>();
    uint64_t size = in.byte() & 1 ? in.below(72) : in.take<uint64_t>();
    uint8_t bind = in.below(3), type = in.below(4), other = in.byte() & 3;
    if (in.byte() == 0xff) bind = in.byte() >> 4, type = in.byte() & 15;
    b.add_symbol(kNames[in.below(8)], shndx, value, size, bind, type, other);
  }
  const uint32_t nrel = in.below(24);
  for (uint32_t i = 0; i < nrel; ++i) {
    bool on_text = in.byte() & 1;
    uint32_t sec = on_text ? rel_text : rel_data;
    bool rel = on_text ? text_rel : data_rel;
    uint64_t off = in.byte() < 0xf8 ? in.below(72) : in.take<uint64_t>();
    uint32_t type = PickType(in, machine);
    uint32_t sym = in.below(nsyms + 3);
    int64_t addend = in.byte() & 1 ? static_cast<int8_t>(in.byte()) : in.take<int64_t>();
    if (rel)
      b.add_rel(sec, off, type, sym);  // the implicit addend is whatever the contents hold
    else
      b.add_rela(sec, off, type, sym, addend);
  }
  return b.build();
}

// The bytes a relocation may write around its offset, and after it.
uint64_t RoomBefore(uint16_t machine, uint32_t type) {
  return machine == EM_X86_64 && (type == 41 || type == 42) ? 2 : 0;  // GOTPCRELX, REX_
}

void CheckApply(const ValidatedObject& obj, const arch::Machine& m, const RelocSection& rs,
                uint64_t i, fuzz::FuzzInput& in) {
  Relocation r = obj.relocation(rs, i);
  const arch::RelocKind* k = m.kind(r.type);
  FUZZ_CHECK(k != nullptr, "validated type %u unknown to arch %s", r.type, m.rules.name);
  const RelocShape* shape = obj.machine->shape(r.type);
  FUZZ_CHECK(shape != nullptr && k->shape.width == shape->width,
             "type %u: arch width %u, validator width %u", r.type, k->shape.width,
             shape == nullptr ? 0 : shape->width);
  const Section& target = obj.sections[rs.target];
  FUZZ_CHECK(r.offset <= target.size && k->shape.width <= target.size - r.offset,
             "relocation %llu of section %u at %#llx width %u outside %s (size %llu)",
             (unsigned long long)i, rs.index, (unsigned long long)r.offset, k->shape.width,
             target.name, (unsigned long long)target.size);

  arch::RelocValues v;
  v.S = in.take<uint64_t>();
  v.A = r.addend;
  v.P = in.byte() & 1 ? v.S + in.below(4096) : in.take<uint64_t>();
  v.G = in.take<uint64_t>();
  v.GOT = in.take<uint64_t>();
  v.Z = in.take<uint64_t>();
  v.H = in.take<int64_t>();

  auto run = [&](std::vector<uint8_t>& buf, arch::ApplyResult* res) {
    buf.assign(target.size + 2 * kGuard, kGuardByte);
    memcpy(buf.data() + kGuard, target.data.data(), target.size);
    *res = m.apply(r.type, buf.data() + kGuard + r.offset, r.offset, v);
  };
  std::vector<uint8_t> one, two;
  arch::ApplyResult a, b;
  run(one, &a);
  run(two, &b);
  FUZZ_CHECK(a.status == b.status && a.value == b.value && one == two,
             "type %u applied twice gives different results", r.type);
  const uint64_t lo = r.offset - (r.offset < RoomBefore(m.rules.machine, r.type)
                                      ? r.offset
                                      : RoomBefore(m.rules.machine, r.type));
  const uint64_t hi = r.offset + k->shape.width;
  for (size_t at = 0; at < one.size(); ++at) {
    uint8_t was =
        at < kGuard || at >= kGuard + target.size ? kGuardByte : target.data.data()[at - kGuard];
    if (one[at] == was) continue;
    FUZZ_CHECK(a.status == arch::ApplyStatus::kOk,
               "%s at %s+%#llx failed (status %d) but wrote byte %zd of the section", k->shape.name,
               target.name, (unsigned long long)r.offset, static_cast<int>(a.status),
               static_cast<ssize_t>(at) - ssize_t{kGuard});
    FUZZ_CHECK(at >= kGuard + lo && at < kGuard + hi,
               "%s at %s+%#llx (width %u) wrote byte %zd of the section (size %llu)", k->shape.name,
               target.name, (unsigned long long)r.offset, k->shape.width,
               static_cast<ssize_t>(at) - ssize_t{kGuard}, (unsigned long long)target.size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  test::Image img = Build(in);
  fuzz::CountingAllocator alloc;
  {
    ByteView bytes(img.data(), img.size());
    Result<ValidatedObject> r = validate(bytes, arch::rules_for, alloc);
    if (!r) {
      FUZZ_CHECK(r.error().message()[0] != '\0', "an error without a message");
    } else {
      const ValidatedObject& obj = r.value();
      std::string broken = test::CheckObjectInvariants(obj, bytes);
      FUZZ_CHECK(broken.empty(), "%s", broken.c_str());
      const arch::Machine* m = arch::machine_for(obj.machine->machine);
      FUZZ_CHECK(m != nullptr, "no arch for validated machine %s", obj.machine->name);
      for (const RelocSection& rs : obj.relocs)
        for (uint64_t i = 0; i < rs.count; ++i)
          CheckApply(obj, *m, rs, i, in);
    }
  }
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left", alloc.live());
  return 0;
}
