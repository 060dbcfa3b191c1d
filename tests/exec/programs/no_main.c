/* An object without main: modkit exec must refuse it with exit status 127. */
#include <stdio.h>

int not_main(int argc) {
  printf("never run\n");
  return argc;
}
