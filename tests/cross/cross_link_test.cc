// aarch64 and riscv64 objects through the whole linker, on any host.
//
// Small C and C++ sources are compiled at test time by Debian's cross
// compilers (aarch64-linux-gnu-gcc, riscv64-linux-gnu-gcc; the tests skip
// when they are missing), validated, and linked by the real Linker into
// memory that pretends to be at a fixed address (BufferPages: the linker
// writes through the alias and nothing runs). Then:
//   - GNU ld links the same object with every section at the address our
//     linker chose (a generated linker script) and every outside symbol at
//     the address our resolver gave (--defsym); the loaded bytes must be
//     the same, except the fields that go through the GOT (the two linkers
//     lay their GOTs out differently: those are checked to load the right
//     slot instead);
//   - an aarch64 call beyond +-128 MiB must go through a veneer that jumps
//     to the target;
//   - the riscv64 %pcrel_hi/%pcrel_lo carry case (an offset with bit 11 set),
//     a %pcrel_lo that comes before its %pcrel_hi, a %pcrel_lo without one,
//     and R_RISCV_ALIGN (refused, naming -mno-relax).
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "hosted/malloc_allocator.h"
#include "link/arena.h"
#include "link/linker.h"
#include "link/toolchain.h"
#include "platform/page_memory.h"

namespace mk::test {
namespace {

// ---------------------------------------------------------------------------
// Memory that claims to be at `next` and up, backed by heap buffers.

class BufferPages final : public PageMemory {
 public:
  explicit BufferPages(uintptr_t first) : next_(first) {}
  ~BufferPages() {
    for (auto& [base, buf] : bufs_)
      delete[] buf.data;
  }
  size_t page_size() const override { return 4096; }
  Result<Mapping> map(uintptr_t lo, uintptr_t hi, size_t size, Prot) override {
    uintptr_t at = next_ > lo ? next_ : (lo + 0xfffff) & ~uintptr_t{0xfffff};
    if (at > hi || size > hi - at) return Error(Errc::kNoMemory, "BufferPages: window full");
    next_ = at + size + (1 << 20);
    Buf b{new uint8_t[size](), size};
    bufs_[at] = b;
    return Mapping{at, reinterpret_cast<uintptr_t>(b.data), size};
  }
  void unmap(const Mapping& m) override {
    auto it = bufs_.find(m.base);
    if (it == bufs_.end()) return;
    delete[] it->second.data;
    bufs_.erase(it);
  }
  // The bytes at [addr, addr + n) as the linker wrote them.
  std::vector<uint8_t> read(uint64_t addr, size_t n) const {
    for (const auto& [base, buf] : bufs_)
      if (addr >= base && addr + n <= base + buf.size)
        return std::vector<uint8_t>(buf.data + (addr - base), buf.data + (addr - base) + n);
    ADD_FAILURE() << "no memory at 0x" << std::hex << addr;
    return {};
  }

 private:
  struct Buf {
    uint8_t* data;
    size_t size;
  };
  uintptr_t next_;
  std::map<uintptr_t, Buf> bufs_;
};

// Every outside name resolves to an address of its own in a table of fake
// functions near `base`, except those the test places itself.
class FakeResolver final : public link::Resolver {
 public:
  explicit FakeResolver(uint64_t base) : next_(base) {}
  bool resolve(const char* name, uint32_t, link::ResolvedSymbol* out) override {
    auto it = placed.find(name);
    uint64_t addr = it != placed.end() ? it->second : (next_ += 0x40);
    given[name] = addr;
    std::string n = name;
    bool object = objects.count(n) != 0 || n.rfind("_ZTI", 0) == 0 || n.rfind("_ZTV", 0) == 0 ||
                  n.rfind("_ZTS", 0) == 0;
    *out = {addr, object ? 64u : 0u, object ? elf::STT_OBJECT : elf::STT_FUNC, false};
    return true;
  }
  std::map<std::string, uint64_t> placed;        // set by the test
  std::set<std::string> objects{"ext_counter"};  // data; the rest are functions
  std::map<std::string, uint64_t> given;         // what was resolved, for ld's --defsym

 private:
  uint64_t next_;
};

// ---------------------------------------------------------------------------
// The two cross toolchains.

struct Cross {
  const char* label;
  uint16_t machine;
  Compiler cc;
  const char* ld;
};
const Cross kAArch64{"aarch64",
                     elf::EM_AARCH64,
                     {"aarch64-gcc", "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++"},
                     "aarch64-linux-gnu-ld"};
const Cross kRiscV64{"riscv64",
                     elf::EM_RISCV,
                     {"riscv64-gcc", "riscv64-linux-gnu-gcc", "riscv64-linux-gnu-g++"},
                     "riscv64-linux-gnu-ld"};

bool Have(const char* tool) {
  return Run(std::string("command -v ") + tool + " >/dev/null").status == 0;
}

#define REQUIRE_CROSS(x)                                                         \
  do {                                                                           \
    if (!Have((x).cc.cc) || !Have((x).cc.cxx) || !Have((x).ld))                  \
      GTEST_SKIP() << (x).cc.cc << " or " << (x).ld << " is not installed "      \
                   << "(scripts/deps.sh --cross installs the cross toolchains)"; \
  } while (0)

// One link through the real Linker into BufferPages.
struct CrossLink {
  static constexpr uintptr_t kBase = 0x40000000;
  BufferPages pages{kBase};
  hosted::MallocAllocator alloc;
  link::Arena arena{pages, alloc, size_t{1} << 20};
  link::Linker linker{arena, alloc, nullptr, kBase};
  FakeResolver resolver{0x44000000};  // within BL's reach of the file
  std::vector<uint8_t> bytes;
  elf::ValidatedObject obj{alloc};
  link::LinkerFile* file = nullptr;

  ~CrossLink() {
    if (file != nullptr) linker.unlink(file);
  }

  // Validates and links several objects as one file; the error, or "".
  std::vector<std::vector<uint8_t>> more_bytes;
  std::vector<std::unique_ptr<elf::ValidatedObject>> more;
  std::string LinkAll(const std::vector<std::string>& paths) {
    more_bytes.reserve(paths.size());
    std::vector<const elf::ValidatedObject*> objs;
    std::vector<const char*> names;
    for (const std::string& p : paths) {
      more_bytes.push_back(ReadBytes(p));
      const std::vector<uint8_t>& b = more_bytes.back();
      Result<elf::ValidatedObject> v =
          elf::validate(ByteView(b.data(), b.size()), arch::rules_for, alloc);
      if (!v) return std::string("validate: ") + v.error().message();
      more.push_back(std::make_unique<elf::ValidatedObject>(std::move(v).value()));
      objs.push_back(more.back().get());
      names.push_back(p.c_str());
    }
    link::LinkRequest req;
    req.objects = objs.data();
    req.count = objs.size();
    req.names = names.data();
    req.resolver = &resolver;
    req.run_constructors = false;
    Result<link::LinkerFile*> f = linker.link(req);
    if (!f) return f.error().message();
    file = f.value();
    return "";
  }

  // Validates and links `path`; the error message, or "" on success.
  std::string Link(const std::string& path) {
    bytes = ReadBytes(path);
    Result<elf::ValidatedObject> v =
        elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
    if (!v) return std::string("validate: ") + v.error().message();
    obj = std::move(v).value();
    const elf::ValidatedObject* objs[] = {&obj};
    const char* names[] = {"obj"};
    link::LinkRequest req;
    req.objects = objs;
    req.count = 1;
    req.names = names;
    req.resolver = &resolver;
    req.run_constructors = false;
    Result<link::LinkerFile*> f = linker.link(req);
    if (!f) return f.error().message();
    file = f.value();
    return "";
  }

  const link::FileSection* Section(const std::string& name) const {
    for (const link::FileSection& s : file->sections())
      if (name == s.name) return &s;
    return nullptr;
  }
  uint64_t Symbol(const std::string& name) const {
    for (const link::FileSymbol& s : file->symbols())
      if (name == s.name) return s.addr;
    ADD_FAILURE() << "no symbol " << name;
    return 0;
  }
  uint32_t Insn(uint64_t addr) const {
    std::vector<uint8_t> b = pages.read(addr, 4);
    return b.size() == 4
               ? uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24
               : 0;
  }
};

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

// ---------------------------------------------------------------------------
// The same bytes as GNU ld.

const char* const kCSource = R"(
extern int ext_counter;
extern int ext_add(int, int);
extern void ext_log(const char *);
static int table[64] = {1, 2, 3};
static const char *names[] = {"zero", "one", "two", "three"};
int counter = 7;
long big[512];
static int helper(int x) { return x * 3 + table[x & 63]; }
int sum(int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s = ext_add(s, helper(i));
  return s + ext_counter + counter;
}
const char *name_of(int i) {
  switch (i) {
    case 0: return names[0];
    case 1: return names[1];
    case 2: return "two!";
    case 3: return "three!";
    case 4: return "four!";
    case 5: return "five!";
    default: return names[3];
  }
}
int (*adder(void))(int, int) { return ext_add; }
void log_all(void) { for (int i = 0; i < 4; ++i) ext_log(names[i]); }
long *big_at(int i) { big[i] = i; return &big[i]; }
int tail(int a) { return ext_add(a, 1); }
)";

const char* const kCxxSource = R"(
#include <stdexcept>
#include <string>
extern int ext_value(int);
struct Base { virtual ~Base() {} virtual int f() { return 1; } };
struct Derived : Base { int f() override { return ext_value(2); } };
static Derived d;
Base *get() { return &d; }
int thrower(int x) {
  if (x > 3) throw std::runtime_error("too big");
  return x;
}
int catcher(int x) {
  try { return thrower(x); } catch (const std::exception &) { return -1; }
}
std::string greet(const std::string &who) { return "hello " + who; }
)";

// Where a relocation's field is not compared with ld's bytes: GOT slots
// differ between the two linkers.
struct Skip {
  uint64_t addr;
  unsigned width;
};

void CompareWithGnuLd(const Cross& x, const std::string& opt, const std::string& src_name,
                      const char* src) {
  SCOPED_TRACE(std::string(x.label) + " " + src_name + " " + opt);
  Scratch scratch;
  std::string obj = scratch.Compile(x.cc, src_name, src, {opt, "-g0"});
  ASSERT_FALSE(obj.empty());
  CrossLink l;
  ASSERT_EQ(l.Link(obj), "");
  const arch::Machine* m = arch::machine_for(x.machine);
  ASSERT_NE(m, nullptr);
  for (const link::FileSymbol& s : l.file->symbols()) {
    EXPECT_NE(s.name[0], '$') << "a mapping symbol listed: " << s.name;
    EXPECT_NE(std::string(s.name).rfind(".L", 0), 0u) << "a local label listed: " << s.name;
  }

  // GNU ld: every loaded section where ours is, every outside name where
  // our resolver put it.
  std::ostringstream script;
  script << "SECTIONS {\n";
  for (const link::FileSection& s : l.file->sections())
    script << "  " << s.name << " " << Hex(s.addr) << " : { KEEP(*(" << s.name << ")) }\n";
  // What GNU ld makes itself (its GOT, PLT, dynamic relocations) goes far
  // from our sections.
  script << "  .got 0x70000000 : { *(.got) }\n  .got.plt : { *(.got.plt) }\n"
         << "  .plt : { *(.plt) *(.iplt) }\n  .rela.dyn : { *(.rela*) }\n"
         << "  .eh_frame_hdr : { *(.eh_frame_hdr) }\n}\n";
  std::string lds = scratch.Write("link.ld", script.str());
  std::string cmd = std::string(x.ld) + " -static --no-relax -e 0 -T " + Quote(lds);
  for (const auto& [name, addr] : l.resolver.given)
    cmd += " --defsym=" + Quote(name + "=" + Hex(addr));
  if (l.file->dso_handle() != 0) cmd += " --defsym=__dso_handle=" + Hex(l.file->dso_handle());
  std::string exe = scratch.path("gnu.elf");
  cmd += " " + Quote(obj) + " -o " + Quote(exe);
  RunResult r = Run(cmd);
  ASSERT_EQ(r.status, 0) << cmd << "\n" << r.output;
  std::vector<uint8_t> gnu = ReadBytes(exe);

  // The GOT fields (and riscv %pcrel_lo parts of a GOT_HI20) are not
  // compared; nor the references to a function whose address one part of a
  // pair takes (-fno-pic ADRP/AUIPC): its canonical stub is its address here,
  // ld uses the real one.
  std::vector<Skip> skips;
  std::set<uint64_t> got_his;
  std::set<std::string> canonical;
  for (int pass = 0; pass < 2; ++pass) {
    for (const elf::RelocSection& rs : l.obj.relocs) {
      const link::FileSection* target = nullptr;
      for (const link::FileSection& s : l.file->sections())
        if (s.index == rs.target) target = &s;
      if (target == nullptr) continue;
      for (uint64_t i = 0; i < rs.count; ++i) {
        elf::Relocation rel = l.obj.relocation(rs, i);
        const arch::RelocKind* k = m->kind(rel.type);
        uint64_t P = target->addr + rel.offset;
        const elf::Symbol& sym = l.obj.symbols[rel.sym];
        bool outside_fn = sym.shndx == elf::SHN_UNDEF && rel.sym != 0 &&
                          l.resolver.given.count(sym.name) && !l.resolver.objects.count(sym.name);
        if (pass == 0 && k->need == arch::Need::kGot) {
          skips.push_back({P, k->shape.width});
          if (k->pair == arch::Pair::kHi) got_his.insert(P);
        } else if (pass == 0 && outside_fn && k->pair != arch::Pair::kNone) {
          canonical.insert(sym.name);
        }
        if (pass == 1 && outside_fn && canonical.count(sym.name))
          skips.push_back({P, k->shape.width});
        if (pass == 1 && k->pair == arch::Pair::kLo) {
          const link::FileSection* in = nullptr;
          for (const link::FileSection& s : l.file->sections())
            if (s.index == sym.shndx) in = &s;
          if (in != nullptr && got_his.count(in->addr + sym.value + rel.addend))
            skips.push_back({P, 4});
        }
      }
    }
  }

  // Section headers of GNU ld's output, by name.
  elf::Ehdr eh;
  memcpy(&eh, gnu.data(), sizeof eh);
  std::vector<elf::Shdr> sh(eh.shnum);
  memcpy(sh.data(), gnu.data() + eh.shoff, eh.shnum * sizeof(elf::Shdr));
  const char* shstr = reinterpret_cast<const char*>(gnu.data() + sh[eh.shstrndx].offset);
  int compared = 0;
  for (const link::FileSection& s : l.file->sections()) {
    if (s.size == 0 || std::string(s.name) == ".eh_frame") continue;  // ld rewrites .eh_frame
    const elf::Shdr* out = nullptr;
    for (unsigned i = 1; i < eh.shnum; ++i)
      if (std::string(shstr + sh[i].name) == s.name) out = &sh[i];
    ASSERT_NE(out, nullptr) << s.name;
    ASSERT_EQ(out->addr, s.addr) << s.name;
    if (out->type == elf::SHT_NOBITS) continue;
    std::vector<uint8_t> ours = l.pages.read(s.addr, s.size);
    for (uint64_t i = 0; i < s.size; ++i) {
      uint64_t addr = s.addr + i;
      bool skip = false;
      for (const Skip& k : skips)
        skip |= addr >= k.addr && addr < k.addr + k.width;
      if (skip) continue;
      ++compared;
      if (ours[i] != gnu[out->offset + i]) {
        ADD_FAILURE() << s.name << "+" << Hex(i) << " (" << Hex(addr) << "): ours " << Hex(ours[i])
                      << ", GNU ld " << Hex(gnu[out->offset + i]);
        return;  // one difference says enough
      }
    }
  }
  EXPECT_GT(compared, 100);
  EXPECT_FALSE(skips.empty() && opt == "-O0") << "expected GOT references with -fPIE";
}

class CrossGolden : public ::testing::TestWithParam<std::tuple<const Cross*, std::string>> {};

TEST_P(CrossGolden, CSameBytesAsGnuLd) {
  const auto& [x, opt] = GetParam();
  REQUIRE_CROSS(*x);
  CompareWithGnuLd(*x, opt, "module.c", kCSource);
}

TEST_P(CrossGolden, CxxSameBytesAsGnuLd) {
  const auto& [x, opt] = GetParam();
  REQUIRE_CROSS(*x);
  CompareWithGnuLd(*x, opt, "module.cc", kCxxSource);
}

INSTANTIATE_TEST_SUITE_P(Cross, CrossGolden,
                         ::testing::Combine(::testing::Values(&kAArch64, &kRiscV64),
                                            ::testing::Values(std::string("-O0"),
                                                              std::string("-O2"),
                                                              std::string("-fno-pic"))),
                         [](const auto& p) {
                           std::string o = std::get<1>(p.param);
                           return std::string(std::get<0>(p.param)->label) + "_" +
                                  (o == "-fno-pic" ? "nopic" : o.substr(1));
                         });

// ---------------------------------------------------------------------------
// aarch64: a call beyond +-128 MiB goes through a veneer.

TEST(CrossAArch64, CallBeyond128MiBGoesThroughAVeneer) {
  REQUIRE_CROSS(kAArch64);
  Scratch scratch;
  std::string obj = scratch.Compile(kAArch64.cc, "far.c", R"(
extern int far_fn(int);
extern int near_fn(int);
int call_far(int x) { return far_fn(x) + 1; }
int tail_far(int x) { return far_fn(x); }
int call_near(int x) { return near_fn(x) + 1; }
)",
                                    {"-O2"});
  ASSERT_FALSE(obj.empty());
  CrossLink l;
  const uint64_t far = CrossLink::kBase + (uint64_t{1} << 30);  // 1 GiB away
  const uint64_t near = CrossLink::kBase + (uint64_t{100} << 20);
  l.resolver.placed["far_fn"] = far;
  l.resolver.placed["near_fn"] = near;
  ASSERT_EQ(l.Link(obj), "");
  const link::Block& text = l.file->blocks[static_cast<int>(link::Class::kText)];

  int veneered = 0, direct = 0;
  for (const Reloc& r : Relocations(obj)) {
    if (r.section != ".text" || (r.type != "R_AARCH64_CALL26" && r.type != "R_AARCH64_JUMP26"))
      continue;
    SCOPED_TRACE(r.type + " to " + r.symbol);
    uint64_t P = l.Section(".text")->addr + r.offset;
    uint32_t insn = l.Insn(P);
    ASSERT_EQ(insn & 0x7c000000, 0x14000000u) << "not a B/BL";
    int64_t off = static_cast<int64_t>(static_cast<uint64_t>(insn & 0x03ffffff) << 38) >> 36;
    uint64_t target = P + off;
    if (r.symbol == "near_fn") {
      EXPECT_EQ(target, near) << "a reachable call goes direct";
      ++direct;
      continue;
    }
    // The veneer: in the file's text, ldr x16, .+8; br x16; .quad far_fn.
    EXPECT_GE(target, text.base);
    EXPECT_LT(target, text.base + text.size);
    EXPECT_EQ(l.Insn(target), 0x58000050u);
    EXPECT_EQ(l.Insn(target + 4), 0xd61f0200u);
    std::vector<uint8_t> lit = l.pages.read(target + 8, 8);
    uint64_t to = 0;
    memcpy(&to, lit.data(), 8);
    EXPECT_EQ(to, far);
    ++veneered;
  }
  EXPECT_EQ(veneered, 2) << "BL and B (tail call) to far_fn";
  EXPECT_EQ(direct, 1);
}

TEST(CrossAArch64, AdrpToAFarFunctionUsesOneCanonicalVeneer) {
  // -fno-pic takes a function's address with ADRP + ADD: both parts must use
  // the veneer (the function's address for this file), never one of them.
  REQUIRE_CROSS(kAArch64);
  Scratch scratch;
  std::string obj = scratch.Compile(kAArch64.cc, "addr.c", R"(
extern int far_fn(int);
int (*ptr(void))(int) { return far_fn; }
int call(int x) { return far_fn(x); }
)",
                                    {"-O2", "-fno-pic"});
  ASSERT_FALSE(obj.empty());
  CrossLink l;
  const uint64_t far = CrossLink::kBase + (uint64_t{8} << 30);  // beyond ADRP's +-4 GiB
  l.resolver.placed["far_fn"] = far;
  ASSERT_EQ(l.Link(obj), "");
  uint64_t text = l.Section(".text")->addr;
  uint64_t adrp = FirstRelocationTo(obj, ".text", "far_fn", "R_AARCH64_ADR_PREL_PG_HI21");
  uint64_t add = FirstRelocationTo(obj, ".text", "far_fn", "R_AARCH64_ADD_ABS_LO12_NC");
  ASSERT_NE(adrp, UINT64_MAX);
  ASSERT_NE(add, UINT64_MAX);
  uint32_t i1 = l.Insn(text + adrp), i2 = l.Insn(text + add);
  uint64_t immhi = (i1 >> 5) & 0x7ffff, immlo = (i1 >> 29) & 3;
  int64_t pages = static_cast<int64_t>((immhi << 2 | immlo) << 43) >> 43;
  uint64_t addr = ((text + adrp) & ~uint64_t{0xfff}) + (pages << 12) + ((i2 >> 10) & 0xfff);
  EXPECT_EQ(l.Insn(addr), 0x58000050u) << "the address taken is not a veneer: " << Hex(addr);
  std::vector<uint8_t> lit = l.pages.read(addr + 8, 8);
  uint64_t to = 0;
  memcpy(&to, lit.data(), 8);
  EXPECT_EQ(to, far);
}

// ---------------------------------------------------------------------------
// riscv64: %pcrel_hi / %pcrel_lo pairs.

// auipc's immediate (sign-extended, shifted) plus an I- or S-type immediate.
int64_t UImm(uint32_t insn) {
  return static_cast<int32_t>(insn & 0xfffff000);
}
int64_t IImm(uint32_t insn) {
  return static_cast<int32_t>(insn) >> 20;
}
int64_t SImm(uint32_t insn) {
  return (static_cast<int32_t>(insn) >> 25 << 5) | ((insn >> 7) & 0x1f);
}

TEST(CrossRiscV64, PcrelCarryAtTheBoundaryAndLoBeforeHi) {
  REQUIRE_CROSS(kRiscV64);
  Scratch scratch;
  // at_800 is exactly 0x800 past its auipc: the low part is -0x800 and the
  // high part carries one page. at_7ff is 0x7ff past: no carry. The last
  // pair's %pcrel_lo comes first in the section (and in the relocations).
  std::string obj = scratch.Compile(kRiscV64.cc, "carry.s", R"(
  .option norelax
  .text
  .globl get_800, get_7ff, store_800, lo_first
get_800:
1: auipc a0, %pcrel_hi(at_800)
  addi a0, a0, %pcrel_lo(1b)
  ret
get_7ff:
2: auipc a0, %pcrel_hi(at_7ff)
  addi a0, a0, %pcrel_lo(2b)
  ret
store_800:
3: auipc a0, %pcrel_hi(at_800 + 4)
  sw a1, %pcrel_lo(3b)(a0)
  ret
lo_first:
  j 5f
lo_at:
4: addi a0, a0, %pcrel_lo(5f)
  ret
hi_at:
5: auipc a0, %pcrel_hi(at_7ff)
  j 4b
  .balign 4
  .skip 0x800 - (. - 1b)
at_800:
  .word 0x800, 0
  .skip 0x7ff - (. - 2b)
at_7ff:
  .byte 1
)");
  ASSERT_FALSE(obj.empty());
  std::vector<std::string> types = RelocationTypes(obj);
  CrossLink l;
  ASSERT_EQ(l.Link(obj), "");
  uint64_t at_800 = l.Symbol("at_800"), at_7ff = l.Symbol("at_7ff");
  uint64_t get_800 = l.Symbol("get_800"), get_7ff = l.Symbol("get_7ff");
  uint64_t store_800 = l.Symbol("store_800");
  ASSERT_EQ(at_800 - get_800, 0x800u);

  uint32_t hi = l.Insn(get_800), lo = l.Insn(get_800 + 4);
  EXPECT_EQ(UImm(hi), 0x1000) << "the high part carries";
  EXPECT_EQ(IImm(lo), -0x800);
  EXPECT_EQ(get_800 + UImm(hi) + IImm(lo), at_800);

  hi = l.Insn(get_7ff);
  lo = l.Insn(get_7ff + 4);
  EXPECT_EQ(UImm(hi), 0) << "no carry at 0x7ff";
  EXPECT_EQ(IImm(lo), 0x7ff);
  EXPECT_EQ(get_7ff + UImm(hi) + IImm(lo), at_7ff);

  hi = l.Insn(store_800);
  lo = l.Insn(store_800 + 4);
  EXPECT_EQ(store_800 + UImm(hi) + SImm(lo), at_800 + 4);

  uint64_t lo_at = l.Symbol("lo_at"), hi_at = l.Symbol("hi_at");
  ASSERT_LT(lo_at, hi_at) << "the %pcrel_lo comes first";
  lo = l.Insn(lo_at);
  hi = l.Insn(hi_at);
  ASSERT_EQ(hi & 0x7f, 0x17u) << "auipc";
  EXPECT_EQ(hi_at + UImm(hi) + IImm(lo), at_7ff);
}

TEST(CrossRiscV64, PcrelLoWithoutItsHiIsAnErrorNamingIt) {
  REQUIRE_CROSS(kRiscV64);
  Scratch scratch;
  std::string obj = scratch.Compile(kRiscV64.cc, "orphan.s", R"(
  .option norelax
  .text
  .globl orphan
orphan:
  addi a0, a0, %pcrel_lo(1f)
1: nop
  ret
)");
  ASSERT_FALSE(obj.empty());
  CrossLink l;
  std::string err = l.Link(obj);
  EXPECT_NE(err.find("R_RISCV_PCREL_LO12_I at .text+0x0"), std::string::npos) << err;
  EXPECT_NE(err.find("a %pcrel_lo without its %pcrel_hi"), std::string::npos) << err;
  EXPECT_EQ(l.arena.stats().used, 0u) << "a failed link leaves nothing";
}

TEST(CrossRiscV64, ExceptTablesOfDiscardedComdatCopiesAreDead) {
  // With relaxation on, the call-site ranges of an LSDA are label
  // differences left to the linker (ADD32/SUB32 pairs). The LSDA of the
  // second object's copy of an inline function points into a COMDAT group
  // that the first object's copy wins: like its FDE, it is dead, not an error.
  REQUIRE_CROSS(kRiscV64);
  Scratch scratch;
  const std::string shared = R"(
#include <stdexcept>
inline int shared(int x) {
  try { if (x > 2) throw std::runtime_error("big"); return x; }
  catch (const std::exception &) { return -1; }
}
)";
  std::string a =
      scratch.Compile(kRiscV64.cc, "a.cc", shared + "int use_a(int x) { return shared(x); }\n");
  std::string b =
      scratch.Compile(kRiscV64.cc, "b.cc", shared + "int use_b(int x) { return shared(x) + 1; }\n");
  ASSERT_FALSE(a.empty() || b.empty());
  bool deferred = false;
  for (const Reloc& r : Relocations(b))
    deferred |= r.section.rfind(".gcc_except_table", 0) == 0 && r.type == "R_RISCV_ADD32";
  EXPECT_TRUE(deferred) << "expected the assembler to leave LSDA ranges to the linker";
  CrossLink l;
  EXPECT_EQ(l.LinkAll({a, b}), "");
}

TEST(CrossRiscV64, AlignIsRefusedNamingMnoRelax) {
  REQUIRE_CROSS(kRiscV64);
  Scratch scratch;
  std::string obj = scratch.Compile(kRiscV64.cc, "align.s", R"(
  .option relax
  .text
  .globl f
f:
  nop
  .balign 16
g:
  ret
)");
  ASSERT_FALSE(obj.empty());
  std::vector<std::string> types = RelocationTypes(obj);
  ASSERT_NE(std::find(types.begin(), types.end(), "R_RISCV_ALIGN"), types.end());
  CrossLink l;
  std::string err = l.Link(obj);
  EXPECT_NE(err.find("R_RISCV_ALIGN at offset 0x"), std::string::npos) << err;
  EXPECT_NE(err.find("-mno-relax"), std::string::npos) << err;
}

TEST(CrossRiscV64, DefaultRelaxObjectsLinkWithRelaxHintsIgnored) {
  // gcc's default (-mrelax) marks calls and address pairs with R_RISCV_RELAX:
  // accepted, and the unrelaxed code is what GNU ld --no-relax produces (the
  // golden test); here: that they are there and the link succeeds.
  REQUIRE_CROSS(kRiscV64);
  Scratch scratch;
  std::string obj = scratch.Compile(kRiscV64.cc, "relax.c", kCSource, {"-O2"});
  ASSERT_FALSE(obj.empty());
  std::vector<std::string> types = RelocationTypes(obj);
  EXPECT_NE(std::find(types.begin(), types.end(), "R_RISCV_RELAX"), types.end());
  CrossLink l;
  EXPECT_EQ(l.Link(obj), "");
}

}  // namespace
}  // namespace mk::test

namespace mk::test {
namespace {

// Thread-local storage is refused on every machine, naming what is
// thread-local (bad-input.md, class 8; the TLS relocation kinds themselves
// are marked in the tables, aarch64_test.cc and riscv64_test.cc).
TEST(CrossTls, ThreadLocalObjectsAreRefusedNamingTls) {
  for (const Cross* x : {&kAArch64, &kRiscV64}) {
    if (!Have(x->cc.cc)) continue;
    SCOPED_TRACE(x->label);
    Scratch scratch;
    std::string obj = scratch.Compile(x->cc, "tls.c", R"(
extern __thread int ext_tls;
int get(void) { return ext_tls; }
)",
                                      {"-O2"});
    ASSERT_FALSE(obj.empty());
    CrossLink l;
    std::string err = l.Link(obj);
    EXPECT_NE(err.find("thread-local"), std::string::npos) << err;
    EXPECT_NE(err.find("ext_tls"), std::string::npos) << "names the symbol: " << err;
  }
}

}  // namespace
}  // namespace mk::test
