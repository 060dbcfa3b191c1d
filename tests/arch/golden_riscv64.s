# Golden source for the riscv64 relocation kinds: assembled by the cross
# assembler (-march=rv64gc), linked by GNU ld (riscv64-linux-gnu-ld
# --no-relax), then re-linked by kRiscV64.apply() in cross_golden_test.cc,
# which must produce the same bytes, %pcrel_lo pairs included.
# golden_text / golden_data mark where each section lands. (PLT32: gas 2.40
# has no syntax for it; riscv64_test.cc covers it.)
  .option norelax
  .text
  .globl golden_text, near_fn
golden_text:
  call ext_fn
  tail ext_fn
  jal near_fn
  beq a0, a1, near_fn
  c.beqz a0, near_fn
  c.j near_fn
1: auipc a0, %pcrel_hi(ext_obj)
  addi a0, a0, %pcrel_lo(1b)
2: auipc a1, %pcrel_hi(ext_obj + 0x7ff)
  sd a2, %pcrel_lo(2b)(a1)
  lui a3, %hi(ext_obj)
  addi a3, a3, %lo(ext_obj)
  sw a4, %lo(ext_obj)(a3)
3: auipc a5, %got_pcrel_hi(ext_obj)
  ld a5, %pcrel_lo(3b)(a5)
  ret
near_fn:
  ret
  .data
  .globl golden_data
golden_data:
  .quad ext_fn
  .word ext_obj
  .word ext_obj - .
  .quad ext_obj - golden_text
  .word ext_obj - golden_text
  .hword ext_obj - golden_text
  .byte ext_obj - golden_text
  .reloc ., R_RISCV_SET8, ext_obj
  .byte 0
  .reloc ., R_RISCV_SET16, ext_obj
  .hword 0
  .reloc ., R_RISCV_SET32, ext_obj
  .word 0
  .reloc ., R_RISCV_SET6, small16
  .reloc ., R_RISCV_SUB6, small6
  .byte 0x40
  .reloc ., R_RISCV_32_PCREL, ext_obj
  .word 0
