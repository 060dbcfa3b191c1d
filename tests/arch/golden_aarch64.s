// Golden source for the aarch64 relocation kinds: assembled by the cross
// assembler, linked by GNU ld (aarch64-linux-gnu-ld --no-relax), then
// re-linked by kAArch64.apply() in cross_golden_test.cc, which must produce
// the same bytes. golden_text / golden_data mark where each section lands.
// (PLT32, GOTPCREL32, GOTREL*: gas 2.40 has no syntax for them; the boundary
// tests in aarch64_test.cc cover them.)
  .text
  .globl golden_text, near_fn
golden_text:
  bl ext_fn                          // CALL26
  b ext_fn
  b.eq near_fn
  cbz x0, near_fn
  tbz x1, #3, near_fn
  adr x2, golden_data
  adrp x3, ext_obj
  add x3, x3, :lo12:ext_obj
  adrp x4, :pg_hi21_nc:ext_obj
  ldrb w5, [x3, :lo12:ext_obj]
  ldrh w5, [x3, :lo12:ext_obj16]
  ldr w5, [x3, :lo12:ext_obj32]
  ldr x5, [x3, :lo12:ext_obj64]
  ldr q0, [x3, :lo12:ext_obj128]
  movz x6, #:abs_g3:ext_obj
  movk x6, #:abs_g2_nc:ext_obj
  movk x6, #:abs_g1_nc:ext_obj
  movk x6, #:abs_g0_nc:ext_obj
  movz x7, #:abs_g0:small16
  movz x7, #:abs_g1:small32
  movz x7, #:abs_g2:ext_obj
  movz x8, #:abs_g0_s:neg_small
  movz x8, #:abs_g1_s:small32
  movz x8, #:abs_g2_s:ext_obj
  movz x9, #:prel_g0:near_fn
  movk x9, #:prel_g0_nc:near_fn
  movz x9, #:prel_g1:ext_obj
  movk x9, #:prel_g1_nc:ext_obj
  movz x9, #:prel_g2:ext_obj
  movk x9, #:prel_g2_nc:ext_obj
  movz x9, #:prel_g3:ext_obj
  ldr x10, golden_lit
  adrp x11, :got:ext_obj
  ldr x11, [x11, :got_lo12:ext_obj]
  ldr x12, :got:ext_obj
  ret
near_fn:
  ret
  .globl golden_lit
golden_lit:
  .hword 0
  .data
  .globl golden_data
golden_data:
  .quad ext_fn
  .word ext_obj
  .hword small16
  .quad ext_obj - .
  .word ext_obj - .
  .hword golden_data - .
