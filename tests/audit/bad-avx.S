# expect: fpu
        .text
        .globl rshadow_avx
        .type rshadow_avx, @function
rshadow_avx:
        endbr64
        vmovdqu %ymm1, (%rdi)
        jmp     __x86_return_thunk@PLT
