// Tests of hosted/signature_verifier.h (and hosted/signing_key.h, which it
// uses): a real module compiled at test time, real Ed25519 keys made with
// generate_key_pair, loaded through a System under each policy. Enforce
// refuses every bad case with its exact message and leaves the registry and
// the arena as they were; warn loads and logs; off ignores trailers; enforce
// cannot be lowered at run time.
#include "hosted/signature_verifier.h"

#include <gtest/gtest.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "hosted/system.h"
#include "link/toolchain.h"
#include "module/signature_trailer.h"

namespace mk::hosted {
namespace {

using test::Scratch;

constexpr const char* kModule = R"(
#include <modkit/module.h>
static int sig_event(struct mk_module* m, int event, void* arg) {
  if (event == MK_EVENT_LOAD) mk_printf("signed module says %d", 6 * 7);
  return 0;
}
int sig_answer(void) { return 42; }
MODKIT_MODULE(sigmod, 1, sig_event, 0);
)";

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

class SignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string inc = std::string("-I") + getenv("MODKIT_SOURCE_DIR") + "/sdk/include";
    std::string obj = scratch_.Compile(test::kGcc, "sigmod.c", kModule, {"-O1", inc});
    ASSERT_FALSE(obj.empty());
    plain_ = test::ReadBytes(obj);
    std::string err;
    ASSERT_TRUE(generate_key_pair(scratch_.path("trusted.key"), &err)) << err;
    ASSERT_TRUE(generate_key_pair(scratch_.path("other.key"), &err)) << err;
    ASSERT_TRUE(read_secret_key(scratch_.path("trusted.key"), &key_, &err)) << err;
    ASSERT_TRUE(read_secret_key(scratch_.path("other.key"), &other_, &err)) << err;
    signed_ = SignWith(key_);
    WriteBytes(scratch_.path("plain.ko"), plain_);
    WriteBytes(scratch_.path("signed.ko"), signed_);
  }

  std::vector<uint8_t> SignWith(const SecretKey& k) {
    std::vector<uint8_t> out = plain_;
    std::vector<uint8_t> trailer = sign_module(plain_, k);
    out.insert(out.end(), trailer.begin(), trailer.end());
    return out;
  }

  std::unique_ptr<System> Boot(SignaturePolicy p) {
    SystemConfig c;
    c.static_modules = false;
    c.module_path = {scratch_.dir()};
    c.signature_policy = p;
    c.trusted_keys = {scratch_.path("trusted.key.pub")};
    auto s = std::make_unique<System>(std::move(c));
    Result<module::File*> k = s->boot();
    EXPECT_TRUE(k) << k.error().message();
    return s;
  }

  // Loads bytes under the policy; "" when it loaded, else the exact error
  // (kPermission), with the registry and the arena checked unchanged.
  std::string Refusal(System& s, const std::vector<uint8_t>& bytes, const char* name = "m.ko") {
    size_t files = s.registry().file_count();
    size_t used = s.arena().stats().used;
    Result<module::File*> f = s.registry().load_bytes(ByteView(bytes.data(), bytes.size()), name);
    if (f) return "";
    EXPECT_EQ(f.error().code(), Errc::kPermission) << f.error().message();
    EXPECT_EQ(s.registry().file_count(), files);
    EXPECT_EQ(s.arena().stats().used, used);
    return f.error().message();
  }

  bool Logged(System& s, const std::string& line) {
    std::vector<std::string> log = s.log();
    return std::find(log.begin(), log.end(), line) != log.end();
  }

  std::string KeyId(const SecretKey& k) { return hex(k.pub.id); }

  Scratch scratch_;
  std::vector<uint8_t> plain_, signed_;
  SecretKey key_, other_;
};

TEST_F(SignatureTest, KeyFiles) {
  struct stat st;
  ASSERT_EQ(stat(scratch_.path("trusted.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(scratch_.path("trusted.key.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  PublicKey pub;
  std::string err;
  ASSERT_TRUE(read_public_key(scratch_.path("trusted.key.pub"), &pub, &err)) << err;
  EXPECT_EQ(pub.bytes, key_.pub.bytes);
  EXPECT_EQ(pub.id, key_.pub.id);
  EXPECT_NE(key_.pub.id, other_.pub.id);
  EXPECT_EQ(KeyId(key_).size(), 32u);
  // Never overwritten; no half pair left behind.
  EXPECT_FALSE(generate_key_pair(scratch_.path("trusted.key"), &err));
  EXPECT_EQ(err, scratch_.path("trusted.key") +
                     ": exists (refusing to overwrite a key; choose another name)");
  test::Run("touch " + test::Quote(scratch_.path("lonely.key.pub")));
  EXPECT_FALSE(generate_key_pair(scratch_.path("lonely.key"), &err));
  EXPECT_EQ(err, scratch_.path("lonely.key.pub") +
                     ": exists (refusing to overwrite a key; choose another name)");
  EXPECT_NE(stat(scratch_.path("lonely.key").c_str(), &st), 0);
  // A secret key others can read is refused, as ssh refuses it.
  ASSERT_EQ(chmod(scratch_.path("other.key").c_str(), 0640), 0);
  SecretKey k;
  EXPECT_FALSE(read_secret_key(scratch_.path("other.key"), &k, &err));
  EXPECT_EQ(err, scratch_.path("other.key") +
                     ": permissions 0640 let others read this secret key; run `chmod 600 " +
                     scratch_.path("other.key") + "`");
  // Damaged key files.
  std::string bad = scratch_.Write("bad.pub", "modkit-ed25519-public-key 12zz\n");
  EXPECT_FALSE(read_public_key(bad, &pub, &err));
  EXPECT_EQ(err, bad + ": the key has 4 hex digits, expected 64");
  bad = scratch_.Write("swapped.pub", "modkit-ed25519-secret-key 00\n");
  EXPECT_FALSE(read_public_key(bad, &pub, &err));
  EXPECT_EQ(err, bad +
                     ": not a modkit public key file (it must start with "
                     "\"modkit-ed25519-public-key\"; make one with `modkit keygen -o KEY`)");
  bad = scratch_.Write("digit.pub", "modkit-ed25519-public-key " + std::string(63, '0') + "g\n");
  EXPECT_FALSE(read_public_key(bad, &pub, &err));
  EXPECT_EQ(err, bad + ": the key has a character that is not a hex digit at column 90");
}

TEST_F(SignatureTest, EnforceSignedLoadsAndRuns) {
  auto s = Boot(SignaturePolicy::kEnforce);
  Result<module::File*> f = s->registry().load_path("signed.ko");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(Logged(*s, "signed module says 42"));
  EXPECT_NE(s->registry().find_module("sigmod"), nullptr);
  // The linker saw the module without its trailer.
  Result<ByteView> seen = s->signatures().check(ByteView(signed_.data(), signed_.size()), "x");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen.value().data(), signed_.data());
  EXPECT_EQ(seen.value().size(), plain_.size());
}

TEST_F(SignatureTest, EnforceRefusesUnsigned) {
  auto s = Boot(SignaturePolicy::kEnforce);
  size_t files = s->registry().file_count();
  Result<module::File*> f = s->registry().load_path("plain.ko");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), Errc::kPermission);
  EXPECT_STREQ(f.error().message(),
               "plain.ko: refused by signature_policy enforce: not signed: the file does not end "
               "in a signature trailer (sign it with `modkit sign --key KEY FILE`)");
  EXPECT_EQ(s->registry().file_count(), files);
  EXPECT_EQ(Refusal(*s, plain_, "plain.ko"), f.error().message());
}

TEST_F(SignatureTest, EnforceRefusesEveryFlippedByte) {
  auto s = Boot(SignaturePolicy::kEnforce);
  const size_t n = plain_.size();
  for (size_t i = 0; i < signed_.size(); ++i) {
    std::vector<uint8_t> bad = signed_;
    bad[i] ^= 0x01;
    EXPECT_NE(Refusal(*s, bad), "") << "flipped byte " << i << " of " << signed_.size();
  }
  EXPECT_EQ(s->registry().file_count(), 1u);
  // What each part's damage is called.
  const std::string id = KeyId(key_);
  char at[32];
  snprintf(at, sizeof at, "0x%zx", n + 32);
  const std::string bad_signature =
      "m.ko: refused by signature_policy enforce: bad signature: "
      "the signature at offset " +
      std::string(at) + " does not match the " + std::to_string(n) +
      " bytes it covers under key id " + id + " (" + scratch_.path("trusted.key.pub") +
      "); the file changed after it was signed";
  std::vector<uint8_t> bad = signed_;
  bad[0x40] ^= 0x80;  // in the ELF (its section headers or .text)
  EXPECT_EQ(Refusal(*s, bad), bad_signature);
  bad = signed_;
  bad[n + 32 + 10] ^= 0x04;  // in the signature
  EXPECT_EQ(Refusal(*s, bad), bad_signature);
  bad = signed_;
  uint64_t one_more = n + 1;  // covered: one byte more than precede the trailer
  memcpy(bad.data() + n + 16, &one_more, 8);
  char claims[200];
  snprintf(claims, sizeof claims,
           "m.ko: refused by signature_policy enforce: signature trailer at offset 0x%zx claims "
           "to cover %zu bytes, but only %zu bytes precede it",
           n, n + 1, n);
  EXPECT_EQ(Refusal(*s, bad), claims);
}

TEST_F(SignatureTest, EnforceRefusesUntrustedKey) {
  auto s = Boot(SignaturePolicy::kEnforce);
  EXPECT_EQ(Refusal(*s, SignWith(other_)),
            "m.ko: refused by signature_policy enforce: untrusted key: signed by key id " +
                KeyId(other_) + ", which is not a trusted key (trusted: " + KeyId(key_) +
                "); add its .pub file as a trusted key");
  // A flipped bit in the key id names another, unknown, key.
  std::vector<uint8_t> bad = signed_;
  bad[plain_.size()] ^= 0x10;
  std::string msg = Refusal(*s, bad);
  EXPECT_NE(msg.find("untrusted key: signed by key id "), std::string::npos) << msg;
}

TEST_F(SignatureTest, EnforceRefusesDamagedTrailers) {
  auto s = Boot(SignaturePolicy::kEnforce);
  const size_t n = plain_.size(), size = signed_.size();
  const std::string pre = "m.ko: refused by signature_policy enforce: ";
  char want[300];
  // Truncated: the trailer's first 40 bytes cut out (its fields are then read
  // from module bytes: refused, whatever they say).
  std::vector<uint8_t> bad(signed_.begin(), signed_.begin() + n);
  bad.insert(bad.end(), signed_.begin() + n + 40, signed_.end());
  EXPECT_NE(Refusal(*s, bad), "");
  // Truncated: a size field that says less than 120.
  bad = signed_;
  bad[size - 20] = 100;
  snprintf(want, sizeof want,
           "truncated signature trailer: its size field (at offset 0x%zx) says 100 bytes; a "
           "version 1 trailer is 120 bytes",
           size - 20);
  EXPECT_EQ(Refusal(*s, bad), pre + want);
  // Oversized.
  bad = signed_;
  bad[size - 18] = 0x10;  // 120 + 0x100000
  snprintf(want, sizeof want,
           "oversized signature trailer: its size field (at offset 0x%zx) says %u bytes; a "
           "version 1 trailer is 120 bytes",
           size - 20, 120u + 0x100000u);
  EXPECT_EQ(Refusal(*s, bad), pre + want);
  // Claims more bytes than the whole file has.
  bad = signed_;
  uint64_t huge = uint64_t{1} << 40;
  memcpy(bad.data() + n + 16, &huge, 8);
  snprintf(want, sizeof want,
           "signature trailer at offset 0x%zx claims to cover %llu bytes, but only %zu bytes "
           "precede it",
           n, static_cast<unsigned long long>(huge), n);
  EXPECT_EQ(Refusal(*s, bad), pre + want);
  // Bytes appended after signing, before a copied trailer: not covered.
  bad.assign(plain_.begin(), plain_.end());
  bad.insert(bad.end(), 8, 0);
  bad.insert(bad.end(), signed_.begin() + n, signed_.end());
  snprintf(want, sizeof want,
           "signature trailer at offset 0x%zx covers %zu bytes, but %zu bytes precede it: 8 "
           "bytes before the trailer are not signed",
           n + 8, n, n + 8);
  EXPECT_EQ(Refusal(*s, bad), pre + want);
  // A file that is only a trailer's end.
  bad.assign(signed_.end() - 30, signed_.end());
  EXPECT_EQ(Refusal(*s, bad), pre +
                                  "truncated signature trailer: the file is 30 bytes, shorter "
                                  "than its 120-byte trailer");
}

TEST_F(SignatureTest, WarnLoadsAndLogs) {
  auto s = Boot(SignaturePolicy::kWarn);
  Result<module::File*> f = s->registry().load_path("plain.ko");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(Logged(*s,
                     "plain.ko: signature not accepted, loading anyway (signature_policy warn): "
                     "not signed: the file does not end in a signature trailer (sign it with "
                     "`modkit sign --key KEY FILE`)"));
  EXPECT_TRUE(Logged(*s, "signed module says 42"));
  ASSERT_TRUE(s->registry().unload(f.value(), {}));
  // Untrusted: loads (without its trailer), logged.
  std::vector<uint8_t> other = SignWith(other_);
  Result<module::File*> g =
      s->registry().load_bytes(ByteView(other.data(), other.size()), "other.ko");
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_TRUE(Logged(*s,
                     "other.ko: signature not accepted, loading anyway (signature_policy "
                     "warn): untrusted key: signed by key id " +
                         KeyId(other_) + ", which is not a trusted key (trusted: " + KeyId(key_) +
                         "); add its .pub file as a trusted key"));
  ASSERT_TRUE(s->registry().unload(g.value(), {}));
  // Good: no warning.
  size_t lines = s->log().size();
  Result<module::File*> h = s->registry().load_path("signed.ko");
  ASSERT_TRUE(h) << h.error().message();
  for (size_t i = lines; i < s->log().size(); ++i)
    EXPECT_EQ(s->log()[i].find("signature"), std::string::npos) << s->log()[i];
}

TEST_F(SignatureTest, OffIgnoresTrailers) {
  auto s = Boot(SignaturePolicy::kOff);
  std::vector<uint8_t> bad = signed_;
  bad[plain_.size() + 40] ^= 1;  // a broken signature
  Result<module::File*> f = s->registry().load_bytes(ByteView(bad.data(), bad.size()), "bad.ko");
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(s->registry().unload(f.value(), {}));
  Result<module::File*> g = s->registry().load_path("plain.ko");
  ASSERT_TRUE(g) << g.error().message();
  for (const std::string& line : s->log())
    EXPECT_EQ(line.find("signature"), std::string::npos) << line;
  // Nothing is read: the check returns the file as it is.
  Result<ByteView> seen = s->signatures().check(ByteView(bad.data(), bad.size()), "bad.ko");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen.value().size(), bad.size());
}

TEST_F(SignatureTest, EnforceCannotBeLoweredAtRunTime) {
  auto s = Boot(SignaturePolicy::kOff);
  EXPECT_TRUE(s->set_signature_policy(SignaturePolicy::kWarn));
  EXPECT_TRUE(s->set_signature_policy(SignaturePolicy::kOff));  // not enforce yet: allowed
  EXPECT_TRUE(s->set_signature_policy(SignaturePolicy::kEnforce));
  EXPECT_TRUE(s->set_signature_policy(SignaturePolicy::kEnforce));
  for (SignaturePolicy lower : {SignaturePolicy::kWarn, SignaturePolicy::kOff}) {
    Result<void> r = s->set_signature_policy(lower);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::kPermission);
    EXPECT_EQ(std::string(r.error().message()),
              std::string("signature_policy is enforce and cannot be lowered to ") +
                  signature_policy_name(lower) +
                  " while the kernel runs; change the configuration and restart");
    EXPECT_EQ(s->signatures().policy(), SignaturePolicy::kEnforce);
  }
  EXPECT_NE(Refusal(*s, plain_), "");
}

TEST_F(SignatureTest, ATrustedKeyThatCannotBeReadStopsTheBoot) {
  for (const std::string& path : {scratch_.path("none.pub"), scratch_.path("trusted.key")}) {
    SystemConfig c;
    c.static_modules = false;
    c.signature_policy = SignaturePolicy::kEnforce;
    c.trusted_keys = {scratch_.path("trusted.key.pub"), path};
    System s(std::move(c));
    Result<module::File*> k = s.boot();
    ASSERT_FALSE(k);
    std::string msg = k.error().message();
    EXPECT_EQ(msg.rfind("trusted key " + path + ": ", 0), 0u) << msg;
  }
}

}  // namespace
}  // namespace mk::hosted
