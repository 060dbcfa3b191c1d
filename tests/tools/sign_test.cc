// End-to-end tests of `modkit keygen`, `modkit sign` and `modkit verify`: the
// built tool on a module compiled at test time with the SDK. A signed file
// must still be the same ELF object for readelf, nm and objdump (no warning,
// the same output as the unsigned file); every refusal has its exact message
// and exit status (0 done, 1 refused, 2 usage); nothing is printed on success.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "exec/process.h"
#include "gtest/gtest.h"
#include "link/toolchain.h"

namespace mk::test {
namespace {

namespace fs = std::filesystem;
using modkit::exec_test::Command;
using modkit::exec_test::Outcome;
using modkit::exec_test::ReadFile;
using modkit::exec_test::RunProcess;
using modkit::exec_test::WriteFile;

std::string FromEnv(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string Modkit() {
  return FromEnv("MODKIT_BINARY_DIR", MODKIT_SIGN_BINARY_DIR) + "/tools/modkit/modkit";
}

const char kModule[] = R"(#include <modkit/module.h>
int signed_value(int x) { return x + 1; }
static int table[4] = {1, 2, 3, 4};
int signed_table(int i) { return table[i & 3]; }
MODKIT_MODULE(signee, 2, NULL, NULL);
MODKIT_EXPORT(signee, signed_value);
)";

class SignTool : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string inc = "-I" + FromEnv("MODKIT_SOURCE_DIR", MODKIT_SIGN_SOURCE_DIR) + "/sdk/include";
    std::string obj = scratch_.Compile(kGcc, "signee.c", kModule, {"-O1", inc});
    ASSERT_FALSE(obj.empty());
    ko_ = scratch_.path("signee.ko");
    fs::copy_file(obj, ko_);
    key_ = scratch_.path("k");
    Outcome o = Mk({"keygen", "-o", key_});
    ASSERT_EQ(o.exit_code, 0) << o.err;
  }

  Outcome Mk(std::vector<std::string> args) {
    Command c;
    c.argv = std::move(args);
    c.argv.insert(c.argv.begin(), Modkit());
    c.capture_prefix = scratch_.path("run" + std::to_string(runs_++));
    return RunProcess(c);
  }

  Outcome Tool(std::vector<std::string> argv) {
    Command c;
    c.argv = std::move(argv);
    c.capture_prefix = scratch_.path("run" + std::to_string(runs_++));
    return RunProcess(c);
  }

  Scratch scratch_;
  std::string ko_, key_;
  int runs_ = 0;
};

TEST_F(SignTool, KeygenWritesAPairAndNeverOverwrites) {
  struct stat st;
  ASSERT_EQ(stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((key_ + ".pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(ReadFile(key_ + ".pub").rfind("modkit-ed25519-public-key ", 0), 0u);
  std::string before = ReadFile(key_);
  Outcome o = Mk({"keygen", "-o", key_});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "modkit keygen: " + key_ +
                       ": exists (refusing to overwrite a key; choose another name)\n");
  EXPECT_EQ(ReadFile(key_), before);
  o = Mk({"keygen", "-o", scratch_.path("no/such/dir/k")});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err,
            "modkit keygen: " + scratch_.path("no/such/dir/k") + ": No such file or directory\n");
  EXPECT_EQ(Mk({"keygen"}).exit_code, 2);
}

TEST_F(SignTool, SignedFileIsTheSameElfForOtherTools) {
  std::string out = scratch_.path("signed.ko");
  Outcome o = Mk({"sign", "--key", key_, ko_, "-o", out});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out + o.err, "");
  std::vector<uint8_t> plain = ReadBytes(ko_), signed_file = ReadBytes(out);
  ASSERT_EQ(signed_file.size(), plain.size() + 120);
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), signed_file.begin()));
  for (const std::vector<std::string>& tool :
       {std::vector<std::string>{"readelf", "-a", "-W"}, {"nm", "-a"}, {"objdump", "-d", "-r"}}) {
    std::vector<std::string> a = tool, b = tool;
    a.push_back(ko_);
    b.push_back(out);
    Outcome x = Tool(a), y = Tool(b);
    EXPECT_EQ(x.exit_code, 0) << tool[0] << ": " << x.err;
    EXPECT_EQ(y.exit_code, 0) << tool[0] << ": " << y.err;
    EXPECT_EQ(y.err, "") << tool[0];  // no warning about the trailer
    // The same output but for the file name objdump prints.
    std::string want = x.out, got = y.out;
    for (std::string* s : {&want, &got}) {
      for (const std::string& name : {ko_, out}) {
        size_t at;
        while ((at = s->find(name)) != std::string::npos)
          s->replace(at, name.size(), "FILE");
      }
    }
    EXPECT_EQ(got, want) << tool[0];
  }
  // Verified against the right key, silently.
  o = Mk({"verify", "--key", key_ + ".pub", out});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out + o.err, "");
}

TEST_F(SignTool, SignInPlaceKeepsTheModeAndRefusesASecondSignature) {
  ASSERT_EQ(chmod(ko_.c_str(), 0640), 0);
  size_t size = ReadBytes(ko_).size();
  Outcome o = Mk({"sign", "--key", key_, ko_});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(ReadBytes(ko_).size(), size + 120);
  struct stat st;
  ASSERT_EQ(stat(ko_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  o = Mk({"verify", "--json", "--key", key_ + ".pub", ko_});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("\"covered\": " + std::to_string(size)), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"ok\": true"), std::string::npos) << o.out;
  o = Mk({"sign", "--key", key_, ko_});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err.rfind("modkit sign: " + ko_ + ": already signed by key id ", 0), 0u) << o.err;
  EXPECT_NE(o.err.find("; sign the unsigned module instead\n"), std::string::npos) << o.err;
  EXPECT_EQ(ReadBytes(ko_).size(), size + 120);
}

TEST_F(SignTool, SignRefusals) {
  // Not a module.
  std::string text = scratch_.Write("notes.ko", "just text\n");
  Outcome o = Mk({"sign", "--key", key_, text});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err.rfind("modkit sign: " + text + ": not a module object: ", 0), 0u) << o.err;
  EXPECT_EQ(ReadFile(text), "just text\n");
  // A public key where the secret one belongs.
  o = Mk({"sign", "--key", key_ + ".pub", ko_});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit sign: " + key_ +
                       ".pub: permissions 0644 let others read this secret key; run `chmod 600 " +
                       key_ + ".pub`\n");
  // A secret key others may read.
  ASSERT_EQ(chmod(key_.c_str(), 0604), 0);
  o = Mk({"sign", "--key", key_, ko_});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit sign: " + key_ +
                       ": permissions 0604 let others read this secret key; run `chmod 600 " +
                       key_ + "`\n");
  ASSERT_EQ(chmod(key_.c_str(), 0600), 0);
  o = Mk({"sign", "--key", key_, scratch_.path("missing.ko")});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.err, "modkit sign: " + scratch_.path("missing.ko") + ": No such file or directory\n");
  EXPECT_EQ(Mk({"sign", ko_}).exit_code, 2);  // --key is required
}

TEST_F(SignTool, VerifyReportsEachBadFile) {
  std::string good = scratch_.path("good.ko"), other_key = scratch_.path("other");
  ASSERT_EQ(Mk({"sign", "--key", key_, ko_, "-o", good}).exit_code, 0);
  ASSERT_EQ(Mk({"keygen", "-o", other_key}).exit_code, 0);
  std::string untrusted = scratch_.path("untrusted.ko");
  ASSERT_EQ(Mk({"sign", "--key", other_key, ko_, "-o", untrusted}).exit_code, 0);
  std::vector<uint8_t> bytes = ReadBytes(good);
  bytes[100] ^= 1;
  std::string flipped = scratch_.path("flipped.ko");
  WriteFile(flipped, std::string(bytes.begin(), bytes.end()));

  Outcome o = Mk({"verify", "--key", key_ + ".pub", good, ko_, untrusted, flipped});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  std::vector<std::string> lines;
  for (size_t s = 0, e; s < o.err.size(); s = e + 1) {
    e = o.err.find('\n', s);
    lines.push_back(o.err.substr(s, e - s));
  }
  ASSERT_EQ(lines.size(), 3u) << o.err;
  EXPECT_EQ(lines[0], "modkit verify: " + ko_ +
                          ": not signed: the file does not end in a signature trailer (sign it "
                          "with `modkit sign --key KEY FILE`)");
  EXPECT_EQ(lines[1].rfind("modkit verify: " + untrusted + ": untrusted key: signed by key id ", 0),
            0u)
      << lines[1];
  EXPECT_EQ(
      lines[2].rfind("modkit verify: " + flipped + ": bad signature: the signature at offset ", 0),
      0u)
      << lines[2];
  // Both keys trusted: the second file is good too.
  o = Mk({"verify", "--key", key_ + ".pub", "--key", other_key + ".pub", good, untrusted});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(Mk({"verify", good}).exit_code, 2);  // --key is required
}

TEST_F(SignTool, HelpHasExamples) {
  for (const char* verb : {"keygen", "sign", "verify"}) {
    Outcome o = Mk({verb, "--help"});
    EXPECT_EQ(o.exit_code, 0) << verb;
    EXPECT_NE(o.out.find("Example:"), std::string::npos) << verb << ": " << o.out;
  }
}

}  // namespace
}  // namespace mk::test
