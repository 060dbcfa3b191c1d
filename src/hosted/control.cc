#include "hosted/control.h"

#include <stdarg.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <vector>

namespace mk::hosted::control {

// ---- errors and encoding ----

const char* error_code(Errc code) {
  switch (code) {
    case Errc::kMalformed:
      return "malformed";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kRange:
      return "range";
    case Errc::kUnresolved:
      return "unresolved";
    case Errc::kDuplicate:
      return "exists";
    case Errc::kNoMemory:
      return "no_memory";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kBusy:
      return "busy";
    case Errc::kInvalid:
      return "invalid";
    case Errc::kIo:
      return "io";
    case Errc::kPermission:
      return "permission";
  }
  return "invalid";
}

json error_reply(const std::string& code, const std::string& message) {
  return json{{"ok", false}, {"error", message}, {"code", code}};
}

json error_reply(const Error& e) {
  return error_reply(error_code(e.code()), e.message());
}

bool unsigned_arg(const json& request, const char* key, uint64_t fallback, uint64_t* out,
                  std::string* err) {
  auto it = request.find(key);
  if (it == request.end()) {
    *out = fallback;
    return true;
  }
  if (it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0)) {
    *out = it->get<uint64_t>();
    return true;
  }
  *err = std::string("\"") + key + "\" is an integer from 0 to 2^64-1, not " + it->dump();
  return false;
}

std::string encode(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// ---- credentials ----

bool peer_credentials(int fd, PeerCred* out, std::string* err) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    *err = std::string("SO_PEERCRED: ") + strerror(errno);
    return false;
  }
  out->pid = cred.pid;
  out->uid = cred.uid;
  out->gid = cred.gid;
  return true;
}

bool peer_allowed(const PeerCred& peer, uid_t owner) {
  return peer.uid == owner || peer.uid == 0;
}

// ---- framing ----

LineReader::Status LineReader::next(std::string* line) {
  for (;;) {
    size_t nl = buf_.find('\n', scanned_);
    if (nl != std::string::npos) {
      if (nl + 1 > max_) return Status::kTooLarge;
      line->assign(buf_, 0, nl);
      buf_.erase(0, nl + 1);
      scanned_ = 0;
      return Status::kLine;
    }
    scanned_ = buf_.size();
    if (buf_.size() >= max_) return Status::kTooLarge;
    char chunk[16 * 1024];
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::kError;
    if (n == 0) return Status::kEof;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool Connection::send(const json& message) {
  std::lock_guard<std::mutex> g(mu_);
  return write_all(fd_, encode(message));
}

// ---- server ----

namespace {

bool socket_address(const std::string& path, sockaddr_un* sa, std::string* err) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa->sun_path) {
    *err = "socket path \"" + path + "\" must be 1 to " + std::to_string(sizeof sa->sun_path - 1) +
           " bytes long";
    return false;
  }
  memcpy(sa->sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

struct Server::Client {
  Client(int fd, PeerCred peer) : conn(fd, peer), fd(fd) {}
  Connection conn;
  int fd;
  std::thread thread;
  std::atomic<bool> done{false};
};

Server::Server(std::string path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {}

Server::~Server() {
  stop();
}

bool Server::listen(std::string* err) {
  sockaddr_un sa;
  if (!socket_address(path_, &sa, err)) return false;
  struct stat st;
  if (lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *err = path_ + " exists and is not a socket; not replacing it";
      return false;
    }
    // Somebody there? Connect and see.
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
      *err = std::string("socket: ") + strerror(errno);
      return false;
    }
    if (connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      PeerCred peer;
      std::string why;
      std::string who =
          peer_credentials(probe, &peer, &why) ? " (pid " + std::to_string(peer.pid) + ")" : "";
      close(probe);
      *err = "another modkitd" + who + " is already serving " + path_ +
             "; stop it first (modkit shutdown), or give this one another --socket";
      return false;
    }
    int e = errno;
    close(probe);
    if (e != ECONNREFUSED) {
      *err = path_ + ": cannot tell whether a modkitd is serving it: " + strerror(e);
      return false;
    }
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {  // stale: nobody listens
      *err = path_ + ": cannot remove the stale socket: " + strerror(errno);
      return false;
    }
  }
  // The socket appears at `path` already listening: bound and listening
  // under a temporary name, then hard-linked into place, which fails if
  // anything got there first (another instance starting at the same time).
  // When the temporary name would not fit in sun_path, bind in place.
  std::string tmp = path_ + ".tmp." + std::to_string(getpid());
  sockaddr_un tmp_sa;
  std::string why;
  bool staged = socket_address(tmp, &tmp_sa, &why);
  const std::string& bound = staged ? tmp : path_;
  if (staged) unlink(tmp.c_str());  // a leftover of an earlier process with this pid
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = std::string("socket: ") + strerror(errno);
    return false;
  }
  mode_t old = umask(0177);  // owner read/write only, from the first moment it exists
  int rc = bind(fd, reinterpret_cast<sockaddr*>(staged ? &tmp_sa : &sa), sizeof sa);
  int e = errno;
  umask(old);
  if (rc != 0) {
    close(fd);
    *err = e == EADDRINUSE ? "another modkitd is already serving " + path_
                           : bound + ": bind: " + strerror(e);
    return false;
  }
  if (::listen(fd, 16) != 0 || pipe2(wake_, O_CLOEXEC) != 0) {
    *err = path_ + ": listen: " + strerror(errno);
    close(fd);
    unlink(bound.c_str());
    return false;
  }
  if (staged) {
    rc = ::link(tmp.c_str(), path_.c_str());
    e = errno;
    unlink(tmp.c_str());
    if (rc != 0) {
      close(fd);
      *err = e == EEXIST ? "another modkitd is already serving " + path_
                         : path_ + ": link: " + strerror(e);
      return false;
    }
  }
  listen_fd_ = fd;
  return true;
}

void Server::start() {
  acceptor_ = std::thread([this] { accept_loop(); });
}

void Server::accept_loop() {
  uid_t owner = geteuid();
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0 || stopping_) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    PeerCred peer;
    std::string why;
    if (!peer_credentials(fd, &peer, &why)) {
      write_all(fd, encode(error_reply("peer_refused", "modkitd: " + why)));
      close(fd);
      continue;
    }
    if (!peer_allowed(peer, owner)) {
      write_all(fd,
                encode(error_reply("peer_refused", "modkitd: uid " + std::to_string(peer.uid) +
                                                       " may not use this kernel (it serves uid " +
                                                       std::to_string(owner) + " and root only)")));
      close(fd);
      continue;
    }
    reap(false);
    std::lock_guard<std::mutex> g(mu_);
    if (clients_.size() >= kMaxClients) {
      write_all(fd, encode(error_reply("too_many_clients",
                                       "modkitd: " + std::to_string(kMaxClients) +
                                           " clients are connected already; try again")));
      close(fd);
      continue;
    }
    clients_.push_back(std::make_unique<Client>(fd, peer));
    Client* c = clients_.back().get();
    c->thread = std::thread([this, c] { serve(c); });
  }
}

std::optional<json> answer(const std::string& line, const Handler& handler, Connection& c) {
  json request = json::parse(line, nullptr, false);
  if (request.is_discarded())
    return error_reply("bad_request", "not a JSON object: one JSON object per line");
  if (!request.is_object())
    return error_reply("bad_request",
                       "a request is a JSON object, not " + std::string(request.type_name()));
  if (!request.contains("verb") || !request["verb"].is_string())
    return error_reply("bad_request", "a request needs a string \"verb\"");
  try {
    return handler(request, c);
  } catch (const json::exception& e) {
    return error_reply("bad_request", std::string("bad argument: ") + e.what());
  } catch (const std::exception& e) {  // never let one request take the kernel down
    return error_reply("invalid", std::string("request failed: ") + e.what());
  }
}

void Server::serve(Client* c) {
  LineReader reader(c->fd);
  std::string line;
  for (;;) {
    LineReader::Status st = reader.next(&line);
    if (st == LineReader::Status::kTooLarge) {
      c->conn.send(error_reply("too_large", "request longer than " + std::to_string(kMaxLine) +
                                                " bytes; closing the connection"));
      break;
    }
    if (st != LineReader::Status::kLine) break;
    std::optional<json> reply = answer(line, handler_, c->conn);
    if (!reply) continue;
    if (!c->conn.send(*reply)) break;
  }
  shutdown(c->fd, SHUT_RDWR);  // the client sees the end now; reap() closes the fd
  c->done = true;
}

void Server::reap(bool all) {
  std::list<std::unique_ptr<Client>> gone;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (all || (*it)->done) {
        gone.push_back(std::move(*it));
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : gone) {
    if (c->thread.joinable()) c->thread.join();
    close(c->fd);
  }
}

void Server::stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  if (acceptor_.joinable()) acceptor_.join();
  {
    // No more requests: each client ends after answering the one it is in.
    std::lock_guard<std::mutex> g(mu_);
    for (auto& c : clients_)
      shutdown(c->fd, SHUT_RD);
  }
  reap(true);
  close(listen_fd_);
  listen_fd_ = -1;
  for (int& fd : wake_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  unlink(path_.c_str());
}

// ---- client ----

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

bool Client::connect(const std::string& path, std::string* err) {
  path_ = path;
  std::string prefix = "cannot reach modkitd at " + path + ": ";
  sockaddr_un sa;
  std::string why;
  if (!socket_address(path, &sa, &why)) {
    *err = prefix + why;
    return false;
  }
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *err = prefix + strerror(errno);
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    close(fd_);
    fd_ = -1;
    switch (e) {
      case ENOENT:
        *err = prefix +
               "no such socket (is modkitd running? give its socket with --socket or "
               "$MODKIT_SOCKET)";
        break;
      case ECONNREFUSED:
        *err = prefix + "nobody is listening (modkitd is not running; the socket is stale)";
        break;
      case EACCES:
        *err = prefix + "permission denied (the socket belongs to another user)";
        break;
      default:
        *err = prefix + strerror(e);
    }
    return false;
  }
  reader_ = std::make_unique<LineReader>(fd_, size_t{1} << 30);
  return true;
}

namespace {

// "path = value" of the first floating-point number in v (a JSON pointer
// below `at`), or "" when there is none.
std::string first_float(const json& v, const std::string& at) {
  if (v.is_number_float()) return (at.empty() ? "/" : at) + " = " + v.dump();
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (std::string w = first_float(it.value(), at + "/" + it.key()); !w.empty()) return w;
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      if (std::string w = first_float(v[i], at + "/" + std::to_string(i)); !w.empty()) return w;
  }
  return "";
}

}  // namespace

bool Client::call(const json& request, json* reply, std::string* err) {
  if (fd_ < 0 || !write_all(fd_, encode(request))) {
    // A refusing daemon may have written its reason and closed already.
    if (fd_ >= 0 && read(reply, err)) return true;
    *err = "modkitd at " + path_ + " closed the connection";
    return false;
  }
  if (!read(reply, err)) {
    if (err->empty()) *err = "modkitd at " + path_ + " closed the connection without a reply";
    return false;
  }
  return true;
}

bool Client::read(json* message, std::string* err) {
  err->clear();
  std::string line;
  LineReader::Status st = reader_->next(&line);
  if (st == LineReader::Status::kEof) return false;
  if (st != LineReader::Status::kLine) {
    *err = "reading from modkitd at " + path_ + ": " +
           (st == LineReader::Status::kTooLarge ? std::string("reply too large") : strerror(errno));
    return false;
  }
  *message = json::parse(line, nullptr, false);
  if (message->is_discarded() || !message->is_object()) {
    *err = "modkitd at " + path_ + " sent something that is not a JSON object";
    return false;
  }
  // The protocol has integers only. A float read as an integer is undefined
  // behaviour when out of range, so none gets past here.
  if (std::string where = first_float(*message, ""); !where.empty()) {
    *err = "modkitd at " + path_ + " sent a number that is not an integer (" + where +
           "); is it the same version as this modkit?";
    return false;
  }
  return true;
}

// ---- symbols ----

json symbol_json(const SymbolInfo& s) {
  return json{{"name", s.name},     {"address", s.address},   {"size", s.size},
              {"type", s.type},     {"bind", s.bind},         {"file", s.file},
              {"module", s.module}, {"exported", s.exported}, {"namespace", s.ns}};
}

SymbolInfo symbol_from_json(const json& j) {
  SymbolInfo s;
  s.name = j.value("name", "");
  s.address = j.value("address", uint64_t{0});
  s.size = j.value("size", uint64_t{0});
  s.type = j.value("type", "");
  s.bind = j.value("bind", "");
  s.file = j.value("file", "");
  s.module = j.value("module", "");
  s.exported = j.value("exported", false);
  s.ns = j.value("namespace", "");
  return s;
}

json address_json(const AddressInfo& a, bool found) {
  return json{{"found", found},     {"address", a.address},     {"file", a.file},
              {"module", a.module}, {"section", a.section},     {"symbol", a.symbol},
              {"offset", a.offset}, {"in_module", a.in_module}, {"text", a.text}};
}

bool address_from_json(const json& j, AddressInfo* out) {
  out->address = j.value("address", uint64_t{0});
  out->file = j.value("file", "");
  out->module = j.value("module", "");
  out->section = j.value("section", "");
  out->symbol = j.value("symbol", "");
  out->offset = j.value("offset", uint64_t{0});
  out->in_module = j.value("in_module", false);
  out->text = j.value("text", "");
  return j.value("found", false);
}

// ---- text forms ----

namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w)
    out.push_back(w);
  return out;
}

std::string hex(uint64_t v, int width) {
  char b[32];
  snprintf(b, sizeof b, "%0*llx", width, static_cast<unsigned long long>(v));
  return b;
}

std::string pad_left(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string join(const json& list, const char* sep) {
  std::string out;
  for (const json& x : list) {
    if (!out.empty()) out += sep;
    out += x.is_string() ? x.get<std::string>() : x.dump();
  }
  return out;
}

}  // namespace

json verb_help() {
  return json{
      {"load",
       "load NAME|FILE.ko [param=value...]  load a module (by name: through the hints "
       "index, dependencies first) or a file"},
      {"unload",
       "unload NAME [--wait SECONDS|--defer] [--cascade]  unload the file of module NAME"},
      {"stat", "stat [-v]  the loaded files (and with -v their modules), like kldstat"},
      {"devices", "devices  the bus tree: each device, its identity and its driver"},
      {"device_add",
       "device_add BUS [vendor=ID] [device=ID] [compat=S]... [key=value]...  hot-plug a "
       "device; its driver's module is loaded from the hints if need be"},
      {"device_remove", "device_remove BUS:UNIT  hot-unplug a device (its driver detaches first)"},
      {"sym",
       "sym NAME | sym 0xADDR | sym --ksyms FILE  where a symbol is, who owns an address, "
       "or write the ksyms image"},
      {"params",
       "params [MODULE] [name=value...]  the tunables of loaded modules (one module's), or set "
       "some of MODULE's"},
      {"log", "log  the kernel's log"},
      {"shutdown", "shutdown  SHUTDOWN to every module (dependents first), unload all, exit"},
      {"ping", "ping  is the kernel there (its pid and protocol version)"},
      {"help", "help  this list"},
  };
}

bool parse_command(const std::string& line, json* request, std::string* err) {
  std::vector<std::string> w = split_words(line);
  if (w.empty()) {
    *err = "empty command";
    return false;
  }
  const std::string& verb = w[0];
  json r = {{"verb", verb}};
  json help = verb_help();
  // The console accepts exactly the verbs its help lists.
  if (!help.contains(verb)) {
    *err = "unknown command \"" + verb + "\" (try help)";
    return false;
  }
  auto usage = [&](const std::string& why) {
    *err = why + "; usage: " + (help.contains(verb) ? help[verb].get<std::string>() : verb);
    return false;
  };
  if (verb == "load") {
    if (w.size() < 2) return usage("load needs a module");
    const std::string& target = w[1];
    bool is_path = target.find('/') != std::string::npos ||
                   (target.size() > 3 && target.compare(target.size() - 3, 3, ".ko") == 0);
    r[is_path ? "path" : "name"] = target;
    json params = json::object();
    for (size_t i = 2; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      if (eq == std::string::npos || eq == 0) return usage("\"" + w[i] + "\" is not param=value");
      params[w[i].substr(0, eq)] = w[i].substr(eq + 1);
    }
    if (!params.empty()) r["params"] = params;
  } else if (verb == "unload") {
    if (w.size() < 2) return usage("unload needs a module name");
    r["name"] = w[1];
    r["policy"] = "refuse";
    for (size_t i = 2; i < w.size(); ++i) {
      if (w[i] == "--cascade") {
        r["cascade"] = true;
      } else if (w[i] == "--defer") {
        r["policy"] = "defer";
      } else if (w[i] == "--wait" && i + 1 < w.size()) {
        char* end = nullptr;
        double s = strtod(w[i + 1].c_str(), &end);
        if (*end != '\0' || !(s >= 0) || s > 86400) return usage("--wait takes seconds");
        r["policy"] = "wait";
        r["timeout_ms"] = static_cast<uint64_t>(s * 1000);
        ++i;
      } else {
        return usage("unknown option \"" + w[i] + "\"");
      }
    }
  } else if (verb == "stat") {
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i] != "-v") return usage("unknown option \"" + w[i] + "\"");
      r["verbose"] = true;
    }
  } else if (verb == "sym") {
    if (w.size() == 3 && w[1] == "--ksyms") {
      r["ksyms"] = w[2];
    } else if (w.size() == 2 && w[1].rfind("0x", 0) == 0) {
      char* end = nullptr;
      uint64_t a = strtoull(w[1].c_str(), &end, 16);
      if (*end != '\0') return usage("\"" + w[1] + "\" is not an address");
      r["address"] = a;
    } else if (w.size() == 2) {
      r["name"] = w[1];
    } else {
      return usage("sym takes one name or address");
    }
  } else if (verb == "params") {
    // As `modkit params`: [MODULE] first, then name=value settings of it.
    json set = json::object();
    for (size_t i = 1; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      if (eq == std::string::npos && i == 1) {
        r["module"] = w[i];
        continue;
      }
      if (eq == std::string::npos || eq == 0)
        return usage("\"" + w[i] + "\" is not name=value (the module comes first)");
      set[w[i].substr(0, eq)] = w[i].substr(eq + 1);
    }
    if (!set.empty()) {
      if (!r.contains("module")) return usage("name the module whose tunables to set first");
      r["set"] = set;
    }
  } else if (verb == "device_add") {
    if (w.size() < 2) return usage("device_add needs a bus");
    std::string spec;
    for (size_t i = 1; i < w.size(); ++i)
      spec += (i > 1 ? " " : "") + w[i];
    r["spec"] = spec;
  } else if (verb == "device_remove") {
    if (w.size() != 2) return usage("device_remove takes one device");
    r["name"] = w[1];
  } else if (verb == "devices" || verb == "log" || verb == "shutdown" || verb == "help" ||
             verb == "ping") {
    if (w.size() > 1) return usage(verb + " takes no arguments");
  } else {
    // In the help but without a parser here: a verb of the socket protocol
    // the console cannot type (none today).
    *err = "the console cannot send \"" + verb + "\"; use the modkit command";
    return false;
  }
  *request = r;
  return true;
}

std::string format_stat(const json& reply, bool verbose) {
  std::string out = "Id Refs Address                Size Name\n";
  std::map<uint64_t, std::string> names;
  for (const json& f : reply.value("files", json::array()))
    names[f.value("id", uint64_t{0})] = f.value("name", "?");
  for (const json& f : reply.value("files", json::array())) {
    out += pad_left(std::to_string(f.value("id", 0)), 2) + " " +
           pad_left(std::to_string(f.value("refs", 0)), 4) + " 0x" +
           hex(f.value("address", uint64_t{0}), 16) + " " +
           pad_left(hex(f.value("size", uint64_t{0}), 1), 8) + " " + f.value("name", "?");
    std::string notes;
    if (f.value("state", "LIVE") != "LIVE") notes += f.value("state", "?");
    if (f.value("deferred", false))
      notes += notes.empty() ? "unload deferred" : ", unload deferred";
    if (!notes.empty()) out += " (" + notes + ")";
    out += "\n";
    if (!verbose) continue;
    std::string uses;
    for (const json& u : f.value("uses", json::array())) {
      uint64_t id = u.get<uint64_t>();
      if (!uses.empty()) uses += ", ";
      uses += (names.count(id) ? names[id] : "?") + " (" + std::to_string(id) + ")";
    }
    if (!uses.empty()) out += "\tUses: " + uses + "\n";
    if (f.value("autoloaded", false)) out += "\tLoaded as a dependency\n";
    out += "\tContained modules:\n\t\tVersion State      Refs Name\n";
    for (const json& m : f.value("modules", json::array()))
      out += "\t\t" + pad_left(std::to_string(m.value("version", 0)), 7) + " " +
             pad_right(m.value("state", "?"), 10) + " " +
             pad_left(std::to_string(m.value("refs", 0)), 4) + " " + m.value("name", "?") + "\n";
  }
  return out;
}

std::string format_graph(const json& reply) {
  std::string out =
      "// modkit: the loaded files and their modules; an edge A -> B means A uses B\n"
      "// (A's dependencies are satisfied by B, and B cannot go while A is loaded).\n"
      "// Dashed: loaded only as a dependency.\n"
      "digraph modkit {\n"
      "  rankdir=BT;\n"
      "  node [shape=box, fontname=\"monospace\"];\n";
  for (const json& f : reply.value("files", json::array())) {
    std::string label = f.value("name", "?") + " (" + std::to_string(f.value("id", 0)) + ")";
    for (const json& m : f.value("modules", json::array()))
      label += "\n" + m.value("name", "?") + " v" + std::to_string(m.value("version", 0));
    out += "  f" + std::to_string(f.value("id", 0)) + " [label=" + dot_quote(label);
    if (f.value("autoloaded", false)) out += ", style=dashed";
    if (f.value("id", 0) == 0) out += ", style=bold";
    out += "];\n";
  }
  for (const json& f : reply.value("files", json::array()))
    for (const json& u : f.value("uses", json::array()))
      out += "  f" + std::to_string(f.value("id", 0)) + " -> f" +
             std::to_string(u.get<uint64_t>()) + ";\n";
  return out + "}\n";
}

std::string format_params(const json& reply) {
  std::string out;
  for (const json& t : reply.value("tunables", json::array())) {
    out += t.value("module", "?") + "." + t.value("name", "?") + " = " + t.value("value", "") +
           "  (" + t.value("type", "?") + ", default " + t.value("default", "") + ")";
    std::string d = t.value("description", "");
    if (!d.empty()) out += "  " + d;
    out += "\n";
  }
  return out;
}

namespace {

std::string hex0x(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// "vendor=0x1af4 device=0x1001 compat=acme,widget label=x"
std::string device_identity(const json& d) {
  std::string s =
      "vendor=" + hex0x(d.value("vendor", 0u)) + " device=" + hex0x(d.value("device", 0u));
  for (const json& c : d.value("compat", json::array()))
    s += " compat=" + c.get<std::string>();
  std::string args = d.value("args", std::string());
  if (!args.empty()) s += " " + args;
  return s;
}

std::string printf_string(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

}  // namespace

std::string format_devices(const json& reply) {
  std::string out;
  for (const json& b : reply.value("buses", json::array())) {
    std::string bus = b.get<std::string>();
    out += bus + "\n";
    for (const json& d : reply.value("devices", json::array())) {
      if (d.value("bus", std::string()) != bus) continue;
      std::string who = !d.contains("instance") || d["instance"].is_null()
                            ? std::string("(no driver)")
                            : d["instance"].get<std::string>() + " (module " +
                                  d.value("module", std::string("?")) + ")";
      out += printf_string("  %-10s %-24s %s\n", d.value("name", std::string()).c_str(),
                           who.c_str(), device_identity(d).c_str());
    }
  }
  json drivers = reply.value("drivers", json::array());
  if (drivers.empty()) return out;
  out += "drivers\n";
  for (const json& d : drivers)
    out += printf_string("  %-10s on %s, priority %u, module %s, %u device(s)\n",
                         d.value("name", std::string()).c_str(),
                         d.value("bus", std::string()).c_str(), d.value("priority", 0u),
                         d.value("module", std::string()).c_str(), d.value("attached", 0u));
  return out;
}

std::string format_reply(const json& request, const json& reply) {
  if (!reply.value("ok", false))
    return "error: " + reply.value("error", std::string("?")) + " (" +
           reply.value("code", std::string("?")) + ")\n";
  std::string verb = request.value("verb", "");
  if (verb == "stat") return format_stat(reply, request.value("verbose", false));
  if (verb == "shutdown") return "";  // the console shows the kernel's log as it is written
  if (verb == "log") {
    std::string out;
    for (const json& l : reply.value("lines", json::array()))
      out += l.get<std::string>() + "\n";
    return out;
  }
  if (verb == "load") {
    std::vector<std::string> deps;
    std::string file = reply.value("file", json::object()).value("name", "?");
    for (const json& f : reply.value("loaded", json::array()))
      if (f.value("name", "") != file) deps.push_back(f.value("name", "?"));
    std::string out = "loaded " + file;
    if (!deps.empty()) out += " with " + join(json(deps), ", ");
    return out + "\n";
  }
  if (verb == "unload") {
    if (reply.value("result", "") == "deferred")
      return "unload deferred until the last reference goes\n";
    return "unloaded " + join(reply.value("unloaded", json::array()), ", ") + "\n";
  }
  if (verb == "params") return request.contains("set") ? "" : format_params(reply);
  if (verb == "devices") return format_devices(reply);
  if (verb == "device_add") {
    json d = reply.value("device", json());
    std::string out;
    if (!reply.value("autoload_error", std::string()).empty())
      out += "no driver: loading " + reply.value("autoload", std::string()) +
             " failed: " + reply.value("autoload_error", std::string()) + "\n";
    if (d.is_object()) {
      out += d.value("name", std::string("?")) + ": ";
      out += !d.contains("instance") || d["instance"].is_null()
                 ? std::string("no driver")
                 : "attached " + d["instance"].get<std::string>();
      out += "\n";
    }
    for (const json& f : reply.value("loaded", json::array()))
      out += "loaded " + f.get<std::string>() + "\n";
    return out;
  }
  if (verb == "device_remove") return request.value("name", std::string("?")) + ": removed\n";
  if (verb == "help") {
    std::string out;
    json verbs = reply.value("verbs", json::object());  // items() needs it alive
    for (auto& [k, v] : verbs.items())
      out += "  " + v.get<std::string>() + "\n";
    return out + "  (end of input, SIGINT or SIGTERM: shutdown)\n";
  }
  if (verb == "sym") {
    if (reply.contains("path")) return "wrote " + reply.value("path", "") + "\n";
    if (reply.contains("symbols")) {
      std::string out;
      for (const json& j : reply["symbols"]) {
        SymbolInfo s = symbol_from_json(j);
        out += "0x" + hex(s.address, 16) + " " + pad_left(std::to_string(s.size), 8) + " " +
               pad_right(s.type, 6) + " " + pad_right(s.bind, 6) + " " + s.name + " [" +
               (s.module.empty() ? s.file : s.module) + "]" + (s.exported ? " exported" : "") +
               (s.ns.empty() ? "" : " namespace " + s.ns) + "\n";
      }
      return out.empty() ? "no such symbol\n" : out;
    }
    AddressInfo a;
    if (!address_from_json(reply, &a)) return "not in the kernel or any loaded file\n";
    return "0x" + hex(a.address, 16) + " " + a.text +
           (a.section.empty() ? "" : " section " + a.section) + " file " + a.file + "\n";
  }
  if (verb == "ping")
    return "modkitd pid " + std::to_string(reply.value("pid", 0)) + ", protocol " +
           std::to_string(reply.value("protocol", 0)) + "\n";
  return "ok\n";
}

}  // namespace mk::hosted::control
