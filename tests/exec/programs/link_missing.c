/* Calls two functions that nothing defines: modkit exec must name both and exit 127. */
#include <stdio.h>

void missing_one(void);
int missing_two(int);

int main(void) {
  missing_one();
  printf("%d\n", missing_two(3));
  return 0;
}
