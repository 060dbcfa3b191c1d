# The symbols the golden sources refer to.
  .text
  .globl ext_fn
  .type ext_fn, @function
ext_fn:
  ret
  .size ext_fn, 1

  .data
  .globl ext_obj
  .type ext_obj, @object
ext_obj:
  .quad 1, 2, 3
  .size ext_obj, 24

  .globl small16, small8
  .set small16, 0xfedc
  .set small8, 0xab
