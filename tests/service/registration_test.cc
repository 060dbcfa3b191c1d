// Owned registrations (service/registration.h) with real modules: a module
// compiled with gcc at test time is loaded by a hosted System whose registry
// reports to a Registrations table; registrations are made on the module's
// behalf, and its unload or failed start must revoke them newest first,
// logging each as a leak.
#include "service/registration.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hosted/system.h"
#include "link/toolchain.h"
#include "modkit/module.h"

namespace mk::test {
namespace {

using hosted::System;
using hosted::SystemConfig;
using service::Registrations;

struct Revoked {
  std::vector<std::string>* order;
  std::string name;
};

void record_revoke(void* ctx, void* entry) {
  auto* r = static_cast<Revoked*>(entry);
  r->order->push_back(r->name);
  (void)ctx;
}

class RegistrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemConfig c;
    c.static_modules = false;
    sys_ = std::make_unique<System>(c);
    service::RegistrationsDeps d;
    d.alloc = &alloc_;
    d.threads = &threads_;
    d.registry = &sys_->registry();
    d.log = [](void* ctx, const char* line) { static_cast<System*>(ctx)->add_log(line); };
    d.log_ctx = sys_.get();
    regs_ = std::make_unique<Registrations>(d);
    ASSERT_TRUE(sys_->registry().add_listener(regs_->listener()));
    ASSERT_TRUE(sys_->boot());
  }
  void TearDown() override {
    sys_->shutdown();
    regs_.reset();
  }

  // Compiles and loads a module `name` whose LOAD returns `load_result`.
  module::File* Load(const std::string& name, int load_result = 0) {
    std::string src =
        "#include <modkit/module.h>\nstatic int ev(struct mk_module* m, int e, void* a) {\n"
        "  return e == MK_EVENT_LOAD ? " +
        std::to_string(load_result) + " : 0;\n}\nMODKIT_MODULE(" + name + ", 1, ev, NULL);\n";
    std::string o = scratch_.Compile(kGcc, name + ".c", src, {"-O2", "-I" MODKIT_TEST_SDK_DIR});
    std::vector<uint8_t> bytes = ReadBytes(o);
    Result<module::File*> f =
        sys_->registry().load_bytes(ByteView(bytes.data(), bytes.size()), name.c_str());
    if (!f) {
      last_error_ = f.error().message();
      return nullptr;
    }
    return f.value();
  }

  std::vector<std::string> LogLines(const std::string& needle) {
    std::vector<std::string> out;
    for (const std::string& l : sys_->log())
      if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
  }

  Scratch scratch_;
  hosted::MallocAllocator alloc_;
  hosted::PosixThreads threads_;
  std::unique_ptr<System> sys_;
  std::unique_ptr<Registrations> regs_;
  std::string last_error_;
};

TEST_F(RegistrationTest, UnloadRevokesWhatIsLeftNewestFirstAndLogsEachLeak) {
  module::File* f = Load("echo");
  ASSERT_NE(f, nullptr);
  module::Module* m = f->modules[0];
  std::vector<std::string> order;
  Revoked a{&order, "echo0"}, b{&order, "shutdown"}, c{&order, "echo.size"}, gone{&order, "x"};
  ASSERT_TRUE(regs_->add(m, "cdev", "echo0", &record_revoke, nullptr, &a));
  ASSERT_TRUE(regs_->add(m, "event", "shutdown", &record_revoke, nullptr, &b));
  Result<service::Handle> taken = regs_->add(m, "tunable", "x", &record_revoke, nullptr, &gone);
  ASSERT_TRUE(taken);
  ASSERT_TRUE(regs_->add(m, "tunable", "echo.size", &record_revoke, nullptr, &c));
  EXPECT_EQ(taken.value()->owner, m);
  EXPECT_STREQ(taken.value()->kind, "tunable");
  EXPECT_EQ(regs_->count(m), 4u);
  regs_->remove(taken.value());  // deregistered by its owner: neither revoked nor a leak
  EXPECT_EQ(regs_->count(m), 3u);

  ASSERT_TRUE(sys_->registry().unload(f, module::UnloadOptions{}));
  EXPECT_EQ(order, (std::vector<std::string>{"echo.size", "shutdown", "echo0"}));
  EXPECT_EQ(LogLines("leaked"),
            (std::vector<std::string>{"echo: leaked tunable 'echo.size', revoked",
                                      "echo: leaked event 'shutdown', revoked",
                                      "echo: leaked cdev 'echo0', revoked"}));
}

TEST_F(RegistrationTest, OwnersAreKeptApart) {
  module::File* f1 = Load("one");
  module::File* f2 = Load("two");
  ASSERT_NE(f1, nullptr);
  ASSERT_NE(f2, nullptr);
  std::vector<std::string> order;
  Revoked a{&order, "a"}, b{&order, "b"};
  ASSERT_TRUE(regs_->add(f1->modules[0], "cdev", "a", &record_revoke, nullptr, &a));
  ASSERT_TRUE(regs_->add(f2->modules[0], "cdev", "b", &record_revoke, nullptr, &b));
  ASSERT_TRUE(sys_->registry().unload(f1, module::UnloadOptions{}));
  EXPECT_EQ(order, std::vector<std::string>{"a"});
  EXPECT_EQ(regs_->count(f2->modules[0]), 1u);
  ASSERT_TRUE(sys_->registry().unload(f2, module::UnloadOptions{}));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

TEST_F(RegistrationTest, ANullOwnerIsRefused) {
  Result<service::Handle> h = regs_->add(nullptr, "cdev", "null", nullptr, nullptr, nullptr);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), Errc::kInvalid);
  EXPECT_STREQ(h.error().message(), "cdev 'null': a registration needs its owner module");
}

TEST_F(RegistrationTest, CallsEnterALiveModuleAndGetEnxioOnceItIsGoing) {
  module::File* f = Load("echo");
  ASSERT_NE(f, nullptr);
  module::Module* m = f->modules[0];
  {
    service::Call call(*regs_, m);
    ASSERT_EQ(call.error(), 0);
    EXPECT_EQ(m->refs, 1u);
    // A call in flight: the default policy refuses the unload.
    Result<module::UnloadResult> r = sys_->registry().unload(f, module::UnloadOptions{});
    ASSERT_FALSE(r);
    EXPECT_STREQ(r.error().message(), "module echo of echo has 1 reference(s) in use");
    // Deferred: GOING now, so new calls fail; the unload completes at the leave.
    module::UnloadOptions defer;
    defer.policy = module::UnloadOptions::Policy::kDefer;
    Result<module::UnloadResult> d = sys_->registry().unload(f, defer);
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value(), module::UnloadResult::kDeferred);
    service::Call late(*regs_, m);
    EXPECT_EQ(late.error(), MK_ENXIO);
  }
  EXPECT_EQ(sys_->registry().find_module("echo"), nullptr);
}

}  // namespace
}  // namespace mk::test
