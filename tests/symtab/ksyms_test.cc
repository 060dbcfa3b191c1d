// The ksyms image: read back with the real tools (readelf -Ws, nm, gdb) with
// no warning, every exported and local symbol of a loaded module at the
// address the API reports, gone after unload; and the export index and
// address map exact with 1, 100 and 10,000 loaded files.
#include "symtab/ksyms.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <string.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "elf/elf.h"
#include "hosted/symbols.h"
#include "hosted/system.h"
#include "link/toolchain.h"
#include "modkit/module.h"
#include "util/system_config.h"

namespace mk::symtab {
namespace {

using test::Scratch;

constexpr const char* kModule = R"(
#include <modkit/module.h>
static int ks_counter;
__attribute__((used)) static const char ks_banner[] = "ksyms test";
int ks_table[16] = {1, 2, 3};
__attribute__((noinline)) static int ks_helper(int x) { return x * 3 + ks_counter++; }
int ks_first(int x) { return ks_helper(x) + ks_banner[0]; }
int ks_second(int x) { return ks_first(x) * 2 + ks_table[x & 15]; }
int ks_unexported(int x) { return ks_second(x) - 1; }
static int ks_event(struct mk_module* m, int e, void* a) { return 0; }
MODKIT_MODULE(ksyms_mod, 1, ks_event, 0);
MODKIT_EXPORT(ksyms_mod, ks_first);
MODKIT_EXPORT(ksyms_mod, ks_second);
MODKIT_EXPORT(ksyms_mod, ks_table);
)";

struct Split {
  int status = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a command with its stdout and stderr kept apart.
Split RunSplit(const Scratch& scratch, const std::string& command) {
  std::string out = scratch.path("cmd.out"), err = scratch.path("cmd.err");
  test::RunResult r = test::Run(command + " >" + test::Quote(out) + " 2>" + test::Quote(err));
  return Split{r.status, Slurp(out), Slurp(err)};
}

struct ReadelfSym {
  uint64_t value;
  uint64_t size;
  std::string type, bind, ndx;
};

// name -> every symbol of that name, from `readelf -Ws`.
std::multimap<std::string, ReadelfSym> ParseReadelf(const std::string& text) {
  std::multimap<std::string, ReadelfSym> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string num, value, size, type, bind, vis, ndx, name;
    if (!(l >> num >> value >> size >> type >> bind >> vis >> ndx)) continue;
    if (num.empty() || num.back() != ':' || !isdigit(static_cast<unsigned char>(num[0]))) continue;
    std::getline(l, name);
    size_t b = name.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    name = name.substr(b);
    out.emplace(name, ReadelfSym{std::stoull(value, nullptr, 16), std::stoull(size, nullptr, 0),
                                 type, bind, ndx});
  }
  return out;
}

// name -> (address, nm letter), from `nm`.
std::multimap<std::string, std::pair<uint64_t, char>> ParseNm(const std::string& text) {
  std::multimap<std::string, std::pair<uint64_t, char>> out;
  std::istringstream in(text);
  std::string addr, letter, name;
  while (in >> addr >> letter >> name)
    out.emplace(name, std::make_pair(std::stoull(addr, nullptr, 16), letter[0]));
  return out;
}

const char* TypeName(uint8_t t) {
  switch (t) {
    case elf::STT_FUNC:
      return "FUNC";
    case elf::STT_OBJECT:
      return "OBJECT";
    default:
      return "NOTYPE";
  }
}

class KsymsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
    std::string obj = scratch_.Compile(test::kGcc, "ksyms_mod.c", kModule, {"-O1", inc});
    ASSERT_FALSE(obj.empty());
    bytes_ = test::ReadBytes(obj);
    ASSERT_TRUE(sys_.boot());
  }

  module::File* Load(const std::vector<uint8_t>& bytes, const char* name) {
    auto f = sys_.registry().load_bytes(ByteView(bytes.data(), bytes.size()), name);
    EXPECT_TRUE(f) << f.error().message();
    return f ? f.value() : nullptr;
  }

  std::string WriteImage(const std::string& name) {
    std::string path = scratch_.path(name), err;
    EXPECT_TRUE(hosted::write_ksyms_file(sys_, path, &err)) << err;
    return path;
  }

  Scratch scratch_;
  std::vector<uint8_t> bytes_;
  hosted::System sys_{test::no_static_modules()};
};

TEST_F(KsymsTest, ReadelfAndNmFindEverySymbolOfALoadedModuleAtItsAddress) {
  module::File* f = Load(bytes_, "/some/dir/ksyms_mod.ko");
  ASSERT_NE(f, nullptr);
  std::string image = WriteImage("ksyms");

  Split re = RunSplit(scratch_, "readelf -Ws " + test::Quote(image));
  ASSERT_EQ(re.status, 0) << re.err;
  EXPECT_EQ(re.err, "") << "readelf warned";
  Split nm = RunSplit(scratch_, "nm " + test::Quote(image));
  ASSERT_EQ(nm.status, 0) << nm.err;
  EXPECT_EQ(nm.err, "") << "nm warned";
  auto readelf_syms = ParseReadelf(re.out);
  auto nm_syms = ParseNm(nm.out);

  // Every symbol the linked file defines, locals included.
  size_t checked = 0, locals = 0;
  for (const link::FileSymbol& s : f->linked->symbols()) {
    bool in_readelf = false, in_nm = false;
    auto [lo, hi] = readelf_syms.equal_range(s.name);
    for (auto it = lo; it != hi; ++it) {
      if (it->second.value != s.addr) continue;
      in_readelf = true;
      EXPECT_EQ(it->second.size, s.size) << s.name;
      EXPECT_EQ(it->second.type, TypeName(s.type)) << s.name;
      EXPECT_EQ(it->second.bind, s.bind == elf::STB_LOCAL ? "LOCAL" : "GLOBAL") << s.name;
    }
    auto [nlo, nhi] = nm_syms.equal_range(s.name);
    for (auto it = nlo; it != nhi; ++it)
      in_nm = in_nm || it->second.first == s.addr;
    EXPECT_TRUE(in_readelf) << s.name << " at " << std::hex << s.addr << "\n" << re.out;
    EXPECT_TRUE(in_nm) << s.name << " at " << std::hex << s.addr << "\n" << nm.out;
    ++checked;
    locals += s.bind == elf::STB_LOCAL;
  }
  EXPECT_GE(checked, 7u);
  EXPECT_GE(locals, 3u);  // ks_counter, ks_banner, ks_helper (and the metadata records)
  for (const char* name : {"ks_helper", "ks_counter", "ks_banner", "ks_unexported"})
    EXPECT_EQ(readelf_syms.count(name), 1u) << name;

  // The exports, where the export index says they are.
  for (const char* name : {"ks_first", "ks_second", "ks_table"}) {
    const ExportEntry* e = sys_.exports().find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->owner, f);
    auto it = readelf_syms.find(name);
    ASSERT_NE(it, readelf_syms.end()) << name;
    EXPECT_EQ(it->second.value, e->addr) << name;
    EXPECT_EQ(it->second.bind, "GLOBAL");
    auto n = nm_syms.find(name);
    ASSERT_NE(n, nm_syms.end());
    EXPECT_EQ(n->second.first, e->addr);
  }
  EXPECT_EQ(nm_syms.find("ks_first")->second.second, 'T');
  EXPECT_EQ(nm_syms.find("ks_helper")->second.second, 't');

  // The kernel's KPI, as absolute symbols at the host's addresses.
  auto kpi = readelf_syms.find("mk_printf");
  ASSERT_NE(kpi, readelf_syms.end());
  EXPECT_EQ(kpi->second.value, reinterpret_cast<uint64_t>(&mk_printf));
  EXPECT_EQ(kpi->second.ndx, "ABS");
  EXPECT_EQ(nm_syms.find("mk_printf")->second.second, 'A');

  // Section headers name the file's sections at their final addresses.
  Split sections = RunSplit(scratch_, "readelf -SW " + test::Quote(image));
  EXPECT_EQ(sections.err, "");
  for (const link::FileSection& s : f->linked->sections()) {
    std::ostringstream want;
    want << "ksyms_mod.ko:" << s.name;
    size_t at = sections.out.find(want.str() + " ");
    ASSERT_NE(at, std::string::npos) << want.str() << "\n" << sections.out;
    std::istringstream l(sections.out.substr(at));
    std::string name, type, addr;
    l >> name >> type >> addr;
    EXPECT_EQ(type, "NOBITS");
    EXPECT_EQ(std::stoull(addr, nullptr, 16), s.addr) << want.str();
  }
}

TEST_F(KsymsTest, GdbReadsTheImageWithoutWarnings) {
  if (test::Run("command -v gdb").status != 0) GTEST_SKIP() << "gdb is not installed";
  module::File* f = Load(bytes_, "ksyms_mod.ko");
  ASSERT_NE(f, nullptr);
  std::string image = WriteImage("ksyms");
  const link::FileSymbol* first = f->linked->find("ks_first");
  ASSERT_NE(first, nullptr);
  std::ostringstream cmd;
  cmd << "gdb -batch -nx -ex " << test::Quote("info symbol " + std::to_string(first->addr + 1))
      << " -ex " << test::Quote("info address ks_helper") << " " << test::Quote(image);
  Split g = RunSplit(scratch_, cmd.str());
  EXPECT_EQ(g.status, 0) << g.out << g.err;
  EXPECT_EQ(g.err, "") << "gdb warned";
  EXPECT_NE(g.out.find("ks_first + 1 in section ksyms_mod.ko:.text"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("Symbol \"ks_helper\" is at 0x"), std::string::npos) << g.out;
}

TEST_F(KsymsTest, AnUnloadedModuleIsGoneFromAFreshImage) {
  module::File* f = Load(bytes_, "ksyms_mod.ko");
  ASSERT_NE(f, nullptr);
  Split before = RunSplit(scratch_, "nm " + test::Quote(WriteImage("before")));
  EXPECT_NE(before.out.find(" ks_helper\n"), std::string::npos);
  ASSERT_TRUE(sys_.registry().unload(f, module::UnloadOptions{}));

  std::string after = WriteImage("after");
  Split nm = RunSplit(scratch_, "nm " + test::Quote(after));
  EXPECT_EQ(nm.status, 0);
  EXPECT_EQ(nm.err, "");
  EXPECT_EQ(nm.out.find("ks_"), std::string::npos) << nm.out;
  EXPECT_NE(nm.out.find(" mk_printf\n"), std::string::npos) << nm.out;  // the kernel's stay
  Split sections = RunSplit(scratch_, "readelf -SW " + test::Quote(after));
  EXPECT_EQ(sections.out.find("ksyms_mod.ko:"), std::string::npos) << sections.out;

  // And back, at its new address.
  f = Load(bytes_, "ksyms_mod.ko");
  ASSERT_NE(f, nullptr);
  auto again = ParseNm(RunSplit(scratch_, "nm " + test::Quote(WriteImage("again"))).out);
  auto it = again.find("ks_first");
  ASSERT_NE(it, again.end());
  EXPECT_EQ(it->second.first, f->linked->find("ks_first")->addr);
}

TEST_F(KsymsTest, ReleasedInitTextIsLeftOut) {
  std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
  std::string obj = scratch_.Compile(test::kGcc, "init_mod.c", R"(
#include <modkit/module.h>
int ks_stays(int x) { return x; }
// Init-only text runs as a constructor, then its memory is given back.
static volatile int ks_inited;
__attribute__((constructor, section(".init.text"))) static void ks_init_only(void) { ks_inited = 1; }
MODKIT_MODULE(init_mod, 1, 0, 0);
)",
                                     {"-O1", inc});
  ASSERT_FALSE(obj.empty());
  std::vector<uint8_t> bytes = test::ReadBytes(obj);
  module::File* f = Load(bytes, "init_mod.ko");
  ASSERT_NE(f, nullptr);
  bool listed = false;  // the linker lists it; ksyms leaves it out once released
  for (const link::FileSymbol& s : f->linked->symbols())
    listed = listed || std::string(s.name) == "ks_init_only";
  EXPECT_TRUE(listed);
  Split nm = RunSplit(scratch_, "nm " + test::Quote(WriteImage("ksyms")));
  EXPECT_EQ(nm.err, "");
  EXPECT_NE(nm.out.find(" ks_stays\n"), std::string::npos) << nm.out;
  EXPECT_EQ(nm.out.find("ks_init_only"), std::string::npos) << nm.out;
}

TEST_F(KsymsTest, SymLookupAndAddrLookupAnswerForModulesAndTheKernel) {
  module::File* f = Load(bytes_, "ksyms_mod.ko");
  ASSERT_NE(f, nullptr);
  std::vector<hosted::SymbolInfo> s = hosted::sym_lookup(sys_, "ks_first");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].address, f->linked->find("ks_first")->addr);
  EXPECT_EQ(s[0].type, "func");
  EXPECT_EQ(s[0].module, "ksyms_mod");
  EXPECT_TRUE(s[0].exported);
  s = hosted::sym_lookup(sys_, "ks_helper");  // a local
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].bind, "local");
  EXPECT_FALSE(s[0].exported);
  s = hosted::sym_lookup(sys_, "mk_printf");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].file, "kernel");
  EXPECT_EQ(s[0].address, reinterpret_cast<uint64_t>(&mk_printf));
  EXPECT_TRUE(hosted::sym_lookup(sys_, "no_such_symbol").empty());

  hosted::AddressInfo a;
  uint64_t second = f->linked->find("ks_second")->addr;
  ASSERT_TRUE(hosted::addr_lookup(sys_, second + 2, &a));
  EXPECT_TRUE(a.in_module);
  EXPECT_EQ(a.symbol, "ks_second");
  EXPECT_EQ(a.offset, 2u);
  EXPECT_EQ(a.section, ".text");
  EXPECT_EQ(a.text, "ks_second+0x2 [ksyms_mod]");
  // A host address: named by dladdr (libc's dynamic symbols).
  void* host = dlsym(RTLD_DEFAULT, "getpid");
  ASSERT_NE(host, nullptr);
  ASSERT_TRUE(hosted::addr_lookup(sys_, reinterpret_cast<uint64_t>(host) + 1, &a));
  EXPECT_FALSE(a.in_module);
  EXPECT_NE(a.file.find("libc.so"), std::string::npos) << a.file;
  EXPECT_NE(a.text.find("+0x1 [libc.so"), std::string::npos) << a.text;
}

// ---- scale: 1, 100 and 10,000 loaded files ----

// One tiny module whose names carry a 5-digit placeholder, patched into
// distinct modules without compiling 10,000 times.
constexpr const char* kTiny = R"(
#include <modkit/module.h>
static int local_QQQQQ;
const int ro_QQQQQ[2] = {5, 6};
int fn_QQQQQ(int x) { return x + local_QQQQQ++; }
int fn2_QQQQQ(int x) { return fn_QQQQQ(x) + ro_QQQQQ[x & 1]; }
int data_QQQQQ[4] = {1};
MODKIT_MODULE(tiny_QQQQQ, 1, 0, 0);
MODKIT_EXPORT(tiny_QQQQQ, fn_QQQQQ);
MODKIT_EXPORT(tiny_QQQQQ, data_QQQQQ);
)";

std::vector<uint8_t> Patched(const std::vector<uint8_t>& bytes, int n) {
  std::vector<uint8_t> out = bytes;
  char digits[16];
  snprintf(digits, sizeof digits, "%05d", n);
  for (size_t i = 0; i + 5 <= out.size(); ++i)
    if (memcmp(&out[i], "QQQQQ", 5) == 0) memcpy(&out[i], digits, 5);
  return out;
}

std::string Name(const char* prefix, int n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%s_%05d", prefix, n);
  return buf;
}

class KsymsScaleTest : public ::testing::TestWithParam<int> {};

TEST_P(KsymsScaleTest, LookupsStayExactAsFilesComeAndGo) {
  const int n = GetParam();
  Scratch scratch;
  std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
  // A section per function and object: 7 loaded sections a file, so that
  // 10,000 files need the ELF's extended section numbering in ksyms.
  std::string obj = scratch.Compile(test::kGcc, "tiny.c", kTiny,
                                    {"-O1", "-ffunction-sections", "-fdata-sections", inc});
  ASSERT_FALSE(obj.empty());
  std::vector<uint8_t> base = test::ReadBytes(obj);
  hosted::System sys{test::no_static_modules()};
  ASSERT_TRUE(sys.boot());

  std::vector<std::vector<uint8_t>> objects(n);
  std::vector<module::File*> files(n);
  for (int i = 0; i < n; ++i) {
    objects[i] = Patched(base, i);
    std::string name = Name("tiny", i) + ".ko";
    auto f =
        sys.registry().load_bytes(ByteView(objects[i].data(), objects[i].size()), name.c_str());
    ASSERT_TRUE(f) << f.error().message();
    files[i] = f.value();
  }

  auto check = [&](int i, bool present) {
    std::string fn = Name("fn", i), data = Name("data", i);
    const ExportEntry* e = sys.exports().find(fn.c_str());
    if (!present) {
      EXPECT_EQ(e, nullptr) << fn;
      EXPECT_EQ(sys.exports().find(data.c_str()), nullptr) << data;
      return;
    }
    ASSERT_NE(e, nullptr) << fn;
    EXPECT_EQ(e->owner, files[i]);
    const link::FileSymbol* s = files[i]->linked->find(fn.c_str());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(e->addr, s->addr);
    const ExportEntry* d = sys.exports().find(data.c_str());
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->owner, files[i]);
    Where w;
    for (uint64_t at : {s->addr, s->addr + s->size - 1, d->addr + 15}) {
      ASSERT_TRUE(sys.addresses().lookup(at, &w)) << fn;
      EXPECT_EQ(w.file, files[i]);
    }
    ASSERT_TRUE(sys.addresses().lookup(s->addr + 1, &w));
    ASSERT_NE(w.symbol, nullptr);
    EXPECT_STREQ(w.symbol->name, fn.c_str());
    EXPECT_EQ(w.offset, 1u);
  };
  for (int i = 0; i < n; ++i)
    check(i, true);

  // Every file's sections and symbols in the ksyms image.
  std::string full = scratch.path("ksyms.full"), err;
  ASSERT_TRUE(hosted::write_ksyms_file(sys, full, &err)) << err;
  size_t sections = 0;
  for (module::File* f : files)
    sections += f->linked->sections().size();
  test::RunResult hdr = test::Run("readelf -h " + test::Quote(full));
  std::string count = std::to_string(sections + 5);  // + null, .strtab, .symtab(_shndx), .shstrtab
  if (sections + 4 < elf::SHN_LORESERVE) {
    count = std::to_string(sections + 4);
    EXPECT_NE(hdr.output.find("Number of section headers:         " + count + "\n"),
              std::string::npos)
        << hdr.output;
  } else {
    EXPECT_NE(hdr.output.find("Number of section headers:         0 (" + count + ")"),
              std::string::npos)
        << hdr.output;
  }
  test::RunResult fns = test::Run("nm " + test::Quote(full) + " 2>&1 | grep -c ' T fn2_'");
  EXPECT_EQ(fns.output, std::to_string(n) + "\n");

  // Unload every other file; the rest stay exact, the others are gone.
  std::vector<uint64_t> gone_addr;
  for (int i = 0; i < n; i += 2) {
    gone_addr.push_back(files[i]->linked->find(Name("fn", i).c_str())->addr);
    ASSERT_TRUE(sys.registry().unload(files[i], module::UnloadOptions{}));
  }
  for (int i = 0; i < n; ++i)
    check(i, i % 2 == 1);
  for (uint64_t at : gone_addr) {
    Where w;
    if (sys.addresses().lookup(at, &w))  // reused by nobody: nothing there
      ADD_FAILURE() << "address of an unloaded file still maps to " << w.file->name;
  }

  // The ksyms image lists exactly the survivors, readable at any count
  // (10,000 files need more than 65,280 sections: extended numbering).
  std::string image = scratch.path("ksyms");
  ASSERT_TRUE(hosted::write_ksyms_file(sys, image, &err)) << err;
  std::string out = scratch.path("nm.out"), errs = scratch.path("nm.err");
  test::RunResult r = test::Run("nm " + test::Quote(image) + " >" + test::Quote(out) + " 2>" +
                                test::Quote(errs) + " && grep -c ' T fn_' " + test::Quote(out));
  EXPECT_EQ(test::Run("cat " + test::Quote(errs)).output, "");
  EXPECT_EQ(r.output, std::to_string(n / 2) + "\n");
  test::RunResult re = test::Run("readelf -Ws " + test::Quote(image) + " 2>&1 >/dev/null");
  EXPECT_EQ(re.output, "") << "readelf warned";
}

INSTANTIATE_TEST_SUITE_P(Files, KsymsScaleTest, ::testing::Values(1, 100, 10000),
                         [](const auto& info) { return std::to_string(info.param); });

}  // namespace
}  // namespace mk::symtab
