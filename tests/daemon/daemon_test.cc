// modkitd end to end: each test starts the built daemon on a temporary
// directory (its own config and socket; the module path is the sample
// modules of this build, with their hints index) and drives it through the
// built `modkit` command only, checking outputs and exit codes (0 done, 1
// refused, 2 usage, 3 unreachable). Raw bytes on the socket check that bad
// requests get error replies and the kernel keeps serving; a client running
// as another user (setpriv, when the test runs as root) is refused.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "exec/process.h"
#include "gtest/gtest.h"
#include "hosted/control.h"
#include "hosted/fuse_devfs.h"
#include "util/daemon_harness.h"

namespace mk::test {
namespace {

namespace fs = std::filesystem;
using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::ReadFile;
using modkit::exec_test::RunProcess;
using modkit::exec_test::WriteFile;
using json = nlohmann::json;

std::string Modkit() {
  return binary_dir(MODKIT_DAEMON_BINARY_DIR) + "/tools/modkit/modkit";
}
std::string Modkitd() {
  return binary_dir(MODKIT_DAEMON_BINARY_DIR) + "/tools/modkitd/modkitd";
}
std::string ModuleDir() {
  const char* b = getenv("MODKIT_BINARY_DIR");
  return b != nullptr && *b != '\0' ? std::string(b) + "/modules" : MODKIT_DAEMON_MODULE_DIR;
}

// The lines of `log` that match one of the prefixes or suffixes the shutdown
// order is read from, in order, starting at "modkitd: shutting down".
std::vector<std::string> ShutdownOrder(const std::string& log) {
  std::vector<std::string> out;
  bool on = false;
  for (const std::string& l : lines(log)) {
    if (l == "modkitd: shutting down") on = true;
    if (!on) continue;
    bool unloaded = l.size() > 13 && l.compare(l.size() - 13, 13, ".ko: unloaded") == 0;
    if (l.rfind("shutdown: ", 0) == 0 || unloaded) out.push_back(l);
  }
  return out;
}

class Daemon : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(Modkitd())) << Modkitd();
    ASSERT_TRUE(fs::exists(ModuleDir() + "/modkit.hints")) << ModuleDir();
    char dir[] = "/tmp/modkitd-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = dir_ + "/modkitd.sock";
    config_ = dir_ + "/modkitd.conf";
    WriteConfig("");
  }

  void TearDown() override {
    if (daemon_.running()) {
      kill(daemon_.pid(), SIGTERM);
      daemon_.wait();
    }
    if (Connectable()) Mk({"shutdown"});  // a detached daemon a failed test left running
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void WriteConfig(const std::string& extra) {
    WriteFile(config_, "module_path = " + ModuleDir() + "\nsocket = " + socket_ + "\n" + extra);
  }

  // modkitd in the foreground, as a child; returns once its socket accepts
  // connections (requests made before the boot ends wait in the listen queue).
  void StartDaemon(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {Modkitd(), "-c", config_, "--foreground"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(daemon_.start(argv, dir_ + "/modkitd"));
    ASSERT_TRUE(wait_for([&] { return Connectable() || !daemon_.running(); }));
    ASSERT_TRUE(Connectable()) << daemon_.err();
  }

  bool Connectable() { return connectable(socket_); }

  Outcome Run(std::vector<std::string> argv, const std::string& socket_env = "") {
    Command c;
    c.argv = std::move(argv);
    c.env = {{"MODKIT_SOCKET", socket_env.empty() ? socket_ : socket_env},
             {"MODKIT_CONFIG", dir_ + "/no-such.conf"}};
    c.capture_prefix = dir_ + "/run" + std::to_string(runs_++);
    return RunProcess(c);
  }

  Outcome Mk(std::vector<std::string> args) {
    args.insert(args.begin(), Modkit());
    return Run(std::move(args));
  }

  json StatJson() {
    Outcome o = Mk({"stat", "--json"});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    json j = json::parse(o.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.out;
    return j;
  }

  static const json* FileNamed(const json& stat, const std::string& name) {
    for (const json& f : stat["files"])
      if (f["name"] == name) return &f;
    return nullptr;
  }

  // One raw line to the socket, the first reply line back ("" on EOF).
  std::string Raw(const std::string& bytes) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    std::thread w([&] { (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); });
    std::string reply;
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n')
      reply += c;
    w.join();
    close(fd);
    return reply;
  }

  std::string dir_, socket_, config_;
  Background daemon_;
  int runs_ = 0;
};

TEST_F(Daemon, LoadByNameStatGraphUnloadShutdown) {
  StartDaemon();
  // Load by name: chain_top needs chain_mid needs chain_base; nothing printed.
  Outcome o = Mk({"load", "chain_top"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "");

  // stat: kldstat's table, the kernel first, dependencies before their users.
  o = Mk({"stat"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::vector<std::string> rows = lines(o.out);
  ASSERT_EQ(rows.size(), 5u) << o.out;
  EXPECT_EQ(rows[0], "Id Refs Address                Size Name");
  EXPECT_NE(rows[1].find(" kernel"), std::string::npos);
  EXPECT_NE(rows[2].find(" chain_base.ko"), std::string::npos);
  EXPECT_NE(rows[3].find(" chain_mid.ko"), std::string::npos);
  EXPECT_NE(rows[4].find(" chain_top.ko"), std::string::npos);

  // stat --json: references and who loaded what.
  json stat = StatJson();
  const json* base = FileNamed(stat, "chain_base.ko");
  const json* mid = FileNamed(stat, "chain_mid.ko");
  const json* top = FileNamed(stat, "chain_top.ko");
  ASSERT_TRUE(base && mid && top) << stat.dump();
  EXPECT_EQ(stat["files"][0]["name"], "kernel");
  EXPECT_EQ(stat["files"][0]["id"], 0);
  EXPECT_TRUE((*base)["autoloaded"]);
  EXPECT_TRUE((*mid)["autoloaded"]);
  EXPECT_FALSE((*top)["autoloaded"]);
  EXPECT_EQ((*base)["refs"], 2);  // 1 + chain_mid
  EXPECT_EQ((*top)["refs"], 1);
  EXPECT_NE(std::find((*top)["uses"].begin(), (*top)["uses"].end(), (*mid)["id"]),
            (*top)["uses"].end());
  EXPECT_GT((*top)["size"].get<uint64_t>(), 0u);
  EXPECT_GT((*top)["address"].get<uint64_t>(), 0u);
  EXPECT_EQ((*base)["modules"][0]["name"], "chain_base");
  EXPECT_EQ((*base)["modules"][0]["version"], 2);  // the preferred version of chain_mid's range
  EXPECT_EQ((*base)["modules"][0]["state"], "LIVE");

  // stat -v: the modules with versions and states.
  o = Mk({"stat", "-v"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("\tUses: chain_mid.ko ("), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\t\t      2 LIVE          0 chain_base\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\tLoaded as a dependency\n"), std::string::npos);

  // graph: DOT with the edges of the chain.
  o = Mk({"graph"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::string t = std::to_string((*top)["id"].get<int>());
  std::string m = std::to_string((*mid)["id"].get<int>());
  std::string b = std::to_string((*base)["id"].get<int>());
  EXPECT_NE(o.out.find("digraph modkit {"), std::string::npos);
  EXPECT_NE(o.out.find("  f" + t + " -> f" + m + ";\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("  f" + m + " -> f" + b + ";\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("  f" + b + " [label=\"chain_base.ko (" + b + ")\\nchain_base v2\""),
            std::string::npos)
      << o.out;
  EXPECT_EQ(o.out.substr(o.out.size() - 2), "}\n");
  o = Mk({"graph", "--svg", dir_ + "/g.svg"});
  if (on_path("dot")) {
    EXPECT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(ReadFile(dir_ + "/g.svg").find("<svg"), std::string::npos);
  } else {
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_NE(o.err.find("modkit graph: --svg needs Graphviz's `dot`, which is not installed"),
              std::string::npos)
        << o.err;
  }

  // Unload refused while referenced: exit 1, the holder named.
  o = Mk({"unload", "chain_base"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "modkit unload: chain_base.ko is in use by chain_mid.ko; unload those first, or ask "
            "for a cascade\n");
  o = Mk({"unload", "chain_mid"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("in use by chain_top.ko"), std::string::npos) << o.err;

  // Unload the top: what was loaded only for it goes too.
  o = Mk({"unload", "chain_top", "-v"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "unloaded chain_top.ko\nunloaded chain_mid.ko\nunloaded chain_base.ko\n");
  EXPECT_EQ(StatJson()["files"].size(), 1u);

  // Load again (and counter), follow the log, shut down.
  ASSERT_EQ(Mk({"load", "chain_top"}).exit_code, 0);
  o = Mk({"load", "counter", "-v"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "loaded counter.ko (id 7)\n");
  Background follow;
  ASSERT_TRUE(follow.start({Modkit(), "log", "--follow", "--socket", socket_}, dir_ + "/follow"));
  ASSERT_TRUE(wait_for([&] { return !follow.out().empty(); }));
  o = Mk({"shutdown"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(daemon_.wait(), 0) << daemon_.err();
  EXPECT_EQ(follow.wait(), 0) << follow.err();
  EXPECT_FALSE(fs::exists(socket_));

  // Every SHUTDOWN first, dependents before what they use; then the unloads.
  std::string log = follow.out();
  EXPECT_EQ(ShutdownOrder(log),
            (std::vector<std::string>{
                "shutdown: counter", "shutdown: chain_top", "shutdown: chain_mid",
                "shutdown: chain_base", "shutdown: kernel", "counter.ko: unloaded",
                "chain_top.ko: unloaded", "chain_mid.ko: unloaded", "chain_base.ko: unloaded"}))
      << log;
  EXPECT_NE(log.find("chain_top: SHUTDOWN\n"), std::string::npos);
  EXPECT_NE(log.find("counter: destructor"), std::string::npos);
  EXPECT_EQ(lines(log).back(), "modkitd: down");

  // The kernel is gone: exit 3.
  o = Mk({"stat"});
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_NE(o.err.find("modkit stat: cannot reach modkitd at " + socket_), std::string::npos)
      << o.err;
}

TEST_F(Daemon, CascadeAndLogJson) {
  StartDaemon();
  ASSERT_EQ(Mk({"load", "chain_top"}).exit_code, 0);
  Outcome o = Mk({"unload", "chain_base", "--cascade", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json j = json::parse(o.out);
  EXPECT_EQ(j["result"], "done");
  EXPECT_EQ(j["unloaded"], (json{"chain_top.ko", "chain_mid.ko", "chain_base.ko"}));
  o = Mk({"log", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  j = json::parse(o.out);
  std::vector<std::string> lines = j["lines"].get<std::vector<std::string>>();
  auto at = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) - lines.begin();
  };
  ASSERT_LT(at("chain_top.ko: unloaded"), static_cast<long>(lines.size()));
  EXPECT_LT(at("chain_top.ko: unloaded"), at("chain_mid.ko: unloaded"));
  EXPECT_LT(at("chain_mid.ko: unloaded"), at("chain_base.ko: unloaded"));
  EXPECT_EQ(j["next"], lines.size());
  o = Mk({"log"});
  EXPECT_NE(o.out.find("chain_base: UNLOAD\n"), std::string::npos);
}

TEST_F(Daemon, LoadByPath) {
  StartDaemon();
  // A path with '/' is the client's, made absolute; a bare FILE.ko is searched.
  fs::copy_file(ModuleDir() + "/hello.ko", dir_ + "/hello.ko");
  Outcome o = Run({"/bin/sh", "-c", "cd " + dir_ + " && " + Modkit() + " load ./hello.ko -v"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "loaded " + dir_ + "/hello.ko (id 1)\n");
  o = Mk({"load", "counter.ko"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json stat = StatJson();
  EXPECT_TRUE(FileNamed(stat, "counter.ko") != nullptr) << stat.dump();
  o = Mk({"load", dir_ + "/missing.ko"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("missing.ko"), std::string::npos) << o.err;
}

// A reply modkit cannot read (a float where it reads an integer, another type
// than it expects) is an error naming what was wrong, exit 3, never a crash.
TEST_F(Daemon, UnreadableRepliesExit3) {
  json next;
  mk::hosted::control::Server fake(
      socket_,
      [&](const json&, mk::hosted::control::Connection&) -> std::optional<json> { return next; });
  std::string err;
  ASSERT_TRUE(fake.listen(&err)) << err;
  fake.start();
  next = {{"ok", true}, {"files", {{{"id", 1}, {"address", 4.3e20}, {"name", "a.ko"}}}}};
  Outcome o = Mk({"stat"});
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.err, "modkit stat: modkitd at " + socket_ +
                       " sent a number that is not an integer (/files/0/address = 4.3e+20); is "
                       "it the same version as this modkit?\n");
  next = {{"ok", true}, {"files", {{{"id", 1}, {"name", 5}}}}};
  o = Mk({"stat"});
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.err,
            "modkit stat: cannot read modkitd's reply ([json.exception.type_error.302] type must "
            "be string, but is number); is it the same version?\n");
  EXPECT_EQ(o.out, "");
  fake.stop();
}

TEST_F(Daemon, ClientErrorsAndExitCodes) {
  // Nobody there: 3.
  Outcome o = Mk({"stat"});
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.err, "modkit stat: cannot reach modkitd at " + socket_ +
                       ": no such socket (is modkitd running? give its socket with --socket or "
                       "$MODKIT_SOCKET)\n");
  StartDaemon();
  // Usage: 2.
  EXPECT_EQ(Mk({"load"}).exit_code, 2);
  EXPECT_EQ(Mk({"unload", "x", "--wait", "1", "--defer"}).exit_code, 2);
  EXPECT_EQ(Mk({"unload", "x", "--wait", "-1"}).exit_code, 2);
  EXPECT_EQ(Mk({"stat", "--bogus"}).exit_code, 2);
  o = Mk({"load", "hello", "novalue"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "modkit load: \"novalue\" is not param=value\n");
  // Refused: 1, with the reason.
  o = Mk({"load", "no_such_module"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("modkit load: module no_such_module"), std::string::npos) << o.err;
  o = Mk({"load", "hello", "greeting=hi"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit load: hello.ko: no parameter 'greeting' (the file declares no tunables)\n");
  ASSERT_EQ(Mk({"load", "hello"}).exit_code, 0);
  o = Mk({"load", "hello", "--json"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(json::parse(o.out)["code"], "exists");
  o = Mk({"unload", "nothing"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit unload: module nothing is not loaded\n");
  o = Mk({"unload", "kernel"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("cannot be unloaded"), std::string::npos) << o.err;
  // --help: an example, exit 0.
  for (const char* verb : {"load", "unload", "stat", "graph", "log", "shutdown"}) {
    o = Mk({verb, "--help"});
    EXPECT_EQ(o.exit_code, 0) << verb;
    EXPECT_NE(o.out.find("Example"), std::string::npos) << verb << ": " << o.out;
    EXPECT_NE(o.out.find("Exit status"), std::string::npos) << verb;
  }
  // The wait policy on a module nobody references: done at once.
  o = Mk({"unload", "hello", "--wait", "2", "-v"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "unloaded hello.ko\n");
  // --socket beats $MODKIT_SOCKET.
  o = Run({Modkit(), "stat", "--socket", socket_}, dir_ + "/elsewhere.sock");
  EXPECT_EQ(o.exit_code, 0) << o.err;
}

// modkit params: list, set, refuse; parameters at load; unload --force.
TEST_F(Daemon, ParamsThroughTheCommand) {
  WriteConfig("preload = zero zero_fill=7\n");
  StartDaemon();
  Outcome o = Mk({"params", "zero"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "zero.zero_fill = 7  (uint, default 0)  the byte value reads return (0..255)\n");
  o = Mk({"params", "zero", "zero_fill=0x41"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "");  // nothing printed on success
  o = Mk({"params", "zero", "--json"});
  ASSERT_EQ(o.exit_code, 0);
  EXPECT_EQ(json::parse(o.out)["tunables"][0]["value"], "65");
  o = Mk({"params", "zero", "zero_fill=-1"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit params: zero.zero_fill=-1: uint value is not a uint (0..4294967295, decimal "
            "or 0x hex)\n");
  o = Mk({"params", "zero", "colour=red"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit params: module zero has no tunable 'colour' (or is not loaded)\n");
  o = Mk({"params", "nothing"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit params: module nothing is not loaded\n");
  o = Mk({"params", "zero_fill=1"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "modkit params: name the module whose tunables to set first\n");
  o = Mk({"params", "zero", "one", "two"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(o.err, "modkit params: \"one\" is not name=value (the module comes first)\n");
  // At load: a good one and a refused one.
  ASSERT_EQ(Mk({"load", "multi", "multi_greeting=hey"}).exit_code, 0);
  o = Mk({"params"});
  ASSERT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("multi.multi_greeting = hey  (string, default hello)"), std::string::npos)
      << o.out;
  o = Mk({"load", "echo", "echo_bufsize=big"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit load: echo.ko: parameter echo.echo_bufsize=big: uint value is not a uint "
            "(0..4294967295, decimal or 0x hex)\n");
  EXPECT_EQ(Mk({"unload", "zero", "--force"}).exit_code, 0);
  EXPECT_EQ(Mk({"params", "zero"}).exit_code, 1);
}

// Devices: one from the config at boot (its driver's module auto-loaded with
// its dependency), hot-plug and unplug through `modkit device`, the bus tree
// in text and JSON, a refusing detach refusing both an unplug and an unload,
// and bad device text refused with exit 1.
TEST_F(Daemon, DevicesHotPlugAndAutoload) {
  WriteConfig("device = simbus vendor=0x1af4 device=0x1001 label=boot\n");
  StartDaemon();
  json stat = StatJson();
  EXPECT_NE(FileNamed(stat, "simdrv.ko"), nullptr) << stat.dump();
  EXPECT_NE(FileNamed(stat, "chain_base.ko"), nullptr) << stat.dump();
  Outcome o = Mk({"devices"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out,
            "simbus\n"
            "  simbus:0   simdrv0 (module simdrv)  vendor=0x1af4 device=0x1001 label=boot\n"
            "drivers\n"
            "  simdrv     on simbus, priority 10, module simdrv, 1 device(s)\n");
  o = Mk({"device", "add", "-v", "simbus", "compat=acme,widget", "busy=yes"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "simbus:1: attached simdrv1\n");
  o = Mk({"device", "add", "simbus", "vendor=0x8086"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "");
  o = Mk({"devices", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json j = json::parse(o.out, nullptr, false);
  ASSERT_EQ(j["devices"].size(), 3u) << o.out;
  EXPECT_EQ(j["devices"][1]["instance"], "simdrv1");
  EXPECT_EQ(j["devices"][1]["args"], "busy=yes");
  EXPECT_TRUE(j["devices"][2]["driver"].is_null());
  // The busy one refuses: the unplug and the unload.
  o = Mk({"device", "remove", "simbus:1"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit device remove: simbus:1: simdrv1 refuses to detach: widget is busy "
            "(busy=yes)\n");
  o = Mk({"unload", "simdrv"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit unload: module simdrv vetoed the unload of simdrv.ko: driver simdrv: "
            "simbus:1 (simdrv1) refuses to detach: widget is busy (busy=yes)\n");
  // The idle one goes; an unknown one is an error.
  o = Mk({"device", "remove", "simbus:0"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  o = Mk({"device", "remove", "simbus:9"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit device remove: no device simbus:9\n");
  o = Mk({"device", "add", "simbus", "vendor=0xzz"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit device add: device `simbus vendor=0xzz': vendor id `0xzz' is not a "
            "32-bit number (0x1af4 or 6900)\n");
  o = Mk({"device", "add"});
  EXPECT_EQ(o.exit_code, 2);
}

TEST_F(Daemon, PreloadParamsDevfsAndPolicyReported) {
  WriteConfig(
      "preload = chain_top depth=3\npreload = no_such_module\npreload = chain_top\ndevfs = " +
      dir_ + "/dev\nsignature_policy = warn\n");
  StartDaemon();
  json stat = StatJson();
  EXPECT_EQ(stat["files"].size(), 4u) << stat.dump();
  Outcome o = Mk({"log"});
  ASSERT_EQ(o.exit_code, 0);
  // chain_top has no parameter `depth`: that preload fails, naming it.
  EXPECT_NE(o.out.find("preload chain_top (" + config_ +
                       ":3): failed: chain_top.ko: no parameter 'depth' (the file declares no "
                       "tunables)\n"),
            std::string::npos)
      << o.out;
  const std::string where = "preload chain_top (" + config_ + ":5)";
  EXPECT_NE(o.out.find(where + ": loaded chain_top.ko with its dependencies chain_base.ko, "
                               "chain_mid.ko\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("preload no_such_module (" + config_ + ":4): failed: "), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("modkitd: signature_policy warn, trusted keys: none\n"), std::string::npos)
      << o.out;
  // warn: the unsigned modules load, each with its warning.
  EXPECT_NE(o.out.find("chain_base.ko: signature not accepted, loading anyway (signature_policy "
                       "warn): not signed: "),
            std::string::npos)
      << o.out;
  // devfs is mounted after the preloads, with the symbol image in it.
  if (std::string why = mk::hosted::fuse_unavailable_reason(); !why.empty()) {
    EXPECT_NE(o.out.find("devfs: cannot mount at " + dir_ + "/dev: " + why), std::string::npos)
        << o.out;
    return;
  }
  EXPECT_NE(o.out.find("devfs: mounted at " + dir_ + "/dev\n"), std::string::npos) << o.out;
  const std::string ksyms = ReadFile(dir_ + "/dev/ksyms");
  ASSERT_GE(ksyms.size(), 4u);
  EXPECT_EQ(ksyms[0], '\x7f');
  EXPECT_EQ(ksyms.substr(1, 3), "ELF");
}

// signature_policy = enforce with a trusted key: signed modules load (by name,
// with dependencies, and at boot), an unsigned dependency or a changed byte
// refuses the whole request with the file and the reason, and nothing of it
// stays loaded.
TEST_F(Daemon, EnforcedSignatures) {
  const std::string mods = dir_ + "/mods", key = dir_ + "/release.key";
  fs::create_directory(mods);
  for (const char* m : {"chain_base.ko", "chain_mid.ko", "chain_top.ko", "hello.ko"})
    fs::copy_file(ModuleDir() + "/" + m, mods + "/" + m);
  ASSERT_EQ(Mk({"keygen", "-o", key}).exit_code, 0);
  for (const char* m : {"chain_mid.ko", "chain_top.ko", "hello.ko"})
    ASSERT_EQ(Mk({"sign", "--key", key, mods + "/" + m}).exit_code, 0) << m;
  ASSERT_EQ(Mk({"xref", mods}).exit_code, 0);
  // A trusted key that cannot be read stops the start, naming it.
  WriteFile(config_,
            "socket = " + socket_ + "\nsignature_policy = enforce\ntrusted_key = none.pub\n");
  Outcome o = Run({Modkitd(), "-c", config_, "--foreground"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(
      o.err.find("modkitd: boot: trusted key " + dir_ + "/none.pub: No such file or directory\n"),
      std::string::npos)
      << o.err;
  WriteFile(config_, "module_path = " + mods + "\nsocket = " + socket_ +
                         "\nsignature_policy = enforce\ntrusted_key = release.key.pub\n"
                         "preload = hello\n");
  StartDaemon();
  o = Mk({"log"});
  EXPECT_NE(o.out.find("modkitd: signature_policy enforce, trusted keys: "), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("(" + key + ".pub)\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("preload hello (" + config_ + ":5): loaded hello.ko\n"), std::string::npos)
      << o.out;

  // chain_base is not signed: loading chain_top by name fails as a whole.
  o = Mk({"load", "chain_top"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("chain_base.ko: refused by signature_policy enforce: not signed: the file "
                       "does not end in a signature trailer"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(StatJson()["files"].size(), 2u);  // the kernel and hello

  // A signed file changed after signing.
  std::string evil = dir_ + "/evil.ko";
  std::string bytes = ReadFile(mods + "/chain_base.ko");
  ASSERT_EQ(Mk({"sign", "--key", key, mods + "/chain_base.ko", "-o", evil}).exit_code, 0);
  bytes = ReadFile(evil);
  bytes[64] ^= 1;
  WriteFile(evil, bytes);
  o = Mk({"load", evil});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find(evil + ": refused by signature_policy enforce: bad signature: "),
            std::string::npos)
      << o.err;
  EXPECT_EQ(StatJson()["files"].size(), 2u);

  // Signed, the chain loads.
  ASSERT_EQ(Mk({"sign", "--key", key, mods + "/chain_base.ko"}).exit_code, 0);
  o = Mk({"load", "chain_top"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(StatJson()["files"].size(), 5u);
}

TEST_F(Daemon, SecondInstanceRefuses) {
  StartDaemon();
  Background second;
  ASSERT_TRUE(second.start({Modkitd(), "-c", config_, "--foreground"}, dir_ + "/second"));
  EXPECT_EQ(second.wait(), 1);
  EXPECT_EQ(second.err(), "modkitd: another modkitd (pid " + std::to_string(daemon_.pid()) +
                              ") is already serving " + socket_ +
                              "; stop it first (modkit shutdown), or give this one "
                              "another --socket\n");
  // Detached, the same: the starting command says why and exits 1.
  Outcome o = Run({Modkitd(), "-c", config_});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("is already serving " + socket_), std::string::npos) << o.err;
  // The first one is unharmed.
  EXPECT_EQ(Mk({"stat"}).exit_code, 0);
  EXPECT_TRUE(daemon_.running());
}

TEST_F(Daemon, StaleSocketIsReplacedForeignFileIsNot) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  close(fd);  // a crashed daemon's socket: nobody listens
  StartDaemon();
  EXPECT_EQ(Mk({"stat"}).exit_code, 0);
  kill(daemon_.pid(), SIGTERM);
  EXPECT_EQ(daemon_.wait(), 0);

  WriteFile(socket_, "not a socket");
  Outcome o = Run({Modkitd(), "-c", config_, "--foreground"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkitd: " + socket_ + " exists and is not a socket; not replacing it\n");
  EXPECT_EQ(ReadFile(socket_), "not a socket");
}

TEST_F(Daemon, SigtermShutsDownInOrder) {
  WriteConfig("preload = chain_top\npreload = counter\n");
  StartDaemon();
  ASSERT_EQ(Mk({"stat"}).exit_code, 0);  // booted
  struct stat st;
  ASSERT_EQ(lstat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // owner-only
  kill(daemon_.pid(), SIGTERM);
  EXPECT_EQ(daemon_.wait(), 0);
  EXPECT_FALSE(fs::exists(socket_));
  // The foreground daemon logs on stderr.
  std::string log = daemon_.err();
  EXPECT_EQ(ShutdownOrder(log),
            (std::vector<std::string>{
                "shutdown: counter", "shutdown: chain_top", "shutdown: chain_mid",
                "shutdown: chain_base", "shutdown: kernel", "counter.ko: unloaded",
                "chain_top.ko: unloaded", "chain_mid.ko: unloaded", "chain_base.ko: unloaded"}))
      << log;
}

// devfs: /ksyms follows loads and unloads; SIGTERM unmounts after the unloads.
TEST_F(Daemon, DevfsKsymsFollowsLoadsAndSigtermUnmounts) {
  if (std::string why = mk::hosted::fuse_unavailable_reason(); !why.empty())
    GTEST_SKIP() << "no FUSE here: " << why;
  const std::string dev = dir_ + "/dev";
  WriteConfig("preload = counter\ndevfs = " + dev + "\n");
  StartDaemon();
  EXPECT_EQ(ReadFile(dev + "/ksyms").find("chain_top_value"), std::string::npos);
  ASSERT_EQ(Mk({"load", "chain_top"}).exit_code, 0);
  EXPECT_NE(ReadFile(dev + "/ksyms").find("chain_top_value"), std::string::npos);
  ASSERT_EQ(Mk({"unload", "chain_top"}).exit_code, 0);
  EXPECT_EQ(ReadFile(dev + "/ksyms").find("chain_top_value"), std::string::npos);

  kill(daemon_.pid(), SIGTERM);
  EXPECT_EQ(daemon_.wait(), 0);
  struct stat d, parent;
  ASSERT_EQ(stat(dev.c_str(), &d), 0);
  ASSERT_EQ(stat(dir_.c_str(), &parent), 0);
  EXPECT_EQ(d.st_dev, parent.st_dev) << dev << " is still mounted";
  std::string log = daemon_.err();
  size_t unloaded = log.find("counter.ko: unloaded\n");
  size_t unmounted = log.find("devfs: unmounted " + dev + "\n");
  ASSERT_NE(unmounted, std::string::npos) << log;
  EXPECT_LT(unloaded, unmounted) << log;
}

TEST_F(Daemon, DetachedStartAndShutdownVerbose) {
  WriteConfig("preload = hello\n");
  Outcome o = Run({Modkitd(), "-c", config_});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out + o.err, "");
  // Ready when the starting command returns.
  json stat = StatJson();
  EXPECT_TRUE(FileNamed(stat, "hello.ko") != nullptr);
  o = Mk({"shutdown", "-v"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out,
            "modkitd: shutting down\nhello: SHUTDOWN\nshutdown: hello\nshutdown: kernel\n"
            "hello: UNLOAD\nhello.ko: unloaded\nmodkitd: down\n");
  EXPECT_TRUE(wait_for([&] { return !fs::exists(socket_); }));
}

TEST_F(Daemon, ConfigErrorsStopTheStart) {
  WriteConfig("bogus = 1\n");
  Outcome o = Run({Modkitd(), "-c", config_, "--foreground"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkitd: " + config_ +
                       ":3: unknown key `bogus` (known: module_path, preload, devfs, socket, "
                       "signature_policy, trusted_key, kpi_version, device)\n");
  o = Run({Modkitd(), "-c", dir_ + "/none.conf"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find(dir_ + "/none.conf: "), std::string::npos);
  EXPECT_EQ(Run({Modkitd(), "--bogus"}).exit_code, 2);
  WriteConfig("");
  o = Run({Modkitd(), "-c", config_, "-o", "preload = hello x=1", "--print-config"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  json c = json::parse(o.out);
  EXPECT_EQ(c["socket"], socket_);
  EXPECT_EQ(c["preload"][0]["params"]["x"], "1");
  EXPECT_EQ(c["module_path"][0], ModuleDir());
}

TEST_F(Daemon, MalformedRequestsGetErrorsAndTheKernelServesOn) {
  StartDaemon();
  ASSERT_EQ(Mk({"load", "chain_top"}).exit_code, 0);
  json r = json::parse(Raw("this is not json\n"));
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["code"], "bad_request");
  EXPECT_EQ(json::parse(Raw(std::string("\x00\xff\xfe{\n", 5)))["code"], "bad_request");
  EXPECT_EQ(json::parse(Raw("[\"verb\"]\n"))["code"], "bad_request");
  EXPECT_EQ(json::parse(Raw("{\"verb\": 42}\n"))["code"], "bad_request");
  EXPECT_EQ(json::parse(Raw("{\"verb\": \"load\"}\n"))["code"], "bad_request");
  EXPECT_EQ(json::parse(Raw("{\"verb\": \"load\", \"name\": [1]}\n"))["code"], "bad_request");
  EXPECT_EQ(
      json::parse(Raw("{\"verb\": \"unload\", \"name\": \"x\", \"policy\": \"now\"}\n"))["code"],
      "bad_request");
  // Numbers out of an argument's range: refused, never converted (4.3e20
  // as an address was fuzz_control's finding).
  r = json::parse(Raw("{\"verb\": \"sym\", \"address\": 433333333333333333096}\n"));
  EXPECT_EQ(r["code"], "bad_request");
  EXPECT_EQ(r["error"],
            "sym: \"address\" is an integer from 0 to 2^64-1, not 4.333333333333333e+20");
  EXPECT_EQ(json::parse(Raw("{\"verb\": \"log\", \"since\": -3}\n"))["error"],
            "log: \"since\" is an integer from 0 to 2^64-1, not -3");
  EXPECT_EQ(
      json::parse(Raw("{\"verb\": \"unload\", \"name\": \"x\", \"timeout_ms\": 1e30}\n"))["error"],
      "unload: \"timeout_ms\" is an integer from 0 to 2^64-1, not 1e+30");
  json u = json::parse(Raw("{\"verb\": \"format_disk\"}\n"));
  EXPECT_EQ(u["code"], "unknown_verb");
  EXPECT_EQ(u["error"],
            "unknown verb \"format_disk\" (known: device_add, device_remove, devices, help, load, "
            "log, params, ping, shutdown, stat, sym, unload)");
  // Oversized: an error reply, then the connection is closed.
  r = json::parse(Raw(std::string(100 * 1024, '{') + "\n"));
  EXPECT_EQ(r["code"], "too_large");
  // Several requests on one connection, bad ones between good ones.
  std::string three = Raw("{\"verb\":\"ping\"}\n");
  EXPECT_EQ(json::parse(three)["ok"], true);
  // Symbols over the socket (the daemon side of `modkit sym`).
  json s = json::parse(Raw("{\"verb\":\"sym\",\"name\":\"chain_mid_value\"}\n"));
  ASSERT_EQ(s["symbols"].size(), 1u) << s.dump();
  EXPECT_EQ(s["symbols"][0]["file"], "chain_mid.ko");
  EXPECT_TRUE(s["symbols"][0]["exported"]);
  json a = json::parse(Raw("{\"verb\":\"sym\",\"address\":" +
                           std::to_string(s["symbols"][0]["address"].get<uint64_t>() + 1) + "}\n"));
  EXPECT_EQ(a["found"], true) << a.dump();
  EXPECT_EQ(a["symbol"], "chain_mid_value");
  // The kernel is intact.
  json stat = StatJson();
  EXPECT_EQ(stat["files"].size(), 4u);
  EXPECT_EQ(Mk({"unload", "chain_top"}).exit_code, 0);
  EXPECT_TRUE(daemon_.running());
}

TEST_F(Daemon, OneConnectionManyRequests) {
  StartDaemon();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  std::string batch =
      "{\"verb\":\"ping\"}\nnot json\n{\"verb\":\"nope\"}\n{\"verb\":\"load\",\"name\":\"hello\"}"
      "\n{\"verb\":\"stat\"}\n";
  ASSERT_EQ(write(fd, batch.data(), batch.size()), static_cast<ssize_t>(batch.size()));
  shutdown(fd, SHUT_WR);
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    all.append(buf, static_cast<size_t>(n));
  close(fd);
  std::vector<std::string> replies = lines(all);
  ASSERT_EQ(replies.size(), 5u) << all;
  EXPECT_EQ(json::parse(replies[0])["ok"], true);
  EXPECT_EQ(json::parse(replies[1])["code"], "bad_request");
  EXPECT_EQ(json::parse(replies[2])["code"], "unknown_verb");
  EXPECT_EQ(json::parse(replies[3])["file"]["name"], "hello.ko");
  EXPECT_EQ(json::parse(replies[4])["files"].size(), 2u);
}

// A client of another user: the socket is owner-only (connect fails), and
// when made reachable, the daemon's credential check refuses it.
TEST_F(Daemon, AnotherUserIsRefused) {
  if (geteuid() != 0 || !on_path("setpriv"))
    GTEST_SKIP() << "needs root and setpriv (the check itself: control_test PeerAllowed)";
  StartDaemon();
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);  // the socket's own mode is what guards it
  std::vector<std::string> as_nobody = {"setpriv",        "--reuid=65534", "--regid=65534",
                                        "--clear-groups", Modkit(),        "stat"};
  Outcome o = Run(as_nobody);
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_EQ(o.err, "modkit stat: cannot reach modkitd at " + socket_ +
                       ": permission denied (the socket belongs to another user)\n");

  ASSERT_EQ(chmod(socket_.c_str(), 0666), 0);  // past the file mode: SO_PEERCRED decides
  o = Run(as_nobody);
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_EQ(o.err,
            "modkit stat: modkitd: uid 65534 may not use this kernel (it serves uid 0 and root "
            "only)\n");
  as_nobody[5] = "shutdown";
  EXPECT_EQ(Run(as_nobody).exit_code, 3);
  EXPECT_TRUE(daemon_.running());
  EXPECT_EQ(Mk({"stat"}).exit_code, 0);  // root is served
}

// The console: the same commands on the daemon's terminal (a pty from script(1)).
TEST_F(Daemon, Console) {
  if (!on_path("script")) GTEST_SKIP() << "needs script(1) for a terminal";
  WriteFile(dir_ + "/input",
            "help\nload chain_top\nstat\nunload chain_base\nbogus\nlog\nshutdown\n");
  Command c;
  c.capture_prefix = dir_ + "/console";
  // The kernel's log goes to the same terminal, between the replies.
  // script(1) passes its stdin to the terminal; RunProcess ties stdin to
  // /dev/null, so a shell redirects it from the input file.
  c.argv = {"/bin/sh", "-c",
            "script -qec '" + Modkitd() + " -c " + config_ + " --foreground' " + "/dev/null < " +
                dir_ + "/input"};
  Outcome o = RunProcess(c);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::string out = o.out;
  out.erase(std::remove(out.begin(), out.end(), '\r'), out.end());
  EXPECT_NE(out.find("modkitd console: type help"), std::string::npos) << out;
  EXPECT_NE(out.find("  unload NAME [--wait SECONDS|--defer] [--cascade]"), std::string::npos);
  EXPECT_NE(out.find("  params [MODULE] [name=value...]"), std::string::npos);
  EXPECT_NE(out.find("loaded chain_top.ko with chain_base.ko, chain_mid.ko\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Id Refs Address                Size Name\n"), std::string::npos);
  EXPECT_NE(out.find("error: chain_base.ko is in use by chain_mid.ko; unload those first, "
                     "or ask for a cascade (busy)\n"),
            std::string::npos);
  EXPECT_NE(out.find("error: unknown command \"bogus\" (try help)\n"), std::string::npos);
  EXPECT_NE(out.find("shutdown: chain_top\n"), std::string::npos);
  EXPECT_NE(out.find("modkitd: down\n"), std::string::npos);
  EXPECT_FALSE(fs::exists(socket_));
}

}  // namespace
}  // namespace mk::test
