// What the tests that drive the built binaries from outside share (tests/e2e,
// tests/daemon, tests/tools): finding the built binaries, running a program in the
// background with its output in files, waiting for a condition, and asking
// whether a control socket accepts connections. Hosted test code only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace mk::test {

// $name when it is set and not empty, else fallback.
std::string env_or(const char* name, const std::string& fallback);

// The build tree the binaries are in: $MODKIT_BINARY_DIR (CTest sets it), else
// the fallback the test was compiled with.
std::string binary_dir(const std::string& fallback);

// Whether `program` is an executable in one of $PATH's directories.
bool on_path(const std::string& program);

// text split at '\n' (a final newline does not make an empty last line).
std::vector<std::string> lines(const std::string& text);

// Polls cond every 5 ms until it holds or `limit` has passed; cond's last answer.
bool wait_for(const std::function<bool()>& cond,
              std::chrono::milliseconds limit = std::chrono::seconds(10));

// Whether something accepts connections on the Unix socket at `path`.
bool connectable(const std::string& path);

// A program running in the background as our child: stdin from a file
// (/dev/null by default), stdout and stderr in PREFIX.out and PREFIX.err. The
// destructor kills and reaps a child still running, so a failed test leaves
// nothing behind.
class Background {
 public:
  Background() = default;
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background();

  // argv[0] is looked up in $PATH when it has no slash. False when the spawn failed.
  bool start(const std::vector<std::string>& argv, const std::string& prefix,
             const std::string& stdin_path = "/dev/null");
  // False once it has exited (it is reaped then; wait() still answers its status).
  bool running();
  bool signal(int sig);
  // The exit status (128 + the signal when one killed it); -1 when it did not
  // exit within `limit` (it is killed then) or was never started.
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(30));

  pid_t pid() const { return pid_; }
  const std::string& out_path() const { return out_; }
  const std::string& err_path() const { return err_; }
  std::string out() const;
  std::string err() const;

 private:
  bool reap(int* status);

  pid_t pid_ = -1;
  bool reaped_ = false;  // exited and reaped by running(); status_ is its status
  int status_ = 0;
  std::string out_, err_;
};

}  // namespace mk::test
