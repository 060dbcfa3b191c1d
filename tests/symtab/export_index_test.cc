// ExportIndex: one hash index of exports; visibility only through
// dependencies and the kernel; duplicates refused with both owners named;
// locals never visible.
#include "symtab/export_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "elf/elf.h"
#include "hosted/system.h"
#include "link/toolchain.h"

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
  hosted::System sys_{hosted::SystemConfig{.static_modules = false}};
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

}  // namespace
}  // namespace mk::symtab
