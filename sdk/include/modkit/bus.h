/* modkit bus SDK: drivers, their match tables, and the devices they drive,
 * in the manner of FreeBSD newbus.
 *
 * A driver is declared as module metadata: its name, the bus it attaches to,
 * its priority, and a match table (vendor/device ids or compatible strings).
 * The kernel reads that table before any module code runs, and `modkit xref`
 * copies it into the hints index, so a device that appears with no driver
 * gets the right module loaded (as devmatch does). At run time the module
 * registers the driver's methods by name; the match table comes from the
 * metadata, so the two cannot disagree.
 *
 *   #include <modkit/bus.h>
 *
 *   static int widget_attach(struct mk_device* dev) { ...; return 0; }
 *   static int widget_detach(struct mk_device* dev) {
 *     return busy ? mk_device_refuse(dev, "transfer in progress") : 0;
 *   }
 *   static const struct mk_driver_methods widget_methods = {NULL, widget_attach, widget_detach};
 *   static void widget_init(void* arg) { mk_driver_register(mk_module_find("widget"),
 *                                                           "widget", &widget_methods); }
 *   MODKIT_MODULE(widget, 1, NULL, NULL);
 *   MODKIT_DRIVER(widget, widget, simbus, 10);        // module, driver, bus, priority
 *   MODKIT_MATCH_IDS(widget, widget, 0x1af4, 0x1001); // vendor, device (MK_MATCH_ANY: any)
 *   MODKIT_MATCH_COMPAT(widget, widget, "acme,widget");
 *   MODKIT_SYSINIT(widget, MK_SI_DRIVERS, 0, widget_init, NULL);
 *
 * Registering probes every device of the bus that has no driver and attaches
 * each to its best match (the highest priority among the drivers whose table
 * matches and whose probe, if any, accepts; the first registered on a tie).
 * Unloading the module detaches its devices first: a detach that refuses
 * (mk_device_refuse) refuses the unload with its reason, and the devices
 * already detached are attached again. Detached devices keep their identity
 * and attach arguments and are probed again when the next driver comes.
 *
 * Driver methods run with the bus topology held (one bus operation at a
 * time); they must not load or unload modules.
 */
#ifndef MODKIT_BUS_H
#define MODKIT_BUS_H

#include <modkit/module.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MK_DRIVER_NAME_MAX 32 /* driver and bus names, including the NUL */
#define MK_COMPAT_MAX 64      /* a compatible string, including the NUL */
#define MK_MATCH_ANY 0xffffffffu

enum mk_match_kind {
  MK_MATCH_KIND_IDS = 1,    /* vendor and device id */
  MK_MATCH_KIND_COMPAT = 2, /* a compatible string */
};

struct mk_meta_driver {
  struct mk_meta_header h;
  char module[MK_NAME_MAX];
  char driver[MK_DRIVER_NAME_MAX];
  char bus[MK_DRIVER_NAME_MAX];
  uint32_t priority; /* higher wins */
  uint32_t reserved;
};

struct mk_meta_match {
  struct mk_meta_header h;
  char module[MK_NAME_MAX];
  char driver[MK_DRIVER_NAME_MAX];
  uint32_t kind; /* enum mk_match_kind */
  uint32_t vendor;
  uint32_t device;
  uint32_t reserved;
  char compat[MK_COMPAT_MAX]; /* "" for MK_MATCH_KIND_IDS */
};

struct mk_device; /* opaque: a device on a bus, attached or not */

/* What a driver does. probe may be NULL (the match table decides); it returns
 * 0 to accept the device, MK_ENXIO to decline. attach returns 0 or an errno
 * (the device stays unattached). detach returns 0, or refuses with
 * mk_device_refuse. */
struct mk_driver_methods {
  int (*probe)(struct mk_device* dev);
  int (*attach)(struct mk_device* dev);
  int (*detach)(struct mk_device* dev);
};

/* ---- KPI ---- */

/* Registers driver `driver` of `module` (declared with MODKIT_DRIVER) and
 * attaches it to the unattached devices it matches. 0, MK_ENOENT (no such
 * declaration), MK_EEXIST (registered already), MK_ENOMEM. The registration
 * is the module's: unregister it in UNLOAD (or a SYSUNINIT); one still there
 * when the module stops (after UNLOAD, or when its LOAD fails) is revoked,
 * its devices detached even if they refuse, and logged as a leak. */
int mk_driver_register(struct mk_module* module, const char* driver,
                       const struct mk_driver_methods* methods);
/* Detaches the driver's devices and unregisters it. 0, MK_ENOENT, or
 * MK_EBUSY when a detach refuses (nothing changes then). */
int mk_driver_unregister(struct mk_module* module, const char* driver);

/* The device's identity, kept while no driver is attached: "BUS:N". */
const char* mk_device_name(const struct mk_device* dev);
/* The driver's unit number for this device (simdrv0, simdrv1, ...), or -1. */
int mk_device_unit(const struct mk_device* dev);
uint32_t mk_device_vendor(const struct mk_device* dev);
uint32_t mk_device_id(const struct mk_device* dev);
/* The attach argument `key` (from the bus's enumeration, e.g. the config
 * line), or NULL. */
const char* mk_device_arg(const struct mk_device* dev, const char* key);
/* The driver's per-device state. */
void mk_device_set_softc(struct mk_device* dev, void* softc);
void* mk_device_softc(const struct mk_device* dev);
/* Says why detach refuses; returns MK_EBUSY for `return mk_device_refuse(...)`. */
int mk_device_refuse(struct mk_device* dev, const char* reason);

/* ---- the macros ---- */

/* Declares driver `driver` (a C identifier) of module `name` for bus `bus`. */
#define MODKIT_DRIVER(name, driver, bus, priority)                                     \
  static struct mk_meta_driver MK__CAT(MK__CAT(mk__driver_, name), MK__CAT(_, driver)) \
      MK__META_ATTR = {                                                                \
          MK__HEADER(MK_REC_DRIVER, struct mk_meta_driver), #name, #driver, #bus, (priority), 0}

#define MK__MATCH(name, driver, kind, vendor, device, compat)                \
  static struct mk_meta_match MK__CAT(MK__CAT(mk__match_, driver), __LINE__) \
      MK__META_ATTR = {MK__HEADER(MK_REC_MATCH, struct mk_meta_match),       \
                       #name,                                                \
                       #driver,                                              \
                       (kind),                                               \
                       (vendor),                                             \
                       (device),                                             \
                       0,                                                    \
                       compat}

/* `driver` matches devices with this vendor id and device id (or MK_MATCH_ANY). */
#define MODKIT_MATCH_IDS(name, driver, vendor, device) \
  MK__MATCH(name, driver, MK_MATCH_KIND_IDS, vendor, device, "")
/* `driver` matches devices that list this compatible string. */
#define MODKIT_MATCH_COMPAT(name, driver, compat) \
  MK__MATCH(name, driver, MK_MATCH_KIND_COMPAT, 0, 0, compat)

#ifdef __cplusplus
}
#endif

#endif /* MODKIT_BUS_H */
