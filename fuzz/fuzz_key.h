// The fuzzers' own Ed25519 key pair, derived from a fixed seed so that the
// seed corpus (seeds.cc) can hold files signed by the key fuzz_trailer trusts:
// mutations of a correctly signed file then reach the signature check itself,
// not only the trailer parser. Never a key to trust outside fuzz/.
#pragma once

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "hosted/signing_key.h"

namespace mk::fuzz {

// `which` picks one of several keys: 0 is the trusted one, others sign files
// the verifier must refuse as untrusted.
inline void FuzzKey(uint8_t which, hosted::SecretKey* out) {
  uint8_t seed[crypto_sign_SEEDBYTES];
  memset(seed, 0x5a ^ which, sizeof seed);
  if (sodium_init() < 0) abort();
  crypto_sign_seed_keypair(out->pub.bytes.data(), out->bytes.data(), seed);
  out->pub.id = hosted::key_id_of(out->pub.bytes);
  out->pub.origin = "fuzz key " + std::to_string(which);
}

}  // namespace mk::fuzz
