// hosted/config.h: the modkitd config format, its exact errors, variable
// expansion, relative paths, overrides, and the bundled etc/modkitd.conf.
#include "hosted/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace mk::hosted {
namespace {

std::string SourceDir() {
  const char* v = getenv("MODKIT_SOURCE_DIR");
  return v != nullptr && *v != '\0' ? v : MODKIT_DAEMON_SOURCE_DIR;
}

DaemonConfig Parse(const std::string& text, const std::string& base = "/etc/modkit") {
  DaemonConfig c = default_config();
  std::string err;
  EXPECT_TRUE(parse_config(text, "test.conf", base, &c, &err)) << err;
  return c;
}

std::string Error(const std::string& text) {
  DaemonConfig c = default_config();
  std::string err;
  EXPECT_FALSE(parse_config(text, "test.conf", "", &c, &err)) << text;
  return err;
}

TEST(Config, EveryKey) {
  setenv("MODKIT_CONFIG_TEST_DIR", "/srv/mods", 1);
  DaemonConfig c = Parse(
      "# a comment\n"
      "\n"
      "module_path = ${MODKIT_CONFIG_TEST_DIR}:relative/mods : /abs  # trailing comment\n"
      "preload = counter\n"
      "preload =   echo  size=4096 mode=ring#1\n"
      "devfs = dev\n"
      "socket = /run/k.sock\n"
      "signature_policy = warn\n"
      "trusted_key = keys/a.pub\n"
      "trusted_key = /etc/keys/b.pub\n"
      "kpi_version = 7\n");
  EXPECT_EQ(c.module_path,
            (std::vector<std::string>{"/srv/mods", "/etc/modkit/relative/mods", "/abs"}));
  ASSERT_EQ(c.preload.size(), 2u);
  EXPECT_EQ(c.preload[0].name, "counter");
  EXPECT_TRUE(c.preload[0].params.empty());
  EXPECT_EQ(c.preload[0].origin, "test.conf:4");
  EXPECT_EQ(c.preload[1].name, "echo");
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(c.preload[1].params, (std::vector<P>{{"size", "4096"}, {"mode", "ring#1"}}));
  EXPECT_EQ(c.devfs, "/etc/modkit/dev");
  EXPECT_EQ(c.socket, "/run/k.sock");
  EXPECT_EQ(c.signature_policy, SignaturePolicy::kWarn);
  EXPECT_EQ(c.trusted_keys,
            (std::vector<std::string>{"/etc/modkit/keys/a.pub", "/etc/keys/b.pub"}));
  EXPECT_EQ(c.kpi_version, 7u);
}

TEST(Config, Defaults) {
  DaemonConfig c = Parse("");
  EXPECT_TRUE(c.module_path.empty());
  EXPECT_TRUE(c.preload.empty());
  EXPECT_EQ(c.devfs, "");
  EXPECT_EQ(c.signature_policy, SignaturePolicy::kOff);
  EXPECT_TRUE(c.trusted_keys.empty());
  EXPECT_EQ(c.kpi_version, 1u);
  EXPECT_NE(c.socket.find("modkitd-" + std::to_string(getuid()) + ".sock"), std::string::npos)
      << c.socket;
}

TEST(Config, Variables) {
  std::string out, err;
  unsetenv("MODKIT_CONFIG_TEST_UNSET");
  setenv("MODKIT_CONFIG_TEST_SET", "x", 1);
  ASSERT_TRUE(expand_variables("a${MODKIT_CONFIG_TEST_SET}b", &out, &err));
  EXPECT_EQ(out, "axb");
  ASSERT_TRUE(expand_variables("${MODKIT_CONFIG_TEST_UNSET:-/tmp}/s", &out, &err));
  EXPECT_EQ(out, "/tmp/s");
  ASSERT_TRUE(expand_variables("${MODKIT_CONFIG_TEST_SET:-/tmp}", &out, &err));
  EXPECT_EQ(out, "x");
  ASSERT_TRUE(expand_variables("$HOME is not expanded, nor $", &out, &err));
  EXPECT_EQ(out, "$HOME is not expanded, nor $");
  EXPECT_FALSE(expand_variables("${MODKIT_CONFIG_TEST_UNSET}", &out, &err));
  EXPECT_EQ(err,
            "${MODKIT_CONFIG_TEST_UNSET} is not set (write ${MODKIT_CONFIG_TEST_UNSET:-DEFAULT} "
            "for a default)");
  EXPECT_FALSE(expand_variables("${OPEN", &out, &err));
  EXPECT_EQ(err, "unterminated ${ in \"${OPEN\"");
}

TEST(Config, UidWithoutEnvironment) {
  const char* saved = getenv("UID");
  std::string keep = saved != nullptr ? saved : "";
  unsetenv("UID");
  std::string out, err;
  ASSERT_TRUE(expand_variables("u${UID}", &out, &err));
  EXPECT_EQ(out, "u" + std::to_string(getuid()));
  if (saved != nullptr) setenv("UID", keep.c_str(), 1);
}

TEST(Config, ExactErrors) {
  EXPECT_EQ(Error("module_path = /a\nbogus = 1\n"),
            "test.conf:2: unknown key `bogus` (known: module_path, preload, devfs, socket, "
            "signature_policy, trusted_key, kpi_version, device)");
  EXPECT_EQ(Error("trusted_key =\n"),
            "test.conf:1: trusted_key needs the path of a public key file (KEY.pub)");
  EXPECT_EQ(Error("just words\n"), "test.conf:1: expected `key = value`, got \"just words\"");
  EXPECT_EQ(Error("signature_policy = strict\n"),
            "test.conf:1: signature_policy is off, warn or enforce, not \"strict\"");
  EXPECT_EQ(Error("kpi_version = abc\n"),
            "test.conf:1: kpi_version is a number from 1 to 4294967295, not \"abc\"");
  EXPECT_EQ(Error("kpi_version = 0\n"),
            "test.conf:1: kpi_version is a number from 1 to 4294967295, not \"0\"");
  EXPECT_EQ(Error("kpi_version = 4294967296\n"),
            "test.conf:1: kpi_version is a number from 1 to 4294967295, not \"4294967296\"");
  EXPECT_EQ(Error("kpi_version = -1\n"),
            "test.conf:1: kpi_version is a number from 1 to 4294967295, not \"-1\"");
  EXPECT_EQ(Error("socket = /a\n\nsocket = /b\n"), "test.conf:3: `socket` is set twice");
  EXPECT_EQ(Error("socket =\n"), "test.conf:1: socket needs a path");
  EXPECT_EQ(Error("preload =\n"),
            "test.conf:1: preload needs a module name, then param=value words");
  EXPECT_EQ(Error("preload = a=b\n"),
            "test.conf:1: preload needs a module name, then param=value words");
  EXPECT_EQ(Error("preload = echo size\n"),
            "test.conf:1: preload echo: \"size\" is not param=value");
  EXPECT_EQ(Error("preload = echo =4\n"), "test.conf:1: preload echo: \"=4\" is not param=value");
  EXPECT_EQ(Error("devfs = ${MODKIT_CONFIG_TEST_NOPE}\n"),
            "test.conf:1: ${MODKIT_CONFIG_TEST_NOPE} is not set (write "
            "${MODKIT_CONFIG_TEST_NOPE:-DEFAULT} for a default)");
}

// -o lines: a second parse over the first overrides keys and adds preloads.
TEST(Config, LaterSourcesOverride) {
  DaemonConfig c = default_config();
  std::string err;
  ASSERT_TRUE(parse_config("module_path = /a\npreload = x\nkpi_version = 2\n", "f", "", &c, &err));
  ASSERT_TRUE(parse_config("module_path = /b", "--option", "/cwd", &c, &err));
  ASSERT_TRUE(parse_config("preload = y k=v", "--option", "/cwd", &c, &err));
  EXPECT_EQ(c.module_path, std::vector<std::string>{"/b"});
  ASSERT_EQ(c.preload.size(), 2u);
  EXPECT_EQ(c.preload[1].origin, "--option:1");
  EXPECT_EQ(c.kpi_version, 2u);
}

TEST(Config, BundledConfigParses) {
  DaemonConfig c = default_config();
  std::string err;
  std::string path = SourceDir() + "/etc/modkitd.conf";
  ASSERT_TRUE(load_config_file(path, &c, &err)) << err;
  EXPECT_EQ(c.module_path, std::vector<std::string>{SourceDir() + "/etc/../build/modules"});
  ASSERT_FALSE(c.preload.empty());
  EXPECT_FALSE(c.devfs.empty());
  EXPECT_EQ(c.socket, default_config().socket);  // the same default both ways
  EXPECT_EQ(c.signature_policy, SignaturePolicy::kOff);
}

TEST(Config, FileErrors) {
  DaemonConfig c = default_config();
  std::string err;
  EXPECT_FALSE(load_config_file("/nonexistent/modkitd.conf", &c, &err));
  EXPECT_EQ(err.rfind("/nonexistent/modkitd.conf: ", 0), 0u) << err;
  char dir[] = "/tmp/modkit-config-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string bin = std::string(dir) + "/bin.conf";
  std::ofstream(bin) << std::string("socket = /a\0b", 13);
  EXPECT_FALSE(load_config_file(bin, &c, &err));
  EXPECT_EQ(err, bin + ": not a text file (contains a NUL byte)");
  std::string rel = std::string(dir) + "/rel.conf";
  std::ofstream(rel) << "module_path = mods\nsocket = s.sock\n";
  ASSERT_TRUE(load_config_file(rel, &c, &err)) << err;
  EXPECT_EQ(c.module_path, std::vector<std::string>{std::string(dir) + "/mods"});
  EXPECT_EQ(c.socket, std::string(dir) + "/s.sock");
  unlink(bin.c_str());
  unlink(rel.c_str());
  rmdir(dir);
}

TEST(Config, ClientSocketPath) {
  setenv("MODKIT_SOCKET", "/x/env.sock", 1);
  EXPECT_EQ(default_socket_path("/nonexistent"), "/x/env.sock");
  unsetenv("MODKIT_SOCKET");
  char dir[] = "/tmp/modkit-config-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string conf = std::string(dir) + "/c.conf";
  std::ofstream(conf) << "socket = /x/conf.sock\n";
  setenv("MODKIT_CONFIG", conf.c_str(), 1);
  EXPECT_EQ(default_socket_path("/nonexistent"), "/x/conf.sock");
  unsetenv("MODKIT_CONFIG");
  EXPECT_EQ(default_socket_path(conf), "/x/conf.sock");
  EXPECT_EQ(default_socket_path("/nonexistent"), default_config().socket);
  unlink(conf.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace mk::hosted
