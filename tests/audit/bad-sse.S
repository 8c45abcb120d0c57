# expect: fpu
        .text
        .globl rshadow_sse
        .type rshadow_sse, @function
rshadow_sse:
        endbr64
        movaps  %xmm0, (%rdi)
        jmp     __x86_return_thunk@PLT
