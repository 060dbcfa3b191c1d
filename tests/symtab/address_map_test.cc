// AddressMap: exact answers for every symbol of real compiled modules, at
// section boundaries, after unloads, and with hundreds of files loaded.
#include "symtab/address_map.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "elf/elf.h"
#include "hosted/system.h"
#include "link/toolchain.h"
#include "util/system_config.h"

namespace mk::symtab {
namespace {

using test::Scratch;

constexpr const char* kModule = R"(
#include <modkit/module.h>
static int helper(int x) { return x * 3; }
int first_fn(int x) { return helper(x) + 1; }
int second_fn(int x) { return first_fn(x) * 2; }
int table[16] = {1, 2, 3};
const char banner[] = "address map";
static int ev(struct mk_module* m, int e, void* a) { return 0; }
MODKIT_MODULE(addrmap_mod, 1, ev, 0);
)";

constexpr const char* kPlain = R"(
int plain_a(int x) { return x + 1; }
int plain_b(int x) { return plain_a(x) * 2; }
int plain_data[8];
)";

class AddressMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
    module_obj_ = scratch_.Compile(test::kGcc, "mod.c", kModule, {"-O1", inc});
    plain_obj_ = scratch_.Compile(test::kGcc, "plain.c", kPlain, {"-O1"});
    ASSERT_FALSE(module_obj_.empty());
    ASSERT_FALSE(plain_obj_.empty());
    mod_bytes_ = test::ReadBytes(module_obj_);
    plain_bytes_ = test::ReadBytes(plain_obj_);
    ASSERT_TRUE(sys_.boot());
  }

  module::File* Load(const std::vector<uint8_t>& bytes, const char* name) {
    auto f = sys_.registry().load_bytes(ByteView(bytes.data(), bytes.size()), name);
    EXPECT_TRUE(f) << f.error().message();
    return f ? f.value() : nullptr;
  }

  Scratch scratch_;
  std::string module_obj_, plain_obj_;
  std::vector<uint8_t> mod_bytes_, plain_bytes_;
  hosted::System sys_{test::no_static_modules()};
};

TEST_F(AddressMapTest, EverySymbolOfALoadedModuleIsFoundAtItsAddress) {
  module::File* f = Load(mod_bytes_, "mod.ko");
  ASSERT_NE(f, nullptr);
  AddressMap& map = sys_.addresses();
  size_t checked = 0;
  for (const link::FileSymbol& s : f->linked->symbols()) {
    if (s.section == UINT32_MAX) continue;
    Where w;
    ASSERT_TRUE(map.lookup(s.addr, &w)) << s.name;
    EXPECT_EQ(w.file, f);
    ASSERT_NE(w.symbol, nullptr) << s.name;
    EXPECT_EQ(w.symbol->addr, s.addr) << s.name;
    EXPECT_EQ(w.offset, 0u);
    if (s.type == elf::STT_FUNC && s.size > 1) {
      ASSERT_TRUE(map.lookup(s.addr + s.size - 1, &w));
      EXPECT_STREQ(w.symbol->name, s.name);
      EXPECT_EQ(w.offset, s.size - 1);
    }
    ++checked;
  }
  EXPECT_GE(checked, 4u);  // helper, first_fn, second_fn, table, banner
}

TEST_F(AddressMapTest, DescribesAddressesAsSymbolPlusOffsetAndModule) {
  module::File* f = Load(mod_bytes_, "mod.ko");
  ASSERT_NE(f, nullptr);
  const link::FileSymbol* second = f->linked->find("second_fn");
  ASSERT_NE(second, nullptr);
  char buf[128];
  sys_.addresses().describe(second->addr + 3, buf, sizeof buf);
  EXPECT_STREQ(buf, "second_fn+0x3 [addrmap_mod]");
}

TEST_F(AddressMapTest, SectionBoundariesAreExact) {
  module::File* f = Load(mod_bytes_, "mod.ko");
  ASSERT_NE(f, nullptr);
  for (const link::FileSection& s : f->linked->sections()) {
    if (s.size == 0 || s.cls == link::Class::kInitText) continue;
    Where w;
    ASSERT_TRUE(sys_.addresses().lookup(s.addr, &w)) << s.name;
    ASSERT_NE(w.section, nullptr) << s.name;
    EXPECT_EQ(w.section->addr, s.addr) << s.name;
    ASSERT_TRUE(sys_.addresses().lookup(s.addr + s.size - 1, &w)) << s.name;
    ASSERT_NE(w.section, nullptr);
    EXPECT_EQ(w.section->addr, s.addr) << s.name << ": last byte";
  }
  // One byte past the end of each block is not this file's.
  for (const link::Block& b : f->linked->blocks) {
    if (b.size == 0) continue;
    Where w;
    bool found = sys_.addresses().lookup(b.base + b.size, &w);
    EXPECT_TRUE(!found || w.file != f);
    EXPECT_FALSE(sys_.addresses().lookup(b.base - 1, &w) && w.file == f);
  }
}

TEST_F(AddressMapTest, UnloadedFilesAreGone) {
  module::File* f = Load(mod_bytes_, "mod.ko");
  ASSERT_NE(f, nullptr);
  uint64_t addr = f->linked->find("first_fn")->addr;
  Where w;
  ASSERT_TRUE(sys_.addresses().lookup(addr, &w));
  ASSERT_TRUE(sys_.registry().unload(f, {}));
  EXPECT_FALSE(sys_.addresses().lookup(addr, &w));
  EXPECT_EQ(sys_.addresses().ranges(), 0u);
}

TEST_F(AddressMapTest, HundredsOfFilesStayExactAsTheyComeAndGo) {
  std::vector<module::File*> files;
  for (int i = 0; i < 300; ++i) {
    std::string name = "plain" + std::to_string(i) + ".o";
    files.push_back(Load(plain_bytes_, name.c_str()));
    ASSERT_NE(files.back(), nullptr);
  }
  std::mt19937 rng(42);
  std::shuffle(files.begin(), files.end(), rng);
  for (size_t i = 0; i < files.size() / 2; ++i)
    ASSERT_TRUE(sys_.registry().unload(files[i], {}));
  files.erase(files.begin(), files.begin() + static_cast<long>(files.size() / 2));
  for (module::File* f : files) {
    for (const char* name : {"plain_a", "plain_b", "plain_data"}) {
      const link::FileSymbol* s = f->linked->find(name);
      ASSERT_NE(s, nullptr);
      Where w;
      ASSERT_TRUE(sys_.addresses().lookup(s->addr, &w));
      EXPECT_EQ(w.file, f);
      EXPECT_EQ(w.symbol, s);
    }
  }
}

}  // namespace
}  // namespace mk::symtab
