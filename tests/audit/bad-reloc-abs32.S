# expect: reloc
        .text
        .globl rshadow_reloc_abs32
        .type rshadow_reloc_abs32, @function
rshadow_reloc_abs32:
        endbr64
        mov     $table, %eax
        .data
        table: .quad 0
        .text
        jmp     __x86_return_thunk@PLT
