// modkit sign --key KEY FILE.ko [-o OUT]
//
// Appends an Ed25519 signature trailer (module/signature_trailer.h) to a
// module. The bytes before it are left as they were, so the signed file is
// still the same ELF object for readelf, nm, objdump and the loader. The
// file is checked to be a module object first, and a file that is already
// signed is refused (sign the unsigned file again instead). The output is
// written to a temporary file and renamed into place, so OUT (FILE.ko itself
// when no -o is given) is never left half written.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "hosted/malloc_allocator.h"
#include "hosted/module_path.h"
#include "hosted/signing_key.h"
#include "module/signature_trailer.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

struct Options {
  std::string key;
  std::string file;
  std::string out;
};

int fail(const std::string& msg) {
  fprintf(stderr, "modkit sign: %s\n", msg.c_str());
  return 1;
}

// Writes data to a temporary file next to `path` with `mode`, then renames it over path.
bool write_replacing(const std::string& path, mode_t mode, const std::vector<uint8_t>& data,
                     std::string* err) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string temp = dir + "/.modkit-sign.XXXXXX";
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    *err = dir + ": " + strerror(errno);
    return false;
  }
  bool ok = fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < data.size()) {
    ssize_t w = write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  ok = fsync(fd) == 0 && ok;
  int saved = errno;
  ok = close(fd) == 0 && ok;
  if (ok && rename(temp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    *err = path + ": " + strerror(saved);
    unlink(temp.c_str());
  }
  return ok;
}

int run_sign(const Options& o) {
  mk::hosted::SecretKey key;
  std::string err;
  if (!mk::hosted::read_secret_key(o.key, &key, &err)) return fail(err);
  std::vector<uint8_t> bytes;
  if (!mk::hosted::read_whole_file(o.file, &bytes, &err)) return fail(err);
  mk::ByteView view(bytes.data(), bytes.size());
  if (mk::module::has_signature_trailer(view)) {
    auto t = mk::module::parse_signature_trailer(view);
    return fail(o.file + ": already signed" +
                (t ? " by key id " + mk::hosted::hex(t.value().key_id, mk::module::kKeyIdSize)
                   : std::string(" (with a damaged trailer: ") + t.error().message() + ")") +
                "; sign the unsigned module instead");
  }
  mk::hosted::MallocAllocator alloc;
  auto obj = mk::elf::validate(view, mk::arch::rules_for, alloc);
  if (!obj) return fail(o.file + ": not a module object: " + obj.error().message());

  std::vector<uint8_t> trailer = mk::hosted::sign_module(bytes, key);
  bytes.insert(bytes.end(), trailer.begin(), trailer.end());
  struct stat st;
  mode_t mode = stat(o.file.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0644;
  const std::string& out = o.out.empty() ? o.file : o.out;
  if (!write_replacing(out, mode, bytes, &err)) return fail(err);
  return 0;
}

}  // namespace

Run add_sign(CLI::App& app) {
  static Options options;  // CLI11 writes into it; lives as long as the process
  Options* o = &options;
  CLI::App* sub = app.add_subcommand("sign", "Sign a module with an Ed25519 key");
  sub->add_option("--key", o->key, "the secret key file (from `modkit keygen`)")->required();
  sub->add_option("FILE", o->file, "the module (.ko) to sign")->required();
  sub->add_option("-o,--output", o->out, "write the signed module here (default: FILE in place)");
  sub->footer(
      "Appends a signature trailer (120 bytes) that names the key by its id and covers\n"
      "every byte before it; the module itself is unchanged, so the signed file is still\n"
      "a valid ELF object. A kernel with `signature_policy = enforce` loads it when its\n"
      "KEY.pub is a `trusted_key`. Refuses a file that is already signed or is not a\n"
      "module object. Prints nothing on success; exit 1 on an error, 2 on a usage error.\n\n"
      "Example:\n"
      "  modkit keygen -o signing.key\n"
      "  modkit sign --key signing.key hello.ko\n"
      "  modkit sign --key signing.key build/modules/echo.ko -o /boot/modules/echo.ko");
  return [o] { return run_sign(*o); };
}

}  // namespace modkit::tool
