#include "module/metadata.h"

#include "support/format.h"
#include "support/memory.h"
#include "support/name_table.h"

namespace mk::module {
namespace {

// The record layouts of sdk/include/modkit/module.h (LP64). Only the headers
// and the fixed-width numbers are copied out; names are checked in place.
constexpr uint32_t kMagic = 0x444d4b4d;  // "MKMD"
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kKindModule = 1, kKindDepend = 2, kKindSysinit = 3, kKindExport = 4,
                  kKindImportNs = 5;
constexpr uint8_t kKindDriver = 6, kKindMatch = 7;  // sdk/include/modkit/bus.h
constexpr uint8_t kKindTunable = 8;                 // sdk/include/modkit/service.h
constexpr uint8_t kKinds = 9;                       // one more than the highest kind

struct Header {
  uint32_t magic;
  uint8_t version;
  uint8_t kind;
  uint16_t size;
};
static_assert(sizeof(Header) == 8);

constexpr uint32_t kHeaderSize = 8;
constexpr uint32_t kModuleSize = kHeaderSize + kNameMax + 4 + 4 + 8 + 8;   // 96
constexpr uint32_t kDependSize = kHeaderSize + 2 * kNameMax + 4 * 4;       // 152
constexpr uint32_t kSysinitSize = kHeaderSize + kNameMax + 4 * 4 + 8 + 8;  // 104
constexpr uint32_t kExportFixed = kHeaderSize + kNameMax + kNsMax;         // 104, then the name
constexpr uint32_t kImportNsSize = kHeaderSize + kNameMax + kNsMax;        // 104
constexpr uint32_t kTunableSize =
    kHeaderSize + 2 * kNameMax + kTunableDescMax + kTunableDefaultMax + 4 + 4 + 8;  // 344
static_assert(kTunableAddrOffset == kTunableSize - 8);
constexpr uint32_t kDriverSize = kHeaderSize + kNameMax + 2 * kShortNameMax + 8;           // 144
constexpr uint32_t kMatchSize = kHeaderSize + kNameMax + kShortNameMax + 16 + kCompatMax;  // 184
static_assert(kModuleHandlerOffset == kModuleSize - 16);
static_assert(kSysinitFnOffset == kSysinitSize - 16);

// One record, decoded and checked on its own (references between records are
// checked later). Which fields are set depends on the kind.
struct Record {
  uint8_t kind = 0;
  uint16_t size = 0;
  const char* module = nullptr;  // every kind: the module it belongs to (or declares)
  const char* target = nullptr;  // depend
  const char* ns = nullptr;      // export, import_ns
  const char* name = nullptr;    // export: the symbol
  const char* driver = nullptr;  // driver, match
  const char* bus = nullptr;     // driver
  const char* compat = nullptr;  // match
  uint32_t n[3] = {};            // module: version, line; depend: min, preferred, max;
                                 // sysinit: subsystem, order, uninit; driver: priority;
                                 // match: kind, vendor, device
};

struct Context {
  const ByteView* spans;
  size_t count;
  const uint32_t* sections;  // ELF section index of each span, or nullptr
};

// "modkit_modinfo+0x48", naming the span when there are several.
struct Where {
  char text[64];
};

// A record's position; its text is only formatted for an error.
struct Pos {
  const Context* c;
  uint32_t span;
  uint64_t off;
};

Where where(const Context& c, uint32_t span, uint64_t off) {
  Where w;
  if (c.count == 1) {
    format(w.text, sizeof w.text, "%s+%#lx", kModinfoSection, off);
  } else if (c.sections != nullptr) {
    format(w.text, sizeof w.text, "section %u (%s)+%#lx", c.sections[span], kModinfoSection, off);
  } else {
    format(w.text, sizeof w.text, "%s#%u+%#lx", kModinfoSection, span, off);
  }
  return w;
}

Where where(const Pos& p) {
  return where(*p.c, p.span, p.off);
}

// An untrusted name made safe to print: at most 64 bytes, anything but
// printable ASCII shown as '?'.
struct Shown {
  char text[72];
};

Shown shown(const char* s) {
  Shown out;
  size_t i = 0;
  for (; s[i] != '\0' && i < 64; ++i)
    out.text[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (s[i] != '\0') {
    mk_memcpy(out.text + i, "...", 3);
    i += 3;
  }
  out.text[i] = '\0';
  return out;
}

bool has_nul(const char* s, uint64_t len) {
  for (uint64_t i = 0; i < len; ++i)
    if (s[i] == '\0') return true;
  return false;
}

// A name field of `len` bytes at `at` in the span (the record is already known
// to be inside it): NUL-terminated inside the field; a C identifier, or empty
// when `may_be_empty`. Returns the name, pointing into the span.
Result<const char*> name_field(const Pos& p, ByteView span, uint64_t at, uint64_t len,
                               const char* what, bool may_be_empty) {
  const char* s = reinterpret_cast<const char*>(span.data() + at);
  if (!has_nul(s, len))
    return Error(Errc::kMalformed, "%s: %s is not NUL-terminated within its %lu bytes",
                 where(p).text, what, len);
  if (s[0] == '\0') {
    if (may_be_empty) return s;
    return Error(Errc::kMalformed, "%s: %s is empty", where(p).text, what);
  }
  if (!is_identifier(s))
    return Error(Errc::kMalformed, "%s: %s `%s' is not a C identifier", where(p).text, what,
                 shown(s).text);
  return s;
}

// A bus or driver name field (kShortNameMax bytes): a C identifier.
Result<const char*> short_name(const Pos& p, ByteView span, uint64_t at, const char* what) {
  return name_field(p, span, at, kShortNameMax, what, false);
}

uint32_t u32_at(ByteView span, uint64_t off) {
  uint32_t v = 0;
  (void)span.read(off, &v);  // inside the record, which is inside the span
  return v;
}

// Decodes and checks the record at `off` of span `si`, on its own.
Result<Record> decode(const Context& c, uint32_t si, uint64_t off) {
  ByteView span = c.spans[si];
  Pos p{&c, si, off};
  uint64_t left = span.size() - off;
  Header h;
  if (!span.read(off, &h))
    return Error(Errc::kMalformed, "%s: %#lx bytes left, less than a record header (%#x)",
                 where(p).text, left, kHeaderSize);
  if (h.magic != kMagic)
    return Error(Errc::kMalformed, "%s: record magic %#x is not %#x (MKMD)", where(p).text, h.magic,
                 kMagic);
  if (h.version != kFormatVersion)
    return Error(Errc::kUnsupported, "%s: record format version %u is not %u", where(p).text,
                 h.version, kFormatVersion);
  const char* kind_name = nullptr;
  switch (h.kind) {
    case kKindModule:
      kind_name = "module";
      break;
    case kKindDepend:
      kind_name = "dependency";
      break;
    case kKindSysinit:
      kind_name = "sysinit";
      break;
    case kKindExport:
      kind_name = "export";
      break;
    case kKindImportNs:
      kind_name = "namespace import";
      break;
    case kKindDriver:
      kind_name = "driver";
      break;
    case kKindMatch:
      kind_name = "match";
      break;
    case kKindTunable:
      kind_name = "tunable";
      break;
    default:
      return Error(Errc::kMalformed, "%s: record kind %u is unknown", where(p).text, h.kind);
  }
  if (h.size < kHeaderSize)
    return Error(Errc::kMalformed, "%s: %s record size %#x is less than its header (%#x)",
                 where(p).text, kind_name, h.size, kHeaderSize);
  if (h.size % 8 != 0)
    return Error(Errc::kMalformed, "%s: %s record size %#x is not a multiple of 8", where(p).text,
                 kind_name, h.size);
  if (h.size > left)
    return Error(Errc::kMalformed,
                 "%s: %s record size %#x passes the end of the section (%#lx left)", where(p).text,
                 kind_name, h.size, left);

  Record r;
  r.kind = h.kind;
  r.size = h.size;
  uint64_t at = off + kHeaderSize;  // the first field after the header
  auto exact = [&](uint32_t want) -> Result<void> {
    if (h.size == want) return Ok();
    return Error(Errc::kMalformed, "%s: %s record size %#x is not %#x", where(p).text, kind_name,
                 h.size, want);
  };
  switch (h.kind) {
    case kKindModule:
      MK_TRY(exact(kModuleSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "module name", false));
      r.n[0] = u32_at(span, at + kNameMax);      // version
      r.n[1] = u32_at(span, at + kNameMax + 4);  // line
      break;
    case kKindDepend: {
      MK_TRY(exact(kDependSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "dependency's module name", false));
      r.target = MK_TRY(name_field(p, span, at + kNameMax, kNameMax, "dependency target", false));
      uint64_t nums = at + 2 * kNameMax;
      for (int i = 0; i < 3; ++i)
        r.n[i] = u32_at(span, nums + 4 * i);
      uint32_t reserved = u32_at(span, nums + 12);
      if (reserved != 0)
        return Error(Errc::kMalformed, "%s: dependency record reserved field is %#x, not 0",
                     where(p).text, reserved);
      if (str_eq(r.module, r.target))
        return Error(Errc::kMalformed, "%s: module `%s' depends on itself", where(p).text,
                     r.module);
      if (r.n[0] > r.n[1] || r.n[1] > r.n[2])
        return Error(Errc::kMalformed,
                     "%s: module `%s' depends on `%s' with min %u, preferred %u, max %u "
                     "(not min <= preferred <= max)",
                     where(p).text, r.module, r.target, r.n[0], r.n[1], r.n[2]);
      break;
    }
    case kKindSysinit: {
      MK_TRY(exact(kSysinitSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "sysinit's module name", false));
      uint64_t nums = at + kNameMax;
      for (int i = 0; i < 3; ++i)
        r.n[i] = u32_at(span, nums + 4 * i);
      if (r.n[2] > 1)
        return Error(Errc::kMalformed, "%s: sysinit uninit flag %u is not 0 or 1", where(p).text,
                     r.n[2]);
      uint32_t reserved = u32_at(span, nums + 12);
      if (reserved != 0)
        return Error(Errc::kMalformed, "%s: sysinit record reserved field is %#x, not 0",
                     where(p).text, reserved);
      break;
    }
    case kKindExport: {
      if (h.size < kExportFixed + 8)
        return Error(Errc::kMalformed, "%s: export record size %#x is less than %#x", where(p).text,
                     h.size, kExportFixed + 8);
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "export's module name", false));
      r.ns = MK_TRY(name_field(p, span, at + kNameMax, kNsMax, "export namespace", true));
      uint64_t name_at = off + kExportFixed;
      uint64_t name_room = h.size - kExportFixed;
      r.name = MK_TRY(name_field(p, span, name_at, name_room, "export name", false));
      uint64_t want = kExportFixed + ((mk_strlen(r.name) + 1 + 7) & ~uint64_t{7});
      if (h.size != want)
        return Error(Errc::kMalformed, "%s: export record size %#x is not %#lx for `%s'",
                     where(p).text, h.size, want, r.name);
      break;
    }
    case kKindImportNs:
      MK_TRY(exact(kImportNsSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "namespace import's module name", false));
      r.ns = MK_TRY(name_field(p, span, at + kNameMax, kNsMax, "imported namespace", false));
      break;
    case kKindDriver: {
      MK_TRY(exact(kDriverSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "driver's module name", false));
      r.driver = MK_TRY(short_name(p, span, at + kNameMax, "driver name"));
      r.bus = MK_TRY(short_name(p, span, at + kNameMax + kShortNameMax, "driver's bus name"));
      uint64_t nums = at + kNameMax + 2 * kShortNameMax;
      r.n[0] = u32_at(span, nums);
      uint32_t reserved = u32_at(span, nums + 4);
      if (reserved != 0)
        return Error(Errc::kMalformed, "%s: driver record reserved field is %#x, not 0",
                     where(p).text, reserved);
      break;
    }
    case kKindMatch: {
      MK_TRY(exact(kMatchSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "match's module name", false));
      r.driver = MK_TRY(short_name(p, span, at + kNameMax, "match's driver name"));
      uint64_t nums = at + kNameMax + kShortNameMax;
      for (int i = 0; i < 3; ++i)
        r.n[i] = u32_at(span, nums + 4 * i);
      uint32_t reserved = u32_at(span, nums + 12);
      if (reserved != 0)
        return Error(Errc::kMalformed, "%s: match record reserved field is %#x, not 0",
                     where(p).text, reserved);
      const char* c = reinterpret_cast<const char*>(span.data() + nums + 16);
      if (!has_nul(c, kCompatMax))
        return Error(Errc::kMalformed,
                     "%s: match's compatible string is not NUL-terminated within its %lu bytes",
                     where(p).text, static_cast<uint64_t>(kCompatMax));
      r.compat = c;
      if (r.n[0] == static_cast<uint32_t>(MatchKind::kIds)) {
        if (c[0] != '\0')
          return Error(Errc::kMalformed,
                       "%s: id match of driver `%s' has a compatible string (`%s'); an id match "
                       "has none",
                       where(p).text, r.driver, shown(c).text);
      } else if (r.n[0] == static_cast<uint32_t>(MatchKind::kCompat)) {
        if (const char* why = compat_problem(c))
          return Error(Errc::kMalformed, "%s: compatible string `%s' of driver `%s' %s",
                       where(p).text, shown(c).text, r.driver, why);
        if (r.n[1] != 0 || r.n[2] != 0)
          return Error(Errc::kMalformed,
                       "%s: compatible-string match of driver `%s' has ids %#x:%#x; both must be "
                       "0",
                       where(p).text, r.driver, r.n[1], r.n[2]);
      } else {
        return Error(Errc::kMalformed,
                     "%s: match kind %u of driver `%s' is unknown (1: ids, 2: compatible string)",
                     where(p).text, r.n[0], r.driver);
      }
      break;
    }
    case kKindTunable: {
      MK_TRY(exact(kTunableSize));
      r.module = MK_TRY(name_field(p, span, at, kNameMax, "tunable's module name", false));
      r.name = MK_TRY(name_field(p, span, at + kNameMax, kNameMax, "tunable name", false));
      uint64_t text = at + 2 * kNameMax;
      if (!has_nul(reinterpret_cast<const char*>(span.data() + text), kTunableDescMax))
        return Error(Errc::kMalformed,
                     "%s: tunable `%s' description is not NUL-terminated within its %u bytes",
                     where(p).text, r.name, kTunableDescMax);
      if (!has_nul(reinterpret_cast<const char*>(span.data() + text + kTunableDescMax),
                   kTunableDefaultMax))
        return Error(Errc::kMalformed,
                     "%s: tunable `%s' default is not NUL-terminated within its %u bytes",
                     where(p).text, r.name, kTunableDefaultMax);
      uint64_t nums = text + kTunableDescMax + kTunableDefaultMax;
      r.n[0] = u32_at(span, nums);      // type
      r.n[1] = u32_at(span, nums + 4);  // size
      if (r.n[0] < kTunableInt || r.n[0] > kTunableString)
        return Error(Errc::kMalformed, "%s: tunable `%s' type %u is unknown (1..4)", where(p).text,
                     r.name, r.n[0]);
      bool scalar = r.n[0] != kTunableString;
      if ((scalar && r.n[1] != 4) || (!scalar && (r.n[1] < 1 || r.n[1] > kTunableStringMax)))
        return Error(Errc::kMalformed,
                     "%s: tunable `%s' storage size %u does not fit its type (4 for numbers, "
                     "1..%u for strings)",
                     where(p).text, r.name, r.n[1], kTunableStringMax);
      break;
    }
  }
  return r;
}

// Walks every record of every span, calling f(span, offset, record) in order.
template <class F>
Result<void> each_record(const Context& c, F&& f) {
  for (size_t si = 0; si < c.count; ++si) {
    uint64_t size = c.spans[si].size();
    for (uint64_t off = 0; off < size;) {
      Record r = MK_TRY(decode(c, static_cast<uint32_t>(si), off));
      MK_TRY(f(static_cast<uint32_t>(si), static_cast<uint32_t>(off), r));
      off += r.size;
    }
  }
  return Ok();
}

Error no_memory(size_t records) {
  return Error(Errc::kNoMemory, "%s: out of memory for %zu records", kModinfoSection, records);
}

Result<Metadata> read(const Context& c, Allocator& alloc) {
  for (size_t si = 0; si < c.count; ++si) {
    if (c.spans[si].size() > UINT32_MAX)
      return Error(Errc::kMalformed, "%s: size %#lx is more than 4 GiB",
                   where(c, static_cast<uint32_t>(si), 0).text,
                   static_cast<uint64_t>(c.spans[si].size()));
  }

  // Pass 1: every record on its own, and how many of each kind there are.
  size_t counts[kKinds] = {};
  MK_TRY(each_record(c, [&](uint32_t, uint32_t, const Record& r) -> Result<void> {
    ++counts[r.kind];
    return Ok();
  }));
  size_t total = 0;
  for (size_t n : counts)
    total += n;

  Metadata md(alloc);
  NameTable by_name(alloc);
  NameTable drivers(alloc);  // driver name -> index into md.drivers
  Vec<RecordAt> driver_at(alloc);
  Vec<uint32_t> driver_matches(alloc);
  if (!driver_at.resize(counts[kKindDriver]) || !driver_matches.resize(counts[kKindDriver]))
    return no_memory(total);
  if (!md.modules.reserve(counts[kKindModule]) || !md.depends.reserve(counts[kKindDepend]) ||
      !md.sysinits.reserve(counts[kKindSysinit]) || !md.exports.reserve(counts[kKindExport]) ||
      !md.imports.reserve(counts[kKindImportNs]) || !md.drivers.reserve(counts[kKindDriver]) ||
      !md.matches.reserve(counts[kKindMatch]) || !md.tunables.reserve(counts[kKindTunable]) ||
      (counts[kKindModule] != 0 && !by_name.reserve(counts[kKindModule])) ||
      (counts[kKindDriver] != 0 && !drivers.reserve(counts[kKindDriver])))
    return no_memory(total);

  // Pass 2: the modules, each declared once.
  MK_TRY(each_record(c, [&](uint32_t si, uint32_t off, const Record& r) -> Result<void> {
    if (r.kind != kKindModule) return Ok();
    NameTable::Slot* first = nullptr;
    auto index = static_cast<uint32_t>(md.modules.size());
    if (!by_name.insert(r.module, name_hash(r.module), index, &first)) return no_memory(total);
    if (first != nullptr) {
      const RecordAt& at = md.modules[first->value].at;
      return Error(Errc::kMalformed, "%s: module `%s' is declared twice (first at %s)",
                   where(c, si, off).text, r.module, where(c, at.span, at.offset).text);
    }
    if (!md.modules.push(ModuleDecl{r.module, r.n[0], r.n[1], RecordAt{si, off}}))
      return no_memory(total);
    return Ok();
  }));

  // Pass 3: what refers to the modules (matches wait for pass 4).
  MK_TRY(each_record(c, [&](uint32_t si, uint32_t off, const Record& r) -> Result<void> {
    if (r.kind == kKindModule || r.kind == kKindMatch) return Ok();
    NameTable::Slot* m = by_name.find(r.module);
    if (m == nullptr) {
      const char* what = r.kind == kKindDepend    ? "dependency"
                         : r.kind == kKindSysinit ? "sysinit"
                         : r.kind == kKindExport  ? "export"
                         : r.kind == kKindDriver  ? "driver"
                         : r.kind == kKindTunable ? "tunable"
                                                  : "namespace import";
      return Error(Errc::kMalformed, "%s: %s names module `%s', which this file does not declare",
                   where(c, si, off).text, what, r.module);
    }
    bool ok = true;
    switch (r.kind) {
      case kKindDepend:
        ok = md.depends.push(DependDecl{m->value, r.target, r.n[0], r.n[1], r.n[2]});
        break;
      case kKindSysinit:
        ok =
            md.sysinits.push(SysinitDecl{m->value, r.n[0], r.n[1], r.n[2] != 0, RecordAt{si, off}});
        break;
      case kKindExport:
        ok = md.exports.push(ExportDecl{m->value, r.ns, r.name});
        break;
      case kKindImportNs:
        ok = md.imports.push(ImportNsDecl{m->value, r.ns});
        break;
      case kKindDriver: {
        NameTable::Slot* first = nullptr;
        auto index = static_cast<uint32_t>(md.drivers.size());
        if (!drivers.insert(r.driver, name_hash(r.driver), index, &first)) return no_memory(total);
        if (first != nullptr) {
          const RecordAt& at = driver_at[first->value];
          return Error(Errc::kMalformed, "%s: driver `%s' is declared twice (first at %s)",
                       where(c, si, off).text, r.driver, where(c, at.span, at.offset).text);
        }
        driver_at[index] = RecordAt{si, off};
        ok = md.drivers.push(DriverDecl{m->value, r.driver, r.bus, r.n[0]});
        break;
      }
      case kKindTunable:
        for (const TunableDecl& t : md.tunables)
          if (t.module == m->value && str_eq(t.name, r.name))
            return Error(Errc::kMalformed, "%s: module `%s' declares tunable `%s' twice",
                         where(c, si, off).text, r.module, r.name);
        ok = md.tunables.push(TunableDecl{m->value, r.name, r.n[0], r.n[1], RecordAt{si, off}});
        break;
    }
    return ok ? Result<void>(Ok()) : Result<void>(no_memory(total));
  }));

  // Pass 4: match tables, each under a driver of the same module.
  MK_TRY(each_record(c, [&](uint32_t si, uint32_t off, const Record& r) -> Result<void> {
    if (r.kind != kKindMatch) return Ok();
    NameTable::Slot* d = drivers.find(r.driver);
    if (d == nullptr)
      return Error(Errc::kMalformed,
                   "%s: match names driver `%s', which this file does not declare",
                   where(c, si, off).text, r.driver);
    const DriverDecl& drv = md.drivers[d->value];
    if (!str_eq(md.modules[drv.module].name, r.module))
      return Error(Errc::kMalformed,
                   "%s: match names module `%s', but driver `%s' belongs to module `%s'",
                   where(c, si, off).text, r.module, r.driver, md.modules[drv.module].name);
    ++driver_matches[d->value];
    MatchEntry e{static_cast<MatchKind>(r.n[0]), r.n[1], r.n[2], r.compat};
    if (!md.matches.push(MatchDecl{d->value, e})) return no_memory(total);
    return Ok();
  }));
  for (size_t i = 0; i < md.drivers.size(); ++i) {
    if (driver_matches[i] == 0)
      return Error(Errc::kMalformed,
                   "%s: driver `%s' has no match entries (MODKIT_MATCH_IDS or "
                   "MODKIT_MATCH_COMPAT)",
                   where(c, driver_at[i].span, driver_at[i].offset).text, md.drivers[i].name);
  }
  return md;
}

}  // namespace

bool is_identifier(const char* s) {
  auto alpha = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
  };
  if (!alpha(s[0])) return false;
  for (const char* p = s + 1; *p != '\0'; ++p)
    if (!alpha(*p) && !(*p >= '0' && *p <= '9')) return false;
  return true;
}

Result<Metadata> read_metadata(const ByteView* spans, size_t count, Allocator& alloc) {
  return read(Context{spans, count, nullptr}, alloc);
}

Result<void> find_modinfo(const elf::ValidatedObject& obj, Vec<uint32_t>& sections) {
  for (const elf::Section& s : obj.sections) {
    if (!str_eq(s.name, kModinfoSection)) continue;
    if (s.type != elf::SHT_PROGBITS)
      return Error(Errc::kMalformed,
                   "section %u (%s): module metadata has type %u, not SHT_PROGBITS", s.index,
                   kModinfoSection, s.type);
    if (!s.alloc())
      return Error(Errc::kMalformed,
                   "section %u (%s): module metadata is not SHF_ALLOC (the loader reads its "
                   "pointers in loaded memory)",
                   s.index, kModinfoSection);
    if (!sections.push(s.index))
      return Error(Errc::kNoMemory, "%s: out of memory for the section list", kModinfoSection);
  }
  return Ok();
}

Result<Metadata> read_object_metadata(const elf::ValidatedObject& obj, Vec<uint32_t>& sections,
                                      Allocator& alloc) {
  sections.clear();
  MK_TRY(find_modinfo(obj, sections));
  Vec<ByteView> spans(alloc);
  if (!spans.reserve(sections.size()))
    return Error(Errc::kNoMemory, "%s: out of memory for the section list", kModinfoSection);
  for (uint32_t i : sections)
    (void)spans.push(obj.sections[i].data);  // reserved above
  return read(Context{spans.data(), spans.size(), sections.data()}, alloc);
}

}  // namespace mk::module
