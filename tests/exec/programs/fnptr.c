/* Function pointers: global and static tables, statically initialised structs
 * whose pointer fields point at other globals, callbacks to and from libc
 * (qsort, bsearch), pointers to libc functions, a weak undefined symbol (must be
 * NULL), and output on both stdout and stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void maybe(void) __attribute__((weak));
extern int maybe_data __attribute__((weak));

typedef long (*binop)(long, long);

static long op_add(long a, long b) { return a + b; }
static long op_sub(long a, long b) { return a - b; }
static long op_mul(long a, long b) { return a * b; }
long op_div(long a, long b) { return b ? a / b : 0; }
long op_mod(long a, long b) { return b ? a % b : 0; }
static long op_max(long a, long b) { return a > b ? a : b; }

/* Global table (exported), static table, and a const table in rodata. */
binop global_ops[] = {op_add, op_sub, op_mul, op_div, op_mod, op_max};
static binop static_ops[] = {op_max, op_mod, op_div, op_mul, op_sub, op_add};
static binop const const_ops[] = {op_mul, op_add, op_mul, op_sub};
static const char* const op_names[] = {"add", "sub", "mul", "div", "mod", "max"};

struct node {
  const char* name;
  struct node* next;
  long* value;
  binop op;
  const char* const* label;
};

long values[4] = {10, 20, 30, 40};
static struct node n3 = {"three", 0, &values[3], op_max, &op_names[5]};
static struct node n2 = {"two", &n3, &values[2], op_mul, &op_names[2]};
struct node n1 = {"one", &n2, &values[1], op_sub, &op_names[1]};
struct node* head = &n1;
struct node** head_ref = &head;
long* interior = &values[2];          /* pointer into the middle of an array */
char* string_interior = (char*)"0123456789" + 7; /* literal plus addend */

/* Table of struct with function pointers in rodata (relocated). */
static const struct command {
  const char* name;
  long (*fn)(long, long);
  long a, b;
} commands[] = {{"plus", op_add, 5, 7}, {"minus", op_sub, 5, 7}, {"times", op_mul, 6, 7}, {"div", op_div, 100, 7}};

static int cmp_long(const void* a, const void* b) {
  long x = *(const long*)a, y = *(const long*)b;
  return (x > y) - (x < y);
}
static int cmp_command(const void* key, const void* elem) {
  return strcmp((const char*)key, ((const struct command*)elem)->name);
}

static binop pick(int i) { return i % 2 ? static_ops[i % 6] : global_ops[i % 6]; }

static long apply_all(binop (*chooser)(int), long seed) {
  for (int i = 0; i < 12; i++) seed = chooser(i)(seed, i + 1) & 0xffffff;
  return seed;
}

int (*libc_puts)(const char*) = puts;
static size_t (*libc_strlen)(const char*) = strlen;
static int (*libc_fputs)(const char*, FILE*);

int main(void) {
  for (int i = 0; i < 6; i++)
    printf("global %s(84,5)=%ld static(84,5)=%ld\n", op_names[i], global_ops[i](84, 5), static_ops[i](84, 5));
  for (int i = 0; i < 4; i++) printf("const_ops[%d](6,7)=%ld\n", i, const_ops[i](6, 7));

  long acc = 1;
  for (struct node* n = *head_ref; n; n = n->next) {
    acc = n->op(acc, *n->value);
    printf("node %s value=%ld label=%s acc=%ld\n", n->name, *n->value, *n->label, acc);
  }
  printf("interior=%ld string_interior=%s\n", *interior, string_interior);
  printf("apply_all=%ld\n", apply_all(pick, 12345));

  /* Callbacks into the module from libc. */
  long arr[] = {50, 10, 40, 20, 30, 70, 60};
  qsort(arr, 7, sizeof arr[0], cmp_long);
  printf("sorted:");
  for (int i = 0; i < 7; i++) printf(" %ld", arr[i]);
  printf("\n");
  long key = 40;
  long* found = bsearch(&key, arr, 7, sizeof arr[0], cmp_long);
  printf("bsearch 40 -> index %ld\n", found ? (long)(found - arr) : -1L);
  key = 45;
  printf("bsearch 45 -> %s\n", bsearch(&key, arr, 7, sizeof arr[0], cmp_long) ? "found" : "missing");
  const struct command* c = bsearch("minus", commands, 4, sizeof commands[0], cmp_command);
  printf("command minus -> %ld\n", c ? c->fn(c->a, c->b) : -999L);
  for (int i = 0; i < 4; i++) printf("command %s(%ld,%ld)=%ld\n", commands[i].name, commands[i].a, commands[i].b,
                                     commands[i].fn(commands[i].a, commands[i].b));

  /* Pointers to libc functions, called through the pointer. */
  libc_fputs = fputs;
  libc_puts("puts through a pointer");
  printf("strlen through a pointer: %zu\n", libc_strlen("seventeen chars!!"));
  libc_fputs("fputs to stderr through a pointer\n", stderr);
  printf("libc pointers equal: %d\n", libc_puts == puts && libc_strlen == strlen);

  /* Weak undefined symbols resolve to NULL. */
  printf("maybe is %s\n", maybe ? "set" : "NULL");
  printf("maybe_data is %s\n", &maybe_data ? "set" : "NULL");
  if (maybe) maybe();

  fprintf(stderr, "stderr: done with %d commands\n", 4);
  printf("stdout: done\n");
  return 0;
}
