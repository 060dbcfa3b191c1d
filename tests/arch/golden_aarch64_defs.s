// The symbols golden_aarch64.s refers to.
  .text
  .globl ext_fn
ext_fn: ret
  .data
  .balign 16
  .globl ext_obj, ext_obj16, ext_obj32, ext_obj64, ext_obj128
ext_obj: .quad 0, 0
ext_obj16: .quad 0, 0
ext_obj32: .quad 0, 0
ext_obj64: .quad 0, 0
ext_obj128: .quad 0, 0
  .globl small16, small32, neg_small
  .set small16, 0x1234
  .set small32, 0x12345678
  .set neg_small, -0x10
