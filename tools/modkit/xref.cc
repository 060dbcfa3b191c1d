// modkit xref DIR [--json] [-v]
//
// Builds DIR/modkit.hints, the hints index of a module directory (FreeBSD's
// kldxref, Linux's depmod): every *.ko file of DIR is validated and its
// modkit_modinfo records read as data, nothing of it runs. A file that cannot
// be indexed is reported with its path and the reason, skipped, and makes the
// exit status 1; the others are still indexed. The index is replaced
// atomically (a temporary file renamed over it).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "hosted/malloc_allocator.h"
#include "module/hints.h"
#include "module/metadata.h"
#include "object_file.h"
#include "verbs.h"

namespace modkit::tool {
namespace {

constexpr char kHintsName[] = "modkit.hints";

struct Options {
  std::string dir;
  bool json = false;
  bool verbose = false;
};

struct Indexed {
  std::string module;
  uint32_t version;
  std::string file;  // relative to the directory
};

// One entry of a driver's match table, with the module that provides it.
struct IndexedMatch {
  std::string module, driver, bus;
  uint32_t priority;
  mk::module::MatchKind kind;
  uint32_t vendor, device;
  std::string compat;
};

void complain(const std::string& what, const std::string& why) {
  fprintf(stderr, "modkit xref: %s: %s\n", what.c_str(), why.c_str());
}

// The names of the regular *.ko files of dir (symbolic links followed),
// sorted, so that the index does not depend on the directory's order.
bool list_modules(const std::string& dir, std::vector<std::string>* names) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    complain(dir, strerror(errno));
    return false;
  }
  while (const dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() <= 3 || name[0] == '.' || name.compare(name.size() - 3, 3, ".ko") != 0)
      continue;
    struct stat st;
    if (stat((dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names->push_back(name);
  }
  closedir(d);
  std::sort(names->begin(), names->end());
  return true;
}

// The modules one file declares, appended to `out`; false (and a message on
// stderr) when the file cannot be indexed.
bool index_file(const std::string& dir, const std::string& name, std::vector<Indexed>* out,
                std::vector<IndexedMatch>* matches) {
  std::string path = dir + "/" + name;
  if (const char* why = mk::module::hint_file_problem(name.c_str())) {
    complain(path, std::string("the file name ") + why + ", which the index cannot hold");
    return false;
  }
  std::vector<uint8_t> bytes;
  std::string err;
  if (!modkit::tool::read_whole_file(path, &bytes, &err)) {
    complain(path, err);
    return false;
  }
  mk::hosted::MallocAllocator alloc;
  auto obj =
      mk::elf::validate(mk::ByteView(bytes.data(), bytes.size()), mk::arch::rules_for, alloc);
  if (!obj) {
    complain(path, obj.error().message());
    return false;
  }
  mk::Vec<uint32_t> sections(alloc);
  auto md = mk::module::read_object_metadata(obj.value(), sections, alloc);
  if (!md) {
    complain(path, md.error().message());
    return false;
  }
  for (const mk::module::ModuleDecl& m : md.value().modules)
    out->push_back(Indexed{m.name, m.version, name});
  for (const mk::module::MatchDecl& m : md.value().matches) {
    const mk::module::DriverDecl& d = md.value().drivers[m.driver];
    matches->push_back(IndexedMatch{md.value().modules[d.module].name, d.name, d.bus, d.priority,
                                    m.entry.kind, m.entry.vendor, m.entry.device, m.entry.compat});
  }
  return true;
}

// Writes the index next to its final name, then renames it over: readers see
// the old index or the new one, never a part of one.
bool write_atomically(const std::string& dir, const mk::Vec<char>& text) {
  std::string final_path = dir + "/" + kHintsName;
  std::string temp = dir + "/." + kHintsName + ".XXXXXX";
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    complain(temp, strerror(errno));
    return false;
  }
  const char* p = text.begin();
  size_t left = text.size();
  bool ok = fchmod(fd, 0644) == 0;
  while (ok && left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) {
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  ok = close(fd) == 0 && ok;
  if (ok && rename(temp.c_str(), final_path.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    complain(final_path, strerror(saved != 0 ? saved : errno));
    unlink(temp.c_str());
    return false;
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename itself durable; best effort
    (void)fsync(dfd);
    close(dfd);
  }
  return true;
}

// JSON string contents: names are C identifiers, file names have no control
// characters (the index refuses them), so only quotes and backslashes need it.
std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// "ids 0x1af4 0x1001", "ids 0x1af4 any" or "compat acme,widget".
std::string describe(const IndexedMatch& m) {
  if (m.kind == mk::module::MatchKind::kCompat) return "compat " + m.compat;
  char text[64];
  if (m.device == mk::module::kMatchAny)
    snprintf(text, sizeof text, "ids 0x%x any", m.vendor);
  else
    snprintf(text, sizeof text, "ids 0x%x 0x%x", m.vendor, m.device);
  return text;
}

int run_xref(const Options& o) {
  std::vector<std::string> names;
  if (!list_modules(o.dir, &names)) return 1;

  int status = 0;
  size_t skipped = 0;
  std::vector<Indexed> indexed;
  std::vector<IndexedMatch> matches;
  FILE* info = o.json ? stderr : stdout;  // -v never mixes into the JSON
  for (const std::string& name : names) {
    size_t before = indexed.size();
    size_t matches_before = matches.size();
    if (!index_file(o.dir, name, &indexed, &matches)) {
      status = 1;
      ++skipped;
      continue;
    }
    if (!o.verbose) continue;
    if (indexed.size() == before) fprintf(info, "%s: no modules\n", name.c_str());
    for (size_t i = before; i < indexed.size(); ++i)
      fprintf(info, "%s: module %s version %u\n", name.c_str(), indexed[i].module.c_str(),
              indexed[i].version);
    for (size_t i = matches_before; i < matches.size(); ++i)
      fprintf(info, "%s: driver %s on %s matches %s\n", name.c_str(), matches[i].driver.c_str(),
              matches[i].bus.c_str(), describe(matches[i]).c_str());
  }

  std::vector<mk::module::HintEntry> entries;
  for (const Indexed& e : indexed)
    entries.push_back({e.module.c_str(), e.version, e.file.c_str()});
  std::vector<mk::module::HintMatch> hint_matches;
  for (const IndexedMatch& m : matches)
    hint_matches.push_back({m.module.c_str(), m.driver.c_str(), m.bus.c_str(), m.priority,
                            mk::module::MatchEntry{m.kind, m.vendor, m.device, m.compat.c_str()}});
  mk::hosted::MallocAllocator alloc;
  mk::Vec<char> text(alloc);
  auto written = mk::module::write_hints(entries.data(), entries.size(), hint_matches.data(),
                                         hint_matches.size(), text);
  if (!written) {
    complain(o.dir + "/" + kHintsName, written.error().message());
    return 1;
  }
  if (!write_atomically(o.dir, text)) return 1;
  if (o.verbose)
    fprintf(info, "%s/%s: %zu modules from %zu files (%zu skipped)\n", o.dir.c_str(), kHintsName,
            indexed.size(), names.size() - skipped, skipped);

  if (o.json) {
    printf("[");
    for (size_t i = 0; i < indexed.size(); ++i)
      printf("%s\n  {\"module\": \"%s\", \"version\": %u, \"file\": \"%s\"}", i == 0 ? "" : ",",
             indexed[i].module.c_str(), indexed[i].version, json_escape(indexed[i].file).c_str());
    printf(indexed.empty() ? "]\n" : "\n]\n");
  }
  return status;
}

}  // namespace

Run add_xref(CLI::App& app) {
  static Options options;  // CLI11 writes into it; lives as long as the process
  Options* o = &options;
  CLI::App* sub = app.add_subcommand(
      "xref", "Build the hints index (modkit.hints) of a module directory, like kldxref");
  sub->add_option("DIR", o->dir, "the directory whose *.ko files are indexed")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_flag("--json", o->json, "also print the entries as JSON on stdout");
  sub->add_flag("-v,--verbose", o->verbose, "list each file's modules (on stderr with --json)");
  sub->footer(
      "Reads the module metadata of every *.ko file in DIR (no module code runs) and\n"
      "replaces DIR/modkit.hints atomically: each module's file and version, and each\n"
      "driver's match table (what the kernel loads for a device nothing drives). A file that "
      "cannot be read, validated or\n"
      "indexed is reported with its path and skipped; the exit status is then 1 (the\n"
      "others are still indexed). 2 is a usage error.\n\n"
      "Example:\n"
      "  modkit xref /boot/modules\n"
      "  modkit xref --json -v ./build/modules");
  return [o] { return run_xref(*o); };
}

}  // namespace modkit::tool
