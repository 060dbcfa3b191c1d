// ExportIndex: one hash index of exports; visibility only through
// dependencies and the kernel; duplicates refused with both owners named;
// locals never visible; namespaced exports bind only for importers of the
// namespace.
#include "symtab/export_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "elf/elf.h"
#include "hosted/malloc_allocator.h"
#include "hosted/system.h"
#include "link/toolchain.h"
#include "util/synthetic_exports.h"
#include "util/system_config.h"

namespace mk::symtab {
namespace {

using test::Scratch;

class ExportIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sys_.boot()); }

  std::vector<uint8_t> Build(const std::string& name, const std::string& src) {
    std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
    std::string obj = scratch_.Compile(test::kGcc, name + ".c", src, {"-O1", inc});
    EXPECT_FALSE(obj.empty());
    return test::ReadBytes(obj);
  }

  Result<module::File*> Load(const std::vector<uint8_t>& bytes, const char* name) {
    return sys_.registry().load_bytes(ByteView(bytes.data(), bytes.size()), name);
  }

  Scratch scratch_;
  hosted::System sys_{test::no_static_modules()};
};

constexpr const char* kProvider = R"(
#include <modkit/module.h>
int provided(int x) { return x + 100; }
static int hidden_local(int x) { return x; }
int not_exported(int x) { return hidden_local(x); }
MODKIT_MODULE(provider, 1, 0, 0);
MODKIT_EXPORT(provider, provided);
)";

TEST_F(ExportIndexTest, KernelSymbolsAreFoundByOneHashLookup) {
  ExportIndex& x = sys_.exports();
  const ExportEntry* e = x.find("mk_printf");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->owner, nullptr);
  EXPECT_EQ(e->type, elf::STT_FUNC);
  EXPECT_EQ(x.find("no_such_symbol"), nullptr);
}

TEST_F(ExportIndexTest, AKernelSymbolNameIsTakenOnce) {
  auto r = sys_.exports().add_kernel_symbol("mk_printf", 0x1000, 0, elf::STT_FUNC);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kDuplicate);
  EXPECT_STREQ(r.error().message(), "`mk_printf' is already exported by the kernel");
}

TEST_F(ExportIndexTest, ModuleExportsAreVisibleToDependentsOnly) {
  auto provider = Load(Build("provider", kProvider), "provider.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  const ExportEntry* e = sys_.exports().find("provided");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->owner, provider.value());
  EXPECT_EQ(sys_.exports().find("not_exported"), nullptr);

  // A user that declares the dependency binds to the export.
  auto user = Load(Build("user", R"(
#include <modkit/module.h>
int provided(int);
int use(void) { return provided(1); }
MODKIT_MODULE(user, 1, 0, 0);
MODKIT_DEPEND(user, provider, 1, 1, 1);
)"),
                   "user.ko");
  ASSERT_TRUE(user) << user.error().message();
  auto use = reinterpret_cast<int (*)()>(user.value()->linked->find("use")->addr);
  EXPECT_EQ(use(), 101);
  EXPECT_EQ(provider.value()->holders, 1u);

  // One that does not declare it sees nothing.
  auto stranger = Load(Build("stranger", R"(
#include <modkit/module.h>
int provided(int);
int use2(void) { return provided(2); }
MODKIT_MODULE(stranger, 1, 0, 0);
)"),
                       "stranger.ko");
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error().code(), Errc::kUnresolved);
  EXPECT_NE(std::string(stranger.error().message()).find("undefined symbol `provided'"),
            std::string::npos)
      << stranger.error().message();
}

TEST_F(ExportIndexTest, LocalsAndUnexportedGlobalsAreNeverVisible) {
  auto provider = Load(Build("provider", kProvider), "provider.ko");
  ASSERT_TRUE(provider);
  auto user = Load(Build("user_bad", R"(
#include <modkit/module.h>
int not_exported(int);
int use(void) { return not_exported(1); }
MODKIT_MODULE(user_bad, 1, 0, 0);
MODKIT_DEPEND(user_bad, provider, 1, 1, 1);
)"),
                   "user_bad.ko");
  ASSERT_FALSE(user);
  EXPECT_EQ(user.error().code(), Errc::kUnresolved);
  EXPECT_EQ(provider.value()->holders, 0u);  // the failed load let go of it
}

TEST_F(ExportIndexTest, ADuplicateExportIsRefusedNamingBothOwners) {
  auto provider = Load(Build("provider", kProvider), "provider.ko");
  ASSERT_TRUE(provider);
  size_t files = sys_.registry().file_count();
  auto dup = Load(Build("dup", R"(
#include <modkit/module.h>
int provided(int x) { return x; }
MODKIT_MODULE(dup, 1, 0, 0);
MODKIT_EXPORT(dup, provided);
)"),
                  "dup.ko");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), Errc::kDuplicate);
  EXPECT_STREQ(dup.error().message(),
               "dup.ko: module dup: `provided' is already exported by provider.ko");
  EXPECT_EQ(sys_.registry().file_count(), files);
  EXPECT_EQ(sys_.exports().find("provided")->owner, provider.value());
}

TEST_F(ExportIndexTest, AnExportTheFileDoesNotDefineIsAnError) {
  auto bad = Load(Build("ghost", R"(
#include <modkit/module.h>
int ghost_fn(int);
MODKIT_MODULE(ghost, 1, 0, 0);
MODKIT_EXPORT(ghost, ghost_fn);
)"),
                  "ghost.ko");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kNotFound);
  EXPECT_STREQ(bad.error().message(),
               "ghost.ko: module ghost exports `ghost_fn', which the file does not define");
}

TEST_F(ExportIndexTest, UnloadWithdrawsExports) {
  auto provider = Load(Build("provider", kProvider), "provider.ko");
  ASSERT_TRUE(provider);
  size_t before = sys_.exports().size();
  ASSERT_TRUE(sys_.registry().unload(provider.value(), {}));
  EXPECT_EQ(sys_.exports().find("provided"), nullptr);
  EXPECT_EQ(sys_.exports().size(), before - 1);
}

// ---- symbol namespaces ----

constexpr const char* kNsProvider = R"(
#include <modkit/module.h>
int ns_open(int x) { return x + 7; }
int ns_plain(int x) { return x * 3; }
MODKIT_MODULE(nsprov, 1, 0, 0);
MODKIT_EXPORT_NS(nsprov, NSPROV_CORE, ns_open);
MODKIT_EXPORT(nsprov, ns_plain);
)";

// A user of nsprov: `imports` is its MODKIT_IMPORT_NS lines, `body` its code.
std::string NsUser(const std::string& name, const std::string& imports, const std::string& body) {
  return "#include <modkit/module.h>\n" + body + "\nMODKIT_MODULE(" + name +
         ", 1, 0, 0);\nMODKIT_DEPEND(" + name + ", nsprov, 1, 1, 1);\n" + imports + "\n";
}

constexpr const char* kUsesNsOpen = "int ns_open(int);\nint use(void) { return ns_open(1); }";

TEST_F(ExportIndexTest, ANamespacedExportCarriesItsNamespaceAndModule) {
  auto provider = Load(Build("nsprov", kNsProvider), "nsprov.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  const ExportEntry* e = sys_.exports().find("ns_open");
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->ns, "NSPROV_CORE");
  EXPECT_STREQ(e->module, "nsprov");
  EXPECT_STREQ(sys_.exports().find("ns_plain")->ns, "");
  EXPECT_STREQ(sys_.exports().find("mk_printf")->module, "kernel");
}

TEST_F(ExportIndexTest, BindingToANamespaceNotImportedIsRefused) {
  auto provider = Load(Build("nsprov", kNsProvider), "nsprov.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  size_t files = sys_.registry().file_count();
  auto user = Load(Build("nsuser", NsUser("nsuser", "", kUsesNsOpen)), "nsuser.ko");
  ASSERT_FALSE(user);
  EXPECT_EQ(user.error().code(), Errc::kPermission);
  EXPECT_STREQ(user.error().message(),
               "nsuser.ko: `ns_open' is exported by module nsprov (nsprov.ko) in namespace "
               "NSPROV_CORE, which nsuser.ko does not import: add MODKIT_IMPORT_NS(nsuser, "
               "NSPROV_CORE)");
  EXPECT_EQ(sys_.registry().file_count(), files);
  EXPECT_EQ(provider.value()->holders, 0u);

  // Importing another namespace does not help.
  auto user2 =
      Load(Build("nsuser2", NsUser("nsuser2", "MODKIT_IMPORT_NS(nsuser2, OTHER_NS);", kUsesNsOpen)),
           "nsuser2.ko");
  ASSERT_FALSE(user2);
  EXPECT_EQ(user2.error().code(), Errc::kPermission);

  // A weak reference is refused too (Linux refuses it at load time): the
  // link alone would have bound it to 0.
  auto weak = Load(Build("nsweak", NsUser("nsweak", "",
                                          "__attribute__((weak)) int ns_open(int);\n"
                                          "int use(void) { return ns_open ? ns_open(1) : -1; }")),
                   "nsweak.ko");
  ASSERT_FALSE(weak);
  EXPECT_STREQ(weak.error().message(),
               "nsweak.ko: `ns_open' is exported by module nsprov (nsprov.ko) in namespace "
               "NSPROV_CORE, which nsweak.ko does not import: add MODKIT_IMPORT_NS(nsweak, "
               "NSPROV_CORE)");
  EXPECT_EQ(sys_.registry().file_count(), files);
}

TEST_F(ExportIndexTest, AnImporterOfTheNamespaceBinds) {
  auto provider = Load(Build("nsprov", kNsProvider), "nsprov.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  size_t log_before = sys_.log().size();
  auto user = Load(Build("nsuser", NsUser("nsuser", "MODKIT_IMPORT_NS(nsuser, NSPROV_CORE);",
                                          "int ns_open(int); int ns_plain(int);\n"
                                          "int use(void) { return ns_open(1) + ns_plain(2); }")),
                   "nsuser.ko");
  ASSERT_TRUE(user) << user.error().message();
  auto use = reinterpret_cast<int (*)()>(user.value()->linked->find("use")->addr);
  EXPECT_EQ(use(), 8 + 6);
  EXPECT_EQ(provider.value()->holders, 1u);
  ASSERT_EQ(user.value()->import_ns.size(), 1u);
  EXPECT_STREQ(user.value()->import_ns[0].name, "NSPROV_CORE");
  for (size_t i = log_before; i < sys_.log().size(); ++i)
    EXPECT_EQ(sys_.log()[i].find("warning"), std::string::npos) << sys_.log()[i];
}

TEST_F(ExportIndexTest, PlainExportsOfTheSameModuleNeedNoImport) {
  auto provider = Load(Build("nsprov", kNsProvider), "nsprov.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  auto user = Load(Build("plainuser", NsUser("plainuser", "",
                                             "int ns_plain(int);\n"
                                             "int use(void) { return ns_plain(5); }")),
                   "plainuser.ko");
  ASSERT_TRUE(user) << user.error().message();
  EXPECT_EQ(reinterpret_cast<int (*)()>(user.value()->linked->find("use")->addr)(), 15);
}

TEST_F(ExportIndexTest, TheImportGivesNoVisibilityWithoutTheDependency) {
  auto provider = Load(Build("nsprov", kNsProvider), "nsprov.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  auto user = Load(Build("nodep", R"(
#include <modkit/module.h>
int ns_open(int);
int use(void) { return ns_open(1); }
MODKIT_MODULE(nodep, 1, 0, 0);
MODKIT_IMPORT_NS(nodep, NSPROV_CORE);
)"),
                   "nodep.ko");
  ASSERT_FALSE(user);
  EXPECT_EQ(user.error().code(), Errc::kUnresolved);
  EXPECT_NE(std::string(user.error().message()).find("undefined symbol `ns_open'"),
            std::string::npos)
      << user.error().message();
}

// Decided as Linux's modpost does: importing a namespace nobody exports into
// (or one the file binds nothing through) is a warning, not a refusal.
TEST_F(ExportIndexTest, ImportingANamespaceNobodyExportsWarns) {
  auto provider = Load(Build("nsprov", kNsProvider), "nsprov.ko");
  ASSERT_TRUE(provider) << provider.error().message();
  size_t log_before = sys_.log().size();
  auto user = Load(Build("ghostns", NsUser("ghostns",
                                           "MODKIT_IMPORT_NS(ghostns, NSPROV_CORE);\n"
                                           "MODKIT_IMPORT_NS(ghostns, NO_SUCH_NS);",
                                           kUsesNsOpen)),
                   "ghostns.ko");
  ASSERT_TRUE(user) << user.error().message();
  std::vector<std::string> warnings;
  std::vector<std::string> log = sys_.log();
  for (size_t i = log_before; i < log.size(); ++i)
    if (log[i].find("warning") != std::string::npos) warnings.push_back(log[i]);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(
                "ghostns.ko: warning: module ghostns imports namespace NO_SUCH_NS but binds to "
                "no symbol in it, so the import does nothing (none of its dependencies exports "
                "into NO_SUCH_NS, or the name is misspelt): remove "
                "MODKIT_IMPORT_NS(ghostns, NO_SUCH_NS)"),
            std::string::npos)
      << warnings[0];
}

// Lookups compare a word at a time against the record's own length: names
// that are prefixes of one another, with lengths on both sides of 4, 8 and
// 16 bytes, each find their own entry, through every overload; one byte more
// or less finds nothing, nor does a name with a NUL inside.
TEST(ExportIndexNames, PrefixesOfEveryLengthAreDistinct) {
  hosted::MallocAllocator heap;
  ExportIndex x(heap);
  const std::string base = "abcdefghijklmnopqrstuvwxyz";
  const size_t lengths[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 25};
  for (size_t n : lengths)
    ASSERT_TRUE(x.add_kernel_symbol(base.substr(0, n).c_str(), 0x1000 + n, 0, elf::STT_FUNC));
  for (size_t n : lengths) {
    std::string name = base.substr(0, n);
    const ExportEntry* e = x.find(name.c_str());
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->addr, 0x1000 + n) << name;
    EXPECT_EQ(e->name_len, n) << name;
    EXPECT_EQ(x.find(name.c_str(), name_hash(name.c_str())), e) << name;
    EXPECT_EQ(x.find(name.data(), n, name_hash(name.data(), n)), e) << name;
    std::string other = name;
    other.back() = 'Z';
    EXPECT_EQ(x.find(other.c_str()), nullptr) << other;
    EXPECT_EQ(x.find((name + "_").c_str()), nullptr) << name << "_";
  }
  EXPECT_EQ(x.find("ab"), nullptr);
  EXPECT_EQ(x.find(""), nullptr);
  std::string with_nul("abcd\0", 5);
  EXPECT_EQ(x.find(with_nul.data(), 5, name_hash(with_nul.data(), 5)), nullptr);
  auto dup = x.add_kernel_symbol("abcdefghijklmnop", 0x2000, 0, elf::STT_FUNC);
  ASSERT_FALSE(dup);
  EXPECT_STREQ(dup.error().message(), "`abcdefghijklmnop' is already exported by the kernel");
}

// ---- scale: 1, 100 and 10,000 loaded files; 1,000,000 exports ----
//
// Synthetic files (tests/util/synthetic_exports.h) through the real index.
// Only correctness is checked here; the cost of a lookup by name at each
// size is bench/lookup_bench's (make bench), never a timed test.

struct Scale {
  size_t files;
  size_t exports;  // per file
};

class ExportIndexScale : public ::testing::TestWithParam<Scale> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(index_.add_kernel_symbol("mk_printf", 0x1000, 0, elf::STT_FUNC));
    Result<void> r = files_.add_files(GetParam().files, GetParam().exports, 2);
    ASSERT_TRUE(r) << r.error().message();
  }
  // An importer that uses the files `uses` (not in the index itself).
  module::File& Importer(std::initializer_list<size_t> uses) {
    importer_.uses.clear();
    for (size_t f : uses)
      EXPECT_TRUE(importer_.uses.push(&files_.file(f)));
    return importer_;
  }
  module::Bind Resolve(const std::string& name, module::Binding* b) {
    return index_.resolve(importer_, name.c_str(), name_hash(name.c_str()), b);
  }

  hosted::MallocAllocator heap_;
  ExportIndex index_{heap_};
  test::SyntheticExports files_{index_};
  module::File importer_{heap_};
};

TEST_P(ExportIndexScale, EveryExportIsFoundAtItsAddressAndLocalsNever) {
  const Scale s = GetParam();
  EXPECT_EQ(index_.size(), s.files * s.exports + 1);
  for (size_t f = 0; f < s.files; ++f) {
    for (size_t i = 0; i < s.exports; ++i) {
      std::string name = test::SyntheticExports::export_name(f, i);
      const ExportEntry* e = index_.find(name.c_str());
      ASSERT_NE(e, nullptr) << name;
      ASSERT_EQ(e->addr, test::SyntheticExports::address_of(f, i)) << name;
      ASSERT_EQ(e->owner, &files_.file(f)) << name;
    }
    for (size_t i = 0; i < 2; ++i)
      ASSERT_EQ(index_.find(test::SyntheticExports::local_name(f, i).c_str()), nullptr);
  }
  EXPECT_EQ(index_.find("m0_e"), nullptr);
  EXPECT_EQ(index_.find("mk_printf")->addr, 0x1000u);
}

TEST_P(ExportIndexScale, OnlyTheKernelAndUsedFilesAreVisible) {
  const Scale s = GetParam();
  size_t last = s.files - 1;
  Importer({last});
  module::Binding b;
  ASSERT_EQ(Resolve(test::SyntheticExports::export_name(last, s.exports - 1), &b),
            module::Bind::kBound);
  EXPECT_EQ(b.owner, &files_.file(last));
  EXPECT_EQ(b.sym.addr, test::SyntheticExports::address_of(last, s.exports - 1));
  EXPECT_STREQ(b.module, ("m" + std::to_string(last)).c_str());
  EXPECT_EQ(Resolve("mk_printf", &b), module::Bind::kBound);
  EXPECT_EQ(b.owner, nullptr);
  EXPECT_EQ(Resolve(test::SyntheticExports::local_name(last, 0), &b), module::Bind::kNotVisible);
  if (s.files > 1) {
    EXPECT_EQ(Resolve(test::SyntheticExports::export_name(0, 0), &b), module::Bind::kNotVisible);
  }
}

TEST_P(ExportIndexScale, RemovedFilesAreGoneAndTheRestStays) {
  const Scale s = GetParam();
  for (size_t f = 0; f < s.files; f += 2)
    files_.remove_file(f);
  size_t removed = (s.files + 1) / 2;
  EXPECT_EQ(index_.size(), (s.files - removed) * s.exports + 1);
  for (size_t f = 0; f < s.files; ++f) {
    std::string name = test::SyntheticExports::export_name(f, s.exports / 2);
    const ExportEntry* e = index_.find(name.c_str());
    if (f % 2 == 0) {
      ASSERT_EQ(e, nullptr) << name;
    } else {
      ASSERT_NE(e, nullptr) << name;
      ASSERT_EQ(e->owner, &files_.file(f));
    }
  }
  // Files loaded after them take over withdrawn names (m0's); a live name
  // (m1's) is still refused, naming both owners.
  test::SyntheticExports later(index_);
  Result<void> r = later.add_files(s.files > 1 ? 2 : 1, s.exports);
  EXPECT_EQ(index_.find("m0_e0")->owner, &later.file(0));
  if (s.files > 1) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::kDuplicate);
    EXPECT_STREQ(r.error().message(), "m1.ko: module m1: `m1_e0' is already exported by m1.ko");
    EXPECT_EQ(index_.find("m1_e0")->owner, &files_.file(1));
  } else {
    EXPECT_TRUE(r) << r.error().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Files, ExportIndexScale,
                         ::testing::Values(Scale{1, 100}, Scale{100, 100},
                                           Scale{10000, 100}),  // 1,000,000 exports
                         [](const ::testing::TestParamInfo<Scale>& i) {
                           return std::to_string(i.param.files) + "files_" +
                                  std::to_string(i.param.files * i.param.exports) + "exports";
                         });

}  // namespace
}  // namespace mk::symtab
