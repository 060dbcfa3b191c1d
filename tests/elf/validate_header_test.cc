#include "elf/validate_test_util.h"

namespace mk::test {
namespace {
TEST(ValidateStd, StandardObjectIsValid) {
  ExpectValidObject(StandardObject());
}
}  // namespace
}  // namespace mk::test
