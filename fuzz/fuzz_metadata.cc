// Fuzzer: module metadata (module/metadata.h), records read as data from
// untrusted modkit_modinfo sections. The input is split into one to three
// spans (the first byte says where), as an object with several
// modkit_modinfo sections or a kernel image gives them. Properties:
// - an error has a message and leaves nothing allocated;
// - on success every rule of metadata.h holds on the result: names are
//   non-empty C identifiers NUL-terminated inside their span, indices point at
//   declared modules, min <= preferred <= max, no self-dependency, each
//   module declared once, record positions inside their span and 8-aligned;
// - reading the same spans again gives the same declarations.
#include <string>
#include <vector>

#include "fuzz/check.h"
#include "fuzz/counting_allocator.h"
#include "module/metadata.h"

using namespace mk;
using namespace mk::module;

namespace {

// `name` lies inside one of the spans, NUL-terminated there; returns its span.
void CheckName(const char* what, const char* name, const ByteView* spans, size_t n,
               bool may_be_empty) {
  FUZZ_CHECK(name != nullptr, "%s: null name", what);
  for (size_t i = 0; i < n; ++i) {
    const char* b = reinterpret_cast<const char*>(spans[i].data());
    if (spans[i].empty() || name < b || name >= b + spans[i].size()) continue;
    size_t room = spans[i].size() - static_cast<size_t>(name - b);
    FUZZ_CHECK(memchr(name, 0, room) != nullptr, "%s: name not terminated in span %zu", what, i);
    FUZZ_CHECK(strlen(name) < kNameMax, "%s: name `%s' longer than a name field", what, name);
    if (!(may_be_empty && name[0] == '\0'))
      FUZZ_CHECK(is_identifier(name), "%s: `%s' is not an identifier", what, name);
    return;
  }
  FUZZ_CHECK(false, "%s: name outside every span", what);
}

std::string Read(const ByteView* spans, size_t n, fuzz::CountingAllocator& alloc) {
  Result<Metadata> r = read_metadata(spans, n, alloc);
  if (!r) {
    FUZZ_CHECK(r.error().message()[0] != '\0', "an error without a message");
    return std::string("error ") + errc_name(r.error().code()) + ": " + r.error().message();
  }
  const Metadata& md = r.value();
  std::string out;
  for (size_t i = 0; i < md.modules.size(); ++i) {
    const ModuleDecl& m = md.modules[i];
    CheckName("module", m.name, spans, n, false);
    FUZZ_CHECK(m.at.span < n && m.at.offset % 8 == 0 && m.at.offset < spans[m.at.span].size(),
               "module %s: record at span %u+%u", m.name, m.at.span, m.at.offset);
    for (size_t j = 0; j < i; ++j)
      FUZZ_CHECK(strcmp(md.modules[j].name, m.name) != 0, "module %s declared twice", m.name);
    out += "module " + std::string(m.name) + " " + std::to_string(m.version) + " line " +
           std::to_string(m.line) + " at " + std::to_string(m.at.span) + "+" +
           std::to_string(m.at.offset) + "\n";
  }
  for (const DependDecl& d : md.depends) {
    FUZZ_CHECK(d.module < md.modules.size(), "dependency of module %u of %zu", d.module,
               md.modules.size());
    CheckName("dependency", d.target, spans, n, false);
    FUZZ_CHECK(d.min <= d.preferred && d.preferred <= d.max, "range %u %u %u", d.min, d.preferred,
               d.max);
    FUZZ_CHECK(strcmp(d.target, md.modules[d.module].name) != 0, "%s depends on itself", d.target);
    out += "depend " + std::to_string(d.module) + " " + d.target + " " + std::to_string(d.min) +
           " " + std::to_string(d.preferred) + " " + std::to_string(d.max) + "\n";
  }
  for (const SysinitDecl& s : md.sysinits) {
    FUZZ_CHECK(s.module < md.modules.size(), "sysinit of module %u", s.module);
    FUZZ_CHECK(s.at.span < n && s.at.offset % 8 == 0 && s.at.offset < spans[s.at.span].size(),
               "sysinit record at span %u+%u", s.at.span, s.at.offset);
    FUZZ_CHECK(uint64_t{s.at.offset} + kSysinitArgOffset + 8 <= spans[s.at.span].size(),
               "sysinit at %u: its fn/arg fields pass the end of the span", s.at.offset);
    out += "sysinit " + std::to_string(s.module) + " " + std::to_string(s.subsystem) + " " +
           std::to_string(s.order) + " " + std::to_string(s.uninit) + "\n";
  }
  for (const ModuleDecl& m : md.modules)
    FUZZ_CHECK(uint64_t{m.at.offset} + kModuleArgOffset + 8 <= spans[m.at.span].size(),
               "module %s: its handler/arg fields pass the end of the span", m.name);
  for (const ExportDecl& e : md.exports) {
    FUZZ_CHECK(e.module < md.modules.size(), "export of module %u", e.module);
    CheckName("export", e.name, spans, n, false);
    CheckName("export namespace", e.ns, spans, n, true);
    out += "export " + std::to_string(e.module) + " " + e.ns + " " + e.name + "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: the number of spans (1-3) and where the cuts are (multiples of 8).
  const uint8_t cut = data[0];
  std::vector<uint8_t> rest(data + 1, data + size);
  size_t n = 1 + cut % 3;
  std::vector<std::vector<uint8_t>> parts;
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t len = i + 1 == n ? rest.size() - at : std::min(rest.size() - at, size_t{8} * (cut >> 2));
    parts.emplace_back(rest.begin() + at, rest.begin() + at + len);
    at += len;
  }
  std::vector<ByteView> spans;
  for (const auto& p : parts)
    spans.emplace_back(p.data(), p.size());
  fuzz::CountingAllocator alloc;
  std::string first = Read(spans.data(), n, alloc);
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left", alloc.live());
  std::string second = Read(spans.data(), n, alloc);
  FUZZ_CHECK(first == second, "two reads differ:\n%s---\n%s", first.c_str(), second.c_str());
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left", alloc.live());
  return 0;
}
