// modkit verify --key KEY.pub [--key ...] FILE.ko...
//
// Checks module signatures offline, as a kernel with signature_policy =
// enforce and these trusted keys would: the trailer (module/signature_trailer.h)
// is read as hostile input, its key id must be one of the keys, and the
// Ed25519 signature must match. Each failure is printed with its file.
#include <stdio.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hosted/module_path.h"
#include "hosted/signing_key.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

struct Options {
  std::vector<std::string> keys;
  std::vector<std::string> files;
  bool json = false;
};

int run_verify(const Options& o) {
  std::vector<mk::hosted::PublicKey> trusted;
  for (const std::string& path : o.keys) {
    mk::hosted::PublicKey k;
    std::string err;
    if (!mk::hosted::read_public_key(path, &k, &err)) {
      fprintf(stderr, "modkit verify: %s\n", err.c_str());
      return 1;
    }
    trusted.push_back(k);
  }
  int status = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& file : o.files) {
    std::vector<uint8_t> bytes;
    std::string err;
    if (!mk::hosted::read_whole_file(file, &bytes, &err)) {
      fprintf(stderr, "modkit verify: %s\n", err.c_str());
      status = 1;
      continue;
    }
    const mk::hosted::PublicKey* signer = nullptr;
    auto v =
        mk::hosted::verify_signed_file(mk::ByteView(bytes.data(), bytes.size()), trusted, &signer);
    if (!v) {
      fprintf(stderr, "modkit verify: %s: %s\n", file.c_str(), v.error().message());
      status = 1;
      if (o.json) out.push_back({{"file", file}, {"ok", false}, {"error", v.error().message()}});
      continue;
    }
    if (o.json)
      out.push_back({{"file", file},
                     {"ok", true},
                     {"key_id", mk::hosted::hex(signer->id)},
                     {"key", signer->origin},
                     {"covered", v.value().offset}});
  }
  if (o.json) printf("%s\n", out.dump(2).c_str());
  return status;
}

}  // namespace

Run add_verify(CLI::App& app) {
  static Options options;  // CLI11 writes into it; lives as long as the process
  Options* o = &options;
  CLI::App* sub = app.add_subcommand("verify", "Check module signatures against trusted keys");
  sub->add_option("--key", o->keys, "a trusted public key file (KEY.pub); repeatable")
      ->required()
      ->allow_extra_args(false);  // one file per --key: the rest are FILEs
  sub->add_option("FILE", o->files, "the signed modules (.ko) to check")->required();
  sub->add_flag("--json", o->json, "print each file's result as JSON on stdout");
  sub->footer(
      "Checks each FILE as a kernel with `signature_policy = enforce` and these trusted\n"
      "keys would: unsigned, a damaged or oversized trailer, an untrusted key id and a\n"
      "bad signature are each reported with the file. Prints nothing when every file\n"
      "is good (exit 0); exit 1 when any is not, 2 on a usage error.\n\n"
      "Example:\n"
      "  modkit verify --key signing.key.pub build/modules/*.ko\n"
      "  modkit verify --json --key a.pub --key b.pub hello.ko");
  return [o] { return run_verify(*o); };
}

}  // namespace modkit::tool
