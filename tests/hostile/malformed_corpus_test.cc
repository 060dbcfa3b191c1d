// Every class of bad-input.md, loaded through a kernel (HostileKernel: the
// registry over a counting allocator and the real hosted platform). Each test
// asserts the exact error (category and message), and that the kernel is
// unchanged afterwards: files and module states, arena bytes in use, exports,
// and the allocator's live blocks and bytes (no leak; LeakSanitizer and ASan
// check the same under MODKIT_SANITIZE=address).
//
// | class (bad-input.md)              | tests                                                   |
// |-----------------------------------|---------------------------------------------------------|
// | 1 ELF header                      | Corpus/Class1_* (9 cases)                               |
// | 2 section header table            | Corpus/Class2_* (7)                                     |
// | 3 section names, string tables    | Corpus/Class3_* (7)                                     |
// | 4 section extents, NOBITS, align  | Corpus/Class4_* (5)                                     |
// | 5 symbol table                    | Corpus/Class5_* (7)                                     |
// | 6 symbol indices and values       | Corpus/Class6_* (6)                                     |
// | 7 relocation sections and entries | Corpus/Class7_* (9)                                     |
// | 8 values that do not fit, TLS     | Corpus/Class8_* (3); every relocation kind's boundary    |
// |                                   | pair on three machines: tests/arch                      |
// | 9 layout and metadata             | Corpus/Class9_* (6)                                     |
// | 10 symbols and dependencies       | Class10.* (this file)                                   |
// | 11 containers (signature trailer) | Class11.* (this file: unchanged kernel); every byte and |
// |                                   | field: tests/hosted/signature_verifier_test.cc          |
// | 12 lifecycle                      | Class12.* (this file); concurrency: tests/concurrency   |
//
// The cases of classes 1-9 are tests/util/malformed_corpus.h (shared with the
// fuzzers' seeds); each differs from CorpusBase, which loads, in exactly one
// way.
#include <ctype.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "hosted/signing_key.h"
#include "hostile/hostile_kernel.h"
#include "modkit/module.h"
#include "util/malformed_corpus.h"

namespace mk::test {
namespace {

using module::File;
using module::UnloadOptions;

TEST(Corpus, TheBaseLoadsAndUnloads) {
  HostileKernel k;
  KernelState before = k.Warm();
  Image img = CorpusBase();
  Result<File*> f = k.registry().load_bytes(ByteView(img.data(), img.size()), "corpus.ko");
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(k.registry().unload(f.value(), UnloadOptions{}));
  ExpectUnchanged(before, k.State(), "load and unload");
}

class CorpusCase : public ::testing::TestWithParam<size_t> {};

TEST_P(CorpusCase, RefusedExactlyAndNothingChanges) {
  const MalformedCase& c = MalformedCorpus()[GetParam()];
  SCOPED_TRACE("class " + std::to_string(c.bad_input_class) + ": " + c.name);
  HostileKernel k;
  KernelState before = k.Warm();
  Result<File*> f = k.registry().load_bytes(ByteView(c.bytes.data(), c.bytes.size()), "corpus.ko");
  ExpectError(f, c.code, c.message);
  ExpectUnchanged(before, k.State(), "a refused load");
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  const MalformedCase& c = MalformedCorpus()[info.param];
  std::string n = "Class" + std::to_string(c.bad_input_class) + "_";
  for (char ch : c.name)
    n += isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusCase, ::testing::Range(size_t{0}, MalformedCorpus().size()),
                         CaseName);

TEST(Corpus, CoversClassesOneToNine) {
  std::set<int> classes;
  for (const MalformedCase& c : MalformedCorpus())
    classes.insert(c.bad_input_class);
  EXPECT_EQ(classes, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

// ---- class 10: symbols and dependencies ----

// A module `name` whose .text defines `fn` (global FUNC) and exports it.
std::vector<uint8_t> Exporter(const std::string& name, const std::string& fn) {
  std::vector<uint8_t> md = ModuleRecord(name, 1);
  for (const auto& r : {DependRecord(name, "kernel", 1, 1, 1), ExportRecord(name, fn)})
    md.insert(md.end(), r.begin(), r.end());
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 16);
  b.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, md, 8);
  b.add_symbol(fn, text, 0, 16, elf::STB_GLOBAL, elf::STT_FUNC);
  return b.build().bytes;
}

bool InLog(HostileKernel& k, const std::string& line) {
  for (const std::string& l : k.system().log())
    if (l == line) return true;
  return false;
}

Result<File*> LoadBytes(HostileKernel& k, const std::vector<uint8_t>& bytes, const char* name) {
  return k.registry().load_bytes(ByteView(bytes.data(), bytes.size()), name);
}

TEST(Class10, AnExportThatDuplicatesAnExistingName) {
  HostileKernel k;
  std::vector<uint8_t> a = Exporter("dup_a", "shared_fn"), b = Exporter("dup_b", "shared_fn");
  ASSERT_TRUE(LoadBytes(k, a, "dup_a.ko"));
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, b, "dup_b.ko"), Errc::kDuplicate,
              "dup_b.ko: module dup_b: `shared_fn' is already exported by dup_a.ko");
  ExpectUnchanged(before, k.State(), "a refused duplicate export");
}

TEST(Class10, AnExportThatDuplicatesAKernelSymbol) {
  HostileKernel k;
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, Exporter("dup_k", "mk_printf"), "dup_k.ko"), Errc::kDuplicate,
              "dup_k.ko: module dup_k: `mk_printf' is already exported by the kernel");
  ExpectUnchanged(before, k.State(), "a refused duplicate export");
}

TEST(Class10, StrongUndefinedSymbolsAreListedInOneError) {
  HostileKernel k;
  ElfBuilder b = CorpusBuilder();
  uint32_t one = b.add_symbol("nowhere_one", elf::SHN_UNDEF);
  uint32_t two = b.add_symbol("nowhere_two", elf::SHN_UNDEF);
  b.add_rela(Corpus::kRelaText, 8, 2 /* PC32 */, one, -4);
  b.add_rela(Corpus::kRelaText, 12, 2 /* PC32 */, two, -4);
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, b.build().bytes, "corpus.ko"), Errc::kUnresolved,
              "2 undefined symbols, the first `nowhere_one' (referenced from corpus.ko .text+0x8)");
  ExpectUnchanged(before, k.State(), "unresolved symbols");
  // The error counts them; the log names every one.
  size_t lines_one = 0, lines_two = 0;
  for (const std::string& line : k.system().log()) {
    lines_one += line.find("nowhere_one") != std::string::npos;
    lines_two += line.find("nowhere_two") != std::string::npos;
  }
  EXPECT_EQ(lines_one, 1u);
  EXPECT_EQ(lines_two, 1u);
  EXPECT_TRUE(InLog(k, "corpus.ko: undefined symbol `nowhere_two' (referenced from .text+0xc)"));
}

TEST(Class10, AFailedLinkUnloadsTheDependenciesItLoaded) {
  // chain_mid and chain_base are loaded for this file, which then fails to
  // link: both go again. (Unloading chain_mid takes chain_base along; the
  // rollback used to unload chain_base a second time, freed: ASan.)
  HostileKernel k;
  std::vector<uint8_t> md = ModuleRecord("needs_mid", 1);
  for (const auto& r : {DependRecord("needs_mid", "kernel", 1, 1, 1),
                        DependRecord("needs_mid", "chain_mid", 1, 1, 1)})
    md.insert(md.end(), r.begin(), r.end());
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 16);
  b.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, md, 8);
  uint32_t missing = b.add_symbol("not_anywhere", elf::SHN_UNDEF);
  uint32_t rela = b.add_rela_section(text);
  b.add_rela(rela, 0, 1 /* R_X86_64_64 */, missing, 0);
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, b.build().bytes, "needs_mid.ko"), Errc::kUnresolved,
              "undefined symbol `not_anywhere' (referenced from needs_mid.ko .text+0x0)");
  ExpectUnchanged(before, k.State(), "a failed link after two dependencies loaded");
}

TEST(Class10, AWeakUndefinedSymbolIsZero) {
  HostileKernel k;
  ElfBuilder b = CorpusBuilder();
  uint32_t weak = b.add_symbol("maybe_there", elf::SHN_UNDEF, 0, 0, elf::STB_WEAK);
  uint32_t rela = b.add_rela_section(Corpus::kData);
  b.add_rela(rela, 8, 1 /* R_X86_64_64 */, weak, 0);
  std::vector<uint8_t> bytes = b.build().bytes;
  KernelState before = k.Warm();
  Result<File*> f = LoadBytes(k, bytes, "corpus.ko");
  ASSERT_TRUE(f) << f.error().message();
  const link::FileSymbol* counter = f.value()->linked->find("counter");
  ASSERT_NE(counter, nullptr);
  uint64_t slot;
  memcpy(&slot, reinterpret_cast<const void*>(counter->addr + 8), 8);
  EXPECT_EQ(slot, 0u) << "a weak undefined symbol's address";
  ASSERT_TRUE(k.registry().unload(f.value(), UnloadOptions{}));
  ExpectUnchanged(before, k.State(), "load and unload");
}

TEST(Class10, AnExportTheFileDoesNotDefine) {
  HostileKernel k;
  std::vector<uint8_t> md = ModuleRecord("outside", 1);
  for (const auto& r :
       {DependRecord("outside", "kernel", 1, 1, 1), ExportRecord("outside", "elsewhere")})
    md.insert(md.end(), r.begin(), r.end());
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 16);
  b.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, md, 8);
  b.add_symbol("elsewhere", elf::SHN_UNDEF);  // declared, never defined
  (void)text;
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, b.build().bytes, "outside.ko"), Errc::kNotFound,
              "outside.ko: module outside exports `elsewhere', which the file does not define");
  ExpectUnchanged(before, k.State(), "a refused export");
}

TEST(Class10, AnExportThatPointsOutsideItsModule) {
  // An absolute symbol: its "address" is anywhere (here: the kernel's mk_printf).
  HostileKernel k;
  std::vector<uint8_t> md = ModuleRecord("absolute", 1);
  for (const auto& r :
       {DependRecord("absolute", "kernel", 1, 1, 1), ExportRecord("absolute", "abs_fn")})
    md.insert(md.end(), r.begin(), r.end());
  ElfBuilder b;
  b.add_text(".text", 16);
  b.add_section("modkit_modinfo", elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, md, 8);
  b.add_symbol("abs_fn", elf::SHN_ABS, reinterpret_cast<uint64_t>(&mk_printf), 0, elf::STB_GLOBAL,
               elf::STT_FUNC);
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, b.build().bytes, "absolute.ko"), Errc::kInvalid,
              "absolute.ko: module absolute exports `abs_fn' at *, outside the file's memory (an "
              "absolute symbol); only symbols defined in the file's sections can be exported");
  ExpectUnchanged(before, k.State(), "a refused export");
}

TEST(Class10, SelfDependency) {
  HostileKernel k;
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, MetadataOnlyModule("selfish", 1, {"selfish:1:1"}), "selfish.ko"),
              Errc::kMalformed,
              "selfish.ko: modkit_modinfo+0xf8: module `selfish' depends on itself");
  ExpectUnchanged(before, k.State(), "a self-dependency");
}

TEST(Class10, ADependencyCycleIsNamed) {
  HostileKernel k;
  k.WriteModule("cyc_a.ko", MetadataOnlyModule("cyc_a", 1, {"cyc_b:1:1"}));
  k.WriteModule("cyc_b.ko", MetadataOnlyModule("cyc_b", 1, {"cyc_c:1:1"}));
  k.WriteModule("cyc_c.ko", MetadataOnlyModule("cyc_c", 1, {"cyc_a:1:1"}));
  k.WriteHints({"module cyc_a 1 cyc_a.ko", "module cyc_b 1 cyc_b.ko", "module cyc_c 1 cyc_c.ko"});
  KernelState before = k.Warm();
  ExpectError(k.registry().load_module("cyc_a", kAnyVersion), Errc::kInvalid,
              "cyc_a.ko: module cyc_a needs cyc_b: cyc_b.ko: module cyc_b needs cyc_c: dependency "
              "cycle: cyc_a -> cyc_b -> cyc_c -> cyc_a");
  ExpectUnchanged(before, k.State(), "a dependency cycle");
}

TEST(Class10, AHugeDependencyGraph) {
  // 300 modules in a chain, and one module that needs all of them.
  constexpr int kDepth = 300;
  HostileKernel k;
  std::vector<std::string> hints, all;
  for (int i = 0; i < kDepth; ++i) {
    std::string name = "deep_" + std::to_string(i);
    std::vector<std::string> deps;
    if (i > 0) deps.push_back("deep_" + std::to_string(i - 1) + ":1:1");
    k.WriteModule(name + ".ko", MetadataOnlyModule(name, 1, deps));
    hints.push_back("module " + name + " 1 " + name + ".ko");
    all.push_back(name + ":1:1");
  }
  k.WriteModule("wide.ko", MetadataOnlyModule("wide", 1, all));
  hints.push_back("module wide 1 wide.ko");
  k.WriteHints(hints);
  KernelState before = k.Warm();
  // Twice: the first time the registry's list of files and the export
  // index grow to their size for 302 files (and stay so); the second time
  // nothing may grow.
  for (int round = 0; round < 2; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    Result<File*> f = k.registry().load_module("wide", kAnyVersion);
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(k.registry().file_count(), size_t{kDepth + 2});
    ASSERT_TRUE(k.registry().unload(f.value(), UnloadOptions{}));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 30.0) << "a 300-module graph took " << s << " s";
    if (round == 0) {
      ExpectSameRegistry(before, k.State(), "loading and unloading the graph");
      before = k.State();
    } else {
      ExpectUnchanged(before, k.State(), "loading and unloading the graph again");
    }
  }
}

TEST(Class10, AVersionOutOfEveryRange) {
  HostileKernel k;
  KernelState before = k.Warm();
  ExpectError(LoadBytes(k, MetadataOnlyModule("wants_v9", 1, {"chain_base:9:12"}), "wants_v9.ko"),
              Errc::kNotFound,
              "wants_v9.ko: module wants_v9 needs chain_base: module chain_base (version 9..12) is "
              "not in the hints index of the module path; run `modkit xref` on the module "
              "directory");
  ExpectUnchanged(before, k.State(), "a dependency on a missing version");
  ExpectError(LoadBytes(k, MetadataOnlyModule("new_kpi", 1, {"kernel:2:5"}), "new_kpi.ko"),
              Errc::kNotFound,
              "new_kpi.ko: module new_kpi needs kernel version 2..5, but version 1 is loaded (from "
              "kernel)");
  ExpectUnchanged(before, k.State(), "a dependency on a newer kernel");
  ExpectError(k.registry().load_module("chain_base", module::VersionRange{7, 7, 7}),
              Errc::kNotFound,
              "module chain_base (version 7..7) is not in the hints index of the module path; run "
              "`modkit xref` on the module directory");
  ExpectUnchanged(before, k.State(), "a load of a missing version");
}

// ---- class 11: containers (the signature trailer), under enforce ----

class Class11 : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(hosted::generate_key_pair(keys_.path("trusted.key"), &err)) << err;
    ASSERT_TRUE(hosted::generate_key_pair(keys_.path("other.key"), &err)) << err;
    ASSERT_TRUE(hosted::read_secret_key(keys_.path("trusted.key"), &key_, &err)) << err;
    ASSERT_TRUE(hosted::read_secret_key(keys_.path("other.key"), &other_, &err)) << err;
  }
  std::vector<uint8_t> SignWith(const hosted::SecretKey& k) {
    std::vector<uint8_t> out = plain_, trailer = hosted::sign_module(plain_, k);
    out.insert(out.end(), trailer.begin(), trailer.end());
    return out;
  }
  std::string Refused(const std::string& why) {
    return "corpus.ko: refused by signature_policy enforce: " + why;
  }

  Scratch keys_;
  hosted::SecretKey key_, other_;
  const std::vector<uint8_t> plain_ = CorpusBase().bytes;
};

TEST_F(Class11, EveryBadContainerIsRefusedAndNothingChanges) {
  HostileKernel k(hosted::SignaturePolicy::kEnforce, {keys_.path("trusted.key.pub")});
  const std::vector<uint8_t> good = SignWith(key_);
  const size_t n = plain_.size(), size = good.size();
  // Warm: the signed file loads (and maps the arena's chunks).
  Result<File*> f = LoadBytes(k, good, "corpus.ko");
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(k.registry().unload(f.value(), UnloadOptions{}));
  KernelState before = k.State();
  char why[300];

  ExpectError(LoadBytes(k, plain_, "corpus.ko"), Errc::kPermission,
              Refused("not signed: the file does not end in a signature trailer (sign it with "
                      "`modkit sign --key KEY FILE`)"));
  ExpectUnchanged(before, k.State(), "an unsigned file");

  std::vector<uint8_t> bad = good;
  bad[size - 20] = 100;  // the trailer's size field: truncated
  snprintf(why, sizeof why,
           "truncated signature trailer: its size field (at offset 0x%zx) says 100 bytes; a "
           "version 1 trailer is 120 bytes",
           size - 20);
  ExpectError(LoadBytes(k, bad, "corpus.ko"), Errc::kPermission, Refused(why));
  ExpectUnchanged(before, k.State(), "a truncated trailer");

  bad = good;
  uint64_t huge = uint64_t{1} << 40;  // claims more bytes than the file has
  memcpy(bad.data() + n + 16, &huge, 8);
  snprintf(why, sizeof why,
           "signature trailer at offset 0x%zx claims to cover %llu bytes, but only %zu bytes "
           "precede it",
           n, static_cast<unsigned long long>(huge), n);
  ExpectError(LoadBytes(k, bad, "corpus.ko"), Errc::kPermission, Refused(why));
  ExpectUnchanged(before, k.State(), "a trailer claiming more than the file");

  bad.assign(plain_.begin(), plain_.end());  // signs other bytes: 8 more before it
  bad.insert(bad.end(), 8, 0);
  bad.insert(bad.end(), good.begin() + n, good.end());
  snprintf(why, sizeof why,
           "signature trailer at offset 0x%zx covers %zu bytes, but %zu bytes precede it: 8 "
           "bytes before the trailer are not signed",
           n + 8, n, n + 8);
  ExpectError(LoadBytes(k, bad, "corpus.ko"), Errc::kPermission, Refused(why));
  ExpectUnchanged(before, k.State(), "a trailer signing other bytes");

  bad = good;
  bad[Corpus::kText] ^= 1;  // one module byte (in the ELF header) changed after signing
  snprintf(why, sizeof why,
           "bad signature: the signature at offset 0x%zx does not match the %zu bytes it covers "
           "under key id %s (%s); the file changed after it was signed",
           n + module::kTrailerSignatureOffset, n, hosted::hex(key_.pub.id).c_str(),
           keys_.path("trusted.key.pub").c_str());
  ExpectError(LoadBytes(k, bad, "corpus.ko"), Errc::kPermission, Refused(why));
  ExpectUnchanged(before, k.State(), "a changed byte");

  ExpectError(LoadBytes(k, SignWith(other_), "corpus.ko"), Errc::kPermission,
              Refused("untrusted key: signed by key id " + hosted::hex(other_.pub.id) +
                      ", which is not a trusted key (trusted: " + hosted::hex(key_.pub.id) +
                      "); add its .pub file as a trusted key"));
  ExpectUnchanged(before, k.State(), "an untrusted key");
}

// ---- class 12: lifecycle ----

TEST(Class12, InitThatFailsAfterRegisteringIsUndone) {
  // fail_init's SYSINITs register a hook and a driver, then its LOAD fails;
  // chain_base, loaded for it, goes too.
  // The first failure leaves the export index one name larger (a removed
  // export keeps its name for the next file that exports it); the second
  // changes nothing at all.
  HostileKernel k;
  KernelState before = k.Warm();
  for (int round = 0; round < 2; ++round) {
    ExpectError(k.registry().load_module("fail_init", kAnyVersion), Errc::kInvalid,
                "fail_init.ko: module fail_init failed to load: its LOAD handler returned 6");
    if (round == 0) {
      ExpectSameRegistry(before, k.State(), "a failed init");
      before = k.State();
    } else {
      ExpectUnchanged(before, k.State(), "a failed init, again");
    }
  }
  EXPECT_TRUE(InLog(k, "fail_init: SYSUNINIT: hook removed (0 held)"));
}

TEST(Class12, UnloadWhileReferenced) {
  HostileKernel k;
  KernelState empty = k.Warm();
  ASSERT_TRUE(k.registry().load_module("hello", kAnyVersion));
  Result<module::Module*> m = k.registry().get("hello");
  ASSERT_TRUE(m);
  KernelState held = k.State();
  ExpectError(k.registry().unload_module("hello", UnloadOptions{}), Errc::kBusy,
              "module hello of hello.ko has 1 reference(s) in use");
  ExpectUnchanged(held, k.State(), "a refused unload");
  k.registry().put(m.value());
  ASSERT_TRUE(k.registry().unload_module("hello", UnloadOptions{}));
  ExpectUnchanged(empty, k.State(), "the unload");
}

TEST(Class12, TwoLoadsOfTheSameNameAtOnce) {
  HostileKernel k;
  KernelState empty = k.Warm();
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> ready{0};
    std::optional<Result<File*>> results[2];
    std::thread t[2];
    for (int i = 0; i < 2; ++i)
      t[i] = std::thread([&, i] {
        ++ready;
        while (ready.load() < 2) {
        }
        results[i].emplace(k.registry().load_module("chain_top", kAnyVersion));
      });
    for (auto& th : t)
      th.join();
    EXPECT_EQ(k.registry().file_count(), 4u) << "one chain, whoever won";
    int ok = 0;
    for (auto& opt : results) {
      const Result<File*>& r = *opt;
      if (r) {
        ++ok;
        continue;
      }
      EXPECT_STREQ(errc_name(r.error().code()), errc_name(Errc::kDuplicate)) << r.error().message();
      EXPECT_EQ(std::string(r.error().message()),
                "module chain_top is already loaded (version 1, from chain_top.ko)");
    }
    EXPECT_GE(ok, 1);
    ASSERT_TRUE(k.registry().unload_module("chain_top", UnloadOptions{}));
    ExpectUnchanged(empty, k.State(), "round " + std::to_string(round));
  }
}

TEST(Class12, ALoadDuringAnUnload) {
  // hello is held; its unload waits for the reference. Meanwhile a load of
  // hello is refused (as "already loaded": the GOING module still holds the
  // name); once the reference is put the unload completes and hello loads
  // again.
  HostileKernel k;
  KernelState empty = k.Warm();
  ASSERT_TRUE(k.registry().load_module("hello", kAnyVersion));
  Result<module::Module*> m = k.registry().get("hello");
  ASSERT_TRUE(m);
  std::optional<Result<module::UnloadResult>> unloaded;
  std::thread t([&] {
    UnloadOptions o;
    o.policy = UnloadOptions::Policy::kWait;
    o.timeout_ns = 20'000'000'000;
    unloaded.emplace(k.registry().unload_module("hello", o));
  });
  while (m.value()->state != module::State::kGoing)
    std::this_thread::yield();
  ExpectError(k.registry().load_module("hello", kAnyVersion), Errc::kDuplicate,
              "module hello is already loaded (version 1, from hello.ko)");
  k.registry().put(m.value());
  t.join();
  ASSERT_TRUE(*unloaded) << unloaded->error().message();
  ExpectUnchanged(empty, k.State(), "the unload");
  ASSERT_TRUE(k.registry().load_module("hello", kAnyVersion));
  ASSERT_TRUE(k.registry().unload_module("hello", UnloadOptions{}));
}

TEST(Class12, TenThousandLoadUnloadCyclesLeaveMemoryWhereItStarted) {
  HostileKernel k;
  ASSERT_TRUE(k.registry().load_module("hello", kAnyVersion));
  ASSERT_TRUE(k.registry().unload_module("hello", UnloadOptions{}));
  KernelState before = k.Warm();
  const size_t mapped = k.system().arena().stats().mapped;
  const long mappings = k.pages.live();
  for (int i = 0; i < 10000; ++i) {
    Result<File*> f = k.registry().load_module("hello", kAnyVersion);
    ASSERT_TRUE(f) << "cycle " << i << ": " << f.error().message();
    Result<module::UnloadResult> u = k.registry().unload(f.value(), UnloadOptions{});
    ASSERT_TRUE(u) << "cycle " << i << ": " << u.error().message();
  }
  ExpectUnchanged(before, k.State(), "10,000 cycles");
  EXPECT_EQ(k.system().arena().stats().mapped, mapped);
  EXPECT_EQ(k.pages.live(), mappings);
}

}  // namespace
}  // namespace mk::test
