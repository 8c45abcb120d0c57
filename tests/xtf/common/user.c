/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPL3 support: the TSS, user mappings, and exec_user() around the
 * assembly in arch/x86/user.S.
 */
#include <xtf.h>
#include <xtf/user.h>
#include <arch/x86/asm.h>

struct user_fault user_fault;

/* The user stack, and the stack the CPU switches to on leaving CPL3. */
uint8_t user_stack[PAGE_SIZE] __page_bss;
static uint8_t user_kstack[2 * PAGE_SIZE] __aligned(PAGE_SIZE);

extern uint64_t gdt[];
extern const uint8_t __start_user_text[], __end_user_text[];
extern volatile uint8_t user_returned;
unsigned long exec_user_asm(unsigned long (*fn)(unsigned long),
                            unsigned long arg);
void exec_user_return(void);

#ifdef __x86_64__
struct __attribute__((__packed__)) tss {
    uint32_t rsvd0;
    uint64_t rsp0, rsp1, rsp2, rsvd1, ist[7], rsvd2;
    uint16_t rsvd3, iopb;
};
#else
struct __attribute__((__packed__)) tss {
    uint16_t link, rsvd0;
    uint32_t esp0;
    uint16_t ss0, rsvd1;
    uint32_t other[22];         /* esp1 ... ldt: unused */
    uint16_t trap, iopb;
};
#endif
BUILD_BUG_ON(sizeof(struct tss) != 104);

static struct tss tss __aligned(16);

void set_user_page(const void *va, bool user)
{
    intpte_t *pte = l1e_of(va);

    if ( !pte )
        return;
    if ( user )
        *pte |= _PAGE_USER;
    else
        *pte &= ~(intpte_t)_PAGE_USER;
    invlpg(va);
}

/* Loads the TSS and maps the user text and stack for user mode, once. */
static void user_init(void)
{
    static bool done;
    unsigned long base = (unsigned long)&tss, limit = sizeof(tss) - 1;
    const uint8_t *p;

    if ( done )
        return;
    done = true;

#ifdef __x86_64__
    tss.rsp0 = (unsigned long)user_kstack + sizeof(user_kstack);
#else
    tss.esp0 = (unsigned long)user_kstack + sizeof(user_kstack);
    tss.ss0 = GDT_DS;
#endif
    tss.iopb = sizeof(tss);     /* No I/O bitmap: all ports refused. */

    /* An available 32/64-bit TSS, DPL0 (type 9, present). */
    gdt[GDT_TSS / 8] = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
                       (0x89ULL << 40) | ((uint64_t)(limit & 0xf0000) << 32) |
                       ((uint64_t)(base & 0xff000000) << 32);
#ifdef __x86_64__
    gdt[GDT_TSS / 8 + 1] = base >> 32;
#endif
    asm volatile ("ltr %w0" :: "r" (GDT_TSS));

    for ( p = __start_user_text; p < __end_user_text; p += PAGE_SIZE )
        set_user_page(p, true);
    set_user_page(user_stack, true);
}

bool exec_user(unsigned long (*fn)(unsigned long), unsigned long arg,
               unsigned long *ret)
{
    unsigned long r;

    user_init();
    user_returned = 0;
    r = exec_user_asm(fn, arg);
    if ( ret )
        *ret = r;

    return user_returned;
}

bool user_abort(struct cpu_regs *regs)
{
    if ( (regs->cs & 3) != 3 )
        return false;

    user_fault = (struct user_fault){
        .vector = regs->entry_vector,
        .error_code = regs->error_code,
        .ip = regs->ip,
        .cs = regs->cs,
        .flags = regs->flags,
#ifdef __x86_64__
        .sp = regs->sp,
#else
        /* Pushed above the frame on the change of privilege. */
        .sp = ((const unsigned long *)(regs + 1))[0],
#endif
        .cr2 = regs->entry_vector == X86_EXC_PF ? read_cr2() : 0,
    };

    /* Resume at CPL0 in exec_user_return, which takes the kernel stack. */
    regs->ip = (unsigned long)exec_user_return;
    regs->flags = X86_EFLAGS_MBS;
#ifdef __x86_64__
    regs->cs = GDT_CS64;
    regs->ss = GDT_DS;
#else
    /* Same privilege: iret pops no sp/ss; exec_user_return resets them. */
    regs->cs = GDT_CS32;
#endif
    return true;
}
