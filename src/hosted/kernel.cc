// modkit::Kernel: the embedding API over the core linker, on Linux.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include "arch/machine.h"
#include "elf/elf.h"
#include "elf/validate.h"
#include "hosted/code_runtime.h"
#include "hosted/host_symbols.h"
#include "hosted/malloc_allocator.h"
#include "hosted/page_memory.h"
#include "hosted/signature_verifier.h"
#include "hosted/slab_pool.h"
#include "link/arena.h"
#include "link/linker.h"
#include "modkit/modkit.hpp"
#include "support/name_table.h"
#include "support/scratch.h"

namespace modkit {

// 24 bytes, taken from the Kernel's slabs (Kernel::Impl::new_file): a
// thousand loaded files are a thousand of these, with no malloc header each.
class File {
 public:
  mk::link::LinkerFile* linked = nullptr;  // while free in its slab: the next free File
  uint64_t order = 0;                      // load order: the earliest definition wins a lookup
  uint32_t index = 0;                      // position in Kernel::Impl::files: unload is O(1)
  bool indexed = false;                    // its globals are in Kernel::Impl::global
};
static_assert(sizeof(void*) != 8 || sizeof(File) == 24);

namespace {

struct Export {
  uint64_t addr;
  uint64_t size;
  uint8_t type;
};

// A file's bytes, read into memory of our own (never mapped: the file may
// change under a mapping after the validator has read it). The buffer is
// not zero-filled first: read() writes every byte of it, or this fails.
struct FileBytes {
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
};

bool read_file(const std::string& path, FileBytes* out, std::string* err) {
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
  out->size = static_cast<size_t>(st.st_size);
  out->data = std::make_unique_for_overwrite<uint8_t[]>(out->size);
  size_t got = 0;
  while (got < out->size) {
    ssize_t n = read(fd, out->data.get() + got, out->size - got);
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

static_assert(static_cast<int>(Errc::kPermission) == static_cast<int>(mk::Errc::kPermission));

void set_error(Error* e, mk::Errc code, std::string msg) {
  if (e != nullptr) *e = Error{static_cast<Errc>(code), std::move(msg)};
}

// Anchors the default placement near the host program's own code.
void home_anchor() {}

mk::hosted::SignaturePolicy core_policy(SignaturePolicy p) {
  switch (p) {
    case SignaturePolicy::kWarn:
      return mk::hosted::SignaturePolicy::kWarn;
    case SignaturePolicy::kEnforce:
      return mk::hosted::SignaturePolicy::kEnforce;
    default:
      return mk::hosted::SignaturePolicy::kOff;
  }
}

// The verifier of a Kernel's options; *key_error says why a trusted key could
// not be read (then every load fails with it).
std::unique_ptr<mk::hosted::SignatureVerifier> make_verifier(const Options& o,
                                                             std::string* key_error) {
  std::vector<mk::hosted::PublicKey> keys;
  if (!mk::hosted::read_trusted_keys(o.trusted_keys, &keys, key_error)) keys.clear();
  auto log = [o](const std::string& line) {
    if (o.log != nullptr)
      o.log(o.log_ctx, line.c_str());
    else
      fprintf(stderr, "modkit: %s\n", line.c_str());
  };
  return std::make_unique<mk::hosted::SignatureVerifier>(core_policy(o.signature_policy),
                                                         std::move(keys), log);
}

}  // namespace

struct Kernel::Impl : mk::link::Resolver {
  explicit Impl(const Options& o)
      : options(o),
        arena(pages, alloc),
        linker(arena, alloc, &runtime, reinterpret_cast<uintptr_t>(&home_anchor)),
        verifier(make_verifier(o, &key_error)) {}

  // The linker's hash finds the kernel export: no std::string is built
  // and nothing is hashed again (once per imported name of every load).
  bool resolve(const char* name, uint32_t hash, mk::link::ResolvedSymbol* out) override {
    if (const Export* e = find_export(name, hash)) {
      *out = {e->addr, e->size, e->type};
      return true;
    }
    return options.host_symbols && mk::hosted::host_symbol(name, out);
  }

  // The kernel export named name (name_hash(name) == hash), or nullptr.
  const Export* find_export(const char* name, uint32_t hash) {
    mk::NameTable::Slot* at = export_index.find(name, hash);
    return at == nullptr ? nullptr : &export_list[at->value];
  }

  // Links the n objects datas[i] (sizes[i] bytes, named names[i]) as one
  // file. The per-load lists live in a buffer on the stack for the usual
  // few objects: a load's own bookkeeping allocates nothing here.
  File* link(const uint8_t* const* datas, const size_t* sizes, const char* const* names, size_t n,
             Error* error, const LoadOptions& opts) {
    if (!key_error.empty()) {
      set_error(error, mk::Errc::kInvalid, key_error);
      return nullptr;
    }
    // The load's temporaries (the validated objects, the linker's working
    // tables) come from the scratch and all go back when this returns,
    // after the objects (declared below) are destroyed.
    mk::ScratchScope temporaries(scratch);
    alignas(std::max_align_t) unsigned char stack[2048];
    std::pmr::monotonic_buffer_resource lists(stack, sizeof stack);
    std::pmr::vector<mk::elf::ValidatedObject> objects(&lists);
    std::pmr::vector<const mk::elf::ValidatedObject*> ptrs(&lists);
    objects.reserve(n);
    ptrs.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      // The signature policy first, over the raw bytes; the validator sees
      // only what the signature covers.
      mk::Result<mk::ByteView> bytes = verifier->check(mk::ByteView(datas[i], sizes[i]), names[i]);
      if (!bytes) {
        set_error(error, bytes.error().code(), bytes.error().message());
        return nullptr;
      }
      mk::Result<mk::elf::ValidatedObject> v =
          mk::elf::validate(bytes.value(), mk::arch::rules_for, scratch);
      if (!v) {
        set_error(error, v.error().code(), std::string(names[i]) + ": " + v.error().message());
        return nullptr;
      }
      objects.push_back(std::move(v).value());
    }
    for (const mk::elf::ValidatedObject& o : objects)
      ptrs.push_back(&o);
    struct Relay {
      const LoadOptions* opts;
      static void cb(void* ctx, const mk::link::Unresolved& u) {
        auto* r = static_cast<Relay*>(ctx);
        r->opts->on_unresolved(r->opts->ctx, u.name, u.object, u.section, u.offset);
      }
    } relay{&opts};
    mk::link::LinkRequest req;
    req.objects = ptrs.data();
    req.count = ptrs.size();
    req.names = names;
    req.resolver = this;
    req.scratch = &scratch;
    req.run_constructors = opts.run_constructors;
    req.argc = opts.argc;
    req.argv = opts.argv;
    req.envp = opts.envp;
    if (opts.on_unresolved != nullptr) {
      req.on_unresolved = &Relay::cb;
      req.ctx = &relay;
    }
    mk::Result<mk::link::LinkerFile*> f = linker.link(req);
    if (!f) {
      std::string msg = f.error().message();
      // Single-object messages name the object already when it matters.
      set_error(error, f.error().code(), msg);
      return nullptr;
    }
    File* file = new_file();
    if (file != nullptr) {
      try {
        files.push_back(file);
      } catch (const std::bad_alloc&) {
        free_file(file);
        file = nullptr;
      }
    }
    if (file == nullptr) {
      linker.unlink(f.value());
      set_error(error, mk::Errc::kNoMemory, "out of memory");
      return nullptr;
    }
    file->linked = f.value();
    file->index = static_cast<uint32_t>(files.size() - 1);
    file->order = next_order++;
    return file;
  }

  // File records come from slabs (SlabPool; free ones chained through
  // `linked`, their first word); nullptr when out of memory (or past
  // 2^32 - 1 loaded files, which File::index cannot count).
  File* new_file() {
    if (files.size() >= UINT32_MAX) return nullptr;
    File* f = file_slabs.take();
    if (f != nullptr) *f = File{};
    return f;
  }
  void free_file(File* f) {
    *f = File{};
    f->index = UINT32_MAX;  // never a position in files: unload() refuses it
    file_slabs.give(f);
  }

  // The kernel-wide index behind lookup(): name -> the definition a lookup
  // answers. A name several files define has one entry (the earliest
  // loaded's) and counts the others, so an unload finds the next definer
  // only for names that have one. Names point into the files' own string
  // copies (or export_names' strings), which outlive their entries.
  struct Definition {
    File* file;  // nullptr: a kernel export
    uint64_t addr;
    uint32_t shadowed;           // other definitions of the name (kernel or files)
    bool init_text : 1 = false;  // in init-only text, which may be given back
    // strlen of the slot's name (add_definition() sets it), so that lookup()
    // compares a word at a time, never past either name's end. 31 bits keep
    // the record at 24 bytes; a longer name's length is kept modulo 2^31,
    // which can only make it miss, never read past it.
    uint32_t name_len : 31 = 0;
  };

  // s is one of what symbol() answers for its file (global, not hidden),
  // whether or not its init-only text has been given back.
  static bool in_globals(mk::link::LinkerFile& lf, const mk::link::FileSymbol& s, uint32_t hash) {
    return lf.find_global(s.name, hash) == &s;
  }

  static bool in_init_text(const mk::link::LinkerFile& lf, const mk::link::FileSymbol& s) {
    return s.section != UINT32_MAX && lf.sections()[s.section].cls == mk::link::Class::kInitText;
  }

  // Makes every file loaded since the last lookup visible to lookup().
  void index_new_files() {
    if (indexed_files == files.size()) return;
    for (File* f : files)
      if (!f->indexed) index_file(f);
    indexed_files = files.size();
  }

  void index_file(File* f) {
    f->indexed = true;
    mk::link::LinkerFile& lf = *f->linked;
    for (const mk::link::FileSymbol& s : lf.symbols()) {
      if (s.bind == mk::elf::STB_LOCAL) continue;
      size_t len = mk::mk_strlen(s.name);
      uint32_t hash = mk::name_hash(s.name, len);
      if (!in_globals(lf, s, hash)) continue;
      if (mk::NameTable::Slot* at = find(s.name, len, hash)) {
        ++defs[at->value].shadowed;
        continue;
      }
      add_definition(s.name, hash, Definition{f, s.addr, 0, in_init_text(lf, s)});
    }
  }

  // The slot of the n-byte name at name, or nullptr: a hash match is a hit
  // only if the definition's name has this length and these bytes.
  mk::NameTable::Slot* find(const char* name, size_t n, uint32_t hash) {
    const Definition* d = defs.data();  // captured by value: stays in a register
    return global.find_if(hash, [d, name, n](const mk::NameTable::Slot& s) {
      return d[s.value].name_len == n && mk::names_equal(s.name, name, n);
    });
  }

  void add_definition(const char* name, uint32_t hash, Definition d) {
    d.name_len = static_cast<uint32_t>(mk::mk_strlen(name)) & 0x7fffffffu;
    uint32_t idx;
    if (!free_defs.empty()) {
      idx = free_defs.back();
      free_defs.pop_back();
      defs[idx] = d;
    } else {
      idx = static_cast<uint32_t>(defs.size());
      defs.push_back(d);
    }
    mk::NameTable::Slot* dup = nullptr;
    if (!global.insert(name, hash, idx, &dup)) throw std::bad_alloc();
  }

  // Before f goes: its names leave the index, each handed to the next
  // definer (a kernel export, else the earliest loaded file) if it has one.
  void unindex_file(File* f) {
    if (!f->indexed) return;
    --indexed_files;
    mk::link::LinkerFile& lf = *f->linked;
    for (const mk::link::FileSymbol& s : lf.symbols()) {
      if (s.bind == mk::elf::STB_LOCAL) continue;
      uint32_t hash = mk::name_hash(s.name);
      if (!in_globals(lf, s, hash)) continue;
      mk::NameTable::Slot* at = global.find(s.name, hash);
      if (at == nullptr) continue;
      Definition& d = defs[at->value];
      if (d.file != f) {
        --d.shadowed;  // f's definition was one of the hidden ones
        continue;
      }
      uint32_t left = d.shadowed;
      free_defs.push_back(at->value);
      global.erase(at);
      if (left > 0) add_definition_after(f, s.name, hash, left - 1);
    }
  }

  // The definition of name that takes over once `gone` unloads.
  void add_definition_after(File* gone, const char* name, uint32_t hash, uint32_t shadowed) {
    if (mk::NameTable::Slot* k = export_index.find(name, hash)) {
      add_definition(k->name, hash, Definition{nullptr, export_list[k->value].addr, shadowed});
      return;
    }
    File* best = nullptr;
    const mk::link::FileSymbol* sym = nullptr;
    for (File* f : files) {
      if (f == gone || !f->indexed || (best != nullptr && f->order > best->order)) continue;
      if (const mk::link::FileSymbol* g = f->linked->find_global(name, hash)) {
        best = f;
        sym = g;
      }
    }
    if (best != nullptr)
      add_definition(sym->name, hash,
                     Definition{best, sym->addr, shadowed, in_init_text(*best->linked, *sym)});
  }

  Options options;
  mk::hosted::MallocAllocator alloc;
  mk::Scratch scratch{alloc};  // one load's temporaries (link())
  mk::hosted::LinuxPageMemory pages;
  mk::hosted::HostRuntime runtime;
  mk::link::Arena arena;
  mk::link::Linker linker;
  std::string key_error;
  std::unique_ptr<mk::hosted::SignatureVerifier> verifier;
  // The kernel's exports: names (the set's strings, which never move) ->
  // index into export_list.
  std::unordered_set<std::string> export_names;
  mk::NameTable export_index{alloc};
  std::vector<Export> export_list;
  std::vector<File*> files;
  mk::hosted::SlabPool<File, 170> file_slabs;  // 4,080 bytes a slab: with malloc's header, one page
  uint64_t next_order = 0;
  mk::NameTable global{alloc};  // name -> index into defs
  std::vector<Definition> defs;
  std::vector<uint32_t> free_defs;
  size_t indexed_files = 0;
};

Kernel::Kernel(const Options& options) : impl_(std::make_unique<Impl>(options)) {}

Kernel::~Kernel() {
  while (!impl_->files.empty())
    unload(impl_->files.back());
}

bool Kernel::export_symbol(const std::string& name, const void* addr, size_t size, bool function) {
  const Export e{reinterpret_cast<uint64_t>(addr), size,
                 static_cast<uint8_t>(function ? mk::elf::STT_FUNC : mk::elf::STT_OBJECT)};
  // Names are C strings wherever modules meet them: one with a NUL inside
  // could never be named (and would pose as its prefix).
  if (name.find('\0') != std::string::npos) return false;
  uint32_t hash = mk::name_hash(name.c_str());
  if (impl_->find_export(name.c_str(), hash) != nullptr) return false;
  const char* key = impl_->export_names.insert(name).first->c_str();
  mk::NameTable::Slot* dup = nullptr;
  impl_->export_list.push_back(e);
  if (!impl_->export_index.insert(key, hash, static_cast<uint32_t>(impl_->export_list.size() - 1),
                                  &dup))
    throw std::bad_alloc();
  // Kernel exports come before any file's definition of the same name.
  uint32_t shadowed = 0;
  if (mk::NameTable::Slot* at = impl_->global.find(key, hash)) {
    shadowed = impl_->defs[at->value].shadowed + 1;
    impl_->free_defs.push_back(at->value);
    impl_->global.erase(at);
  }
  impl_->add_definition(key, hash, Impl::Definition{nullptr, e.addr, shadowed});
  return true;
}

File* Kernel::load(const std::string& path, Error* error, const LoadOptions& opts) {
  return load_objects({path}, error, opts);
}

File* Kernel::load_memory(const void* data, size_t size, const std::string& name, Error* error,
                          const LoadOptions& opts) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  const char* cname = name.c_str();
  return impl_->link(&bytes, &size, &cname, 1, error, opts);
}

File* Kernel::load_objects(const std::vector<std::string>& paths, Error* error,
                           const LoadOptions& opts) {
  std::vector<FileBytes> bufs(paths.size());
  std::vector<const uint8_t*> datas;
  std::vector<size_t> sizes;
  std::vector<const char*> names;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string err;
    if (!read_file(paths[i], &bufs[i], &err)) {
      set_error(error, mk::Errc::kIo, err);
      return nullptr;
    }
    datas.push_back(bufs[i].data.get());
    sizes.push_back(bufs[i].size);
    names.push_back(paths[i].c_str());
  }
  return impl_->link(datas.data(), sizes.data(), names.data(), paths.size(), error, opts);
}

bool Kernel::set_signature_policy(SignaturePolicy policy, Error* error) {
  mk::Result<void> r = impl_->verifier->set_policy(core_policy(policy));
  if (!r) set_error(error, r.error().code(), r.error().message());
  return r.ok();
}

void Kernel::run_constructors(File* f, int argc, char** argv, char** envp) {
  impl_->linker.run_constructors(*f->linked, argc, argv, envp);
}

void Kernel::run_destructors(File* f) {
  mk::link::LinkerFile& lf = *f->linked;
  if (!lf.initialized) return;
  lf.initialized = false;
  if (lf.dso_handle() != 0) impl_->runtime.finalize(lf.dso_handle());
  for (uintptr_t fn : lf.fini())
    reinterpret_cast<void (*)()>(fn)();
}

void* Kernel::symbol(File* f, const std::string& name) const {
  const mk::link::FileSymbol* s = f->linked->find(name.c_str());
  return s == nullptr ? nullptr : reinterpret_cast<void*>(s->addr);
}

// A name with a NUL inside is no symbol's name: it finds nothing (the hash
// and the compare cover all name.size() bytes, not the C string's prefix).
void* Kernel::lookup(const std::string& name) const {
  impl_->index_new_files();
  const char* key = name.data();
  size_t n = name.size();
  mk::NameTable::Slot* at = impl_->find(key, n, mk::name_hash(key, n));
  if (at == nullptr) return nullptr;
  const Impl::Definition& d = impl_->defs[at->value];
  // Init-only text given back after the constructors answers no more, as in
  // LinkerFile::find; the entry stays until the file's unload.
  if (d.init_text && d.file->linked->init_released) return nullptr;
  return reinterpret_cast<void*>(d.addr);
}

void Kernel::unload(File* f) {
  auto& files = impl_->files;
  if (f == nullptr || f->index >= files.size() || files[f->index] != f) return;  // not ours
  impl_->unindex_file(f);
  files[f->index] = files.back();
  files[f->index]->index = f->index;
  files.pop_back();
  impl_->linker.unlink(f->linked);
  impl_->free_file(f);
}

size_t Kernel::arena_used() const {
  return impl_->arena.stats().used;
}
size_t Kernel::files() const {
  return impl_->files.size();
}

}  // namespace modkit
