// Fuzzer: elf::validate(), the one door for untrusted module bytes.
// Properties, for every input:
// - no crash, no out-of-bounds read (ASan), no undefined behaviour (UBSan);
// - an error has a category and a non-empty message; nothing stays allocated;
// - an accepted object keeps every promise of validated_object.h
//   (tests/util/object_invariants.h, checked independently of the validator);
// - the same bytes at another address give the same result: the same error,
//   or the same object field by field.
#include <string>
#include <vector>

#include "arch/machine.h"
#include "elf/validate.h"
#include "fuzz/check.h"
#include "fuzz/counting_allocator.h"
#include "fuzz/describe.h"
#include "util/object_invariants.h"

using namespace mk;

namespace {

std::string Outcome(const uint8_t* data, size_t size, fuzz::CountingAllocator& alloc) {
  ByteView bytes(data, size);
  Result<elf::ValidatedObject> r = elf::validate(bytes, arch::rules_for, alloc);
  if (!r) {
    FUZZ_CHECK(r.error().message()[0] != '\0', "an error without a message");
    return std::string("error ") + errc_name(r.error().code()) + ": " + r.error().message();
  }
  std::string broken = test::CheckObjectInvariants(r.value(), bytes);
  FUZZ_CHECK(broken.empty(), "%s", broken.c_str());
  return fuzz::Describe(r.value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::CountingAllocator alloc;
  std::string first = Outcome(data, size, alloc);
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left after: %s", alloc.live(), first.c_str());
  // The same bytes one byte further on (no alignment may be assumed).
  std::vector<uint8_t> copy(size + 1);
  if (size != 0) memcpy(copy.data() + 1, data, size);
  std::string second = Outcome(copy.data() + 1, size, alloc);
  FUZZ_CHECK(first == second, "two validations differ:\n%s\n---\n%s", first.c_str(),
             second.c_str());
  FUZZ_CHECK(alloc.live() == 0, "%ld allocations left", alloc.live());
  return 0;
}
