/* zero: /dev/zero. Reads fill the buffer with the byte `zero_fill` (0 unless
 * set, at load or while loaded); writes are taken whole and dropped. */
#include <modkit/service.h>
#include <string.h> /* the kernel provides memcpy, memset, strlen */

MODKIT_TUNABLE(zero, zero_fill, uint, 0, "the byte value reads return (0..255)");

static struct mk_cdev* zero_dev;

static int64_t zero_read(struct mk_cdev* d, void* priv, uint64_t off, void* buf, size_t len) {
  memset(buf, (int)(__atomic_load_n(&zero_fill, __ATOMIC_RELAXED) & 0xff), len);
  return (int64_t)len;
}

static int64_t zero_write(struct mk_cdev* d, void* priv, uint64_t off, const void* buf,
                          size_t len) {
  return (int64_t)len;
}

static const struct mk_cdevsw zero_sw = {
    .version = MK_CDEVSW_VERSION, .read = zero_read, .write = zero_write};

static int zero_event(struct mk_module* m, int event, void* arg) {
  switch (event) {
    case MK_EVENT_LOAD:
      return mk_cdev_create(m, "zero", &zero_sw, NULL, 0666, 0, 0, &zero_dev);
    case MK_EVENT_UNLOAD:
      mk_cdev_destroy(zero_dev);
      return 0;
  }
  return 0;
}

MODKIT_MODULE(zero, 1, zero_event, NULL);
MODKIT_DEPEND(zero, kernel, 1, 1, 1);
