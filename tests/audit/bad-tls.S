# expect: section
        .text
        .globl rshadow_tls
        .type rshadow_tls, @function
rshadow_tls:
        endbr64
        .section .tbss,"awT",@nobits
        tv: .zero 8
        .text
        jmp     __x86_return_thunk@PLT
