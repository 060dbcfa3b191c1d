// Tunables (service/tunable.h): typed parameters of the sample modules zero,
// echo and multi and of test-time modules, set at load as name=value and
// while loaded; every refused value, name and form with its exact message.
#include "service/tunable.h"

#include "service/fixture.h"

namespace mk::test {
namespace {

class TunableTest : public ServiceKernel {
 protected:
  std::string Get(const std::string& module, const std::string& name) {
    char buf[256];
    Result<void> r = sys->services().tunables().get(module.c_str(), name.c_str(), buf, sizeof buf);
    return r ? std::string(buf) : std::string("<") + r.error().message() + ">";
  }
  std::string Set(const std::string& module, const std::string& name, const std::string& v) {
    Result<void> r = sys->services().tunables().set(module.c_str(), name.c_str(), v.c_str());
    return r ? "ok" : r.error().message();
  }
};

TEST_F(TunableTest, DefaultsAreReadableOnceLoaded) {
  ASSERT_NE(Load("zero"), nullptr) << last_error;
  ASSERT_NE(Load("multi"), nullptr) << last_error;
  EXPECT_EQ(Get("zero", "zero_fill"), "0");
  EXPECT_EQ(Get("multi", "multi_greeting"), "hello");
  struct Row {
    std::string module, name, type, def, value, desc;
  };
  std::vector<Row> rows;
  sys->services().tunables().for_each(
      nullptr,
      [](void* ctx, const service::TunableInfo& t) {
        static_cast<std::vector<Row>*>(ctx)->push_back(Row{
            t.module, t.name, service::tunable_type_name(t.type), t.def, t.value, t.description});
      },
      &rows);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].module + " " + rows[0].name + " " + rows[0].type + " " + rows[0].def + " " +
                rows[0].value + " " + rows[0].desc,
            "zero zero_fill uint 0 0 the byte value reads return (0..255)");
  EXPECT_EQ(rows[1].module + " " + rows[1].name + " " + rows[1].type + " " + rows[1].def + " " +
                rows[1].value,
            "multi multi_greeting string hello hello");
}

TEST_F(TunableTest, ParametersAtLoadReachTheModuleBeforeItsCodeRuns) {
  ASSERT_NE(Load("zero", {"zero_fill=0x41"}), nullptr) << last_error;
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("zero", &f), 0);
  EXPECT_EQ(Read(f, 3), "AAA");
  sys->devfs().close(f);
  ASSERT_NE(Load("multi", {"multi.multi_greeting=bonjour"}), nullptr) << last_error;
  ASSERT_EQ(Open("multi/greeting", &f, kOpenRead), 0);
  EXPECT_EQ(Read(f, 64), "bonjour\n");
  sys->devfs().close(f);
}

TEST_F(TunableTest, SettingWhileLoadedChangesWhatTheModuleSees) {
  ASSERT_NE(Load("zero"), nullptr) << last_error;
  EXPECT_EQ(Set("zero", "zero_fill", "66"), "ok");
  EXPECT_EQ(Get("zero", "zero_fill"), "66");
  DevfsFile* f = nullptr;
  ASSERT_EQ(Open("zero", &f), 0);
  EXPECT_EQ(Read(f, 2), "BB");
  sys->devfs().close(f);
}

TEST_F(TunableTest, BadValuesAreRefusedAtRunTimeAndNothingChanges) {
  ASSERT_NE(Load("zero"), nullptr) << last_error;
  ASSERT_NE(Load("multi"), nullptr) << last_error;
  EXPECT_EQ(Set("zero", "zero_fill", "-1"),
            "zero.zero_fill=-1: uint value is not a uint (0..4294967295, decimal or 0x hex)");
  EXPECT_EQ(Set("zero", "zero_fill", "4294967296"),
            "zero.zero_fill=4294967296: uint value is not a uint (0..4294967295, decimal or 0x "
            "hex)");
  EXPECT_EQ(Set("zero", "zero_fill", ""),
            "zero.zero_fill=: uint value is not a uint (0..4294967295, decimal or 0x hex)");
  EXPECT_EQ(
      Set("multi", "multi_greeting", std::string(64, 'x')),
      "multi.multi_greeting=" + std::string(64, 'x') + ": string value is too long for its string");
  EXPECT_EQ(Set("zero", "nope", "1"), "module zero has no tunable 'nope' (or is not loaded)");
  EXPECT_EQ(Set("gone", "zero_fill", "1"),
            "module gone has no tunable 'zero_fill' (or is not loaded)");
  EXPECT_EQ(Get("zero", "zero_fill"), "0");
  EXPECT_EQ(Get("multi", "multi_greeting"), "hello");
  EXPECT_EQ(Set("multi", "multi_greeting", std::string(63, 'y')), "ok");
  EXPECT_EQ(Get("multi", "multi_greeting"), std::string(63, 'y'));
}

TEST_F(TunableTest, BadParametersRefuseTheLoad) {
  std::string ko = "zero.ko";  // as the hints index names it
  EXPECT_EQ(Load("zero", {"zero_fill=lots"}), nullptr);
  EXPECT_EQ(last_error, ko + ": parameter zero.zero_fill=lots: uint value is not a uint "
                             "(0..4294967295, decimal or 0x hex)");
  EXPECT_EQ(Load("zero", {"colour=red"}), nullptr);
  EXPECT_EQ(last_error, ko + ": no parameter 'colour' (its tunables: zero.zero_fill)");
  EXPECT_EQ(Load("zero", {"zero_fill"}), nullptr);
  EXPECT_EQ(last_error, ko + ": parameter 'zero_fill' is not name=value");
  EXPECT_EQ(Load("zero", {"=1"}), nullptr);
  EXPECT_EQ(last_error, ko + ": parameter '=1' is not name=value");
  EXPECT_EQ(Load("null", {"x=1"}), nullptr);
  EXPECT_EQ(last_error, "null.ko: no parameter 'x' (the file declares no tunables)");
  // Nothing of the refused loads is left; a good one works afterwards.
  EXPECT_EQ(sys->registry().find_module("zero"), nullptr);
  EXPECT_FALSE(Exists("zero"));
  ASSERT_NE(Load("zero", {"zero_fill=1"}), nullptr) << last_error;
  EXPECT_EQ(Get("zero", "zero_fill"), "1");
}

TEST_F(TunableTest, EveryTypeTakesItsForms) {
  ASSERT_NE(LoadSource("typed", R"(
#include <modkit/service.h>
MODKIT_TUNABLE(typed, t_int, int, -5, "an int");
MODKIT_TUNABLE(typed, t_uint, uint, 7, "a uint");
MODKIT_TUNABLE(typed, t_bool, bool, 0, "a bool");
MODKIT_TUNABLE_STRING(typed, t_str, 8, "abc", "a string");
int typed_sum(void) { return t_int + (int)t_uint + t_bool + t_str[0]; }
MODKIT_MODULE(typed, 1, 0, 0);
)",
                       {"t_int=-2147483648", "t_uint=0xffffffff", "t_bool=yes", "t_str=1234567"}),
            nullptr)
      << last_error;
  EXPECT_EQ(Get("typed", "t_int"), "-2147483648");
  EXPECT_EQ(Get("typed", "t_uint"), "4294967295");
  EXPECT_EQ(Get("typed", "t_bool"), "1");
  EXPECT_EQ(Get("typed", "t_str"), "1234567");
  for (const char* v : {"0", "false", "no", "off"}) {
    EXPECT_EQ(Set("typed", "t_bool", "1"), "ok");
    EXPECT_EQ(Set("typed", "t_bool", v), "ok");
    EXPECT_EQ(Get("typed", "t_bool"), "0") << v;
  }
  EXPECT_EQ(Set("typed", "t_bool", "maybe"),
            "typed.t_bool=maybe: bool value is not a bool (0/1, true/false, yes/no, on/off)");
  EXPECT_EQ(Set("typed", "t_int", "2147483648"),
            "typed.t_int=2147483648: int value is not an int (-2147483648..2147483647, decimal "
            "or 0x hex)");
  EXPECT_EQ(Set("typed", "t_int", "0x7fffffff"), "ok");
  EXPECT_EQ(Get("typed", "t_int"), "2147483647");
  EXPECT_EQ(Set("typed", "t_str", "12345678"),
            "typed.t_str=12345678: string value is too long for its string");
}

}  // namespace
}  // namespace mk::test
