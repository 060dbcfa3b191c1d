# Golden source for the GOT-relative kinds of the large code model, linked by
# GNU ld only (ld.lld knows neither GOTPLT64 nor GOTPCREL64).
  .text
  .globl large_text
large_text:
  addq ext_fn@GOTPCREL(%rip), %rax      # REX_GOTPCRELX, not relaxable: through the slot
  leaq _GLOBAL_OFFSET_TABLE_(%rip), %rbx  # GOTPC32
1:
  movabsq $_GLOBAL_OFFSET_TABLE_-1b, %r11 # GOTPC64
  movabsq $ext_fn@GOT, %rax             # GOT64
  movabsq $ext_fn@GOTPLT, %rax          # GOTPLT64
  movabsq $ext_fn@PLTOFF, %rax          # PLTOFF64
  movl ext_fn@GOT, %eax                 # GOT32
  ret

  .data
  .globl large_data
large_data:
  .quad ext_obj@GOTOFF                  # GOTOFF64
  .quad ext_obj@GOTOFF - 16             # GOTOFF64
  .quad ext_fn@GOTPCREL                 # GOTPCREL64
