// Tests of module/metadata.h: every rule with its exact error, records built
// byte by byte (a tiny hosted builder), the SDK's own layout pinned against
// the reader's, this test binary's own records (a static module), and real
// objects compiled at test time with gcc and clang from C and C++ sources
// that use the SDK macros.
#include "module/metadata.h"

#include <modkit/bus.h>
#include <modkit/module.h>
#include <modkit/service.h>
#include <stddef.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "gtest/gtest.h"
#include "link/toolchain.h"
#include "support/test_allocator.h"
#include "util/elf_builder.h"

namespace mk::module {
namespace {

using Bytes = std::vector<uint8_t>;
using mk::testing::TestAllocator;

// ---- the SDK and the reader agree on the layout ----

static_assert(sizeof(mk_meta_header) == 8);
static_assert(sizeof(mk_meta_module) == 96);
static_assert(sizeof(mk_meta_depend) == 152);
static_assert(sizeof(mk_meta_sysinit) == 104);
static_assert(sizeof(mk_meta_export) == 104);
static_assert(MK_NAME_MAX == kNameMax);
static_assert(offsetof(mk_meta_module, handler) == kModuleHandlerOffset);
static_assert(offsetof(mk_meta_module, arg) == kModuleArgOffset);
static_assert(offsetof(mk_meta_sysinit, fn) == kSysinitFnOffset);
static_assert(offsetof(mk_meta_sysinit, arg) == kSysinitArgOffset);
static_assert(offsetof(mk_meta_module, version) == 72 && offsetof(mk_meta_module, line) == 76);
static_assert(offsetof(mk_meta_depend, min) == 136 && offsetof(mk_meta_depend, reserved) == 148);
static_assert(offsetof(mk_meta_sysinit, subsystem) == 72 &&
              offsetof(mk_meta_sysinit, uninit) == 80);
static_assert(offsetof(mk_meta_export, ns) == 72 && offsetof(mk_meta_export, name) == 104);
static_assert(sizeof(mk_meta_import_ns) == 104 && offsetof(mk_meta_import_ns, ns) == 72);
static_assert(sizeof(mk_meta_import_ns::ns) == kNsMax);
static_assert(sizeof(mk_meta_driver) == 144 && sizeof(mk_meta_match) == 184);
static_assert(offsetof(mk_meta_driver, bus) == 104 && offsetof(mk_meta_driver, priority) == 136);
static_assert(offsetof(mk_meta_match, kind) == 104 && offsetof(mk_meta_match, compat) == 120);
static_assert(MK_DRIVER_NAME_MAX == kShortNameMax && MK_COMPAT_MAX == kCompatMax);

// ---- a tiny record builder ----

template <class T>
void Poke(Bytes& b, size_t off, T v) {
  memcpy(b.data() + off, &v, sizeof v);
}

void PutName(Bytes& b, size_t off, const std::string& s) {
  memcpy(b.data() + off, s.data(), s.size());  // the rest stays NUL
}

Bytes Header(uint8_t kind, size_t size) {
  Bytes b(size, 0);
  Poke<uint32_t>(b, 0, MK_META_MAGIC);
  b[4] = MK_META_VERSION;
  b[5] = kind;
  Poke<uint16_t>(b, 6, static_cast<uint16_t>(size));
  return b;
}

Bytes Module(const std::string& name, uint32_t version = 1, uint32_t line = 10) {
  Bytes b = Header(MK_REC_MODULE, 96);
  PutName(b, 8, name);
  Poke(b, 72, version);
  Poke(b, 76, line);
  Poke<uint64_t>(b, 80, 0x1111);  // handler and arg: whatever the object holds
  Poke<uint64_t>(b, 88, 0x2222);
  return b;
}

Bytes Depend(const std::string& module, const std::string& target, uint32_t min, uint32_t pref,
             uint32_t max) {
  Bytes b = Header(MK_REC_DEPEND, 152);
  PutName(b, 8, module);
  PutName(b, 72, target);
  Poke(b, 136, min);
  Poke(b, 140, pref);
  Poke(b, 144, max);
  return b;
}

Bytes Sysinit(const std::string& module, uint32_t sub, uint32_t order, uint32_t uninit = 0) {
  Bytes b = Header(MK_REC_SYSINIT, 104);
  PutName(b, 8, module);
  Poke(b, 72, sub);
  Poke(b, 76, order);
  Poke(b, 80, uninit);
  return b;
}

Bytes Export(const std::string& module, const std::string& ns, const std::string& name) {
  Bytes b = Header(MK_REC_EXPORT, 104 + ((name.size() + 1 + 7) & ~size_t{7}));
  PutName(b, 8, module);
  PutName(b, 72, ns);
  PutName(b, 104, name);
  return b;
}

Bytes ImportNs(const std::string& module, const std::string& ns) {
  Bytes b = Header(MK_REC_IMPORT_NS, 104);
  PutName(b, 8, module);
  PutName(b, 72, ns);
  return b;
}

Bytes Driver(const std::string& module, const std::string& driver, const std::string& bus,
             uint32_t priority) {
  Bytes b = Header(MK_REC_DRIVER, 144);
  PutName(b, 8, module);
  PutName(b, 72, driver);
  PutName(b, 104, bus);
  Poke(b, 136, priority);
  return b;
}

Bytes Match(const std::string& module, const std::string& driver, uint32_t kind, uint32_t vendor,
            uint32_t device, const std::string& compat) {
  Bytes b = Header(MK_REC_MATCH, 184);
  PutName(b, 8, module);
  PutName(b, 72, driver);
  Poke(b, 104, kind);
  Poke(b, 108, vendor);
  Poke(b, 112, device);
  PutName(b, 120, compat);
  return b;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The spans as the kernel sees them: each in a buffer of exactly its size (an
// over-read is a sanitizer error), at an odd address (no alignment assumed).
class Spans {
 public:
  explicit Spans(const std::vector<Bytes>& spans) {
    for (const Bytes& s : spans) {
      buffers_.emplace_back(new uint8_t[s.size() + 1]);
      if (!s.empty()) memcpy(buffers_.back().get() + 1, s.data(), s.size());
      views_.emplace_back(buffers_.back().get() + 1, s.size());
    }
  }
  const ByteView* data() const { return views_.data(); }
  size_t size() const { return views_.size(); }

 private:
  std::vector<std::unique_ptr<uint8_t[]>> buffers_;
  std::vector<ByteView> views_;
};

void ExpectError(const std::vector<Bytes>& spans, Errc code, const std::string& message) {
  TestAllocator alloc;
  Spans in(spans);
  Result<Metadata> r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_FALSE(r.ok()) << "expected: " << message;
  EXPECT_EQ(errc_name(r.error().code()), std::string(errc_name(code)));
  EXPECT_EQ(r.error().message(), message);
}

void ExpectMalformed(const Bytes& span, const std::string& message) {
  ExpectError({span}, Errc::kMalformed, message);
}

// ---- well-formed input ----

TEST(Metadata, NothingToRead) {
  TestAllocator alloc;
  auto none = read_metadata(nullptr, 0, alloc);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().modules.empty());
  Spans empty({Bytes{}, Bytes{}});
  auto r = read_metadata(empty.data(), empty.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r.value().modules.empty());
  EXPECT_TRUE(r.value().depends.empty());
  EXPECT_TRUE(r.value().sysinits.empty());
  EXPECT_TRUE(r.value().exports.empty());
}

TEST(Metadata, EveryKindDecoded) {
  TestAllocator alloc;
  Bytes span = Cat({Module("echo", 3, 42), Depend("echo", "kernel", 1, 1, 1),
                    Depend("echo", "buffer", 2, 3, 4), Sysinit("echo", MK_SI_DRIVERS, 10),
                    Sysinit("echo", MK_SI_DRIVERS, 10, 1), Export("echo", "", "echo_write"),
                    Export("echo", "echo_ns", "x")});
  Spans in({span});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  ASSERT_EQ(md.modules.size(), 1u);
  EXPECT_STREQ(md.modules[0].name, "echo");
  EXPECT_EQ(md.modules[0].version, 3u);
  EXPECT_EQ(md.modules[0].line, 42u);
  EXPECT_EQ(md.modules[0].at.span, 0u);
  EXPECT_EQ(md.modules[0].at.offset, 0u);
  // Names point into the input.
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(md.modules[0].name), in.data()[0].data() + 8);

  ASSERT_EQ(md.depends.size(), 2u);
  EXPECT_EQ(md.depends[0].module, 0u);
  EXPECT_STREQ(md.depends[0].target, "kernel");
  EXPECT_EQ(md.depends[1].min, 2u);
  EXPECT_EQ(md.depends[1].preferred, 3u);
  EXPECT_EQ(md.depends[1].max, 4u);
  EXPECT_STREQ(md.depends[1].target, "buffer");

  ASSERT_EQ(md.sysinits.size(), 2u);
  EXPECT_EQ(md.sysinits[0].module, 0u);
  EXPECT_EQ(md.sysinits[0].subsystem, uint32_t{MK_SI_DRIVERS});
  EXPECT_EQ(md.sysinits[0].order, 10u);
  EXPECT_FALSE(md.sysinits[0].uninit);
  EXPECT_TRUE(md.sysinits[1].uninit);
  EXPECT_EQ(md.sysinits[0].at.offset, 96u + 152 + 152);
  EXPECT_EQ(md.sysinits[1].at.offset, 96u + 152 + 152 + 104);

  ASSERT_EQ(md.exports.size(), 2u);
  EXPECT_STREQ(md.exports[0].ns, "");
  EXPECT_STREQ(md.exports[0].name, "echo_write");
  EXPECT_STREQ(md.exports[1].ns, "echo_ns");
  EXPECT_STREQ(md.exports[1].name, "x");
}

TEST(Metadata, RecordsInAnyOrder) {
  // Compilers may emit records in any order: references come before the module.
  TestAllocator alloc;
  Spans in({Cat({Export("b", "", "f"), Sysinit("a", 1, 2), Depend("b", "kernel", 1, 2, 3),
                 Module("b", 2), Module("a", 1)})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  ASSERT_EQ(md.modules.size(), 2u);
  EXPECT_STREQ(md.modules[0].name, "b");  // section order
  EXPECT_STREQ(md.modules[1].name, "a");
  EXPECT_EQ(md.exports[0].module, 0u);
  EXPECT_EQ(md.sysinits[0].module, 1u);
  EXPECT_EQ(md.depends[0].module, 0u);
}

TEST(Metadata, SeveralSpansInOrder) {
  TestAllocator alloc;
  Spans in(
      {Cat({Module("a"), Sysinit("b", 5, 6)}), Bytes{}, Cat({Sysinit("a", 1, 2), Module("b")})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  ASSERT_EQ(md.modules.size(), 2u);
  EXPECT_EQ(md.modules[0].at.span, 0u);
  EXPECT_EQ(md.modules[0].at.offset, 0u);
  EXPECT_EQ(md.modules[1].at.span, 2u);
  EXPECT_EQ(md.modules[1].at.offset, 104u);
  ASSERT_EQ(md.sysinits.size(), 2u);
  EXPECT_EQ(md.sysinits[0].module, 1u);
  EXPECT_EQ(md.sysinits[0].at.span, 0u);
  EXPECT_EQ(md.sysinits[0].at.offset, 96u);
  EXPECT_EQ(md.sysinits[1].module, 0u);
  EXPECT_EQ(md.sysinits[1].at.span, 2u);
}

TEST(Metadata, DependencyInsideTheFileIsAllowed) {
  TestAllocator alloc;
  Spans in({Cat({Module("a"), Module("b"), Depend("b", "a", 1, 1, 1)})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_STREQ(r.value().depends[0].target, "a");
  EXPECT_EQ(r.value().depends[0].module, 1u);
}

TEST(Metadata, SameTargetTwiceKeepsBothRanges) {
  TestAllocator alloc;
  Spans in({Cat({Module("a"), Depend("a", "k", 1, 1, 5), Depend("a", "k", 3, 4, 9)})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r.value().depends.size(), 2u);
  EXPECT_EQ(r.value().depends[1].min, 3u);
}

TEST(Metadata, VersionBoundaries) {
  TestAllocator alloc;
  Spans in({Cat({Module("a", UINT32_MAX, UINT32_MAX), Depend("a", "k", 0, 0, 0),
                 Depend("a", "j", 0, UINT32_MAX, UINT32_MAX),
                 Depend("a", "i", UINT32_MAX, UINT32_MAX, UINT32_MAX)})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.value().modules[0].version, UINT32_MAX);
  EXPECT_EQ(r.value().depends[1].preferred, UINT32_MAX);
}

TEST(Metadata, NameLengthLimits) {
  TestAllocator alloc;
  std::string longest(63, 'n');
  std::string ns(31, 's');
  std::string sym(500, 'f');
  Spans in({Cat({Module(longest), Depend(longest, "_k9", 1, 1, 1), Export(longest, ns, sym),
                 Export(longest, "", "abcdefg"), Export(longest, "", "abcdefgh")})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.value().modules[0].name, longest);
  EXPECT_EQ(r.value().exports[0].ns, ns);
  EXPECT_EQ(r.value().exports[0].name, sym);
  EXPECT_STREQ(r.value().exports[1].name, "abcdefg");   // 7 + NUL: 8 bytes
  EXPECT_STREQ(r.value().exports[2].name, "abcdefgh");  // 8 + NUL: 16 bytes
}

TEST(Metadata, IdentifierRule) {
  EXPECT_TRUE(is_identifier("a"));
  EXPECT_TRUE(is_identifier("_"));
  EXPECT_TRUE(is_identifier("Z_09az"));
  EXPECT_FALSE(is_identifier(""));
  EXPECT_FALSE(is_identifier("9a"));
  EXPECT_FALSE(is_identifier("a-b"));
  EXPECT_FALSE(is_identifier("a b"));
  EXPECT_FALSE(is_identifier("a.b"));
  EXPECT_FALSE(is_identifier("\xc3\xa9"));
}

// ---- each rule, broken ----

TEST(MetadataRules, ShorterThanAHeader) {
  ExpectMalformed(Bytes(4, 0),
                  "modkit_modinfo+0x0: 0x4 bytes left, less than a record header (0x8)");
  Bytes tail = Cat({Module("a"), Bytes(7, 0)});
  ExpectMalformed(tail, "modkit_modinfo+0x60: 0x7 bytes left, less than a record header (0x8)");
}

TEST(MetadataRules, Magic) {
  Bytes b = Module("a");
  Poke<uint32_t>(b, 0, 0x12345678);
  ExpectMalformed(b, "modkit_modinfo+0x0: record magic 0x12345678 is not 0x444d4b4d (MKMD)");
  // Zero padding between records is not skipped: it is not a record.
  ExpectMalformed(Cat({Module("a"), Bytes(8, 0), Module("b")}),
                  "modkit_modinfo+0x60: record magic 0x0 is not 0x444d4b4d (MKMD)");
}

TEST(MetadataRules, FormatVersion) {
  Bytes b = Cat({Module("a"), Module("b")});
  b[96 + 4] = 2;
  ExpectError({b}, Errc::kUnsupported, "modkit_modinfo+0x60: record format version 2 is not 1");
  b[96 + 4] = 0;
  ExpectError({b}, Errc::kUnsupported, "modkit_modinfo+0x60: record format version 0 is not 1");
}

TEST(MetadataRules, Kind) {
  Bytes b = Cat({Module("a"), Module("b")});
  b[96 + 5] = 9;
  ExpectMalformed(b, "modkit_modinfo+0x60: record kind 9 is unknown");
  b[96 + 5] = 0;
  ExpectMalformed(b, "modkit_modinfo+0x60: record kind 0 is unknown");
}

TEST(MetadataRules, SizeBelowHeaderNeverLoops) {
  Bytes b = Module("a");
  Poke<uint16_t>(b, 6, 0);
  ExpectMalformed(b, "modkit_modinfo+0x0: module record size 0x0 is less than its header (0x8)");
  Poke<uint16_t>(b, 6, 4);
  ExpectMalformed(b, "modkit_modinfo+0x0: module record size 0x4 is less than its header (0x8)");
}

TEST(MetadataRules, SizeMultipleOf8) {
  Bytes b = Module("a");
  Poke<uint16_t>(b, 6, 0x5c);
  ExpectMalformed(b, "modkit_modinfo+0x0: module record size 0x5c is not a multiple of 8");
}

TEST(MetadataRules, SizeInsideTheSpan) {
  Bytes b = Module("a");
  b.resize(88);  // the record claims 0x60
  ExpectMalformed(b,
                  "modkit_modinfo+0x0: module record size 0x60 passes the end of the section "
                  "(0x58 left)");
  Bytes d = Cat({Module("a"), Depend("a", "k", 1, 1, 1)});
  d.resize(d.size() - 8);
  ExpectMalformed(d,
                  "modkit_modinfo+0x60: dependency record size 0x98 passes the end of the "
                  "section (0x90 left)");
}

TEST(MetadataRules, SizeOfEachKind) {
  Bytes m = Cat({Module("a"), Bytes(8, 0)});
  Poke<uint16_t>(m, 6, 0x68);
  ExpectMalformed(m, "modkit_modinfo+0x0: module record size 0x68 is not 0x60");
  Bytes m2 = Module("a");
  Poke<uint16_t>(m2, 6, 0x58);
  ExpectMalformed(m2, "modkit_modinfo+0x0: module record size 0x58 is not 0x60");
  Bytes d = Depend("a", "k", 1, 1, 1);
  Poke<uint16_t>(d, 6, 0x90);
  ExpectMalformed(d, "modkit_modinfo+0x0: dependency record size 0x90 is not 0x98");
  Bytes s = Cat({Sysinit("a", 1, 1), Bytes(8, 0)});
  Poke<uint16_t>(s, 6, 0x70);
  ExpectMalformed(s, "modkit_modinfo+0x0: sysinit record size 0x70 is not 0x68");
}

TEST(MetadataRules, ExportSize) {
  Bytes e = Export("a", "", "write");  // 0x70
  Poke<uint16_t>(e, 6, 0x68);
  ExpectMalformed(e, "modkit_modinfo+0x0: export record size 0x68 is less than 0x70");
  // More NUL padding than the name needs.
  Bytes padded = Cat({Export("a", "", "write"), Bytes(8, 0)});
  Poke<uint16_t>(padded, 6, 0x78);
  ExpectMalformed(padded, "modkit_modinfo+0x0: export record size 0x78 is not 0x70 for `write'");
  // The name runs to the end of the record without a NUL.
  Bytes full = Export("a", "", "abcdefg");
  full[104 + 7] = 'h';
  ExpectMalformed(full, "modkit_modinfo+0x0: export name is not NUL-terminated within its 8 bytes");
}

TEST(MetadataRules, NamesTerminatedInsideTheirField) {
  ExpectMalformed(Module(std::string(64, 'a')),
                  "modkit_modinfo+0x0: module name is not NUL-terminated within its 64 bytes");
  ExpectMalformed(Depend(std::string(64, 'a'), "k", 1, 1, 1),
                  "modkit_modinfo+0x0: dependency's module name is not NUL-terminated within its "
                  "64 bytes");
  ExpectMalformed(Depend("a", std::string(64, 'k'), 1, 1, 1),
                  "modkit_modinfo+0x0: dependency target is not NUL-terminated within its 64 "
                  "bytes");
  ExpectMalformed(Sysinit(std::string(64, 'a'), 1, 1),
                  "modkit_modinfo+0x0: sysinit's module name is not NUL-terminated within its 64 "
                  "bytes");
  ExpectMalformed(Export(std::string(64, 'a'), "", "f"),
                  "modkit_modinfo+0x0: export's module name is not NUL-terminated within its 64 "
                  "bytes");
  ExpectMalformed(Export("a", std::string(32, 's'), "f"),
                  "modkit_modinfo+0x0: export namespace is not NUL-terminated within its 32 "
                  "bytes");
}

TEST(MetadataRules, NamesNonEmpty) {
  ExpectMalformed(Module(""), "modkit_modinfo+0x0: module name is empty");
  ExpectMalformed(Depend("", "k", 1, 1, 1),
                  "modkit_modinfo+0x0: dependency's module name is empty");
  ExpectMalformed(Depend("a", "", 1, 1, 1), "modkit_modinfo+0x0: dependency target is empty");
  ExpectMalformed(Sysinit("", 1, 1), "modkit_modinfo+0x0: sysinit's module name is empty");
  ExpectMalformed(Export("", "", "f"), "modkit_modinfo+0x0: export's module name is empty");
  ExpectMalformed(Export("a", "", ""), "modkit_modinfo+0x0: export name is empty");
}

TEST(MetadataRules, NamesAreIdentifiers) {
  ExpectMalformed(Module("1abc"), "modkit_modinfo+0x0: module name `1abc' is not a C identifier");
  ExpectMalformed(Module("a-b"), "modkit_modinfo+0x0: module name `a-b' is not a C identifier");
  // Unprintable bytes are not copied into the message.
  ExpectMalformed(Module("a\x1b[2J\xff"),
                  "modkit_modinfo+0x0: module name `a?[2J?' is not a C identifier");
  ExpectMalformed(Depend("a b", "k", 1, 1, 1),
                  "modkit_modinfo+0x0: dependency's module name `a b' is not a C identifier");
  ExpectMalformed(Depend("a", "k.ko", 1, 1, 1),
                  "modkit_modinfo+0x0: dependency target `k.ko' is not a C identifier");
  ExpectMalformed(Sysinit("-", 1, 1),
                  "modkit_modinfo+0x0: sysinit's module name `-' is not a C identifier");
  ExpectMalformed(Export("a/b", "", "f"),
                  "modkit_modinfo+0x0: export's module name `a/b' is not a C identifier");
  ExpectMalformed(Export("a", "n s", "f"),
                  "modkit_modinfo+0x0: export namespace `n s' is not a C identifier");
  ExpectMalformed(Export("a", "", "f()"),
                  "modkit_modinfo+0x0: export name `f()' is not a C identifier");
  // A long bad name is cut in the message.
  ExpectMalformed(
      Export("a", "", std::string(100, 'x') + "-"),
      "modkit_modinfo+0x0: export name `" + std::string(64, 'x') + "...' is not a C identifier");
}

TEST(MetadataRules, ReservedAndFlags) {
  Bytes d = Depend("a", "k", 1, 1, 1);
  Poke<uint32_t>(d, 148, 5);
  ExpectMalformed(d, "modkit_modinfo+0x0: dependency record reserved field is 0x5, not 0");
  Bytes s = Sysinit("a", 1, 1);
  Poke<uint32_t>(s, 84, 0x80);
  ExpectMalformed(s, "modkit_modinfo+0x0: sysinit record reserved field is 0x80, not 0");
  ExpectMalformed(Sysinit("a", 1, 1, 2), "modkit_modinfo+0x0: sysinit uninit flag 2 is not 0 or 1");
}

TEST(MetadataRules, VersionRangeOrdered) {
  ExpectMalformed(Cat({Module("a"), Depend("a", "k", 3, 2, 4)}),
                  "modkit_modinfo+0x60: module `a' depends on `k' with min 3, preferred 2, max 4 "
                  "(not min <= preferred <= max)");
  ExpectMalformed(Cat({Module("a"), Depend("a", "k", 1, 5, 4)}),
                  "modkit_modinfo+0x60: module `a' depends on `k' with min 1, preferred 5, max 4 "
                  "(not min <= preferred <= max)");
}

TEST(MetadataRules, SelfDependency) {
  ExpectMalformed(Cat({Module("a"), Depend("a", "a", 1, 1, 1)}),
                  "modkit_modinfo+0x60: module `a' depends on itself");
}

TEST(MetadataRules, ModuleDeclaredOnce) {
  ExpectMalformed(
      Cat({Module("a"), Module("b"), Module("a", 2)}),
      "modkit_modinfo+0xc0: module `a' is declared twice (first at modkit_modinfo+0x0)");
  ExpectError({Cat({Sysinit("a", 1, 1), Module("a")}), Module("a")}, Errc::kMalformed,
              "modkit_modinfo#1+0x0: module `a' is declared twice (first at "
              "modkit_modinfo#0+0x68)");
}

TEST(MetadataRules, ReferencesNameAModuleOfTheFile) {
  ExpectMalformed(Cat({Module("a"), Depend("b", "k", 1, 1, 1)}),
                  "modkit_modinfo+0x60: dependency names module `b', which this file does not "
                  "declare");
  ExpectMalformed(Cat({Sysinit("b", 1, 1), Module("a")}),
                  "modkit_modinfo+0x0: sysinit names module `b', which this file does not declare");
  ExpectMalformed(Cat({Module("a"), Export("b", "", "f")}),
                  "modkit_modinfo+0x60: export names module `b', which this file does not declare");
  // Declared in another span of the same file is fine.
  TestAllocator alloc;
  Spans in({Depend("b", "k", 1, 1, 1), Module("b")});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
}

TEST(MetadataRules, SpanNamedWhenSeveral) {
  Bytes bad = Module("a");
  bad[5] = 9;
  ExpectError({Module("x"), Cat({Module("y"), bad})}, Errc::kMalformed,
              "modkit_modinfo#1+0x60: record kind 9 is unknown");
}

TEST(MetadataRules, FirstErrorInSectionOrder) {
  // Record-local rules are checked for every record before references.
  Bytes bad = Module("c");
  bad[5] = 9;
  ExpectMalformed(Cat({Depend("zz", "k", 1, 1, 1), Module("a"), bad}),
                  "modkit_modinfo+0xf8: record kind 9 is unknown");
}

// ---- namespace imports (MODKIT_IMPORT_NS) ----

TEST(MetadataImportNs, Decoded) {
  TestAllocator alloc;
  Spans in({Cat({ImportNs("b", "BUF_CORE"), Module("a"), Module("b"), ImportNs("a", "X"),
                 ImportNs("a", std::string(31, 'n'))})});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  ASSERT_EQ(md.imports.size(), 3u);
  EXPECT_EQ(md.imports[0].module, 1u);  // section order, whatever the module order
  EXPECT_STREQ(md.imports[0].ns, "BUF_CORE");
  EXPECT_EQ(md.imports[1].module, 0u);
  EXPECT_STREQ(md.imports[1].ns, "X");
  EXPECT_EQ(std::string(md.imports[2].ns), std::string(31, 'n'));
}

TEST(MetadataImportNs, Rules) {
  Bytes big = Cat({ImportNs("a", "N"), Bytes(8, 0)});
  Poke<uint16_t>(big, 6, 0x70);
  ExpectMalformed(big, "modkit_modinfo+0x0: namespace import record size 0x70 is not 0x68");
  ExpectMalformed(ImportNs("a", ""), "modkit_modinfo+0x0: imported namespace is empty");
  ExpectMalformed(ImportNs("a", "BUF-CORE"),
                  "modkit_modinfo+0x0: imported namespace `BUF-CORE' is not a C identifier");
  ExpectMalformed(ImportNs("a", std::string(32, 'n')),
                  "modkit_modinfo+0x0: imported namespace is not NUL-terminated within its 32 "
                  "bytes");
  ExpectMalformed(ImportNs("", "N"), "modkit_modinfo+0x0: namespace import's module name is empty");
  ExpectMalformed(Cat({Module("a"), ImportNs("b", "N")}),
                  "modkit_modinfo+0x60: namespace import names module `b', which this file does "
                  "not declare");
}

// ---- allocation: fixed count, failures reported, nothing leaked ----

Bytes ManyRecords(int modules) {
  Bytes out;
  for (int i = 0; i < modules; ++i) {
    std::string name = "m" + std::to_string(i);
    Bytes part = Cat({Module(name, i), Depend(name, "kernel", 1, 1, 1), Sysinit(name, 1, i),
                      Export(name, "", "f" + std::to_string(i))});
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

TEST(MetadataCost, FixedNumberOfAllocations) {
  size_t counts[2] = {};
  int sizes[2] = {1, 5000};
  for (int k = 0; k < 2; ++k) {
    TestAllocator alloc;
    Spans in({ManyRecords(sizes[k])});
    auto r = read_metadata(in.data(), in.size(), alloc);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r.value().modules.size(), static_cast<size_t>(sizes[k]));
    counts[k] = alloc.allocations();
  }
  EXPECT_EQ(counts[0], counts[1]);
  EXPECT_LE(counts[1], 5u);
}

TEST(MetadataCost, EveryAllocationFailureReported) {
  Spans in({ManyRecords(3)});
  for (size_t n = 0;; ++n) {
    TestAllocator alloc(n);
    auto r = read_metadata(in.data(), in.size(), alloc);
    if (r.ok()) {
      EXPECT_GT(n, 0u);
      break;
    }
    EXPECT_EQ(r.error().code(), Errc::kNoMemory);
    EXPECT_STREQ(r.error().message(), "modkit_modinfo: out of memory for 12 records");
    ASSERT_LT(n, 20u);
  }
}

TEST(MetadataCost, LinearTime) {
  // 200k records (~23 MB): a quadratic reader would take minutes.
  Spans in({ManyRecords(50000)});
  TestAllocator alloc;
  auto start = std::chrono::steady_clock::now();
  auto r = read_metadata(in.data(), in.size(), alloc);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.value().exports.size(), 50000u);
  EXPECT_LT(seconds, 5.0);
}

// Random damage to a valid input: the reader must either accept it with every
// invariant of Metadata holding, or refuse it as malformed or unsupported;
// never crash, read outside the spans (ASan builds) or leak.
TEST(MetadataFuzz, RandomDamage) {
  Bytes good =
      Cat({Module("a", 1), Depend("a", "k", 1, 2, 3), Sysinit("a", 1, 2), Export("a", "ns", "sym"),
           Module("b", 2), Export("b", "", "f"), Sysinit("b", 3, 4, 1), Depend("b", "a", 0, 0, 9)});
  uint64_t seed = 0x9e3779b97f4a7c15;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b = good;
    int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = next() % b.size();
      switch (next() % 4) {
        case 0:
          b[at] = static_cast<uint8_t>(next());
          break;
        case 1:
          b[at] ^= static_cast<uint8_t>(1u << (next() % 8));
          break;
        case 2:
          b.resize(at);
          break;
        default:
          b[at] = 0;
          break;
      }
      if (b.empty()) break;
    }
    size_t cut = b.empty() ? 0 : next() % (b.size() + 1);
    Bytes first(b.begin(), b.begin() + cut), second(b.begin() + cut, b.end());
    TestAllocator alloc;
    Spans in(next() % 2 == 0 ? std::vector<Bytes>{b} : std::vector<Bytes>{first, second});
    auto r = read_metadata(in.data(), in.size(), alloc);
    if (!r.ok()) {
      Errc c = r.error().code();
      ASSERT_TRUE(c == Errc::kMalformed || c == Errc::kUnsupported) << r.error().message();
      ASSERT_EQ(strncmp(r.error().message(), "modkit_modinfo", 14), 0) << r.error().message();
      continue;
    }
    ++accepted;
    const Metadata& md = r.value();
    for (const ModuleDecl& m : md.modules) {
      ASSERT_TRUE(is_identifier(m.name));
      ASSERT_LT(strlen(m.name), kNameMax);
      ASSERT_LT(m.at.span, in.size());
      ASSERT_LE(m.at.offset + uint64_t{96}, in.data()[m.at.span].size());
    }
    for (const DependDecl& d : md.depends) {
      ASSERT_LT(d.module, md.modules.size());
      ASSERT_TRUE(is_identifier(d.target));
      ASSERT_STRNE(d.target, md.modules[d.module].name);
      ASSERT_TRUE(d.min <= d.preferred && d.preferred <= d.max);
    }
    for (const SysinitDecl& s : md.sysinits) {
      ASSERT_LT(s.module, md.modules.size());
      ASSERT_LE(s.at.offset + uint64_t{104}, in.data()[s.at.span].size());
    }
    for (const ExportDecl& e : md.exports) {
      ASSERT_LT(e.module, md.modules.size());
      ASSERT_TRUE(e.ns[0] == '\0' || is_identifier(e.ns));
      ASSERT_TRUE(is_identifier(e.name));
    }
  }
  EXPECT_GT(accepted, 0);  // some damage is harmless (a version, a line)
}

// ---- the modkit_modinfo sections of an object ----

// One metadata section per file (bad-input.md, class 9): the validator
// refuses a second, so the module layer never has to merge them. Compilers
// emit one per translation unit and `ld -r` merges them; only an explicit
// `ld -r --unique=modkit_modinfo` splits them.
TEST(FindModinfo, ASecondSectionIsRefusedByTheValidator) {
  using test::ElfBuilder;
  TestAllocator alloc;
  ElfBuilder b;
  b.add_text();
  b.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, Module("a"),
                8);
  b.add_data();
  b.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE,
                Cat({Sysinit("a", 1, 2)}), 8);
  test::Image img = b.build();
  auto obj = elf::validate(ByteView(img.data(), img.size()), arch::rules_for, alloc);
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().code(), Errc::kMalformed);
  EXPECT_STREQ(obj.error().message(),
               "section 4 (modkit_modinfo): a second module metadata section (the first is "
               "section 2 (modkit_modinfo))");
}

TEST(FindModinfo, ErrorsNameTheSection) {
  using test::ElfBuilder;
  TestAllocator alloc;
  Vec<uint32_t> sections(alloc);
  // One section: named the short way.
  ElfBuilder one;
  Bytes bad = Module("a");
  bad[5] = 9;
  one.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC, bad, 8);
  test::Image img1 = one.build();
  auto obj1 = elf::validate(ByteView(img1.data(), img1.size()), arch::rules_for, alloc);
  ASSERT_TRUE(obj1.ok()) << obj1.error().message();
  auto md1 = read_object_metadata(obj1.value(), sections, alloc);
  ASSERT_FALSE(md1.ok());
  EXPECT_STREQ(md1.error().message(), "modkit_modinfo+0x0: record kind 9 is unknown");
}

TEST(FindModinfo, MustBeLoadedProgbits) {
  using test::ElfBuilder;
  TestAllocator alloc;
  {
    ElfBuilder b;
    b.add_nobits("modkit_modinfo", elf::SHF_ALLOC | elf::SHF_WRITE, 96, 8);
    test::Image img = b.build();
    auto obj = elf::validate(ByteView(img.data(), img.size()), arch::rules_for, alloc);
    ASSERT_TRUE(obj.ok()) << obj.error().message();
    Vec<uint32_t> sections(alloc);
    auto r = find_modinfo(obj.value(), sections);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kMalformed);
    EXPECT_STREQ(r.error().message(),
                 "section 1 (modkit_modinfo): module metadata has type 8, not SHT_PROGBITS");
  }
  {
    ElfBuilder b;
    b.add_section("modkit_modinfo", elf::SHT_PROGBITS, 0, Module("a"), 8);
    test::Image img = b.build();
    auto obj = elf::validate(ByteView(img.data(), img.size()), arch::rules_for, alloc);
    ASSERT_TRUE(obj.ok()) << obj.error().message();
    Vec<uint32_t> sections(alloc);
    auto r = find_modinfo(obj.value(), sections);
    ASSERT_FALSE(r.ok());
    EXPECT_STREQ(r.error().message(),
                 "section 1 (modkit_modinfo): module metadata is not SHF_ALLOC (the loader reads "
                 "its pointers in loaded memory)");
  }
  {
    ElfBuilder b;  // no metadata at all: nothing to read, not an error
    b.add_text();
    test::Image img = b.build();
    auto obj = elf::validate(ByteView(img.data(), img.size()), arch::rules_for, alloc);
    ASSERT_TRUE(obj.ok()) << obj.error().message();
    Vec<uint32_t> sections(alloc);
    auto md = read_object_metadata(obj.value(), sections, alloc);
    ASSERT_TRUE(md.ok()) << md.error().message();
    EXPECT_TRUE(md.value().modules.empty());
    EXPECT_TRUE(sections.empty());
  }
}

// ---- a static module: this test binary's own records ----

int metadata_test_event(struct mk_module*, int, void*) {
  return 0;
}
void metadata_test_init(void*) {}
int metadata_test_arg;

MODKIT_MODULE(metadata_test_self, 7, metadata_test_event, &metadata_test_arg);
MODKIT_SYSINIT(metadata_test_self, MK_SI_LOCKS, 3, metadata_test_init, &metadata_test_arg);

}  // namespace
}  // namespace mk::module

// What the linker defines for a section whose name is a C identifier.
extern "C" const uint8_t __start_modkit_modinfo[];
extern "C" const uint8_t __stop_modkit_modinfo[];

namespace mk::module {
namespace {

uint64_t PointerAt(ByteView span, uint64_t off) {
  uint64_t v = 0;
  EXPECT_TRUE(span.read(off, &v));
  return v;
}

TEST(StaticModule, ThisBinarysOwnRecords) {
  TestAllocator alloc;
  ByteView span(__start_modkit_modinfo,
                static_cast<size_t>(__stop_modkit_modinfo - __start_modkit_modinfo));
  auto r = read_metadata(&span, 1, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  const ModuleDecl* self = nullptr;
  uint32_t index = 0;
  for (uint32_t i = 0; i < md.modules.size(); ++i) {
    if (strcmp(md.modules[i].name, "metadata_test_self") == 0) {
      self = &md.modules[i];
      index = i;
    }
  }
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->version, 7u);
  // After linking, the pointers are read at the record's offsets.
  EXPECT_EQ(PointerAt(span, self->at.offset + kModuleHandlerOffset),
            reinterpret_cast<uintptr_t>(&metadata_test_event));
  EXPECT_EQ(PointerAt(span, self->at.offset + kModuleArgOffset),
            reinterpret_cast<uintptr_t>(&metadata_test_arg));
  int sysinits = 0;
  for (const SysinitDecl& s : md.sysinits) {
    if (s.module != index) continue;
    ++sysinits;
    EXPECT_EQ(s.subsystem, uint32_t{MK_SI_LOCKS});
    EXPECT_EQ(s.order, 3u);
    EXPECT_FALSE(s.uninit);
    EXPECT_EQ(PointerAt(span, s.at.offset + kSysinitFnOffset),
              reinterpret_cast<uintptr_t>(&metadata_test_init));
    EXPECT_EQ(PointerAt(span, s.at.offset + kSysinitArgOffset),
              reinterpret_cast<uintptr_t>(&metadata_test_arg));
  }
  EXPECT_EQ(sysinits, 1);
}

// ---- real objects, compiled at test time ----

const char kEchoBody[] = R"(
int echo_event(struct mk_module* m, int event, void* arg) {
  (void)m; (void)arg;
  return event == MK_EVENT_LOAD ? 0 : MK_EOPNOTSUPP;
}
int echo_write(int x) { return x + 1; }
int echo_counter;
void echo_init(void* arg) { (void)arg; echo_counter = 1; }
void echo_fini(void* arg) { (void)arg; echo_counter = 0; }
)";

const char kEchoRecords[] = R"(
static int echo_arg;
MODKIT_MODULE(echo, 3, echo_event, &echo_arg);
MODKIT_DEPEND(echo, kernel, 1, 1, 1);
MODKIT_DEPEND(echo, buffer, 2, 3, 4);
MODKIT_SYSINIT(echo, MK_SI_DRIVERS, 10, echo_init, NULL);
MODKIT_SYSUNINIT(echo, MK_SI_DRIVERS, 10, echo_fini, NULL);
MODKIT_EXPORT(echo, echo_write);
MODKIT_EXPORT_NS(echo, echo_ns, echo_counter);
MODKIT_MODULE(echo_helper, 1, NULL, NULL);
MODKIT_DEPEND(echo_helper, echo, 3, 3, 3);
)";

std::string EchoSource(bool cxx) {
  std::string s = "#include <modkit/module.h>\n";
  if (cxx) {
    s += "namespace detail { template <class T> struct Box { T v; T get() const { return v; } };\n"
         "Box<int> box{4}; }\n"
         "extern \"C\" {";
  }
  s += kEchoBody;
  if (cxx) s += "}\n";
  s += kEchoRecords;
  return s;
}

uint32_t LineOf(const std::string& source, const std::string& text) {
  size_t at = source.find(text);
  EXPECT_NE(at, std::string::npos) << text;
  return 1 + static_cast<uint32_t>(std::count(source.begin(), source.begin() + at, '\n'));
}

const char kSdk[] = MODKIT_TEST_SDK_DIR;

// The symbol the relocation at `off` of section `target` refers to; "" for
// none. Several would be a test failure.
std::string RelocatedTo(const elf::ValidatedObject& obj, uint32_t target, uint64_t off) {
  std::string found;
  for (const elf::RelocSection& rs : obj.relocs) {
    if (rs.target != target) continue;
    for (uint64_t i = 0; i < rs.count; ++i) {
      elf::Relocation r = obj.relocation(rs, i);
      if (r.offset != off) continue;
      EXPECT_EQ(found, "") << "two relocations at " << off;
      found = obj.symbols[r.sym].name;
      if (found.empty()) found = "(section)";
    }
  }
  return found;
}

struct Build {
  test::Compiler compiler;
  bool cxx;
  const char* opt;
};

std::string BuildName(const ::testing::TestParamInfo<Build>& info) {
  return std::string(info.param.compiler.label) + (info.param.cxx ? "_cxx_" : "_c_") +
         (info.param.opt + 1);
}

class CompiledModule : public ::testing::TestWithParam<Build> {};

TEST_P(CompiledModule, DecodesWhatTheSourceDeclares) {
  const Build& b = GetParam();
  test::Scratch scratch;
  std::string source = EchoSource(b.cxx);
  std::string path = scratch.Compile(b.compiler, b.cxx ? "echo.cc" : "echo.c", source,
                                     {b.opt, "-Wall", "-Werror", std::string("-I") + kSdk});
  ASSERT_FALSE(path.empty());
  std::vector<uint8_t> bytes = test::ReadBytes(path);
  TestAllocator alloc;
  auto obj = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  const elf::ValidatedObject& o = obj.value();
  Vec<uint32_t> sections(alloc);
  auto r = read_object_metadata(o, sections, alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  ASSERT_GE(sections.size(), 1u);

  auto record = [&](const RecordAt& at) {
    EXPECT_LT(at.span, sections.size());
    return o.sections[sections[at.span]].data.data() + at.offset;
  };

  ASSERT_EQ(md.modules.size(), 2u);
  int echo = strcmp(md.modules[0].name, "echo") == 0 ? 0 : 1;
  int helper = 1 - echo;
  EXPECT_STREQ(md.modules[echo].name, "echo");
  EXPECT_STREQ(md.modules[helper].name, "echo_helper");
  EXPECT_EQ(md.modules[echo].version, 3u);
  EXPECT_EQ(md.modules[helper].version, 1u);
  EXPECT_EQ(md.modules[echo].line, LineOf(source, "MODKIT_MODULE(echo,"));
  EXPECT_EQ(md.modules[helper].line, LineOf(source, "MODKIT_MODULE(echo_helper,"));
  for (int m : {echo, helper}) {
    const uint8_t* rec = record(md.modules[m].at);
    EXPECT_EQ(rec[5], MK_REC_MODULE);
    EXPECT_STREQ(reinterpret_cast<const char*>(rec + 8), md.modules[m].name);
  }
  // The pointer fields are where the constants say: the relocations land there.
  uint32_t echo_sec = sections[md.modules[echo].at.span];
  uint32_t helper_sec = sections[md.modules[helper].at.span];
  EXPECT_EQ(RelocatedTo(o, echo_sec, md.modules[echo].at.offset + kModuleHandlerOffset),
            "echo_event");
  EXPECT_NE(RelocatedTo(o, echo_sec, md.modules[echo].at.offset + kModuleArgOffset), "");
  EXPECT_EQ(RelocatedTo(o, helper_sec, md.modules[helper].at.offset + kModuleHandlerOffset), "");

  std::vector<std::string> deps;
  for (const DependDecl& d : md.depends)
    deps.push_back(std::string(md.modules[d.module].name) + "->" + d.target + " " +
                   std::to_string(d.min) + "," + std::to_string(d.preferred) + "," +
                   std::to_string(d.max));
  std::sort(deps.begin(), deps.end());
  EXPECT_EQ(deps, (std::vector<std::string>{"echo->buffer 2,3,4", "echo->kernel 1,1,1",
                                            "echo_helper->echo 3,3,3"}));

  ASSERT_EQ(md.sysinits.size(), 2u);
  for (const SysinitDecl& s : md.sysinits) {
    EXPECT_EQ(s.module, static_cast<uint32_t>(echo));
    EXPECT_EQ(s.subsystem, uint32_t{MK_SI_DRIVERS});
    EXPECT_EQ(s.order, 10u);
    const uint8_t* rec = record(s.at);
    EXPECT_EQ(rec[5], MK_REC_SYSINIT);
    EXPECT_EQ(RelocatedTo(o, sections[s.at.span], s.at.offset + kSysinitFnOffset),
              s.uninit ? "echo_fini" : "echo_init");
    EXPECT_EQ(RelocatedTo(o, sections[s.at.span], s.at.offset + kSysinitArgOffset), "");
  }
  EXPECT_NE(md.sysinits[0].uninit, md.sysinits[1].uninit);

  std::vector<std::string> exports;
  for (const ExportDecl& e : md.exports)
    exports.push_back(std::string(md.modules[e.module].name) + ":" + e.ns + ":" + e.name);
  std::sort(exports.begin(), exports.end());
  EXPECT_EQ(exports, (std::vector<std::string>{"echo::echo_write", "echo:echo_ns:echo_counter"}));
}

TEST(MetadataImportNs, FromTheSdkMacroInARealObject) {
  test::Scratch scratch;
  std::string inc = std::string("-I") + kSdk;
  for (const test::Compiler* cc : {&test::kGcc, &test::kClang}) {
    std::string obj = scratch.Compile(*cc, "imp.c", R"(
#include <modkit/module.h>
MODKIT_MODULE(imp, 1, 0, 0);
MODKIT_IMPORT_NS(imp, BUF_CORE);
MODKIT_IMPORT_NS(imp, NET_INTERNAL);
)",
                                      {"-O2", inc});
    ASSERT_FALSE(obj.empty()) << cc->label;
    Bytes bytes = test::ReadBytes(obj);
    TestAllocator alloc;
    auto vo = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
    ASSERT_TRUE(vo.ok()) << vo.error().message();
    Vec<uint32_t> sections(alloc);
    auto md = read_object_metadata(vo.value(), sections, alloc);
    ASSERT_TRUE(md.ok()) << md.error().message();
    std::vector<std::string> got;
    for (const ImportNsDecl& i : md.value().imports)
      got.push_back(std::string(md.value().modules[i.module].name) + ":" + i.ns);
    std::sort(got.begin(), got.end());  // compilers may reorder records
    EXPECT_EQ(got, (std::vector<std::string>{"imp:BUF_CORE", "imp:NET_INTERNAL"})) << cc->label;
  }
}

TEST_P(CompiledModule, DamagedRecordNamesItsOffset) {
  const Build& b = GetParam();
  test::Scratch scratch;
  std::string path = scratch.Compile(b.compiler, b.cxx ? "echo.cc" : "echo.c", EchoSource(b.cxx),
                                     {b.opt, std::string("-I") + kSdk});
  ASSERT_FALSE(path.empty());
  std::vector<uint8_t> bytes = test::ReadBytes(path);
  TestAllocator alloc;
  uint64_t file_off = 0;
  {
    auto obj = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
    ASSERT_TRUE(obj.ok()) << obj.error().message();
    Vec<uint32_t> sections(alloc);
    ASSERT_TRUE(find_modinfo(obj.value(), sections).ok());
    ASSERT_EQ(sections.size(), 1u);
    const elf::Section& s = obj.value().sections[sections[0]];
    ASSERT_GE(s.size, 2u * 96);
    file_off = s.offset;
  }
  // The second record's kind, whatever it is.
  uint16_t first_size = 0;
  memcpy(&first_size, bytes.data() + file_off + 6, 2);
  bytes[file_off + first_size + 5] = 0x2a;
  auto obj = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  Vec<uint32_t> sections(alloc);
  auto r = read_object_metadata(obj.value(), sections, alloc);
  ASSERT_FALSE(r.ok());
  char want[80];
  snprintf(want, sizeof want, "modkit_modinfo+%#x: record kind 42 is unknown", first_size);
  EXPECT_STREQ(r.error().message(), want);
}

INSTANTIATE_TEST_SUITE_P(
    Compilers, CompiledModule,
    ::testing::Values(Build{test::kGcc, false, "-O0"}, Build{test::kGcc, false, "-O2"},
                      Build{test::kGcc, true, "-O0"}, Build{test::kGcc, true, "-O2"},
                      Build{test::kClang, false, "-O0"}, Build{test::kClang, false, "-O2"},
                      Build{test::kClang, true, "-O0"}, Build{test::kClang, true, "-O2"}),
    BuildName);

// `ld -r` of two objects: one .ko declaring two modules. Merged, their records
// share one section in link order; kept apart (--unique), they are two spans.
class LinkedModule : public ::testing::TestWithParam<test::Compiler> {};

TEST_P(LinkedModule, TwoObjectsOneFile) {
  test::Scratch scratch;
  std::vector<std::string> flags = {"-O2", std::string("-I") + kSdk};
  std::string a = scratch.Compile(GetParam(), "alpha.c",
                                  "#include <modkit/module.h>\n"
                                  "int alpha_value(void) { return 1; }\n"
                                  "MODKIT_MODULE(alpha, 1, NULL, NULL);\n"
                                  "MODKIT_EXPORT(alpha, alpha_value);\n",
                                  flags);
  std::string b = scratch.Compile(GetParam(), "beta.c",
                                  "#include <modkit/module.h>\n"
                                  "void beta_init(void* p) { (void)p; }\n"
                                  "MODKIT_MODULE(beta, 2, NULL, NULL);\n"
                                  "MODKIT_DEPEND(beta, alpha, 1, 1, 1);\n"
                                  "MODKIT_SYSINIT(beta, MK_SI_SERVICES, 1, beta_init, NULL);\n",
                                  flags);
  ASSERT_FALSE(a.empty() || b.empty());
  for (bool unique : {false, true}) {
    SCOPED_TRACE(unique ? "ld -r --unique" : "ld -r");
    std::string ko = scratch.path(unique ? "unique.ko" : "pair.ko");
    std::string cmd = std::string("ld -r ") + (unique ? "--unique=modkit_modinfo " : "") +
                      test::Quote(a) + " " + test::Quote(b) + " -o " + test::Quote(ko);
    test::RunResult run = test::Run(cmd);
    ASSERT_EQ(run.status, 0) << cmd << "\n" << run.output;
    std::vector<uint8_t> bytes = test::ReadBytes(ko);
    TestAllocator alloc;
    auto obj = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
    if (unique) {
      // Kept apart on request: one metadata section per file, so refused.
      ASSERT_FALSE(obj.ok());
      EXPECT_NE(std::string(obj.error().message()).find("a second module metadata section"),
                std::string::npos)
          << obj.error().message();
      continue;
    }
    ASSERT_TRUE(obj.ok()) << obj.error().message();
    Vec<uint32_t> sections(alloc);
    auto r = read_object_metadata(obj.value(), sections, alloc);
    ASSERT_TRUE(r.ok()) << r.error().message();
    const Metadata& md = r.value();
    ASSERT_EQ(sections.size(), unique ? 2u : 1u);
    ASSERT_EQ(md.modules.size(), 2u);
    EXPECT_STREQ(md.modules[0].name, "alpha");
    EXPECT_STREQ(md.modules[1].name, "beta");
    EXPECT_EQ(md.modules[1].version, 2u);
    EXPECT_EQ(md.modules[1].at.span, unique ? 1u : 0u);
    uint32_t alpha_bytes = 96 + 104 + 16;  // module + export of "alpha_value"
    EXPECT_GE(md.modules[1].at.offset + (unique ? alpha_bytes : 0), alpha_bytes)
        << "beta's records follow alpha's";
    const elf::Section& beta_sec = obj.value().sections[sections[md.modules[1].at.span]];
    EXPECT_STREQ(reinterpret_cast<const char*>(beta_sec.data.data() + md.modules[1].at.offset + 8),
                 "beta");
    ASSERT_EQ(md.depends.size(), 1u);
    EXPECT_EQ(md.depends[0].module, 1u);  // inside the file: allowed
    EXPECT_STREQ(md.depends[0].target, "alpha");
    ASSERT_EQ(md.exports.size(), 1u);
    EXPECT_EQ(md.exports[0].module, 0u);
    ASSERT_EQ(md.sysinits.size(), 1u);
    EXPECT_EQ(RelocatedTo(obj.value(), sections[md.sysinits[0].at.span],
                          md.sysinits[0].at.offset + kSysinitFnOffset),
              "beta_init");
  }
}

INSTANTIATE_TEST_SUITE_P(Compilers, LinkedModule, ::testing::Values(test::kGcc, test::kClang),
                         [](const auto& info) { return std::string(info.param.label); });

// ---- drivers and match tables (modkit/bus.h) ----

TEST(MetadataDrivers, Decoded) {
  TestAllocator alloc;
  // Records in any order: a match before its driver.
  Bytes span = Cat({Module("simdrv"), Match("simdrv", "widget", 2, 0, 0, "acme,widget"),
                    Driver("simdrv", "widget", "simbus", 10),
                    Match("simdrv", "widget", 1, 0x1af4, MK_MATCH_ANY, "")});
  Spans in({span});
  auto r = read_metadata(in.data(), in.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Metadata& md = r.value();
  ASSERT_EQ(md.drivers.size(), 1u);
  EXPECT_STREQ(md.drivers[0].name, "widget");
  EXPECT_STREQ(md.drivers[0].bus, "simbus");
  EXPECT_EQ(md.drivers[0].priority, 10u);
  EXPECT_EQ(md.drivers[0].module, 0u);
  ASSERT_EQ(md.matches.size(), 2u);
  EXPECT_EQ(md.matches[0].entry.kind, MatchKind::kCompat);
  EXPECT_STREQ(md.matches[0].entry.compat, "acme,widget");
  EXPECT_EQ(md.matches[1].entry.kind, MatchKind::kIds);
  EXPECT_EQ(md.matches[1].entry.vendor, 0x1af4u);
  EXPECT_EQ(md.matches[1].entry.device, kMatchAny);
  EXPECT_EQ(md.matches[1].driver, 0u);
}

TEST(MetadataDrivers, EveryRule) {
  Bytes m = Module("simdrv");
  Bytes d = Driver("simdrv", "widget", "simbus", 1);
  Bytes ids = Match("simdrv", "widget", 1, 1, 2, "");
  // Sizes.
  Bytes small = d;
  Poke<uint16_t>(small, 6, 136);
  ExpectMalformed(Cat({small, Bytes(8, 0)}),
                  "modkit_modinfo+0x0: driver record size 0x88 is not 0x90");
  Bytes big = ids;
  Poke<uint16_t>(big, 6, 192);
  ExpectMalformed(Cat({big, Bytes(8, 0)}),
                  "modkit_modinfo+0x0: match record size 0xc0 is not 0xb8");
  // Names.
  ExpectMalformed(Cat({m, Driver("simdrv", "wid-get", "simbus", 1), ids}),
                  "modkit_modinfo+0x60: driver name `wid-get' is not a C identifier");
  Bytes unterminated = d;
  memset(unterminated.data() + 104, 'b', 32);
  ExpectMalformed(Cat({m, unterminated, ids}),
                  "modkit_modinfo+0x60: driver's bus name is not NUL-terminated within its 32 "
                  "bytes");
  ExpectMalformed(Cat({m, Driver("simdrv", "widget", "", 1), ids}),
                  "modkit_modinfo+0x60: driver's bus name is empty");
  // Reserved fields.
  Bytes dres = d;
  Poke<uint32_t>(dres, 140, 1);
  ExpectMalformed(Cat({m, dres, ids}),
                  "modkit_modinfo+0x60: driver record reserved field is 0x1, not 0");
  Bytes mres = ids;
  Poke<uint32_t>(mres, 116, 2);
  ExpectMalformed(Cat({m, d, mres}),
                  "modkit_modinfo+0xf0: match record reserved field is 0x2, not 0");
  // Match kinds and their fields.
  ExpectMalformed(Cat({m, d, Match("simdrv", "widget", 3, 1, 2, "")}),
                  "modkit_modinfo+0xf0: match kind 3 of driver `widget' is unknown (1: ids, 2: "
                  "compatible string)");
  ExpectMalformed(Cat({m, d, Match("simdrv", "widget", 1, 1, 2, "acme")}),
                  "modkit_modinfo+0xf0: id match of driver `widget' has a compatible string "
                  "(`acme'); an id match has none");
  ExpectMalformed(Cat({m, d, Match("simdrv", "widget", 2, 1, 0, "acme")}),
                  "modkit_modinfo+0xf0: compatible-string match of driver `widget' has ids "
                  "0x1:0x0; both must be 0");
  ExpectMalformed(Cat({m, d, Match("simdrv", "widget", 2, 0, 0, "")}),
                  "modkit_modinfo+0xf0: compatible string `' of driver `widget' is empty");
  ExpectMalformed(Cat({m, d, Match("simdrv", "widget", 2, 0, 0, "a b")}),
                  "modkit_modinfo+0xf0: compatible string `a b' of driver `widget' has a "
                  "character outside [A-Za-z0-9,._+-]");
  Bytes long_compat = Match("simdrv", "widget", 2, 0, 0, "");
  memset(long_compat.data() + 120, 'c', 64);
  ExpectMalformed(Cat({m, d, long_compat}),
                  "modkit_modinfo+0xf0: match's compatible string is not NUL-terminated within "
                  "its 64 bytes");
  // References between records.
  ExpectMalformed(Cat({m, Driver("other", "widget", "simbus", 1), ids}),
                  "modkit_modinfo+0x60: driver names module `other', which this file does not "
                  "declare");
  ExpectMalformed(Cat({m, d, Match("simdrv", "gadget", 1, 1, 2, "")}),
                  "modkit_modinfo+0xf0: match names driver `gadget', which this file does not "
                  "declare");
  ExpectMalformed(Cat({m, Module("second"), d, Match("second", "widget", 1, 1, 2, "")}),
                  "modkit_modinfo+0x150: match names module `second', but driver `widget' belongs "
                  "to module `simdrv'");
  ExpectMalformed(Cat({m, d, ids, Driver("simdrv", "widget", "pci", 2)}),
                  "modkit_modinfo+0x1a8: driver `widget' is declared twice (first at "
                  "modkit_modinfo+0x60)");
  ExpectMalformed(Cat({m, d}),
                  "modkit_modinfo+0x60: driver `widget' has no match entries (MODKIT_MATCH_IDS or "
                  "MODKIT_MATCH_COMPAT)");
}

// ---- tunables (MODKIT_TUNABLE, sdk/include/modkit/service.h) ----

static_assert(sizeof(mk_meta_tunable) == 344);
static_assert(offsetof(mk_meta_tunable, description) == kTunableDescOffset);
static_assert(offsetof(mk_meta_tunable, def) == kTunableDefaultOffset);
static_assert(offsetof(mk_meta_tunable, addr) == kTunableAddrOffset);
static_assert(offsetof(mk_meta_tunable, type) == 328 && offsetof(mk_meta_tunable, size) == 332);

Bytes Tunable(const std::string& module, const std::string& name, uint32_t type, uint32_t size,
              const std::string& desc = "d", const std::string& def = "1") {
  Bytes b = Header(MK_REC_TUNABLE, 344);
  PutName(b, 8, module);
  PutName(b, 72, name);
  PutName(b, 136, desc);
  PutName(b, 264, def);
  Poke(b, 328, type);
  Poke(b, 332, size);
  return b;
}

TEST(Metadata, TunablesAreRead) {
  TestAllocator alloc;
  Bytes span = Cat({Module("m"), Tunable("m", "level", MK_TUNABLE_INT, 4),
                    Tunable("m", "name", MK_TUNABLE_STRING, 32)});
  Spans spans({span});
  auto r = read_metadata(spans.data(), spans.size(), alloc);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r.value().tunables.size(), 2u);
  EXPECT_STREQ(r.value().tunables[0].name, "level");
  EXPECT_EQ(r.value().tunables[0].type, kTunableInt);
  EXPECT_EQ(r.value().tunables[1].size, 32u);
  EXPECT_EQ(r.value().tunables[1].at.offset, 96u + 344u);
}

TEST(Metadata, BadTunablesAreRefused) {
  ExpectMalformed(Cat({Module("m"), Tunable("m", "level", 9, 4)}),
                  "modkit_modinfo+0x60: tunable `level' type 9 is unknown (1..4)");
  ExpectMalformed(Cat({Module("m"), Tunable("m", "level", MK_TUNABLE_UINT, 8)}),
                  "modkit_modinfo+0x60: tunable `level' storage size 8 does not fit its type (4 "
                  "for numbers, 1..4096 for strings)");
  ExpectMalformed(Cat({Module("m"), Tunable("m", "s", MK_TUNABLE_STRING, 0)}),
                  "modkit_modinfo+0x60: tunable `s' storage size 0 does not fit its type (4 for "
                  "numbers, 1..4096 for strings)");
  ExpectMalformed(
      Cat({Module("m"), Tunable("m", "level", MK_TUNABLE_INT, 4, std::string(128, 'x'))}),
      "modkit_modinfo+0x60: tunable `level' description is not NUL-terminated "
      "within its 128 bytes");
  ExpectMalformed(
      Cat({Module("m"), Tunable("m", "level", MK_TUNABLE_INT, 4, "d", std::string(64, '7'))}),
      "modkit_modinfo+0x60: tunable `level' default is not NUL-terminated within "
      "its 64 bytes");
  ExpectMalformed(Cat({Module("m"), Tunable("m", "9lives", MK_TUNABLE_INT, 4)}),
                  "modkit_modinfo+0x60: tunable name `9lives' is not a C identifier");
  ExpectMalformed(Cat({Module("m"), Tunable("x", "level", MK_TUNABLE_INT, 4)}),
                  "modkit_modinfo+0x60: tunable names module `x', which this file does not "
                  "declare");
  ExpectMalformed(Cat({Module("m"), Tunable("m", "level", MK_TUNABLE_INT, 4),
                       Tunable("m", "level", MK_TUNABLE_BOOL, 4)}),
                  "modkit_modinfo+0x1b8: module `m' declares tunable `level' twice");
  Bytes short_one = Header(MK_REC_TUNABLE, 336);
  ExpectMalformed(Cat({Module("m"), short_one}),
                  "modkit_modinfo+0x60: tunable record size 0x150 is not 0x158");
}

}  // namespace
}  // namespace mk::module
