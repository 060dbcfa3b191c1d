#include "exec/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace modkit::exec_test {
namespace {

struct Running {
  pid_t pid = -1;
  std::chrono::steady_clock::time_point deadline;
  int status = 0;
  bool done = false;
  Outcome outcome;
};

std::vector<std::string> MergedEnvironment(const Command& command) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& [key, value] : command.env)
      overridden |= entry.compare(0, key.size() + 1, key + "=") == 0;
    if (!overridden) env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : command.env)
    env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings)
    result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

void Start(const Command& command, Running& r) {
  std::vector<std::string> args = command.argv;
  std::vector<std::string> env = MergedEnvironment(command);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  std::string out_path = command.capture_prefix + ".out";
  std::string err_path = command.capture_prefix + ".err";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so a timeout also kills what a compiler driver started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  int rc = posix_spawnp(&r.pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  r.deadline = std::chrono::steady_clock::now() + command.timeout;
  if (rc != 0) {
    r.done = true;
    r.outcome.err = "posix_spawn " + command.argv[0] + ": " + std::strerror(rc);
    return;
  }
  r.outcome.started = true;
}

void Finish(const Command& command, Running& r) {
  if (!r.outcome.started) return;
  if (WIFEXITED(r.status)) r.outcome.exit_code = WEXITSTATUS(r.status);
  if (WIFSIGNALED(r.status)) r.outcome.signal = WTERMSIG(r.status);
  r.outcome.out = ReadFile(command.capture_prefix + ".out");
  r.outcome.err = ReadFile(command.capture_prefix + ".err");
}

}  // namespace

std::string Outcome::Status() const {
  if (!started) return "not started";
  if (timed_out) return "timed out";
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

std::vector<Outcome> RunProcesses(const std::vector<Command>& commands) {
  std::vector<Running> running(commands.size());
  for (size_t i = 0; i < commands.size(); ++i)
    Start(commands[i], running[i]);
  for (;;) {
    bool all_done = true;
    for (size_t i = 0; i < commands.size(); ++i) {
      Running& r = running[i];
      if (r.done) continue;
      pid_t got = waitpid(r.pid, &r.status, WNOHANG);
      if (got == r.pid || (got < 0 && errno != EINTR)) {
        r.done = true;
        continue;
      }
      if (std::chrono::steady_clock::now() > r.deadline) {
        kill(-r.pid, SIGKILL);
        waitpid(r.pid, &r.status, 0);
        r.outcome.timed_out = true;
        r.done = true;
        continue;
      }
      all_done = false;
    }
    if (all_done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  std::vector<Outcome> outcomes;
  for (size_t i = 0; i < commands.size(); ++i) {
    Finish(commands[i], running[i]);
    outcomes.push_back(std::move(running[i].outcome));
  }
  return outcomes;
}

Outcome RunProcess(const Command& command) {
  return std::move(RunProcesses({command})[0]);
}

std::string ShellLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !arg.empty() && arg.find_first_not_of(
                                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_./=+,:@%") == std::string::npos;
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg)
      line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace modkit::exec_test
