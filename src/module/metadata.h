// Module metadata: the records of the `modkit_modinfo` sections (the format is
// sdk/include/modkit/module.h, LP64 layout), read as plain data before any
// module code runs, all checked.
//
// Input is a list of spans (the object's modkit_modinfo sections in section
// order, or the kernel image's one section). Each declaration remembers where
// its record is (span, offset), so that after linking the function pointers
// (handler, sysinit fn and arg) are read at the same place in loaded memory.
//
// Rules (each broken one is an Errc::kMalformed naming the span offset, as
// "modkit_modinfo+0x48: record kind 9 is unknown"; with several spans the span
// is named too, "modkit_modinfo#1+0x48", or by its ELF section when read from
// an object, "section 7 (modkit_modinfo)+0x48"):
// records are at least a header, a multiple of 8, inside the span, with the
// magic, format version MK_META_VERSION (another version is
// Errc::kUnsupported) and a known kind, and exactly the size of their kind
// (exports: header + fixed part + a NUL-terminated name, NUL-padded to a
// multiple of 8, so the padding is less than 8 bytes); there is no padding
// between records; every name is NUL-terminated inside its field, non-empty, a
// C identifier (an export's namespace may be empty, an import's may not); a
// sysinit's uninit flag is 0 or 1 and reserved fields are 0; a module is
// declared once per file; dependencies, sysinits, exports and namespace
// imports name a module of the same file (records may come in any order);
// min <= preferred <= max; no module depends on itself. A dependency on
// another module of the same file is allowed (the kernel image holds every
// static module): the registry satisfies it inside the file and starts the
// modules in dependency order. A module may list the same target more than
// once (several sources of one module each declaring it): every range must
// be met. A tunable's description and default are NUL-terminated in their
// fields, its type is known, its storage size fits the type, and a module
// declares each tunable once.
// Drivers and their match entries (sdk/include/modkit/bus.h, kinds 6 and
// 7): see DriverDecl and MatchDecl.
//
// Declarations keep section order (modules too: `line` is what orders the
// modules of one source, since compilers may reorder records).
//
// Cost: linear in the input (three passes over the records), and a fixed
// number of allocations whatever the input: the counts are taken before the
// vectors are sized. Out of memory is Errc::kNoMemory.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/validated_object.h"
#include "module/match.h"
#include "support/allocator.h"
#include "support/bytes.h"
#include "support/result.h"
#include "support/vector.h"

namespace mk::module {

inline constexpr size_t kNameMax = 64;  // MK_NAME_MAX
inline constexpr size_t kNsMax = 32;    // a symbol namespace, including the NUL
inline constexpr const char kModinfoSection[] = "modkit_modinfo";

struct RecordAt {
  uint32_t span;
  uint32_t offset;  // of the record inside its span
};

struct ModuleDecl {
  const char* name;
  uint32_t version;
  uint32_t line;
  RecordAt at;
};

struct DependDecl {
  uint32_t module;  // index into Metadata::modules
  const char* target;
  uint32_t min, preferred, max;
};

struct SysinitDecl {
  uint32_t module;
  uint32_t subsystem;
  uint32_t order;
  bool uninit;
  RecordAt at;
};

struct ExportDecl {
  uint32_t module;
  const char* ns;  // "" for none
  const char* name;
};

// A driver (sdk/include/modkit/bus.h): declared once per file, with at
// least one match entry; names are C identifiers of at most 31 characters.
struct DriverDecl {
  uint32_t module;
  const char* name;
  const char* bus;
  uint32_t priority;
};

// One entry of a driver's match table: ids with an empty compatible string,
// or a valid compatible string (match.h) with both ids 0.
struct MatchDecl {
  uint32_t driver;  // index into Metadata::drivers
  MatchEntry entry;
};

// MODKIT_IMPORT_NS: `module` may bind to exports in namespace `ns`.
struct ImportNsDecl {
  uint32_t module;
  const char* ns;  // a C identifier, shorter than kNsMax
};

// A typed module parameter (MODKIT_TUNABLE): its description and default are
// text inside the record (kTunableDescOffset, kTunableDefaultOffset), its
// variable a pointer read after linking (kTunableAddrOffset).
struct TunableDecl {
  uint32_t module;
  const char* name;
  uint32_t type;  // kTunableInt..kTunableString
  uint32_t size;  // bytes of its variable
  RecordAt at;
};

struct Metadata {
  explicit Metadata(Allocator& a)
      : modules(a),
        depends(a),
        sysinits(a),
        exports(a),
        imports(a),
        drivers(a),
        matches(a),
        tunables(a) {}
  Vec<ModuleDecl> modules;
  Vec<DependDecl> depends;
  Vec<SysinitDecl> sysinits;
  Vec<ExportDecl> exports;
  Vec<ImportNsDecl> imports;
  Vec<DriverDecl> drivers;
  Vec<MatchDecl> matches;  // in record order
  Vec<TunableDecl> tunables;
};

// Reads and checks the records of `spans`. Names point into the spans.
[[nodiscard]] Result<Metadata> read_metadata(const ByteView* spans, size_t count, Allocator& alloc);

// The modkit_modinfo sections of a validated object, in section order,
// appended to `sections` (the spans for read_metadata). Each must be
// SHT_PROGBITS and SHF_ALLOC (the loader reads its pointers in loaded memory).
[[nodiscard]] Result<void> find_modinfo(const elf::ValidatedObject& obj, Vec<uint32_t>& sections);

// find_modinfo + read_metadata: the metadata of a validated object. On success
// `sections` holds the section index of each span (RecordAt::span indexes it).
// Names point into the object's bytes.
[[nodiscard]] Result<Metadata> read_object_metadata(const elf::ValidatedObject& obj,
                                                    Vec<uint32_t>& sections, Allocator& alloc);

// True when s is a C identifier ([A-Za-z_][A-Za-z0-9_]*): what module,
// target and export names are.
bool is_identifier(const char* s);

// Offsets, inside a record, of the pointer fields read after linking.
inline constexpr uint32_t kModuleHandlerOffset = 8 + kNameMax + 8;      // mk_meta_module::handler
inline constexpr uint32_t kModuleArgOffset = kModuleHandlerOffset + 8;  // mk_meta_module::arg
inline constexpr uint32_t kSysinitFnOffset = 8 + kNameMax + 16;         // mk_meta_sysinit::fn
inline constexpr uint32_t kSysinitArgOffset = kSysinitFnOffset + 8;     // mk_meta_sysinit::arg

// mk_meta_tunable (sdk/include/modkit/service.h): types, field sizes, offsets.
inline constexpr uint32_t kTunableInt = 1, kTunableUint = 2, kTunableBool = 3, kTunableString = 4;
inline constexpr uint32_t kTunableDescMax = 128;
inline constexpr uint32_t kTunableDefaultMax = 64;
inline constexpr uint32_t kTunableStringMax = 4096;
inline constexpr uint32_t kTunableDescOffset = 8 + 2 * kNameMax;
inline constexpr uint32_t kTunableDefaultOffset = kTunableDescOffset + kTunableDescMax;
inline constexpr uint32_t kTunableAddrOffset = kTunableDefaultOffset + kTunableDefaultMax + 8;

}  // namespace mk::module
