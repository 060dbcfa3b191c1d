// Ed25519 signing keys for modules (libsodium), and signing and verifying a
// module file's bytes with the trailer of module/signature_trailer.h. Used by
// `modkit keygen`, `sign` and `verify`, and by the kernel's verifier
// (hosted/signature_verifier.h).
//
// Key files are one line of text each:
//   KEY      "modkit-ed25519-secret-key " + 128 hex digits (libsodium's 64-byte
//            secret key: seed and public key), mode 0600
//   KEY.pub  "modkit-ed25519-public-key " + 64 hex digits
// A key's id is the BLAKE2b-128 hash of its public key, printed as 32 hex
// digits; the trailer names the signer by it.
//
// Functions here return false with a message in *err that names the file.
#pragma once

#include <stdint.h>

#include <array>
#include <string>
#include <vector>

#include "module/signature_trailer.h"
#include "support/result.h"

namespace mk::hosted {

using KeyId = std::array<uint8_t, module::kKeyIdSize>;

struct PublicKey {
  std::array<uint8_t, 32> bytes{};
  KeyId id{};
  std::string origin;  // the file it came from, for messages
};

struct SecretKey {
  std::array<uint8_t, 64> bytes{};
  PublicKey pub;
  ~SecretKey();  // wipes the key material
};

std::string hex(const uint8_t* p, size_t n);
inline std::string hex(const KeyId& id) {
  return hex(id.data(), id.size());
}
KeyId key_id_of(const std::array<uint8_t, 32>& public_key);

// Creates KEY (mode 0600) and KEY.pub with a new key pair. Refuses when
// either exists (nothing is overwritten) and leaves no half pair behind.
bool generate_key_pair(const std::string& path, std::string* err);

// Reads a key file. The secret key file is refused when group or others may
// read it (as ssh does), or when its public half does not match.
bool read_public_key(const std::string& path, PublicKey* out, std::string* err);
bool read_secret_key(const std::string& path, SecretKey* out, std::string* err);

// The 120-byte trailer that signs `module` (the file's bytes before it).
std::vector<uint8_t> sign_module(const std::vector<uint8_t>& module, const SecretKey& key);

// Checks the signature of a whole signed file against trusted keys: parses
// the trailer (its errors as parse_signature_trailer gives them), then finds
// the key by id (kPermission "signed by key id X, which is not trusted") and
// checks the signature (kPermission "bad signature"). *signer is the key.
[[nodiscard]] Result<module::SignatureTrailer> verify_signed_file(
    ByteView file, const std::vector<PublicKey>& trusted, const PublicKey** signer);

}  // namespace mk::hosted
