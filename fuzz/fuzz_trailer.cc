// Fuzzer: the signature trailer (module/signature_trailer.h), read from the
// end of every module file before anything else when signatures are checked,
// and the checks built on it: verify_signed_file() (hosted/signing_key.h) and
// the kernel's SignatureVerifier in each policy. Properties:
// - the same input gives the same result (parsed twice, from two copies);
// - unsigned (kNotFound) exactly when the file does not end in the magic;
//   every other refusal is kMalformed or kUnsupported, with a message;
// - an accepted trailer is the file's last 120 bytes: module = file[0,
//   offset), signed_data = file[0, offset + 32), key id and signature are
//   the bytes at their offsets, and write_signature_trailer() with its fields
//   writes those 120 bytes again;
// - any input as a module, with a trailer written for it, parses back with
//   the module unchanged (and, for some inputs, signed by the fuzz key,
//   verifies);
// - verify_signed_file() refuses whatever the parser refuses, with the same
//   error, and accepts only when the signature checks under the trusted fuzz
//   key; accepted, a changed byte anywhere is refused;
// - SignatureVerifier: enforce accepts exactly what verify_signed_file()
//   accepts and then gives the linker only the covered bytes; warn always
//   loads (the covered bytes if the trailer could be read); off gives the file
//   as it is.
#include <string>
#include <vector>

#include "fuzz/check.h"
#include "fuzz/fuzz_key.h"
#include "hosted/signature_verifier.h"
#include "hosted/signing_key.h"
#include "module/signature_trailer.h"

using namespace mk;
using namespace mk::module;

namespace {

// A parse result as text, with views as offsets into `base`, so results from
// two copies of the same bytes compare equal exactly when they agree.
std::string Describe(const Result<SignatureTrailer>& r, const uint8_t* base) {
  if (!r) return std::string("error ") + errc_name(r.error().code()) + ": " + r.error().message();
  const SignatureTrailer& t = r.value();
  return "trailer at " + std::to_string(t.offset) + " key " + hosted::hex(t.key_id, kKeyIdSize) +
         " sig " + hosted::hex(t.signature, kSignatureSize) + " module " +
         std::to_string(t.module.data() - base) + "+" + std::to_string(t.module.size()) +
         " signed " + std::to_string(t.signed_data.data() - base) + "+" +
         std::to_string(t.signed_data.size());
}

const hosted::SecretKey& TrustedKey() {
  static hosted::SecretKey* k = [] {
    auto* key = new hosted::SecretKey;
    fuzz::FuzzKey(0, key);
    return key;
  }();
  return *k;
}

bool SameView(ByteView a, ByteView b) {
  return a.data() == b.data() && a.size() == b.size();
}

void CheckParse(const uint8_t* data, size_t size) {
  const ByteView file(data, size);
  Result<SignatureTrailer> r = parse_signature_trailer(file);
  std::vector<uint8_t> copy(data, data + size);
  const std::string first = Describe(r, data);
  const std::string again =
      Describe(parse_signature_trailer(ByteView(copy.data(), copy.size())), copy.data());
  FUZZ_CHECK(first == again, "the same bytes parse differently:\n%s\n%s", first.c_str(),
             again.c_str());

  const bool claims = has_signature_trailer(file);
  if (!r) {
    const Errc c = r.error().code();
    FUZZ_CHECK(r.error().message()[0] != '\0', "an error without a message");
    FUZZ_CHECK((c == Errc::kNotFound) == !claims, "kNotFound %s a file that %s in the magic: %s",
               c == Errc::kNotFound ? "for" : "not for", claims ? "ends" : "does not end",
               r.error().message());
    FUZZ_CHECK(c == Errc::kNotFound || c == Errc::kMalformed || c == Errc::kUnsupported,
               "unexpected error %s: %s", errc_name(c), r.error().message());
    return;
  }
  const SignatureTrailer& t = r.value();
  FUZZ_CHECK(claims, "a trailer accepted in a file that does not end in the magic");
  FUZZ_CHECK(size >= kSignatureTrailerSize && t.offset == size - kSignatureTrailerSize,
             "trailer at %llu in a file of %zu bytes", static_cast<unsigned long long>(t.offset),
             size);
  FUZZ_CHECK(SameView(t.module, ByteView(data, t.offset)), "module view %zu+%zu, trailer at %llu",
             static_cast<size_t>(t.module.data() - data), t.module.size(),
             static_cast<unsigned long long>(t.offset));
  FUZZ_CHECK(SameView(t.signed_data, ByteView(data, t.offset + kTrailerSignedHead)),
             "signed view %zu+%zu, trailer at %llu",
             static_cast<size_t>(t.signed_data.data() - data), t.signed_data.size(),
             static_cast<unsigned long long>(t.offset));
  FUZZ_CHECK(memcmp(t.key_id, data + t.offset, kKeyIdSize) == 0, "key id is not the file's bytes");
  FUZZ_CHECK(memcmp(t.signature, data + t.offset + kTrailerSignatureOffset, kSignatureSize) == 0,
             "signature is not the file's bytes");
  uint8_t written[kSignatureTrailerSize];
  write_signature_trailer(written, t.key_id, t.offset, t.signature);
  FUZZ_CHECK(memcmp(written, data + t.offset, kSignatureTrailerSize) == 0,
             "an accepted trailer does not write back to the same 120 bytes");
}

// The input as a module: a trailer written for it reads back.
void CheckWrite(const uint8_t* data, size_t size) {
  std::vector<uint8_t> file(data, data + size);
  uint8_t key_id[kKeyIdSize], signature[kSignatureSize];
  for (size_t i = 0; i < kKeyIdSize; ++i)
    key_id[i] = static_cast<uint8_t>(size + i);
  for (size_t i = 0; i < kSignatureSize; ++i)
    signature[i] = static_cast<uint8_t>(size * 3 + i);
  file.resize(size + kSignatureTrailerSize);
  write_signature_trailer(file.data() + size, key_id, size, signature);
  Result<SignatureTrailer> r = parse_signature_trailer(ByteView(file.data(), file.size()));
  FUZZ_CHECK(r, "a written trailer is refused: %s", r ? "" : r.error().message());
  FUZZ_CHECK(r.value().offset == size && SameView(r.value().module, ByteView(file.data(), size)),
             "a written trailer reads back at %llu, module %zu bytes, for %zu",
             static_cast<unsigned long long>(r.value().offset), r.value().module.size(), size);
  FUZZ_CHECK(memcmp(r.value().key_id, key_id, kKeyIdSize) == 0 &&
                 memcmp(r.value().signature, signature, kSignatureSize) == 0,
             "a written trailer reads back other fields");
}

// verify_signed_file() and the verifier's policies against the parser.
void CheckVerify(const uint8_t* data, size_t size) {
  const ByteView file(data, size);
  const std::vector<hosted::PublicKey> trusted{TrustedKey().pub};
  Result<SignatureTrailer> parsed = parse_signature_trailer(file);
  Result<SignatureTrailer> v = hosted::verify_signed_file(file, trusted, nullptr);
  if (!parsed) {
    FUZZ_CHECK(!v, "verified a file whose trailer is refused: %s", parsed.error().message());
    FUZZ_CHECK(v.error().code() == parsed.error().code() &&
                   strcmp(v.error().message(), parsed.error().message()) == 0,
               "verify says `%s', the parser `%s'", v.error().message(), parsed.error().message());
  } else {
    const SignatureTrailer& t = parsed.value();
    const bool good =
        memcmp(t.key_id, TrustedKey().pub.id.data(), kKeyIdSize) == 0 &&
        crypto_sign_verify_detached(t.signature, t.signed_data.data(), t.signed_data.size(),
                                    TrustedKey().pub.bytes.data()) == 0;
    FUZZ_CHECK(bool(v) == good, "verify %s a file the signature check %s: %s",
               v ? "accepts" : "refuses", good ? "accepts" : "refuses",
               v ? "" : v.error().message());
    if (!v)
      FUZZ_CHECK(v.error().code() == Errc::kPermission, "verify refused with %s: %s",
                 errc_name(v.error().code()), v.error().message());
  }
  if (v) {
    // A changed byte (in the module, the signed head, the signature or the
    // magic) is refused.
    std::vector<uint8_t> changed(data, data + size);
    const size_t at[] = {0, size / 2, v.value().offset + 16, v.value().offset + 40, size - 1};
    for (size_t p : at) {
      changed[p] ^= 0x20;
      FUZZ_CHECK(!hosted::verify_signed_file(ByteView(changed.data(), size), trusted, nullptr),
                 "verified with byte %zu of %zu changed", p, size);
      changed[p] ^= 0x20;
    }
  }

  hosted::SignatureVerifier enforce(hosted::SignaturePolicy::kEnforce, trusted, nullptr);
  Result<ByteView> e = enforce.check(file, "fuzz.ko");
  FUZZ_CHECK(bool(e) == bool(v), "enforce %s what verify %s", e ? "loads" : "refuses",
             v ? "accepts" : "refuses");
  if (e)
    FUZZ_CHECK(SameView(e.value(), v.value().module), "enforce gives the linker %zu bytes",
               e.value().size());
  else
    FUZZ_CHECK(e.error().code() == Errc::kPermission, "enforce refused with %s: %s",
               errc_name(e.error().code()), e.error().message());

  size_t logged = 0;
  hosted::SignatureVerifier warn(hosted::SignaturePolicy::kWarn, trusted,
                                 [&](const std::string&) { ++logged; });
  Result<ByteView> w = warn.check(file, "fuzz.ko");
  FUZZ_CHECK(w, "warn refused a file: %s", w ? "" : w.error().message());
  FUZZ_CHECK(logged == (v ? 0u : 1u), "warn logged %zu times", logged);
  FUZZ_CHECK(SameView(w.value(), parsed ? parsed.value().module : file),
             "warn gives the linker %zu of %zu bytes", w.value().size(), size);

  hosted::SignatureVerifier off(hosted::SignaturePolicy::kOff, trusted, nullptr);
  Result<ByteView> o = off.check(file, "fuzz.ko");
  FUZZ_CHECK(o && SameView(o.value(), file), "off does not give the file as it is");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckParse(data, size);
  CheckWrite(data, size);
  CheckVerify(data, size);
  // Signing is slow next to parsing: only a sixteenth of the inputs (chosen
  // by size, so the choice is the same on a replay) are signed for real.
  if (size % 16 == 0) {
    std::vector<uint8_t> module(data, data + size);
    std::vector<uint8_t> file = module, trailer = hosted::sign_module(module, TrustedKey());
    file.insert(file.end(), trailer.begin(), trailer.end());
    Result<SignatureTrailer> v =
        hosted::verify_signed_file(ByteView(file.data(), file.size()), {TrustedKey().pub}, nullptr);
    FUZZ_CHECK(v, "a file the fuzz key signed is refused: %s", v ? "" : v.error().message());
    FUZZ_CHECK(v.value().module.size() == size, "signed module of %zu bytes reads back as %zu",
               size, v.value().module.size());
  }
  return 0;
}
