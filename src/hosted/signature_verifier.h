// SignatureVerifier: the hosted kernel's module signature policy, the
// platform's SignatureCheck (platform/signature_check.h) with libsodium.
//
//   off      files load as they are; a trailer is not read (a signed file is
//            still a valid ELF object, so it loads too)
//   warn     the signature is checked; a failure is logged ("NAME: signature
//            not accepted, loading anyway: WHY") and the file loads
//   enforce  a failure refuses the load (kPermission, "NAME: refused by
//            signature_policy enforce: WHY")
//
// When the trailer could be read, the linker sees only the bytes it covers.
// The policy can be raised at run time but never lowered from enforce: that
// needs a restart (a new verifier), so code that gets to load a module cannot
// switch the check off for the next one. Trusted keys are fixed at
// construction.
//
// Thread-safe: check() may run on several loading threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "hosted/config.h"
#include "hosted/signing_key.h"
#include "platform/signature_check.h"

namespace mk::hosted {

class SignatureVerifier final : public SignatureCheck {
 public:
  using Log = std::function<void(const std::string&)>;

  SignatureVerifier(SignaturePolicy policy, std::vector<PublicKey> trusted, Log log);

  [[nodiscard]] Result<ByteView> check(ByteView file, const char* name) override;

  SignaturePolicy policy() const { return policy_.load(); }
  // Raises or keeps the policy; from enforce to anything lower is refused
  // (kPermission) and leaves enforce in place.
  [[nodiscard]] Result<void> set_policy(SignaturePolicy p);

  const std::vector<PublicKey>& trusted() const { return trusted_; }

 private:
  std::atomic<SignaturePolicy> policy_;
  const std::vector<PublicKey> trusted_;
  Log log_;
};

// Reads each trusted public key file; false with a message naming the file.
bool read_trusted_keys(const std::vector<std::string>& paths, std::vector<PublicKey>* out,
                       std::string* err);

}  // namespace mk::hosted
