# expect: reloc
        .text
        .globl rshadow_reloc_got
        .type rshadow_reloc_got, @function
rshadow_reloc_got:
        endbr64
        mov     table@GOTPCREL(%rip), %rax
        .data
        table: .quad 0
        .text
        jmp     __x86_return_thunk@PLT
