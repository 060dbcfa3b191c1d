#include "module/match.h"

#include "module/metadata.h"
#include "support/memory.h"

namespace mk::module {

bool entry_matches(const MatchEntry& e, const DeviceIds& ids) {
  switch (e.kind) {
    case MatchKind::kIds:
      return e.vendor == ids.vendor && (e.device == kMatchAny || e.device == ids.device);
    case MatchKind::kCompat:
      for (size_t i = 0; i < ids.ncompat; ++i)
        if (str_eq(e.compat, ids.compat[i])) return true;
      return false;
  }
  return false;
}

const char* short_name_problem(const char* s) {
  if (!is_identifier(s)) return "is not a C identifier";
  if (mk_strlen(s) >= kShortNameMax) return "is longer than 31 characters";
  return nullptr;
}

const char* compat_problem(const char* s) {
  if (s[0] == '\0') return "is empty";
  size_t n = 0;
  for (const char* p = s; *p != '\0'; ++p, ++n) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ',' || c == '.' || c == '_' || c == '+' || c == '-';
    if (!ok) return "has a character outside [A-Za-z0-9,._+-]";
  }
  if (n >= kCompatMax) return "is longer than 63 characters";
  return nullptr;
}

}  // namespace mk::module
