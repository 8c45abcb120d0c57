/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-privilege/main.c
 * @brief Watched accesses obey the guest's privilege rules.
 *
 * An access to a watched frame is emulated by Xen.  Every other access the
 * emulated instruction makes must then obey the rules the CPU would apply:
 * U/S for code at CPL3, CR0.WP, SMEP and SMAP (with EFLAGS.AC).  Each case
 * runs first with nothing watched, then with its page watched, and the two
 * must agree: the same fault (vector, error code, CR2, RIP) or none, and
 * the same memory afterwards.  Each case also has the outcome the SDM
 * gives, so that a platform bug shared by both runs is caught too.
 *
 * The cases run with CR4.SMEP and CR4.SMAP off, then on where the CPU has
 * them (the runner asks QEMU for both; Bochs's tigerlake has them).
 *
 * Protection keys are not covered: Xen 4.17 offers them only to guests on
 * HAP, and watches need shadow paging.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/user.h>

const char test_title[] = "Watched accesses obey the guest's privilege rules";

/* The watched page, mapped for user mode. */
static uint8_t upage[PAGE_SIZE] __page_bss;
/* Another user page, not watched. */
static uint8_t upage2[PAGE_SIZE] __page_bss;
/* A supervisor page the user cases aim at. */
static uint8_t kpage[PAGE_SIZE] __page_bss;
/* A watched supervisor page, the source of the supervisor cases. */
static uint8_t kwatch[PAGE_SIZE] __page_bss;
/* A supervisor page mapped read-only. */
static uint8_t kro[PAGE_SIZE] __page_bss;

#define PF_P 0x1
#define PF_W 0x2
#define PF_U 0x4

#ifdef __x86_64__
# define SP "%%rsp"
# define BX "%%rbx"
# define PUSH "pushq"
# define POP "popq"
#else
# define SP "%%esp"
# define BX "%%ebx"
# define PUSH "pushl"
# define POP "popl"
#endif

static bool smap_on;

/* Kernel access to user pages, allowed whatever SMAP says. */
static void user_access_begin(void)
{
    if ( smap_on )
        stac();
}

static void user_access_end(void)
{
    if ( smap_on )
        clac();
}

/* ---- Code run at CPL3: it touches user pages only, but for its target. */

/* movsl from the watched user page to @dst. */
static unsigned long __user_text u_movs(unsigned long dst)
{
    unsigned long src = (unsigned long)upage + 0x10;

    asm volatile ("movsl" : "+S" (src), "+D" (dst) :: "memory");
    return 0;
}

/* cmpsl between the watched user page and @other: a read of both. */
static unsigned long __user_text u_cmps(unsigned long other)
{
    unsigned long src = (unsigned long)upage + 0x10;

    asm volatile ("cmpsl" : "+S" (src), "+D" (other) :: "memory", "cc");
    return 0;
}

/* push of a word of the watched page onto a stack whose top is @top. */
static unsigned long __user_text u_push(unsigned long top)
{
    asm volatile ("mov " SP ", " BX "\n\t"
                  "mov %[top], " SP "\n\t"
                  PUSH " %[mem]\n\t"
                  "mov " BX ", " SP
                  :: [top] "r" (top), [mem] "m" (*(unsigned long *)(upage + 0x10))
                  : "bx", "memory");
    return 0;
}

/* pop from a stack on the watched page into @dst. */
static unsigned long __user_text u_pop(unsigned long dst)
{
    asm volatile ("mov " SP ", " BX "\n\t"
                  "mov %[stk], " SP "\n\t"
                  POP " (%[dst])\n\t"
                  "mov " BX ", " SP
                  :: [stk] "r" (upage + 0x10), [dst] "c" (dst)
                  : "bx", "memory");
    return 0;
}

/* A plain store to the watched page: must be emulated, not refused. */
static unsigned long __user_text u_store(unsigned long val)
{
    *(volatile uint32_t *)(upage + 0x100) = val;
    return 0;
}

/* ---- The same kinds at CPL0, caught through the exception table. */

/* movsl from @src to @dst at CPL0; returns whether it faulted. */
static bool k_movs(unsigned long src, unsigned long dst)
{
    bool fault = false;

    asm volatile ("1: movsl\n\t"
                  "jmp 3f\n\t"
                  "2: movb $1, %[f]\n\t"
                  "3:\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  : "+S" (src), "+D" (dst), [f] "+m" (fault) :: "memory");
    return fault;
}

static bool k_read(unsigned long src)
{
    bool fault = false;
    unsigned long v;

    asm volatile ("1: mov (%[p]), %[v]\n\t"
                  "jmp 3f\n\t"
                  "2: movb $1, %[f]\n\t"
                  "3:\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  : [v] "=r" (v), [f] "+m" (fault) : [p] "r" (src) : "memory");
    return fault;
}

/* ---- Running a case twice ---- */

enum kind { USER, K_MOVS, K_READ };

struct kase {
    const char *name;
    enum kind kind;
    unsigned long (*fn)(unsigned long);
    uint8_t *watch;             /* The page watched in the second run. */
    uint8_t *src;               /* K_MOVS and K_READ: the source. */
    uint8_t *target;            /* The argument: the other operand. */
    bool ac;                    /* Run with EFLAGS.AC set. */
    bool smap_only;             /* Only meaningful with SMAP on. */
    /* The SDM's outcome: a #PF with this error code at cr2, or none. */
    bool fault;
    unsigned int ec;
    uint8_t *cr2;
};

struct outcome {
    bool fault;
    unsigned long vector, ec, cr2, ip;
    uint32_t words[4];          /* kpage, upage, upage2, kro at 0x10 */
};

static const uint32_t seed[4] = { 0x11111111, 0xfeedface, 0x22222222,
                                  0x33333333 };

static void reset_memory(void)
{
    user_access_begin();
    *(uint32_t *)(upage + 0x10) = seed[1];
    *(uint32_t *)(upage + 0x14) = seed[1] ^ 1;
    *(uint32_t *)(upage + 0x100) = 0;
    *(uint32_t *)(upage2 + 0x10) = seed[2];
    user_access_end();
    *(uint32_t *)(kpage + 0x10) = seed[0];
    *(uint32_t *)(kwatch + 0x10) = seed[1];
    /* kro is read-only: its word is set once, before it was. */
}

static void snapshot(struct outcome *o)
{
    user_access_begin();
    o->words[0] = *(volatile uint32_t *)(kpage + 0x10);
    o->words[1] = *(volatile uint32_t *)(upage + 0x100);
    o->words[2] = *(volatile uint32_t *)(upage2 + 0x10);
    user_access_end();
    o->words[3] = *(volatile uint32_t *)(kro + 0x10);
}

static void run(const struct kase *k, struct outcome *o)
{
    unsigned long before = exc_count[X86_EXC_PF];

    memset(o, 0, sizeof(*o));
    reset_memory();

    switch ( k->kind )
    {
    case USER:
        if ( !exec_user(k->fn, (unsigned long)k->target, NULL) )
        {
            o->fault = true;
            o->vector = user_fault.vector;
            o->ec = user_fault.error_code;
            o->cr2 = user_fault.cr2;
            o->ip = user_fault.ip;
        }
        break;

    case K_MOVS:
    case K_READ:
        if ( k->ac )
            stac();
        o->fault = k->kind == K_MOVS
            ? k_movs((unsigned long)k->src + 0x10,
                     (unsigned long)k->target + 0x10)
            : k_read((unsigned long)k->src + 0x10);
        if ( k->ac )
            clac();
        if ( o->fault )
        {
            o->vector = last_exc.vector;
            o->ec = last_exc.error_code;
            o->cr2 = last_exc.cr2;
            o->ip = last_exc.ip;
        }
        break;
    }

    if ( o->fault && exc_count[X86_EXC_PF] == before )
        o->vector = ~0ul;       /* Not a #PF: reported below. */
    snapshot(o);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
    return a->fault == b->fault && a->vector == b->vector && a->ec == b->ec &&
           a->cr2 == b->cr2 && a->ip == b->ip &&
           !memcmp(a->words, b->words, sizeof(a->words));
}

static void show(const char *what, const struct outcome *o)
{
    if ( o->fault )
        printk("    %s: vector %#lx ec %#lx cr2 %#lx ip %#lx", what, o->vector,
               o->ec, o->cr2, o->ip);
    else
        printk("    %s: no fault", what);
    printk(", words %08x %08x %08x %08x\n", o->words[0], o->words[1],
           o->words[2], o->words[3]);
}

static unsigned int failures;

static void check(const struct kase *k, const char *mode)
{
    struct outcome native, watched;
    /* Offsets the cases use: the watched word, and the target's. */
    unsigned long want_cr2 = (unsigned long)k->cr2;

    run(k, &native);
    rshadow_watch_only(virt_to_gfn(k->watch), XEN_RSHADOW_ACCESS_R |
                       XEN_RSHADOW_ACCESS_W, 0, k->name);
    run(k, &watched);
    rshadow_reset();

    if ( !same(&native, &watched) )
    {
        failures++;
        printk("  FAIL %s (%s): watched differs from native\n", k->name, mode);
        show("native ", &native);
        show("watched", &watched);
    }
    else if ( native.fault != k->fault ||
              (k->fault && (native.vector != X86_EXC_PF || native.ec != k->ec ||
                            native.cr2 != want_cr2)) )
    {
        failures++;
        printk("  FAIL %s (%s): native run is not as the SDM says "
               "(expected %s, ec %#x, cr2 %#lx)\n", k->name, mode,
               k->fault ? "#PF" : "no fault", k->ec, want_cr2);
        show("native ", &native);
    }
    else
        printk("  ok   %s (%s)\n", k->name, mode);
}

#ifdef __x86_64__
# define WORD 8
#else
# define WORD 4
#endif

static void run_cases(const char *mode)
{
    const struct kase cases[] = {
        /* CPL3: the other operand is a supervisor page. */
        { "user movs, watched source, supervisor destination", USER, u_movs,
          upage, NULL, kpage + 0x10, false, false,
          true, PF_P | PF_W | PF_U, kpage + 0x10 },
        { "user cmps, watched operand, supervisor operand", USER, u_cmps,
          upage, NULL, kpage + 0x10, false, false,
          true, PF_P | PF_U, kpage + 0x10 },
        { "user push of a watched word onto a supervisor stack", USER, u_push,
          upage, NULL, kpage + 0x20, false, false,
          true, PF_P | PF_W | PF_U, kpage + 0x20 - WORD },
        { "user pop from a watched stack into supervisor memory", USER, u_pop,
          upage, NULL, kpage + 0x10, false, false,
          true, PF_P | PF_W | PF_U, kpage + 0x10 },
        /* CPL3: everything user, so it must work (SMEP/SMAP must not bite). */
        { "user movs, watched source, user destination", USER, u_movs,
          upage, NULL, upage2 + 0x10, false, false, false, 0, NULL },
        { "user store to the watched page", USER, u_store,
          upage, NULL, (uint8_t *)0x5a5a5a5aul, false, false, false, 0, NULL },
        /* CPL0, CR0.WP set: a read-only page stays read-only. */
        { "supervisor movs, watched source, read-only destination", K_MOVS,
          NULL, kwatch, kwatch, kro, false, false,
          true, PF_P | PF_W, kro + 0x10 },
        /* CPL0 and SMAP: user pages are out of reach unless EFLAGS.AC. */
        { "supervisor read of the watched user page", K_READ, NULL,
          upage, upage, NULL, false, true, true, PF_P, upage + 0x10 },
        { "supervisor read of the watched user page, AC set", K_READ, NULL,
          upage, upage, NULL, true, true, false, 0, NULL },
        { "supervisor movs, watched source, user destination", K_MOVS, NULL,
          kwatch, kwatch, upage2, false, true,
          true, PF_P | PF_W, upage2 + 0x10 },
        { "supervisor movs, watched source, user destination, AC set", K_MOVS,
          NULL, kwatch, kwatch, upage2, true, true, false, 0, NULL },
        /* Xen's walk cache must not remember the AC-set access above. */
        { "the same with AC clear again", K_MOVS, NULL,
          kwatch, kwatch, upage2, false, true,
          true, PF_P | PF_W, upage2 + 0x10 },
    };
    unsigned int i;

    for ( i = 0; i < ARRAY_SIZE(cases); i++ )
        if ( smap_on || !cases[i].smap_only )
            check(&cases[i], mode);
}

void test_main(void)
{
    bool smep = cpu_has_smep(), smap = cpu_has_smap();

    rshadow_require();
    if ( rshadow_enable(256) )
        return xtf_error("cannot enable rust-shadow\n");

    set_user_page(upage, true);
    set_user_page(upage2, true);
    *(uint32_t *)(kro + 0x10) = seed[3];
    *l1e_of(kro) &= ~(intpte_t)_PAGE_RW;
    invlpg(kro);

    printk("CPU: SMEP %s, SMAP %s\n", smep ? "yes" : "no", smap ? "yes" : "no");
    run_cases("SMEP and SMAP off");

    if ( smep || smap )
    {
        write_cr4(read_cr4() | (smep ? X86_CR4_SMEP : 0) |
                  (smap ? X86_CR4_SMAP : 0));
        smap_on = smap;
        run_cases(smep && smap ? "SMEP and SMAP on" : smep ? "SMEP on" : "SMAP on");
        write_cr4(read_cr4() & ~(X86_CR4_SMEP | X86_CR4_SMAP));
        smap_on = false;
    }

    rshadow_disable();
    if ( failures )
        return xtf_failure("%u case(s) differ from native execution\n", failures);
    if ( !smep || !smap )
        return xtf_success("(this CPU lacks %s: those cases did not run)\n",
                           !smep && !smap ? "SMEP and SMAP" : !smep ? "SMEP" : "SMAP");
    xtf_success(NULL);
}
