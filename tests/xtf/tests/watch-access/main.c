/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-access/main.c
 * @brief Accesses to a watched page give native results and exact records.
 *
 * Each instruction form runs twice, against three pages of which none is
 * watched, then against three pages of which the middle one is watched
 * for reads and writes.  The registers, flags and memory afterwards must
 * be identical, and the trace must hold exactly the expected records:
 * kind, linear address, size, value and the RIP of the instruction.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Watched pages: native results and exact records";

#define NPAGES 3
static uint8_t plain[NPAGES * PAGE_SIZE] __page_bss;
static uint8_t watched[NPAGES * PAGE_SIZE] __page_bss;
/* A stack page of each kind, for push/pop/call/ret. */
static uint8_t plain_stack[PAGE_SIZE] __page_bss;
static uint8_t watched_stack[PAGE_SIZE] __page_bss;

#define MID PAGE_SIZE   /* Offset of the watched page in the area. */

#ifdef __x86_64__
# define W "q"
# define SP "%%rsp"
#else
# define W "l"
# define SP "%%esp"
#endif

/* What a form leaves behind, compared between the two runs. */
struct outcome {
    unsigned long r[4];
    unsigned long flags;
};

/* One expected record: kind, offset of the address in the area, size, value. */
struct exp {
    uint8_t kind, size;
    long off;
    uint64_t value;
    unsigned int flags;
};

typedef void (*form_fn)(uint8_t *area, uint8_t *stack_top, struct outcome *o,
                        unsigned long *ip);

struct form {
    const char *name;
    form_fn fn;
    unsigned int nr;
    struct exp rec[10];
    bool stack;         /* Addresses are relative to the stack page. */
};

#define READ  XEN_RSHADOW_REC_READ
#define WRITE XEN_RSHADOW_REC_WRITE
#define RMW   XEN_RSHADOW_REC_RMW

/* The initial contents of every byte of an area. */
static uint8_t pattern(unsigned long i)
{
    return (i * 7 + 3) & 0xff;
}

static uint64_t pattern_at(unsigned long off, unsigned int size)
{
    uint64_t v = 0;
    unsigned int i;

    for ( i = 0; i < size; i++ )
        v |= (uint64_t)pattern(off + i) << (8 * i);
    return v;
}

#define FLAGS(o) asm volatile ("pushf; pop %0" : "=rm" ((o)->flags))

/* ---- Loads and stores ---- */

#define LOAD(name, insn, reg, off)                                      \
static void name(uint8_t *a, uint8_t *s, struct outcome *o,             \
                 unsigned long *ip)                                     \
{                                                                       \
    o->r[0] = 0;                                                        \
    asm volatile ("1: " insn " (%[p]), %" reg "[r]\n\t"                 \
                  "mov $1b, %[ip]"                                      \
                  : [r] "+r" (o->r[0]), [ip] "=r" (*ip)                 \
                  : [p] "r" (a + (off)) : "memory");                    \
}

#define STORE(name, insn, reg, off, val)                                \
static void name(uint8_t *a, uint8_t *s, struct outcome *o,             \
                 unsigned long *ip)                                     \
{                                                                       \
    asm volatile ("1: " insn " %" reg "[v], (%[p])\n\t"                 \
                  "mov $1b, %[ip]"                                      \
                  : [ip] "=r" (*ip)                                     \
                  : [p] "r" (a + (off)), [v] "q" (val) : "memory");     \
}

LOAD(load1, "movzbl", "k", MID + 0x10)
LOAD(load2, "movzwl", "k", MID + 0x21)
LOAD(load4, "movl", "k", MID + 0x32)
STORE(store1, "movb", "b", MID + 0x40, 0x5a)
STORE(store2, "movw", "w", MID + 0x51, 0xbeef)
STORE(store4, "movl", "k", MID + 0x62, 0xcafef00dUL)
#ifdef __x86_64__
LOAD(load8, "movq", "q", MID + 0x73)
STORE(store8, "movq", "q", MID + 0x88, 0x0123456789abcdefULL)
#endif

/* Straddling: into the watched page, and out of it. */
LOAD(load4_into, "movl", "k", MID - 2)
LOAD(load4_outof, "movl", "k", 2 * MID - 2)

/* ---- String instructions ---- */

static void movsb_one(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned long si = (unsigned long)a + MID + 0x100;
    unsigned long di = (unsigned long)a + MID + 0x200;

    asm volatile ("1: movsb\n\t" "mov $1b, %[ip]"
                  : "+S" (si), "+D" (di), [ip] "=r" (*ip) :: "memory");
    o->r[0] = si - (unsigned long)a;
    o->r[1] = di - (unsigned long)a;
}

static void movsl_one(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned long si = (unsigned long)a + MID + 0x104;
    unsigned long di = (unsigned long)a + MID + 0x208;

    asm volatile ("1: movsl\n\t" "mov $1b, %[ip]"
                  : "+S" (si), "+D" (di), [ip] "=r" (*ip) :: "memory");
    o->r[0] = si - (unsigned long)a;
    o->r[1] = di - (unsigned long)a;
}

static void stosw_one(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned long di = (unsigned long)a + MID + 0x300;

    asm volatile ("1: stosw\n\t" "mov $1b, %[ip]"
                  : "+D" (di), [ip] "=r" (*ip) : "a" (0x1234) : "memory");
    o->r[0] = di - (unsigned long)a;
}

static void lodsb_one(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned long si = (unsigned long)a + MID + 0x310;
    unsigned long ax = 0;

    asm volatile ("1: lodsb\n\t" "mov $1b, %[ip]"
                  : "+S" (si), "+a" (ax), [ip] "=r" (*ip) :: "memory");
    o->r[0] = si - (unsigned long)a;
    o->r[1] = ax;
}

/* rep movsb of 3 bytes within the watched page: one fault per iteration. */
static void rep_movsb(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned long si = (unsigned long)a + MID + 0x400;
    unsigned long di = (unsigned long)a + MID + 0x500;
    unsigned long cx = 3;

    asm volatile ("1: rep movsb\n\t" "mov $1b, %[ip]"
                  : "+S" (si), "+D" (di), "+c" (cx), [ip] "=r" (*ip)
                  :: "memory");
    o->r[0] = si - (unsigned long)a;
    o->r[1] = di - (unsigned long)a;
    o->r[2] = cx;
}

/* rep stosb running into the watched page, and out of it. */
static void rep_stosb_into(uint8_t *a, uint8_t *s, struct outcome *o,
                           unsigned long *ip)
{
    unsigned long di = (unsigned long)a + MID - 2, cx = 4;

    asm volatile ("1: rep stosb\n\t" "mov $1b, %[ip]"
                  : "+D" (di), "+c" (cx), [ip] "=r" (*ip)
                  : "a" (0x77) : "memory");
    o->r[0] = di - (unsigned long)a;
    o->r[1] = cx;
}

static void rep_stosb_outof(uint8_t *a, uint8_t *s, struct outcome *o,
                            unsigned long *ip)
{
    unsigned long di = (unsigned long)a + 2 * MID - 2, cx = 4;

    asm volatile ("1: rep stosb\n\t" "mov $1b, %[ip]"
                  : "+D" (di), "+c" (cx), [ip] "=r" (*ip)
                  : "a" (0x66) : "memory");
    o->r[0] = di - (unsigned long)a;
    o->r[1] = cx;
}

/* ---- Atomic and read-modify-write ---- */

static void xchg_mem(uint8_t *a, uint8_t *s, struct outcome *o,
                     unsigned long *ip)
{
    unsigned int v = 0x11223344;

    asm volatile ("1: xchg %[v], (%[p])\n\t" "mov $1b, %[ip]"
                  : [v] "+r" (v), [ip] "=r" (*ip)
                  : [p] "r" (a + MID + 0x600) : "memory");
    o->r[0] = v;
}

static void lock_cmpxchg(uint8_t *a, uint8_t *s, struct outcome *o,
                         unsigned long *ip)
{
    unsigned int old = pattern_at(MID + 0x610, 4), new = 0x99aabbcc;

    asm volatile ("1: lock cmpxchg %[n], (%[p])\n\t" "mov $1b, %[ip]"
                  : "+a" (old), [ip] "=r" (*ip)
                  : [n] "r" (new), [p] "r" (a + MID + 0x610) : "memory");
    o->r[0] = old;
    FLAGS(o);
}

static void lock_xadd(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned int v = 0x100;

    asm volatile ("1: lock xadd %[v], (%[p])\n\t" "mov $1b, %[ip]"
                  : [v] "+r" (v), [ip] "=r" (*ip)
                  : [p] "r" (a + MID + 0x620) : "memory");
    o->r[0] = v;
    FLAGS(o);
}

static void lock_add(uint8_t *a, uint8_t *s, struct outcome *o,
                     unsigned long *ip)
{
    asm volatile ("1: lock addl $0x7fffffff, (%[p])\n\t" "mov $1b, %[ip]"
                  : [ip] "=r" (*ip)
                  : [p] "r" (a + MID + 0x630) : "memory");
    FLAGS(o);
}

/* ---- The stack on the page ---- */

/*
 * Switches to the stack page, pushes, pops, calls and returns, and comes
 * back.  ip receives the address of the push; the others follow it.
 */
static void stack_ops(uint8_t *a, uint8_t *s, struct outcome *o,
                      unsigned long *ip)
{
    unsigned long saved, popped;

    asm volatile ("mov " SP ", %[saved]\n\t"
                  "mov %[top], " SP "\n\t"
                  "1: push $0x2a\n\t"
                  "pop %[popped]\n\t"
                  "call 2f\n\t"
                  "jmp 3f\n"
                  "2: ret\n"
                  "3: mov %[saved], " SP "\n\t"
                  "mov $1b, %[ip]"
                  : [saved] "=&r" (saved), [popped] "=&a" (popped),
                    [ip] "=&r" (*ip)
                  : [top] "r" (s) : "memory");
    o->r[0] = popped;
}

/*
 * The call's return address, from the push: push imm8 (2 bytes), pop %ax
 * (1), call rel32 (5).  The ret sits after the 2-byte jmp there.
 */
#define STACK_RET_OFF (2 + 1 + 5)

static const struct form forms[] = {
    { "mov load 1", load1, 1, { { READ, 1, MID + 0x10, 0 } } },
    { "mov load 2", load2, 1, { { READ, 2, MID + 0x21, 0 } } },
    { "mov load 4", load4, 1, { { READ, 4, MID + 0x32, 0 } } },
#ifdef __x86_64__
    { "mov load 8", load8, 1, { { READ, 8, MID + 0x73, 0 } } },
#endif
    { "mov store 1", store1, 1, { { WRITE, 1, MID + 0x40, 0x5a } } },
    { "mov store 2", store2, 1, { { WRITE, 2, MID + 0x51, 0xbeef } } },
    { "mov store 4", store4, 1, { { WRITE, 4, MID + 0x62, 0xcafef00d } } },
#ifdef __x86_64__
    { "mov store 8", store8, 1,
      { { WRITE, 8, MID + 0x88, 0x0123456789abcdefULL } } },
#endif
    { "load straddling into the page", load4_into, 1,
      { { READ, 4, MID - 2, 0, XEN_RSHADOW_REC_STRADDLE } } },
    { "load straddling out of the page", load4_outof, 1,
      { { READ, 4, 2 * MID - 2, 0, XEN_RSHADOW_REC_STRADDLE } } },
    { "movsb", movsb_one, 2,
      { { READ, 1, MID + 0x100, 0 }, { WRITE, 1, MID + 0x200, 1 } } },
    { "movsl", movsl_one, 2,
      { { READ, 4, MID + 0x104, 0 }, { WRITE, 4, MID + 0x208, 1 } } },
    { "stosw", stosw_one, 1, { { WRITE, 2, MID + 0x300, 0x1234 } } },
    { "lodsb", lodsb_one, 1, { { READ, 1, MID + 0x310, 0 } } },
    { "rep movsb", rep_movsb, 6,
      { { READ, 1, MID + 0x400, 0 }, { WRITE, 1, MID + 0x500, 1 },
        { READ, 1, MID + 0x401, 0 }, { WRITE, 1, MID + 0x501, 1 },
        { READ, 1, MID + 0x402, 0 }, { WRITE, 1, MID + 0x502, 1 } } },
    { "rep stosb into the page", rep_stosb_into, 2,
      { { WRITE, 1, MID, 0x77 }, { WRITE, 1, MID + 1, 0x77 } } },
    { "rep stosb out of the page", rep_stosb_outof, 2,
      { { WRITE, 1, 2 * MID - 2, 0x66 }, { WRITE, 1, 2 * MID - 1, 0x66 } } },
    { "xchg", xchg_mem, 2,
      { { READ, 4, MID + 0x600, 0 }, { RMW, 4, MID + 0x600, 0x11223344 } } },
    { "lock cmpxchg", lock_cmpxchg, 2,
      { { READ, 4, MID + 0x610, 0 }, { RMW, 4, MID + 0x610, 0x99aabbcc } } },
    { "lock xadd", lock_xadd, 2,
      { { READ, 4, MID + 0x620, 0 }, { RMW, 4, MID + 0x620, 2 } } },
    { "lock add", lock_add, 2,
      { { READ, 4, MID + 0x630, 0 }, { RMW, 4, MID + 0x630, 3 } } },
    { "push/pop/call/ret", stack_ops, 4,
      { { WRITE, sizeof(long), -(long)sizeof(long), 0x2a },
        { READ, sizeof(long), -(long)sizeof(long), 0x2a },
        { WRITE, sizeof(long), -(long)sizeof(long), 4 },
        { READ, sizeof(long), -(long)sizeof(long), 4 } },
      true },
};

/*
 * Values: 0 means "the pattern there", 1 "the pattern at the matching read",
 * 2 "old pattern plus 0x100", 3 "old pattern plus 0x7fffffff", 4 "the
 * return address"; anything else is literal.
 */
static uint64_t expected_value(const struct form *f, unsigned int i,
                               unsigned long ip)
{
    const struct exp *e = &f->rec[i];

    switch ( e->value )
    {
    case 0: return pattern_at(e->off, e->size);
    case 1: return pattern_at(f->rec[i - 1].off, e->size);
    case 2: return (pattern_at(e->off, 4) + 0x100) & 0xffffffff;
    case 3: return (pattern_at(e->off, 4) + 0x7fffffff) & 0xffffffff;
    case 4: return ip + STACK_RET_OFF;
    default: return e->value;
    }
}

static void fill(uint8_t *area, size_t len)
{
    size_t i;

    for ( i = 0; i < len; i++ )
        area[i] = pattern(i);
}

static struct xen_rshadow_record recs[32];

static void watch_pages(bool on)
{
    unsigned int rw = XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W;
    long rc;

    if ( on )
        rc = rshadow_watch(virt_to_gfn(watched + MID), 1, rw, 0) ?:
             rshadow_watch(virt_to_gfn(watched_stack), 1, rw, 0);
    else
        rc = rshadow_unwatch(virt_to_gfn(watched + MID), 1) ?:
             rshadow_unwatch(virt_to_gfn(watched_stack), 1);
    if ( rc )
    {
        xtf_error("cannot %s the pages: %ld\n", on ? "watch" : "unwatch", rc);
        xtf_exit();
    }
}

static void run_form(const struct form *f)
{
    struct outcome o[2] = {};
    unsigned long ip[2];
    unsigned int i, nr;
    uint8_t *base;

    /* Set up the pages unwatched, so that only the form is recorded. */
    watch_pages(false);
    fill(plain, sizeof(plain));
    fill(watched, sizeof(watched));
    memset(plain_stack, 0, PAGE_SIZE);
    memset(watched_stack, 0, PAGE_SIZE);
    watch_pages(true);
    rshadow_drain(recs, ARRAY_SIZE(recs));

    f->fn(plain, plain_stack + PAGE_SIZE, &o[0], &ip[0]);
    nr = rshadow_drain(recs, ARRAY_SIZE(recs));
    if ( nr )
        xtf_failure("%s: %u records from the unwatched pages\n", f->name, nr);

    f->fn(watched, watched_stack + PAGE_SIZE, &o[1], &ip[1]);
    nr = rshadow_drain(recs, ARRAY_SIZE(recs));

    /* Native results: registers, flags and memory. */
    if ( memcmp(&o[0], &o[1], sizeof(o[0])) )
        xtf_failure("%s: registers/flags differ: %#lx %#lx %#lx %#lx fl %#lx vs %#lx %#lx %#lx %#lx fl %#lx\n",
                    f->name, o[0].r[0], o[0].r[1], o[0].r[2], o[0].r[3],
                    o[0].flags, o[1].r[0], o[1].r[1], o[1].r[2], o[1].r[3],
                    o[1].flags);
    if ( memcmp(plain, watched, sizeof(plain)) )
        xtf_failure("%s: memory differs\n", f->name);
    if ( f->stack && memcmp(plain_stack, watched_stack, PAGE_SIZE) )
        xtf_failure("%s: stack memory differs\n", f->name);

    /* Exact records. */
    base = f->stack ? watched_stack + PAGE_SIZE : watched;
    if ( nr != f->nr )
        xtf_failure("%s: %u records, expected %u\n", f->name, nr, f->nr);
    for ( i = 0; i < nr && i < f->nr; i++ )
    {
        const struct exp *e = &f->rec[i];
        const struct xen_rshadow_record *r = &recs[i];
        unsigned long lin = (unsigned long)(base + e->off);
        unsigned long rip = ip[1];
        uint64_t value = expected_value(f, i, ip[1]);

        /* In the stack form, each record is of its own instruction. */
        if ( f->stack )
            rip = (unsigned long[]){ ip[1], ip[1] + 2, ip[1] + 3,
                                     ip[1] + STACK_RET_OFF + 2 }[i];
        if ( value >> (8 * e->size) && e->size < 8 )
            value &= (1ULL << (8 * e->size)) - 1;

        if ( r->kind != e->kind || r->size != e->size || r->linear != lin ||
             r->rip != rip || r->value != value ||
             !(r->flags & XEN_RSHADOW_REC_VALUE) ||
             (r->flags & XEN_RSHADOW_REC_STRADDLE) !=
             (e->flags & XEN_RSHADOW_REC_STRADDLE) ||
             r->gfn != virt_to_gfn(f->stack ? watched_stack : watched + MID) )
        {
            xtf_failure("%s: record %u differs: expected kind %u size %u lin %#lx rip %#lx value %#llx\n",
                        f->name, i, e->kind, e->size, lin, rip,
                        (unsigned long long)value);
            rshadow_print_record(r);
        }
    }
}

void test_main(void)
{
    unsigned int i;

    rshadow_require();

    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");
    watch_pages(true);

    for ( i = 0; i < ARRAY_SIZE(forms); i++ )
        run_form(&forms[i]);

    rshadow_disable();
    xtf_success(NULL);
}
