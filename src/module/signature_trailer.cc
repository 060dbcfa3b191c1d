#include "module/signature_trailer.h"

#include "support/memory.h"

namespace mk::module {
namespace {

// Field offsets inside the trailer (see the table in the header).
constexpr size_t kKeyIdAt = 0;
constexpr size_t kCoveredAt = 16;
constexpr size_t kAlgorithmAt = 24;
constexpr size_t kReservedAt = 28;
constexpr size_t kVersionAt = 96;
constexpr size_t kSizeAt = 100;
constexpr size_t kMagicAt = 104;
static_assert(kMagicAt + kSignatureMagicSize == kSignatureTrailerSize);
static_assert(kTrailerSignatureOffset + kSignatureSize == kVersionAt);

// Offsets of the fields read from the end, before the trailer's start is known.
constexpr size_t kVersionFromEnd = kSignatureTrailerSize - kVersionAt;  // 24
constexpr size_t kSizeFromEnd = kSignatureTrailerSize - kSizeAt;        // 20

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

bool has_signature_trailer(ByteView file) {
  ByteView tail;
  if (file.size() < kSignatureMagicSize ||
      !file.slice(file.size() - kSignatureMagicSize, kSignatureMagicSize, &tail))
    return false;
  return mk_memcmp(tail.data(), kSignatureMagic, kSignatureMagicSize) == 0;
}

Result<SignatureTrailer> parse_signature_trailer(ByteView file) {
  const size_t n = file.size();
  if (!has_signature_trailer(file))
    return Error(Errc::kNotFound,
                 "not signed: the file does not end in a signature trailer (sign it with "
                 "`modkit sign --key KEY FILE`)");
  // From here on the file claims to be signed: every field is hostile.
  uint32_t version = 0;
  uint32_t size = 0;
  if (n < kVersionFromEnd || !file.read(n - kVersionFromEnd, &version) ||
      !file.read(n - kSizeFromEnd, &size))
    return Error(Errc::kMalformed,
                 "truncated signature trailer: the file is %zu bytes, shorter than the %zu-byte "
                 "trailer its last bytes announce",
                 n, kSignatureTrailerSize);
  if (version != kTrailerVersion)
    return Error(Errc::kUnsupported,
                 "signature trailer version %u (at offset 0x%zx) is not supported; this kernel "
                 "reads version %u",
                 version, n - kVersionFromEnd, kTrailerVersion);
  if (size > kSignatureTrailerSize)
    return Error(Errc::kMalformed,
                 "oversized signature trailer: its size field (at offset 0x%zx) says %u bytes; a "
                 "version 1 trailer is %zu bytes",
                 n - kSizeFromEnd, size, kSignatureTrailerSize);
  if (size < kSignatureTrailerSize)
    return Error(Errc::kMalformed,
                 "truncated signature trailer: its size field (at offset 0x%zx) says %u bytes; a "
                 "version 1 trailer is %zu bytes",
                 n - kSizeFromEnd, size, kSignatureTrailerSize);
  if (n < kSignatureTrailerSize)
    return Error(Errc::kMalformed,
                 "truncated signature trailer: the file is %zu bytes, shorter than its %zu-byte "
                 "trailer",
                 n, kSignatureTrailerSize);

  const size_t at = n - kSignatureTrailerSize;  // the trailer's first byte
  SignatureTrailer t;
  t.offset = at;
  uint64_t covered = 0;
  uint32_t algorithm = 0;
  uint32_t reserved = 0;
  ByteView key_id, signature;
  if (!file.read(at + kCoveredAt, &covered) || !file.read(at + kAlgorithmAt, &algorithm) ||
      !file.read(at + kReservedAt, &reserved) || !file.slice(at + kKeyIdAt, kKeyIdSize, &key_id) ||
      !file.slice(at + kTrailerSignatureOffset, kSignatureSize, &signature))
    return Error(Errc::kMalformed, "signature trailer at offset 0x%zx: a field is out of bounds",
                 at);  // unreachable: n >= the trailer's size was checked above
  if (covered > at)
    return Error(Errc::kMalformed,
                 "signature trailer at offset 0x%zx claims to cover %llu bytes, but only %zu bytes "
                 "precede it",
                 at, static_cast<unsigned long long>(covered), at);
  if (covered < at)
    return Error(Errc::kMalformed,
                 "signature trailer at offset 0x%zx covers %llu bytes, but %zu bytes precede it: "
                 "%llu bytes before the trailer are not signed",
                 at, static_cast<unsigned long long>(covered), at,
                 static_cast<unsigned long long>(at - covered));
  if (algorithm != kAlgorithmEd25519)
    return Error(Errc::kUnsupported,
                 "signature algorithm %u (at offset 0x%zx) is not supported; 1 is Ed25519",
                 algorithm, at + kAlgorithmAt);
  if (reserved != 0)
    return Error(Errc::kMalformed,
                 "signature trailer: the reserved field at offset 0x%zx is 0x%x, not 0",
                 at + kReservedAt, reserved);
  mk_memcpy(t.key_id, key_id.data(), kKeyIdSize);
  mk_memcpy(t.signature, signature.data(), kSignatureSize);
  if (!file.slice(0, at, &t.module) || !file.slice(0, at + kTrailerSignedHead, &t.signed_data))
    return Error(Errc::kMalformed, "signature trailer at offset 0x%zx: out of bounds", at);
  return t;
}

void write_signature_trailer(uint8_t* out, const uint8_t* key_id, uint64_t covered,
                             const uint8_t* signature) {
  mk_memset(out, 0, kSignatureTrailerSize);
  mk_memcpy(out + kKeyIdAt, key_id, kKeyIdSize);
  put64(out + kCoveredAt, covered);
  put32(out + kAlgorithmAt, kAlgorithmEd25519);
  put32(out + kReservedAt, 0);
  mk_memcpy(out + kTrailerSignatureOffset, signature, kSignatureSize);
  put32(out + kVersionAt, kTrailerVersion);
  put32(out + kSizeAt, static_cast<uint32_t>(kSignatureTrailerSize));
  mk_memcpy(out + kMagicAt, kSignatureMagic, kSignatureMagicSize);
}

}  // namespace mk::module
