#include "hosted/signing_key.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hosted/module_path.h"

namespace mk::hosted {
namespace {

constexpr char kSecretLabel[] = "modkit-ed25519-secret-key ";
constexpr char kPublicLabel[] = "modkit-ed25519-public-key ";

static_assert(crypto_sign_PUBLICKEYBYTES == 32);
static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_BYTES == module::kSignatureSize);

// libsodium must be initialised once before use; it is thread-safe to call
// again. It fails only when the system has no source of randomness.
bool sodium_ready(std::string* err) {
  if (sodium_init() >= 0) return true;
  *err = "libsodium could not be initialised (no source of randomness?)";
  return false;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses "LABEL<2n hex digits>\n?" into out[n].
bool parse_key_line(const std::string& text, const char* label, uint8_t* out, size_t n,
                    const std::string& path, std::string* err) {
  std::string body = text;
  if (!body.empty() && body.back() == '\n') body.pop_back();
  size_t label_len = strlen(label);
  if (body.compare(0, label_len, label) != 0) {
    *err = path + ": not a modkit " + (strcmp(label, kSecretLabel) == 0 ? "secret" : "public") +
           " key file (it must start with \"" + std::string(label, label_len - 1) +
           "\"; make one with `modkit keygen -o KEY`)";
    return false;
  }
  std::string digits = body.substr(label_len);
  if (digits.size() != 2 * n) {
    *err = path + ": the key has " + std::to_string(digits.size()) + " hex digits, expected " +
           std::to_string(2 * n);
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    int hi = hex_digit(digits[2 * i]), lo = hex_digit(digits[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      *err = path + ": the key has a character that is not a hex digit at column " +
             std::to_string(label_len + 2 * i + (hi < 0 ? 1 : 2));
      return false;
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool write_new_file(const std::string& path, mode_t mode, const std::string& text,
                    std::string* err) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    *err = path + ": " + strerror(errno) +
           (errno == EEXIST ? " (refusing to overwrite a key; choose another name)" : "");
    return false;
  }
  bool ok = fchmod(fd, mode) == 0;  // the mode exactly, whatever the umask
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t w = write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  ok = fsync(fd) == 0 && ok;
  int saved = errno;
  ok = close(fd) == 0 && ok;
  if (!ok) {
    *err = path + ": " + strerror(saved);
    unlink(path.c_str());
  }
  return ok;
}

}  // namespace

SecretKey::~SecretKey() {
  sodium_memzero(bytes.data(), bytes.size());
}

std::string hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

KeyId key_id_of(const std::array<uint8_t, 32>& public_key) {
  KeyId id{};
  crypto_generichash(id.data(), id.size(), public_key.data(), public_key.size(), nullptr, 0);
  return id;
}

bool generate_key_pair(const std::string& path, std::string* err) {
  if (!sodium_ready(err)) return false;
  const std::string pub_path = path + ".pub";
  for (const std::string& p : {path, pub_path}) {
    if (access(p.c_str(), F_OK) == 0) {
      *err = p + ": exists (refusing to overwrite a key; choose another name)";
      return false;
    }
  }
  SecretKey key;
  crypto_sign_keypair(key.pub.bytes.data(), key.bytes.data());
  std::string secret_text = kSecretLabel;
  secret_text.reserve(secret_text.size() + 2 * key.bytes.size() + 1);  // no reallocation copies
  std::string digits = hex(key.bytes.data(), key.bytes.size());
  secret_text += digits;
  secret_text += '\n';
  sodium_memzero(digits.data(), digits.size());
  bool ok = write_new_file(path, 0600, secret_text, err);
  sodium_memzero(secret_text.data(), secret_text.size());
  if (!ok) return false;
  if (!write_new_file(pub_path, 0644,
                      kPublicLabel + hex(key.pub.bytes.data(), key.pub.bytes.size()) + "\n", err)) {
    unlink(path.c_str());  // no half pair
    return false;
  }
  return true;
}

bool read_public_key(const std::string& path, PublicKey* out, std::string* err) {
  std::vector<uint8_t> bytes;
  if (!read_whole_file(path, &bytes, err)) return false;
  if (!sodium_ready(err)) return false;
  std::string text(bytes.begin(), bytes.end());
  if (!parse_key_line(text, kPublicLabel, out->bytes.data(), out->bytes.size(), path, err))
    return false;
  out->id = key_id_of(out->bytes);
  out->origin = path;
  return true;
}

bool read_secret_key(const std::string& path, SecretKey* out, std::string* err) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *err = path + ": permissions " + mode + " let others read this secret key; run `chmod 600 " +
           path + "`";
    return false;
  }
  std::vector<uint8_t> bytes;
  if (!read_whole_file(path, &bytes, err)) return false;
  if (!sodium_ready(err)) return false;
  std::string text(bytes.begin(), bytes.end());
  sodium_memzero(bytes.data(), bytes.size());
  bool ok = parse_key_line(text, kSecretLabel, out->bytes.data(), out->bytes.size(), path, err);
  sodium_memzero(text.data(), text.size());
  if (!ok) return false;
  crypto_sign_ed25519_sk_to_pk(out->pub.bytes.data(), out->bytes.data());
  // The secret key holds its seed and its public key: they must agree.
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> again{};
  crypto_sign_seed_keypair(pk.data(), again.data(), out->bytes.data());
  bool same = sodium_memcmp(pk.data(), out->pub.bytes.data(), pk.size()) == 0;
  sodium_memzero(again.data(), again.size());
  if (!same) {
    *err = path + ": damaged secret key (its public half does not match its seed)";
    return false;
  }
  out->pub.id = key_id_of(out->pub.bytes);
  out->pub.origin = path;
  return true;
}

std::vector<uint8_t> sign_module(const std::vector<uint8_t>& module, const SecretKey& key) {
  std::vector<uint8_t> trailer(module::kSignatureTrailerSize);
  uint8_t no_signature[module::kSignatureSize] = {};
  module::write_signature_trailer(trailer.data(), key.pub.id.data(), module.size(), no_signature);
  // The signature covers the module and the trailer's first 32 bytes.
  std::vector<uint8_t> message(module);
  message.insert(message.end(), trailer.begin(), trailer.begin() + module::kTrailerSignedHead);
  crypto_sign_detached(trailer.data() + module::kTrailerSignatureOffset, nullptr, message.data(),
                       message.size(), key.bytes.data());
  return trailer;
}

Result<module::SignatureTrailer> verify_signed_file(ByteView file,
                                                    const std::vector<PublicKey>& trusted,
                                                    const PublicKey** signer) {
  module::SignatureTrailer t = MK_TRY(module::parse_signature_trailer(file));
  std::string why;
  if (!sodium_ready(&why)) return Error(Errc::kUnsupported, "%s", why.c_str());
  const PublicKey* key = nullptr;
  for (const PublicKey& k : trusted)
    if (memcmp(k.id.data(), t.key_id, module::kKeyIdSize) == 0) key = &k;
  std::string id = hex(t.key_id, module::kKeyIdSize);
  if (key == nullptr) {
    std::string known;  // ids only: the message has room for a few
    for (size_t i = 0; i < trusted.size() && i < 4; ++i)
      known += (known.empty() ? "" : ", ") + hex(trusted[i].id);
    if (trusted.size() > 4) known += " and " + std::to_string(trusted.size() - 4) + " more";
    return Error(Errc::kPermission,
                 "untrusted key: signed by key id %s, which is not a trusted key (trusted: %s); "
                 "add its .pub file as a trusted key",
                 id.c_str(), known.empty() ? "none" : known.c_str());
  }
  if (crypto_sign_verify_detached(t.signature, t.signed_data.data(), t.signed_data.size(),
                                  key->bytes.data()) != 0)
    return Error(Errc::kPermission,
                 "bad signature: the signature at offset 0x%zx does not match the %llu bytes it "
                 "covers under key id %s (%s); the file changed after it was signed",
                 static_cast<size_t>(t.offset + module::kTrailerSignatureOffset),
                 static_cast<unsigned long long>(t.offset), id.c_str(), key->origin.c_str());
  if (signer != nullptr) *signer = key;
  return t;
}

}  // namespace mk::hosted
