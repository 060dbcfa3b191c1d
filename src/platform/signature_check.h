// SignatureCheck: the kernel's module signature policy, applied by the
// registry to the raw bytes of every module file before anything parses them
// (architecture.md, load step 1). The core reads no keys and does no
// cryptography: the host implements this (hosted: libsodium's Ed25519, see
// hosted/signature_verifier.h; a kernel: its own crypto and keyring). The
// trailer format is module/signature_trailer.h.
//
// Contract: check() returns the bytes the validator and the linker may see:
// the file without its signature trailer when the trailer was read, or the
// file as it is when the policy ignores signatures. It returns an error
// (kPermission) when the policy refuses the file; the message names the file
// and what was wrong (unsigned, bad signature, untrusted key id, a malformed
// trailer). The returned view is a prefix of `file` (same lifetime). It may be
// called from any thread that loads.
#pragma once

#include "support/bytes.h"
#include "support/result.h"

namespace mk {

class SignatureCheck {
 public:
  [[nodiscard]] virtual Result<ByteView> check(ByteView file, const char* name) = 0;

 protected:
  ~SignatureCheck() = default;
};

}  // namespace mk
