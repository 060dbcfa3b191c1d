#include "hosted/config.h"

#include "hosted/devices.h"

#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>

#include "hosted/module_path.h"

namespace mk::hosted {
namespace {

const char kSpace[] = " \t\r";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

// Splits on runs of blanks.
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    i = s.find_first_not_of(kSpace, i);
    if (i == std::string::npos) break;
    size_t e = s.find_first_of(kSpace, i);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(i, e - i));
    i = e;
  }
  return out;
}

// A value up to a comment: `#` at its start or after a blank.
std::string strip_comment(const std::string& line) {
  for (size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
      return line.substr(0, i);
  return line;
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() >= 64) return false;
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

std::string anchored(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

const char* signature_policy_name(SignaturePolicy p) {
  switch (p) {
    case SignaturePolicy::kOff:
      return "off";
    case SignaturePolicy::kWarn:
      return "warn";
    case SignaturePolicy::kEnforce:
      return "enforce";
  }
  return "?";
}

bool expand_variables(const std::string& in, std::string* out, std::string* err) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size() || in[i + 1] != '{') {
      out->push_back(in[i]);
      continue;
    }
    size_t close = in.find('}', i + 2);
    if (close == std::string::npos) {
      *err = "unterminated ${ in \"" + in + "\"";
      return false;
    }
    std::string body = in.substr(i + 2, close - i - 2);
    std::string name = body, fallback;
    bool has_fallback = false;
    if (size_t dash = body.find(":-"); dash != std::string::npos) {
      name = body.substr(0, dash);
      fallback = body.substr(dash + 2);
      has_fallback = true;
    }
    const char* v = getenv(name.c_str());
    if (v != nullptr && *v != '\0') {
      *out += v;
    } else if (name == "UID") {
      *out += std::to_string(getuid());
    } else if (has_fallback) {
      *out += fallback;
    } else {
      *err = "${" + name + "} is not set (write ${" + name + ":-DEFAULT} for a default)";
      return false;
    }
    i = close;
  }
  return true;
}

DaemonConfig default_config() {
  DaemonConfig c;
  std::string err;
  if (!expand_variables(kDefaultSocket, &c.socket, &err)) c.socket = "/tmp/modkitd.sock";
  return c;
}

bool parse_config(const std::string& text, const std::string& origin, const std::string& base_dir,
                  DaemonConfig* config, std::string* err) {
  std::set<std::string> seen;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = trim(strip_comment(text.substr(pos, nl - pos)));
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    std::string where = origin + ":" + std::to_string(line_no) + ": ";
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      *err = where + "expected `key = value`, got \"" + line + "\"";
      return false;
    }
    std::string key = trim(line.substr(0, eq));
    std::string raw = trim(line.substr(eq + 1));
    std::string value;
    std::string why;
    if (!expand_variables(raw, &value, &why)) {
      *err = where + why;
      return false;
    }
    if (key != "preload" && key != "trusted_key" && key != "device" && !seen.insert(key).second) {
      *err = where + "`" + key + "` is set twice";
      return false;
    }
    if (key == "module_path") {
      config->module_path.clear();
      size_t s = 0;
      while (s <= value.size()) {
        size_t colon = value.find(':', s);
        if (colon == std::string::npos) colon = value.size();
        std::string dir = trim(value.substr(s, colon - s));
        if (!dir.empty()) config->module_path.push_back(anchored(dir, base_dir));
        s = colon + 1;
      }
    } else if (key == "preload") {
      std::vector<std::string> w = words(value);
      if (w.empty() || !valid_name(w[0]) || w[0].find('=') != std::string::npos) {
        *err = where + "preload needs a module name, then param=value words";
        return false;
      }
      Preload p;
      p.name = w[0];
      p.origin = origin + ":" + std::to_string(line_no);
      for (size_t i = 1; i < w.size(); ++i) {
        size_t e = w[i].find('=');
        if (e == std::string::npos || e == 0) {
          *err = where + "preload " + p.name + ": \"" + w[i] + "\" is not param=value";
          return false;
        }
        p.params.emplace_back(w[i].substr(0, e), w[i].substr(e + 1));
      }
      config->preload.push_back(std::move(p));
    } else if (key == "devfs") {
      config->devfs = anchored(value, base_dir);
    } else if (key == "socket") {
      if (value.empty()) {
        *err = where + "socket needs a path";
        return false;
      }
      config->socket = anchored(value, base_dir);
    } else if (key == "signature_policy") {
      if (value == "off") {
        config->signature_policy = SignaturePolicy::kOff;
      } else if (value == "warn") {
        config->signature_policy = SignaturePolicy::kWarn;
      } else if (value == "enforce") {
        config->signature_policy = SignaturePolicy::kEnforce;
      } else {
        *err = where + "signature_policy is off, warn or enforce, not \"" + value + "\"";
        return false;
      }
    } else if (key == "trusted_key") {
      if (value.empty()) {
        *err = where + "trusted_key needs the path of a public key file (KEY.pub)";
        return false;
      }
      config->trusted_keys.push_back(anchored(value, base_dir));
    } else if (key == "device") {
      Result<DeviceText> t = parse_device_text(value);
      if (!t) {
        *err = where + t.error().message();
        return false;
      }
      config->devices.push_back(DeviceLine{value, origin + ":" + std::to_string(line_no)});
    } else if (key == "kpi_version") {
      char* end = nullptr;
      unsigned long v = strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v == 0 || v > UINT32_MAX || value[0] == '-') {
        *err = where + "kpi_version is a number from 1 to 4294967295, not \"" + value + "\"";
        return false;
      }
      config->kpi_version = static_cast<uint32_t>(v);
    } else {
      *err = where + "unknown key `" + key +
             "` (known: module_path, preload, devfs, socket, signature_policy, trusted_key, "
             "kpi_version, device)";
      return false;
    }
  }
  return true;
}

bool load_config_file(const std::string& path, DaemonConfig* config, std::string* err) {
  std::vector<uint8_t> bytes;
  std::string why;
  if (!read_whole_file(path, &bytes, &why)) {
    *err = path + ": " + why;
    return false;
  }
  std::string text(bytes.begin(), bytes.end());
  if (text.find('\0') != std::string::npos) {
    *err = path + ": not a text file (contains a NUL byte)";
    return false;
  }
  return parse_config(text, path, dir_of(path), config, err);
}

std::string default_socket_path(const std::string& bundled_config) {
  const char* env = getenv("MODKIT_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  const char* cfg = getenv("MODKIT_CONFIG");
  std::string path = cfg != nullptr && *cfg != '\0' ? cfg : bundled_config;
  DaemonConfig c = default_config();
  std::string err;
  if (!path.empty() && access(path.c_str(), R_OK) == 0) (void)load_config_file(path, &c, &err);
  return c.socket;
}

}  // namespace mk::hosted
