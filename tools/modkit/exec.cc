// modkit exec OBJ.o [OBJ2.o ...] [-- ARGS...]
//
// Links the objects into this process as one file with modkit's linker,
// resolving what they import against the tool's own C and C++ runtime, and
// runs their main(). Like `tcc -run`, with a kernel module loader's linker.
#include <stdio.h>
#include <stdlib.h>

#include "modkit/modkit.hpp"
#include "verbs.h"

extern char** environ;

namespace modkit::tool {
namespace {

constexpr int kLinkFailed = 127;  // as a shell reports a command it cannot run

struct ExecState {
  Kernel* kernel = nullptr;
  File* file = nullptr;
} g_exec;

// Registered with atexit() before the program's constructors run, so it runs
// after every handler the program registers: the order of a linked program,
// where exit() runs atexit handlers and then the fini arrays.
void run_program_fini() {
  if (g_exec.file != nullptr) g_exec.kernel->run_destructors(g_exec.file);
}

void report_unresolved(void*, const char* name, const char* object, const char* section,
                       unsigned long offset) {
  fprintf(stderr, "modkit exec: undefined symbol `%s' (referenced from %s %s+0x%lx)\n", name,
          object, section, offset);
}

int run_exec(const std::vector<std::string>& objects, const std::vector<std::string>& args) {
  static Kernel kernel(Options{.host_symbols = true});  // lives until exit: the program may
                                                        // run code from atexit handlers
  std::vector<std::string> argv_store;
  argv_store.push_back(objects.front());
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_store)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(argv.size() - 1);

  LoadOptions opts;
  opts.run_constructors = false;
  opts.on_unresolved = &report_unresolved;
  Error err;
  File* f = kernel.load_objects(objects, &err, opts);
  if (f == nullptr) {
    if (err.code != Errc::kUnresolved)  // already listed, one per line
      fprintf(stderr, "modkit exec: %s\n", err.message.c_str());
    return kLinkFailed;
  }
  using Main = int (*)(int, char**, char**);
  auto main_fn = reinterpret_cast<Main>(kernel.symbol(f, "main"));
  if (main_fn == nullptr) {
    fprintf(stderr, "modkit exec: no `main' in %s\n", objects.front().c_str());
    kernel.unload(f);
    return kLinkFailed;
  }
  g_exec = {&kernel, f};
  atexit(&run_program_fini);
  kernel.run_constructors(f, argc, argv.data(), environ);
  exit(main_fn(argc, argv.data(), environ));
}

}  // namespace

Run add_exec(CLI::App& app, std::vector<std::string>* program_args) {
  // Parsed options live as long as the process: the returned closure runs
  // after add_exec() returns (a static, not a leaked heap object).
  static std::vector<std::string> objects_storage;
  std::vector<std::string>* objects = &objects_storage;
  CLI::App* sub =
      app.add_subcommand("exec", "Link object files into this process and run their main()");
  sub->add_option("objects", *objects, "relocatable objects (.o) linked together as one program")
      ->required()
      ->check(CLI::ExistingFile);
  sub->footer(
      "Arguments after `--` are passed to the program. The exit status is the program's;\n"
      "127 when it cannot be linked (each undefined symbol is listed on its own line).\n\n"
      "Example:\n  cc -c hello.c && modkit exec hello.o -- world");
  return [objects, program_args] { return run_exec(*objects, *program_args); };
}

}  // namespace modkit::tool
