// The link() driver with its single rollback path, plus the last phases
// (symbols, constructors, unwind registration) and unlink().
#include "link/linker.h"

#include "elf/elf.h"
#include "link/link_job.h"
#include "support/checked.h"

namespace mk::link {

using namespace mk::elf;

namespace {

// Parses the ".NNNNN" priority suffix of ".init_array.NNNNN" and friends.
bool priority_of(const char* name, const char* base, uint32_t* prio, bool* has) {
  size_t n = mk_strlen(base);
  if (mk_memcmp(name, base, n) != 0) return false;
  if (name[n] == '\0') {
    *has = false;
    return true;
  }
  if (name[n] != '.') return false;
  uint32_t v = 0;
  for (const char* p = name + n + 1; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9' || v > 100000) return false;
    v = v * 10 + static_cast<uint32_t>(*p - '0');
  }
  *prio = v;
  *has = true;
  return true;
}

struct CtorEntry {
  uint32_t prio;  // lower runs first; unnumbered arrays sort after all numbered ones
  uint32_t seq;   // input order, to keep the sort stable
  uintptr_t fn;
};

void sort_entries(Vec<CtorEntry>& v) {
  for (size_t i = 1; i < v.size(); ++i) {  // insertion sort: few entries, stable
    CtorEntry e = v[i];
    size_t j = i;
    while (j > 0 && (v[j - 1].prio > e.prio || (v[j - 1].prio == e.prio && v[j - 1].seq > e.seq))) {
      v[j] = v[j - 1];
      --j;
    }
    v[j] = e;
  }
}

}  // namespace

Result<void> LinkJob::collect_ctors() {
  Vec<CtorEntry> init(alloc), fini(alloc);
  uint32_t seq = 0;
  for (uint32_t o = 0; o < objs.size(); ++o) {
    const ObjState& st = objs[o];
    for (const Section& s : st.obj->sections) {
      const SecPlace& p = st.place[s.index];
      if (p.cls < 0) continue;
      uint32_t prio = 0;
      bool has = false;
      bool is_init = false, reversed = false;
      if (s.type == SHT_PREINIT_ARRAY) {
        is_init = true;  // runs before every other constructor, as in a program
        has = true;
        prio = 0;
      } else if (s.type == SHT_INIT_ARRAY && priority_of(s.name, ".init_array", &prio, &has)) {
        is_init = true;
      } else if (s.type == SHT_FINI_ARRAY && priority_of(s.name, ".fini_array", &prio, &has)) {
      } else if (s.type == SHT_PROGBITS && priority_of(s.name, ".ctors", &prio, &has)) {
        // .ctors run last to first; .ctors.N is .init_array.(65535 - N).
        is_init = true;
        reversed = true;
        if (has) prio = 65535 - prio;
      } else if (s.type == SHT_PROGBITS && priority_of(s.name, ".dtors", &prio, &has)) {
        reversed = true;
        if (has) prio = 65535 - prio;
      } else {
        continue;
      }
      if (!has) prio = 65536;
      // Read word by word through memcpy: the section's alignment is the
      // file's to choose, and an array placed at an odd offset must not
      // become a misaligned load.
      const auto* words = reinterpret_cast<const uint8_t*>(alias[p.cls] + p.off);
      size_t n = s.size / sizeof(uintptr_t);
      Vec<CtorEntry>& list = is_init ? init : fini;
      for (size_t k = 0; k < n; ++k) {
        uintptr_t fn = 0;
        mk_memcpy(&fn, words + (reversed ? n - 1 - k : k) * sizeof(uintptr_t), sizeof fn);
        if (fn == 0 || fn == UINTPTR_MAX) continue;  // .ctors sentinels
        if (!list.push(CtorEntry{prio, seq++, fn}))
          return Error(Errc::kNoMemory, "link: out of memory for constructor lists");
      }
    }
  }
  sort_entries(init);
  sort_entries(fini);
  uintptr_t* words = nullptr;
  if (!file->reserve_ctors(linker.alloc_, init.size(), fini.size(), &words))
    return Error(Errc::kNoMemory, "link: out of memory for constructor lists");
  for (const CtorEntry& e : init)
    *words++ = e.fn;
  // A fini array runs from its last entry to its first.
  for (size_t k = fini.size(); k > 0; --k)
    *words++ = fini[k - 1].fn;
  return Ok();
}

// Stub sizing, settled once the file is placed: the scan reserved a stub for
// each call that might not reach its target from wherever the file would
// land, and apply() went through only those that did not (a canonical stub,
// a function's address for the whole file, is always taken). The stubs
// nobody took end the text block (nothing is reserved in text after them)
// and go back to the arena: in the common case, a file placed within reach
// of what it calls, all of them. A Placer's blocks are the caller's and keep
// their size.
void LinkJob::trim_stubs() {
  if (req.placer != nullptr || stubs.empty()) return;
  uint32_t keep = stubs_taken;
  for (uint32_t k : stubs)
    if (outside[k].canonical && outside[k].stub > keep) keep = outside[k].stub;
  if (keep == stubs.size()) return;
  (void)stubs.resize(keep);  // shrinking: cannot fail
  // The padding that aligned the stubs stays: at most stub_align - 1 bytes,
  // which the next text block's own alignment mostly takes anyway.
  const uint64_t end = stub_off + uint64_t{keep} * machine->stub_size;
  linker.arena_.shrink(file->blocks[static_cast<int>(Class::kText)], static_cast<size_t>(end));
  size[static_cast<int>(Class::kText)] = end;
}

namespace {

bool is_eh_frame(const FileSection& s) {
  return s.size != 0 && str_eq(s.name, ".eh_frame");
}

// Deregisters the first `count` .eh_frame sections of f.
void deregister_frames(CodeRuntime* rt, const LinkerFile& f, size_t count) {
  for (const FileSection& s : f.sections()) {
    if (count == 0) break;
    if (!is_eh_frame(s)) continue;
    rt->deregister_eh_frame(s.addr);
    --count;
  }
}

// Deregisters every .eh_frame of f, if they are registered.
void deregister_frames(CodeRuntime* rt, LinkerFile& f) {
  if (!f.frames_registered) return;
  deregister_frames(rt, f, SIZE_MAX);
  f.frames_registered = false;
}

}  // namespace

Result<void> LinkJob::register_frames() {
  CodeRuntime* rt = linker.runtime_;
  if (rt == nullptr) return Ok();
  // All or none: a refusal takes back the ones registered before it, so the
  // file records one bit.
  size_t done = 0;
  for (const FileSection& s : file->sections()) {
    if (!is_eh_frame(s)) continue;
    if (!rt->register_eh_frame(s.addr, s.size)) {
      deregister_frames(rt, *file, done);
      return Error(Errc::kInvalid, "%s: the unwinder refused .eh_frame at %#lx", obj_name(s.object),
                   s.addr);
    }
    ++done;
  }
  file->frames_registered = true;
  return Ok();
}

Linker::Linker(Arena& arena, Allocator& alloc, CodeRuntime* runtime, uintptr_t default_home)
    : arena_(arena), alloc_(alloc), runtime_(runtime), home_(default_home) {}

Result<LinkerFile*> Linker::link(const LinkRequest& req) {
  if (req.count > kMaxLinkObjects)
    return Error(Errc::kUnsupported,
                 "link: %zu objects in one request; at most %zu link into one file (a file's "
                 "sections name their object in 16 bits): link them as several files",
                 req.count, kMaxLinkObjects);
  LinkJob job(*this, req);
  // Until collect_symbols knows what the file's tables hold, the file is
  // this record of its blocks; then it is the record and tables made in one
  // allocation (LinkerFile::with_tables), and job.file points there.
  LinkerFile placed;
  job.file = &placed;
  Result<void> r = [&]() -> Result<void> {
    MK_TRY(job.layout());
    MK_TRY(job.define());
    MK_TRY(job.scan());
    Window w = MK_TRY(job.place());
    // A block records its size in 32 bits. Only stubs and GOT slots beyond
    // the validator's 2 GiB of sections could pass it.
    for (int c = 0; c < kClassCount; ++c)
      if (job.size[c] > UINT32_MAX - 1)
        return Error(Errc::kRange,
                     "link: the file's %s would take 0x%lx bytes; a block holds less than 4 GiB",
                     class_name(static_cast<Class>(c)), static_cast<uint64_t>(job.size[c]));
    if (req.placer != nullptr)
      MK_TRY(req.placer->place(job.size, job.align, w, placed.blocks, job.alias));
    else
      MK_TRY(job.allocate(w));
    job.copy();
    MK_TRY(job.apply());
    job.trim_stubs();
    job.fill_slots();
    // The code was written through the alias: the instruction side must see
    // it where it runs (cache maintenance on aarch64 and riscv64).
    if (runtime_ != nullptr) {
      for (Class c : {Class::kText, Class::kInitText}) {
        const Block& b = placed.blocks[static_cast<int>(c)];
        if (b.size != 0) runtime_->sync_code(b.base, b.size, job.alias[static_cast<int>(c)]);
      }
    }
    MK_TRY(job.collect_symbols());  // job.file: the file proper from here on
    MK_TRY(job.collect_ctors());
    MK_TRY(job.register_frames());
    // Debug registration: the last phase before constructors, while the
    // inputs (with their debug sections, which are not loaded) are still
    // borrowed. It cannot fail.
    if (runtime_ != nullptr)
      job.file->debug = runtime_->register_debug(*job.file, req.objects, req.count);
    return Ok();
  }();
  LinkerFile* f = job.file;
  if (!r) {
    // The one rollback path: undo whatever the phases above did.
    if (runtime_ != nullptr) {
      runtime_->unregister_debug(*f);
      deregister_frames(runtime_, *f);
    }
    for (const Block& b : f->blocks)
      arena_.free(b);
    if (f != &placed) LinkerFile::destroy(alloc_, f);
    return r.error();
  }
  if (req.run_constructors) run_constructors(*f, req.argc, req.argv, req.envp);
  return f;
}

void Linker::run_constructors(LinkerFile& f, int argc, char** argv, char** envp) {
  if (f.initialized) return;
  f.initialized = true;
  using InitFn = void (*)(int, char**, char**);
  for (uintptr_t fn : f.init())
    reinterpret_cast<InitFn>(fn)(argc, argv, envp);
  // Init-only text is dead now: give it back. Its symbols stay listed (with
  // their old addresses, for the record) but find() no longer answers them.
  Block& init_text = f.blocks[static_cast<int>(Class::kInitText)];
  arena_.free(init_text);
  init_text = Block{};
  f.init_released = true;
}

void Linker::unlink(LinkerFile* f) {
  if (f == nullptr) return;
  if (f->initialized) {
    if (runtime_ != nullptr && f->dso_handle() != 0) runtime_->finalize(f->dso_handle());
    using FiniFn = void (*)();
    for (uintptr_t fn : f->fini())
      reinterpret_cast<FiniFn>(fn)();
  }
  if (runtime_ != nullptr) {
    runtime_->unregister_debug(*f);
    deregister_frames(runtime_, *f);
  }
  for (const Block& b : f->blocks)
    arena_.free(b);
  LinkerFile::destroy(alloc_, f);
}

}  // namespace mk::link
