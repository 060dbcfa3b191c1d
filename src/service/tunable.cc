#include "service/tunable.h"

#include "module/metadata.h"
#include "support/format.h"
#include "support/memory.h"

namespace mk::service {

namespace {

using module::kNameMax;

// The fields of an mk_meta_tunable in loaded memory (validated at load by
// read_metadata: strings NUL-terminated, type known, size fitting the type).
struct View {
  const char* module;
  const char* name;
  const char* description;
  const char* def;
  uint32_t type;
  uint32_t size;
  void* addr;
};

View view(uintptr_t rec) {
  View v;
  v.module = reinterpret_cast<const char*>(rec + 8);
  v.name = reinterpret_cast<const char*>(rec + 8 + kNameMax);
  v.description = reinterpret_cast<const char*>(rec + module::kTunableDescOffset);
  v.def = reinterpret_cast<const char*>(rec + module::kTunableDefaultOffset);
  uintptr_t nums = rec + module::kTunableDefaultOffset + module::kTunableDefaultMax;
  mk_memcpy(&v.type, reinterpret_cast<const void*>(nums), 4);
  mk_memcpy(&v.size, reinterpret_cast<const void*>(nums + 4), 4);
  mk_memcpy(&v.addr, reinterpret_cast<const void*>(rec + module::kTunableAddrOffset),
            sizeof v.addr);
  return v;
}

bool equal_n(const char* a, size_t n, const char* b) {
  for (size_t i = 0; i < n; ++i)
    if (b[i] != a[i] || b[i] == '\0') return false;
  return b[n] == '\0';
}

// A decimal or 0x-hex number with an optional '-': false on anything else,
// or past 64 bits.
bool parse_number(const char* s, bool* negative, uint64_t* out) {
  *negative = *s == '-';
  if (*negative) ++s;
  unsigned base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (*s == '\0') return false;
  uint64_t v = 0;
  for (; *s != '\0'; ++s) {
    unsigned d;
    if (*s >= '0' && *s <= '9')
      d = static_cast<unsigned>(*s - '0');
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      d = static_cast<unsigned>(*s - 'a' + 10);
    else if (base == 16 && *s >= 'A' && *s <= 'F')
      d = static_cast<unsigned>(*s - 'A' + 10);
    else
      return false;
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

// Converts text to a tunable's value: the 4-byte word of a number, or
// nothing for a string (checked for length). Returns why not, or nullptr.
const char* convert(const View& t, const char* text, uint32_t* word) {
  bool neg = false;
  uint64_t mag = 0;
  switch (t.type) {
    case module::kTunableInt:
      if (!parse_number(text, &neg, &mag) || (neg ? mag > 2147483648u : mag > 2147483647u))
        return "not an int (-2147483648..2147483647, decimal or 0x hex)";
      *word = static_cast<uint32_t>(neg ? 0 - mag : mag);
      return nullptr;
    case module::kTunableUint:
      if (!parse_number(text, &neg, &mag) || neg || mag > UINT32_MAX)
        return "not a uint (0..4294967295, decimal or 0x hex)";
      *word = static_cast<uint32_t>(mag);
      return nullptr;
    case module::kTunableBool: {
      static const char* const yes[] = {"1", "true", "yes", "on"};
      static const char* const no[] = {"0", "false", "no", "off"};
      for (const char* w : yes)
        if (str_eq(text, w)) return *word = 1, nullptr;
      for (const char* w : no)
        if (str_eq(text, w)) return *word = 0, nullptr;
      return "not a bool (0/1, true/false, yes/no, on/off)";
    }
    case module::kTunableString:
      if (mk_strlen(text) >= t.size) return "too long for its string";
      return nullptr;
  }
  return "of an unknown type";
}

// Stores a converted value (the caller keeps the module loaded).
void store(const View& t, const char* text, uint32_t word) {
  if (t.type != module::kTunableString) {
    __atomic_store_n(static_cast<uint32_t*>(t.addr), word, __ATOMIC_RELAXED);
    return;
  }
  char* dst = static_cast<char*>(t.addr);
  size_t n = mk_strlen(text);
  // Shorter first (terminated early), then the bytes: a reader never runs off.
  __atomic_store_n(&dst[n], '\0', __ATOMIC_RELAXED);
  for (size_t i = 0; i < n; ++i)
    __atomic_store_n(&dst[i], text[i], __ATOMIC_RELAXED);
}

void show(const View& t, char* out, size_t cap) {
  if (t.type == module::kTunableString) {
    const char* src = static_cast<const char*>(t.addr);
    size_t i = 0;
    for (; i + 1 < cap && i < t.size; ++i) {
      char ch = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
      if (ch == '\0') break;
      out[i] = ch;
    }
    out[i] = '\0';
    return;
  }
  uint32_t w = __atomic_load_n(static_cast<const uint32_t*>(t.addr), __ATOMIC_RELAXED);
  if (t.type == module::kTunableInt)
    format(out, cap, "%d", static_cast<int>(w));
  else
    format(out, cap, "%u", w);
}

}  // namespace

const char* tunable_type_name(uint32_t type) {
  switch (type) {
    case module::kTunableInt:
      return "int";
    case module::kTunableUint:
      return "uint";
    case module::kTunableBool:
      return "bool";
    case module::kTunableString:
      return "string";
  }
  return "?";
}

Tunables::Tunables(Registrations& regs) : regs_(regs), entries_(regs.allocator()) {
  mu_ = regs_.threads().new_mutex();
}

Tunables::~Tunables() {
  for (Entry* e : entries_)
    destroy(regs_.allocator(), e);
  if (mu_ != nullptr) regs_.threads().delete_mutex(mu_);
}

void Tunables::revoke(void* ctx, void* entry) {
  auto* self = static_cast<Tunables*>(ctx);
  auto* e = static_cast<Entry*>(entry);
  {
    LockGuard g(*self->mu_);
    for (size_t i = 0; i < self->entries_.size(); ++i)
      if (self->entries_[i] == e) self->entries_.erase(i);
  }
  destroy(self->regs_.allocator(), e);
}

Result<void> Tunables::start_file(module::File& f, const module::LoadParams& p) {
  if (mu_ == nullptr) return Error(Errc::kNoMemory, "%s: tunables: no lock", f.name);
  // Check every item before writing any.
  struct Pending {
    const module::TunableEntry* t;
    const char* value;
    uint32_t word;
  };
  Vec<Pending> pending(regs_.allocator());
  if (!pending.reserve(p.count)) return Error(Errc::kNoMemory, "%s: out of memory", f.name);
  for (size_t i = 0; i < p.count; ++i) {
    const char* item = p.items[i];
    const char* eq = item;
    while (*eq != '\0' && *eq != '=')
      ++eq;
    if (*eq != '=' || eq == item)
      return Error(Errc::kInvalid, "%s: parameter '%s' is not name=value", f.name, item);
    size_t klen = static_cast<size_t>(eq - item);
    const module::TunableEntry* hit = nullptr;
    size_t hits = 0;
    for (const module::TunableEntry& t : f.tunables) {
      View v = view(t.record);
      size_t mlen = mk_strlen(v.module);
      bool dotted = klen > mlen && item[mlen] == '.' && equal_n(item, mlen, v.module) &&
                    equal_n(item + mlen + 1, klen - mlen - 1, v.name);
      if (!dotted && !equal_n(item, klen, v.name)) continue;
      hit = &t;
      ++hits;
    }
    if (hits == 0) {
      char have[256];
      size_t n = 0;
      for (const module::TunableEntry& t : f.tunables) {
        View v = view(t.record);
        n += format(have + n, sizeof have - n, "%s%s.%s", n == 0 ? "" : ", ", v.module, v.name);
      }
      if (n == 0)
        return Error(Errc::kNotFound, "%s: no parameter '%.*s' (the file declares no tunables)",
                     f.name, static_cast<int>(klen), item);
      return Error(Errc::kNotFound, "%s: no parameter '%.*s' (its tunables: %s)", f.name,
                   static_cast<int>(klen), item, have);
    }
    if (hits > 1)
      return Error(Errc::kInvalid,
                   "%s: parameter '%.*s' is a tunable of several of its modules; name one as "
                   "module.%.*s",
                   f.name, static_cast<int>(klen), item, static_cast<int>(klen), item);
    View v = view(hit->record);
    uint32_t word = 0;
    if (const char* why = convert(v, eq + 1, &word))
      return Error(Errc::kInvalid, "%s: parameter %s.%s=%s: %s value is %s", f.name, v.module,
                   v.name, eq + 1, tunable_type_name(v.type), why);
    (void)pending.push(Pending{hit, eq + 1, word});  // reserved
  }
  for (const Pending& w : pending)
    store(view(w.t->record), w.value, w.word);

  // Register every tunable; on failure take back those registered.
  Error failed;
  bool ok = true;
  for (const module::TunableEntry& t : f.tunables) {
    module::Module* owner = f.modules[t.module];
    Entry* e = make<Entry>(regs_.allocator(), Entry{owner, t.record, nullptr});
    bool pushed = false;
    if (e != nullptr) {
      LockGuard g(*mu_);
      pushed = entries_.push(e);
    }
    if (!pushed) {
      destroy(regs_.allocator(), e);
      failed = Error(Errc::kNoMemory, "%s: out of memory registering tunables", f.name);
      ok = false;
      break;
    }
    Result<Handle> h =
        regs_.add_declared(owner, "tunable", view(t.record).name, &Tunables::revoke, this, e);
    if (!h) {
      revoke(this, e);
      failed = h.error();
      ok = false;
      break;
    }
    e->handle = h.value();
  }
  if (ok) return Ok();
  for (size_t i = 0; i < f.modules.size(); ++i)
    (void)regs_.module_stopped(f.modules[i]);  // only declared entries exist yet: nothing logged
  return failed;
}

Tunables::Entry* Tunables::find_locked(const char* module, const char* name) {
  for (Entry* e : entries_) {
    View v = view(e->record);
    if (str_eq(e->owner->name, module) && str_eq(v.name, name)) return e;
  }
  return nullptr;
}

Result<void> Tunables::get(const char* module, const char* name, char* out, size_t cap) {
  LockGuard g(*mu_);
  Entry* e = find_locked(module, name);
  if (e == nullptr)
    return Error(Errc::kNotFound, "module %s has no tunable '%s' (or is not loaded)", module, name);
  show(view(e->record), out, cap);
  return Ok();
}

Result<void> Tunables::set(const char* module, const char* name, const char* value) {
  LockGuard g(*mu_);
  Entry* e = find_locked(module, name);
  if (e == nullptr)
    return Error(Errc::kNotFound, "module %s has no tunable '%s' (or is not loaded)", module, name);
  View v = view(e->record);
  uint32_t word = 0;
  if (const char* why = convert(v, value, &word))
    return Error(Errc::kInvalid, "%s.%s=%s: %s value is %s", module, name, value,
                 tunable_type_name(v.type), why);
  store(v, value, word);
  return Ok();
}

void Tunables::for_each(const char* module, void (*fn)(void* ctx, const TunableInfo& t),
                        void* ctx) {
  LockGuard g(*mu_);
  char value[kTunableValueMax];
  for (Entry* e : entries_) {
    if (module != nullptr && !str_eq(e->owner->name, module)) continue;
    View v = view(e->record);
    show(v, value, sizeof value);
    fn(ctx, TunableInfo{e->owner->name, v.name, v.type, v.description, v.def, value});
  }
}

}  // namespace mk::service
