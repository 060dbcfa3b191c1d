// Fuzzer: the hints index reader (module/hints.h), which the kernel reads
// from every module directory. Properties:
// - a refused index has a message, and the Hints keeps what it held before
//   (parse() contract: "on failure the Hints is unchanged");
// - an accepted index holds only valid entries (identifier names of at most
//   63 characters, FILEs hint_file_problem() accepts), and writing it back
//   with write_hints() and parsing that gives the same entries;
// - choose() answers with an entry of that module inside the range asked;
// - nothing stays allocated.
#include <string>
#include <vector>

#include "fuzz/check.h"
#include "fuzz/counting_allocator.h"
#include "module/hints.h"
#include "module/metadata.h"

using namespace mk;
using namespace mk::module;

namespace {

constexpr char kKnown[] = "modkit-hints 1\nmodule known 3 known.ko\n";

std::string Entries(const Hints& h) {
  std::string out;
  for (const HintEntry& e : h.entries)
    out += std::string(e.module) + " " + std::to_string(e.version) + " " + e.file + "\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::CountingAllocator alloc;
  {
    Hints h(alloc);
    FUZZ_CHECK(h.parse(ByteView(reinterpret_cast<const uint8_t*>(kKnown), sizeof kKnown - 1)),
               "the known index is refused");
    const std::string before = Entries(h);
    Result<void> r = h.parse(ByteView(data, size));
    if (!r) {
      FUZZ_CHECK(r.error().message()[0] != '\0', "an error without a message");
      FUZZ_CHECK(Entries(h) == before, "a refused index changed the Hints: %s",
                 r.error().message());
    } else {
      for (const HintEntry& e : h.entries) {
        FUZZ_CHECK(is_identifier(e.module) && strlen(e.module) < kNameMax, "module `%s'", e.module);
        const char* why = hint_file_problem(e.file);
        FUZZ_CHECK(why == nullptr, "file `%s' %s", e.file, why);
      }
      Vec<char> text(alloc);
      Result<void> w = write_hints(h.entries.data(), h.entries.size(), text);
      FUZZ_CHECK(w, "an accepted index cannot be written back: %s", w ? "" : w.error().message());
      Hints again(alloc);
      Result<void> p =
          again.parse(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      FUZZ_CHECK(p, "the written index is refused: %s", p ? "" : p.error().message());
      FUZZ_CHECK(Entries(again) == Entries(h), "round trip differs:\n%s---\n%s", Entries(h).c_str(),
                 Entries(again).c_str());
      // choose(): over a range taken from the first entry's version.
      for (const HintEntry& e : h.entries) {
        uint32_t lo = e.version / 2, hi = e.version + (e.version & 7);
        const HintEntry* c = h.choose(e.module, lo, e.version, hi);
        FUZZ_CHECK(c != nullptr, "choose(%s, %u..%u) found nothing, though %u is there", e.module,
                   lo, hi, e.version);
        FUZZ_CHECK(strcmp(c->module, e.module) == 0 && c->version >= lo && c->version <= hi,
                   "choose(%s, %u..%u) gave %s %u", e.module, lo, hi, c->module, c->version);
      }
    }
  }
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left", alloc.live());
  return 0;
}
