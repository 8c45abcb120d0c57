# expect: section
        .text
        .globl rshadow_wx
        .type rshadow_wx, @function
rshadow_wx:
        endbr64
        .section .wx,"awx",@progbits
        nop
        .text
        jmp     __x86_return_thunk@PLT
