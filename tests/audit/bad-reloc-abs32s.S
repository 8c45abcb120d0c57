# expect: reloc
        .text
        .globl rshadow_reloc_abs32s
        .type rshadow_reloc_abs32s, @function
rshadow_reloc_abs32s:
        endbr64
        movq    $table, %rax
        .data
        table: .quad 0
        .text
        jmp     __x86_return_thunk@PLT
