// End-to-end tests of `modkit inspect FILE`: every sample module of every
// machine (x86_64 as CMake built them; aarch64 and riscv64 cross-compiled at
// test time, skipped with a message when the cross tools are missing) is
// reported as valid, and its report is checked against independent readers:
// binutils (nm, readelf) for imports, sections and relocation kinds, the
// module sources for the metadata. A test-time module shows a namespaced
// export, a sysinit and a record kind this build does not know; damaged
// files give the validator's exact message and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "exec/process.h"
#include "hosted/malloc_allocator.h"
#include "module/signature_trailer.h"
#include "tools/samples.h"

namespace mk::test {
namespace {

using json = nlohmann::json;
using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::RunProcess;
using modkit::exec_test::WriteFile;

Outcome Inspect(const std::vector<std::string>& args, const Scratch& scratch) {
  static int runs = 0;
  Command c;
  c.argv = {ModkitTool(), "inspect"};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  c.capture_prefix = scratch.path("inspect" + std::to_string(runs++));
  Outcome out = RunProcess(c);
  EXPECT_TRUE(out.started) << out.err;
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

std::string ValidatorMessage(const std::vector<uint8_t>& bytes) {
  hosted::MallocAllocator alloc;
  auto r = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
  return r.ok() ? "" : r.error().message();
}

// What the module sources declare (modules/*.c, *.cc): module -> the
// dependencies "target min preferred max" and exports.
struct Declared {
  std::vector<std::string> depends;
  std::vector<std::string> exports;
};
const std::map<std::string, std::map<std::string, Declared>>& SampleMetadata() {
  static const std::map<std::string, std::map<std::string, Declared>> m{
      {"hello", {{"hello", {{"kernel 1 1 1"}, {}}}}},
      {"chain_base", {{"chain_base", {{"kernel 1 1 1"}, {"chain_base_version"}}}}},
      {"chain_mid", {{"chain_mid", {{"kernel 1 1 1", "chain_base 1 2 3"}, {"chain_mid_value"}}}}},
      {"chain_top", {{"chain_top", {{"kernel 1 1 1", "chain_mid 1 1 1"}, {"chain_top_value"}}}}},
      {"two_in_one", {{"two_a", {{"two_b 1 1 1"}, {}}}, {"two_b", {{"kernel 1 1 1"}, {}}}}},
      {"fail_init",
       {{"fail_init_first", {{"kernel 1 1 1"}, {}}},
        {"fail_init", {{"chain_base 1 2 3"}, {"fail_init_held"}}}}},
      {"veto",
       {{"veto", {{"kernel 1 1 1"}, {"veto_set_busy"}}}, {"veto_peer", {{"veto 1 1 1"}, {}}}}},
      {"counter", {{"counter", {{"kernel 1 1 1"}, {"counter_next", "counter_constructions"}}}}},
      {"nested", {{"nested", {{"kernel 1 1 1"}, {}}}}},
  };
  return m;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class InspectSamples : public ::testing::TestWithParam<const Target*> {};

TEST_P(InspectSamples, EverySampleIsReportedAsBinutilsSeesIt) {
  const Target& t = *GetParam();
  std::string why;
  if (!Available(t, &why)) GTEST_SKIP() << why;
  Scratch scratch;
  std::map<std::string, std::string> kos = SampleModules(t, scratch);
  ASSERT_EQ(kos.size(), SampleNames().size());
  for (const auto& [name, ko] : kos) {
    SCOPED_TRACE(name + " " + ko);
    Outcome out = Inspect({"--json", ko}, scratch);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.err, "");
    json j = json::parse(out.out);
    EXPECT_EQ(j["machine"], t.label);
    EXPECT_EQ(j["e_machine"], t.machine);
    EXPECT_EQ(j["valid"], true);
    EXPECT_EQ(j["other_records"].size(), 0u);

    // Metadata, against the sources.
    const auto& declared = SampleMetadata().at(name);
    ASSERT_EQ(j["modules"].size(), declared.size());
    for (const json& m : j["modules"]) {
      std::string mod = m["name"];
      ASSERT_EQ(declared.count(mod), 1u) << mod;
      EXPECT_EQ(m["version"], name == "chain_base" ? 2 : 1) << mod;
      std::vector<std::string> deps, exports;
      for (const json& d : m["dependencies"])
        deps.push_back(d["target"].get<std::string>() + " " + std::to_string(d["min"].get<int>()) +
                       " " + std::to_string(d["preferred"].get<int>()) + " " +
                       std::to_string(d["max"].get<int>()));
      for (const json& e : m["exports"]) {
        EXPECT_EQ(e["namespace"], "");
        exports.push_back(e["name"]);
      }
      EXPECT_EQ(Sorted(deps), Sorted(declared.at(mod).depends)) << mod;
      EXPECT_EQ(Sorted(exports), Sorted(declared.at(mod).exports)) << mod;
      EXPECT_EQ(m["sysinits"].size(), name == "fail_init" && mod == "fail_init" ? 4u : 0u);
      EXPECT_EQ(m["imports_namespaces"], json::array());
      EXPECT_EQ(m["drivers"], json::array());
    }

    // Imports: what nm lists as undefined.
    RunResult nm = mk::test::Run(Tool(t, "nm") + " -u " + Quote(ko));
    ASSERT_EQ(nm.status, 0) << nm.output;
    std::vector<std::string> undefined, imports;
    for (const std::string& l : Lines(nm.output)) {
      std::istringstream w(l);
      std::string kind, sym;
      w >> kind >> sym;
      undefined.push_back(sym);
    }
    for (const json& i : j["imports"])
      imports.push_back(i["name"]);
    EXPECT_EQ(Sorted(imports), Sorted(undefined));

    // Sections: names, sizes and relocation counts, as the ELF headers say.
    ElfFile elf = ReadElf(ko);
    ASSERT_EQ(j["sections"].size(), elf.sections.size() - 1);
    std::map<uint32_t, uint64_t> per_target;
    uint64_t total = 0;
    {
      std::vector<uint8_t> b = ReadBytes(ko);
      elf::Ehdr eh;
      memcpy(&eh, b.data(), sizeof eh);
      for (unsigned i = 1; i < eh.shnum; ++i) {
        elf::Shdr sh;
        memcpy(&sh, b.data() + eh.shoff + i * sizeof sh, sizeof sh);
        if (sh.type != elf::SHT_RELA && sh.type != elf::SHT_REL) continue;
        per_target[sh.info] += sh.size / sh.entsize;
        total += sh.size / sh.entsize;
      }
    }
    for (size_t k = 1; k < elf.sections.size(); ++k) {
      const json& s = j["sections"][k - 1];
      EXPECT_EQ(s["index"], k);
      EXPECT_EQ(s["name"], elf.sections[k].name);
      EXPECT_EQ(s["size"], elf.sections[k].size);
      EXPECT_EQ(s["relocations"], per_target[static_cast<uint32_t>(k)]) << elf.sections[k].name;
    }

    // Relocation kinds, as readelf names and counts them.
    RunResult re = mk::test::Run("readelf -rW " + Quote(ko));
    ASSERT_EQ(re.status, 0) << re.output;
    std::map<std::string, uint64_t> kinds;
    for (const std::string& l : Lines(re.output)) {
      std::istringstream w(l);
      std::string off, info, type;
      w >> off >> info >> type;
      if (type.rfind("R_", 0) == 0) ++kinds[type];
    }
    std::map<std::string, uint64_t> reported;
    for (const auto& [kind, n] : j["relocations"]["by_kind"].items())
      reported[kind] = n;
    EXPECT_EQ(reported, kinds);
    EXPECT_EQ(j["relocations"]["total"], total);
  }
}

// Every sample in modules/ (those the test above checks against their
// sources, and the services samples: devices, tunables, services), for each
// machine: inspect reports it valid, with its modules; xref over all of them
// indexes exactly those modules, each in its file (what CMake builds for
// x86_64 is every source: nothing in modules/ escapes this test).
TEST_P(InspectSamples, EverySampleInModulesIsValidAndIndexed) {
  const Target& t = *GetParam();
  std::string why;
  if (!Available(t, &why)) GTEST_SKIP() << why;
  Scratch scratch;
  std::vector<std::string> names = AllSampleSources();
  ASSERT_GE(names.size(), SampleNames().size());
  std::map<std::string, std::string> kos = SampleModules(t, scratch, names);
  ASSERT_EQ(kos.size(), names.size());
  std::string dir = scratch.path(std::string(t.label) + "_all");
  ASSERT_EQ(mk::test::Run("mkdir -p " + Quote(dir)).status, 0);
  std::set<std::string> expected;
  for (const auto& [name, ko] : kos) {
    SCOPED_TRACE(name + " " + ko);
    Outcome out = Inspect({"--json", ko}, scratch);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.err, "");
    json j = json::parse(out.out);
    EXPECT_EQ(j["machine"], t.label);
    EXPECT_EQ(j["valid"], true);
    EXPECT_GE(j["modules"].size(), 1u);
    for (const json& m : j["modules"])
      expected.insert("module " + m["name"].get<std::string>() + " " +
                      std::to_string(m["version"].get<int>()) + " " + name + ".ko");
    Outcome text = Inspect({ko}, scratch);
    EXPECT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("\nverdict: valid\n"), std::string::npos) << text.out;
    ASSERT_EQ(mk::test::Run("cp " + Quote(ko) + " " + Quote(dir + "/" + name + ".ko")).status, 0);
  }
  Command c;
  c.argv = {ModkitTool(), "xref", dir};
  c.capture_prefix = scratch.path(std::string(t.label) + "_xref");
  Outcome x = RunProcess(c);
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_EQ(x.out + x.err, "");
  std::set<std::string> indexed;
  std::vector<uint8_t> hints = ReadBytes(dir + "/modkit.hints");
  for (const std::string& l : Lines(std::string(hints.begin(), hints.end())))
    if (l.rfind("module ", 0) == 0) indexed.insert(l);
  EXPECT_EQ(indexed, expected);
}

INSTANTIATE_TEST_SUITE_P(Machines, InspectSamples,
                         ::testing::Values(&X86_64(), &AArch64(), &RiscV64()),
                         [](const auto& p) { return std::string(p.param->label); });

// A module with a namespaced export, sysinits, and a record of a kind this
// build does not read (as a newer SDK could write).
const char kNewer[] = R"(#include <modkit/module.h>
#include <modkit/bus.h>
int gadget_probe(int x) { return x + 1; }
int gadget_ticks;
void gadget_init(void* arg) { (void)arg; }
MODKIT_MODULE(gadget, 7, NULL, NULL);
MODKIT_DEPEND(gadget, kernel, 1, 2, 3);
MODKIT_SYSINIT(gadget, MK_SI_DRIVERS, 5, gadget_init, NULL);
MODKIT_SYSUNINIT(gadget, 1234, 6, gadget_init, NULL);
MODKIT_EXPORT_NS(gadget, probes, gadget_probe);
MODKIT_IMPORT_NS(gadget, clocks);
MODKIT_DRIVER(gadget, gadget_drv, simbus, 10);
MODKIT_MATCH_IDS(gadget, gadget_drv, 0x1af4, 0x1001);
MODKIT_MATCH_IDS(gadget, gadget_drv, 0x1af4, MK_MATCH_ANY);
MODKIT_MATCH_COMPAT(gadget, gadget_drv, "acme,gadget");
extern int mk_clock_ticks(void);
int gadget_now(void) { return mk_clock_ticks(); }
#ifdef NEWER_RECORD
static struct { struct mk_meta_header h; char module[MK_NAME_MAX]; char key[16]; uint64_t value; }
    newer __attribute__((section("modkit_modinfo"), used, aligned(8))) =
    {{MK_META_MAGIC, MK_META_VERSION, 200, 8 + MK_NAME_MAX + 16 + 8}, "gadget", "speed", 42};
#endif
)";

std::string SdkFlag() {
  return "-I" + SourceDir() + "/sdk/include";
}

TEST(Inspect, TextReportNamesEveryDeclaration) {
  Scratch scratch;
  std::string ko = scratch.Compile(kGcc, "gadget.c", kNewer, {"-O2", "-fPIC", SdkFlag()});
  ASSERT_FALSE(ko.empty());
  Outcome out = Inspect({ko}, scratch);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.err, "");
  std::vector<std::string> lines = Lines(out.out);
  ASSERT_GE(lines.size(), 14u);
  EXPECT_EQ(lines[0], ko + ": " + BuildMachine().label + " relocatable object, " +
                          std::to_string(ReadBytes(ko).size()) + " bytes");
  EXPECT_EQ(lines[1], "verdict: valid");
  EXPECT_EQ(lines[2], "module gadget version 7");
  EXPECT_EQ(lines[3], "  depends on kernel 1..3, preferred 2");
  EXPECT_EQ(lines[4], "  sysinit subsystem 500 (MK_SI_DRIVERS) order 5");
  EXPECT_EQ(lines[5], "  sysuninit subsystem 1234 order 6");
  EXPECT_EQ(lines[6], "  imports namespace clocks");
  EXPECT_EQ(lines[7], "  driver gadget_drv on bus simbus, priority 10");
  // Match entries in record order, which the compiler chooses.
  std::vector<std::string> matches(lines.begin() + 8, lines.begin() + 11);
  EXPECT_EQ(Sorted(matches), Sorted({"    matches vendor 0x1af4 device 0x1001",
                                     "    matches vendor 0x1af4 device any",
                                     "    matches compatible \"acme,gadget\""}));
  EXPECT_EQ(lines[11], "  exports gadget_probe (namespace probes)");
  EXPECT_EQ(lines[12], "imports (1):");
  EXPECT_EQ(lines[13].substr(0, 24), "  mk_clock_ticks        ");
  EXPECT_NE(out.out.find("\nsections ("), std::string::npos);
  EXPECT_NE(out.out.find("\nrelocations ("), std::string::npos);
}

// Tunables (modkit/service.h) are read offline: type, name, default, description.
TEST(Inspect, TunablesAreShownWithTheirDefaults) {
  Scratch scratch;
  std::string ko = scratch.Compile(kGcc, "knobs.c", R"(#include <modkit/service.h>
MODKIT_MODULE(knobs, 1, NULL, NULL);
MODKIT_TUNABLE(knobs, level, int, -3, "how loud");
MODKIT_TUNABLE_STRING(knobs, label, 16, "none", "what to call it");
int knobs_sum(void) { return level + label[0]; }
)",
                                   {"-O2", "-fPIC", SdkFlag()});
  ASSERT_FALSE(ko.empty());
  Outcome out = Inspect({ko}, scratch);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::vector<std::string> lines = Lines(out.out);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[2], "module knobs version 1");
  // In record order, which is the compiler's: either way round.
  std::vector<std::string> got{lines[3], lines[4]};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"  tunable int level = -3  how loud",
                                           "  tunable string label = none  what to call it"}));
  Outcome js = Inspect({ko, "--json"}, scratch);
  ASSERT_EQ(js.exit_code, 0) << js.err;
  json t = json::parse(js.out)["modules"][0]["tunables"];
  ASSERT_EQ(t.size(), 2u);
  json label = t[0]["name"] == "label" ? t[0] : t[1];
  EXPECT_EQ(label["size"], 16);
  EXPECT_EQ(label["type"], "string");
}

TEST(Inspect, UnknownRecordKindIsShownAndRefused) {
  Scratch scratch;
  std::string ko =
      scratch.Compile(kGcc, "gadget.c", kNewer, {"-O2", "-fPIC", "-DNEWER_RECORD", SdkFlag()});
  ASSERT_FALSE(ko.empty());
  Outcome out = Inspect({"--json", ko}, scratch);
  EXPECT_EQ(out.exit_code, 1);
  json j = json::parse(out.out);
  EXPECT_EQ(j["valid"], false);
  ASSERT_EQ(j["other_records"].size(), 1u);
  const json& r = j["other_records"][0];
  EXPECT_EQ(r["kind"], 200);
  EXPECT_EQ(r["size"], 96);
  EXPECT_EQ(r["strings"], json::array({"gadget", "speed"}));
  // The metadata reader's verdict, which a load would give too.
  std::string offset = "0x" + [&] {
    std::ostringstream s;
    s << std::hex << r["offset"].get<uint64_t>();
    return s.str();
  }();
  std::string expected = "modkit_modinfo+" + offset + ": record kind 200 is unknown";
  EXPECT_EQ(j["error"], expected);
  EXPECT_EQ(out.err, "modkit inspect: " + ko + ": " + expected + "\n");
  // Still a full report of what could be read.
  EXPECT_GT(j["sections"].size(), 5u);
  EXPECT_EQ(j["imports"].size(), 1u);

  Outcome text = Inspect({ko}, scratch);
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("verdict: refused: " + expected + "\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("record kind 200 (96 bytes) at section "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(", unknown to this modkit: \"gadget\" \"speed\"\n"), std::string::npos)
      << text.out;
}

// A damaged copy of a sample module: the validator's exact message, exit 1,
// in text and in JSON.
void ExpectRefused(const std::vector<uint8_t>& bytes, const std::string& what) {
  SCOPED_TRACE(what);
  Scratch scratch;
  std::string path = scratch.path("damaged.ko");
  WriteFile(path, std::string(bytes.begin(), bytes.end()));
  std::string message = ValidatorMessage(bytes);
  ASSERT_NE(message, "");
  Outcome out = Inspect({path}, scratch);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "modkit inspect: " + path + ": " + message + "\n");
  EXPECT_NE(out.out.find("\nverdict: refused: " + message + "\n"), std::string::npos) << out.out;
  Outcome j = Inspect({"--json", path}, scratch);
  EXPECT_EQ(j.exit_code, 1);
  json r = json::parse(j.out);
  EXPECT_EQ(r["valid"], false);
  EXPECT_EQ(r["error"], message);
  EXPECT_FALSE(r.contains("sections"));
}

TEST(Inspect, DamagedFilesGiveTheValidatorsMessage) {
  std::vector<uint8_t> good = ReadBytes(BinaryDir() + "/modules/chain_mid.ko");
  ASSERT_GT(good.size(), 1000u);
  elf::Ehdr eh;
  memcpy(&eh, good.data(), sizeof eh);

  std::vector<uint8_t> truncated(good.begin(), good.begin() + good.size() / 2);
  ExpectRefused(truncated, "truncated");
  EXPECT_NE(ValidatorMessage(truncated).find("section table"), std::string::npos)
      << ValidatorMessage(truncated);

  ExpectRefused({0x7f, 'E', 'L', 'F', 2, 1}, "shorter than a header");

  std::vector<uint8_t> bad_shstrndx = good;
  uint16_t past = static_cast<uint16_t>(eh.shnum + 3);
  memcpy(bad_shstrndx.data() + offsetof(elf::Ehdr, shstrndx), &past, 2);
  ExpectRefused(bad_shstrndx, "section-name table index past the table");

  // The first relocation section patches a section that does not exist.
  std::vector<uint8_t> bad_target = good;
  for (unsigned i = 1; i < eh.shnum; ++i) {
    elf::Shdr sh;
    uint64_t at = eh.shoff + i * sizeof sh;
    memcpy(&sh, good.data() + at, sizeof sh);
    if (sh.type != elf::SHT_RELA) continue;
    sh.info = 999;
    memcpy(bad_target.data() + at, &sh, sizeof sh);
    break;
  }
  ExpectRefused(bad_target, "relocation target index past the table");
  EXPECT_NE(ValidatorMessage(bad_target).find("999"), std::string::npos)
      << ValidatorMessage(bad_target);
}

TEST(Inspect, SignedFilesShowTheirKeyAndDamagedTrailersAreRefused) {
  Scratch scratch;
  std::string key = scratch.path("release.key");
  std::string ko = scratch.path("signed.ko");
  Command keygen{{ModkitTool(), "keygen", "-o", key}, {}, scratch.path("keygen")};
  ASSERT_TRUE(RunProcess(keygen).Succeeded());
  Command sign{
      {ModkitTool(), "sign", "--key", key, BinaryDir() + "/modules/chain_mid.ko", "-o", ko},
      {},
      scratch.path("sign")};
  Outcome signed_out = RunProcess(sign);
  ASSERT_TRUE(signed_out.Succeeded()) << signed_out.err;
  std::vector<uint8_t> bytes = ReadBytes(ko);
  uint64_t covered = bytes.size() - module::kSignatureTrailerSize;

  Outcome out = Inspect({"--json", ko}, scratch);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  json j = json::parse(out.out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["signature"]["algorithm"], "ed25519");
  EXPECT_EQ(j["signature"]["covers"], covered);
  EXPECT_EQ(j["signature"]["key_id"].get<std::string>().size(), 32u);
  EXPECT_EQ(j["modules"][0]["name"], "chain_mid");
  Outcome text = Inspect({ko}, scratch);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_EQ(Lines(text.out).at(1),
            "signature: Ed25519 by key " + j["signature"]["key_id"].get<std::string>() +
                " over the first " + std::to_string(covered) +
                " bytes (not verified here: `modkit verify` checks it against a key)");

  // A reserved field of the trailer that is not 0: the trailer parser's
  // message, as a load would give it.
  bytes[covered + 28] = 1;
  std::string damaged = scratch.path("damaged.ko");
  WriteFile(damaged, std::string(bytes.begin(), bytes.end()));
  auto t = module::parse_signature_trailer(ByteView(bytes.data(), bytes.size()));
  ASSERT_FALSE(t.ok());
  Outcome bad = Inspect({damaged}, scratch);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "modkit inspect: " + damaged + ": " + t.error().message() + "\n");
}

TEST(Inspect, UsageAndUnreadableFiles) {
  Scratch scratch;
  Outcome none = Inspect({}, scratch);
  EXPECT_EQ(none.exit_code, 2);
  Outcome missing = Inspect({scratch.path("nope.ko")}, scratch);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err,
            "modkit inspect: " + scratch.path("nope.ko") + ": No such file or directory\n");
  Outcome help = Inspect({"--help"}, scratch);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Example:\n  modkit inspect "), std::string::npos) << help.out;
}

}  // namespace
}  // namespace mk::test
