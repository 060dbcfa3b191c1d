// modkitd [-c CONFIG] [--socket PATH] [--foreground] [-o KEY=VALUE...]
//
// The hosted modkit kernel: boots a module system in this process from a
// config (hosted/config.h; etc/modkitd.conf is the bundled default), preloads
// modules with their dependencies, and serves the control socket
// (hosted/control.h) that the `modkit` command talks to; in the foreground on
// a terminal, also a console with the same commands. SIGTERM, SIGINT, the end
// of the console's input or a `shutdown` request shut it down in order
// (SHUTDOWN events dependents first, every file unloaded), remove the socket
// and exit 0; so does SIGHUP in the foreground (the terminal is gone).
//
// Without --foreground it detaches, and the starting command returns once the
// socket is served (exit 0), or with the reason it could not start (exit 1).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "hosted/config.h"
#include "hosted/control.h"
#include "kernel_service.h"

namespace {

namespace control = mk::hosted::control;
using control::json;

constexpr int kStartFailed = 1;
constexpr int kUsage = 2;

int g_event_pipe[2] = {-1, -1};  // signals and shutdown requests wake the main loop

void on_signal(int) {
  int saved = errno;
  (void)!write(g_event_pipe[1], "T", 1);
  errno = saved;
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

std::string cwd_or_empty() {
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof cwd) != nullptr ? cwd : "";
}

json config_json(const mk::hosted::DaemonConfig& c) {
  json preload = json::array();
  for (const mk::hosted::Preload& p : c.preload) {
    json params = json::object();
    for (const auto& [k, v] : p.params)
      params[k] = v;
    preload.push_back({{"name", p.name}, {"params", params}, {"origin", p.origin}});
  }
  return json{{"module_path", c.module_path},
              {"preload", preload},
              {"devfs", c.devfs},
              {"socket", c.socket},
              {"signature_policy", mk::hosted::signature_policy_name(c.signature_policy)},
              {"trusted_keys", c.trusted_keys},
              {"kpi_version", c.kpi_version}};
}

// Detaches: the parent waits for the child to report "ready" (or why it
// could not start) through a pipe, and exits with that.
int detach(int* ready_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    fprintf(stderr, "modkitd: pipe: %s\n", strerror(errno));
    return kStartFailed;
  }
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "modkitd: fork: %s\n", strerror(errno));
    return kStartFailed;
  }
  if (pid == 0) {
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return -1;  // the child goes on
  }
  close(p[1]);
  std::string msg;
  char buf[512];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  if (msg == "ready") return 0;
  if (msg.empty()) {
    int status = 0;
    waitpid(pid, &status, 0);
    msg = "the daemon died while starting";
  }
  fprintf(stderr, "modkitd: %s\n", msg.c_str());
  return kStartFailed;
}

void report(int ready_fd, const std::string& msg) {
  if (ready_fd >= 0) {
    (void)!write(ready_fd, msg.data(), msg.size());
    close(ready_fd);
  } else if (msg != "ready") {
    fprintf(stderr, "modkitd: %s\n", msg.c_str());
  }
}

void quiet_stdio() {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  close(null);
}

// The console: commands on stdin, replies on stdout. Returns when the input
// ends, a `shutdown` was typed, or an event (signal, shutdown request) came.
void console_and_wait(modkitd::KernelService& kernel, bool console) {
  control::LineReader in(0);
  if (console) {
    printf("modkitd console: type help for the commands, shutdown (or end of input) to stop\n");
    printf("modkit> ");
    fflush(stdout);
  }
  for (;;) {
    pollfd p[2] = {{g_event_pipe[0], POLLIN, 0}, {console ? 0 : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents != 0) return;
    if (p[1].revents == 0) continue;
    std::string line;
    control::LineReader::Status st = in.next(&line);
    if (st == control::LineReader::Status::kTooLarge) {
      printf("error: a command is at most %zu bytes\nmodkit> ", control::kMaxLine - 1);
      fflush(stdout);
      in = control::LineReader(0);  // drop the rest of it
      continue;
    }
    if (st != control::LineReader::Status::kLine) {
      printf("\n");
      return;
    }
    json request;
    std::string err;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      // nothing
    } else if (!control::parse_command(line, &request, &err)) {
      printf("error: %s\n", err.c_str());
    } else {
      std::optional<json> reply = kernel.handle(request, nullptr);
      if (reply) fputs(control::format_reply(request, *reply).c_str(), stdout);
      if (request["verb"] == "shutdown") return;
    }
    printf("modkit> ");
    fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modkitd: the hosted modkit kernel (boots, preloads, serves the control socket)",
               "modkitd"};
  std::string config_path;
  std::string socket_path;
  bool foreground = false;
  bool print_config = false;
  std::vector<std::string> options;
  app.add_option("-c,--config", config_path,
                 "config file (default: $MODKIT_CONFIG, else the bundled " MODKITD_BUNDLED_CONFIG
                 ")");
  app.add_option("--socket", socket_path, "control socket (overrides the config's `socket`)");
  app.add_flag("-f,--foreground", foreground,
               "stay in the foreground: log on stderr, console on a terminal");
  app.add_option("-o,--option", options, "a config line KEY=VALUE, applied after the file")
      ->type_size(1);
  app.add_flag("--print-config", print_config, "print the configuration as JSON and exit");
  app.footer(
      "Example:\n"
      "  modkitd -c etc/modkitd.conf -o module_path=build/modules --foreground\n"
      "  modkitd --socket /tmp/k.sock && MODKIT_SOCKET=/tmp/k.sock modkit stat\n"
      "Exit status: 0 after a clean shutdown (or a detached start), 1 when it cannot start,\n"
      "2 on a usage error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kUsage;
  }

  // The configuration: defaults, the file, -o lines, --socket.
  mk::hosted::DaemonConfig config = mk::hosted::default_config();
  std::string err;
  if (config_path.empty()) {
    const char* env = getenv("MODKIT_CONFIG");
    config_path = env != nullptr && *env != '\0' ? env : MODKITD_BUNDLED_CONFIG;
  }
  config_path = absolute(config_path);
  if (!mk::hosted::load_config_file(config_path, &config, &err)) {
    fprintf(stderr, "modkitd: %s\n", err.c_str());
    return kStartFailed;
  }
  for (const std::string& o : options) {
    if (!mk::hosted::parse_config(o, "--option", cwd_or_empty(), &config, &err)) {
      fprintf(stderr, "modkitd: %s\n", err.c_str());
      return kUsage;
    }
  }
  if (!socket_path.empty()) config.socket = absolute(socket_path);
  config.socket = absolute(config.socket);
  if (print_config) {
    printf("%s\n", config_json(config).dump(2).c_str());
    return 0;
  }

  int ready_fd = -1;
  if (!foreground) {
    int rc = detach(&ready_fd);
    if (rc >= 0) return rc;
  }
  if (pipe2(g_event_pipe, O_CLOEXEC) != 0) {
    report(ready_fd, std::string("pipe: ") + strerror(errno));
    return kStartFailed;
  }
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  if (foreground) sigaction(SIGHUP, &sa, nullptr);  // the terminal went away
  signal(SIGPIPE, SIG_IGN);

  std::mutex echo_mu;
  std::function<void(const std::string&)> echo;
  if (foreground)
    echo = [&echo_mu](const std::string& line) {
      std::lock_guard<std::mutex> g(echo_mu);
      fprintf(stderr, "%s\n", line.c_str());
    };
  modkitd::KernelService kernel(config, config_path, echo);
  kernel.on_shutdown = [] { (void)!write(g_event_pipe[1], "S", 1); };

  // The socket first: a second instance refuses before booting anything.
  control::Server server(config.socket, [&kernel](const json& request, control::Connection& c) {
    return kernel.handle(request, &c);
  });
  if (!server.listen(&err)) {
    report(ready_fd, err);
    return kStartFailed;
  }
  if (!kernel.boot(&err)) {
    server.stop();
    report(ready_fd, err);
    return kStartFailed;
  }
  server.start();
  kernel.log("modkitd: serving " + config.socket);
  if (!foreground && chdir("/") != 0)
    kernel.log(std::string("modkitd: chdir /: ") + strerror(errno));
  report(ready_fd, "ready");
  if (!foreground) quiet_stdio();

  console_and_wait(kernel, foreground && isatty(0));

  kernel.shutdown();  // once: a `shutdown` request may have done it already
  server.stop();
  return 0;
}
