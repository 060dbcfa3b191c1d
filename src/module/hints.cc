#include "module/hints.h"

#include "module/metadata.h"
#include "module/version.h"
#include "support/format.h"
#include "support/memory.h"

namespace mk::module {
namespace {

constexpr char kHeader[] = "modkit-hints 1";
constexpr char kHeaderWord[] = "modkit-hints ";
constexpr char kRecord[] = "module";
constexpr int kShow = 64;  // at most this much of a bad field is quoted

bool starts_with(const char* s, const char* prefix) {
  size_t n = mk_strlen(prefix);
  for (size_t i = 0; i < n; ++i)
    if (s[i] != prefix[i]) return false;
  return true;
}

// A decimal uint32 (digits only). False when s is not one; *overflow tells
// "too big" apart from "not a number".
bool parse_u32(const char* s, uint32_t* out, bool* overflow) {
  *overflow = false;
  if (*s == '\0') return false;
  uint64_t v = 0;
  for (const char* p = s; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
    if (!*overflow) {
      v = v * 10 + static_cast<uint64_t>(*p - '0');
      if (v > UINT32_MAX) *overflow = true;
    }
  }
  if (*overflow) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

const char* name_problem(const char* name) {
  if (!is_identifier(name)) return "is not a C identifier";
  if (mk_strlen(name) >= kNameMax) return "is longer than 63 characters";
  return nullptr;
}

// One line (NUL-terminated in place, without its '\n'), numbered `no`.
// Appends its entry, if it has one, to `entries`.
Result<void> parse_line(char* line, size_t no, Vec<HintEntry>& entries) {
  for (const char* p = line; *p != '\0'; ++p) {
    auto ch = static_cast<uint8_t>(*p);
    if (ch < 0x20 || ch == 0x7f)
      return Error(Errc::kMalformed, "hints line %zu: control character %#x at column %zu", no, ch,
                   static_cast<size_t>(p - line) + 1);
  }
  if (no == 1) {
    if (str_eq(line, kHeader)) return Ok();
    uint32_t version = 0;
    bool overflow = false;
    if (starts_with(line, kHeaderWord) &&
        parse_u32(line + sizeof kHeaderWord - 1, &version, &overflow) && version != 1)
      return Error(Errc::kUnsupported, "hints line 1: format version %u is not supported (only 1)",
                   version);
    return Error(Errc::kMalformed, "hints line 1: `%.*s' is not the header `%s'", kShow, line,
                 kHeader);
  }
  if (line[0] == '\0') return Error(Errc::kMalformed, "hints line %zu: empty line", no);
  if (line[0] == '#') return Ok();

  // Split on single spaces: module NAME VERSION FILE, and whatever follows.
  char* field[5] = {};
  size_t fields = 0;
  for (char* p = line;;) {
    field[fields++] = p;
    while (*p != '\0' && *p != ' ')
      ++p;
    if (*p == '\0' || fields == 5) break;
    *p++ = '\0';
  }
  if (!str_eq(field[0], kRecord))
    return Error(Errc::kMalformed, "hints line %zu: unknown record `%.*s' (expected `module')", no,
                 kShow, field[0]);
  for (size_t i = 1; i < 4; ++i) {
    if (i >= fields || field[i][0] == '\0')
      return Error(Errc::kMalformed,
                   "hints line %zu: expected `module NAME VERSION FILE', fields separated by one "
                   "space",
                   no);
  }
  if (fields == 5) {
    if (field[4][0] == '\0')
      return Error(Errc::kMalformed, "hints line %zu: a space at the end of the line", no);
    return Error(Errc::kMalformed, "hints line %zu: text after the file name (`%.*s')", no, kShow,
                 field[4]);
  }
  if (const char* why = name_problem(field[1]))
    return Error(Errc::kMalformed, "hints line %zu: module name `%.*s' %s", no, kShow, field[1],
                 why);
  uint32_t version = 0;
  bool overflow = false;
  if (!parse_u32(field[2], &version, &overflow)) {
    return Error(Errc::kMalformed, "hints line %zu: version `%.*s' %s", no, kShow, field[2],
                 overflow ? "does not fit in 32 bits" : "is not a number");
  }
  if (const char* why = hint_file_problem(field[3]))
    return Error(Errc::kMalformed, "hints line %zu: file `%.*s' %s", no, kShow, field[3], why);
  if (!entries.push(HintEntry{field[1], version, field[3]}))
    return Error(Errc::kNoMemory, "hints line %zu: out of memory for the entries", no);
  return Ok();
}

size_t decimal_digits(uint32_t v) {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

}  // namespace

Result<void> Hints::parse(ByteView text) {
  Vec<char> copy(text_.allocator());
  Vec<HintEntry> fresh(entries.allocator());
  if (text.size() == SIZE_MAX || !copy.resize(text.size() + 1))
    return Error(Errc::kNoMemory, "hints: out of memory for %zu bytes", text.size());
  if (!text.empty()) mk_memcpy(copy.data(), text.data(), text.size());
  copy[text.size()] = '\0';

  size_t no = 0;
  for (size_t pos = 0; pos < text.size();) {
    ++no;
    size_t end = pos;
    while (end < text.size() && copy[end] != '\n')
      ++end;
    if (end == text.size())
      return Error(Errc::kMalformed, "hints line %zu: no newline at the end of the file", no);
    copy[end] = '\0';
    if (mk_strlen(&copy[pos]) != end - pos)  // a NUL byte in the line
      return Error(Errc::kMalformed, "hints line %zu: control character 0x0 at column %zu", no,
                   mk_strlen(&copy[pos]) + 1);
    MK_TRY(parse_line(&copy[pos], no, fresh));
    pos = end + 1;
  }
  text_ = static_cast<Vec<char>&&>(copy);
  entries = static_cast<Vec<HintEntry>&&>(fresh);
  return Ok();
}

const HintEntry* Hints::choose(const char* module, uint32_t min, uint32_t preferred,
                               uint32_t max) const {
  VersionRange r{min, preferred, max};
  const HintEntry* best = nullptr;
  for (const HintEntry& e : entries) {
    if (!r.contains(e.version) || !str_eq(e.module, module)) continue;
    if (best == nullptr || better_version(e.version, best->version, r)) best = &e;
  }
  return best;
}

const char* hint_file_problem(const char* file) {
  if (file[0] == '\0') return "is empty";
  if (file[0] == '/') return "is absolute";
  for (const char* p = file; *p != '\0'; ++p) {
    auto ch = static_cast<uint8_t>(*p);
    if (ch == ' ') return "has a space";
    if (ch < 0x20 || ch == 0x7f) return "has a control character";
  }
  for (const char* p = file; *p != '\0';) {  // each component
    const char* end = p;
    while (*end != '\0' && *end != '/')
      ++end;
    if (end - p == 2 && p[0] == '.' && p[1] == '.') return "has a `..' component";
    p = *end == '/' ? end + 1 : end;
  }
  return nullptr;
}

Result<void> write_hints(const HintEntry* entries, size_t n, Vec<char>& out) {
  // Check everything and size the text first: one allocation, and `out` is
  // untouched on failure.
  size_t total = sizeof kHeader;  // the header and its '\n'
  for (size_t i = 0; i < n; ++i) {
    const HintEntry& e = entries[i];
    if (const char* why = name_problem(e.module))
      return Error(Errc::kInvalid, "hints entry %zu: module name `%.*s' %s", i, kShow, e.module,
                   why);
    if (const char* why = hint_file_problem(e.file))
      return Error(Errc::kInvalid, "hints entry %zu: file `%.*s' %s", i, kShow, e.file, why);
    // "module NAME VERSION FILE\n"; names and files are bounded by the
    // address space, so the sum cannot overflow before memory runs out.
    total += sizeof kRecord + mk_strlen(e.module) + 1 + decimal_digits(e.version) + 1 +
             mk_strlen(e.file) + 1;
  }
  if (!out.reserve(out.size() + total))
    return Error(Errc::kNoMemory, "hints: out of memory for %zu bytes", total);

  auto append = [&out](const char* s) {
    for (; *s != '\0'; ++s)
      (void)out.push(*s);  // reserved above
  };
  append(kHeader);
  append("\n");
  for (size_t i = 0; i < n; ++i) {
    char version[16];
    format(version, sizeof version, "%u", entries[i].version);
    append(kRecord);
    append(" ");
    append(entries[i].module);
    append(" ");
    append(version);
    append(" ");
    append(entries[i].file);
    append("\n");
  }
  return Ok();
}

}  // namespace mk::module
