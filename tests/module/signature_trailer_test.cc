// Tests of module/signature_trailer.h: the trailer read as hostile input.
// Each damaged trailer (truncated, oversized, covering more or fewer bytes
// than precede it, another version or algorithm, a reserved field set) is
// refused with its exact message; a good one round-trips and exposes exactly
// the module bytes and the signed bytes. The cryptography is tested in
// tests/hosted/signature_verifier_test.cc.
#include "module/signature_trailer.h"

#include <gtest/gtest.h>
#include <string.h>

#include <string>
#include <vector>

namespace mk::module {
namespace {

constexpr size_t kModuleSize = 200;

std::vector<uint8_t> Signed(size_t module_size = kModuleSize) {
  std::vector<uint8_t> f(module_size);
  for (size_t i = 0; i < module_size; ++i)
    f[i] = static_cast<uint8_t>(i * 7 + 1);
  uint8_t key_id[kKeyIdSize], sig[kSignatureSize];
  for (size_t i = 0; i < kKeyIdSize; ++i)
    key_id[i] = static_cast<uint8_t>(0xa0 + i);
  for (size_t i = 0; i < kSignatureSize; ++i)
    sig[i] = static_cast<uint8_t>(i);
  f.resize(module_size + kSignatureTrailerSize);
  write_signature_trailer(f.data() + module_size, key_id, module_size, sig);
  return f;
}

void Put32(std::vector<uint8_t>& f, size_t at, uint32_t v) {
  memcpy(f.data() + at, &v, 4);
}
void Put64(std::vector<uint8_t>& f, size_t at, uint64_t v) {
  memcpy(f.data() + at, &v, 8);
}

// The exact error for a file, with its category.
std::string ErrorOf(const std::vector<uint8_t>& f, Errc expected) {
  Result<SignatureTrailer> r = parse_signature_trailer(ByteView(f.data(), f.size()));
  if (r) return "(parsed)";
  EXPECT_EQ(r.error().code(), expected) << r.error().message();
  return r.error().message();
}

TEST(SignatureTrailer, RoundTrip) {
  std::vector<uint8_t> f = Signed();
  ByteView v(f.data(), f.size());
  EXPECT_TRUE(has_signature_trailer(v));
  Result<SignatureTrailer> t = parse_signature_trailer(v);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t.value().offset, kModuleSize);
  EXPECT_EQ(t.value().module.data(), f.data());
  EXPECT_EQ(t.value().module.size(), kModuleSize);
  EXPECT_EQ(t.value().signed_data.data(), f.data());
  EXPECT_EQ(t.value().signed_data.size(), kModuleSize + 32);
  EXPECT_EQ(t.value().key_id[0], 0xa0);
  EXPECT_EQ(t.value().key_id[15], 0xaf);
  EXPECT_EQ(t.value().signature[63], 63);
  // The layout is fixed: magic last, then size and version before it.
  EXPECT_EQ(std::string(f.end() - 16, f.end()), "~modkit signed~\n");
  uint32_t size = 0, version = 0;
  memcpy(&size, f.data() + f.size() - 20, 4);
  memcpy(&version, f.data() + f.size() - 24, 4);
  EXPECT_EQ(size, 120u);
  EXPECT_EQ(version, 1u);
}

TEST(SignatureTrailer, AnEmptyModuleCanBeSigned) {
  std::vector<uint8_t> f = Signed(0);
  Result<SignatureTrailer> t = parse_signature_trailer(ByteView(f.data(), f.size()));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t.value().module.size(), 0u);
}

TEST(SignatureTrailer, Unsigned) {
  const char* msg =
      "not signed: the file does not end in a signature trailer (sign it with `modkit sign --key "
      "KEY FILE`)";
  std::vector<uint8_t> f(kModuleSize, 0x7f);
  EXPECT_EQ(ErrorOf(f, Errc::kNotFound), msg);
  EXPECT_EQ(ErrorOf({}, Errc::kNotFound), msg);
  // The magic less its last byte: cut off at the end.
  f = Signed();
  f.pop_back();
  EXPECT_FALSE(has_signature_trailer(ByteView(f.data(), f.size())));
  EXPECT_EQ(ErrorOf(f, Errc::kNotFound), msg);
  // One flipped bit in the magic.
  f = Signed();
  f[f.size() - 5] ^= 1;
  EXPECT_EQ(ErrorOf(f, Errc::kNotFound), msg);
}

TEST(SignatureTrailer, Truncated) {
  std::vector<uint8_t> full = Signed();
  // Only the magic: the file cannot hold the fields before it.
  std::vector<uint8_t> f(full.end() - 16, full.end());
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "truncated signature trailer: the file is 16 bytes, shorter than the 120-byte "
            "trailer its last bytes announce");
  // The last 60 bytes of a trailer: its fields say 120 bytes, the file has 60.
  f.assign(full.end() - 60, full.end());
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "truncated signature trailer: the file is 60 bytes, shorter than its 120-byte "
            "trailer");
  // A size field below the version's size.
  f = full;
  Put32(f, f.size() - 20, 119);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "truncated signature trailer: its size field (at offset 0x12c) says 119 bytes; a "
            "version 1 trailer is 120 bytes");
  // Bytes cut out of the trailer's middle: what the fields say no longer
  // fits what precedes them.
  f = full;
  f.erase(f.begin() + kModuleSize + 40, f.begin() + kModuleSize + 48);
  EXPECT_NE(ErrorOf(f, Errc::kMalformed), "(parsed)");
}

TEST(SignatureTrailer, Oversized) {
  std::vector<uint8_t> f = Signed();
  Put32(f, f.size() - 20, 121);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "oversized signature trailer: its size field (at offset 0x12c) says 121 bytes; a "
            "version 1 trailer is 120 bytes");
  Put32(f, f.size() - 20, 0xffffffffu);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "oversized signature trailer: its size field (at offset 0x12c) says 4294967295 "
            "bytes; a version 1 trailer is 120 bytes");
}

TEST(SignatureTrailer, CoversOtherBytesThanThosePrecedingIt) {
  std::vector<uint8_t> f = Signed();
  Put64(f, kModuleSize + 16, kModuleSize + 1);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "signature trailer at offset 0xc8 claims to cover 201 bytes, but only 200 bytes "
            "precede it");
  // More than the whole file, and the largest value: no overflow anywhere.
  Put64(f, kModuleSize + 16, 1 << 20);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "signature trailer at offset 0xc8 claims to cover 1048576 bytes, but only 200 bytes "
            "precede it");
  Put64(f, kModuleSize + 16, UINT64_MAX);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "signature trailer at offset 0xc8 claims to cover 18446744073709551615 bytes, but "
            "only 200 bytes precede it");
  // Fewer: bytes were added between the module and the trailer.
  Put64(f, kModuleSize + 16, kModuleSize - 8);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "signature trailer at offset 0xc8 covers 192 bytes, but 200 bytes precede it: 8 bytes "
            "before the trailer are not signed");
}

TEST(SignatureTrailer, VersionAlgorithmReserved) {
  std::vector<uint8_t> f = Signed();
  Put32(f, f.size() - 24, 2);
  EXPECT_EQ(ErrorOf(f, Errc::kUnsupported),
            "signature trailer version 2 (at offset 0x128) is not supported; this kernel reads "
            "version 1");
  f = Signed();
  Put32(f, kModuleSize + 24, 7);
  EXPECT_EQ(ErrorOf(f, Errc::kUnsupported),
            "signature algorithm 7 (at offset 0xe0) is not supported; 1 is Ed25519");
  f = Signed();
  Put32(f, kModuleSize + 28, 0x100);
  EXPECT_EQ(ErrorOf(f, Errc::kMalformed),
            "signature trailer: the reserved field at offset 0xe4 is 0x100, not 0");
}

// Every prefix of a signed file is either unsigned or refused: reading never
// goes out of bounds (ASan watches) and never accepts a partial trailer.
TEST(SignatureTrailer, EveryTruncationIsRefused) {
  std::vector<uint8_t> full = Signed();
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> f(full.begin(), full.begin() + n);
    Result<SignatureTrailer> r = parse_signature_trailer(ByteView(f.data(), f.size()));
    EXPECT_FALSE(r) << n;
  }
  // And every suffix (the start cut off): what keeps the magic is malformed.
  for (size_t cut = 1; cut < full.size(); ++cut) {
    std::vector<uint8_t> f(full.begin() + cut, full.end());
    Result<SignatureTrailer> r = parse_signature_trailer(ByteView(f.data(), f.size()));
    ASSERT_FALSE(r) << cut;
    Errc want = f.size() < kSignatureMagicSize ? Errc::kNotFound : Errc::kMalformed;
    EXPECT_EQ(r.error().code(), want) << cut << ": " << r.error().message();
  }
}

}  // namespace
}  // namespace mk::module
