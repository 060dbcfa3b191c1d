/* modkit services SDK: what a module registers with the kernel, in C or C++.
 *
 * Every registration is owned by the module that makes it (the `owner`
 * argument: the module's own struct mk_module*, as its event handler gets it,
 * or mk_module_find("name") from a SYSINIT). A module should take back what
 * it registered in its UNLOAD handler or SYSUNINIT; whatever is left when it
 * stops (unload, or a failed LOAD) is revoked by the kernel, newest first,
 * and logged as a leak ("echo: leaked cdev 'echo0', revoked").
 *
 * Calls into a module through a service (a device operation, an event
 * handler, a generic service's function while the user holds it) count as
 * in flight on that module: its unload waits for them (or is refused, or
 * deferred, by the unloader's policy), and once it is going away new calls
 * fail with MK_ENXIO before reaching its code.
 *
 *   static int64_t zero_read(struct mk_cdev* d, void* priv, uint64_t off, void* buf, size_t n) {
 *     memset(buf, 0, n);
 *     return (int64_t)n;
 *   }
 *   static const struct mk_cdevsw zero_sw = {MK_CDEVSW_VERSION, .read = zero_read};
 *   MODKIT_TUNABLE(zero, zero_fill, uint, 0, "byte value read from /dev/zero");
 *   ... in LOAD: mk_cdev_create(m, "zero", &zero_sw, NULL, 0666, 0, 0, &dev);
 *   ... in UNLOAD: mk_cdev_destroy(dev);
 */
#ifndef MODKIT_SERVICE_H
#define MODKIT_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "modkit/module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- character devices (FreeBSD's cdevsw) ---- */

#define MK_CDEVSW_VERSION 1
#define MK_EAGAIN 11
#define MK_ENODEV 19
#define MK_ENOTTY 25
#define MK_ENOSPC 28

/* poll(2) bits and open(2) access modes, as Linux numbers them. */
#define MK_POLLIN 0x1
#define MK_POLLOUT 0x4
#define MK_O_ACCMODE 3
#define MK_O_RDONLY 0
#define MK_O_WRONLY 1
#define MK_O_RDWR 2

struct mk_cdev; /* opaque: one device node */

/* The operations of a device; any may be NULL (open/close: nothing to do;
 * read/write: MK_ENODEV; ioctl: MK_ENOTTY; poll: always ready). Errors are
 * returned negated (-MK_EIO). `priv` is what open stored for this open. */
struct mk_cdevsw {
  uint32_t version; /* MK_CDEVSW_VERSION */
  int (*open)(struct mk_cdev* dev, uint32_t flags, void** priv);
  void (*close)(struct mk_cdev* dev, void* priv);
  int64_t (*read)(struct mk_cdev* dev, void* priv, uint64_t offset, void* buf, size_t len);
  int64_t (*write)(struct mk_cdev* dev, void* priv, uint64_t offset, const void* buf, size_t len);
  int (*ioctl)(struct mk_cdev* dev, void* priv, uint32_t cmd, void* arg, size_t len);
  uint32_t (*poll)(struct mk_cdev* dev, void* priv, uint32_t events);
};

/* Makes device node `path` in devfs (subdirectories allowed: "echo/0") with
 * permission bits `mode` and owner uid/gid. `sw` and `softc` must stay valid
 * until mk_cdev_destroy returns. 0 and *out, or MK_EEXIST, MK_EINVAL,
 * MK_ENOMEM, MK_ENXIO (no devfs). */
int mk_cdev_create(struct mk_module* owner, const char* path, const struct mk_cdevsw* sw,
                   void* softc, uint32_t mode, uint32_t uid, uint32_t gid, struct mk_cdev** out);
/* Removes the node: new opens fail, calls on open files get MK_ENXIO; waits
 * for calls running in it and closes every open (close runs for each), so
 * the module may free what the device used right after. Never from inside a
 * call on the same device. */
void mk_cdev_destroy(struct mk_cdev* dev);
void* mk_cdev_softc(const struct mk_cdev* dev);
/* Readiness changed: sleeping pollers look again. */
void mk_cdev_poll_wakeup(struct mk_cdev* dev);

/* ---- event handlers (FreeBSD's EVENTHANDLER) ---- */

/* Events the kernel itself invokes. `data`: NULL for shutdown; for a device
 * arrival, the device's devfs path (const char*). */
#define MK_EVENT_SHUTDOWN_NAME "shutdown"
#define MK_EVENT_DEVICE_ARRIVAL "device_arrival"

/* Priorities: lower runs first. */
#define MK_EVENT_PRI_FIRST 0
#define MK_EVENT_PRI_DEFAULT 10000
#define MK_EVENT_PRI_LAST 20000

struct mk_eventh; /* opaque: one registered handler */
typedef void (*mk_event_handler_fn)(void* arg, const char* event, void* data);

/* Registers fn(arg, event, data) for the named event (any name; a C
 * identifier or dotted words). Handlers of one event run by priority, then in
 * registration order. 0 and *out, or MK_EINVAL, MK_ENOMEM. */
int mk_event_register(struct mk_module* owner, const char* event, int priority,
                      mk_event_handler_fn fn, void* arg, struct mk_eventh** out);
void mk_event_deregister(struct mk_eventh* h);
/* Calls the event's handlers in order; a handler whose module is going away
 * is skipped. Returns how many ran. Must not be called while holding a lock a
 * handler takes. */
int mk_event_invoke(const char* event, void* data);

/* ---- tunables (Linux module parameters) ---- */

enum mk_tunable_type {
  MK_TUNABLE_INT = 1,    /* int, decimal or 0x hex, may be negative */
  MK_TUNABLE_UINT = 2,   /* unsigned int */
  MK_TUNABLE_BOOL = 3,   /* int 0 or 1; set as 0/1/true/false/yes/no/on/off */
  MK_TUNABLE_STRING = 4, /* char[size], NUL-terminated */
};

#define MK_TUNABLE_DESC_MAX 128
#define MK_TUNABLE_DEFAULT_MAX 64

/* The record of one tunable (read offline by `modkit inspect`). */
struct mk_meta_tunable {
  struct mk_meta_header h;
  char module[MK_NAME_MAX];
  char name[MK_NAME_MAX];
  char description[MK_TUNABLE_DESC_MAX];
  char def[MK_TUNABLE_DEFAULT_MAX]; /* the default, as text */
  uint32_t type;                    /* enum mk_tunable_type */
  uint32_t size;                    /* bytes of the variable */
  void* addr;                       /* the variable */
};

#define MK__TUNABLE_CTYPE_int int
#define MK__TUNABLE_CTYPE_uint unsigned int
#define MK__TUNABLE_CTYPE_bool int
#define MK__TUNABLE_TYPE_int MK_TUNABLE_INT
#define MK__TUNABLE_TYPE_uint MK_TUNABLE_UINT
#define MK__TUNABLE_TYPE_bool MK_TUNABLE_BOOL

#define MK__TUNABLE_RECORD(mod, var, type, deftext, desc)                            \
  static struct mk_meta_tunable MK__CAT(MK__CAT(mk__tunable_, mod), MK__CAT(_, var)) \
      MK__META_ATTR = {MK__HEADER(MK_REC_TUNABLE, struct mk_meta_tunable),           \
                       #mod,                                                         \
                       #var,                                                         \
                       desc,                                                         \
                       deftext,                                                      \
                       (type),                                                       \
                       (uint32_t)sizeof(var),                                        \
                       (void*)&(var)}

/* Declares `static <type> var = def;` (type: int, uint or bool; def a
 * literal) as parameter `var` of module `mod`, settable at load time as
 * var=value (or mod.var=value) and while loaded (`modkit params`). A module
 * that reads it while it may be set reads it with __atomic_load_n. */
#define MODKIT_TUNABLE(mod, var, type, def, desc)     \
  static MK__CAT(MK__TUNABLE_CTYPE_, type) var = def; \
  MK__TUNABLE_RECORD(mod, var, MK__CAT(MK__TUNABLE_TYPE_, type), #def, desc)

/* Declares `static char var[size] = def;` (def a string literal) as a string
 * parameter. Setting it while loaded rewrites the array in place, under no
 * lock of the module's: read it at load (SYSINIT, LOAD), or expect a reader
 * racing a set to see a mix of old and new (always NUL-terminated). */
#define MODKIT_TUNABLE_STRING(mod, var, size, def, desc) \
  static char var[size] = def;                           \
  MK__TUNABLE_RECORD(mod, var, MK_TUNABLE_STRING, def, desc)

/* ---- generic services: a module's own table of functions ---- */

struct mk_service; /* opaque: one offered service */

/* Offers `table` (a struct of function pointers, `size` bytes) under `name`
 * at `version`. One provider per name. 0 and *out, or MK_EEXIST, MK_EINVAL,
 * MK_ENOMEM. */
int mk_service_offer(struct mk_module* owner, const char* name, uint32_t version, const void* table,
                     size_t size, struct mk_service** out);
void mk_service_withdraw(struct mk_service* s);
/* Finds service `name` with a version in [min, max] and holds its provider
 * (it cannot be unloaded until mk_service_release); NULL when there is none
 * or its provider is going away. *size_out (may be NULL) gets the table's
 * size, for checking before using newer fields. */
const void* mk_service_acquire(const char* name, uint32_t min, uint32_t max, size_t* size_out);
void mk_service_release(const void* table);

#ifdef __cplusplus
}
#endif

#endif /* MODKIT_SERVICE_H */
