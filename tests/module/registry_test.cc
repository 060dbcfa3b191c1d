// The registry's listeners (module/registry.h, ModuleListener): several
// layers hook the same registry; each hook is told to the listeners in the
// order they were added; a refusal stops the walk and the listeners that had
// accepted are told to undo. Modules are compiled with gcc at test time and
// loaded by a hosted System (whose own service layer is one more listener,
// added first).
#include "module/registry.h"

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
using module::File;
using module::LoadParams;
using module::Module;
using module::ModuleListener;
using module::Registry;

// One listener: appends "<tag> <hook> <module>" for the module under test
// (named "sub...") to a log shared by all of them; refuses when told to.
struct Recorder {
  std::string tag;
  std::vector<std::string>* log;
  bool refuse_quiesce = false;
  bool refuse_start = false;

  void Note(const char* hook, const char* module) {
    if (std::string(module).rfind("sub", 0) == 0) log->push_back(tag + " " + hook + " " + module);
  }
  ModuleListener Listener() {
    ModuleListener l;
    l.ctx = this;
    l.quiescing = [](void* ctx, Module* m) -> int {
      auto* r = static_cast<Recorder*>(ctx);
      r->Note("quiescing", m->name);
      if (!r->refuse_quiesce) return 0;
      Registry::set_veto(m, (r->tag + " keeps it").c_str());
      return MK_EBUSY;
    };
    l.resumed = [](void* ctx, Module* m) { static_cast<Recorder*>(ctx)->Note("resumed", m->name); };
    l.stopped = [](void* ctx, Module* m) { static_cast<Recorder*>(ctx)->Note("stopped", m->name); };
    l.revoking = [](void* ctx, Module* m) {
      static_cast<Recorder*>(ctx)->Note("revoking", m->name);
    };
    l.starting = [](void* ctx, File& f, const LoadParams&) -> Result<void> {
      auto* r = static_cast<Recorder*>(ctx);
      for (Module* m : f.modules)
        r->Note("starting", m->name);
      if (r->refuse_start) return Error(Errc::kInvalid, "%s refuses %s", r->tag.c_str(), f.name);
      return Ok();
    };
    return l;
  }
};

class RegistryListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemConfig c;
    c.static_modules = false;
    sys_ = std::make_unique<System>(c);
    base_ = sys_->registry().listener_count();
    for (Recorder* r : {&a_, &b_, &c_})
      ASSERT_TRUE(sys_->registry().add_listener(r->Listener()));
    ASSERT_TRUE(sys_->boot());
  }
  void TearDown() override { sys_->shutdown(); }

  // A file with two modules, suba then subb (started in that order).
  Result<File*> Load() {
    const char* src =
        "#include <modkit/module.h>\n"
        "static int ev(struct mk_module* m, int e, void* a) { return 0; }\n"
        "MODKIT_MODULE(suba, 1, ev, NULL);\n"
        "MODKIT_MODULE(subb, 1, ev, NULL);\n";
    std::string o = scratch_.Compile(kGcc, "sub.c", src, {"-O2", "-I" MODKIT_TEST_SDK_DIR});
    bytes_ = ReadBytes(o);
    return sys_->registry().load_bytes(ByteView(bytes_.data(), bytes_.size()), "sub.ko");
  }

  std::vector<std::string> log_;
  Recorder a_{"A", &log_}, b_{"B", &log_}, c_{"C", &log_};
  Scratch scratch_;
  std::vector<uint8_t> bytes_;
  std::unique_ptr<System> sys_;
  size_t base_ = 0;
};

TEST_F(RegistryListenerTest, EveryHookIsToldToEachListenerInTheOrderTheyWereAdded) {
  Result<File*> f = Load();
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(log_,
            (std::vector<std::string>{"A starting suba", "A starting subb", "B starting suba",
                                      "B starting subb", "C starting suba", "C starting subb"}));
  log_.clear();
  ASSERT_TRUE(sys_->registry().unload(f.value(), module::UnloadOptions{}));
  // Modules last started first; within each, listeners in added order.
  EXPECT_EQ(log_,
            (std::vector<std::string>{"A quiescing subb", "B quiescing subb", "C quiescing subb",
                                      "A quiescing suba", "B quiescing suba", "C quiescing suba",
                                      "A stopped subb", "B stopped subb", "C stopped subb",
                                      "A stopped suba", "B stopped suba", "C stopped suba"}));
}

TEST_F(RegistryListenerTest, AForcedUnloadTellsEachListenerToRevoke) {
  Result<File*> f = Load();
  ASSERT_TRUE(f) << f.error().message();
  log_.clear();
  module::UnloadOptions o;
  o.force = true;
  ASSERT_TRUE(sys_->registry().unload(f.value(), o));
  std::vector<std::string> revoking;
  for (const std::string& l : log_)
    if (l.find("revoking") != std::string::npos) revoking.push_back(l);
  EXPECT_EQ(revoking,
            (std::vector<std::string>{"A revoking subb", "B revoking subb", "C revoking subb",
                                      "A revoking suba", "B revoking suba", "C revoking suba"}));
}

TEST_F(RegistryListenerTest, ARefusedStartStopsTheWalkAndEarlierListenersAreToldStopped) {
  b_.refuse_start = true;
  Result<File*> f = Load();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), Errc::kInvalid);
  EXPECT_STREQ(f.error().message(), "B refuses sub.ko");
  // C is never asked; A undoes (last started module first); B left nothing.
  EXPECT_EQ(log_,
            (std::vector<std::string>{"A starting suba", "A starting subb", "B starting suba",
                                      "B starting subb", "A stopped subb", "A stopped suba"}));
  EXPECT_EQ(sys_->registry().find_module("suba"), nullptr);
  // Nothing is left half loaded: the same file loads once B accepts.
  b_.refuse_start = false;
  Result<File*> again = Load();
  ASSERT_TRUE(again) << again.error().message();
}

TEST_F(RegistryListenerTest, ARefusedQuiesceKeepsTheModuleAndResumesThoseThatAccepted) {
  Result<File*> f = Load();
  ASSERT_TRUE(f) << f.error().message();
  log_.clear();
  b_.refuse_quiesce = true;
  Result<module::UnloadResult> r = sys_->registry().unload(f.value(), module::UnloadOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kBusy);
  EXPECT_STREQ(r.error().message(), "module subb vetoed the unload of sub.ko: B keeps it");
  // subb: A accepted, B refused, C never asked; A takes its quiesce back.
  // suba was never asked.
  EXPECT_EQ(log_,
            (std::vector<std::string>{"A quiescing subb", "B quiescing subb", "A resumed subb"}));
  EXPECT_EQ(f.value()->state, module::State::kLive);
  EXPECT_EQ(f.value()->modules[1]->state, module::State::kLive);

  // A refusal on the second module resumes the first one at every listener.
  log_.clear();
  b_.refuse_quiesce = false;
  c_.refuse_quiesce = false;
  struct Only {
    static int quiesce(void* ctx, Module* m) {
      if (std::string(m->name) != "suba") return 0;
      Registry::set_veto(m, "suba is held");
      return MK_EBUSY;
    }
  };
  // One more listener, after the recorders, refuses only suba.
  ModuleListener l;
  l.quiescing = &Only::quiesce;
  ASSERT_TRUE(sys_->registry().add_listener(l));
  Result<module::UnloadResult> r2 = sys_->registry().unload(f.value(), module::UnloadOptions{});
  ASSERT_FALSE(r2);
  EXPECT_STREQ(r2.error().message(), "module suba vetoed the unload of sub.ko: suba is held");
  EXPECT_EQ(log_,
            (std::vector<std::string>{"A quiescing subb", "B quiescing subb", "C quiescing subb",
                                      "A quiescing suba", "B quiescing suba", "C quiescing suba",
                                      "A resumed suba", "B resumed suba", "C resumed suba",
                                      "A resumed subb", "B resumed subb", "C resumed subb"}));
}

TEST_F(RegistryListenerTest, AListenerPastTheFixedArrayIsRefused) {
  Registry& reg = sys_->registry();
  EXPECT_EQ(reg.listener_count(), base_ + 3);
  while (reg.listener_count() < Registry::kMaxListeners)
    ASSERT_TRUE(reg.add_listener(ModuleListener{}));
  Result<void> r = reg.add_listener(ModuleListener{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kRange);
  EXPECT_STREQ(r.error().message(),
               "registry: a listener past the 8 the registry holds; raise kMaxListeners");
}

}  // namespace
}  // namespace mk::test
