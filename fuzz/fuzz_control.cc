// Fuzzer: the control socket's request side (hosted/control.h) as modkitd
// runs it: the input is split into lines like a client's stream (LineReader
// over a socket, max line 4 KiB here), each line answered by control::answer()
// with modkitd's KernelService over the sample modules (load, unload, stat,
// sym, log, shutdown), and parsed as a console command (parse_command).
// (The stream is a socket pair, as a client's connection is.)
// The harness keeps the fuzzer's host safe and quick, and changes nothing
// else: a load "path" keeps only its last component (searched in the module
// path; no FIFO or device is ever opened), a ksyms path is redirected to a
// scratch file, an unload waits at most 10 ms. Properties:
// - no request throws past answer() or takes the kernel down;
// - every reply is an object with a boolean "ok"; a refusal has a non-empty
//   "error" and a "code" listed in kErrorCodes; encode() gives one line;
// - LineReader's lines are the input's lines, none longer than its limit;
// - a console command either parses to an object with a string "verb", or
//   says why not;
// - after the input, unloading every file by name with cascade leaves only
//   the kernel image, unless a device refuses to detach from its driver
//   (simdrv's busy=yes widget): then an unload says so, and shutdown takes
//   everything down (nothing leaks: LeakSanitizer).
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fuzz/check.h"
#include "hosted/config.h"
#include "hosted/control.h"
#include "kernel_service.h"

#ifndef MODKIT_FUZZ_MODULE_DIR
#error "MODKIT_FUZZ_MODULE_DIR: the sample modules' directory"
#endif

using namespace mk::hosted;
using control::json;

namespace {

constexpr size_t kMaxLine = 4096;

void CheckReply(const std::string& line, const json& reply) {
  FUZZ_CHECK(reply.is_object() && reply.contains("ok") && reply["ok"].is_boolean(),
             "request %s: reply %s", line.c_str(), reply.dump().c_str());
  if (!reply["ok"].get<bool>()) {
    FUZZ_CHECK(reply.contains("error") && reply["error"].is_string() &&
                   !reply["error"].get<std::string>().empty(),
               "request %s: refusal without a message: %s", line.c_str(), reply.dump().c_str());
    FUZZ_CHECK(reply.contains("code") && reply["code"].is_string(), "request %s: no code: %s",
               line.c_str(), reply.dump().c_str());
    bool known = false;
    for (const char* c : control::kErrorCodes)
      known = known || reply["code"].get<std::string>() == c;
    FUZZ_CHECK(known, "request %s: code %s is not in kErrorCodes", line.c_str(),
               reply["code"].dump().c_str());
  }
  std::string wire = control::encode(reply);
  FUZZ_CHECK(!wire.empty() && wire.back() == '\n' && wire.find('\n') == wire.size() - 1,
             "encode() gives more than one line for %s", line.c_str());
}

// What the harness changes in a request before the kernel sees it.
void Tame(json& r) {
  if (r.contains("path") && r["path"].is_string()) {
    std::string p = r["path"].get<std::string>();
    size_t slash = p.rfind('/');
    if (slash != std::string::npos) r["path"] = p.substr(slash + 1);
  }
  if (r.contains("ksyms") && r["ksyms"].is_string())
    r["ksyms"] = "/tmp/modkit-fuzz-ksyms-" + std::to_string(getpid());
  if (r.contains("timeout_ms") && r["timeout_ms"].is_number() && r["timeout_ms"].get<double>() > 10)
    r["timeout_ms"] = 10;
}

// The input's lines as LineReader reads them from a stream.
std::vector<std::string> Lines(const uint8_t* data, size_t size) {
  int fds[2];
  FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0, "socketpair: %s", strerror(errno));
  // All of it is written before anything is read: at most what the socket
  // buffers (a few hundred KiB by default) holds.
  size_t n = size < (size_t{1} << 16) ? size : (size_t{1} << 16);
  FUZZ_CHECK(control::write_all(fds[1], std::string(reinterpret_cast<const char*>(data), n)),
             "write to the socket");
  close(fds[1]);
  control::LineReader reader(fds[0], kMaxLine);
  std::vector<std::string> lines;
  std::string line, seen;
  for (;;) {
    control::LineReader::Status st = reader.next(&line);
    if (st != control::LineReader::Status::kLine) {
      FUZZ_CHECK(st != control::LineReader::Status::kError, "LineReader error");
      break;
    }
    FUZZ_CHECK(line.size() < kMaxLine && line.find('\n') == std::string::npos,
               "a line of %zu bytes", line.size());
    seen += line + "\n";
    lines.push_back(line);
  }
  close(fds[0]);
  FUZZ_CHECK(seen.size() <= n && memcmp(seen.data(), data, seen.size()) == 0,
             "the lines read are not the input's");
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> lines = Lines(data, size);
  DaemonConfig config = default_config();
  config.module_path = {MODKIT_FUZZ_MODULE_DIR};
  modkitd::KernelService kernel(config, "fuzz", nullptr);
  std::string err;
  FUZZ_CHECK(kernel.boot(&err), "boot: %s", err.c_str());
  control::Connection conn(-1, control::PeerCred{});
  control::Handler handler = [&](const json& request, control::Connection&) {
    json r = request;
    Tame(r);
    return kernel.handle(r, nullptr);
  };
  for (const std::string& line : lines) {
    std::optional<json> reply = control::answer(line, handler, conn);
    FUZZ_CHECK(reply.has_value(), "no reply to %s (only a stream answers itself)", line.c_str());
    CheckReply(line, *reply);
    json request;
    std::string why;
    if (control::parse_command(line, &request, &why))
      FUZZ_CHECK(request.is_object() && request.contains("verb") && request["verb"].is_string(),
                 "console command %s parsed to %s", line.c_str(), request.dump().c_str());
    else
      FUZZ_CHECK(!why.empty(), "console command %s refused without a reason", line.c_str());
  }
  // Unload everything that is left, by module name with cascade, newest file
  // first, until a round changes nothing. Files may stay only while a device
  // refuses to detach from their driver (a busy=yes widget of simdrv): one
  // of the last refusals says so, and shutdown then takes everything down.
  std::vector<std::string> refusals;
  for (int round = 0; round < 64; ++round) {
    json stat = *kernel.handle(json{{"verb", "stat"}}, nullptr);
    if (!stat["ok"].get<bool>()) break;  // shut down already
    const json& files = stat["files"];
    if (files.size() <= 1) break;
    refusals.clear();
    bool progress = false;
    for (size_t i = files.size(); i-- > 1 && !progress;) {
      FUZZ_CHECK(!files[i]["modules"].empty(), "file %s declares no module",
                 files[i].dump().c_str());
      json u = *kernel.handle(
          json{{"verb", "unload"}, {"name", files[i]["modules"][0]["name"]}, {"cascade", true}},
          nullptr);
      progress = u["ok"].get<bool>();
      if (!progress) refusals.push_back(u.dump());
    }
    if (!progress) break;
  }
  json stat = *kernel.handle(json{{"verb", "stat"}}, nullptr);
  if (stat["ok"].get<bool>() && stat["files"].size() > 1) {
    bool busy_device = false;
    for (const std::string& r : refusals)
      busy_device = busy_device || r.find("refuses to detach") != std::string::npos;
    FUZZ_CHECK(busy_device, "%zu files left: %s\nrefusals: %s", stat["files"].size(),
               stat.dump().c_str(), refusals.empty() ? "none" : refusals.back().c_str());
    json down = *kernel.handle(json{{"verb", "shutdown"}}, nullptr);
    FUZZ_CHECK(down["ok"].get<bool>(), "shutdown: %s", down.dump().c_str());
    json after = *kernel.handle(json{{"verb", "stat"}}, nullptr);
    FUZZ_CHECK(!after["ok"].get<bool>() || after["files"].size() <= 1,
               "after shutdown %zu files are left: %s", after["files"].size(),
               after.dump().c_str());
  }
  return 0;
}
