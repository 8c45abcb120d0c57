# expect: section
        .text
        .globl rshadow_ctor
        .type rshadow_ctor, @function
rshadow_ctor:
        endbr64
        .section .init_array,"aw"
        .quad 0
        .text
        jmp     __x86_return_thunk@PLT
