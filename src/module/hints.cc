#include "module/hints.h"

#include "module/metadata.h"
#include "module/version.h"
#include "support/format.h"
#include "support/memory.h"
#include "support/name_table.h"

namespace mk::module {
namespace {

constexpr char kHeader[] = "modkit-hints 2";
constexpr char kHeaderV1[] = "modkit-hints 1";
constexpr char kHeaderWord[] = "modkit-hints ";
constexpr char kRecord[] = "module";
constexpr char kMatchRecord[] = "match";
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

// "0x" and one to eight hexadecimal digits.
bool parse_hex32(const char* s, uint32_t* out) {
  if (s[0] != '0' || s[1] != 'x' || s[2] == '\0') return false;
  uint32_t v = 0;
  size_t digits = 0;
  for (const char* p = s + 2; *p != '\0'; ++p, ++digits) {
    char c = *p;
    uint32_t d = 0;
    if (c >= '0' && c <= '9')
      d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<uint32_t>(c - 'A' + 10);
    else
      return false;
    if (digits == 8) return false;
    v = v << 4 | d;
  }
  *out = v;
  return true;
}

const char* name_problem(const char* name) {
  if (!is_identifier(name)) return "is not a C identifier";
  if (mk_strlen(name) >= kNameMax) return "is longer than 63 characters";
  return nullptr;
}

// What parsing has seen so far.
struct ParseState {
  uint32_t version = 0;  // of the header
  Vec<HintEntry>& entries;
  Vec<HintMatch>& matches;
  NameTable& modules;  // of the `module' lines so far
};

// Splits a line on single spaces into at most `max` fields (the last one
// keeps any further spaces). Returns the count.
size_t split(char* line, char** field, size_t max) {
  size_t fields = 0;
  for (char* p = line;;) {
    field[fields++] = p;
    while (*p != '\0' && *p != ' ')
      ++p;
    if (*p == '\0' || fields == max) break;
    *p++ = '\0';
  }
  return fields;
}

// Checks that fields [1, want) are present and non-empty and nothing follows.
Result<void> expect_fields(char** field, size_t fields, size_t want, size_t no, const char* form,
                           const char* last = "the last field") {
  for (size_t i = 1; i < want; ++i) {
    if (i >= fields || field[i][0] == '\0')
      return Error(Errc::kMalformed, "hints line %zu: expected `%s', fields separated by one space",
                   no, form);
  }
  if (fields > want) {
    if (field[want][0] == '\0')
      return Error(Errc::kMalformed, "hints line %zu: a space at the end of the line", no);
    return Error(Errc::kMalformed, "hints line %zu: text after %s (`%.*s')", no, last, kShow,
                 field[want]);
  }
  return Ok();
}

Result<void> parse_module(char** field, size_t fields, size_t no, ParseState& st) {
  MK_TRY(expect_fields(field, fields, 4, no, "module NAME VERSION FILE", "the file name"));
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
  NameTable::Slot* first = nullptr;
  if (!st.entries.push(HintEntry{field[1], version, field[3]}) ||
      !st.modules.insert(field[1], name_hash(field[1]), 0, &first))
    return Error(Errc::kNoMemory, "hints line %zu: out of memory for the entries", no);
  return Ok();
}

Result<void> parse_match(char** field, size_t fields, size_t no, ParseState& st) {
  constexpr char kIdsForm[] = "match MODULE DRIVER BUS PRIORITY ids VENDOR DEVICE";
  constexpr char kCompatForm[] = "match MODULE DRIVER BUS PRIORITY compat STRING";
  if (st.version < 2)
    return Error(Errc::kMalformed,
                 "hints line %zu: `match' records need format version 2 (the header says 1)", no);
  bool compat = fields > 5 && str_eq(field[5], "compat");
  MK_TRY(expect_fields(field, fields, compat ? 7 : 8, no, compat ? kCompatForm : kIdsForm));
  if (const char* why = name_problem(field[1]))
    return Error(Errc::kMalformed, "hints line %zu: module name `%.*s' %s", no, kShow, field[1],
                 why);
  if (const char* why = short_name_problem(field[2]))
    return Error(Errc::kMalformed, "hints line %zu: driver name `%.*s' %s", no, kShow, field[2],
                 why);
  if (const char* why = short_name_problem(field[3]))
    return Error(Errc::kMalformed, "hints line %zu: bus name `%.*s' %s", no, kShow, field[3], why);
  uint32_t priority = 0;
  bool overflow = false;
  if (!parse_u32(field[4], &priority, &overflow))
    return Error(Errc::kMalformed, "hints line %zu: priority `%.*s' %s", no, kShow, field[4],
                 overflow ? "does not fit in 32 bits" : "is not a number");
  HintMatch m{field[1], field[2], field[3], priority, MatchEntry{MatchKind::kIds, 0, 0, ""}};
  if (compat) {
    if (const char* why = compat_problem(field[6]))
      return Error(Errc::kMalformed, "hints line %zu: compatible string `%.*s' %s", no, kShow,
                   field[6], why);
    m.entry = MatchEntry{MatchKind::kCompat, 0, 0, field[6]};
  } else {
    if (!str_eq(field[5], "ids"))
      return Error(Errc::kMalformed, "hints line %zu: match kind `%.*s' is not `ids' or `compat'",
                   no, kShow, field[5]);
    if (!parse_hex32(field[6], &m.entry.vendor))
      return Error(Errc::kMalformed,
                   "hints line %zu: vendor id `%.*s' is not 0x and 1 to 8 hexadecimal digits", no,
                   kShow, field[6]);
    if (str_eq(field[7], "any")) {
      m.entry.device = kMatchAny;
    } else if (!parse_hex32(field[7], &m.entry.device)) {
      return Error(Errc::kMalformed,
                   "hints line %zu: device id `%.*s' is not 0x and 1 to 8 hexadecimal digits, or "
                   "`any'",
                   no, kShow, field[7]);
    }
  }
  if (st.modules.find(field[1]) == nullptr)
    return Error(Errc::kMalformed,
                 "hints line %zu: match names module `%.*s', which no earlier `module' line "
                 "declares",
                 no, kShow, field[1]);
  if (!st.matches.push(m))
    return Error(Errc::kNoMemory, "hints line %zu: out of memory for the entries", no);
  return Ok();
}

// One line (NUL-terminated in place, without its '\n'), numbered `no`.
// Appends its entry, if it has one.
Result<void> parse_line(char* line, size_t no, ParseState& st) {
  for (const char* p = line; *p != '\0'; ++p) {
    auto ch = static_cast<uint8_t>(*p);
    if (ch < 0x20 || ch == 0x7f)
      return Error(Errc::kMalformed, "hints line %zu: control character %#x at column %zu", no, ch,
                   static_cast<size_t>(p - line) + 1);
  }
  if (no == 1) {
    if (str_eq(line, kHeader)) {
      st.version = 2;
      return Ok();
    }
    if (str_eq(line, kHeaderV1)) {
      st.version = 1;
      return Ok();
    }
    uint32_t version = 0;
    bool overflow = false;
    if (starts_with(line, kHeaderWord) &&
        parse_u32(line + sizeof kHeaderWord - 1, &version, &overflow) && version > 2)
      return Error(Errc::kUnsupported,
                   "hints line 1: format version %u is not supported (only 1 and 2)", version);
    return Error(Errc::kMalformed, "hints line 1: `%.*s' is not the header `%s'", kShow, line,
                 kHeader);
  }
  if (line[0] == '\0') return Error(Errc::kMalformed, "hints line %zu: empty line", no);
  if (line[0] == '#') return Ok();

  // A module line keeps what follows its FILE in one field, for the message.
  char* field[9] = {};
  bool module = starts_with(line, "module ") || str_eq(line, kRecord);
  size_t fields = split(line, field, module ? 5 : 9);
  if (str_eq(field[0], kRecord)) return parse_module(field, fields, no, st);
  if (str_eq(field[0], kMatchRecord)) return parse_match(field, fields, no, st);
  return Error(Errc::kMalformed,
               "hints line %zu: unknown record `%.*s' (expected `module' or "
               "`match')",
               no, kShow, field[0]);
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
  Vec<HintMatch> fresh_matches(matches.allocator());
  NameTable modules(entries.allocator());
  ParseState st{0, fresh, fresh_matches, modules};
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
    MK_TRY(parse_line(&copy[pos], no, st));
    pos = end + 1;
  }
  text_ = static_cast<Vec<char>&&>(copy);
  entries = static_cast<Vec<HintEntry>&&>(fresh);
  matches = static_cast<Vec<HintMatch>&&>(fresh_matches);
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

const HintMatch* Hints::best_match(const char* bus, const DeviceIds& ids) const {
  const HintMatch* best = nullptr;
  for (const HintMatch& m : matches) {
    if (!str_eq(m.bus, bus) || !entry_matches(m.entry, ids)) continue;
    if (best == nullptr || m.priority > best->priority) best = &m;
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

Result<void> write_hints(const HintEntry* entries, size_t n, const HintMatch* matches,
                         size_t nmatches, Vec<char>& out) {
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
  for (size_t i = 0; i < nmatches; ++i) {
    const HintMatch& m = matches[i];
    const char* why = nullptr;
    const char* what = nullptr;
    const char* value = nullptr;
    if ((why = name_problem(m.module)) != nullptr) {
      what = "module name";
      value = m.module;
    } else if ((why = short_name_problem(m.driver)) != nullptr) {
      what = "driver name";
      value = m.driver;
    } else if ((why = short_name_problem(m.bus)) != nullptr) {
      what = "bus name";
      value = m.bus;
    } else if (m.entry.kind == MatchKind::kCompat &&
               (why = compat_problem(m.entry.compat)) != nullptr) {
      what = "compatible string";
      value = m.entry.compat;
    }
    if (why != nullptr)
      return Error(Errc::kInvalid, "hints match %zu: %s `%.*s' %s", i, what, kShow, value, why);
    bool known = false;
    for (size_t k = 0; k < n && !known; ++k)
      known = str_eq(entries[k].module, m.module);
    if (!known)
      return Error(Errc::kInvalid, "hints match %zu: module `%.*s' has no entry", i, kShow,
                   m.module);
    // "match M D B P ids 0x12345678 0x12345678\n" at most, or "... compat S\n".
    total += sizeof kMatchRecord + mk_strlen(m.module) + mk_strlen(m.driver) + mk_strlen(m.bus) +
             decimal_digits(m.priority) + 4 + 32 + mk_strlen(m.entry.compat);
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
  for (size_t i = 0; i < nmatches; ++i) {
    const HintMatch& m = matches[i];
    char num[48];
    append(kMatchRecord);
    append(" ");
    append(m.module);
    append(" ");
    append(m.driver);
    append(" ");
    append(m.bus);
    format(num, sizeof num, " %u ", m.priority);
    append(num);
    if (m.entry.kind == MatchKind::kCompat) {
      append("compat ");
      append(m.entry.compat);
    } else if (m.entry.device == kMatchAny) {
      format(num, sizeof num, "ids 0x%x any", m.entry.vendor);
      append(num);
    } else {
      format(num, sizeof num, "ids 0x%x 0x%x", m.entry.vendor, m.entry.device);
      append(num);
    }
    append("\n");
  }
  return Ok();
}

}  // namespace mk::module
