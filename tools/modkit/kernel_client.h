// What the verbs that talk to a running kernel share: the socket options,
// one request and its reply with the error reporting and exit statuses of
// kernel_verbs.cc, and JSON output.
//
// Exit status: 0 done; 1 the kernel refused the request (the reason on
// stderr); 2 usage; 3 the kernel cannot be reached or refused the connection.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "hosted/control.h"

namespace modkit::tool {

inline constexpr int kRefused = 1;
inline constexpr int kUsage = 2;
inline constexpr int kUnreachable = 3;

// The footer line every kernel verb ends its --help with.
extern const char kExitCodes[];

struct Common {
  std::string socket;
  bool json_out = false;
  bool verbose = false;
};

// --socket, and --json / -v when asked for.
void add_common(CLI::App* sub, Common* c, bool json_flag, bool verbose_flag);

// Sends one request; on failure prints why ("modkit VERB: ...") and returns
// the exit status. A client may be given to keep the connection (streams).
int call(const char* verb, const Common& c, const mk::hosted::control::json& request,
         mk::hosted::control::json* reply, mk::hosted::control::Client* client = nullptr);

void print_json(const mk::hosted::control::json& j);

}  // namespace modkit::tool
