#include "module/registry.h"

#include <stdarg.h>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "module/file_resolver.h"
#include "support/format.h"

namespace mk::module {

namespace {

// Event numbers of the SDK (sdk/include/modkit/module.h).
constexpr int kEventLoad = 1, kEventQuiesce = 2, kEventUnload = 3, kEventShutdown = 4,
              kEventResume = 5;

using EventFn = int (*)(::mk_module*, int, void*);
using SysinitFn = void (*)(void*);

void copy_name(char* dst, size_t cap, const char* src) {
  size_t n = mk_strlen(src);
  if (n >= cap) n = cap - 1;
  mk_memcpy(dst, src, n);
  dst[n] = '\0';
}

uintptr_t read_ptr(uintptr_t at) {
  uintptr_t v;
  mk_memcpy(&v, reinterpret_cast<const void*>(at), sizeof v);
  return v;
}

bool sysinit_before(const SysinitEntry& a, const SysinitEntry& b) {
  if (a.subsystem != b.subsystem) return a.subsystem < b.subsystem;
  if (a.order != b.order) return a.order < b.order;
  return a.seq < b.seq;
}

}  // namespace

const char* state_name(State s) {
  switch (s) {
    case State::kLoading:
      return "LOADING";
    case State::kLive:
      return "LIVE";
    case State::kQuiescing:
      return "QUIESCING";
    case State::kGoing:
      return "GOING";
    case State::kGone:
      return "GONE";
  }
  return "?";
}

struct Registry::LoadCtx {
  explicit LoadCtx(Allocator& a, const LoadParams& p) : chain(a), loaded(a), params(p) {}
  Vec<const char*> chain;  // modules whose dependencies are being loaded, outermost first
  Vec<File*> loaded;       // files this request loaded as dependencies
  LoadParams params;       // for the file the request names
};

Registry::Registry(const RegistryDeps& deps)
    : d_(deps), alloc_(*deps.alloc), files_(*deps.alloc), scratch_(*deps.alloc) {
  mu_ = d_.threads->new_mutex();
  cv_ = d_.threads->new_condvar();
}

Registry::~Registry() {
  for (size_t i = files_.size(); i > 0; --i)
    destroy_file(files_[i - 1]);
  if (mu_ != nullptr) d_.threads->delete_mutex(mu_);
  if (cv_ != nullptr) d_.threads->delete_condvar(cv_);
}

void Registry::logf(const char* fmt, ...) {
  if (d_.log == nullptr) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vformat(line, sizeof line, fmt, ap);
  va_end(ap);
  d_.log(d_.log_ctx, line);
}

void Registry::set_veto(Module* m, const char* reason) {
  copy_name(m->veto, sizeof m->veto, reason);
}

// ---- the loader lock: one load or unload at a time, recursive per thread ----

void Registry::enter() {
  uint64_t self = d_.threads->thread_id();
  LockGuard g(*mu_);
  while (loader_owner_ != 0 && loader_owner_ != self)
    cv_->wait(*mu_);
  loader_owner_ = self;
  ++loader_depth_;
}

void Registry::leave() {
  LockGuard g(*mu_);
  if (--loader_depth_ == 0) {
    loader_owner_ = 0;
    cv_->broadcast();
  }
}

// ---- lookups ----

Module* Registry::find_module_nolock(const char* name) {
  for (File* f : files_)
    for (Module* m : f->modules)
      if (m->state != State::kGone && str_eq(m->name, name)) return m;
  return nullptr;
}

Module* Registry::find_module(const char* name) {
  LockGuard g(*mu_);
  return find_module_nolock(name);
}

File* Registry::find_file(const char* name) {
  LockGuard g(*mu_);
  for (File* f : files_)
    if (str_eq(f->name, name)) return f;
  return nullptr;
}

File* Registry::kernel() {
  LockGuard g(*mu_);  // a load may be growing files_
  return files_.empty() ? nullptr : files_[0];
}

size_t Registry::file_count() {
  LockGuard g(*mu_);
  return files_.size();
}

void Registry::for_each_file(void (*fn)(void* ctx, const File& f), void* ctx) {
  LockGuard g(*mu_);
  for (const File* f : files_)
    fn(ctx, *f);
}

int Registry::send(Module* m, int event) {
  if (m->handler == 0) return 0;
  return reinterpret_cast<EventFn>(m->handler)(m, event, reinterpret_cast<void*>(m->arg));
}

// ---- references ----

Result<void> Registry::get(Module* m) {
  LockGuard g(*mu_);
  if (m->state != State::kLive)
    return Error(Errc::kBusy, "module %s is %s: no new references", m->name, state_name(m->state));
  ++m->refs;
  return Ok();
}

Result<Module*> Registry::get(const char* name) {
  LockGuard g(*mu_);
  Module* m = find_module_nolock(name);
  if (m == nullptr) return Error(Errc::kNotFound, "module %s is not loaded", name);
  if (m->state != State::kLive)
    return Error(Errc::kBusy, "module %s is %s: no new references", m->name, state_name(m->state));
  ++m->refs;
  return m;
}

void Registry::put(Module* m) {
  bool finish = false;
  File* f = m->file;
  {
    LockGuard g(*mu_);
    if (m->refs > 0) --m->refs;
    if (f->deferred && m->refs == 0) {
      finish = true;
      for (Module* o : f->modules)
        finish = finish && o->refs == 0;
      if (finish) f->deferred = false;  // exactly one put finishes it
    }
    cv_->broadcast();
  }
  if (finish) {
    enter();
    logf("%s: last reference gone, completing the deferred unload", f->name);
    finish_unload(f);
    leave();
  }
}

bool Registry::put_unless_finishing(Module* m) {
  LockGuard g(*mu_);
  File* f = m->file;
  if (f->deferred && m->refs == 1) {
    bool last = true;
    for (Module* o : f->modules)
      last = last && (o == m || o->refs == 0);
    if (last) return false;
  }
  if (m->refs > 0) --m->refs;
  cv_->broadcast();
  return true;
}

// ---- load ----

Result<File*> Registry::load_module(const char* module, const VersionRange& r,
                                    const LoadParams& p) {
  enter();
  LoadCtx ctx(alloc_, p);
  Result<File*> res = load_module_locked(module, r, ctx);
  if (!res) undo_request(ctx);
  leave();
  return res;
}

Result<File*> Registry::load_path(const char* path, const LoadParams& p) {
  enter();
  LoadCtx ctx(alloc_, p);
  Result<File*> res = load_path_locked(path, ctx, false);
  if (!res) undo_request(ctx);
  leave();
  return res;
}

Result<File*> Registry::load_bytes(ByteView bytes, const char* name, const LoadParams& p) {
  enter();
  LoadCtx ctx(alloc_, p);
  Result<File*> res = load_bytes_locked(bytes, name, ctx, false);
  if (!res) undo_request(ctx);
  leave();
  return res;
}

// Unloads what a failed request loaded, newest first. Unloading one file
// takes the dependencies loaded only for it along, which may be files of
// ctx.loaded too: those are gone (freed) by their turn, so each is looked
// for in files_ first and only a listed one is touched.
void Registry::undo_request(LoadCtx& ctx) {
  for (size_t i = ctx.loaded.size(); i > 0; --i) {
    File* u = ctx.loaded[i - 1];
    bool present = false;
    {
      LockGuard g(*mu_);
      for (File* x : files_)
        present = present || x == u;
    }
    if (present) (void)unload_locked(u, UnloadOptions{});
  }
}

Result<File*> Registry::load_module_locked(const char* module, const VersionRange& r,
                                           LoadCtx& ctx) {
  if (Module* m = find_module(module)) {
    return Error(Errc::kDuplicate, "module %s is already loaded (version %u, from %s)", module,
                 m->version, m->file->name);
  }
  if (d_.source == nullptr)
    return Error(Errc::kNotFound,
                 "module %s is not loaded, and there is no module path to find it in", module);
  Result<Buffer> hb = d_.source->hints();
  if (!hb) return hb.error();
  Hints hints(alloc_);
  Result<void> parsed = hints.parse(hb.value().bytes);
  d_.source->release(hb.value());
  if (!parsed) {
    Error e = parsed.error();
    e.prefix("hints index: ");
    return e;
  }
  const HintEntry* h = hints.choose(module, r.min, r.preferred, r.max);
  if (h == nullptr)
    return Error(Errc::kNotFound,
                 "module %s (version %u..%u) is not in the hints index of the module path; "
                 "run `modkit xref` on the module directory",
                 module, r.min, r.max);
  // Called from satisfy(), the file is a dependency (satisfy pushed its dependent).
  Result<File*> f = load_path_locked(h->file, ctx, !ctx.chain.empty());
  if (!f) return f;
  Module* m = find_module(module);
  if (m == nullptr || m->file != f.value() || !r.contains(m->version)) {
    File* bad = f.value();
    (void)unload_locked(bad, UnloadOptions{});
    return Error(Errc::kMalformed,
                 "the hints index says %s provides module %s version %u, but the file does not; "
                 "run `modkit xref` again",
                 h->file, module, h->version);
  }
  return f;
}

Result<File*> Registry::load_path_locked(const char* path, LoadCtx& ctx, bool autoloaded) {
  if (d_.source == nullptr) return Error(Errc::kNotFound, "%s: no module source", path);
  Result<Buffer> b = d_.source->read(path);
  if (!b) return b.error();
  Result<File*> f = load_bytes_locked(b.value().bytes, path, ctx, autoloaded);
  d_.source->release(b.value());
  return f;
}

// Orders a new file's modules: dependencies inside the file first, then by
// declaration line, then by record position.
static void order_modules(Vec<Module*>& mods, const Metadata& md) {
  for (size_t i = 1; i < mods.size(); ++i) {
    Module* m = mods[i];
    size_t j = i;
    while (j > 0 && mods[j - 1]->line > m->line) {
      mods[j] = mods[j - 1];
      --j;
    }
    mods[j] = m;
  }
  // Dependencies inside the file: move each dependency before its dependent
  // (repeat until stable; n is small and cycles are refused earlier).
  for (size_t pass = 0; pass < mods.size(); ++pass) {
    bool moved = false;
    for (const DependDecl& d : md.depends) {
      const char* who = md.modules[d.module].name;
      size_t wi = mods.size(), ti = mods.size();
      for (size_t k = 0; k < mods.size(); ++k) {
        if (str_eq(mods[k]->name, who)) wi = k;
        if (str_eq(mods[k]->name, d.target)) ti = k;
      }
      if (wi < mods.size() && ti < mods.size() && ti > wi) {
        Module* t = mods[ti];
        for (size_t k = ti; k > wi; --k)
          mods[k] = mods[k - 1];
        mods[wi] = t;
        moved = true;
      }
    }
    if (!moved) break;
  }
}

Result<File*> Registry::load_bytes_locked(ByteView bytes, const char* name, LoadCtx& ctx,
                                          bool autoloaded) {
  // Signature policy first, over the raw bytes: nothing parses an unchecked
  // file. The linker sees only what the signature covers.
  if (d_.signature != nullptr) bytes = MK_TRY(d_.signature->check(bytes, name));
  // Everything taken from the scratch from here on is given back when this
  // returns, after the validated object below is destroyed.
  ScratchScope temporaries(scratch_);
  Result<elf::ValidatedObject> vo = elf::validate(bytes, arch::rules_for, scratch_);
  if (!vo) {
    Error e = vo.error();
    e.prefix("%s: ", name);
    return e;
  }
  elf::ValidatedObject& obj = vo.value();
  ByteView spans[16];
  uint32_t span_sec[16];
  size_t nspans = 0;
  for (const elf::Section& s : obj.sections) {
    if (!str_eq(s.name, "modkit_modinfo")) continue;
    if (nspans == 16)
      return Error(Errc::kUnsupported, "%s: more than 16 modkit_modinfo sections", name);
    spans[nspans] = s.data;
    span_sec[nspans++] = s.index;
  }
  Result<Metadata> mdr = read_metadata(spans, nspans, alloc_);
  if (!mdr) {
    Error e = mdr.error();
    e.prefix("%s: ", name);
    return e;
  }
  Metadata& md = mdr.value();

  // Names must be free.
  {
    LockGuard g(*mu_);
    for (const ModuleDecl& m : md.modules) {
      if (Module* old = find_module_nolock(m.name)) {
        if (old->state == State::kLoading)
          return Error(Errc::kInvalid, "%s: dependency cycle: module %s is still being loaded",
                       name, m.name);
        return Error(Errc::kDuplicate, "%s: module %s is already loaded (version %u, from %s)",
                     name, m.name, old->version, old->file->name);
      }
    }
  }

  File* f = make<File>(alloc_, alloc_);
  if (f == nullptr || !f->modules.reserve(md.modules.size())) {
    destroy(alloc_, f);
    return Error(Errc::kNoMemory, "%s: out of memory", name);
  }
  copy_name(f->name, sizeof f->name, name);
  f->autoloaded = autoloaded;
  f->loader = d_.threads->thread_id();
  for (const ModuleDecl& decl : md.modules) {
    Module* m = make<Module>(alloc_);
    if (m == nullptr) {
      destroy_file(f);
      return Error(Errc::kNoMemory, "%s: out of memory", name);
    }
    copy_name(m->name, sizeof m->name, decl.name);
    m->version = decl.version;
    m->line = decl.line;
    m->file = f;
    (void)f->modules.push(m);  // reserved
  }
  order_modules(f->modules, md);
  {
    LockGuard g(*mu_);
    f->id = ++next_id_;
    if (!files_.push(f)) {
      destroy_file(f);
      return Error(Errc::kNoMemory, "%s: out of memory", name);
    }
  }

  // From here on, `fail` undoes: the file is registered (LOADING).
  auto fail = [&](Error e) -> Result<File*> {
    {
      LockGuard g(*mu_);
      for (size_t i = 0; i < files_.size(); ++i)
        if (files_[i] == f) files_.erase(i);
    }
    destroy_file(f);
    return e;
  };

  if (!f->import_ns.reserve(md.imports.size()))
    return fail(Error(Errc::kNoMemory, "%s: out of memory", name));
  for (const ImportNsDecl& i : md.imports) {
    if (f->imports(i.ns)) continue;
    Namespace n{};
    copy_name(n.name, sizeof n.name, i.ns);
    (void)f->import_ns.push(n);  // reserved
  }

  Result<void> sat = satisfy(*f, md, ctx);
  if (!sat) return fail(sat.error());

  FileResolver resolver(*d_.exports, *f, md, alloc_);
  const elf::ValidatedObject* objs[1] = {&obj};
  const char* names[1] = {name};
  link::LinkRequest req;
  req.objects = objs;
  req.count = 1;
  req.names = names;
  req.resolver = &resolver;
  req.run_constructors = false;
  req.scratch = &scratch_;
  // The error counts the undefined symbols and names the first; the log
  // names every one.
  req.on_unresolved = [](void* ctx, const link::Unresolved& u) {
    static_cast<Registry*>(ctx)->logf("%s: undefined symbol `%s' (referenced from %s+%#lx)",
                                      u.object, u.name, u.section, u.offset);
  };
  req.ctx = this;
  Result<link::LinkerFile*> lf = d_.linker->link(req);
  if (lf) f->linked = lf.value();
  if (resolver.refused()) return fail(resolver.refusal());
  if (!lf) return fail(lf.error());
  for (size_t i = resolver.unused_import(0); i < md.imports.size();
       i = resolver.unused_import(i + 1)) {
    const char* mod = md.modules[md.imports[i].module].name;
    logf(
        "%s: warning: module %s imports namespace %s but binds to no symbol in it, so the import "
        "does nothing (none of its dependencies exports into %s, or the name is misspelt): "
        "remove MODKIT_IMPORT_NS(%s, %s)",
        name, mod, md.imports[i].ns, md.imports[i].ns, mod, md.imports[i].ns);
  }

  // Where the metadata records landed: read handlers and SYSINIT functions.
  uintptr_t span_addr[16] = {};
  for (size_t i = 0; i < nspans; ++i)
    for (const link::FileSection& s : f->linked->sections())
      if (s.index == span_sec[i]) span_addr[i] = s.addr;
  for (size_t i = 0; i < md.modules.size(); ++i) {
    const ModuleDecl& decl = md.modules[i];
    for (Module* m : f->modules) {
      if (!str_eq(m->name, decl.name)) continue;
      uintptr_t rec = span_addr[decl.at.span] + decl.at.offset;
      m->handler = read_ptr(rec + kModuleHandlerOffset);
      m->arg = read_ptr(rec + kModuleArgOffset);
    }
  }
  if (!f->sysinits.reserve(md.sysinits.size()))
    return fail(Error(Errc::kNoMemory, "out of memory"));
  for (size_t i = 0; i < md.sysinits.size(); ++i) {
    const SysinitDecl& s = md.sysinits[i];
    uintptr_t rec = span_addr[s.at.span] + s.at.offset;
    uint32_t mod_index = 0;
    for (uint32_t k = 0; k < f->modules.size(); ++k)
      if (str_eq(f->modules[k]->name, md.modules[s.module].name)) mod_index = k;
    (void)f->sysinits.push(SysinitEntry{mod_index, s.subsystem, s.order, static_cast<uint32_t>(i),
                                        s.uninit, read_ptr(rec + kSysinitFnOffset),
                                        read_ptr(rec + kSysinitArgOffset)});
  }
  for (size_t i = 1; i < f->sysinits.size(); ++i) {
    SysinitEntry e = f->sysinits[i];
    size_t j = i;
    while (j > 0 && sysinit_before(e, f->sysinits[j - 1])) {
      f->sysinits[j] = f->sysinits[j - 1];
      --j;
    }
    f->sysinits[j] = e;
  }

  if (!f->tunables.reserve(md.tunables.size()))
    return fail(Error(Errc::kNoMemory, "out of memory"));
  for (const TunableDecl& t : md.tunables) {
    uint32_t mod_index = 0;
    for (uint32_t k = 0; k < f->modules.size(); ++k)
      if (str_eq(f->modules[k]->name, md.modules[t.module].name)) mod_index = k;
    (void)f->tunables.push(TunableEntry{mod_index, span_addr[t.at.span] + t.at.offset});
  }

  Result<void> ex = d_.exports->add(*f, md);
  if (!ex) return fail(ex.error());

  Result<void> ps = tell_starting(*f, autoloaded ? LoadParams{} : ctx.params);
  if (!ps) return fail(ps.error());

  Result<void> st = start(*f);
  if (!st) return fail(st.error());

  {
    LockGuard g(*mu_);
    f->state = State::kLive;
    for (Module* m : f->modules)
      m->state = State::kLive;
    f->loader = 0;
    // Keep files_ in the order files went LIVE (dependencies before their
    // users): shutdown walks it backwards.
    for (size_t i = 0; i < files_.size(); ++i) {
      if (files_[i] != f) continue;
      files_.erase(i);
      (void)files_.push(f);  // the erase left room
      break;
    }
    cv_->broadcast();
  }
  if (autoloaded && !ctx.loaded.push(f)) {
    // Untracked, it would stay behind when the request fails; an unload
    // allocates nothing, so it cannot fail for want of memory too.
    (void)unload_locked(f, UnloadOptions{});
    return Error(Errc::kNoMemory, "%s: out of memory tracking a dependency", name);
  }
  logf("%s: loaded (%zu modules)", name, f->modules.size());
  return f;
}

// "dependency cycle: a -> b -> a": from `target`'s place in the chain of
// dependents being loaded (all of it when it is not there), through `who`,
// which needs `target`.
static Error cycle_error(const Vec<const char*>& chain, const char* who, const char* target) {
  size_t from = 0;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (str_eq(chain[i], target)) {
      from = i;
      break;
    }
  }
  char cycle[256];
  size_t n = 0;
  for (size_t i = from; i < chain.size(); ++i)
    n += format(cycle + n, sizeof cycle - n, "%s -> ", chain[i]);
  format(cycle + n, sizeof cycle - n, "%s -> %s", who, target);
  return Error(Errc::kInvalid, "dependency cycle: %s", cycle);
}

// Every dependency met by a module of this file, a loaded module, or a file
// found through the hints index and loaded first. While a dependency loads,
// its dependent is on ctx.chain (cycles are named from it).
Result<void> Registry::satisfy(File& f, const Metadata& md, LoadCtx& ctx) {
  for (const DependDecl& d : md.depends) {
    const char* who = md.modules[d.module].name;
    VersionRange r{d.min, d.preferred, d.max};
    bool inside = false;
    for (const ModuleDecl& m : md.modules) {
      if (!str_eq(m.name, d.target)) continue;
      inside = true;
      if (!r.contains(m.version))
        return Error(Errc::kNotFound,
                     "%s: module %s needs %s version %u..%u, but the file has version %u", f.name,
                     who, d.target, d.min, d.max, m.version);
    }
    if (inside) continue;
    Module* m = find_module(d.target);
    if (m == nullptr) {
      for (const char* c : ctx.chain)
        if (str_eq(c, d.target)) return cycle_error(ctx.chain, who, d.target);
      if (!ctx.chain.push(who)) return Error(Errc::kNoMemory, "%s: out of memory", f.name);
      Result<File*> dep = load_module_locked(d.target, r, ctx);
      ctx.chain.pop();
      if (!dep) {
        Error e = dep.error();
        e.prefix("%s: module %s needs %s: ", f.name, who, d.target);
        return e;
      }
      m = find_module(d.target);
      if (m == nullptr)
        return Error(Errc::kNotFound, "%s: %s vanished after loading", f.name, d.target);
    }
    if (m->state == State::kLoading) return cycle_error(ctx.chain, who, d.target);
    if (m->state != State::kLive)
      return Error(Errc::kBusy, "%s: module %s needs %s, which is %s", f.name, who, d.target,
                   state_name(m->state));
    if (!r.contains(m->version))
      return Error(Errc::kNotFound,
                   "%s: module %s needs %s version %u..%u, but version %u is loaded (from %s)",
                   f.name, who, d.target, d.min, d.max, m->version, m->file->name);
    File* provider = m->file;
    bool have = false;
    for (File* u : f.uses)
      have = have || u == provider;
    if (have) continue;
    LockGuard g(*mu_);
    if (!f.uses.push(provider)) return Error(Errc::kNoMemory, "%s: out of memory", f.name);
    ++provider->holders;
  }
  return Ok();
}

// Constructors, SYSINITs, LOAD events; undone in reverse on a failed LOAD.
// Runs module code: the registry mutex is not held.
Result<void> Registry::start(File& f) {
  if (f.linked != nullptr) d_.linker->run_constructors(*f.linked, 0, nullptr, nullptr);
  for (const SysinitEntry& s : f.sysinits)
    if (!s.uninit) reinterpret_cast<SysinitFn>(s.fn)(reinterpret_cast<void*>(s.arg));
  for (size_t i = 0; i < f.modules.size(); ++i) {
    Module* m = f.modules[i];
    int err = send(m, kEventLoad);
    if (err != 0) {
      stop(f, i);
      return Error(Errc::kInvalid, "%s: module %s failed to load: its LOAD handler returned %d",
                   f.name, m->name, err);
    }
    m->loaded = true;
  }
  return Ok();
}

// UNLOAD to the first `started` modules in reverse, then SYSUNINITs in reverse.
void Registry::stop(File& f, size_t started) {
  for (size_t i = started; i > 0; --i) {
    Module* m = f.modules[i - 1];
    int err = send(m, kEventUnload);
    if (err != 0) logf("%s: module %s: UNLOAD returned %d (ignored)", f.name, m->name, err);
    m->loaded = false;
  }
  for (size_t i = f.sysinits.size(); i > 0; --i) {
    const SysinitEntry& s = f.sysinits[i - 1];
    if (s.uninit) reinterpret_cast<SysinitFn>(s.fn)(reinterpret_cast<void*>(s.arg));
  }
  notify_stopped(f);
}

// Every module of the file, last started first: a SYSINIT may register for a
// module whose LOAD never ran.
void Registry::notify_stopped(File& f) {
  for (size_t i = f.modules.size(); i > 0; --i)
    tell_stopped(f.modules[i - 1]);
}

Result<void> Registry::add_listener(const ModuleListener& l) {
  if (nlisteners_ == kMaxListeners)
    return Error(Errc::kRange,
                 "registry: a listener past the %zu the registry holds; raise kMaxListeners",
                 kMaxListeners);
  listeners_[nlisteners_++] = l;
  return Ok();
}

void Registry::tell_stopped(Module* m, size_t upto) {
  for (size_t i = 0; i < nlisteners_ && i < upto; ++i)
    if (listeners_[i].stopped != nullptr) listeners_[i].stopped(listeners_[i].ctx, m);
}

void Registry::tell_revoking(Module* m) {
  for (size_t i = 0; i < nlisteners_; ++i)
    if (listeners_[i].revoking != nullptr) listeners_[i].revoking(listeners_[i].ctx, m);
}

void Registry::tell_resumed(Module* m, size_t upto) {
  for (size_t i = 0; i < nlisteners_ && i < upto; ++i)
    if (listeners_[i].resumed != nullptr) listeners_[i].resumed(listeners_[i].ctx, m);
}

// The first refusal stops the walk; the listeners that accepted are resumed.
int Registry::tell_quiescing(Module* m) {
  for (size_t i = 0; i < nlisteners_; ++i) {
    if (listeners_[i].quiescing == nullptr) continue;
    int err = listeners_[i].quiescing(listeners_[i].ctx, m);
    if (err == 0) continue;
    tell_resumed(m, i);
    return err;
  }
  return 0;
}

// The first error stops the walk; the listeners that started f are told that
// its modules stopped (last started first), so they revoke what they did.
Result<void> Registry::tell_starting(File& f, const LoadParams& p) {
  for (size_t i = 0; i < nlisteners_; ++i) {
    if (listeners_[i].starting == nullptr) continue;
    Result<void> r = listeners_[i].starting(listeners_[i].ctx, f, p);
    if (r) continue;
    for (size_t k = f.modules.size(); k > 0; --k)
      tell_stopped(f.modules[k - 1], i);
    return r.error();
  }
  return Ok();
}

// Frees a file that is no longer in files_ (or never was): exports, linked
// image (destructors run if constructors did), references, memory.
void Registry::destroy_file(File* f, Vec<File*>* uses) {
  if (f == nullptr) return;
  d_.exports->remove(*f);
  if (f->linked != nullptr) d_.linker->unlink(f->linked);
  f->linked = nullptr;
  {
    LockGuard g(*mu_);
    for (File* u : f->uses)
      if (u->holders > 0) --u->holders;
  }
  if (uses != nullptr) *uses = static_cast<Vec<File*>&&>(f->uses);
  for (Module* m : f->modules)
    destroy(alloc_, m);
  destroy(alloc_, f);
}

// ---- unload ----

Result<UnloadResult> Registry::unload_module(const char* name, const UnloadOptions& o) {
  // The name is resolved under the loader lock: a concurrent unload could
  // free the module between an unlocked lookup and our use of it.
  enter();
  Module* m = find_module(name);
  Result<UnloadResult> r = m != nullptr ? unload_locked(m->file, o)
                                        : Error(Errc::kNotFound, "module %s is not loaded", name);
  leave();
  return r;
}

Result<UnloadResult> Registry::unload(File* f, const UnloadOptions& o) {
  enter();
  Result<UnloadResult> r = unload_locked(f, o);
  leave();
  return r;
}

Result<UnloadResult> Registry::unload_locked(File* f, const UnloadOptions& o) {
  if (f->id == 0) return Error(Errc::kInvalid, "%s: the kernel image cannot be unloaded", f->name);
  {
    LockGuard g(*mu_);
    if (f->state != State::kLive)
      return Error(Errc::kBusy, "%s is %s", f->name, state_name(f->state));
  }
  // Files that use this one: refuse, or unload them first.
  for (;;) {
    File* holder = nullptr;
    char who[256];
    size_t n = 0;
    {
      LockGuard g(*mu_);
      for (File* other : files_) {
        for (File* u : other->uses) {
          if (u != f) continue;
          if (holder == nullptr) holder = other;
          n += format(who + n, sizeof who - n, "%s%s", n == 0 ? "" : ", ", other->name);
        }
      }
    }
    if (holder == nullptr) break;
    if (!o.cascade)
      return Error(Errc::kBusy, "%s is in use by %s; unload those first, or ask for a cascade",
                   f->name, who);
    Result<UnloadResult> r = unload_locked(holder, o);
    if (!r) {
      Error e = r.error();
      e.prefix("cascade from %s: ", f->name);
      return e;
    }
    if (r.value() == UnloadResult::kDeferred)
      return Error(Errc::kBusy, "%s is in use by %s, whose unload is deferred", f->name,
                   holder->name);
    // The holder may have taken f with it (f was loaded only as its
    // dependency, and nothing else used it): then f is freed, and done.
    bool listed = false;
    {
      LockGuard g(*mu_);
      for (File* x : files_)
        listed = listed || x == f;
    }
    if (!listed) return UnloadResult::kDone;
  }

  // QUIESCE, last started first. A veto undoes it: RESUME to those asked.
  {
    LockGuard g(*mu_);
    f->state = State::kQuiescing;
    for (Module* m : f->modules)
      m->state = State::kQuiescing;
  }
  for (size_t i = f->modules.size(); i > 0; --i) {
    Module* m = f->modules[i - 1];
    m->veto[0] = '\0';
    int err = send(m, kEventQuiesce);
    // m took QUIESCE: a refusal of a layer above RESUMEs m too.
    bool asked = err == 0;
    if (asked) err = tell_quiescing(m);
    if (err == 0) continue;
    if (asked) (void)send(m, kEventResume);
    for (size_t k = f->modules.size(); k > i; --k)
      (void)send(f->modules[k - 1], kEventResume);
    {
      LockGuard g(*mu_);
      f->state = State::kLive;
      for (Module* mm : f->modules)
        mm->state = State::kLive;
    }
    for (size_t k = f->modules.size(); k > i; --k)
      tell_resumed(f->modules[k - 1]);
    return Error(Errc::kBusy, "module %s vetoed the unload of %s: %s", m->name, f->name,
                 m->veto[0] != '\0' ? m->veto : "busy");
  }

  // GOING: no new references. Drain the ones held, by policy; a forced
  // unload first revokes the open handles that hold references.
  UnloadOptions::Policy policy = o.policy;
  uint64_t timeout_ns = o.timeout_ns;
  {
    LockGuard g(*mu_);
    f->state = State::kGoing;
    for (Module* m : f->modules)
      m->state = State::kGoing;
  }
  if (o.force) {
    for (size_t k = f->modules.size(); k > 0; --k)
      tell_revoking(f->modules[k - 1]);
    if (policy == UnloadOptions::Policy::kRefuse) {
      policy = UnloadOptions::Policy::kWait;
      if (timeout_ns == 0) timeout_ns = 5000000000ull;
    }
  }
  {
    LockGuard g(*mu_);
    uint64_t now = d_.threads->now_ns();  // UINT64_MAX waits for ever: no wrap-around
    uint64_t deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    for (;;) {
      Module* busy = nullptr;
      for (Module* m : f->modules)
        if (m->refs > 0 && busy == nullptr) busy = m;
      if (busy == nullptr) break;
      if (policy == UnloadOptions::Policy::kDefer) {
        f->deferred = true;
        logf("%s: unload deferred until %u reference(s) to %s are put", f->name, busy->refs,
             busy->name);
        return UnloadResult::kDeferred;
      }
      bool timed_out = policy == UnloadOptions::Policy::kRefuse || !drain_wait(deadline);
      if (!timed_out) continue;
      bool still_busy = false;
      for (Module* m : f->modules)
        still_busy = still_busy || m->refs > 0;
      if (!still_busy) break;
      uint32_t refs = busy->refs;
      f->state = State::kLive;
      for (Module* m : f->modules)
        m->state = State::kLive;
      mu_->unlock();
      for (size_t k = f->modules.size(); k > 0; --k)
        (void)send(f->modules[k - 1], kEventResume);
      for (size_t k = f->modules.size(); k > 0; --k)
        tell_resumed(f->modules[k - 1]);
      mu_->lock();
      if (policy == UnloadOptions::Policy::kRefuse)
        return Error(Errc::kBusy, "module %s of %s has %u reference(s) in use", busy->name, f->name,
                     refs);
      return Error(Errc::kBusy, "module %s of %s still has %u reference(s) after waiting %lu ms",
                   busy->name, f->name, refs, static_cast<uint64_t>(timeout_ns / 1000000));
    }
  }
  finish_unload(f);
  return UnloadResult::kDone;
}

// Waits on cv_ (mu_ held) for a put, until the deadline. When this thread's
// outermost request holds the loader lock, it lets go of it meanwhile: a
// thread holding one of the references may need it before it can put (to
// load something first, or to complete a deferred unload with another put),
// and would wait for us while we wait for it. The draining file is GOING, so
// nothing binds to it, unloads it or frees it in between. A nested request
// (an unload from a LOAD handler) keeps the lock: its outer one is half done.
bool Registry::drain_wait(uint64_t deadline) {
  uint64_t self = loader_owner_;
  bool release = loader_depth_ == 1;
  if (release) {
    loader_owner_ = 0;
    loader_depth_ = 0;
    cv_->broadcast();
  }
  bool in_time = cv_->wait_until(*mu_, deadline);
  if (release) {
    while (loader_owner_ != 0)
      cv_->wait(*mu_);
    loader_owner_ = self;
    loader_depth_ = 1;
  }
  return in_time;
}

// UNLOAD events, SYSUNINITs, exports, destructors, memory, references; then
// the dependencies that were loaded only for this file.
void Registry::finish_unload(File* f) {
  stop(*f, f->modules.size());
  {
    LockGuard g(*mu_);
    for (Module* m : f->modules)
      m->state = State::kGone;
    for (size_t i = 0; i < files_.size(); ++i)
      if (files_[i] == f) files_.erase(i);
  }
  logf("%s: unloaded", f->name);
  // f's own list of the files it used, taken over (not copied: an unload
  // that cannot allocate must still take the dependencies loaded for f along).
  Vec<File*> deps(alloc_);
  destroy_file(f, &deps);
  for (File* u : deps) {
    bool unused = false;
    {
      LockGuard g(*mu_);
      bool present = false;
      for (File* x : files_)
        present = present || x == u;
      // u may be freed already: an earlier entry of deps took it as its own
      // unused dependency. Only a listed u may be looked at.
      unused = present && u->autoloaded && u->holders == 0 && u->state == State::kLive;
      for (size_t i = 0; unused && i < u->modules.size(); ++i)
        unused = u->modules[i]->refs == 0;
    }
    if (unused) (void)unload_locked(u, UnloadOptions{});
  }
}

// ---- boot and shutdown ----

Result<File*> Registry::boot(const ByteView* spans, size_t count, uint32_t kpi_version) {
  if (mu_ == nullptr || cv_ == nullptr) return Error(Errc::kNoMemory, "registry: no locks");
  Result<Metadata> mdr = read_metadata(spans, count, alloc_);
  if (!mdr) {
    Error e = mdr.error();
    e.prefix("kernel image: ");
    return e;
  }
  Metadata& md = mdr.value();
  enter();
  File* k = make<File>(alloc_, alloc_);
  Module* km = k == nullptr ? nullptr : make<Module>(alloc_);
  if (km == nullptr || !k->modules.reserve(md.modules.size() + 1) || !files_.push(k)) {
    destroy(alloc_, km);
    destroy(alloc_, k);
    leave();
    return Error(Errc::kNoMemory, "registry: out of memory at boot");
  }
  copy_name(k->name, sizeof k->name, "kernel");
  copy_name(km->name, sizeof km->name, "kernel");
  km->version = kpi_version;
  km->file = k;
  km->state = State::kLive;
  km->loaded = true;
  (void)k->modules.push(km);
  for (const ModuleDecl& decl : md.modules) {
    Module* m = make<Module>(alloc_);
    if (m == nullptr) break;
    copy_name(m->name, sizeof m->name, decl.name);
    m->version = decl.version;
    m->line = decl.line;
    m->file = k;
    uintptr_t rec = reinterpret_cast<uintptr_t>(spans[decl.at.span].data()) + decl.at.offset;
    m->handler = read_ptr(rec + kModuleHandlerOffset);
    m->arg = read_ptr(rec + kModuleArgOffset);
    (void)k->modules.push(m);
  }
  order_modules(k->modules, md);
  (void)k->sysinits.reserve(md.sysinits.size());
  for (size_t i = 0; i < md.sysinits.size(); ++i) {
    const SysinitDecl& s = md.sysinits[i];
    uintptr_t rec = reinterpret_cast<uintptr_t>(spans[s.at.span].data()) + s.at.offset;
    uint32_t mod_index = 0;
    for (uint32_t j = 0; j < k->modules.size(); ++j)
      if (str_eq(k->modules[j]->name, md.modules[s.module].name)) mod_index = j;
    (void)k->sysinits.push(SysinitEntry{mod_index, s.subsystem, s.order, static_cast<uint32_t>(i),
                                        s.uninit, read_ptr(rec + kSysinitFnOffset),
                                        read_ptr(rec + kSysinitArgOffset)});
  }
  for (size_t i = 1; i < k->sysinits.size(); ++i) {
    SysinitEntry e = k->sysinits[i];
    size_t j = i;
    while (j > 0 && sysinit_before(e, k->sysinits[j - 1])) {
      k->sysinits[j] = k->sysinits[j - 1];
      --j;
    }
    k->sysinits[j] = e;
  }
  Result<void> ex = d_.exports->add(*k, md);
  if (!ex) logf("kernel: static exports: %s", ex.error().message());
  if (k->tunables.reserve(md.tunables.size())) {
    for (const TunableDecl& t : md.tunables) {
      uint32_t mod_index = 0;
      for (uint32_t j = 0; j < k->modules.size(); ++j)
        if (str_eq(k->modules[j]->name, md.modules[t.module].name)) mod_index = j;
      uintptr_t rec = reinterpret_cast<uintptr_t>(spans[t.at.span].data()) + t.at.offset;
      (void)k->tunables.push(TunableEntry{mod_index, rec});
    }
  }
  Result<void> ps = tell_starting(*k, LoadParams{});
  if (!ps) logf("kernel: static tunables: %s", ps.error().message());
  // Static modules: a dependency on a module the image does not have, or a
  // failed LOAD, takes that module out; the boot goes on.
  for (const SysinitEntry& s : k->sysinits)
    if (!s.uninit) reinterpret_cast<SysinitFn>(s.fn)(reinterpret_cast<void*>(s.arg));
  for (Module* m : k->modules) {
    if (m->loaded) continue;
    bool ok = true;
    for (const DependDecl& d : md.depends) {
      if (!str_eq(md.modules[d.module].name, m->name)) continue;
      Module* t = find_module_nolock(d.target);
      if (t == nullptr || !t->loaded || t->version < d.min || t->version > d.max) {
        logf("kernel: static module %s needs %s version %u..%u, which the image lacks; skipped",
             m->name, d.target, d.min, d.max);
        ok = false;
      }
    }
    int err = ok ? send(m, kEventLoad) : -1;
    if (err != 0) {
      if (ok) logf("kernel: static module %s failed to load: LOAD returned %d", m->name, err);
      m->state = State::kGone;
      // Its SYSINITs ran with everyone's: undo them, in reverse.
      for (size_t i = k->sysinits.size(); i > 0; --i) {
        const SysinitEntry& s = k->sysinits[i - 1];
        if (s.uninit && k->modules[s.module] == m)
          reinterpret_cast<SysinitFn>(s.fn)(reinterpret_cast<void*>(s.arg));
      }
      tell_stopped(m);
      continue;
    }
    m->loaded = true;
    m->state = State::kLive;
  }
  k->state = State::kLive;
  leave();
  logf("kernel: booted with %zu static module(s)", k->modules.size() - 1);
  return k;
}

void Registry::shutdown() {
  enter();
  Vec<File*> order(alloc_);
  {
    LockGuard g(*mu_);
    (void)order.reserve(files_.size());
    for (File* f : files_)
      (void)order.push(f);
  }
  // SHUTDOWN: dependents first: later files first, later-started modules first.
  for (size_t i = order.size(); i > 0; --i) {
    File* f = order[i - 1];
    for (size_t k = f->modules.size(); k > 0; --k) {
      Module* m = f->modules[k - 1];
      if (m->state != State::kLive || !m->loaded) continue;
      int err = send(m, kEventShutdown);
      logf("shutdown: %s%s", m->name, err != 0 ? " (handler returned an error)" : "");
    }
  }
  // Then the dynamic files go, newest first (finish_unload may take unused
  // dependencies with it, so look again each time); a shutdown cannot be vetoed.
  // But a file still referenced is not freed under its holders: it goes GOING
  // and unloads at its last put, as a deferred unload does (one already
  // deferred is left to its put, which may be waiting for the loader lock to
  // finish it), and the files it uses stay until then.
  for (;;) {
    File* f = nullptr;
    {
      LockGuard g(*mu_);
      for (size_t i = files_.size(); i > 1 && f == nullptr; --i) {
        File* c = files_[i - 1];
        if (c->state == State::kGoing || c->holders > 0) continue;
        bool referenced = false;
        for (Module* m : c->modules)
          referenced = referenced || m->refs > 0;
        c->state = State::kGoing;
        for (Module* m : c->modules)
          m->state = State::kGoing;
        if (referenced)
          c->deferred = true;
        else
          f = c;
      }
    }
    if (f == nullptr) break;
    finish_unload(f);
  }
  leave();
}

}  // namespace mk::module
