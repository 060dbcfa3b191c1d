#include "hosted/signature_verifier.h"

namespace mk::hosted {

SignatureVerifier::SignatureVerifier(SignaturePolicy policy, std::vector<PublicKey> trusted,
                                     Log log)
    : policy_(policy), trusted_(std::move(trusted)), log_(std::move(log)) {}

Result<ByteView> SignatureVerifier::check(ByteView file, const char* name) {
  SignaturePolicy p = policy_.load();
  if (p == SignaturePolicy::kOff) return file;
  Result<module::SignatureTrailer> v = verify_signed_file(file, trusted_, nullptr);
  if (v) return v.value().module;
  if (p == SignaturePolicy::kEnforce)
    return Error(Errc::kPermission, "%s: refused by signature_policy enforce: %s", name,
                 v.error().message());
  // warn: load, without the trailer when it could be read.
  if (log_)
    log_(std::string(name) + ": signature not accepted, loading anyway (signature_policy warn): " +
         v.error().message());
  Result<module::SignatureTrailer> t = module::parse_signature_trailer(file);
  return t ? t.value().module : file;
}

Result<void> SignatureVerifier::set_policy(SignaturePolicy p) {
  SignaturePolicy now = policy_.load();
  do {
    if (now == SignaturePolicy::kEnforce && p != SignaturePolicy::kEnforce)
      return Error(Errc::kPermission,
                   "signature_policy is enforce and cannot be lowered to %s while the kernel "
                   "runs; change the configuration and restart",
                   signature_policy_name(p));
  } while (!policy_.compare_exchange_weak(now, p));
  return Ok();
}

bool read_trusted_keys(const std::vector<std::string>& paths, std::vector<PublicKey>* out,
                       std::string* err) {
  for (const std::string& path : paths) {
    PublicKey k;
    if (!read_public_key(path, &k, err)) {
      *err = "trusted key " + *err;
      return false;
    }
    out->push_back(std::move(k));
  }
  return true;
}

}  // namespace mk::hosted
