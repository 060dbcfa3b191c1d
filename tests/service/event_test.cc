// Event handlers (service/event.h): priority order, the kernel's shutdown
// event reaching the sample module multi, a handler left at unload revoked
// and logged as a leak, handlers of a module going away skipped.
#include "service/event.h"

#include "service/fixture.h"

namespace mk::test {
namespace {

class EventTest : public ServiceKernel {};

std::vector<std::string>* g_calls = nullptr;

void record(void* arg, const char* event, void* data) {
  g_calls->push_back(std::string(static_cast<const char*>(arg)) + ":" + event);
}

TEST_F(EventTest, HandlersRunByPriorityThenRegistrationOrder) {
  std::vector<std::string> calls;
  g_calls = &calls;
  module::Module* k = sys->registry().find_module("kernel");
  service::EventHandlers& ev = sys->services().events();
  service::EventHandler* late = ev.add(k, "tick", 20, &record, (void*)"late").value();
  service::EventHandler* first = ev.add(k, "tick", 1, &record, (void*)"first").value();
  service::EventHandler* mid_a = ev.add(k, "tick", 10, &record, (void*)"mid_a").value();
  service::EventHandler* mid_b = ev.add(k, "tick", 10, &record, (void*)"mid_b").value();
  service::EventHandler* other = ev.add(k, "tock", 0, &record, (void*)"other").value();
  EXPECT_EQ(ev.invoke("tick", nullptr), 4u);
  EXPECT_EQ(calls,
            (std::vector<std::string>{"first:tick", "mid_a:tick", "mid_b:tick", "late:tick"}));
  ev.remove(mid_a);
  calls.clear();
  EXPECT_EQ(ev.invoke("tick", nullptr), 3u);
  EXPECT_EQ(calls, (std::vector<std::string>{"first:tick", "mid_b:tick", "late:tick"}));
  EXPECT_EQ(ev.invoke("nobody", nullptr), 0u);
  for (service::EventHandler* h : {late, first, mid_b, other})
    ev.remove(h);
  EXPECT_EQ(ev.count("tick"), 0u);
  g_calls = nullptr;
}

TEST_F(EventTest, BadRegistrationsAreRefused) {
  module::Module* k = sys->registry().find_module("kernel");
  Result<service::EventHandler*> a = sys->services().events().add(k, "", 0, &record, nullptr);
  ASSERT_FALSE(a);
  EXPECT_STREQ(a.error().message(), "event handler: the event name must have 1..63 characters");
  Result<service::EventHandler*> b = sys->services().events().add(k, "x", 0, nullptr, nullptr);
  ASSERT_FALSE(b);
  EXPECT_STREQ(b.error().message(), "event handler for 'x': no function");
}

TEST_F(EventTest, ShutdownReachesMultiAndItsLeftHandlerIsRevokedAtUnload) {
  ASSERT_NE(Load("multi"), nullptr) << last_error;
  EXPECT_EQ(sys->services().events().count("shutdown"), 1u);
  EXPECT_EQ(mk_event_invoke("shutdown", nullptr), 1);
  EXPECT_EQ(LogWith("multi: shutdown event").size(), 1u);
  ASSERT_TRUE(Unload("multi"));
  // multi takes back its device and service but leaves the handler on purpose.
  EXPECT_EQ(LogWith("leaked"), std::vector<std::string>{"multi: leaked event 'shutdown', revoked"});
  EXPECT_EQ(sys->services().events().count("shutdown"), 0u);
}

TEST_F(EventTest, TheKernelInvokesShutdownWhenItShutsDown) {
  ASSERT_NE(Load("multi"), nullptr) << last_error;
  sys->shutdown();
  std::vector<std::string> log = sys->log();
  auto at = [&](const std::string& line) {
    for (size_t i = 0; i < log.size(); ++i)
      if (log[i] == line) return static_cast<int>(i);
    return -1;
  };
  ASSERT_GE(at("multi: shutdown event"), 0);
  ASSERT_GE(at("shutdown: multi"), 0);
  EXPECT_LT(at("multi: shutdown event"), at("shutdown: multi"));  // the event, then SHUTDOWN
}

TEST_F(EventTest, ADeviceArrivalIsAnEvent) {
  std::vector<std::string> calls;
  g_calls = &calls;
  module::Module* k = sys->registry().find_module("kernel");
  auto arrival = [](void* arg, const char* event, void* data) {
    g_calls->push_back(std::string(event) + " " + static_cast<const char*>(data));
  };
  service::EventHandler* h =
      sys->services().events().add(k, "device_arrival", 0, arrival, nullptr).value();
  ASSERT_NE(Load("null"), nullptr) << last_error;
  ASSERT_NE(Load("multi"), nullptr) << last_error;
  EXPECT_EQ(calls,
            (std::vector<std::string>{"device_arrival null", "device_arrival multi/greeting"}));
  sys->services().events().remove(h);
  g_calls = nullptr;
}

TEST_F(EventTest, AHandlerOfAModuleGoingAwayIsSkipped) {
  module::File* f = LoadSource("listener", R"(
#include <modkit/service.h>
static struct mk_eventh* h;
static void on(void* arg, const char* e, void* d) { mk_printf("listener: %s", e); }
static int ev(struct mk_module* m, int e, void* a) {
  if (e == MK_EVENT_LOAD) return mk_event_register(m, "ping", 0, on, 0, &h);
  if (e == MK_EVENT_UNLOAD) mk_event_deregister(h);
  return 0;
}
MODKIT_MODULE(listener, 1, ev, 0);
)");
  ASSERT_NE(f, nullptr) << last_error;
  module::Module* m = f->modules[0];
  EXPECT_EQ(mk_event_invoke("ping", nullptr), 1);
  ASSERT_TRUE(sys->registry().get(m));  // a holder keeps the unload deferred
  module::UnloadOptions o;
  o.policy = module::UnloadOptions::Policy::kDefer;
  ASSERT_TRUE(Unload("listener", o));
  EXPECT_EQ(mk_event_invoke("ping", nullptr), 0);  // GOING: skipped
  sys->registry().put(m);
  EXPECT_EQ(LogWith("listener: ping").size(), 1u);
  EXPECT_TRUE(LogWith("leaked").empty());
}

}  // namespace
}  // namespace mk::test
