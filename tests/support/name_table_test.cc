#include "support/name_table.h"

#include <stdint.h>
#include <string.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "support/test_allocator.h"

namespace mk {
namespace {

using mk::testing::TestAllocator;

TEST(NameTable, EmptyFindsNothing) {
  TestAllocator alloc;
  NameTable t(alloc);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("printk"), nullptr);
  EXPECT_EQ(alloc.attempts(), 0u);
}

TEST(NameTable, InsertAndFind) {
  TestAllocator alloc;
  NameTable t(alloc);
  NameTable::Slot* existing = reinterpret_cast<NameTable::Slot*>(1);
  ASSERT_TRUE(t.insert("printk", name_hash("printk"), 7, &existing));
  EXPECT_EQ(existing, nullptr);
  ASSERT_TRUE(t.insert("kmalloc", name_hash("kmalloc"), 8, &existing));
  EXPECT_EQ(t.size(), 2u);
  NameTable::Slot* s = t.find("printk");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value, 7u);
  EXPECT_STREQ(s->name, "printk");
  EXPECT_EQ(t.find("kmalloc", name_hash("kmalloc"))->value, 8u);
  EXPECT_EQ(t.find("kfree"), nullptr);
  EXPECT_EQ(t.find("print"), nullptr);  // a prefix is another name
}

TEST(NameTable, DuplicateReturnsTheExistingSlotUnchanged) {
  TestAllocator alloc;
  NameTable t(alloc);
  NameTable::Slot* existing = nullptr;
  ASSERT_TRUE(t.insert("dup", name_hash("dup"), 1, &existing));
  std::string copy = "dup";  // equal by content, not by pointer
  ASSERT_TRUE(t.insert(copy.c_str(), name_hash("dup"), 2, &existing));
  ASSERT_NE(existing, nullptr);
  EXPECT_EQ(existing->value, 1u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find("dup")->value, 1u);
}

TEST(NameTable, CollidingHashesStayDistinct) {
  TestAllocator alloc;
  NameTable t(alloc);
  NameTable::Slot* existing = nullptr;
  // Same hash for every name: only the string compare tells them apart.
  const char* names[] = {"alpha", "beta", "gamma", "delta", "epsilon"};
  for (uint32_t i = 0; i < 5; ++i)
    ASSERT_TRUE(t.insert(names[i], 42, i, &existing));
  for (uint32_t i = 0; i < 5; ++i) {
    NameTable::Slot* s = t.find(names[i], 42);
    ASSERT_NE(s, nullptr) << names[i];
    EXPECT_EQ(s->value, i);
  }
  EXPECT_EQ(t.find("zeta", 42), nullptr);
}

// find_if() asks its predicate only about slots of the same hash, and
// answers the first it accepts: an owner that knows its names' lengths tells
// apart names of one hash, and of one length, without str_eq.
TEST(NameTable, FindIfAsksOnlyAboutSlotsOfTheHash) {
  TestAllocator alloc;
  NameTable t(alloc);
  NameTable::Slot* existing = nullptr;
  // Lengths 7 to 17, straddling 8 and 16; equal hashes for the first four.
  const char* names[] = {"abcdefg",          "abcdefgh",          "abcdefgi", "abcdefghi",
                         "abcdefghijklmnop", "abcdefghijklmnopq", "other"};
  uint32_t hashes[] = {42, 42, 42, 42, 43, 43, 44};
  for (uint32_t i = 0; i < 7; ++i)
    ASSERT_TRUE(t.insert(names[i], hashes[i], i, &existing));
  for (uint32_t i = 0; i < 7; ++i) {
    size_t n = strlen(names[i]);
    int asked = 0;
    NameTable::Slot* s = t.find_if(hashes[i], [&](const NameTable::Slot& slot) {
      ++asked;
      EXPECT_EQ(slot.hash, hashes[i]);
      return strlen(slot.name) == n && names_equal(slot.name, names[i], n);
    });
    ASSERT_NE(s, nullptr) << names[i];
    EXPECT_EQ(s->value, i);
    EXPECT_GE(asked, 1);
  }
  // A name of a known hash but never inserted: every slot of that hash is
  // asked about, none accepted.
  int asked = 0;
  EXPECT_EQ(t.find_if(42, [&](const NameTable::Slot&) { return ++asked, false; }), nullptr);
  EXPECT_EQ(asked, 4);
  EXPECT_EQ(t.find_if(45, [](const NameTable::Slot&) { return true; }), nullptr);
}

// Erase against a model: random inserts and erases, with names that share
// hashes and runs that wrap around the end of the table, and after each step
// every live name is found with its value and every erased one is not.
TEST(NameTable, EraseKeepsEveryOtherEntryReachable) {
  TestAllocator alloc;
  NameTable t(alloc);
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i)
    names.push_back("n" + std::to_string(i));
  std::vector<bool> in(names.size(), false);
  uint64_t rng = 12345;
  auto next = [&] {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(rng >> 33);
  };
  // A few hashes only: long runs, several homes in one run.
  auto hash = [](size_t i) { return static_cast<uint32_t>(i % 7) * 0x9e3779b9u; };
  for (int step = 0; step < 5000; ++step) {
    size_t i = next() % names.size();
    NameTable::Slot* existing = nullptr;
    if (!in[i]) {
      ASSERT_TRUE(t.insert(names[i].c_str(), hash(i), static_cast<uint32_t>(i), &existing));
      ASSERT_EQ(existing, nullptr);
      in[i] = true;
    } else {
      NameTable::Slot* s = t.find(names[i].c_str(), hash(i));
      ASSERT_NE(s, nullptr);
      t.erase(s);
      in[i] = false;
    }
    if (step % 50 != 0) continue;
    size_t live = 0;
    for (size_t k = 0; k < names.size(); ++k) {
      NameTable::Slot* s = t.find(names[k].c_str(), hash(k));
      if (in[k]) {
        ++live;
        ASSERT_NE(s, nullptr) << names[k] << " at step " << step;
        EXPECT_EQ(s->value, k);
      } else {
        EXPECT_EQ(s, nullptr) << names[k] << " at step " << step;
      }
    }
    EXPECT_EQ(t.size(), live);
  }
}

TEST(NameTable, EraseTheLastEntryEmptiesTheTable) {
  TestAllocator alloc;
  NameTable t(alloc);
  NameTable::Slot* existing = nullptr;
  ASSERT_TRUE(t.insert("only", 7, 1, &existing));
  t.erase(t.find("only", 7));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("only", 7), nullptr);
  ASSERT_TRUE(t.insert("only", 7, 2, &existing));
  EXPECT_EQ(t.find("only", 7)->value, 2u);
}

TEST(NameTable, GrowthKeepsEveryEntry) {
  TestAllocator alloc;
  NameTable t(alloc);
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i)
    names.push_back("sym_" + std::to_string(i));
  NameTable::Slot* existing = nullptr;
  for (uint32_t i = 0; i < names.size(); ++i)
    ASSERT_TRUE(t.insert(names[i].c_str(), name_hash(names[i].c_str()), i, &existing));
  EXPECT_EQ(t.size(), 1000u);
  for (uint32_t i = 0; i < names.size(); ++i) {
    NameTable::Slot* s = t.find(names[i].c_str());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->value, i);
  }
  EXPECT_EQ(alloc.live_allocations(), 1u);  // old tables were freed
}

TEST(NameTable, FailedGrowthLeavesTableUnchanged) {
  TestAllocator alloc;
  NameTable t(alloc);
  std::vector<std::string> names;
  for (int i = 0; i < 9; ++i)
    names.push_back("n" + std::to_string(i));
  NameTable::Slot* existing = nullptr;
  for (uint32_t i = 0; i < 8; ++i)  // 16 slots hold 8 at half load
    ASSERT_TRUE(t.insert(names[i].c_str(), name_hash(names[i].c_str()), i, &existing));
  EXPECT_EQ(alloc.allocations(), 1u);
  alloc.fail_after(0);
  EXPECT_FALSE(t.insert(names[8].c_str(), name_hash(names[8].c_str()), 8, &existing));
  EXPECT_EQ(t.size(), 8u);
  EXPECT_EQ(t.find(names[8].c_str()), nullptr);
  for (uint32_t i = 0; i < 8; ++i)
    EXPECT_EQ(t.find(names[i].c_str())->value, i);
  alloc.never_fail();
  EXPECT_TRUE(t.insert(names[8].c_str(), name_hash(names[8].c_str()), 8, &existing));
  EXPECT_EQ(t.find(names[8].c_str())->value, 8u);
}

TEST(NameTable, FirstInsertCanFail) {
  TestAllocator alloc(0);
  NameTable t(alloc);
  NameTable::Slot* existing = nullptr;
  EXPECT_FALSE(t.insert("x", name_hash("x"), 1, &existing));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("x"), nullptr);
}

TEST(NameTable, ReserveSizesSmallTablesExactly) {
  // One entry: four slots (half load), not the sixteen growth starts with.
  TestAllocator alloc;
  NameTable t(alloc);
  ASSERT_TRUE(t.reserve(1));
  EXPECT_EQ(alloc.live_bytes(), 4 * sizeof(NameTable::Slot));
  NameTable::Slot* existing = nullptr;
  ASSERT_TRUE(t.insert("only", name_hash("only"), 7, &existing));
  ASSERT_TRUE(t.reserve(2));
  ASSERT_TRUE(t.insert("second", name_hash("second"), 8, &existing));
  EXPECT_EQ(alloc.allocations(), 1u);  // two entries fit four slots at half load
  EXPECT_EQ(t.find("only")->value, 7u);
  EXPECT_EQ(t.find("second")->value, 8u);
  EXPECT_EQ(t.find("third"), nullptr);
}

TEST(NameTable, ReserveAvoidsGrowth) {
  TestAllocator alloc;
  NameTable t(alloc);
  ASSERT_TRUE(t.reserve(100));
  EXPECT_EQ(alloc.allocations(), 1u);
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i)
    names.push_back("r" + std::to_string(i));
  NameTable::Slot* existing = nullptr;
  for (uint32_t i = 0; i < 100; ++i)
    ASSERT_TRUE(t.insert(names[i].c_str(), name_hash(names[i].c_str()), i, &existing));
  EXPECT_EQ(alloc.allocations(), 1u);
  ASSERT_TRUE(t.reserve(10));  // already roomy enough
  EXPECT_EQ(alloc.allocations(), 1u);
}

TEST(NameTable, ReserveOfAnImpossibleSizeFails) {
  TestAllocator alloc;
  NameTable t(alloc);
  EXPECT_FALSE(t.reserve(SIZE_MAX / 2));  // must neither hang nor wrap
  EXPECT_FALSE(t.reserve(SIZE_MAX));
  EXPECT_EQ(t.size(), 0u);
}

TEST(NameTable, ClearEmptiesButKeepsWorking) {
  TestAllocator alloc;
  NameTable t(alloc);
  NameTable::Slot* existing = nullptr;
  ASSERT_TRUE(t.insert("a", name_hash("a"), 1, &existing));
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("a"), nullptr);
  ASSERT_TRUE(t.insert("a", name_hash("a"), 2, &existing));
  EXPECT_EQ(existing, nullptr);
  EXPECT_EQ(t.find("a")->value, 2u);
}

}  // namespace
}  // namespace mk
