#include "hosted/module_path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mk::hosted {

bool read_whole_file(const std::string& path, std::vector<uint8_t>* out, std::string* err) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = path + ": " + strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *err = path + ": not a regular file";
    close(fd);
    return false;
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size()) {
    ssize_t n = ::read(fd, out->data() + got, out->size() - got);
    if (n <= 0) {
      *err = path + ": " + (n < 0 ? strerror(errno) : "file shrank while reading");
      close(fd);
      return false;
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  return true;
}

Result<Buffer> ModulePath::read(const char* path) {
  std::vector<std::string> tries;
  if (path[0] == '/' || dirs_.empty()) {
    tries.push_back(path);
  } else {
    for (const std::string& d : dirs_)
      tries.push_back(d + "/" + path);
  }
  std::string last;
  for (const std::string& p : tries) {
    if (access(p.c_str(), F_OK) != 0) {
      last = p + ": " + strerror(errno);
      continue;
    }
    auto* bytes = new std::vector<uint8_t>;
    std::string err;
    if (!read_whole_file(p, bytes, &err)) {
      delete bytes;
      return Error(Errc::kIo, "%s", err.c_str());
    }
    Buffer b;
    b.bytes = ByteView(bytes->data(), bytes->size());
    b.cookie = bytes;
    return b;
  }
  return Error(Errc::kNotFound, "%s: not found in the module path (%s)", path, last.c_str());
}

void ModulePath::release(Buffer& b) {
  delete static_cast<std::vector<uint8_t>*>(b.cookie);
  b = Buffer{};
}

Result<Buffer> ModulePath::hints() {
  // One header for the concatenation: the highest format version among the
  // directories' (version 2 reads version 1 records as they are).
  auto* text = new std::vector<uint8_t>;
  std::string header;
  std::string body;
  for (const std::string& d : dirs_) {
    std::vector<uint8_t> one;
    std::string err;
    if (!read_whole_file(d + "/modkit.hints", &one, &err)) continue;  // no index there
    std::string s(one.begin(), one.end());
    size_t pos = 0;
    while (pos < s.size()) {
      size_t nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? s.size() : nl + 1;
      if (line.rfind("modkit-hints", 0) == 0) {
        if (header.empty() || line > header) header = line;
        continue;
      }
      body += line;
      body += '\n';
    }
  }
  if (!header.empty()) {
    text->insert(text->end(), header.begin(), header.end());
    text->push_back('\n');
  }
  text->insert(text->end(), body.begin(), body.end());
  Buffer b;
  b.bytes = ByteView(text->data(), text->size());
  b.cookie = text;
  return b;
}

}  // namespace mk::hosted
