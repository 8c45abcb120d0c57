/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-exceptions/main.c
 * @brief An exception a watched access raises reaches the guest as
 *        natively, and the watch stays on.
 *
 * Each instruction reads the watched page, then raises an exception from
 * what it read: #DE from a divisor of zero (at CPL0 and at CPL3), #XM from
 * an SSE division by zero with the exception unmasked, #GP(0) from a movs
 * whose destination is not canonical (64-bit), and #BR from bound (32-bit).
 * A malicious guest can choose such instructions to switch monitoring off
 * if a raised exception disables the watch.
 *
 * Each runs unwatched, then watched; the guest must see the same
 * exception (vector, error code, RIP) both times.  Then the watch must
 * still be enabled and record the next access to the page.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/user.h>

const char test_title[] = "Exceptions raised by watched accesses";

/* The watched page, mapped for user mode too; its words are zero. */
static uint8_t page[PAGE_SIZE] __page_bss;

struct outcome {
    bool fault;
    unsigned long vector, ec, ip;
};

/* Runs an instruction at CPL0 whose exception the exception table takes. */
#define K_CASE(name, insn, ...)                                         \
static void name(struct outcome *o)                                     \
{                                                                       \
    bool f = false;                                                     \
                                                                        \
    asm volatile ("1: " insn "\n\t"                                     \
                  "jmp 3f\n\t"                                          \
                  "2: movb $1, %[f]\n\t"                                \
                  "3:\n\t"                                              \
                  _ASM_EXTABLE(1b, 2b)                                  \
                  : [f] "+m" (f) : __VA_ARGS__ : "memory", "cc");       \
    *o = (struct outcome){ f, f ? last_exc.vector : 0,                  \
                           f ? last_exc.error_code : 0,                 \
                           f ? last_exc.ip : 0 };                       \
}

K_CASE(k_div, "divl %[m]", [m] "m" (*(uint32_t *)(page + 0x10)),
       "a" (1), "d" (0))
K_CASE(k_divss, "divss %[m], %%xmm0", [m] "m" (*(uint32_t *)(page + 0x20)))
#ifdef __x86_64__
/* movs from the page to a non-canonical address: #GP(0). */
K_CASE(k_movs_noncanon, "movsl", "S" (page + 0x30),
       "D" (0x8000000000000000UL))
#else
/* bound against the pair [0, 0] at the page, with an index of 5: #BR. */
K_CASE(k_bound, "boundl %%eax, %[m]", [m] "m" (*(uint64_t *)(page + 0x40)),
       "a" (5))
#endif

static unsigned long __user_text u_div(unsigned long unused)
{
    asm volatile ("divl %[m]"
                  :: [m] "m" (*(uint32_t *)(page + 0x10)), "a" (1), "d" (0)
                  : "cc");
    return 0;
}

static void user_div(struct outcome *o)
{
    bool done = exec_user(u_div, 0, NULL);

    *o = (struct outcome){ !done, done ? 0 : user_fault.vector,
                           done ? 0 : user_fault.error_code,
                           done ? 0 : user_fault.ip };
}

static void sse_on(void)
{
    uint32_t mxcsr = 0x1f80 & ~(1u << 9);       /* #XM for ZE unmasked */
    static const uint32_t one = 0x3f800000;     /* 1.0f */

    sse_enable();
    asm volatile ("ldmxcsr %0" :: "m" (mxcsr));
    asm volatile ("movss %0, %%xmm0" :: "m" (one));
}

static void clear_mxcsr_flags(void)
{
    uint32_t mxcsr = 0x1f80 & ~(1u << 9);

    asm volatile ("ldmxcsr %0" :: "m" (mxcsr));
}

struct kase {
    const char *name;
    void (*fn)(struct outcome *o);
    unsigned long vector, ec;
};

static void check(const struct kase *k)
{
    struct outcome native, watched;
    struct xen_rshadow_record recs[8];
    unsigned int nr, i;
    bool seen = false;

    clear_mxcsr_flags();
    k->fn(&native);
    rshadow_watch_only(virt_to_gfn(page), XEN_RSHADOW_ACCESS_R |
                       XEN_RSHADOW_ACCESS_W, 0, "the page");
    clear_mxcsr_flags();
    k->fn(&watched);

    if ( !native.fault && k->vector == X86_EXC_XM )
    {
        /* QEMU's TCG raises no #XM (README, platform notes). */
        if ( watched.fault )
            return xtf_failure("%s: watched: vector %lu, native: none\n",
                               k->name, watched.vector);
        printk("  skip %s: this CPU raises no #XM natively\n", k->name);
    }
    else if ( !native.fault || native.vector != k->vector || native.ec != k->ec )
        return xtf_failure("%s: natively vector %lu ec %#lx fault %d, "
                           "expected vector %lu ec %#lx\n", k->name,
                           native.vector, native.ec, native.fault, k->vector,
                           k->ec);
    if ( watched.fault != native.fault || watched.vector != native.vector ||
         watched.ec != native.ec || watched.ip != native.ip )
        return xtf_failure("%s: watched: fault %d vector %lu ec %#lx ip %#lx; "
                           "native: vector %lu ec %#lx ip %#lx\n", k->name,
                           watched.fault, watched.vector, watched.ec,
                           watched.ip, native.vector, native.ec, native.ip);

    if ( rshadow_watch_flags(virt_to_gfn(page)) != 0 )
        return xtf_failure("%s: the watch was switched off (flags %#x)\n",
                           k->name, rshadow_watch_flags(virt_to_gfn(page)));

    /* Still watching: the next access is recorded. */
    rshadow_drain(recs, ARRAY_SIZE(recs));
    ACCESS_ONCE(page[0x100]) = 0x5a;
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    for ( i = 0; i < nr; i++ )
        seen |= recs[i].kind == XEN_RSHADOW_REC_WRITE &&
                recs[i].linear == (unsigned long)&page[0x100];
    ACCESS_ONCE(page[0x100]) = 0;
    if ( !seen )
    {
        rshadow_dump(recs, nr);
        return xtf_failure("%s: the next write to the page was not recorded\n",
                           k->name);
    }
    printk("  ok   %s: vector %lu ec %#lx at %#lx, watch still on\n", k->name,
           watched.vector, watched.ec, watched.ip);
}

void test_main(void)
{
    static const struct kase cases[] = {
        { "divl by a watched zero (CPL0)", k_div, X86_EXC_DE, 0 },
        { "divl by a watched zero (CPL3)", user_div, X86_EXC_DE, 0 },
        { "divss by a watched 0.0, #XM unmasked", k_divss, X86_EXC_XM, 0 },
#ifdef __x86_64__
        { "movs from the page to a non-canonical address", k_movs_noncanon,
          X86_EXC_GP, 0 },
#else
        { "bound against a watched pair", k_bound, X86_EXC_BR, 0 },
#endif
    };
    unsigned int i;

    rshadow_require();
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");
    set_user_page(page, true);
    sse_on();

    for ( i = 0; i < ARRAY_SIZE(cases); i++ )
        check(&cases[i]);

    rshadow_disable();
    xtf_success(NULL);
}
