/* random: /dev/random, a non-cryptographic stream (splitmix64 over a shared
 * counter; each 8 bytes take one step, so concurrent readers never get the
 * same bytes). Seeded by the tunable `random_seed`. Writes are dropped. */
#include <modkit/service.h>
#include <string.h> /* the kernel provides memcpy, memset, strlen */

MODKIT_TUNABLE(random, random_seed, uint, 1, "seed of the stream, read at load");

static uint64_t random_state;
static struct mk_cdev* random_dev;

static uint64_t random_next(void) {
  uint64_t z = __atomic_add_fetch(&random_state, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int64_t random_read(struct mk_cdev* d, void* priv, uint64_t off, void* buf, size_t len) {
  unsigned char* out = buf;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = random_next();
    size_t n = len - i < 8 ? len - i : 8;
    memcpy(out + i, &v, n);
  }
  return (int64_t)len;
}

static int64_t random_write(struct mk_cdev* d, void* priv, uint64_t off, const void* buf,
                            size_t len) {
  return (int64_t)len;
}

static const struct mk_cdevsw random_sw = {
    .version = MK_CDEVSW_VERSION, .read = random_read, .write = random_write};

static int random_event(struct mk_module* m, int event, void* arg) {
  switch (event) {
    case MK_EVENT_LOAD:
      random_state = random_seed;
      return mk_cdev_create(m, "random", &random_sw, NULL, 0444, 0, 0, &random_dev);
    case MK_EVENT_UNLOAD:
      mk_cdev_destroy(random_dev);
      return 0;
  }
  return 0;
}

MODKIT_MODULE(random, 1, random_event, NULL);
MODKIT_DEPEND(random, kernel, 1, 1, 1);
