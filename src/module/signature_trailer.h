// The signature trailer: how a signed module file carries its signature.
//
// `modkit sign` appends one trailer to the end of a .ko; everything before the
// trailer is the module, unchanged, so a signed file is still an ELF object
// that readelf, nm, objdump and the validator read as before (ELF locates its
// parts by offsets from the start and ignores bytes after them). The trailer
// is read from the end, like Linux's "~Module signature appended~":
//
//   offset size field
//   0      16   key_id      BLAKE2b-128 of the signer's Ed25519 public key
//   16     8    covered     bytes of the file the signature covers: all before the trailer
//   24     4    algorithm   1 = Ed25519
//   28     4    reserved    0
//   32     64   signature   Ed25519 over file[0, covered + 32): the module and the 32
//                           trailer bytes above, so key id and length are signed too
//   96     4    version     1
//   100    4    size        120, the size of this trailer
//   104    16   magic       "~modkit signed~\n"
//
// All integers little-endian. Every byte is signed, the signature itself, or
// checked for one exact value, so changing any byte of a signed file makes the
// check fail.
//
// The parser treats the trailer as hostile input: each field is read through
// ByteView with its own bounds check, and a trailer that is shorter or longer
// than version 1 says, or that covers other bytes than those before it, is
// refused with the offset of the field that is wrong. Checking the signature
// itself (cryptography, trusted keys, policy) is the platform's job
// (platform/signature_check.h); this file only reads and writes the format.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "support/bytes.h"
#include "support/result.h"

namespace mk::module {

inline constexpr size_t kKeyIdSize = 16;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kSignatureTrailerSize = 120;
inline constexpr size_t kTrailerSignedHead = 32;  // trailer bytes the signature covers
inline constexpr size_t kTrailerSignatureOffset = 32;
inline constexpr uint32_t kTrailerVersion = 1;
inline constexpr uint32_t kAlgorithmEd25519 = 1;
inline constexpr char kSignatureMagic[] = "~modkit signed~\n";  // 16 bytes, no NUL in the file
inline constexpr size_t kSignatureMagicSize = sizeof(kSignatureMagic) - 1;

struct SignatureTrailer {
  uint8_t key_id[kKeyIdSize] = {};
  uint8_t signature[kSignatureSize] = {};
  uint64_t offset = 0;   // where the trailer starts in the file (== covered)
  ByteView module;       // file[0, covered): what the linker sees
  ByteView signed_data;  // file[0, covered + 32): what the signature is over
};

// True when the file ends in the trailer's magic (it claims to be signed).
bool has_signature_trailer(ByteView file);

// Reads the trailer at the end of `file`. Errors: kNotFound when the file
// does not end in the magic (unsigned); kMalformed for a truncated or
// oversized trailer, one that covers other bytes than those before it, or a
// reserved field that is not 0; kUnsupported for another version or
// algorithm. Messages name the field and its file offset.
[[nodiscard]] Result<SignatureTrailer> parse_signature_trailer(ByteView file);

// Writes a version 1 trailer for a module of `covered` bytes into out (120
// bytes) with the given key id and signature. To sign: write it with any
// signature, sign module + out[0, 32), then write the signature at
// out + kTrailerSignatureOffset (or call this again).
void write_signature_trailer(uint8_t* out, const uint8_t* key_id, uint64_t covered,
                             const uint8_t* signature);

}  // namespace mk::module
