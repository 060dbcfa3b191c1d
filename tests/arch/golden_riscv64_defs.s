# The symbols golden_riscv64.s refers to; ext_obj 0x7f0 into .data, so that
# the PC-relative offsets have bit 11 set (the carry of the high parts).
  .text
  .globl ext_fn
ext_fn: ret
  .data
  .balign 16
  .globl ext_obj
  .skip 0x7f0
ext_obj: .quad 0, 0
  .globl small16, small6
  .set small16, 0x1234
  .set small6, 3
