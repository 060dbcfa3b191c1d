// fuzz_seeds OUT_DIR MODULE_DIR: writes the seed corpus of every fuzzer,
// one directory each under OUT_DIR, at build time:
//   validate, link  every sample module (.ko), objects the ElfBuilder writes,
//                   and the malformed corpus (tests/util/malformed_corpus.h)
//   decode          a few choice programs (fuzz_decode builds objects from them)
//   metadata        each sample module's modkit_modinfo section (one span)
//   hints           the sample directory's modkit.hints and small variants
//   control         request lines of every verb
//   registry        step programs for fuzz_registry
//   trailer         every sample module unsigned, signed by the key
//                   fuzz_trailer trusts and by another key; and one module
//                   with each kind of bad trailer (truncated, oversized,
//                   covering other bytes, other version or algorithm,
//                   reserved set, a trailer or magic alone), and small
//                   signed files (0, 7 and 100 bytes before the trailer)
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "fuzz/fuzz_key.h"
#include "hosted/malloc_allocator.h"
#include "module/metadata.h"
#include "module/signature_trailer.h"
#include "util/elf_builder.h"
#include "util/malformed_corpus.h"

using namespace mk;

namespace {

std::string g_out;

void Write(const std::string& fuzzer, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string dir = g_out + "/" + fuzzer;
  mkdir(g_out.c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/" + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void WriteText(const std::string& fuzzer, const std::string& name, const std::string& text) {
  Write(fuzzer, name, std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<uint8_t> Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void Put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// fuzz_trailer's seeds from one module file (see the list at the top).
void WriteTrailerSeeds(const std::string& n, const std::vector<uint8_t>& ko, bool bad_ones) {
  hosted::SecretKey trusted, other;
  fuzz::FuzzKey(0, &trusted);
  fuzz::FuzzKey(1, &other);
  std::vector<uint8_t> signed_ko = ko, trailer = hosted::sign_module(ko, trusted);
  signed_ko.insert(signed_ko.end(), trailer.begin(), trailer.end());
  Write("trailer", n, ko);
  Write("trailer", n + ".signed", signed_ko);
  std::vector<uint8_t> untrusted = ko, t2 = hosted::sign_module(ko, other);
  untrusted.insert(untrusted.end(), t2.begin(), t2.end());
  Write("trailer", n + ".untrusted", untrusted);
  if (!bad_ones) return;
  const size_t at = ko.size();  // the trailer's offset in signed_ko
  auto variant = [&](const std::string& what, size_t field, uint32_t value) {
    std::vector<uint8_t> b = signed_ko;
    Put32(b, at + field, value);
    Write("trailer", "bad-" + what, b);
  };
  variant("oversized", 100, 240);
  variant("undersized", 100, 60);
  variant("covers-less", 16, static_cast<uint32_t>(at - 1));
  variant("covers-more", 16, static_cast<uint32_t>(at + 1));
  variant("algorithm", 24, 2);
  variant("reserved", 28, 1);
  variant("version", 96, 2);
  std::vector<uint8_t> truncated(signed_ko.begin() + static_cast<long>(at) + 10, signed_ko.end());
  Write("trailer", "bad-truncated", truncated);  // the last 110 bytes alone
  std::vector<uint8_t> alone(signed_ko.begin() + static_cast<long>(at), signed_ko.end());
  Write("trailer", "bad-trailer-alone", alone);  // covers module bytes that are not there
  std::vector<uint8_t> magic(signed_ko.end() - static_cast<long>(module::kSignatureMagicSize),
                             signed_ko.end());
  Write("trailer", "bad-magic-alone", magic);
  std::vector<uint8_t> twice = signed_ko;  // signed twice: the outer trailer covers the inner
  std::vector<uint8_t> t3 = hosted::sign_module(signed_ko, trusted);
  twice.insert(twice.end(), t3.begin(), t3.end());
  Write("trailer", "signed-twice", twice);
  for (size_t len : {0, 7, 100}) {  // small signed files, which mutate quickly
    std::vector<uint8_t> small(ko.begin(), ko.begin() + static_cast<long>(len));
    std::vector<uint8_t> t4 = hosted::sign_module(small, trusted);
    small.insert(small.end(), t4.begin(), t4.end());
    Write("trailer", "small-" + std::to_string(len) + ".signed", small);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fuzz_seeds OUT_DIR MODULE_DIR\n");
    return 2;
  }
  g_out = argv[1];
  const std::string modules = argv[2];
  hosted::MallocAllocator alloc;

  DIR* d = opendir(modules.c_str());
  if (d == nullptr) {
    fprintf(stderr, "fuzz_seeds: cannot open %s\n", modules.c_str());
    return 1;
  }
  int kos = 0;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() < 4 || n.compare(n.size() - 3, 3, ".ko") != 0) continue;
    std::vector<uint8_t> bytes = Read(modules + "/" + n);
    Write("validate", n, bytes);
    Write("link", n, bytes);
    WriteTrailerSeeds(n, bytes, kos == 0);
    ++kos;
    Result<elf::ValidatedObject> v =
        elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
    if (v && v.value().modinfo != 0) {
      const elf::Section& s = v.value().sections[v.value().modinfo];
      std::vector<uint8_t> span{0};  // fuzz_metadata: one span
      span.insert(span.end(), s.data.data(), s.data.data() + s.size);
      Write("metadata", n, span);
    }
  }
  closedir(d);
  if (kos == 0) {
    fprintf(stderr, "fuzz_seeds: no .ko in %s\n", modules.c_str());
    return 1;
  }

  int i = 0;
  for (const test::MalformedCase& c : test::MalformedCorpus()) {
    std::string name = "class" + std::to_string(c.bad_input_class) + "-" + std::to_string(i++);
    Write("validate", name, c.bytes);
    Write("link", name, c.bytes);
  }

  // fuzz_decode: choice programs (zeros, a ramp, and 0xff runs).
  std::vector<uint8_t> ramp(512), ones(512, 0xff), zeros(512, 0);
  for (size_t k = 0; k < ramp.size(); ++k)
    ramp[k] = static_cast<uint8_t>(k * 7);
  Write("decode", "ramp", ramp);
  Write("decode", "ones", ones);
  Write("decode", "zeros", zeros);

  std::vector<uint8_t> hints = Read(modules + "/modkit.hints");
  Write("hints", "sample", hints);
  WriteText("hints", "empty", "");
  WriteText("hints", "comment",
            "modkit-hints 1\n# a comment\nmodule a 1 a.ko\nmodule a 2 sub/a.ko\n");

  const char* requests[] = {
      R"({"verb":"ping"})",
      R"({"verb":"help"})",
      R"({"verb":"stat"})",
      R"({"verb":"load","name":"chain_top"})",
      R"({"verb":"load","path":"hello.ko"})",
      R"({"verb":"unload","name":"chain_base","cascade":true})",
      R"({"verb":"unload","name":"veto","policy":"wait","timeout_ms":5})",
      R"({"verb":"unload","name":"hello","policy":"defer"})",
      R"({"verb":"sym","name":"chain_top_value"})",
      R"({"verb":"sym","address":4096})",
      R"({"verb":"log","since":0})",
      R"({"verb":"devices"})",
      R"({"verb":"device_add","spec":"simbus vendor=0x1af4 device=0x1001 label=left"})",
      R"({"verb":"device_add","spec":"simbus compat=acme,widget busy=yes"})",
      R"({"verb":"device_remove","name":"simbus:0"})",
      R"({"verb":"shutdown"})",
      "load chain_mid",
      "unload -c chain_base",
      "[1,2]",
      R"({"verb":7})",
  };
  std::string all;
  int r = 0;
  for (const char* line : requests) {
    WriteText("control", "request" + std::to_string(r++), std::string(line) + "\n");
    all += std::string(line) + "\n";
  }
  WriteText("control", "all", all);

  // fuzz_registry: steps (see its Step()): load chain_top, get, unload
  // refused, put, unload with cascade; nested; veto busy and quiesce.
  Write("registry", "chain", {0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 5, 3, 0, 0, 0,
                              3, 1, 0, 0, 0, 0, 6, 0, 0, 0, 0, 3, 1, 0, 0, 0, 4});
  Write("registry", "veto", {0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 3, 0, 0, 0, 8, 0, 0, 0, 0});
  Write("registry", "nested", {1, 0, 0, 0, 10, 0, 0, 0, 3, 0, 0, 0, 11, 0, 0, 0, 4});
  // Devices: add a busy widget (simdrv and chain_base auto-loaded), unload
  // simdrv (refused by its detach), remove the device, unload simdrv.
  Write("registry", "devices", {8, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 13, 0, 0, 0, 0,
                                9, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 13, 0, 0, 0, 4});
  return 0;
}
