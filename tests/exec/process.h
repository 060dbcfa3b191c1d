// Running programs for the exec tests: posix_spawn with stdout and stderr
// captured in files, stdin from /dev/null, extra environment variables, a
// timeout (the whole process group is killed), and several processes at once.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace modkit::exec_test {

struct Command {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // Set (or replace) these variables in a copy of the test's environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Captures go to <capture_prefix>.out and <capture_prefix>.err.
  std::string capture_prefix;
  std::chrono::seconds timeout{60};
};

struct Outcome {
  bool started = false;  // false: posix_spawn failed (error in err)
  bool timed_out = false;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string out;
  std::string err;

  bool Succeeded() const { return started && !timed_out && signal == 0 && exit_code == 0; }
  // "exit 3", "signal 11 (Segmentation fault)", "timed out", "not started".
  std::string Status() const;
};

// Runs one command to completion.
Outcome RunProcess(const Command& command);

// Runs all commands at the same time; results in the same order.
std::vector<Outcome> RunProcesses(const std::vector<Command>& commands);

// Shell-quoted command line, for reproducers in failure messages.
std::string ShellLine(const std::vector<std::string>& argv);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

}  // namespace modkit::exec_test
