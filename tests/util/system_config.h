// The System configuration most tests start from.
#pragma once

#include "hosted/system.h"

namespace mk::test {

// A System that boots none of the static modules linked into the test
// program: the test loads exactly the modules it builds. (A designated
// initializer would leave the other fields to -Wmissing-field-initializers.)
inline hosted::SystemConfig no_static_modules() {
  hosted::SystemConfig c;
  c.static_modules = false;
  return c;
}

}  // namespace mk::test
