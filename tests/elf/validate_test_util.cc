#include "elf/validate_test_util.h"

#include <stdlib.h>
#include <string.h>

namespace mk::test {

using namespace mk::elf;

namespace {

const RelocShape* x86_shape(uint32_t type) {
  static const RelocShape kNone{"R_X86_64_NONE", 0, false}, k64{"R_X86_64_64", 8, false},
      kPc32{"R_X86_64_PC32", 4, false}, kPlt32{"R_X86_64_PLT32", 4, false},
      kGotpcrel{"R_X86_64_GOTPCREL", 4, false}, k32{"R_X86_64_32", 4, false},
      k32s{"R_X86_64_32S", 4, false}, kTlsgd{"R_X86_64_TLSGD", 4, true},
      kPc64{"R_X86_64_PC64", 8, false}, kGotpcrelx{"R_X86_64_GOTPCRELX", 4, false},
      kRexGotpcrelx{"R_X86_64_REX_GOTPCRELX", 4, false};
  switch (type) {
    case R_NONE:
      return &kNone;
    case R_64:
      return &k64;
    case R_PC32:
      return &kPc32;
    case R_PLT32:
      return &kPlt32;
    case R_GOTPCREL:
      return &kGotpcrel;
    case R_32:
      return &k32;
    case R_32S:
      return &k32s;
    case R_TLSGD:
      return &kTlsgd;
    case R_PC64:
      return &kPc64;
    case R_GOTPCRELX:
      return &kGotpcrelx;
    case R_REX_GOTPCRELX:
      return &kRexGotpcrelx;
    default:
      return nullptr;
  }
}

int64_t read_signed(const uint8_t* at, unsigned width) {
  uint64_t v = 0;
  memcpy(&v, at, width);
  return width == 0 ? 0 : sign_extend(v, width * 8);
}

int64_t x86_addend(uint32_t type, const uint8_t* at) {
  const RelocShape* s = x86_shape(type);
  return s == nullptr ? 0 : read_signed(at, s->width);
}

const RelocShape* arm_shape(uint32_t type) {
  static const RelocShape kAbs64{"R_AARCH64_ABS64", 8, false};
  return type == 257 ? &kAbs64 : nullptr;
}

int64_t arm_addend(uint32_t type, const uint8_t* at) {
  return read_signed(at, 8);
}

}  // namespace

const MachineRules kFakeX86_64{EM_X86_64, "x86_64", x86_shape, x86_addend};
const MachineRules kFakeAarch64{EM_AARCH64, "aarch64", arm_shape, arm_addend};

const MachineRules* FakeMachines(uint16_t machine) {
  if (machine == EM_X86_64) return &kFakeX86_64;
  if (machine == EM_AARCH64) return &kFakeAarch64;
  return nullptr;
}

void* TestAllocator::allocate(size_t size, size_t align) {
  if (fail_at_ >= 0 && count_ >= fail_at_) return nullptr;
  ++count_;
  // aligned_alloc wants a size that is a multiple of the alignment it is
  // given, which is at least a pointer's (a 7-byte array of bytes is 8).
  const size_t a = align < sizeof(void*) ? sizeof(void*) : align;
  size_t rounded = (size + a - 1) / a * a;
  void* p = aligned_alloc(a, rounded == 0 ? a : rounded);
  if (p != nullptr) ++live_;
  return p;
}

void TestAllocator::deallocate(void* p, size_t, size_t) {
  --live_;
  free(p);
}

InputCopy::InputCopy(const std::vector<uint8_t>& bytes)
    : buffer_(new uint8_t[bytes.size() + 1]), size_(bytes.size()) {
  if (!bytes.empty()) memcpy(buffer_ + 1, bytes.data(), bytes.size());
}

ElfBuilder StandardBuilder() {
  ElfBuilder b;
  uint32_t text = b.add_text(".text", 32);
  uint32_t data = b.add_data(".data", 16);
  uint32_t bss = b.add_nobits(".bss", SHF_ALLOC | SHF_WRITE, 32, 8);
  uint32_t rela = b.add_rela_section(text);
  b.add_symbol("file.c", SHN_ABS, 0, 0, STB_LOCAL, STT_FILE);
  b.add_symbol("", text, 0, 0, STB_LOCAL, STT_SECTION);
  uint32_t helper = b.add_symbol("helper", text, 0, 8, STB_LOCAL, STT_FUNC);
  b.add_symbol("main", text, 16, 16, STB_GLOBAL, STT_FUNC);
  uint32_t counter = b.add_symbol("counter", data, 0, 8, STB_GLOBAL, STT_OBJECT);
  uint32_t printk = b.add_symbol("printk", SHN_UNDEF, 0, 0, STB_GLOBAL, STT_NOTYPE);
  b.add_rela(rela, 4, R_PLT32, printk, -4);
  b.add_rela(rela, 20, R_PC32, counter, -4);
  b.add_rela(rela, 24, R_64, helper, 0);
  (void)bss;
  return b;
}

Image StandardObject() {
  return StandardBuilder().build();
}

void ExpectValid(const std::vector<uint8_t>& bytes) {
  TestAllocator alloc;
  {
    InputCopy in(bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    EXPECT_TRUE(r.ok()) << "unexpected error: " << (r.ok() ? "" : r.error().message());
  }
  EXPECT_EQ(alloc.live(), 0) << "allocations leaked";
}

void ExpectErrorImpl(const std::vector<uint8_t>& bytes, Errc code, const std::string& message) {
  TestAllocator alloc;
  {
    InputCopy in(bytes);
    auto r = validate(in.view(), FakeMachines, alloc);
    ASSERT_FALSE(r.ok()) << "validate() accepted the object; expected: " << message;
    EXPECT_EQ(errc_name(r.error().code()), std::string(errc_name(code)));
    EXPECT_EQ(r.error().message(), message);
  }
  EXPECT_EQ(alloc.live(), 0) << "allocations leaked on the error path";
}

}  // namespace mk::test
