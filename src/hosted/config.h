// DaemonConfig: the configuration of the hosted kernel modkitd, read from a
// text file (etc/modkitd.conf is the bundled, documented default).
//
// Format: one `key = value` per line; `#` starts a comment (outside a value's
// first character, a `#` preceded by whitespace also ends the value); blank
// lines are ignored. `${VAR}` and `${VAR:-default}` expand environment
// variables in values (`${UID}` is the real user id when the environment has
// no UID). Relative paths are relative to the directory of the config file.
//
//   module_path = DIR[:DIR...]   where modules and their modkit.hints are (in order)
//   preload = NAME [param=value ...]   load at boot, with dependencies (repeatable)
//   devfs = DIR                  where devfs is mounted (FUSE; hosted/fuse_devfs.h)
//   socket = PATH                the control socket
//   signature_policy = off|warn|enforce
//   trusted_key = PATH           a public key (KEY.pub of `modkit keygen`) whose
//                                signatures the kernel accepts (repeatable)
//   kpi_version = N              the version of the module `kernel`
//   device = BUS [vendor=ID] [device=ID] [compat=S]... [key=value]...
//                                a device on a bus at boot (hosted/devices.h; repeatable)
//
// An unknown key, a missing `=`, a bad value, or a repeated key other than
// preload and trusted_key is an error that names the file and line.
#pragma once

#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

namespace mk::hosted {

enum class SignaturePolicy : uint8_t { kOff, kWarn, kEnforce };
const char* signature_policy_name(SignaturePolicy p);

struct Preload {
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;  // in the order written
  std::string origin;                                       // "FILE:LINE", for messages
};

// Where the control socket is when nothing says otherwise (the bundled
// config says the same): per user, in the runtime directory when there is one.
inline constexpr char kDefaultSocket[] = "${XDG_RUNTIME_DIR:-/tmp}/modkitd-${UID}.sock";

// A `device =` line, checked (hosted/devices.h) and kept as written.
struct DeviceLine {
  std::string text;
  std::string origin;  // "FILE:LINE"
};

struct DaemonConfig {
  std::vector<std::string> module_path;
  std::vector<Preload> preload;
  std::string devfs;  // "" = none
  std::string socket;
  SignaturePolicy signature_policy = SignaturePolicy::kOff;
  std::vector<std::string> trusted_keys;  // paths of public key files
  uint32_t kpi_version = 1;
  std::vector<DeviceLine> devices;  // in the order written
};

// The defaults: no modules, socket at kDefaultSocket (expanded).
DaemonConfig default_config();

// Applies the lines of `text` to *config (later lines override earlier ones;
// preload and trusted_key lines add). `origin` names the text in messages ("FILE" or
// "--option"); `base_dir` anchors relative paths ("" = the current directory).
// False with a message "ORIGIN:LINE: what is wrong" on the first bad line.
bool parse_config(const std::string& text, const std::string& origin, const std::string& base_dir,
                  DaemonConfig* config, std::string* err);

// Reads and parses a config file over `*config`.
bool load_config_file(const std::string& path, DaemonConfig* config, std::string* err);

// ${VAR} / ${VAR:-default} expansion as in config values. False on an
// unterminated ${ or an unset variable without a default.
bool expand_variables(const std::string& in, std::string* out, std::string* err);

// The socket a client uses when not told: $MODKIT_SOCKET, else the `socket`
// of the bundled config ($MODKIT_CONFIG, else `bundled_config`), else
// kDefaultSocket.
std::string default_socket_path(const std::string& bundled_config);

}  // namespace mk::hosted
