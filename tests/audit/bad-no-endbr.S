# expect: endbr
        .text
        .globl rshadow_noendbr
rshadow_noendbr:
        nop
        jmp     __x86_return_thunk@PLT
