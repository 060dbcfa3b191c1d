// Test-time toolchain for the link and hosted tests: small C, C++ and assembly
// sources are written to a scratch directory and compiled with the real gcc
// and clang (`-c`), then loaded through the API under test. The toolchain is
// also the oracle: a natively linked program shows what "the right order" or
// "the right output" is, and readelf shows where a relocation really is.
#pragma once

#include <stdint.h>

#include <ostream>
#include <string>
#include <vector>

namespace mk::test {

// One compiler family: the C and the C++ driver.
struct Compiler {
  const char* label;  // for test names
  const char* cc;
  const char* cxx;
};
inline constexpr Compiler kGcc{"gcc", "gcc", "g++"};
inline constexpr Compiler kClang{"clang", "clang", "clang++"};
inline void PrintTo(const Compiler& c, std::ostream* os) {
  *os << c.label;
}
inline const std::vector<Compiler>& AllCompilers() {
  static const std::vector<Compiler> all{kGcc, kClang};
  return all;
}

struct RunResult {
  int status = -1;     // exit status, or -1 when it did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs a shell command line, capturing its output.
RunResult Run(const std::string& command);

// Single-quotes a word for the shell.
std::string Quote(const std::string& word);

// A scratch directory for one test, removed at destruction unless the test
// failed (then its path is printed, with everything needed to reproduce).
class Scratch {
 public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `text` to dir/name and returns the path.
  std::string Write(const std::string& name, const std::string& text);

  // Writes `text` to dir/name and compiles it with `-c flags` into
  // dir/<name>.o (C++ for .cc/.cpp with the compiler's C++ driver, C for .c,
  // assembly for .s). Returns the object's path; a compile error is a test
  // failure (the command and its output are reported) and returns "".
  std::string Compile(const Compiler& c, const std::string& name, const std::string& text,
                      const std::vector<std::string>& flags = {});

  // Links sources natively (the oracle) into dir/<exe>; returns its path or "".
  std::string LinkNative(const Compiler& c, const std::string& exe,
                         const std::vector<std::string>& sources,
                         const std::vector<std::string>& flags = {});

 private:
  std::string dir_;
};

std::vector<uint8_t> ReadBytes(const std::string& path);

// One relocation as readelf -rW shows it; `symbol` is the section's name for
// a section symbol.
struct Reloc {
  std::string section;  // the section it patches
  uint64_t offset;
  std::string type;
  std::string symbol;
};
std::vector<Reloc> Relocations(const std::string& object);

// Where the first relocation against `symbol` in section `section` of an
// object is (by readelf -rW; of relocation type `type` when given), or
// UINT64_MAX when there is none.
uint64_t FirstRelocationTo(const std::string& object, const std::string& section,
                           const std::string& symbol, const std::string& type = "");

// The relocation types an object uses (R_X86_64_...), by readelf -rW; for
// failure messages and for asserting what a compiler generated.
std::vector<std::string> RelocationTypes(const std::string& object);

}  // namespace mk::test
