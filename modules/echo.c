/* echo: each open of /dev/echo has a buffer of its own: what is written at
 * an offset is read back from that offset by the same open (write "hi",
 * read from 0: "hi"); another open starts empty. A write past the buffer
 * gets ENOSPC. The buffers are a fixed pool (the KPI has no allocator):
 * ECHO_OPENS opens at once, EBUSY beyond. Calls on one open are not
 * serialised: concurrent writers of one open race as with a shared file. */
#include <modkit/service.h>
#include <string.h> /* the kernel provides memcpy, memset, strlen */

#define ECHO_OPENS 16
#define ECHO_CAPACITY 4096

MODKIT_TUNABLE(echo, echo_bufsize, uint, 4096, "bytes each open can hold (1..4096)");

struct echo_buf {
  int used; /* taken by an open (atomic) */
  size_t len;
  char data[ECHO_CAPACITY];
};

static struct echo_buf echo_pool[ECHO_OPENS];
static struct mk_cdev* echo_dev;

static size_t echo_capacity(void) {
  unsigned n = __atomic_load_n(&echo_bufsize, __ATOMIC_RELAXED);
  return n == 0 || n > ECHO_CAPACITY ? ECHO_CAPACITY : n;
}

static int echo_open(struct mk_cdev* d, uint32_t flags, void** priv) {
  for (int i = 0; i < ECHO_OPENS; ++i) {
    int free_slot = 0;
    if (__atomic_compare_exchange_n(&echo_pool[i].used, &free_slot, 1, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      echo_pool[i].len = 0;
      *priv = &echo_pool[i];
      return 0;
    }
  }
  return -MK_EBUSY;
}

static void echo_close(struct mk_cdev* d, void* priv) {
  struct echo_buf* b = priv;
  __atomic_store_n(&b->used, 0, __ATOMIC_RELEASE);
}

static int64_t echo_read(struct mk_cdev* d, void* priv, uint64_t off, void* buf, size_t len) {
  struct echo_buf* b = priv;
  if (off >= b->len) return 0;
  if (len > b->len - off) len = b->len - off;
  memcpy(buf, b->data + off, len);
  return (int64_t)len;
}

static int64_t echo_write(struct mk_cdev* d, void* priv, uint64_t off, const void* buf,
                          size_t len) {
  struct echo_buf* b = priv;
  size_t cap = echo_capacity();
  if (off > cap || len > cap - off) return -MK_ENOSPC;
  memcpy(b->data + off, buf, len);
  if (off + len > b->len) b->len = off + len;
  return (int64_t)len;
}

static const struct mk_cdevsw echo_sw = {.version = MK_CDEVSW_VERSION,
                                         .open = echo_open,
                                         .close = echo_close,
                                         .read = echo_read,
                                         .write = echo_write};

static int echo_event(struct mk_module* m, int event, void* arg) {
  switch (event) {
    case MK_EVENT_LOAD:
      return mk_cdev_create(m, "echo", &echo_sw, NULL, 0666, 0, 0, &echo_dev);
    case MK_EVENT_UNLOAD:
      mk_cdev_destroy(echo_dev);
      return 0;
  }
  return 0;
}

MODKIT_MODULE(echo, 1, echo_event, NULL);
MODKIT_DEPEND(echo, kernel, 1, 1, 1);
