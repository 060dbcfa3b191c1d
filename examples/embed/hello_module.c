/* hello_module: the module examples/embed loads. An ordinary C file, built
 * with the compiler's defaults: cc -c hello_module.c -o hello_module.o
 *
 * It uses what the embedding program exports (kprintf, kernel_info), keeps
 * its own state, and has a constructor and a destructor, which run at load
 * and unload. */
struct kernel_info {
  int version;
  const char* name;
  int entries;
};
extern struct kernel_info kernel_info;
extern int kprintf(const char* fmt, ...);

static const char* const greetings[] = {"hello", "bonjour", "hallo"};
static int calls;

__attribute__((constructor)) static void on_load(void) {
  kprintf("hello_module: loaded into %s v%d\n", kernel_info.name, kernel_info.version);
}

__attribute__((destructor)) static void on_unload(void) {
  kprintf("hello_module: unloading after %d call(s)\n", calls);
}

int module_entry(int arg) {
  int i;
  for (i = 0; i < 3; ++i)
    kprintf("hello_module: %s, %d\n", greetings[i], arg + i);
  ++calls;
  ++kernel_info.entries;
  return 0;
}
