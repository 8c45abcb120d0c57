# expect: indirect
        .text
        .globl rshadow_indirect_jmp
        .type rshadow_indirect_jmp, @function
rshadow_indirect_jmp:
        endbr64
        jmp     *8(%rdi)
        jmp     __x86_return_thunk@PLT
