# expect: fpu
        .text
        .globl rshadow_mmx
        .type rshadow_mmx, @function
rshadow_mmx:
        endbr64
        movq    %mm0, %rax
        emms
        jmp     __x86_return_thunk@PLT
