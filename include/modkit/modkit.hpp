// modkit embedding API (C++). A Kernel links relocatable objects (.o, .ko)
// into the running program with modkit's own linker: no ld, no dlopen.
//
//   modkit::Kernel k;
//   k.export_symbol("kprintf", reinterpret_cast<void*>(&kprintf));
//   std::string err;
//   modkit::File* f = k.load("hello.ko", &err);
//   if (f == nullptr) { fprintf(stderr, "%s\n", err.c_str()); return 1; }
//   auto hello = reinterpret_cast<int (*)(int)>(k.symbol(f, "hello"));
//   hello(42);
//   k.unload(f);
//
// What a module sees: the symbols exported with export_symbol() and, when
// Options::host_symbols is set, the host process's own symbols (libc, libm,
// libstdc++), as `modkit exec` does. Nothing else.
//
// Thread safety: one Kernel is used by one thread at a time (the module
// framework adds the locking of a real kernel).
#pragma once

#include <stddef.h>

#include <memory>
#include <string>
#include <vector>

namespace modkit {

class File;  // a loaded file; owned by its Kernel

// What a load does with a module's signature (README, "Signing modules"):
// kOff loads files as they are; kWarn checks, reports a failure through
// Options::log and loads; kEnforce refuses the load (Errc::kPermission).
enum class SignaturePolicy { kOff, kWarn, kEnforce };

struct Options {
  bool host_symbols = false;  // resolve what exports lack against the host process (dlsym)
  SignaturePolicy signature_policy = SignaturePolicy::kOff;
  // Public key files (KEY.pub of `modkit keygen`) whose signatures are
  // accepted. One that cannot be read makes every load fail, naming it.
  std::vector<std::string> trusted_keys{};
  // Where kWarn reports go (one line, no newline); nullptr: stderr.
  void (*log)(void* ctx, const char* line) = nullptr;
  void* log_ctx = nullptr;
};

// Error categories (the same values as the core's mk::Errc).
enum class Errc : int {
  kMalformed,    // the input breaks a rule of its format
  kUnsupported,  // well-formed, but not something modkit handles
  kRange,        // a value does not fit where it must be stored
  kUnresolved,   // undefined symbols
  kDuplicate,    // a name already taken
  kNoMemory,
  kNotFound,
  kBusy,
  kInvalid,
  kIo,
  kPermission,
};

// An error: its category and a message that says what was wrong and where.
struct Error {
  Errc code = Errc::kInvalid;
  std::string message;
};

struct LoadOptions {
  bool run_constructors = true;
  int argc = 0;  // passed to constructors, as glibc passes them to .init_array
  char** argv = nullptr;
  char** envp = nullptr;
  // Called for each undefined symbol before the load fails (name, object, section, offset).
  void (*on_unresolved)(void* ctx, const char* name, const char* object, const char* section,
                        unsigned long offset) = nullptr;
  void* ctx = nullptr;
};

class Kernel {
 public:
  explicit Kernel(const Options& options = {});
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // Makes `name` visible to modules at `addr`. False if the name is taken,
  // or holds a NUL (no module could name it).
  bool export_symbol(const std::string& name, const void* addr, size_t size = 0,
                     bool function = true);

  // Loads one object file / one in-memory object / several objects linked
  // together as one file. nullptr on failure, with *error filled when given.
  File* load(const std::string& path, Error* error = nullptr, const LoadOptions& opts = {});
  File* load_memory(const void* data, size_t size, const std::string& name, Error* error = nullptr,
                    const LoadOptions& opts = {});
  File* load_objects(const std::vector<std::string>& paths, Error* error = nullptr,
                     const LoadOptions& opts = {});

  // Raises the signature policy; lowering it from kEnforce is refused (false,
  // Errc::kPermission): that takes a new Kernel.
  bool set_signature_policy(SignaturePolicy policy, Error* error = nullptr);

  // Runs constructors of a file loaded with run_constructors = false.
  void run_constructors(File* f, int argc, char** argv, char** envp);
  // Runs a file's destructors now (for a host about to exit without unloading).
  void run_destructors(File* f);

  // Address of a global symbol the file defines, or nullptr.
  void* symbol(File* f, const std::string& name) const;

  // Address of `name` anywhere in the kernel, as dlsym(RTLD_DEFAULT) answers
  // in a process: the kernel's exports first, then what symbol() would answer
  // for each loaded file, the earliest loaded first when several define it.
  // One hash lookup however many files are loaded (files loaded since the
  // last lookup are indexed by this call). nullptr if nothing defines it,
  // and for a name with a NUL inside (no symbol's name has one).
  void* lookup(const std::string& name) const;

  // Runs destructors, unregisters and frees the file.
  void unload(File* f);

  // Arena bytes in use by loaded files (for leak checks).
  size_t arena_used() const;
  size_t files() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modkit
