// The control socket of the hosted kernel: how `modkit` (and anything else)
// talks to a running modkitd. Shared by the daemon (Server) and its clients
// (Client), with the text forms both print (stat tables, the graph, console
// commands).
//
// Transport: an AF_UNIX stream socket, created owner-only (0600). On accept
// the server reads the peer's credentials (SO_PEERCRED); a peer that is
// neither the daemon's user nor root gets one error reply, code
// "peer_refused", and is disconnected.
//
// Framing: one JSON object per line, UTF-8, each way. A request line is at
// most kMaxLine bytes with its newline; a longer one gets a "too_large" error
// and the connection is closed (the rest of the line cannot be framed). A line
// that is not JSON, not an object, or has no string "verb" gets "bad_request";
// an unknown verb gets "unknown_verb"; the connection stays usable after both.
// Requests on one connection are answered in order, one reply each (except
// `log` with "follow", which streams).
//
// Requests ({"verb": V, ...}) and their replies ({"ok": true, ...}):
//   ping                       {"protocol": 1, "pid": N, "uid": N}
//   help                       {"verbs": {"load": "usage text", ...}}
//   load   {"name": M} | {"path": P}, "params": {"k": "v"}?
//          M: a module, found through the hints index, dependencies first;
//          P: a .ko (absolute, or searched in the module path)
//                              {"file": FILE, "loaded": [FILE...]} (every file
//                              this request loaded, dependencies included)
//   unload {"name": M, "policy": "refuse"|"wait"|"defer", "timeout_ms": N,
//           "cascade": bool}   {"result": "done"|"deferred", "unloaded": [NAME...]}
//   stat                       {"files": [FILE...]} in load order, file 0 the kernel
//   log    {"since": N?, "follow": bool?}
//                              {"lines": [TEXT...], "next": N}; with follow, more
//                              such replies as lines are logged, until the daemon
//                              goes down (then the socket closes)
//   sym    {"name": S} | {"address": N} | {"ksyms": PATH}
//          S: every symbol of that name {"symbols": [SYMBOL...]} (maybe none);
//          N: its owner and nearest symbol {"found": bool, ADDRESS...};
//          PATH (absolute): writes the ksyms image there {"path": PATH}
//   devices                    {"buses": [NAME...], "devices": [DEVICE...],
//                              "drivers": [DRIVER...]} (hosted/devices.h)
//   device_add {"spec": "BUS [vendor=ID] [device=ID] [compat=S]... [key=value]..."}
//                              {"device": DEVICE, "autoload": MODULE or "",
//                              "autoload_error": TEXT?, "loaded": [FILE...]}: the
//                              device, the module the hints index named when no
//                              driver took it, and the files that load brought in
//   device_remove {"name": "BUS:UNIT"}  {} (its driver detaches first; may refuse: busy)
//   params {"module": M?, "set": {"name": "value"}?}
//                              {"tunables": [{"module", "name", "type", "value",
//                              "default", "description"}...]} (every loaded
//                              module's, or M's); "set" (needs M) sets them in
//                              order, stopping at the first refused one
//   shutdown                   {"log": [TEXT...]} what the shutdown logged, sent
//                              once every module got SHUTDOWN and every file is
//                              unloaded; the daemon then exits
//   FILE = {"id", "name", "state", "refs" (1 + files holding it, as kldstat),
//           "holders", "address", "size", "autoloaded", "deferred",
//           "uses": [ID...], "modules": [{"name", "version", "state", "refs"}]}
//   DEVICE = {"name", "bus", "unit", "vendor", "device", "compat": [S...], "args",
//             "driver", "instance", "module"} (the last three null when unattached)
//   DRIVER = {"name", "bus", "priority", "module", "attached"}
//   SYMBOL = {"name", "address", "size", "type", "bind", "file", "module", "exported",
//             "namespace"}
//   ADDRESS = {"address", "file", "module", "section", "symbol", "offset",
//              "in_module", "text"} (hosted/symbols.h)
//
// Errors: {"ok": false, "error": "what went wrong, in words", "code": C},
// where C is one of kErrorCodes: a registry error's category (busy,
// not_found, exists, ...) or a protocol one (bad_request, too_large,
// unknown_verb, peer_refused, shutting_down, unsupported).
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "hosted/symbols.h"
#include "support/error.h"

namespace mk::hosted::control {

using json = nlohmann::json;

inline constexpr int kProtocol = 1;
inline constexpr size_t kMaxLine = 64 * 1024;
inline constexpr size_t kMaxClients = 32;

inline constexpr const char* kErrorCodes[] = {"bad_request",  "too_large",     "unknown_verb",
                                              "peer_refused", "shutting_down", "too_many_clients",
                                              "malformed",    "unsupported",   "range",
                                              "unresolved",   "exists",        "no_memory",
                                              "not_found",    "busy",          "invalid",
                                              "io",           "permission"};

// The protocol code of a registry error category.
const char* error_code(Errc code);
json error_reply(const std::string& code, const std::string& message);
json error_reply(const Error& e);

// A request's unsigned integer argument `key`: `fallback` when it is absent.
// Anything but a JSON integer from 0 to UINT64_MAX (a fraction, 1e30, -1, a
// string) is refused with *err naming the key: converting such a number
// would be undefined, not merely wrong.
bool unsigned_arg(const json& request, const char* key, uint64_t fallback, uint64_t* out,
                  std::string* err);

// One line of JSON: never throws (invalid UTF-8 is replaced), ends in '\n'.
std::string encode(const json& message);

// ---- credentials ----

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The peer of a connected AF_UNIX socket (SO_PEERCRED).
bool peer_credentials(int fd, PeerCred* out, std::string* err);
// Who may use a daemon run by `owner`: the same user, or root.
bool peer_allowed(const PeerCred& peer, uid_t owner);

// ---- framing ----

class LineReader {
 public:
  enum class Status { kLine, kEof, kTooLarge, kError };
  // max: the longest line, newline included (clients read longer replies).
  explicit LineReader(int fd, size_t max = kMaxLine) : fd_(fd), max_(max) {}
  // The next line without its newline. kTooLarge after `max` bytes
  // without one; kEof on a clean end (a last line without newline is
  // dropped: a request is not complete until its newline).
  Status next(std::string* line);

 private:
  int fd_;
  size_t max_;
  std::string buf_;
  size_t scanned_ = 0;
};

// Writes all of `s` (no SIGPIPE); false when the peer is gone.
bool write_all(int fd, const std::string& s);

// ---- server ----

// One client connection, as the request handler sees it.
class Connection {
 public:
  Connection(int fd, PeerCred peer) : fd_(fd), peer_(peer) {}
  const PeerCred& peer() const { return peer_; }
  // Sends one message; false when the client is gone.
  bool send(const json& message);

 private:
  std::mutex mu_;
  int fd_;
  PeerCred peer_;
};

// Answers one request (an object with a string "verb"). Returns the reply,
// or nothing when it sent its replies itself (a stream). May throw
// json::exception for a field of the wrong type: that becomes bad_request.
using Handler = std::function<std::optional<json>(const json& request, Connection& c)>;

// The server's answer to one request line (without its newline): the
// framing errors above (bad_request), else what `handler` returns, its
// exceptions turned into error replies. Never throws.
std::optional<json> answer(const std::string& line, const Handler& handler, Connection& c);

class Server {
 public:
  Server(std::string path, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the socket, owner-only. Refuses when a server already answers
  // at `path` (naming its pid), or when `path` exists and is not a socket;
  // a socket file nobody listens on is stale and removed.
  bool listen(std::string* err);
  // Serves in a thread of its own, a thread per client, until stop().
  void start();
  // Stops accepting, ends every connection (after the request it is in),
  // joins the threads and removes the socket file.
  void stop();
  const std::string& path() const { return path_; }

 private:
  struct Client;
  void accept_loop();
  void serve(Client* c);
  void reap(bool all);

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // stop() writes here to end accept_loop
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::unique_ptr<Client>> clients_;
};

// ---- client ----

class Client {
 public:
  Client() = default;
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // False with "cannot reach modkitd at PATH: why".
  bool connect(const std::string& path, std::string* err);
  // Sends a request and reads its reply. False (with a message) when the
  // daemon is unreachable or closed the connection without a reply.
  bool call(const json& request, json* reply, std::string* err);
  // The next message (streams). False at the end of the stream.
  bool read(json* message, std::string* err);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::unique_ptr<LineReader> reader_;
  std::string path_;
};

// ---- symbols (hosted/symbols.h) as protocol data ----

json symbol_json(const SymbolInfo& s);
SymbolInfo symbol_from_json(const json& j);
json address_json(const AddressInfo& a, bool found);
// False when the reply says the address was not found.
bool address_from_json(const json& j, AddressInfo* out);

// ---- text forms (the console and the modkit command print the same) ----

// A console line ("load NAME [k=v...]", "unload NAME [--wait S|--defer]
// [--cascade]", "stat [-v]", "sym NAME|0xADDR", "params [MODULE] [k=v...]",
// "devices", "device_add BUS [k=v...]", "device_remove BUS:UNIT", "log",
// "shutdown", "help", "ping") as a request. False with a usage
// message. It accepts exactly the verbs verb_help() lists.
bool parse_command(const std::string& line, json* request, std::string* err);
// kldstat -v: Id Refs Address Size Name, and with verbose the modules.
std::string format_stat(const json& stat_reply, bool verbose);
// The dependency graph (files, their modules, who uses whom) as Graphviz DOT.
std::string format_graph(const json& stat_reply);
// A params reply as `modkit params` prints it: "module.name = value  (type,
// default D)  description" per tunable.
std::string format_params(const json& params_reply);
// A devices reply as `modkit devices` prints it: each bus, its devices (name,
// driver instance and module or "(no driver)", ids, compat strings, attach
// arguments), then the drivers.
std::string format_devices(const json& devices_reply);
// What the console prints for a reply to `request`.
std::string format_reply(const json& request, const json& reply);
// The help text of the console (and of the help verb).
json verb_help();

}  // namespace mk::hosted::control
