#include "hosted/slab_pool.h"

#include <stdint.h>

#include <set>

#include "gtest/gtest.h"

namespace mk::hosted {
namespace {

struct Record {
  void* first;  // the pool's while the record is free
  uint64_t payload;
};

TEST(SlabPool, RecordsAreDistinctAcrossSlabs) {
  SlabPool<Record, 4> pool;
  std::set<Record*> seen;
  for (int i = 0; i < 10; ++i) {  // three slabs
    Record* r = pool.take();
    ASSERT_NE(r, nullptr);
    r->first = nullptr;
    r->payload = static_cast<uint64_t>(i);
    EXPECT_TRUE(seen.insert(r).second) << "record " << i << " handed out twice";
  }
  for (Record* r : seen)
    for (Record* q : seen)
      EXPECT_TRUE(r == q || r + 1 <= q || q + 1 <= r) << "records overlap";
}

TEST(SlabPool, AGivenRecordIsTakenAgainAndOthersKeepTheirContents) {
  SlabPool<Record, 8> pool;
  Record* a = pool.take();
  Record* b = pool.take();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  b->first = b;
  b->payload = 42;
  pool.give(a);
  EXPECT_EQ(pool.take(), a) << "the last record given back comes first";
  EXPECT_EQ(b->first, b);
  EXPECT_EQ(b->payload, 42u);
}

}  // namespace
}  // namespace mk::hosted
