/* modkit module SDK: what a module author includes, in C or C++.
 *
 * A module is a named, versioned unit. It declares itself, its dependencies,
 * its ordered init/uninit steps and its exports with the macros below. They
 * emit records of plain data into the section `modkit_modinfo`; the kernel
 * reads them (names and versions inline, no pointers to follow) before any
 * code of the module runs, and kldxref-like tools read them from the file
 * alone. The same source builds a loadable .ko and a static module linked
 * into the kernel image: nothing to change, nothing to #ifdef.
 *
 *   #include <modkit/module.h>
 *
 *   static int echo_event(struct mk_module* m, int event, void* arg) {
 *     switch (event) {
 *       case MK_EVENT_LOAD: return 0;
 *       case MK_EVENT_QUIESCE: return busy ? mk_module_veto(m, "device open") : 0;
 *       case MK_EVENT_UNLOAD: return 0;
 *       case MK_EVENT_SHUTDOWN: return 0;
 *     }
 *     return MK_EOPNOTSUPP;
 *   }
 *   MODKIT_MODULE(echo, 3, echo_event, NULL);
 *   MODKIT_DEPEND(echo, kernel, 1, 1, 1);
 *   MODKIT_DEPEND(echo, buffer, 2, 3, 4);    // min, preferred, max
 *   MODKIT_SYSINIT(echo, MK_SI_DRIVERS, 10, echo_init, NULL);
 *   MODKIT_SYSUNINIT(echo, MK_SI_DRIVERS, 10, echo_fini, NULL);
 *   MODKIT_EXPORT(echo, echo_write);
 *   MODKIT_EXPORT_NS(echo, ECHO_INTERNAL, echo_flush);  // only for importers of ECHO_INTERNAL
 *   MODKIT_IMPORT_NS(echo, BUFFER_CORE);                // may bind to buffer's BUFFER_CORE exports
 *
 * Record format (version MK_META_VERSION): each record starts with a header
 * (magic, version, kind, size) and is a multiple of 8 bytes; records follow
 * each other in the one section of that name a file may have (compilers
 * emit one per translation unit and `ld -r` merges them; a second one is
 * refused). Strings are NUL-terminated inside their fixed fields.
 */
#ifndef MODKIT_MODULE_H
#define MODKIT_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MK_META_MAGIC 0x444d4b4du /* "MKMD" */
#define MK_META_VERSION 1
#define MK_NAME_MAX 64 /* module names, including the NUL */

enum mk_record_kind {
  MK_REC_MODULE = 1,
  MK_REC_DEPEND = 2,
  MK_REC_SYSINIT = 3,
  MK_REC_EXPORT = 4,
  MK_REC_IMPORT_NS = 5,
  /* 6 and 7: drivers and their match tables (modkit/bus.h). */
  MK_REC_DRIVER = 6,
  MK_REC_MATCH = 7,
  MK_REC_TUNABLE = 8, /* modkit/service.h */
};

/* Module events, delivered to the module's handler. */
enum mk_event {
  MK_EVENT_LOAD = 1,     /* after its SYSINITs: non-zero fails the load (all undone) */
  MK_EVENT_QUIESCE = 2,  /* unload requested: non-zero vetoes it (see mk_module_veto) */
  MK_EVENT_UNLOAD = 3,   /* going away: release everything */
  MK_EVENT_SHUTDOWN = 4, /* the system is shutting down (static modules too) */
  MK_EVENT_RESUME = 5,   /* the unload was vetoed or could not drain: back to work */
};

/* SYSINIT subsystems, run in ascending order, then by `order`. */
enum mk_subsystem {
  MK_SI_FIRST = 0,
  MK_SI_TUNABLES = 100,
  MK_SI_LOCKS = 200,
  MK_SI_SERVICES = 300,
  MK_SI_BUSES = 400,
  MK_SI_DRIVERS = 500,
  MK_SI_DEVICES = 600,
  MK_SI_LAST = 1000,
};

/* Error numbers a handler may return (errno values, as FreeBSD modules do). */
#define MK_EPERM 1
#define MK_ENOENT 2
#define MK_EIO 5
#define MK_ENXIO 6
#define MK_ENOMEM 12
#define MK_EBUSY 16
#define MK_EEXIST 17
#define MK_EINVAL 22
#define MK_EOPNOTSUPP 95

struct mk_module; /* opaque: the kernel's record of a live module */

typedef int (*mk_event_fn)(struct mk_module* module, int event, void* arg);
typedef void (*mk_sysinit_fn)(void* arg);

struct mk_meta_header {
  uint32_t magic;  /* MK_META_MAGIC */
  uint8_t version; /* MK_META_VERSION */
  uint8_t kind;    /* enum mk_record_kind */
  uint16_t size;   /* whole record, a multiple of 8 */
};

struct mk_meta_module {
  struct mk_meta_header h;
  char name[MK_NAME_MAX];
  uint32_t version;
  uint32_t line;       /* source line of the declaration: compilers may reorder records,
                          and modules of one source start in declaration order */
  mk_event_fn handler; /* may be NULL */
  void* arg;
};

struct mk_meta_depend {
  struct mk_meta_header h;
  char module[MK_NAME_MAX]; /* the module that depends */
  char target[MK_NAME_MAX]; /* the module it needs */
  uint32_t min, preferred, max;
  uint32_t reserved;
};

struct mk_meta_sysinit {
  struct mk_meta_header h;
  char module[MK_NAME_MAX];
  uint32_t subsystem; /* enum mk_subsystem, or any number */
  uint32_t order;
  uint32_t uninit; /* 0: SYSINIT, run at load; 1: SYSUNINIT, run at unload, in reverse */
  uint32_t reserved;
  mk_sysinit_fn fn;
  void* arg;
};

struct mk_meta_export {
  struct mk_meta_header h;
  char module[MK_NAME_MAX];
  char ns[32]; /* symbol namespace, "" for none */
  char name[]; /* the exported symbol, NUL-padded to a multiple of 8 */
};

/* Module `module` may bind to exports in namespace `ns` (see MODKIT_IMPORT_NS). */
struct mk_meta_import_ns {
  struct mk_meta_header h;
  char module[MK_NAME_MAX];
  char ns[32]; /* a C identifier */
};

/* ---- KPI: what the kernel provides to every module (module `kernel`) ---- */

/* Says why a QUIESCE handler refuses; returns MK_EBUSY for `return mk_module_veto(...)`. */
int mk_module_veto(struct mk_module* module, const char* reason);
/* Takes / drops a reference that keeps a module from being unloaded. get
 * fails (returns non-zero) once the module is going away. */
int mk_module_get(struct mk_module* module);
void mk_module_put(struct mk_module* module);
/* The module of this name, or NULL. */
struct mk_module* mk_module_find(const char* name);
/* Loads module `name` (its highest version) and its dependencies from the
 * module path, as kldload does; may be called from a module's own SYSINIT or
 * LOAD handler. 0, or MK_EEXIST (already loaded), MK_ENOENT, MK_EBUSY, ... */
int mk_module_load(const char* name);
const char* mk_module_name(const struct mk_module* module);
/* printf-style logging into the kernel's log. */
void mk_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the macros ---- */

#define MK__CAT2(a, b) a##b
#define MK__CAT(a, b) MK__CAT2(a, b)
#define MK__ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* `used` keeps a record nobody references; no `retain`: clang would give each
 * record a section of its own. A static kernel link keeps the section through
 * its __start_modkit_modinfo / __stop_modkit_modinfo references. */
#define MK__META_ATTR __attribute__((section("modkit_modinfo"), used, aligned(8)))

#define MK__HEADER(kind, type) \
  { MK_META_MAGIC, MK_META_VERSION, (kind), (uint16_t)sizeof(type) }

/* Declares module `name` (a C identifier) at `version` with its event handler. */
#define MODKIT_MODULE(name, version, handler, arg)                       \
  static struct mk_meta_module MK__CAT(mk__module_, name)                \
      MK__META_ATTR = {MK__HEADER(MK_REC_MODULE, struct mk_meta_module), \
                       #name,                                            \
                       (version),                                        \
                       __LINE__,                                         \
                       (handler),                                        \
                       (arg)}

/* `name` needs module `target` with a version in [min, max], preferring `preferred`. */
#define MODKIT_DEPEND(name, target, min, preferred, max)                               \
  static struct mk_meta_depend MK__CAT(MK__CAT(mk__depend_, name), MK__CAT(_, target)) \
      MK__META_ATTR = {MK__HEADER(MK_REC_DEPEND, struct mk_meta_depend),               \
                       #name,                                                          \
                       #target,                                                        \
                       (min),                                                          \
                       (preferred),                                                    \
                       (max),                                                          \
                       0}

#define MK__SYSINIT(name, sub, order, fn, arg, uninit)                         \
  static struct mk_meta_sysinit MK__CAT(MK__CAT(mk__sysinit_, name), __LINE__) \
      MK__META_ATTR = {MK__HEADER(MK_REC_SYSINIT, struct mk_meta_sysinit),     \
                       #name,                                                  \
                       (sub),                                                  \
                       (order),                                                \
                       (uninit),                                               \
                       0,                                                      \
                       (mk_sysinit_fn)(fn),                                    \
                       (arg)}

/* Runs fn(arg) when `name` loads, ordered by (subsystem, order). */
#define MODKIT_SYSINIT(name, sub, order, fn, arg) MK__SYSINIT(name, sub, order, fn, arg, 0)
/* Runs fn(arg) when `name` unloads, in the reverse of (subsystem, order). */
#define MODKIT_SYSUNINIT(name, sub, order, fn, arg) MK__SYSINIT(name, sub, order, fn, arg, 1)

#define MK__EXPORT(name, ns, sym)                                                                \
  static struct {                                                                                \
    struct mk_meta_header h;                                                                     \
    char module[MK_NAME_MAX];                                                                    \
    char ns_[32];                                                                                \
    char sym_[MK__ALIGN8(sizeof(#sym))];                                                         \
  } MK__CAT(mk__export_, sym) MK__META_ATTR = {                                                  \
      {MK_META_MAGIC, MK_META_VERSION, MK_REC_EXPORT,                                            \
       (uint16_t)(sizeof(struct mk_meta_header) + MK_NAME_MAX + 32 + MK__ALIGN8(sizeof(#sym)))}, \
      #name,                                                                                     \
      ns,                                                                                        \
      #sym}

/* Makes `sym` (a global of this module) visible to modules that depend on `name`. */
#define MODKIT_EXPORT(name, sym) MK__EXPORT(name, "", sym)
/* The same, in a namespace importers must declare (MODKIT_IMPORT_NS). */
#define MODKIT_EXPORT_NS(name, ns, sym) MK__EXPORT(name, #ns, sym)

/* Lets module `name` bind to symbols exported into namespace `ns` (a C
 * identifier of at most 31 characters), as Linux's MODULE_IMPORT_NS. Binding
 * to a namespaced export without it fails the load, naming the symbol, its
 * namespace and its module. An import the file binds nothing through (a
 * namespace nobody it depends on exports into, often a misspelling) only
 * logs a warning, as Linux's modpost does. The exports must still come from
 * the kernel or a dependency (MODKIT_DEPEND): the import adds no visibility. */
#define MODKIT_IMPORT_NS(name, ns)                                                       \
  static struct mk_meta_import_ns MK__CAT(MK__CAT(mk__import_ns_, name), MK__CAT(_, ns)) \
      MK__META_ATTR = {MK__HEADER(MK_REC_IMPORT_NS, struct mk_meta_import_ns), #name, #ns}

#ifdef __cplusplus
}
#endif

#endif /* MODKIT_MODULE_H */
