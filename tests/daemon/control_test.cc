// hosted/control.h in process: the credential rule (with crafted
// credentials), line framing at its limit, console commands, the text forms,
// and a Server with a test handler: owner-only socket, a client of another
// user refused (as root), second server refused,
// stale and foreign files at its path, bad requests answered, a throwing
// handler never ends the server.
#include "hosted/control.h"

#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gtest/gtest.h"

namespace mk::hosted::control {
namespace {

TEST(PeerAllowed, SameUserOrRoot) {
  EXPECT_TRUE(peer_allowed(PeerCred{1, 1000, 1000}, 1000));
  EXPECT_TRUE(peer_allowed(PeerCred{1, 0, 0}, 1000));
  EXPECT_FALSE(peer_allowed(PeerCred{1, 1001, 1000}, 1000));
  EXPECT_FALSE(peer_allowed(PeerCred{1, 65534, 65534}, 1000));
  EXPECT_FALSE(peer_allowed(PeerCred{1, 65534, 0}, 0));  // root's group is not root
  EXPECT_TRUE(peer_allowed(PeerCred{1, 0, 0}, 0));
}

TEST(PeerCredentials, OfASocketPair) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  PeerCred p;
  std::string err;
  ASSERT_TRUE(peer_credentials(sv[0], &p, &err)) << err;
  EXPECT_EQ(p.pid, getpid());
  EXPECT_EQ(p.uid, geteuid());
  EXPECT_EQ(p.gid, getegid());
  close(sv[0]);
  close(sv[1]);
}

TEST(LineReader, SplitsLinesAcrossWrites) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(write_all(sv[1], "{\"a\"\n{\"b"));
  ASSERT_TRUE(write_all(sv[1], "\"}\n\nlast without newline"));
  shutdown(sv[1], SHUT_WR);
  LineReader r(sv[0]);
  std::string line;
  ASSERT_EQ(r.next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "{\"a\"");
  ASSERT_EQ(r.next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "{\"b\"}");
  ASSERT_EQ(r.next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "");
  EXPECT_EQ(r.next(&line), LineReader::Status::kEof);
  close(sv[0]);
  close(sv[1]);
}

// The limit counts the newline: kMaxLine bytes with it pass, one more does not.
TEST(LineReader, LimitBoundaryPair) {
  for (size_t total : {kMaxLine, kMaxLine + 1}) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    std::thread writer([&] { write_all(sv[1], std::string(total - 1, 'x') + "\n"); });
    LineReader r(sv[0]);
    std::string line;
    LineReader::Status st = r.next(&line);
    writer.join();
    if (total == kMaxLine) {
      ASSERT_EQ(st, LineReader::Status::kLine);
      EXPECT_EQ(line.size(), kMaxLine - 1);
    } else {
      EXPECT_EQ(st, LineReader::Status::kTooLarge);
    }
    close(sv[0]);
    close(sv[1]);
  }
}

TEST(Encode, InvalidUtf8IsReplacedNotThrown) {
  std::string s = encode(json{{"line", std::string("bad \xff\xfe byte")}});
  EXPECT_EQ(s.back(), '\n');
  EXPECT_EQ(s.find('\n'), s.size() - 1);
  EXPECT_NE(s.find("bad "), std::string::npos);
}

TEST(ErrorReply, CarriesCodeAndMessage) {
  json e = error_reply(Error(Errc::kBusy, "x.ko is in use by y.ko"));
  EXPECT_EQ(e, (json{{"ok", false}, {"error", "x.ko is in use by y.ko"}, {"code", "busy"}}));
  EXPECT_STREQ(error_code(Errc::kDuplicate), "exists");
  EXPECT_STREQ(error_code(Errc::kNotFound), "not_found");
}

// Boundary pairs: 0 and 2^64-1 taken; -1, 2^64 (a float once parsed), a
// fraction and a string refused, naming the key. 4.3e20 as an address was
// fuzz_control's finding: its conversion to uint64_t is undefined.
TEST(UnsignedArg, WholeRangeOnlyIntegers) {
  uint64_t v = 7;
  std::string err;
  EXPECT_TRUE(unsigned_arg(json::parse("{}"), "since", 42, &v, &err));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(unsigned_arg(json::parse(R"({"since":0})"), "since", 42, &v, &err));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(unsigned_arg(json::parse(R"({"since":18446744073709551615})"), "since", 0, &v, &err));
  EXPECT_EQ(v, UINT64_MAX);
  v = 7;
  EXPECT_FALSE(unsigned_arg(json::parse(R"({"since":-1})"), "since", 0, &v, &err));
  EXPECT_EQ(err, "\"since\" is an integer from 0 to 2^64-1, not -1");
  EXPECT_FALSE(unsigned_arg(json::parse(R"({"a":18446744073709551616})"), "a", 0, &v, &err));
  EXPECT_EQ(err, "\"a\" is an integer from 0 to 2^64-1, not 1.8446744073709552e+19");
  EXPECT_FALSE(unsigned_arg(json::parse(R"({"a":433333333333333333096})"), "a", 0, &v, &err));
  EXPECT_FALSE(unsigned_arg(json::parse(R"({"a":1.5})"), "a", 0, &v, &err));
  EXPECT_FALSE(unsigned_arg(json::parse(R"({"a":"12"})"), "a", 0, &v, &err));
  EXPECT_EQ(err, "\"a\" is an integer from 0 to 2^64-1, not \"12\"");
  EXPECT_EQ(v, 7u);  // untouched by a refusal
}

json Command(const std::string& line) {
  json r;
  std::string err;
  EXPECT_TRUE(parse_command(line, &r, &err)) << line << ": " << err;
  return r;
}

std::string CommandError(const std::string& line) {
  json r;
  std::string err;
  EXPECT_FALSE(parse_command(line, &r, &err)) << line;
  return err;
}

TEST(ParseCommand, Requests) {
  EXPECT_EQ(Command("load chain_top"), (json{{"verb", "load"}, {"name", "chain_top"}}));
  EXPECT_EQ(Command("  load  hello.ko "), (json{{"verb", "load"}, {"path", "hello.ko"}}));
  EXPECT_EQ(Command("load ./x a=1 b="),
            (json{{"verb", "load"}, {"path", "./x"}, {"params", {{"a", "1"}, {"b", ""}}}}));
  EXPECT_EQ(Command("unload m"), (json{{"verb", "unload"}, {"name", "m"}, {"policy", "refuse"}}));
  EXPECT_EQ(Command("unload m --wait 1.5 --cascade"), (json{{"verb", "unload"},
                                                            {"name", "m"},
                                                            {"policy", "wait"},
                                                            {"timeout_ms", 1500},
                                                            {"cascade", true}}));
  EXPECT_EQ(Command("unload m --defer"),
            (json{{"verb", "unload"}, {"name", "m"}, {"policy", "defer"}}));
  EXPECT_EQ(Command("stat -v"), (json{{"verb", "stat"}, {"verbose", true}}));
  EXPECT_EQ(Command("sym chain_mid_value"), (json{{"verb", "sym"}, {"name", "chain_mid_value"}}));
  EXPECT_EQ(Command("sym 0x10"), (json{{"verb", "sym"}, {"address", 16}}));
  EXPECT_EQ(Command("log"), (json{{"verb", "log"}}));
  EXPECT_EQ(Command("shutdown"), (json{{"verb", "shutdown"}}));
}

TEST(ParseCommand, Errors) {
  EXPECT_EQ(CommandError(""), "empty command");
  EXPECT_EQ(CommandError("frob"), "unknown command \"frob\" (try help)");
  EXPECT_EQ(CommandError("load").rfind("load needs a module; usage: load NAME|FILE.ko", 0), 0u);
  EXPECT_EQ(CommandError("load x y").rfind("\"y\" is not param=value; usage:", 0), 0u);
  EXPECT_EQ(CommandError("unload m --wait x").rfind("--wait takes seconds", 0), 0u);
  EXPECT_EQ(CommandError("unload m --force").rfind("unknown option \"--force\"", 0), 0u);
  EXPECT_EQ(CommandError("log more").rfind("log takes no arguments", 0), 0u);
  EXPECT_EQ(CommandError("sym 0xzz").rfind("\"0xzz\" is not an address", 0), 0u);
}

TEST(ParseCommand, Params) {
  EXPECT_EQ(Command("params"), (json{{"verb", "params"}}));
  EXPECT_EQ(Command("params zero"), (json{{"verb", "params"}, {"module", "zero"}}));
  EXPECT_EQ(
      Command("params zero zero_fill=0x41 x="),
      (json{{"verb", "params"}, {"module", "zero"}, {"set", {{"zero_fill", "0x41"}, {"x", ""}}}}));
  EXPECT_EQ(CommandError("params zero_fill=1"),
            "name the module whose tunables to set first; usage: params [MODULE] [name=value...]  "
            "the tunables of loaded modules (one module's), or set some of MODULE's");
  EXPECT_EQ(CommandError("params zero one")
                .rfind("\"one\" is not name=value (the module comes first); usage: params", 0),
            0u);
  EXPECT_EQ(CommandError("params zero =1").rfind("\"=1\" is not name=value", 0), 0u);
}

TEST(ParseCommand, Devices) {
  EXPECT_EQ(Command("devices"), (json{{"verb", "devices"}}));
  EXPECT_EQ(Command("device_add simbus vendor=0x1af4  label=x"),
            (json{{"verb", "device_add"}, {"spec", "simbus vendor=0x1af4 label=x"}}));
  EXPECT_EQ(Command("device_remove simbus:0"),
            (json{{"verb", "device_remove"}, {"name", "simbus:0"}}));
  EXPECT_EQ(CommandError("device_add").rfind("device_add needs a bus; usage: device_add BUS", 0),
            0u);
  EXPECT_EQ(CommandError("device_remove a b").rfind("device_remove takes one device; usage:", 0),
            0u);
  EXPECT_EQ(CommandError("devices x").rfind("devices takes no arguments", 0), 0u);
}

TEST(FormatReply, Devices) {
  json reply = {{"ok", true},
                {"buses", {"simbus"}},
                {"devices",
                 {{{"name", "simbus:0"},
                   {"bus", "simbus"},
                   {"vendor", 0x1af4},
                   {"device", 0x1001},
                   {"compat", {"acme,widget"}},
                   {"args", "label=left"},
                   {"instance", "simdrv0"},
                   {"module", "simdrv"}},
                  {{"name", "simbus:1"},
                   {"bus", "simbus"},
                   {"vendor", 0x8086},
                   {"device", 0},
                   {"compat", json::array()},
                   {"instance", nullptr}}}},
                {"drivers",
                 {{{"name", "simdrv"},
                   {"bus", "simbus"},
                   {"priority", 10},
                   {"module", "simdrv"},
                   {"attached", 1}}}}};
  EXPECT_EQ(format_reply(json{{"verb", "devices"}}, reply),
            "simbus\n"
            "  simbus:0   simdrv0 (module simdrv)  vendor=0x1af4 device=0x1001 compat=acme,widget "
            "label=left\n"
            "  simbus:1   (no driver)              vendor=0x8086 device=0x0\n"
            "drivers\n"
            "  simdrv     on simbus, priority 10, module simdrv, 1 device(s)\n");
  json added = {{"ok", true},
                {"device", reply["devices"][0]},
                {"autoload", "simdrv"},
                {"loaded", {"simdrv.ko"}}};
  EXPECT_EQ(format_reply(json{{"verb", "device_add"}, {"spec", "simbus"}}, added),
            "simbus:0: attached simdrv0\nloaded simdrv.ko\n");
  EXPECT_EQ(format_reply(json{{"verb", "device_remove"}, {"name", "simbus:0"}}, json{{"ok", true}}),
            "simbus:0: removed\n");
}

// Whether the console recognises `verb`: a line of it alone is a request, or
// is refused with its usage (not as an unknown command).
bool ConsoleRecognises(const std::string& verb) {
  json r;
  std::string err;
  return parse_command(verb, &r, &err) ||
         (err.rfind("unknown command", 0) != 0 && err.rfind("the console cannot send", 0) != 0);
}

// The console's help lists every verb the console accepts, and only those:
// each verb of the help is recognised, and of every verb the modkit command
// and the socket protocol know, those the console recognises are in the help.
TEST(ConsoleHelp, ListsEveryVerbTheConsoleAccepts) {
  json help = verb_help();
  for (auto& [verb, usage] : help.items()) {
    EXPECT_TRUE(ConsoleRecognises(verb)) << verb;
    // Each line starts with the verb as typed.
    EXPECT_EQ(usage.get<std::string>().rfind(verb, 0), 0u) << usage;
  }
  for (const char* verb : {"load",    "unload", "stat",     "sym",  "params", "devices", "device",
                           "graph",   "log",    "shutdown", "ping", "help",   "exec",    "xref",
                           "inspect", "link",   "keygen",   "sign", "verify", "frob"}) {
    if (ConsoleRecognises(verb)) {
      EXPECT_TRUE(help.contains(verb)) << verb << " is not in the help";
    }
  }
  for (const char* v : {"params", "devices", "device_add", "device_remove"})
    EXPECT_TRUE(help.contains(v)) << v;
  EXPECT_FALSE(ConsoleRecognises("frob"));
  // The help reply as the console prints it: one line per verb, then how to stop.
  std::string text = format_reply(json{{"verb", "help"}}, json{{"ok", true}, {"verbs", help}});
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), static_cast<long>(help.size()) + 1);
  EXPECT_NE(text.find("\n  params [MODULE] [name=value...]  "), std::string::npos) << text;
}

TEST(FormatReply, Params) {
  json reply = {{"ok", true},
                {"tunables",
                 {{{"module", "zero"},
                   {"name", "zero_fill"},
                   {"type", "uint"},
                   {"value", "7"},
                   {"default", "0"},
                   {"description", "the byte"}},
                  {{"module", "m"},
                   {"name", "s"},
                   {"type", "string"},
                   {"value", "a b"},
                   {"default", ""},
                   {"description", ""}}}}};
  EXPECT_EQ(format_reply(json{{"verb", "params"}}, reply),
            "zero.zero_fill = 7  (uint, default 0)  the byte\nm.s = a b  (string, default )\n");
  // Setting prints nothing (as `modkit params` without -v).
  EXPECT_EQ(
      format_reply(json{{"verb", "params"}, {"module", "zero"}, {"set", {{"a", "1"}}}}, reply), "");
}

json StatReply() {
  return json{
      {"ok", true},
      {"files",
       {{{"id", 0},
         {"name", "kernel"},
         {"state", "LIVE"},
         {"refs", 3},
         {"address", 0x1000},
         {"size", 0x2000},
         {"autoloaded", false},
         {"uses", json::array()},
         {"modules", {{{"name", "kernel"}, {"version", 1}, {"state", "LIVE"}, {"refs", 0}}}}},
        {{"id", 2},
         {"name", "base.ko"},
         {"state", "LIVE"},
         {"refs", 2},
         {"address", 0x7f0000},
         {"size", 0x2d0},
         {"autoloaded", true},
         {"uses", {0}},
         {"modules", {{{"name", "base"}, {"version", 2}, {"state", "LIVE"}, {"refs", 1}}}}},
        {{"id", 1},
         {"name", "top \"q\".ko"},
         {"state", "GOING"},
         {"deferred", true},
         {"refs", 1},
         {"address", 0x7f0400},
         {"size", 0x388},
         {"uses", {2, 0}},
         {"modules", json::array()}}}}};
}

TEST(FormatStat, LikeKldstat) {
  EXPECT_EQ(format_stat(StatReply(), false),
            "Id Refs Address                Size Name\n"
            " 0    3 0x0000000000001000     2000 kernel\n"
            " 2    2 0x00000000007f0000      2d0 base.ko\n"
            " 1    1 0x00000000007f0400      388 top \"q\".ko (GOING, unload deferred)\n");
  EXPECT_EQ(format_stat(StatReply(), true),
            "Id Refs Address                Size Name\n"
            " 0    3 0x0000000000001000     2000 kernel\n"
            "\tContained modules:\n"
            "\t\tVersion State      Refs Name\n"
            "\t\t      1 LIVE          0 kernel\n"
            " 2    2 0x00000000007f0000      2d0 base.ko\n"
            "\tUses: kernel (0)\n"
            "\tLoaded as a dependency\n"
            "\tContained modules:\n"
            "\t\tVersion State      Refs Name\n"
            "\t\t      2 LIVE          1 base\n"
            " 1    1 0x00000000007f0400      388 top \"q\".ko (GOING, unload deferred)\n"
            "\tUses: base.ko (2), kernel (0)\n"
            "\tContained modules:\n"
            "\t\tVersion State      Refs Name\n");
}

TEST(FormatGraph, Dot) {
  std::string dot = format_graph(StatReply());
  EXPECT_NE(dot.find("digraph modkit {\n"), std::string::npos);
  EXPECT_NE(dot.find("  f0 [label=\"kernel (0)\\nkernel v1\", style=bold];\n"), std::string::npos);
  EXPECT_NE(dot.find("  f2 [label=\"base.ko (2)\\nbase v2\", style=dashed];\n"), std::string::npos);
  EXPECT_NE(dot.find("  f1 [label=\"top \\\"q\\\".ko (1)\"];\n"), std::string::npos) << dot;
  EXPECT_NE(dot.find("  f1 -> f2;\n  f1 -> f0;\n"), std::string::npos);
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
}

TEST(FormatReply, ConsoleText) {
  EXPECT_EQ(format_reply({{"verb", "load"}}, error_reply("not_found", "no module x")),
            "error: no module x (not_found)\n");
  EXPECT_EQ(
      format_reply({{"verb", "load"}}, {{"ok", true},
                                        {"file", {{"name", "top.ko"}}},
                                        {"loaded", {{{"name", "base.ko"}}, {{"name", "top.ko"}}}}}),
      "loaded top.ko with base.ko\n");
  EXPECT_EQ(format_reply({{"verb", "unload"}},
                         {{"ok", true}, {"result", "done"}, {"unloaded", {"a.ko", "b.ko"}}}),
            "unloaded a.ko, b.ko\n");
  EXPECT_EQ(format_reply({{"verb", "log"}}, {{"ok", true}, {"lines", {"one", "two"}}}),
            "one\ntwo\n");
}

TEST(Symbols, RoundTrip) {
  SymbolInfo s;
  s.name = "f";
  s.address = 0xffff800000001000;
  s.size = 21;
  s.type = "func";
  s.bind = "global";
  s.file = "a.ko";
  s.module = "a";
  s.exported = true;
  SymbolInfo t = symbol_from_json(json::parse(encode(symbol_json(s))));
  EXPECT_EQ(t.name, s.name);
  EXPECT_EQ(t.address, s.address);
  EXPECT_EQ(t.size, s.size);
  EXPECT_EQ(t.module, s.module);
  EXPECT_TRUE(t.exported);
  AddressInfo a;
  a.address = 0x1234;
  a.symbol = "f";
  a.offset = 4;
  a.text = "f+0x4 [a]";
  AddressInfo b;
  EXPECT_TRUE(address_from_json(address_json(a, true), &b));
  EXPECT_EQ(b.text, a.text);
  EXPECT_EQ(b.offset, 4u);
  EXPECT_FALSE(address_from_json(address_json(a, false), &b));
}

// ---- a Server with a test handler ----

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/modkit-control-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/s.sock";
  }
  void TearDown() override {
    unlink(path_.c_str());
    unlink((dir_ + "/file").c_str());
    rmdir(dir_.c_str());
  }

  static std::optional<json> Handle(const json& r, Connection& c) {
    std::string verb = r["verb"].get<std::string>();
    if (verb == "echo") return json{{"ok", true}, {"n", r["n"].get<int>()}};
    if (verb == "throw") throw std::runtime_error("boom");
    if (verb == "float") return json{{"ok", true}, {"files", {{{"id", 1}, {"address", 4.3e20}}}}};
    if (verb == "stream") {
      for (int i = 0; i < 3; ++i)
        c.send({{"ok", true}, {"i", i}});
      return std::nullopt;
    }
    return error_reply("unknown_verb", "unknown verb \"" + verb + "\"");
  }

  int Connect() {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    return fd;
  }

  std::string dir_, path_;
};

TEST_F(ServerTest, OwnerOnlySocketAndRequests) {
  Server server(path_, &ServerTest::Handle);
  std::string err;
  ASSERT_TRUE(server.listen(&err)) << err;
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server.start();

  int fd = Connect();
  LineReader in(fd, size_t{1} << 20);
  auto ask = [&](const std::string& raw) {
    EXPECT_TRUE(write_all(fd, raw));
    std::string line;
    EXPECT_EQ(in.next(&line), LineReader::Status::kLine) << raw;
    return json::parse(line);
  };
  EXPECT_EQ(ask("{\"verb\":\"echo\",\"n\":5}\n"), (json{{"ok", true}, {"n", 5}}));
  EXPECT_EQ(ask("nonsense\n")["code"], "bad_request");
  EXPECT_EQ(ask("\x01\xff\xfe\n")["code"], "bad_request");
  EXPECT_EQ(ask("[1]\n")["error"], "a request is a JSON object, not array");
  EXPECT_EQ(ask("{}\n")["error"], "a request needs a string \"verb\"");
  EXPECT_EQ(ask("{\"verb\":1}\n")["code"], "bad_request");
  EXPECT_EQ(ask("{\"verb\":\"echo\",\"n\":\"x\"}\n")["code"], "bad_request");
  EXPECT_EQ(ask("{\"verb\":\"throw\"}\n"),
            (json{{"ok", false}, {"error", "request failed: boom"}, {"code", "invalid"}}));
  EXPECT_EQ(ask("{\"verb\":\"nope\"}\n")["code"], "unknown_verb");
  EXPECT_EQ(ask("{\"verb\":\"stream\"}\n")["i"], 0);
  std::string line;
  ASSERT_EQ(in.next(&line), LineReader::Status::kLine);
  ASSERT_EQ(in.next(&line), LineReader::Status::kLine);
  EXPECT_EQ(json::parse(line)["i"], 2);
  EXPECT_EQ(ask("{\"verb\":\"echo\",\"n\":6}\n")["n"], 6);  // still serving this client

  // Oversized: an error, then the connection ends.
  std::thread big([&] { write_all(fd, std::string(kMaxLine + 10, 'x')); });
  ASSERT_EQ(in.next(&line), LineReader::Status::kLine);
  EXPECT_EQ(json::parse(line)["code"], "too_large");
  EXPECT_EQ(in.next(&line), LineReader::Status::kEof);
  big.join();
  close(fd);

  // Another client is served as before.
  Client c;
  ASSERT_TRUE(c.connect(path_, &err)) << err;
  json reply;
  ASSERT_TRUE(c.call({{"verb", "echo"}, {"n", 7}}, &reply, &err)) << err;
  EXPECT_EQ(reply["n"], 7);

  server.stop();
  EXPECT_NE(access(path_.c_str(), F_OK), 0);  // removed
}

// What a process of another user gets from the socket: a child forked from
// this (root) test drops to nobody (setresgid, setresuid) and connects,
// sends a request and reads the reply; it reports both through a pipe
// (only async-signal-safe calls between fork and _exit: this process has
// the server's threads). "" when the connect itself was refused (errno in
// *connect_errno).
std::string AsNobody(const std::string& path, int* connect_errno) {
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(out[0]);
    int e = 0;
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0)
      _exit(90);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path.c_str(), path.size() + 1);  // fits: the server bound it
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) e = errno;
    (void)!write(out[1], &e, sizeof e);
    if (e == 0) {
      static const char kReq[] = "{\"verb\":\"echo\",\"n\":1}\n";
      // The server may have replied and closed already: no SIGPIPE.
      (void)!send(fd, kReq, sizeof kReq - 1, MSG_NOSIGNAL);
      char buf[512];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0)
        (void)!write(out[1], buf, static_cast<size_t>(n));
    }
    _exit(0);
  }
  close(out[1]);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0)
    got.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not become nobody";
  if (got.size() < sizeof(int)) return "no report from the child";
  memcpy(connect_errno, got.data(), sizeof(int));
  return got.substr(sizeof(int));
}

// Another user is refused twice: by the socket's mode (0600: connect fails
// with EACCES), and past it (made 0666 in a reachable directory) by the
// server's credential check, with one error reply. Not root: no other user
// to become; the decision itself is PeerAllowed's (crafted credentials).
TEST_F(ServerTest, AnotherUserIsRefused) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root to run a client as another user (peer_allowed is tested with "
                    "crafted credentials in PeerAllowed.SameUserOrRoot)";
  Server server(path_, &ServerTest::Handle);
  std::string err;
  ASSERT_TRUE(server.listen(&err)) << err;
  server.start();
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);

  int e = -1;
  EXPECT_EQ(AsNobody(path_, &e), "");
  EXPECT_EQ(e, EACCES) << strerror(e);

  ASSERT_EQ(chmod(path_.c_str(), 0666), 0);
  std::string reply = AsNobody(path_, &e);
  EXPECT_EQ(e, 0) << strerror(e);
  EXPECT_EQ(reply,
            "{\"code\":\"peer_refused\",\"error\":\"modkitd: uid 65534 may not use this kernel (it "
            "serves uid 0 and root only)\",\"ok\":false}\n");

  // The owner is served as before.
  Client c;
  json r;
  ASSERT_TRUE(c.connect(path_, &err)) << err;
  ASSERT_TRUE(c.call({{"verb", "echo"}, {"n", 2}}, &r, &err)) << err;
  EXPECT_EQ(r["n"], 2);
}

TEST_F(ServerTest, SecondServerRefused) {
  Server first(path_, &ServerTest::Handle);
  std::string err;
  ASSERT_TRUE(first.listen(&err)) << err;
  first.start();
  Server second(path_, &ServerTest::Handle);
  EXPECT_FALSE(second.listen(&err));
  EXPECT_EQ(err, "another modkitd (pid " + std::to_string(getpid()) + ") is already serving " +
                     path_ +
                     "; stop it first (modkit shutdown), or give this one another --socket");
  // The first still serves.
  Client c;
  json reply;
  ASSERT_TRUE(c.connect(path_, &err)) << err;
  ASSERT_TRUE(c.call({{"verb", "echo"}, {"n", 1}}, &reply, &err)) << err;
  EXPECT_EQ(reply["n"], 1);
}

TEST_F(ServerTest, StaleSocketReplaced) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  close(fd);  // the file stays; nobody listens
  Server server(path_, &ServerTest::Handle);
  std::string err;
  ASSERT_TRUE(server.listen(&err)) << err;
}

TEST_F(ServerTest, ForeignFileAndLongPathRefused) {
  std::string file = dir_ + "/file";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  Server server(file, &ServerTest::Handle);
  std::string err;
  EXPECT_FALSE(server.listen(&err));
  EXPECT_EQ(err, file + " exists and is not a socket; not replacing it");
  Server long_path(dir_ + "/" + std::string(120, 'x'), &ServerTest::Handle);
  EXPECT_FALSE(long_path.listen(&err));
  EXPECT_NE(err.find("must be 1 to 107 bytes long"), std::string::npos) << err;
}

// A float in a reply would be undefined behaviour where the client reads it as
// an integer (4.3e20 as a uint64_t): the client refuses the reply instead.
TEST_F(ServerTest, ClientRefusesAReplyWithAFloat) {
  Server server(path_, &ServerTest::Handle);
  std::string err;
  ASSERT_TRUE(server.listen(&err)) << err;
  server.start();
  Client c;
  ASSERT_TRUE(c.connect(path_, &err)) << err;
  json reply;
  EXPECT_FALSE(c.call({{"verb", "float"}}, &reply, &err));
  EXPECT_EQ(err, "modkitd at " + path_ +
                     " sent a number that is not an integer (/files/0/address = "
                     "4.3e+20); is it the same version as this modkit?");
  Client d;  // integers pass
  ASSERT_TRUE(d.connect(path_, &err)) << err;
  EXPECT_TRUE(d.call({{"verb", "echo"}, {"n", 7}}, &reply, &err)) << err;
  EXPECT_EQ(reply["n"], 7);
  server.stop();
}

TEST_F(ServerTest, ClientMessages) {
  Client c;
  std::string err;
  EXPECT_FALSE(c.connect(path_, &err));
  EXPECT_EQ(err, "cannot reach modkitd at " + path_ +
                     ": no such socket (is modkitd running? give its socket with --socket or "
                     "$MODKIT_SOCKET)");
}

}  // namespace
}  // namespace mk::hosted::control
