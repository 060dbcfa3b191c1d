// End-to-end tests of `modkit xref DIR`: a directory of .ko files compiled at
// test time from small C and C++ sources that use the SDK (one of them the
// `ld -r` of two objects, declaring two modules), indexed by the built tool;
// the hints file is checked byte for byte, and damaged files must give the
// validator's or the metadata reader's message with their path, and exit 1.
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "exec/process.h"
#include "gtest/gtest.h"
#include "link/toolchain.h"
#include "module/hints.h"
#include "support/test_allocator.h"

namespace mk::test {
namespace {

namespace fs = std::filesystem;
using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::ReadFile;
using modkit::exec_test::RunProcess;
using modkit::exec_test::WriteFile;

std::string FromEnv(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string Modkit() {
  return FromEnv("MODKIT_BINARY_DIR", MODKIT_XREF_BINARY_DIR) + "/tools/modkit/modkit";
}

std::string SdkFlag() {
  return "-I" + FromEnv("MODKIT_SOURCE_DIR", MODKIT_XREF_SOURCE_DIR) + "/sdk/include";
}

const char kEcho[] = R"(#include <modkit/module.h>
int echo_event(struct mk_module* m, int event, void* arg) { (void)m; (void)event; (void)arg; return 0; }
int echo_write(int x) { return x; }
MODKIT_MODULE(echo, 3, echo_event, NULL);
MODKIT_DEPEND(echo, kernel, 1, 1, 1);
MODKIT_EXPORT(echo, echo_write);
)";

const char kAlpha[] = R"(#include <modkit/module.h>
int alpha_value(void) { return 1; }
MODKIT_MODULE(alpha, 1, NULL, NULL);
MODKIT_EXPORT(alpha, alpha_value);
)";

const char kBeta[] = R"(#include <modkit/module.h>
void beta_init(void* arg) { (void)arg; }
MODKIT_MODULE(beta, 2, NULL, NULL);
MODKIT_DEPEND(beta, alpha, 1, 1, 1);
MODKIT_SYSINIT(beta, MK_SI_SERVICES, 1, beta_init, NULL);
)";

const char kShapes[] = R"(#include <modkit/module.h>
namespace shapes {
struct Square { int side; int area() const { return side * side; } };
int total(int n) { Square s{n}; return s.area(); }
}
extern "C" int shapes_area(int n) { return shapes::total(n); }
MODKIT_MODULE(shapes, 12, NULL, NULL);
MODKIT_DEPEND(shapes, kernel, 1, 1, 1);
MODKIT_EXPORT_NS(shapes, geometry, shapes_area);
)";

const char kPlain[] = "int plain_value = 7;\n";

// The objects every test copies into its own module directory, built once.
struct Objects {
  Scratch scratch;
  std::string echo, pair, shapes, plain;
};

Objects* g_objects = nullptr;

class Xref : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_objects = new Objects;
    Objects& o = *g_objects;
    std::vector<std::string> flags = {"-O2", SdkFlag()};
    o.echo = o.scratch.Compile(kGcc, "echo.c", kEcho, flags);
    std::string a = o.scratch.Compile(kGcc, "alpha.c", kAlpha, flags);
    std::string b = o.scratch.Compile(kClang, "beta.c", kBeta, flags);
    o.shapes = o.scratch.Compile(kClang, "shapes.cc", kShapes, flags);
    o.plain = o.scratch.Compile(kGcc, "plain.c", kPlain, flags);
    o.pair = o.scratch.path("pair.o");
    RunResult r = mk::test::Run("ld -r " + Quote(a) + " " + Quote(b) + " -o " + Quote(o.pair));
    if (r.status != 0) {
      ADD_FAILURE() << "ld -r failed: " << r.output;
      o.pair.clear();
    }
  }
  static void TearDownTestSuite() {
    delete g_objects;
    g_objects = nullptr;
  }

  void SetUp() override {
    const Objects& o = *g_objects;
    ASSERT_FALSE(o.echo.empty() || o.pair.empty() || o.shapes.empty() || o.plain.empty());
    dir_ = scratch_.path("modules");
    fs::create_directory(dir_);
    fs::create_directory(scratch_.path("captures"));
  }

  void Add(const std::string& object, const std::string& name) {
    fs::copy_file(object, dir_ + "/" + name);
  }
  void AddStandardSet() {
    Add(g_objects->echo, "echo.ko");
    Add(g_objects->pair, "pair.ko");
    Add(g_objects->shapes, "cxx.ko");
  }

  Outcome RunXref(std::vector<std::string> args) {
    Command c;
    c.argv = {Modkit(), "xref"};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.capture_prefix = scratch_.path("captures/run" + std::to_string(runs_++));
    Outcome out = RunProcess(c);
    EXPECT_TRUE(out.started) << out.err;
    return out;
  }

  std::string Hints() { return ReadFile(dir_ + "/modkit.hints"); }

  std::vector<std::string> Listing() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  Scratch scratch_;
  std::string dir_;
  int runs_ = 0;
};

const char kStandardHints[] =
    "modkit-hints 2\n"
    "module shapes 12 cxx.ko\n"
    "module echo 3 echo.ko\n"
    "module alpha 1 pair.ko\n"
    "module beta 2 pair.ko\n";

TEST_F(Xref, IndexesEveryModuleOfEveryFile) {
  AddStandardSet();
  Add(g_objects->plain, "plain.ko");       // no metadata: indexed, nothing to list
  Add(g_objects->echo, ".hidden.ko");      // hidden: not looked at
  WriteFile(dir_ + "/notes.txt", "hi\n");  // not a .ko
  fs::create_directory(dir_ + "/sub.ko");  // not a file
  Outcome out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "");
  EXPECT_EQ(out.err, "");
  EXPECT_EQ(Hints(), kStandardHints);
  // No temporary file left behind, and the index is readable by everyone.
  EXPECT_EQ(Listing(), (std::vector<std::string>{".hidden.ko", "cxx.ko", "echo.ko", "modkit.hints",
                                                 "notes.txt", "pair.ko", "plain.ko", "sub.ko"}));
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/modkit.hints").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  // The core reads it back, and finds what a dependency would need.
  mk::testing::TestAllocator alloc;
  mk::module::Hints hints(alloc);
  std::string text = Hints();
  ASSERT_TRUE(
      hints.parse(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())).ok());
  const mk::module::HintEntry* e = hints.choose("alpha", 1, 1, 1);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->file, "pair.ko");
}

TEST_F(Xref, Json) {
  AddStandardSet();
  Outcome out = RunXref({"--json", dir_});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out,
            "[\n"
            "  {\"module\": \"shapes\", \"version\": 12, \"file\": \"cxx.ko\"},\n"
            "  {\"module\": \"echo\", \"version\": 3, \"file\": \"echo.ko\"},\n"
            "  {\"module\": \"alpha\", \"version\": 1, \"file\": \"pair.ko\"},\n"
            "  {\"module\": \"beta\", \"version\": 2, \"file\": \"pair.ko\"}\n"
            "]\n");
  EXPECT_EQ(out.err, "");
  EXPECT_EQ(Hints(), kStandardHints);
}

TEST_F(Xref, JsonOfAnEmptyDirectory) {
  Outcome out = RunXref({dir_, "--json"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "[]\n");
  EXPECT_EQ(Hints(), "modkit-hints 2\n");
}

TEST_F(Xref, VerboseListsWhatWasIndexed) {
  AddStandardSet();
  Add(g_objects->plain, "plain.ko");
  Outcome out = RunXref({"-v", dir_});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out,
            "cxx.ko: module shapes version 12\n"
            "echo.ko: module echo version 3\n"
            "pair.ko: module alpha version 1\n"
            "pair.ko: module beta version 2\n"
            "plain.ko: no modules\n" +
                dir_ + "/modkit.hints: 4 modules from 4 files (0 skipped)\n");
  // With --json, the listing goes to stderr and stdout stays JSON.
  Outcome json = RunXref({"-v", "--json", dir_});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_EQ(json.err, out.out);
  EXPECT_EQ(json.out.substr(0, 2), "[\n");
}

// What the validator says about these bytes: the tool must pass it on as is.
std::string ValidatorMessage(const std::vector<uint8_t>& bytes) {
  mk::testing::TestAllocator alloc;
  auto r = elf::validate(ByteView(bytes.data(), bytes.size()), arch::rules_for, alloc);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message();
}

TEST_F(Xref, DamagedFileIsReportedSkippedAndFailsTheRun) {
  AddStandardSet();
  std::vector<uint8_t> echo = ReadBytes(g_objects->echo);
  std::vector<uint8_t> truncated(echo.begin(), echo.begin() + echo.size() / 2);
  std::string broken = dir_ + "/broken.ko";
  WriteFile(broken, std::string(truncated.begin(), truncated.end()));
  std::string message = ValidatorMessage(truncated);
  ASSERT_NE(message, "");
  Outcome out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "modkit xref: " + broken + ": " + message + "\n");
  EXPECT_EQ(Hints(), kStandardHints);  // the others are still indexed

  // Shorter than an ELF header.
  WriteFile(broken,
            "\x7f"
            "EL");
  out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "modkit xref: " + broken + ": " + ValidatorMessage({0x7f, 'E', 'L'}) + "\n");
}

TEST_F(Xref, DamagedMetadataIsReported) {
  Add(g_objects->echo, "echo.ko");
  std::vector<uint8_t> bytes = ReadBytes(g_objects->echo);
  // Find the first record (the magic "MKMD") and make its kind unknown.
  const uint8_t magic[] = {'M', 'K', 'M', 'D'};
  auto at = std::search(bytes.begin(), bytes.end(), std::begin(magic), std::end(magic));
  ASSERT_NE(at, bytes.end());
  at[5] = 42;
  std::string bad = dir_ + "/bad.ko";
  WriteFile(bad, std::string(bytes.begin(), bytes.end()));
  Outcome out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "modkit xref: " + bad + ": modkit_modinfo+0x0: record kind 42 is unknown\n");
  EXPECT_EQ(Hints(), "modkit-hints 2\nmodule echo 3 echo.ko\n");
}

TEST_F(Xref, FileNameTheIndexCannotHold) {
  Add(g_objects->echo, "echo.ko");
  Add(g_objects->echo, "my echo.ko");
  Outcome out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "modkit xref: " + dir_ +
                         "/my echo.ko: the file name has a space, which the index cannot hold\n");
  EXPECT_EQ(Hints(), "modkit-hints 2\nmodule echo 3 echo.ko\n");
}

TEST_F(Xref, ReplacesAnExistingIndex) {
  WriteFile(dir_ + "/modkit.hints", "modkit-hints 2\nmodule stale 1 gone.ko\n");
  Add(g_objects->echo, "echo.ko");
  Outcome out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(Hints(), "modkit-hints 2\nmodule echo 3 echo.ko\n");
  EXPECT_EQ(Listing(), (std::vector<std::string>{"echo.ko", "modkit.hints"}));
}

TEST_F(Xref, IndexThatCannotBeReplacedFails) {
  Add(g_objects->echo, "echo.ko");
  fs::create_directory(dir_ + "/modkit.hints");  // rename() cannot replace a directory
  WriteFile(dir_ + "/modkit.hints/keep", "x");
  Outcome out = RunXref({dir_});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "modkit xref: " + dir_ + "/modkit.hints: Is a directory\n");
  // The temporary file is gone, the directory untouched.
  EXPECT_EQ(Listing(), (std::vector<std::string>{"echo.ko", "modkit.hints"}));
  EXPECT_EQ(ReadFile(dir_ + "/modkit.hints/keep"), "x");
}

TEST_F(Xref, Usage) {
  Outcome missing = RunXref({dir_ + "/nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  Outcome none = RunXref({});
  EXPECT_EQ(none.exit_code, 2);
  Outcome help = RunXref({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: modkit xref"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Example:\n  modkit xref "), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--json"), std::string::npos);
}

}  // namespace
}  // namespace mk::test
