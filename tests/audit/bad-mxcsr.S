# expect: fpu
        .text
        .globl rshadow_mxcsr
        .type rshadow_mxcsr, @function
rshadow_mxcsr:
        endbr64
        ldmxcsr (%rdi)
        jmp     __x86_return_thunk@PLT
