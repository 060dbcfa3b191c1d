// HostRuntime: CodeRuntime on Linux with glibc and libgcc's unwinder, and
// gdb's JIT interface for debug registration (hosted/gdb_jit.h).
#pragma once

#include <atomic>
#include <mutex>

#include "platform/code_runtime.h"

namespace mk::hosted {

struct GdbJitEntry;

// How /proc/self/pagemap is asked about the executing view's pages (sync_code):
// - kScan: the PAGEMAP_SCAN ioctl (Linux 6.7), which reports only the pages
//   that are not the file's own, in runs, with no entry per page copied out;
// - kRead: a read of every page's 64-bit entry, as kernels without the
//   ioctl (and qemu-user, which does not forward it) require.
enum class PagemapQuery { kScan, kRead };

// What pagemap says of the pages of [lo, hi) (page-aligned) of a private
// file mapping.
struct PageStates {
  bool known = false;   // pagemap answered (else errno says why not)
  bool copied = false;  // some page is a private copy (present and not the file's, or swapped)
  bool absent = false;  // some page is not mapped yet
};
PageStates page_states(int pagemap_fd, uintptr_t lo, uintptr_t hi, PagemapQuery query);

class HostRuntime final : public CodeRuntime {
 public:
  // kScan: PAGEMAP_SCAN, falling back to kRead for good once the kernel
  // refuses it. kRead: never tries it (tests of that path).
  explicit HostRuntime(PagemapQuery query = PagemapQuery::kScan);
  ~HostRuntime();
  HostRuntime(const HostRuntime&) = delete;
  HostRuntime& operator=(const HostRuntime&) = delete;

  bool register_eh_frame(uintptr_t begin, size_t size) override;
  void deregister_eh_frame(uintptr_t begin) override;
  void finalize(uintptr_t dso_handle) override;
  // Registers the file's debug object with gdb (best effort: a file whose
  // object cannot be built is simply not registered).
  uintptr_t register_debug(const link::LinkerFile& file, const elf::ValidatedObject* const* objects,
                           size_t count) override;
  void unregister_debug(const link::LinkerFile& file) override;
  void sync_code(uintptr_t begin, size_t size, uintptr_t written) override;

 private:
  int pagemap();  // this process's /proc/self/pagemap, or -1

  std::mutex mu_;
  int pagemap_fd_ = -1;
  unsigned pagemap_forks_ = 0;  // fork generation pagemap_fd_ describes (a child must reopen it)
  std::atomic<PagemapQuery> query_;
};

}  // namespace mk::hosted
