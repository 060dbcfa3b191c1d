/* simdrv: a driver for the simulated widget on `simbus` (vendor 0x1af4,
 * device 0x1001, or anything compatible with "acme,widget").
 *
 * It registers its driver from its LOAD handler; the match table is the
 * metadata below, which `modkit xref` copies into the hints index, so a
 * widget that appears with no driver gets this module loaded (with
 * chain_base, which it depends on: it reports the base's version at attach).
 * Attach arguments: `label=TEXT` is logged; `busy=yes` makes detach refuse,
 * which refuses an unload of this module while that device is attached.
 * It unregisters its driver from its UNLOAD handler. */
#include <modkit/bus.h>

#include "sample.h"

int chain_base_version(void);

#define SIMDRV_MAX 16

struct simdrv_softc {
  int in_use;
  int unit;
  const char* busy; /* the busy= attach argument, or NULL */
};

static struct simdrv_softc simdrv_units[SIMDRV_MAX];

static int simdrv_attach(struct mk_device* dev) {
  struct simdrv_softc* sc = 0;
  for (int i = 0; i < SIMDRV_MAX && sc == 0; ++i)
    if (!simdrv_units[i].in_use) sc = &simdrv_units[i];
  if (sc == 0) return MK_ENOMEM;
  sc->in_use = 1;
  sc->unit = mk_device_unit(dev);
  sc->busy = mk_device_arg(dev, "busy");
  mk_device_set_softc(dev, sc);
  const char* label = mk_device_arg(dev, "label");
  mk_printf("simdrv%d: attached to %s (0x%x:0x%x%s%s, base version %d)", sc->unit,
            mk_device_name(dev), mk_device_vendor(dev), mk_device_id(dev), label ? ", label " : "",
            label ? label : "", chain_base_version());
  return 0;
}

static int simdrv_detach(struct mk_device* dev) {
  struct simdrv_softc* sc = (struct simdrv_softc*)mk_device_softc(dev);
  if (sc->busy != 0 && sc->busy[0] == 'y')
    return mk_device_refuse(dev, "widget is busy (busy=yes)");
  mk_printf("simdrv%d: detached from %s", sc->unit, mk_device_name(dev));
  sc->in_use = 0;
  return 0;
}

static const struct mk_driver_methods simdrv_methods = {0, simdrv_attach, simdrv_detach};

static int simdrv_event(struct mk_module* module, int event, void* arg) {
  sample_log_event(module, event, arg);
  if (event == MK_EVENT_LOAD) return mk_driver_register(module, "simdrv", &simdrv_methods);
  /* Its devices were detached at QUIESCE; what is left is the registration,
   * which the kernel would otherwise revoke and log as a leak. */
  if (event == MK_EVENT_UNLOAD) return mk_driver_unregister(module, "simdrv");
  return 0;
}

MODKIT_MODULE(simdrv, 1, simdrv_event, NULL);
MODKIT_DEPEND(simdrv, kernel, 1, 1, 1);
MODKIT_DEPEND(simdrv, chain_base, 1, 2, 3);
MODKIT_DRIVER(simdrv, simdrv, simbus, 10);
MODKIT_MATCH_IDS(simdrv, simdrv, 0x1af4, 0x1001);
MODKIT_MATCH_COMPAT(simdrv, simdrv, "acme,widget");
