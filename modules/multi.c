/* multi: one module, several kinds of service at once: a device
 * (/dev/multi/greeting, reads the greeting), an event handler (on
 * "shutdown", logs "multi: shutdown event"), a tunable (the greeting), and a
 * generic service ("multi.greeter" version 1, a table other modules acquire).
 * The device and the service are taken back at UNLOAD; the event handler is
 * left on purpose, for the kernel to revoke and log as a leak
 * ("multi: leaked event 'shutdown', revoked"). */
#include <modkit/service.h>
#include <string.h> /* the kernel provides memcpy, memset, strlen */

MODKIT_TUNABLE_STRING(multi, multi_greeting, 64, "hello", "what /dev/multi/greeting reads");

/* The generic service's table, version 1. */
struct multi_greeter {
  size_t (*greet)(char* out, size_t cap);
};

static size_t multi_greet(char* out, size_t cap) {
  size_t n = strlen(multi_greeting);
  if (cap == 0) return n;
  size_t k = n < cap - 1 ? n : cap - 1;
  memcpy(out, multi_greeting, k);
  out[k] = '\0';
  return n;
}

static const struct multi_greeter multi_table = {multi_greet};

static struct mk_cdev* multi_dev;
static struct mk_eventh* multi_handler;
static struct mk_service* multi_service;

static int64_t multi_read(struct mk_cdev* d, void* priv, uint64_t off, void* buf, size_t len) {
  char text[72];
  size_t n = multi_greet(text, sizeof text - 1);
  if (n > sizeof text - 2) n = sizeof text - 2;
  text[n++] = '\n';
  if (off >= n) return 0;
  if (len > n - off) len = n - off;
  memcpy(buf, text + off, len);
  return (int64_t)len;
}

static const struct mk_cdevsw multi_sw = {.version = MK_CDEVSW_VERSION, .read = multi_read};

static void multi_on_shutdown(void* arg, const char* event, void* data) {
  mk_printf("multi: %s event", event);
}

static int multi_event(struct mk_module* m, int event, void* arg) {
  int err;
  switch (event) {
    case MK_EVENT_LOAD:
      err = mk_cdev_create(m, "multi/greeting", &multi_sw, NULL, 0444, 0, 0, &multi_dev);
      if (err == 0)
        err = mk_event_register(m, MK_EVENT_SHUTDOWN_NAME, MK_EVENT_PRI_DEFAULT, multi_on_shutdown,
                                NULL, &multi_handler);
      if (err == 0)
        err = mk_service_offer(m, "multi.greeter", 1, &multi_table, sizeof multi_table,
                               &multi_service);
      return err; /* on failure the kernel revokes what was made */
    case MK_EVENT_UNLOAD:
      mk_service_withdraw(multi_service);
      mk_cdev_destroy(multi_dev);
      return 0;
  }
  return 0;
}

MODKIT_MODULE(multi, 1, multi_event, NULL);
MODKIT_DEPEND(multi, kernel, 1, 1, 1);
