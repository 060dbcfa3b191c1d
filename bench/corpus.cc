#include "corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kapi.h"

namespace bench {
namespace {

// Counts tuned so that gcc 12 at its default flags (x86_64, -O0) produces the
// sizes issue 8 names; `modkit_bench --corpus` prints what they produce.
constexpr Shape kOne{"one", 0, 1, 0, 0, 0, 0, 0, 0, 1};
constexpr Shape kTypical{"typical", 290, 14, 6, 2, 1, 1, 1, 5, 8};
constexpr Shape kBig{"big", 4490, 30, 10, 2, 1, 1, 1, 5, 8};

struct Rng {
  uint64_t s;
  uint32_t below(uint32_t n) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<uint32_t>((s >> 11) % n);
  }
};

void appendf(std::string* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string* out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out->append(buf, static_cast<size_t>(n < 0 ? 0 : n));
}

bool is_exported(const Shape& sh, int i) {
  return i % sh.export_every == 0;
}

std::string fn_name(const Shape& sh, int i) {
  char buf[32];
  snprintf(buf, sizeof buf, "fn_%d", i);
  return is_exported(sh, i) ? std::string(kTag) + buf : std::string(buf);
}

uint64_t fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  FILE* f = fopen(path.c_str(), "rbe");
  if (f == nullptr) return false;
  out->clear();
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    out->insert(out->end(), buf, buf + n);
  bool ok = !ferror(f);
  fclose(f);
  return ok;
}

bool write_file(const std::string& path, const void* data, size_t size, std::string* err) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = fopen(tmp.c_str(), "wbe");
  bool ok = f != nullptr && fwrite(data, 1, size, f) == size;
  if (f != nullptr) ok = fclose(f) == 0 && ok;
  if (ok) ok = rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    *err = path + ": " + strerror(errno);
    unlink(tmp.c_str());
  }
  return ok;
}

bool file_size_is(const std::string& path, size_t size) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) == size;
}

bool make_dirs(const std::string& path, std::string* err) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    std::string part = path.substr(0, at);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      *err = part + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

bool run(const std::vector<std::string>& argv, std::string* err) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return *err = std::string("fork: ") + strerror(errno), false;
  if (pid == 0) {
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *err = "command failed:";
  for (const std::string& a : argv)
    *err += " " + a;
  return false;
}

// Compiles `src` to `out` with `flags` unless `out` exists (names carry the hash).
bool compile(const std::string& cc, const std::vector<std::string>& flags, const std::string& src,
             const std::string& out, std::string* err) {
  if (access(out.c_str(), R_OK) == 0) return true;
  std::string tmp = out + ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv{cc};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {src, "-o", tmp});
  if (!run(argv, err)) return false;
  if (rename(tmp.c_str(), out.c_str()) != 0) return *err = out + ": " + strerror(errno), false;
  return true;
}

void one_function_source(std::string* s) {
  appendf(s, "extern int kapi_f0(int, const char *);\n\n");
  appendf(s, "int %sinit(void) { return kapi_f0(1, \"hello, kernel\") - 2; }\n", kTag);
}

void function_body(const Shape& sh, int i, Rng& rng, std::string* s) {
  enum Kind { kCall, kRead, kState, kModCall, kFiller };
  std::vector<Kind> kinds;
  kinds.insert(kinds.end(), sh.kcalls, kCall);
  kinds.insert(kinds.end(), sh.kreads, kRead);
  kinds.insert(kinds.end(), sh.states, kState);
  kinds.insert(kinds.end(), sh.mcalls, kModCall);
  kinds.insert(kinds.end(), sh.filler, kFiller);
  for (size_t k = kinds.size(); k > 1; --k)
    std::swap(kinds[k - 1], kinds[rng.below(static_cast<uint32_t>(k))]);
  appendf(s, "%sint %s(int a, int d) {\n  int r = a;\n", is_exported(sh, i) ? "" : "static ",
          fn_name(sh, i).c_str());
  int stmt = 0;
  for (Kind k : kinds) {
    switch (k) {
      case kCall:
        appendf(s, "  r += kapi_f%u(r, \"fn %d/%d: kernel event\");\n",
                rng.below(static_cast<uint32_t>(sh.kfuncs)), i, stmt);
        break;
      case kRead:
        appendf(s, "  r ^= kapi_d%u[%u];\n", rng.below(static_cast<uint32_t>(sh.kdata)),
                rng.below(4));
        break;
      case kState:
        appendf(s, "  state[%u] += r;\n", rng.below(64));
        break;
      case kModCall:
        appendf(s, "  if (!d) r += %s(r, 1);\n",
                fn_name(sh, static_cast<int>(rng.below(static_cast<uint32_t>(sh.funcs)))).c_str());
        break;
      case kFiller:
        appendf(s, "  r = (r ^ (r >> %u)) * %u + %u;\n", 1 + rng.below(15), 3 + 2 * rng.below(50),
                rng.below(1000));
        break;
    }
    ++stmt;
  }
  appendf(s, "  return r;\n}\n\n");
}

}  // namespace

const Shape& shape_one() {
  return kOne;
}
const Shape& shape_typical() {
  return kTypical;
}
const Shape& shape_big() {
  return kBig;
}

const Shape* shape_by_name(const std::string& name) {
  for (const Shape* s : {&kOne, &kTypical, &kBig})
    if (name == s->name) return s;
  return nullptr;
}

std::string generate_source(const Shape& sh) {
  std::string s;
  appendf(&s, "/* modkit benchmark corpus, shape \"%s\": generated, do not edit. */\n\n", sh.name);
  if (sh.funcs == 0) {
    one_function_source(&s);
    return s;
  }
  for (int k = 0; k < sh.kfuncs; ++k)
    appendf(&s, "extern int kapi_f%d(int, const char *);\n", k);
  for (int k = 0; k < sh.kdata; ++k)
    appendf(&s, "extern int kapi_d%d[4];\n", k);
  appendf(&s, "\nstatic int state[64];\nint %sresult;\n\n", kTag);
  for (int i = 0; i < sh.funcs; ++i)
    appendf(&s, "%sint %s(int, int);\n", is_exported(sh, i) ? "" : "static ",
            fn_name(sh, i).c_str());
  appendf(&s, "\n");
  Rng rng{0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(sh.funcs)};
  for (int i = 0; i < sh.funcs; ++i)
    function_body(sh, i, rng, &s);
  appendf(&s, "static int (*const ops[])(int, int) = {\n");
  for (int i = 0; i < sh.funcs; ++i)
    appendf(&s, "  %s,\n", fn_name(sh, i).c_str());
  appendf(&s, "};\n\n");
  appendf(&s,
          "int %sinit(void) {\n  int s = 0;\n"
          "  for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; ++i) s += ops[i]((int)i, 0);\n"
          "  %sresult = s;\n  return 0;\n}\n\n",
          kTag, kTag);
  appendf(&s, "void %sexit(void) { %sresult = 0; }\n", kTag, kTag);
  return s;
}

bool build_module(const Shape& sh, const std::string& work_dir, const std::string& cc, Module* out,
                  std::string* err) {
  static_assert(KAPI_FUNCS >= 30 && KAPI_DATA >= 10, "the shapes import at most these");
  std::string src = generate_source(sh);
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx",
           static_cast<unsigned long long>(fnv1a(cc + "\n" + src + "\nv1")));
  std::string dir = work_dir + "/corpus";
  if (!make_dirs(dir, err)) return false;
  std::string base = dir + "/" + sh.name + "-" + hash;
  out->kind = sh.name;
  out->source_path = base + ".c";
  out->obj_path = base + ".o";
  out->so_path = base + ".so";
  if (!file_size_is(out->source_path, src.size()) &&
      !write_file(out->source_path, src.data(), src.size(), err))
    return false;
  if (!compile(cc, {"-c"}, out->source_path, out->obj_path, err)) return false;
  if (!compile(cc, {"-shared", "-fPIC"}, out->source_path, out->so_path, err)) return false;
  if (!read_file(out->obj_path, &out->obj)) return *err = out->obj_path + ": unreadable", false;
  if (!parse_object(out->obj, &out->info, err)) {
    *err = out->obj_path + ": " + *err;
    return false;
  }
  out->exports = {tag_name(0, "init")};
  if (sh.funcs > 0) {
    out->exports.push_back(tag_name(0, "exit"));
    out->exports.push_back(tag_name(0, "result"));
    for (int i = 0; i < sh.funcs; ++i)
      if (is_exported(sh, i)) out->exports.push_back(fn_name(sh, i));
  }
  return true;
}

bool so_copies(const Module& m, const std::string& work_dir, size_t count,
               std::vector<std::string>* paths, std::string* err) {
  std::string name = m.so_path.substr(m.so_path.rfind('/') + 1);
  std::string dir = work_dir + "/so-copies/" + name.substr(0, name.size() - 3);
  if (!make_dirs(dir, err)) return false;
  std::vector<uint8_t> so;
  if (!read_file(m.so_path, &so)) return *err = m.so_path + ": unreadable", false;
  paths->clear();
  for (size_t i = 0; i < count; ++i) {
    std::string path = dir + "/" + std::to_string(i) + ".so";
    paths->push_back(path);
    if (!file_size_is(path, so.size()) && !write_file(path, so.data(), so.size(), err))
      return false;
  }
  return true;
}

}  // namespace bench
