/* null: /dev/null. Reads find end of file at once; writes are taken whole
 * and dropped. The device goes with the module (UNLOAD destroys it). */
#include <modkit/service.h>

static struct mk_cdev* null_dev;

static int64_t null_read(struct mk_cdev* d, void* priv, uint64_t off, void* buf, size_t len) {
  return 0;
}

static int64_t null_write(struct mk_cdev* d, void* priv, uint64_t off, const void* buf,
                          size_t len) {
  return (int64_t)len;
}

static const struct mk_cdevsw null_sw = {
    .version = MK_CDEVSW_VERSION, .read = null_read, .write = null_write};

static int null_event(struct mk_module* m, int event, void* arg) {
  switch (event) {
    case MK_EVENT_LOAD:
      return mk_cdev_create(m, "null", &null_sw, NULL, 0666, 0, 0, &null_dev);
    case MK_EVENT_UNLOAD:
      mk_cdev_destroy(null_dev);
      null_dev = NULL;
      return 0;
  }
  return 0;
}

MODKIT_MODULE(null, 1, null_event, NULL);
MODKIT_DEPEND(null, kernel, 1, 1, 1);
