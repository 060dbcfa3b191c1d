// modkit inspect FILE.ko [--json]
//
// What a module file is, read as data (modinfo + readelf): its machine, the
// modules it declares with their versions, dependencies, sysinits and
// exports, any metadata records this build does not know (shown generically),
// the symbols it imports, its sections with their relocation counts, its
// relocations by kind, and the verdict of the validator and the metadata
// reader, the same checks a load runs before linking; for a signed file, the
// signature trailer's key and extent (verifying it needs a key: `modkit
// verify`). Nothing is linked and no code of the file runs. Every machine is
// compiled in, so an x86_64 host inspects aarch64 and riscv64 modules.
//
// Exit status: 0 valid; 1 the file cannot be read, or is refused (the exact
// message of the check that refused it is printed, and with --json is the
// "error" member); 2 usage.
#include <stdio.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "hosted/malloc_allocator.h"
#include "module/match.h"
#include "module/metadata.h"
#include "module/signature_trailer.h"
#include "object_file.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

using json = nlohmann::ordered_json;
using namespace mk::elf;

struct InspectOptions {
  std::string file;
  bool json = false;
};

// Metadata record kinds this build reads (module/metadata.h); others are
// listed generically under "other_records".
// module, depend, sysinit, export, import_ns, driver, match, tunable.
bool known_kind(uint8_t kind) {
  return kind >= 1 && kind <= 8;
}

std::string type_name(uint32_t type) {
  switch (type) {
    case SHT_NULL:
      return "NULL";
    case SHT_PROGBITS:
      return "PROGBITS";
    case SHT_SYMTAB:
      return "SYMTAB";
    case SHT_STRTAB:
      return "STRTAB";
    case SHT_RELA:
      return "RELA";
    case SHT_NOTE:
      return "NOTE";
    case SHT_NOBITS:
      return "NOBITS";
    case SHT_REL:
      return "REL";
    case SHT_INIT_ARRAY:
      return "INIT_ARRAY";
    case SHT_FINI_ARRAY:
      return "FINI_ARRAY";
    case SHT_PREINIT_ARRAY:
      return "PREINIT_ARRAY";
    case SHT_GROUP:
      return "GROUP";
    case SHT_SYMTAB_SHNDX:
      return "SYMTAB_SHNDX";
    case SHT_GNU_ATTRIBUTES:
      return "GNU_ATTRIBUTES";
    case SHT_LLVM_ADDRSIG:
      return "LLVM_ADDRSIG";
    case 0x70000001:
      return "PROC_1";  // X86_64_UNWIND
    case 0x70000003:
      return "ATTRIBUTES";  // aarch64 and riscv attributes
    default:
      return hex(type);
  }
}

// readelf's letters: W write, A alloc, X execute, M merge, S strings,
// I info link, L link order, G group, T TLS, C compressed, R retain, E exclude.
std::string flag_letters(uint64_t f) {
  static const struct {
    uint64_t bit;
    char letter;
  } kFlags[] = {{SHF_WRITE, 'W'},      {SHF_ALLOC, 'A'},      {SHF_EXECINSTR, 'X'},
                {SHF_MERGE, 'M'},      {SHF_STRINGS, 'S'},    {SHF_INFO_LINK, 'I'},
                {SHF_LINK_ORDER, 'L'}, {SHF_GROUP, 'G'},      {SHF_TLS, 'T'},
                {SHF_COMPRESSED, 'C'}, {SHF_GNU_RETAIN, 'R'}, {SHF_EXCLUDE, 'E'}};
  std::string s;
  for (const auto& f2 : kFlags)
    if ((f & f2.bit) != 0) s += f2.letter;
  return s;
}

const char* subsystem_name(uint32_t s) {
  switch (s) {
    case 0:
      return "MK_SI_FIRST";
    case 100:
      return "MK_SI_TUNABLES";
    case 200:
      return "MK_SI_LOCKS";
    case 300:
      return "MK_SI_SERVICES";
    case 400:
      return "MK_SI_BUSES";
    case 500:
      return "MK_SI_DRIVERS";
    case 600:
      return "MK_SI_DEVICES";
    case 1000:
      return "MK_SI_LAST";
    default:
      return "";
  }
}

const char* bind_name(uint8_t b) {
  switch (b) {
    case STB_GLOBAL:
      return "global";
    case STB_WEAK:
      return "weak";
    case STB_LOCAL:
      return "local";
    default:
      return "unique";
  }
}

const char* sym_type_name(uint8_t t) {
  switch (t) {
    case STT_NOTYPE:
      return "notype";
    case STT_OBJECT:
      return "object";
    case STT_FUNC:
      return "func";
    default:
      return "other";
  }
}

// The printable strings of an unknown record's payload: NUL-terminated runs
// of at least two printable ASCII characters (its name fields, typically).
json record_strings(mk::ByteView payload) {
  json out = json::array();
  std::string run;
  for (size_t i = 0; i < payload.size(); ++i) {
    char c = static_cast<char>(payload.data()[i]);
    if (c >= 0x20 && c < 0x7f) {
      run += c;
      continue;
    }
    if (c == '\0' && run.size() >= 2) out.push_back(run);
    run.clear();
  }
  return out;
}

// The records of kinds this build does not read, walked by their headers
// (magic, version, kind, size) in each modkit_modinfo section. The walk
// stops at a header that does not hold together: the metadata reader's
// verdict names that problem.
json other_records(const ValidatedObject& obj) {
  json out = json::array();
  for (const Section& s : obj.sections) {
    if (s.index == 0 || !mk::str_eq(s.name, mk::module::kModinfoSection) || s.nobits()) continue;
    uint64_t off = 0;
    struct Header {
      uint32_t magic;
      uint8_t version;
      uint8_t kind;
      uint16_t size;
    } h;
    while (s.data.read(off, &h)) {
      if (h.magic != 0x444d4b4d || h.size < sizeof h || h.size % 8 != 0 ||
          !s.data.contains(off, h.size))
        break;
      if (!known_kind(h.kind)) {
        mk::ByteView payload;
        (void)s.data.slice(off + sizeof h, h.size - sizeof h, &payload);
        std::string bytes;
        for (size_t i = 0; i < payload.size(); ++i) {
          char b[4];
          snprintf(b, sizeof b, "%02x", payload.data()[i]);
          bytes += b;
        }
        out.push_back({{"kind", h.kind},
                       {"version", h.version},
                       {"size", h.size},
                       {"section", s.index},
                       {"offset", off},
                       {"strings", record_strings(payload)},
                       {"payload", bytes}});
      }
      off += h.size;
    }
  }
  return out;
}

// The text fields of a tunable's record, in the object's bytes (the reader
// checked both NUL-terminated inside their fields).
std::string tunable_text(const ValidatedObject& obj, const mk::Vec<uint32_t>& spans,
                         const mk::module::RecordAt& at, uint32_t field) {
  mk::ByteView data = obj.sections[spans[at.span]].data;
  return reinterpret_cast<const char*>(data.data() + at.offset + field);
}

json metadata_of(const ValidatedObject& obj, const mk::Vec<uint32_t>& spans,
                 const mk::module::Metadata& md) {
  json modules = json::array();
  for (uint32_t m = 0; m < md.modules.size(); ++m) {
    const mk::module::ModuleDecl& d = md.modules[m];
    json deps = json::array(), inits = json::array(), exports = json::array(),
         imports_ns = json::array(), tunables = json::array();
    for (const mk::module::DependDecl& x : md.depends)
      if (x.module == m)
        deps.push_back(
            {{"target", x.target}, {"min", x.min}, {"preferred", x.preferred}, {"max", x.max}});
    // In the order they run (subsystem, then order), whatever order the
    // compiler emitted the records in.
    std::vector<const mk::module::SysinitDecl*> sorted;
    for (const mk::module::SysinitDecl& x : md.sysinits)
      if (x.module == m) sorted.push_back(&x);
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      return a->subsystem != b->subsystem ? a->subsystem < b->subsystem : a->order < b->order;
    });
    for (const mk::module::SysinitDecl* p : sorted) {
      const mk::module::SysinitDecl& x = *p;
      inits.push_back({{"subsystem", x.subsystem},
                       {"subsystem_name", subsystem_name(x.subsystem)},
                       {"order", x.order},
                       {"kind", x.uninit ? "sysuninit" : "sysinit"}});
    }
    for (const mk::module::ExportDecl& x : md.exports)
      if (x.module == m) exports.push_back({{"namespace", x.ns}, {"name", x.name}});
    for (const mk::module::ImportNsDecl& x : md.imports)
      if (x.module == m) imports_ns.push_back(x.ns);
    static const char* const kTypes[] = {"?", "int", "uint", "bool", "string"};
    for (const mk::module::TunableDecl& x : md.tunables)
      if (x.module == m)
        tunables.push_back(
            {{"name", x.name},
             {"type", kTypes[x.type <= 4 ? x.type : 0]},
             {"size", x.size},
             {"default", tunable_text(obj, spans, x.at, mk::module::kTunableDefaultOffset)},
             {"description", tunable_text(obj, spans, x.at, mk::module::kTunableDescOffset)}});
    json drivers = json::array();
    for (uint32_t d = 0; d < md.drivers.size(); ++d) {
      const mk::module::DriverDecl& x = md.drivers[d];
      if (x.module != m) continue;
      json matches = json::array();
      for (const mk::module::MatchDecl& t : md.matches) {
        if (t.driver != d) continue;
        if (t.entry.kind == mk::module::MatchKind::kCompat)
          matches.push_back({{"compatible", t.entry.compat}});
        else
          matches.push_back({{"vendor", t.entry.vendor}, {"device", t.entry.device}});
      }
      drivers.push_back(
          {{"name", x.name}, {"bus", x.bus}, {"priority", x.priority}, {"matches", matches}});
    }
    modules.push_back({{"name", d.name},
                       {"version", d.version},
                       {"dependencies", deps},
                       {"sysinits", inits},
                       {"exports", exports},
                       {"imports_namespaces", imports_ns},
                       {"tunables", tunables},
                       {"drivers", drivers}});
  }
  return modules;
}

// Everything inspect reports about a valid object (metadata aside).
void describe(const ValidatedObject& obj, json& j) {
  const mk::arch::Machine* m = mk::arch::machine_for(obj.machine->machine);
  std::vector<uint64_t> per_section(obj.sections.size(), 0);
  std::vector<uint64_t> refs(obj.symbols.size(), 0);
  std::map<std::string, uint64_t> by_kind;
  uint64_t total = 0;
  for (const RelocSection& rs : obj.relocs) {
    per_section[rs.target] += rs.count;
    total += rs.count;
    for (uint64_t i = 0; i < rs.count; ++i) {
      Relocation r = obj.relocation(rs, i);
      const mk::elf::RelocShape* shape = obj.machine->shape(r.type);
      by_kind[shape != nullptr ? shape->name : hex(r.type)] += 1;
      refs[r.sym] += 1;
    }
  }
  (void)m;

  json imports = json::array();
  for (uint32_t i = 1; i < obj.symbols.size(); ++i) {
    const Symbol& s = obj.symbols[i];
    if (s.defined() || s.name[0] == '\0') continue;
    imports.push_back({{"name", s.name},
                       {"bind", bind_name(s.bind)},
                       {"type", sym_type_name(s.type)},
                       {"references", refs[i]}});
  }
  j["imports"] = imports;

  json sections = json::array();
  for (const Section& s : obj.sections) {
    if (s.index == 0) continue;
    sections.push_back({{"index", s.index},
                        {"name", s.name},
                        {"type", type_name(s.type)},
                        {"flags", flag_letters(s.flags)},
                        {"size", s.size},
                        {"align", s.align},
                        {"relocations", per_section[s.index]}});
  }
  j["sections"] = sections;

  json kinds = json::object();
  std::vector<std::pair<uint64_t, std::string>> order;
  for (const auto& [name, n] : by_kind)
    order.push_back({n, name});
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [n, name] : order)
    kinds[name] = n;
  j["relocations"] = {{"total", total}, {"by_kind", kinds}};
}

std::string join_range(const json& d) {
  return std::to_string(d["min"].get<uint32_t>()) + ".." +
         std::to_string(d["max"].get<uint32_t>()) + ", preferred " +
         std::to_string(d["preferred"].get<uint32_t>());
}

void print_text(const json& j) {
  printf("%s: %s relocatable object, %s bytes\n", j["file"].get<std::string>().c_str(),
         j.value("machine", std::string("unknown machine")).c_str(),
         std::to_string(j["size"].get<uint64_t>()).c_str());
  if (j.contains("signature")) {
    const json& sig = j["signature"];
    printf(
        "signature: Ed25519 by key %s over the first %lu bytes (not verified here: "
        "`modkit verify` checks it against a key)\n",
        sig["key_id"].get<std::string>().c_str(),
        static_cast<unsigned long>(sig["covers"].get<uint64_t>()));
  }
  if (!j["valid"].get<bool>()) {
    printf("verdict: refused: %s\n", j["error"].get<std::string>().c_str());
  } else {
    printf("verdict: valid\n");
  }
  if (!j.contains("sections")) return;  // nothing more is known of a refused file

  if (j.contains("modules")) {
    for (const json& m : j["modules"]) {
      printf("module %s version %u\n", m["name"].get<std::string>().c_str(),
             m["version"].get<uint32_t>());
      for (const json& d : m["dependencies"])
        printf("  depends on %s %s\n", d["target"].get<std::string>().c_str(),
               join_range(d).c_str());
      for (const json& s : m["sysinits"]) {
        std::string sub = s["subsystem_name"].get<std::string>();
        printf("  %s subsystem %u%s order %u\n", s["kind"].get<std::string>().c_str(),
               s["subsystem"].get<uint32_t>(), sub.empty() ? "" : (" (" + sub + ")").c_str(),
               s["order"].get<uint32_t>());
      }
      for (const json& ns : m["imports_namespaces"])
        printf("  imports namespace %s\n", ns.get<std::string>().c_str());
      for (const json& t : m["tunables"])
        printf("  tunable %s %s = %s  %s\n", t["type"].get<std::string>().c_str(),
               t["name"].get<std::string>().c_str(), t["default"].get<std::string>().c_str(),
               t["description"].get<std::string>().c_str());
      for (const json& d : m["drivers"]) {
        printf("  driver %s on bus %s, priority %u\n", d["name"].get<std::string>().c_str(),
               d["bus"].get<std::string>().c_str(), d["priority"].get<uint32_t>());
        for (const json& t : d["matches"]) {
          if (t.contains("compatible")) {
            printf("    matches compatible \"%s\"\n", t["compatible"].get<std::string>().c_str());
          } else {
            uint32_t dev = t["device"].get<uint32_t>();
            printf("    matches vendor 0x%04x device %s\n", t["vendor"].get<uint32_t>(),
                   dev == mk::module::kMatchAny ? "any" : hex(dev).c_str());
          }
        }
      }
      for (const json& e : m["exports"]) {
        std::string ns = e["namespace"].get<std::string>();
        printf("  exports %s%s\n", e["name"].get<std::string>().c_str(),
               ns.empty() ? "" : (" (namespace " + ns + ")").c_str());
      }
    }
  }
  for (const json& r : j["other_records"]) {
    printf("record kind %u (%u bytes) at section %u+%s, unknown to this modkit:",
           r["kind"].get<uint32_t>(), r["size"].get<uint32_t>(), r["section"].get<uint32_t>(),
           hex(r["offset"].get<uint64_t>()).c_str());
    for (const json& s : r["strings"])
      printf(" \"%s\"", s.get<std::string>().c_str());
    printf("\n");
  }

  printf("imports (%zu):\n", j["imports"].size());
  for (const json& i : j["imports"])
    printf("  %-32s %-6s %-6s %lu reference%s\n", i["name"].get<std::string>().c_str(),
           i["bind"].get<std::string>().c_str(), i["type"].get<std::string>().c_str(),
           static_cast<unsigned long>(i["references"].get<uint64_t>()),
           i["references"].get<uint64_t>() == 1 ? "" : "s");

  printf("sections (%zu):\n", j["sections"].size());
  printf("  %4s  %-28s %-14s %-5s %10s %6s %7s\n", "[nr]", "name", "type", "flags", "size", "align",
         "relocs");
  for (const json& s : j["sections"])
    printf("  [%2u]  %-28s %-14s %-5s %10s %6lu %7lu\n", s["index"].get<uint32_t>(),
           s["name"].get<std::string>().c_str(), s["type"].get<std::string>().c_str(),
           s["flags"].get<std::string>().c_str(), hex(s["size"].get<uint64_t>()).c_str(),
           static_cast<unsigned long>(s["align"].get<uint64_t>()),
           static_cast<unsigned long>(s["relocations"].get<uint64_t>()));

  const json& r = j["relocations"];
  printf("relocations (%lu):\n", static_cast<unsigned long>(r["total"].get<uint64_t>()));
  for (const auto& [name, n] : r["by_kind"].items())
    printf("  %-32s %lu\n", name.c_str(), static_cast<unsigned long>(n.get<uint64_t>()));
}

int run_inspect(const InspectOptions& o) {
  std::vector<uint8_t> bytes;
  std::string err;
  if (!read_whole_file(o.file, &bytes, &err)) {
    fprintf(stderr, "modkit inspect: %s: %s\n", o.file.c_str(), err.c_str());
    return 1;
  }
  json j;
  j["file"] = o.file;
  j["size"] = bytes.size();
  mk::ByteView view(bytes.data(), bytes.size());
  Ehdr eh;
  if (view.read(0, &eh)) {
    // Named even when the file is refused, if the header says which it is.
    if (const mk::elf::MachineRules* rules = mk::arch::rules_for(eh.machine))
      j["machine"] = rules->name;
    j["e_machine"] = eh.machine;
  }

  // A signed file: the trailer is read (as the kernel reads it before
  // anything else) and the module is what it covers. Whether the signature
  // is good needs a key: `modkit verify` checks that.
  bool trailer_ok = true;
  if (mk::module::has_signature_trailer(view)) {
    auto t = mk::module::parse_signature_trailer(view);
    if (!t) {
      trailer_ok = false;
      j["valid"] = false;
      j["error"] = t.error().message();
    } else {
      std::string key;
      for (uint8_t b : t.value().key_id) {
        char x[4];
        snprintf(x, sizeof x, "%02x", b);
        key += x;
      }
      j["signature"] = {{"algorithm", "ed25519"}, {"key_id", key}, {"covers", t.value().offset}};
      view = t.value().module;
    }
  }

  mk::hosted::MallocAllocator alloc;
  auto obj = mk::elf::validate(view, mk::arch::rules_for, alloc);
  if (!trailer_ok) {
    // Refused before the module is looked at, as a load would be.
  } else if (!obj) {
    j["valid"] = false;
    j["error"] = obj.error().message();
  } else {
    j["machine"] = obj.value().machine->name;
    mk::Vec<uint32_t> spans(alloc);
    auto md = mk::module::read_object_metadata(obj.value(), spans, alloc);
    j["valid"] = static_cast<bool>(md);
    if (!md) {
      j["error"] = md.error().message();
    } else {
      j["modules"] = metadata_of(obj.value(), spans, md.value());
    }
    j["other_records"] = other_records(obj.value());
    describe(obj.value(), j);
  }

  if (o.json) {
    printf("%s\n", j.dump(2).c_str());
  } else {
    print_text(j);
  }
  if (!j["valid"].get<bool>()) {
    fprintf(stderr, "modkit inspect: %s: %s\n", o.file.c_str(),
            j["error"].get<std::string>().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

Run add_inspect(CLI::App& app) {
  static InspectOptions options;  // CLI11 writes into it; lives as long as the process
  InspectOptions* o = &options;
  CLI::App* sub =
      app.add_subcommand("inspect",
                         "Show a module file's metadata, imports, sections and relocations, and "
                         "whether it would load (like modinfo + readelf)");
  sub->add_option("FILE", o->file, "the module (.ko) or object (.o) to inspect")->required();
  sub->add_flag("--json", o->json, "print the report as one JSON object");
  sub->footer(
      "Validates FILE as a load would (ELF rules, relocations, module metadata) without\n"
      "linking it or running any of its code, and reports its modules, versions,\n"
      "dependencies, sysinits, exports, imports, sections and relocation counts. Works\n"
      "for x86_64, aarch64 and riscv64 objects on any host.\n"
      "Exit status: 0 valid; 1 unreadable or refused (the refusal is printed, and is the\n"
      "\"error\" member of the JSON); 2 usage.\n\n"
      "Example:\n"
      "  modkit inspect build/modules/chain_mid.ko\n"
      "  modkit inspect --json echo.ko | jq '.modules[].dependencies'");
  return [o] { return run_inspect(*o); };
}

}  // namespace modkit::tool
