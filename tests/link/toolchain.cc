#include "link/toolchain.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mk::test {

namespace fs = std::filesystem;

RunResult Run(const std::string& command) {
  RunResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    r.output = "popen failed: " + command;
    return r;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

Scratch::Scratch() {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/modkit-test-";
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info != nullptr) {
    for (char c : std::string(info->name()))
      tmpl += isalnum(static_cast<unsigned char>(c)) ? c : '_';
    tmpl += "-";
  }
  tmpl += "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    dir_ = "/nonexistent";
    return;
  }
  dir_ = buf.data();
}

Scratch::~Scratch() {
  if (::testing::Test::HasFailure()) {
    fprintf(stderr, "scratch directory kept: %s\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Scratch::Write(const std::string& name, const std::string& text) {
  std::string p = path(name);
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) ADD_FAILURE() << "cannot write " << p;
  return p;
}

namespace {

bool IsCxx(const std::string& name) {
  return name.ends_with(".cc") || name.ends_with(".cpp");
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words)
    out += " " + Quote(w);
  return out;
}

}  // namespace

std::string Scratch::Compile(const Compiler& c, const std::string& name, const std::string& text,
                             const std::vector<std::string>& flags) {
  std::string src = Write(name, text);
  std::string obj = src + ".o";
  std::string cmd = std::string(IsCxx(name) ? c.cxx : c.cc) + " -c" + Join(flags) + " " +
                    Quote(src) + " -o " + Quote(obj);
  RunResult r = Run(cmd);
  if (r.status != 0) {
    ADD_FAILURE() << "compile failed: " << cmd << "\n" << r.output;
    return "";
  }
  return obj;
}

std::string Scratch::LinkNative(const Compiler& c, const std::string& exe,
                                const std::vector<std::string>& sources,
                                const std::vector<std::string>& flags) {
  bool cxx = false;
  for (const std::string& s : sources)
    cxx = cxx || IsCxx(s);
  std::string out = path(exe);
  std::string cmd =
      std::string(cxx ? c.cxx : c.cc) + Join(flags) + Join(sources) + " -o " + Quote(out);
  RunResult r = Run(cmd);
  if (r.status != 0) {
    ADD_FAILURE() << "native link failed: " << cmd << "\n" << r.output;
    return "";
  }
  return out;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<Reloc> Relocations(const std::string& object) {
  std::vector<Reloc> out;
  RunResult r = Run("readelf -rW " + Quote(object));
  std::istringstream in(r.output);
  std::string line, section;
  while (std::getline(in, line)) {
    const std::string head = "Relocation section '";
    if (line.rfind(head, 0) == 0) {
      std::string name = line.substr(head.size(), line.find('\'', head.size()) - head.size());
      section = name.rfind(".rela", 0) == 0 ? name.substr(5) : name.substr(4);
      continue;
    }
    if (section.empty() || line.size() < 20 || !isxdigit(static_cast<unsigned char>(line[0])))
      continue;
    std::istringstream words(line);
    std::string offset, info, type, value, name;
    words >> offset >> info >> type >> value >> name;
    out.push_back({section, std::stoull(offset, nullptr, 16), type, name});
  }
  return out;
}

uint64_t FirstRelocationTo(const std::string& object, const std::string& section,
                           const std::string& symbol, const std::string& type) {
  for (const Reloc& r : Relocations(object))
    if (r.section == section && r.symbol == symbol && (type.empty() || r.type == type))
      return r.offset;
  return UINT64_MAX;
}

std::vector<std::string> RelocationTypes(const std::string& object) {
  std::vector<std::string> out;
  for (const Reloc& r : Relocations(object))
    if (std::find(out.begin(), out.end(), r.type) == out.end()) out.push_back(r.type);
  return out;
}

}  // namespace mk::test
