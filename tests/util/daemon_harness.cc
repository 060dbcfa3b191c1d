#include "util/daemon_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

extern "C" char** environ;

namespace mk::test {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string binary_dir(const std::string& fallback) {
  return env_or("MODKIT_BINARY_DIR", fallback);
}

bool on_path(const std::string& program) {
  std::string dirs = env_or("PATH", "/usr/bin:/bin");
  size_t s = 0;
  while (s <= dirs.size()) {
    size_t e = dirs.find(':', s);
    if (e == std::string::npos) e = dirs.size();
    if (access((dirs.substr(s, e - s) + "/" + program).c_str(), X_OK) == 0) return true;
    s = e + 1;
  }
  return false;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t s = 0;
  while (s < text.size()) {
    size_t e = text.find('\n', s);
    if (e == std::string::npos) e = text.size();
    out.push_back(text.substr(s, e - s));
    s = e + 1;
  }
  return out;
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

bool connectable(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  close(fd);
  return ok;
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Background::~Background() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Background::start(const std::vector<std::string>& argv, const std::string& prefix,
                       const std::string& stdin_path) {
  out_ = prefix + ".out";
  err_ = prefix + ".err";
  posix_spawn_file_actions_t a;
  posix_spawn_file_actions_init(&a);
  posix_spawn_file_actions_addopen(&a, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&a, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&a, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (std::string& s : copy)
    args.push_back(s.data());
  args.push_back(nullptr);
  reaped_ = false;
  int rc = posix_spawnp(&pid_, args[0], &a, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&a);
  if (rc != 0) pid_ = -1;
  return rc == 0;
}

// A child that has exited is reaped here; wait() then answers its status.
bool Background::reap(int* status) {
  if (pid_ > 0 && waitpid(pid_, &status_, WNOHANG) == pid_) {
    pid_ = -1;
    reaped_ = true;
  }
  if (reaped_ && status != nullptr) *status = status_;
  return reaped_;
}

bool Background::running() {
  return pid_ > 0 && !reap(nullptr);
}

bool Background::signal(int sig) {
  return pid_ > 0 && kill(pid_, sig) == 0;
}

int Background::wait(std::chrono::milliseconds limit) {
  if (pid_ < 0 && !reaped_) return -1;
  int status = 0;
  if (!wait_for([&] { return reap(&status); }, limit)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }
  reaped_ = false;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Background::out() const {
  return slurp(out_);
}

std::string Background::err() const {
  return slurp(err_);
}

}  // namespace mk::test
