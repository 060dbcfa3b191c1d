// modkit keygen -o KEY
//
// Makes an Ed25519 key pair for signing modules (hosted/signing_key.h): KEY,
// the secret key, mode 0600, and KEY.pub, the public key a kernel trusts
// (`trusted_key = KEY.pub` in modkitd.conf). Never overwrites a key.
#include <stdio.h>

#include <string>

#include "hosted/signing_key.h"
#include "verbs.h"

namespace modkit::tool {

Run add_keygen(CLI::App& app) {
  static std::string path;  // CLI11 writes into it; lives as long as the process
  CLI::App* sub = app.add_subcommand("keygen", "Make an Ed25519 key pair for signing modules");
  sub->add_option("-o,--output", path, "the secret key file to create (the public key: KEY.pub)")
      ->required();
  sub->footer(
      "Writes KEY (the secret key, mode 0600: keep it off the machines that load\n"
      "modules) and KEY.pub (the public key, which kernels list as `trusted_key`).\n"
      "Refuses to overwrite either file. Prints nothing on success; exit 1 on an\n"
      "error, 2 on a usage error.\n\n"
      "Example:\n"
      "  modkit keygen -o ~/.modkit/signing.key\n"
      "  modkit sign --key ~/.modkit/signing.key build/modules/hello.ko");
  return [] {
    std::string err;
    if (!mk::hosted::generate_key_pair(path, &err)) {
      fprintf(stderr, "modkit keygen: %s\n", err.c_str());
      return 1;
    }
    return 0;
  };
}

}  // namespace modkit::tool
