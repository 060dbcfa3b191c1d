/* Prints the arguments after argv[0], checks argv[0] against what the harness
 * expects (MODKIT_EXEC_EXPECT_ARGV0: the executable, or the first object under
 * modkit exec), checks envp and environ, and returns a status computed from the
 * arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char** environ;

int main(int argc, char** argv, char** envp) {
  printf("argc=%d\n", argc);
  unsigned status = (unsigned)argc;
  for (int i = 1; i < argc; i++) {
    printf("argv[%d]=\"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
    for (const char* p = argv[i]; *p; p++) status = status * 31 + (unsigned char)*p;
  }
  printf("argv[argc] is %s\n", argv[argc] == NULL ? "NULL" : "not NULL");

  const char* expect = getenv("MODKIT_EXEC_EXPECT_ARGV0");
  printf("argv[0] %s\n", expect && argv[0] && strcmp(expect, argv[0]) == 0 ? "as expected" : "unexpected");

  const char* want = "MODKIT_EXEC_TEST_VAR=";
  int in_envp = 0, in_environ = 0;
  for (char** e = envp; e && *e; e++) in_envp |= strncmp(*e, want, strlen(want)) == 0;
  for (char** e = environ; e && *e; e++) in_environ |= strncmp(*e, want, strlen(want)) == 0;
  printf("test variable in envp: %s, in environ: %s\n", in_envp ? "yes" : "no", in_environ ? "yes" : "no");

  status %= 200;
  printf("status=%u\n", status);
  return (int)status;
}
