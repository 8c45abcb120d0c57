# expect: import
        .text
        .globl rshadow_import
        .type rshadow_import, @function
rshadow_import:
        endbr64
        call    __udivti3@PLT
        jmp     __x86_return_thunk@PLT
