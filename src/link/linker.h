// Linker: turns validated relocatable objects into a LinkerFile in the arena,
// in named phases with one rollback path:
//
//   layout -> resolve -> stub sizing -> placement and allocation -> copy ->
//   apply -> stub trimming -> protect -> debug registration -> constructors
//
// Symbols are resolved before stub sizing (not after copying, as in FreeBSD's
// order) because where the file may be placed depends on what it reads: code
// built with the compiler defaults reads imported data PC-relatively, so the
// file must land within +-2 GiB of that data; -fno-pic code with 32-bit
// absolute relocations must land in the low 2 GiB. Calls that cannot reach go
// through generated stubs: sized for every call that might not reach, and
// trimmed once apply has seen which did not (the unused ones go back to the
// arena). Any failure undoes every earlier phase and leaves the arena as it
// was.
//
// "Protect" costs nothing per load: the arena's text and read-only chunks are
// already mapped with their final permissions and written through an alias.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "elf/validated_object.h"
#include "link/arena.h"
#include "link/linker_file.h"
#include "link/resolver.h"
#include "platform/code_runtime.h"
#include "support/result.h"

namespace mk::link {

// One undefined symbol that nothing provides, reported to the caller one by
// one before link() fails with a summary (a CLI prints one line each).
struct Unresolved {
  const char* name;
  const char* object;   // LinkRequest::names[i], or "object i"
  const char* section;  // where it is first referenced
  uint64_t offset;
};

// Placer: where a file's blocks go when the caller decides instead of the
// arena (an offline link for a fixed load address: `modkit link`). Given each
// class's size and alignment and the window every block must lie in, it sets
// blocks[c] for every class (base the final address, size, chunk kNoChunk:
// nothing goes back to the arena) and alias[c], where the linker writes those
// bytes (caller-owned, zero-filled, size bytes). It fails, naming the
// conflict, when its placement cannot satisfy the window.
class Placer {
 public:
  [[nodiscard]] virtual Result<void> place(const uint64_t size[kClassCount],
                                           const uint64_t align[kClassCount], const Window& w,
                                           Block blocks[kClassCount],
                                           uintptr_t alias[kClassCount]) = 0;

 protected:
  ~Placer() = default;
};

// The most objects one link() takes (FileSection::object is 16 bits).
inline constexpr size_t kMaxLinkObjects = 65535;

struct LinkRequest {
  const elf::ValidatedObject* const* objects = nullptr;  // linked together as one file
  size_t count = 0;                                      // at most kMaxLinkObjects
  const char* const* names = nullptr;                    // for messages; may be nullptr
  Resolver* resolver = nullptr;  // may be nullptr: nothing outside is visible
  // Where to place the file when nothing it references constrains it (the
  // kernel image, typically). 0: the linker's default.
  uintptr_t home = 0;
  // nullptr: the arena places the file. Otherwise the placer does (the
  // caller then runs no code of the file: nothing is mapped executable).
  Placer* placer = nullptr;
  // Arguments passed to constructors (as glibc does for .init_array).
  int argc = 0;
  char** argv = nullptr;
  char** envp = nullptr;
  bool run_constructors = true;
  void (*on_unresolved)(void* ctx, const Unresolved& u) = nullptr;
  void* ctx = nullptr;
  // Where the link's temporaries come from (its working tables, freed by the
  // time link() returns); nullptr: the linker's allocator. The file's own
  // records always come from the linker's allocator. A Scratch here makes a
  // load's few dozen temporary allocations bump a pointer.
  Allocator* scratch = nullptr;
};

class Linker {
 public:
  Linker(Arena& arena, Allocator& alloc, CodeRuntime* runtime, uintptr_t default_home);

  // Links the request's objects into a new file. On failure nothing remains:
  // no memory, no registration, no constructor has run.
  [[nodiscard]] Result<LinkerFile*> link(const LinkRequest& req);

  // Runs the file's constructors (if link() was asked not to) and releases its
  // init-only text.
  void run_constructors(LinkerFile& f, int argc, char** argv, char** envp);

  // Runs destructors (if constructors ran), unregisters and frees the file.
  void unlink(LinkerFile* f);

  Arena& arena() { return arena_; }

 private:
  friend struct LinkJob;
  Arena& arena_;
  Allocator& alloc_;
  CodeRuntime* runtime_;
  uintptr_t home_;
};

}  // namespace mk::link
