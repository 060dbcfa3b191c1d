#include "floor.h"

#include <elf.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

namespace bench {
namespace {

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

}  // namespace

CopyFloor::CopyFloor(const std::vector<uint8_t>& obj, const ObjectInfo& info) : obj_(obj) {
  std::vector<uint64_t> where(info.sections.size(), UINT64_MAX);
  uint64_t at = 0;
  for (size_t i = 0; i < info.sections.size(); ++i) {
    const SectionInfo& s = info.sections[i];
    if (!(s.flags & SHF_ALLOC) || s.size == 0) continue;
    at = (at + s.align - 1) & ~(s.align - 1);
    where[i] = at;
    pieces_.push_back({s.type == SHT_NOBITS ? UINT64_MAX : s.offset, at, s.size});
    at += s.size;
  }
  image_size_ = at;
  for (const SectionInfo& s : info.sections) {
    if (s.type != SHT_RELA || s.info >= where.size() || where[s.info] == UINT64_MAX) continue;
    // Every store must stay inside its section (parse_object checked the array).
    const SectionInfo& target = info.sections[s.info];
    uint64_t count = s.size / sizeof(Elf64_Rela);
    bool inside = true;
    for (uint64_t k = 0; k < count; ++k) {
      Elf64_Rela r;
      memcpy(&r, obj.data() + s.offset + k * sizeof r, sizeof r);
      uint64_t width = ELF64_R_TYPE(r.r_info) == R_X86_64_64 ? 8 : 4;
      inside = inside && r.r_offset <= target.size && width <= target.size - r.r_offset;
    }
    if (inside) relocs_.push_back({s.offset, count, where[s.info]});
  }
}

void CopyFloor::run(uint8_t* dst) const {
  const uint8_t* src = obj_.data();
  for (const Piece& p : pieces_) {
    if (p.src == UINT64_MAX)
      memset(dst + p.dst, 0, p.size);
    else
      memcpy(dst + p.dst, src + p.src, p.size);
  }
  for (const Relocs& rs : relocs_) {
    const Elf64_Rela* r = reinterpret_cast<const Elf64_Rela*>(src + rs.src);
    uint8_t* base = dst + rs.dst;
    for (uint64_t k = 0; k < rs.count; ++k) {
      uint64_t value = static_cast<uint64_t>(r[k].r_addend) + r[k].r_info;
      if (ELF64_R_TYPE(r[k].r_info) == R_X86_64_64) {
        memcpy(base + r[k].r_offset, &value, 8);
      } else {
        uint32_t v32 = static_cast<uint32_t>(value);
        memcpy(base + r[k].r_offset, &v32, 4);
      }
    }
  }
}

double CopyFloor::time_warm(uint8_t* warm) const {
  double t0 = now_ns();
  run(warm);
  return now_ns() - t0;
}

double CopyFloor::time_fresh() const {
  double t0 = now_ns();
  void* p = mmap(nullptr, image_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -1;
  run(static_cast<uint8_t*>(p));
  double t = now_ns() - t0;
  munmap(p, image_size_);
  return t;
}

}  // namespace bench
