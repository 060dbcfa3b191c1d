// End-to-end tests of the linker through `modkit exec`, with the real toolchain
// as the oracle. Each case compiles a small real program twice in a fresh
// directory: (a) linked normally into an executable and run, which gives the
// expected stdout, stderr and exit status; (b) compiled with -c and run through
// `modkit exec`, which must match exactly. The matrix is {gcc, clang} x {-O0,
// -O2} x {default (PIE), -fPIC, -fno-pic}, plus a few special flag sets, a
// generated object of about a megabyte, and link errors.
//
// A failure prints the commands that reproduce it and a histogram of the
// relocation types in the objects; MODKIT_EXEC_KEEP=1 keeps the work directory.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "exec/big_program.h"
#include "exec/process.h"

namespace modkit::exec_test {
namespace {

namespace fs = std::filesystem;

// Both runs see these; strings.c and args.c check them.
constexpr const char* kTestVar = "MODKIT_EXEC_TEST_VAR";
constexpr const char* kTestValue = "hello-from-harness";
constexpr const char* kExpectArgv0 = "MODKIT_EXEC_EXPECT_ARGV0";
constexpr int kBigFunctionCount = 2500;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

std::string ProgramsDir() {
  return EnvOr("MODKIT_SOURCE_DIR", MODKIT_EXEC_SOURCE_DIR) + "/tests/exec/programs";
}
std::string ToolPath() {
  return EnvOr("MODKIT_BINARY_DIR", MODKIT_EXEC_BINARY_DIR) + "/tools/modkit/modkit";
}
bool ToolSourceExists() {
  return fs::exists(EnvOr("MODKIT_SOURCE_DIR", MODKIT_EXEC_SOURCE_DIR) +
                    "/tools/modkit/CMakeLists.txt");
}

// ---------------------------------------------------------------------------
// What is compiled and how.

enum class Pic { kDefault, kPic, kNoPic };
// -fno-pic code addresses data absolutely within the low 2 GiB on x86_64
// (R_X86_64_32/PC32 from a program placed there) and on riscv64 (the default
// medlow code model: lui + addi, R_RISCV_HI20/LO12); aarch64's -fno-pic uses
// ADRP, which reaches +-4 GiB from wherever the program lies.
#if defined(__x86_64__) || defined(__riscv)
constexpr bool kNoPicCannotReachLibraryData = true;
#else
constexpr bool kNoPicCannotReachLibraryData = false;
#endif

struct Config {
  std::string compiler;  // "gcc" or "clang"
  std::string opt;       // "-O0" or "-O2"
  Pic pic = Pic::kDefault;
  std::vector<std::string> extra = {};  // special flag sets
  std::string extra_label = {};         // names the special flag set in the test name

  std::string Label() const {
    static const char* const kPicNames[] = {"default", "fpic", "nopic"};
    return compiler + "_" + opt.substr(1) + "_" + kPicNames[int(pic)] + extra_label;
  }
  std::vector<std::string> Flags() const {
    std::vector<std::string> flags{opt};
    if (pic == Pic::kPic) flags.push_back("-fPIC");
    if (pic == Pic::kNoPic) flags.push_back("-fno-pic");
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }
};

struct Program {
  std::string name;
  // Writable data of libc or libstdc++ the program names directly (stderr,
  // std::cout, environ). Built -fno-pic it must lie in the low 2 GiB and also
  // reach that data, which lives above: a normal link makes a copy relocation,
  // which needs the library to use the copy, which a running process cannot
  // be told. modkit exec must refuse it with one line naming the symbol and
  // suggesting -fPIC (read-only data such as typeinfo is copied and works).
  bool writable_library_data = false;
  std::vector<std::string> sources = {};  // in programs/; empty: the generated big program
  std::vector<std::string> flags = {};    // program-specific compile flags
  std::vector<std::string> args = {};     // passed after `--`
  // Hard asserts on the native run (the exec run must then match it exactly).
  int exit_code = 0;
  std::vector<std::string> stdout_lines = {};
  std::vector<std::string> stderr_lines = {};
  // Link the oracle from the same objects instead of compiling the sources a
  // second time (for the big generated program, whose compile is the cost).
  bool native_from_objects = false;
};

const std::vector<Program>& Programs() {
  static const std::vector<Program> programs = {
      {.name = "arith",
       .sources = {"arith.c"},
       .stdout_lines = {"fib(25)=75025", "sqrt(2)=1.414214", "pow(2,10)=1024.000000",
                        "k64[3]=deadbeefcafebabe rot=b7ddf95fd757dbd5 mul=0eec9d9346455996",
                        "switch 13 -> 1000001020 many 0", "failures=0"}},
      {.name = "strings",
       .sources = {"strings.c"},
       .stdout_lines = {"[42|   42|42   |00042|+42]", "color 0: black",
                        "ints desc: 99 42 13 7 5 0 -3 -100", std::string("env=") + kTestValue,
                        "failures=0"}},
      {.name = "fnptr",
       .writable_library_data = true,
       .sources = {"fnptr.c"},
       .stdout_lines = {"maybe is NULL", "maybe_data is NULL", "command minus -> -2",
                        "puts through a pointer", "libc pointers equal: 1",
                        "node three value=40 label=max acc=40"},
       .stderr_lines = {"fputs to stderr through a pointer", "stderr: done with 4 commands"}},
      {.name = "globals",
       .sources = {"globals.c"},
       .exit_code = 13,
       .stdout_lines = {"bss zero sum=0", "aligned_uninit 64-aligned: yes", "counters: 5 125",
                        "exiting with 13"}},
      {.name = "globals_fcommon",
       .sources = {"globals.c"},
       .flags = {"-fcommon"},
       .exit_code = 13,
       .stdout_lines = {"bss zero sum=0", "aligned_uninit 64-aligned: yes", "counters: 5 125",
                        "exiting with 13"}},
      {.name = "ctors",
       .writable_library_data = true,
       .sources = {"ctors.c"},
       .exit_code = 3,
       .stdout_lines = {"main: set_by_ctor=77 constructors ran: 101 102 250 300 1000 1001",
                        "atexit registered in ctor", "dtor 101"},
       .stderr_lines = {"main returns 3"}},
      {.name = "cxx_basic",
       .writable_library_data = true,
       .sources = {"cxx_basic.cc"},
       .stdout_lines = {"construct first static", "live widgets after delete: 0",
                        "function: 144 109", "destroy first static"}},
      {.name = "cxx_except",
       .sources = {"cxx_except.cc"},
       .stdout_lines = {"  caught DiskFull DiskFull code=28 path=/var",
                        "rethrown IoError code=105 path=/dev/sda",
                        "caught out_of_range from the runtime: St12out_of_range", "caught bad_cast",
                        "failures=0"}},
      {.name = "multi",
       .sources = {"multi_a.cc", "multi_b.cc"},
       .exit_code = 45,
       .stdout_lines = {"caught MultiError from b: thrown in multi_b code=17",
                        "shared_counter=2045", "inline function address equal across objects: yes",
                        "Registry<int>: adds=5 items=1 2 3 4 99 "}},
      {.name = "args",
       .writable_library_data = true,
       .sources = {"args.c"},
       .args = {"one", "two words", "", "--flag", "--", "last arg"},
       .exit_code = 22,
       .stdout_lines = {"argc=7", "argv[5]=\"--\" (2 bytes)", "argv[0] as expected",
                        "test variable in envp: yes, in environ: yes", "status=22"}},
  };
  return programs;
}

const Program& FindProgram(const std::string& name) {
  for (const Program& p : Programs())
    if (p.name == name) return p;
  static const Program big{.name = "big", .native_from_objects = true};
  if (name == "big") return big;
  ADD_FAILURE() << "no program " << name;
  return big;
}

struct Case {
  const Program* program;
  Config config;
  std::string Name() const { return program->name + "_" + config.Label(); }
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.Name();
}

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  return info.param.Name();
}

std::vector<Case> MatrixCases() {
  std::vector<Case> cases;
  for (const Program& program : Programs())
    for (const char* compiler : {"gcc", "clang"})
      for (const char* opt : {"-O0", "-O2"})
        for (Pic pic : {Pic::kDefault, Pic::kPic, Pic::kNoPic})
          cases.push_back({&program, {.compiler = compiler, .opt = opt, .pic = pic}});
  return cases;
}

std::vector<Case> SpecialCases() {
  const std::vector<std::string> sections{"-ffunction-sections", "-fdata-sections", "-g"};
  const std::vector<std::string> small_model{"-mcmodel=small"};
  std::vector<Case> cases;
  cases.push_back(
      {&FindProgram("cxx_except"), {"gcc", "-O2", Pic::kDefault, sections, "_sections_g"}});
  cases.push_back(
      {&FindProgram("cxx_except"), {"clang", "-O2", Pic::kDefault, sections, "_sections_g"}});
  cases.push_back({&FindProgram("multi"), {"gcc", "-O0", Pic::kDefault, sections, "_sections_g"}});
  cases.push_back({&FindProgram("fnptr"), {"clang", "-O0", Pic::kPic, sections, "_sections_g"}});
  for (const char* name : {"arith", "fnptr", "globals", "cxx_except"})
    cases.push_back(
        {&FindProgram(name), {"clang", "-O2", Pic::kNoPic, small_model, "_mcmodel_small"}});
  return cases;
}

std::vector<Case> BigCases() {
  return {{&FindProgram("big"), {.compiler = "gcc", .opt = "-O0", .pic = Pic::kDefault}},
          {&FindProgram("big"), {.compiler = "clang", .opt = "-O2", .pic = Pic::kPic}}};
}

// ---------------------------------------------------------------------------
// Helpers.

// A fresh directory per test, removed afterwards unless MODKIT_EXEC_KEEP=1 and
// the test failed (the reproducer printed on failure names its files).
class WorkDir {
 public:
  explicit WorkDir(const std::string& name) {
    std::string pattern = EnvOr("TMPDIR", "/tmp") + "/modkit-exec-" + name + "-XXXXXX";
    path_ = mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~WorkDir() {
    if (path_.empty()) return;
    if (testing::Test::HasFailure()) {
      if (EnvOr("MODKIT_EXEC_KEEP", "0") == "1") {
        std::cerr << "work directory kept: " << path_ << "\n";
        return;
      }
      std::cerr << "work directory removed (set MODKIT_EXEC_KEEP=1 to keep it): " << path_ << "\n";
    }
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool IsCxx(const std::string& source) {
  return source.ends_with(".cc");
}

std::string Driver(const Config& config, bool cxx) {
  if (config.compiler == "gcc") return cxx ? "g++" : "gcc";
  return cxx ? "clang++" : "clang";
}

std::vector<std::string> LanguageFlags(bool cxx) {
  return cxx ? std::vector<std::string>{"-std=c++17"} : std::vector<std::string>{};
}

bool HasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.starts_with(prefix)) lines.push_back(l);
  return lines;
}

// "R_X86_64_PC32 x130, R_X86_64_PLT32 x44" for one object, from readelf -rW.
std::string RelocationHistogram(const std::string& object, const std::string& capture_prefix) {
  Outcome r =
      RunProcess({{"readelf", "-rW", object}, {}, capture_prefix, std::chrono::seconds(30)});
  std::map<std::string, int> counts;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string offset, info, type;
    if (fields >> offset >> info >> type && type.starts_with("R_")) ++counts[type];
  }
  std::string text;
  for (const auto& [type, n] : counts)
    text += (text.empty() ? "" : ", ") + type + " x" + std::to_string(n);
  return text;
}

// The build commands of one case: one object per source, and the native
// executable (compiled from the sources, or linked from the objects once they
// exist).
struct Build {
  std::vector<Command> objects;
  std::vector<std::string> object_paths;
  Command native;
  std::string executable;
};

Build PlanBuild(const Case& c, const WorkDir& dir, const std::vector<std::string>& sources) {
  Build b;
  std::vector<std::string> flags = c.config.Flags();
  flags.insert(flags.end(), c.program->flags.begin(), c.program->flags.end());
  bool any_cxx = false;
  for (const auto& source : sources) {
    any_cxx |= IsCxx(source);
    std::string stem = fs::path(source).stem().string();
    std::string object = dir / (stem + ".o");
    Command cmd{{Driver(c.config, IsCxx(source))},
                {},
                dir / ("compile-" + stem),
                std::chrono::seconds(300)};
    cmd.argv.insert(cmd.argv.end(), flags.begin(), flags.end());
    for (const auto& f : LanguageFlags(IsCxx(source)))
      cmd.argv.push_back(f);
    cmd.argv.insert(cmd.argv.end(), {"-c", source, "-o", object});
    b.objects.push_back(cmd);
    b.object_paths.push_back(object);
  }

  b.executable = dir / c.program->name;
  auto& argv = b.native.argv;
  argv = {Driver(c.config, any_cxx)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  for (const auto& f : LanguageFlags(any_cxx))
    argv.push_back(f);
  const auto& inputs = c.program->native_from_objects ? b.object_paths : sources;
  argv.insert(argv.end(), inputs.begin(), inputs.end());
  argv.insert(argv.end(), {"-o", b.executable});
  if (c.config.pic == Pic::kNoPic) argv.push_back("-no-pie");
  argv.push_back("-lm");
  b.native.capture_prefix = dir / "compile-native";
  b.native.timeout = std::chrono::seconds(300);
  return b;
}

// Runs the compile commands (in parallel where they are independent); false
// after reporting the first one that failed.
bool Compile(const Build& build, bool native_from_objects) {
  std::vector<Command> stages[2];
  stages[0] = build.objects;
  stages[native_from_objects ? 1 : 0].push_back(build.native);
  for (const auto& stage : stages) {
    std::vector<Outcome> done = RunProcesses(stage);
    for (size_t i = 0; i < done.size(); ++i) {
      if (done[i].Succeeded()) continue;
      ADD_FAILURE() << ShellLine(stage[i].argv) << "\n" << done[i].Status() << "\n" << done[i].err;
      return false;
    }
  }
  return true;
}

Command RunCommand(std::vector<std::string> argv, const std::string& argv0,
                   const std::string& prefix, std::chrono::seconds timeout) {
  return Command{std::move(argv), {{kTestVar, kTestValue}, {kExpectArgv0, argv0}}, prefix, timeout};
}

// Stops the test when modkit exec does not exist: skipped while nobody has
// written it yet, a failure once its source is in the tree.
bool ToolMissing() {
  if (fs::exists(ToolPath())) return false;
  if (ToolSourceExists())
    ADD_FAILURE() << "modkit is not built at " << ToolPath() << " (build the `modkit` target)";
  return true;
}

// ---------------------------------------------------------------------------
// Programs: `modkit exec` must behave exactly like the normally linked build.

class ExecProgram : public testing::TestWithParam<Case> {};

TEST_P(ExecProgram, MatchesNativeBuild) {
  const Case& c = GetParam();
  const Program& program = *c.program;
  WorkDir dir(c.Name());
  ASSERT_FALSE(dir.path().empty()) << "mkdtemp failed";

  std::vector<std::string> sources;
  std::string expected_line;
  if (program.sources.empty()) {
    BigProgram big = GenerateBigProgram(kBigFunctionCount);
    WriteFile(dir / "big.c", big.source);
    sources.push_back(dir / "big.c");
    expected_line = big.expected_line;
  }
  for (const auto& s : program.sources)
    sources.push_back(ProgramsDir() + "/" + s);

  Build build = PlanBuild(c, dir, sources);
  if (!Compile(build, program.native_from_objects)) return;

  // (a) The oracle: the normally linked program.
  std::vector<std::string> native_argv{build.executable};
  native_argv.insert(native_argv.end(), program.args.begin(), program.args.end());
  Outcome expected = RunProcess(
      RunCommand(native_argv, build.executable, dir / "native", std::chrono::seconds(60)));
  ASSERT_EQ(expected.Status(), "exit " + std::to_string(program.exit_code))
      << "native build misbehaves: " << ShellLine(native_argv) << "\n"
      << expected.out << expected.err;
  EXPECT_TRUE(LinesStartingWith(expected.out, "FAIL").empty()) << "native self-checks failed:\n"
                                                               << expected.out;
  for (const auto& line : program.stdout_lines)
    EXPECT_TRUE(HasLine(expected.out, line)) << "native stdout lacks the line \"" << line << "\"";
  for (const auto& line : program.stderr_lines)
    EXPECT_TRUE(HasLine(expected.err, line)) << "native stderr lacks the line \"" << line << "\"";
  if (!expected_line.empty()) {
    EXPECT_EQ(expected.out, expected_line + "\n")
        << "the generator's model disagrees with the compiler";
  }
  if (HasFailure()) return;

  // (b) The same program through modkit exec.
  if (ToolMissing()) GTEST_SKIP() << "modkit exec is not written yet";
  std::vector<std::string> exec_argv{ToolPath(), "exec"};
  exec_argv.insert(exec_argv.end(), build.object_paths.begin(), build.object_paths.end());
  if (!program.args.empty()) {
    exec_argv.push_back("--");
    exec_argv.insert(exec_argv.end(), program.args.begin(), program.args.end());
  }
  Outcome actual = RunProcess(
      RunCommand(exec_argv, build.object_paths.front(), dir / "exec", std::chrono::seconds(120)));
  // x86_64's and riscv64's -fno-pic reach library data only within the low
  // 2 GiB, where the program must lie and the library's data is not;
  // aarch64's ADRP reaches it from anywhere, so there such programs run.
  if (program.writable_library_data && c.config.pic == Pic::kNoPic &&
      kNoPicCannotReachLibraryData) {
    EXPECT_EQ(actual.Status(), "exit 127");
    EXPECT_EQ(actual.out, "");
    static const std::regex refusal(
        "modkit exec: [^\n]*`(stdout|stderr|stdin|environ|_ZSt4cout|_ZSt4cerr)'[^\n]*"
        "rebuild (it|the module) with -fPIC\n");
    EXPECT_TRUE(std::regex_match(actual.err, refusal))
        << "expected one line refusing writable library data, got:\n"
        << actual.err;
    return;
  }
  EXPECT_EQ(expected.Status(), actual.Status()) << "exit status differs";
  EXPECT_EQ(expected.out, actual.out) << "stdout differs";
  EXPECT_EQ(expected.err, actual.err) << "stderr differs";

  if (HasFailure()) {
    std::ostringstream repro;
    repro << "reproduce:\n  cd " << dir.path() << "\n";
    for (const auto& cmd : build.objects)
      repro << "  " << ShellLine(cmd.argv) << "\n";
    repro << "  " << kTestVar << "=" << kTestValue << " " << kExpectArgv0 << "="
          << build.object_paths.front() << " " << ShellLine(exec_argv) << "\n";
    repro << "relocations:\n";
    for (const auto& object : build.object_paths)
      repro << "  " << fs::path(object).filename().string() << ": "
            << RelocationHistogram(object, dir / ("readelf-" + fs::path(object).stem().string()))
            << "\n";
    ADD_FAILURE() << repro.str();
  }
}

INSTANTIATE_TEST_SUITE_P(Matrix, ExecProgram, testing::ValuesIn(MatrixCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(Special, ExecProgram, testing::ValuesIn(SpecialCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(Big, ExecProgram, testing::ValuesIn(BigCases()), CaseName);

// ---------------------------------------------------------------------------
// Link errors: every unresolved symbol named on its own line, exit status 127.

class ExecLinkError : public testing::TestWithParam<std::string> {
 protected:
  // Compiles one program from programs/ to an object and runs it through modkit exec.
  Outcome CompileAndExec(const WorkDir& dir, const std::string& source) {
    std::string object = dir / (fs::path(source).stem().string() + ".o");
    Command cc{
        {GetParam(), "-O0", "-c", ProgramsDir() + "/" + source, "-o", object}, {}, dir / "compile"};
    Outcome compiled = RunProcess(cc);
    EXPECT_TRUE(compiled.Succeeded()) << ShellLine(cc.argv) << "\n" << compiled.err;
    if (!compiled.Succeeded() || ToolMissing()) return {};
    std::vector<std::string> argv{ToolPath(), "exec", object};
    Outcome r = RunProcess(RunCommand(argv, object, dir / "exec", std::chrono::seconds(60)));
    if (r.Status() != "exit 127")
      std::cerr << "reproduce: " << ShellLine(cc.argv) << " && " << ShellLine(argv) << "\n";
    return r;
  }
};

TEST_P(ExecLinkError, NamesEveryUndefinedSymbol) {
  WorkDir dir("missing_" + GetParam());
  Outcome r = CompileAndExec(dir, "link_missing.c");
  if (HasFailure()) return;
  if (!r.started) GTEST_SKIP() << "modkit exec is not written yet";
  EXPECT_EQ(r.Status(), "exit 127") << r.out << r.err;
  EXPECT_EQ(r.out, "") << "nothing of the program may run";
  std::vector<std::string> one, two;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    if (line.find("missing_one") != std::string::npos) one.push_back(line);
    if (line.find("missing_two") != std::string::npos) two.push_back(line);
  }
  EXPECT_FALSE(one.empty()) << "stderr does not name missing_one:\n" << r.err;
  EXPECT_FALSE(two.empty()) << "stderr does not name missing_two:\n" << r.err;
  for (const auto& line : one)
    EXPECT_EQ(line.find("missing_two"), std::string::npos) << "both names on one line: " << line;
}

TEST_P(ExecLinkError, RefusesObjectWithoutMain) {
  WorkDir dir("nomain_" + GetParam());
  Outcome r = CompileAndExec(dir, "no_main.c");
  if (HasFailure()) return;
  if (!r.started) GTEST_SKIP() << "modkit exec is not written yet";
  EXPECT_EQ(r.Status(), "exit 127") << r.out << r.err;
  EXPECT_EQ(r.out, "") << "nothing of the program may run";
  EXPECT_NE(r.err, "") << "an error message is expected";
}

INSTANTIATE_TEST_SUITE_P(Compilers, ExecLinkError, testing::Values("gcc", "clang"));

}  // namespace
}  // namespace modkit::exec_test
