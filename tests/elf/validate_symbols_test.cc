#include "elf/validate_test_util.h"
