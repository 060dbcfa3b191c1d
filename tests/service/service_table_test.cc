// Generic services (service/service_table.h): multi offers "multi.greeter";
// a module compiled at test time acquires it in its LOAD and releases it at
// UNLOAD, and while it holds it multi cannot be unloaded.
#include "service/service_table.h"

#include "service/fixture.h"

namespace mk::test {
namespace {

class ServiceTableTest : public ServiceKernel {};

const char kUser[] = R"(
#include <modkit/service.h>
struct multi_greeter { size_t (*greet)(char* out, size_t cap); };
static const struct multi_greeter* g;
static int ev(struct mk_module* m, int e, void* a) {
  char buf[32];
  size_t size = 0;
  switch (e) {
    case MK_EVENT_LOAD:
      g = mk_service_acquire("multi.greeter", 1, 1, &size);
      if (g == 0 || size < sizeof *g) return MK_ENOENT;
      g->greet(buf, sizeof buf);
      mk_printf("user: multi says %s", buf);
      return 0;
    case MK_EVENT_UNLOAD:
      mk_service_release(g);
      return 0;
  }
  return 0;
}
MODKIT_MODULE(user, 1, ev, 0);
)";

TEST_F(ServiceTableTest, AHolderKeepsTheProviderLoaded) {
  module::File* multi = Load("multi", {"multi_greeting=hi"});
  ASSERT_NE(multi, nullptr) << last_error;
  ASSERT_NE(LoadSource("user", kUser), nullptr) << last_error;
  EXPECT_EQ(LogWith("user: multi says"), std::vector<std::string>{"user: multi says hi"});
  Result<module::UnloadResult> r = Unload("multi");
  ASSERT_FALSE(r);
  EXPECT_EQ(std::string(r.error().message()),
            "module multi of " + std::string(multi->name) + " has 1 reference(s) in use");
  ASSERT_TRUE(Unload("user"));
  ASSERT_TRUE(Unload("multi"));
}

TEST_F(ServiceTableTest, NoProviderOrTheWrongVersionRefusesTheUser) {
  EXPECT_EQ(LoadSource("user", kUser), nullptr);
  EXPECT_EQ(last_error, "user: module user failed to load: its LOAD handler returned 2");
  EXPECT_EQ(LogWith("mk_service_acquire"),
            std::vector<std::string>{"mk_service_acquire: no module offers service multi.greeter"});
  ASSERT_NE(Load("multi"), nullptr);
  Result<const void*> t = sys->services().services().acquire("multi.greeter", 2, 3, nullptr);
  ASSERT_FALSE(t);
  EXPECT_STREQ(t.error().message(),
               "service multi.greeter version 2..3: module multi offers version 1");
}

TEST_F(ServiceTableTest, ANameIsOfferedOnce) {
  ASSERT_NE(Load("multi"), nullptr);
  static const int table = 1;
  Result<service::Offer*> o = sys->services().services().offer(
      sys->registry().find_module("kernel"), "multi.greeter", 2, &table, sizeof table);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code(), Errc::kDuplicate);
  EXPECT_STREQ(o.error().message(),
               "service multi.greeter is offered already (version 1, by module multi)");
}

TEST_F(ServiceTableTest, AcquireFailsOnceTheProviderIsGoing) {
  module::File* multi = Load("multi");
  ASSERT_NE(multi, nullptr);
  size_t size = 0;
  Result<const void*> t = sys->services().services().acquire("multi.greeter", 1, 1, &size);
  ASSERT_TRUE(t);
  EXPECT_EQ(size, sizeof(void*));
  module::UnloadOptions o;
  o.policy = module::UnloadOptions::Policy::kDefer;
  ASSERT_TRUE(Unload("multi", o));
  Result<const void*> again = sys->services().services().acquire("multi.greeter", 1, 1, nullptr);
  ASSERT_FALSE(again);
  EXPECT_STREQ(again.error().message(),
               "service multi.greeter: its provider, module multi, is going away");
  ASSERT_TRUE(sys->services().services().release(t.value()));  // completes the unload
  EXPECT_EQ(sys->registry().find_module("multi"), nullptr);
  Result<void> twice = sys->services().services().release(t.value());
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), Errc::kNotFound);
}

}  // namespace
}  // namespace mk::test
