# Golden source for the x86_64 relocation kinds: assembled by the real
# assembler, linked by real linkers (GNU ld --no-relax, ld.lld with its
# GOTPCRELX relaxations), then re-linked by kX86_64.apply() in
# x86_64_golden_test.cc, which must produce the same bytes.
# golden_text / golden_data mark where each input section lands.
  .text
  .globl golden_text
golden_text:
  call ext_fn                           # PLT32
  jmp ext_fn@PLT                        # PLT32
  leaq ext_obj(%rip), %rdx              # PC32
  movl $ext_obj, %eax                   # 32
  movq $ext_obj, %rax                   # 32S
  movq ext_fn@GOTPCREL(%rip), %rax      # REX_GOTPCRELX: mov -> lea
  movq ext_fn@GOTPCREL(%rip), %r15      # REX_GOTPCRELX: mov -> lea (REX.R)
  movl ext_fn@GOTPCREL(%rip), %eax      # GOTPCRELX: mov -> lea
  call *ext_fn@GOTPCREL(%rip)           # GOTPCRELX: call -> addr32 call
  jmp *ext_fn@GOTPCREL(%rip)            # GOTPCRELX: jmp -> jmp; nop
  movq ext_fn@GOTPCREL+8(%rip), %rax    # REX_GOTPCRELX, A != -4: through the slot
  call local_fn                         # PLT32 to a local symbol
  movq local_fn@GOTPCREL(%rip), %rcx    # REX_GOTPCRELX to a local symbol
  ret
local_fn:
  ret

  .data
  .globl golden_data
golden_data:
  .quad ext_fn                          # 64
  .quad ext_obj - 8                     # 64
  .quad golden_text + 3                 # 64 to a section symbol
  .long ext_fn                          # 32
  .long ext_obj - .                     # PC32
  .word small16                         # 16
  .word ext_obj - .                     # PC16
  .byte small8                          # 8
  .byte ext_obj - .                     # PC8
  .quad ext_obj - .                     # PC64
  .long ext_obj@SIZE                    # SIZE32
  .long ext_obj@SIZE - 4                # SIZE32
  .quad ext_obj@SIZE + 3                # SIZE64
  .long ext_fn@GOTPCREL                 # GOTPCREL (in data: never relaxed)
