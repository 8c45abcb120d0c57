# expect: indirect
        .text
        .globl rshadow_indirect_call
        .type rshadow_indirect_call, @function
rshadow_indirect_call:
        endbr64
        call    *%rax
        jmp     __x86_return_thunk@PLT
