/* SPDX-License-Identifier: GPL-2.0-only */
/* The differential harness (xtf/diff.h). */
#include <xtf.h>
#include <xtf/diff.h>
#include <xtf/rshadow.h>
#include <xtf/user.h>

uint8_t diff_mem[DIFF_PAGES][PAGE_SIZE] __page_bss;

/* What one run ended with. */
#define DIFF_MAX_DB 16
struct diff_outcome {
    struct diff_regs regs;
    bool fault;
    unsigned long vector, ec, ip, cr2;
    unsigned int nr_db, nr_bp;
    unsigned long bp_ip, bp_flags;  /* the last #BP that resumed */
    struct { unsigned long ip, dr6; } db[DIFF_MAX_DB];
    unsigned long dr6;
};

/*
 * The trampolines' interface (below): in, out and the code, on a page of
 * their own that user runs map for CPL3 (the layout is the assembly's);
 * and the stack pointer to return on.
 */
struct diff_io {
    struct diff_regs in, out;
    void (*code)(void);
};
static union {
    struct diff_io io;
    uint8_t page[PAGE_SIZE];
} diff_io_page __page_bss __used;
#define diff_in (diff_io_page.io.in)
#define diff_out (diff_io_page.io.out)
#define diff_code (diff_io_page.io.code)
BUILD_BUG_ON(offsetof(struct diff_io, out) != sizeof(struct diff_regs));
BUILD_BUG_ON(offsetof(struct diff_io, code) != 2 * sizeof(struct diff_regs));

unsigned long diff_saved_sp;
void diff_enter(void);
unsigned long diff_user_enter(unsigned long);
extern const char diff_exit[];

static struct diff_outcome *cur;
static uint8_t snap[3][DIFF_PAGES][PAGE_SIZE];

/*
 * diff_enter(): saves the callee-saved registers and the stack pointer,
 * loads diff_in, calls diff_code, and stores the registers and flags it
 * ended with in diff_out, TF cleared before returning.  An exception that
 * ends the run resumes at diff_exit, on the saved stack.
 *
 * diff_user_enter() does the same at CPL3 (exec_user() calls it, in user
 * text): exec_user_return restores the callee-saved registers, and an
 * exception that ends the run goes there too (user_abort()).
 */
#ifdef __x86_64__
#define DIFF_IN  "diff_io_page(%rip)"
#define DIFF_OUT "diff_io_page+128(%rip)"
#define DIFF_CODE_PTR "diff_io_page+256(%rip)"
#define DIFF_RUN                                \
     "lea " DIFF_IN ", %rax\n\t"                \
     "pushq 120(%rax)\n\t"                      \
     "mov 8(%rax), %rbx\n\t"                    \
     "mov 16(%rax), %rcx\n\t"                   \
     "mov 24(%rax), %rdx\n\t"                   \
     "mov 32(%rax), %rsi\n\t"                   \
     "mov 40(%rax), %rdi\n\t"                   \
     "mov 48(%rax), %rbp\n\t"                   \
     "mov 56(%rax), %r8\n\t"                    \
     "mov 64(%rax), %r9\n\t"                    \
     "mov 72(%rax), %r10\n\t"                   \
     "mov 80(%rax), %r11\n\t"                   \
     "mov 88(%rax), %r12\n\t"                   \
     "mov 96(%rax), %r13\n\t"                   \
     "mov 104(%rax), %r14\n\t"                  \
     "mov 112(%rax), %r15\n\t"                  \
     "mov 0(%rax), %rax\n\t"                    \
     "popfq\n\t"                                \
     "call *" DIFF_CODE_PTR "\n\t"              \
     "pushfq\n\t"                               \
     "push %rax\n\t"                            \
     "lea " DIFF_OUT ", %rax\n\t"               \
     "mov %rbx, 8(%rax)\n\t"                    \
     "mov %rcx, 16(%rax)\n\t"                   \
     "mov %rdx, 24(%rax)\n\t"                   \
     "mov %rsi, 32(%rax)\n\t"                   \
     "mov %rdi, 40(%rax)\n\t"                   \
     "mov %rbp, 48(%rax)\n\t"                   \
     "mov %r8, 56(%rax)\n\t"                    \
     "mov %r9, 64(%rax)\n\t"                    \
     "mov %r10, 72(%rax)\n\t"                   \
     "mov %r11, 80(%rax)\n\t"                   \
     "mov %r12, 88(%rax)\n\t"                   \
     "mov %r13, 96(%rax)\n\t"                   \
     "mov %r14, 104(%rax)\n\t"                  \
     "mov %r15, 112(%rax)\n\t"                  \
     "popq 0(%rax)\n\t"                         \
     "popq 120(%rax)\n\t"                       \
     "pushq $2\n\t"                             \
     "popfq\n\t"
BUILD_BUG_ON(sizeof(struct diff_regs) != 128);

asm (".pushsection .text\n\t"
     ".globl diff_enter\n"
     "diff_enter:\n\t"
     "push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n\t"
     "mov %rsp, diff_saved_sp(%rip)\n\t"
     DIFF_RUN
     ".globl diff_exit\n"
     "diff_exit:\n\t"
     "mov diff_saved_sp(%rip), %rsp\n\t"
     "pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n\t"
     "ret\n\t"
     ".popsection");
#else
#define DIFF_RUN                                \
     "mov $diff_io_page, %eax\n\t"              \
     "pushl 28(%eax)\n\t"                       \
     "mov 4(%eax), %ebx\n\t"                    \
     "mov 8(%eax), %ecx\n\t"                    \
     "mov 12(%eax), %edx\n\t"                   \
     "mov 16(%eax), %esi\n\t"                   \
     "mov 20(%eax), %edi\n\t"                   \
     "mov 24(%eax), %ebp\n\t"                   \
     "mov 0(%eax), %eax\n\t"                    \
     "popfl\n\t"                                \
     "call *diff_io_page+64\n\t"                \
     "pushfl\n\t"                               \
     "push %eax\n\t"                            \
     "mov $diff_io_page+32, %eax\n\t"           \
     "mov %ebx, 4(%eax)\n\t"                    \
     "mov %ecx, 8(%eax)\n\t"                    \
     "mov %edx, 12(%eax)\n\t"                   \
     "mov %esi, 16(%eax)\n\t"                   \
     "mov %edi, 20(%eax)\n\t"                   \
     "mov %ebp, 24(%eax)\n\t"                   \
     "popl 0(%eax)\n\t"                         \
     "popl 28(%eax)\n\t"                        \
     "pushl $2\n\t"                             \
     "popfl\n\t"
BUILD_BUG_ON(sizeof(struct diff_regs) != 32);

asm (".pushsection .text\n\t"
     ".globl diff_enter\n"
     "diff_enter:\n\t"
     "push %ebx; push %ebp; push %esi; push %edi\n\t"
     "mov %esp, diff_saved_sp\n\t"
     DIFF_RUN
     ".globl diff_exit\n"
     "diff_exit:\n\t"
     "mov diff_saved_sp, %esp\n\t"
     "pop %edi; pop %esi; pop %ebp; pop %ebx\n\t"
     "ret\n\t"
     ".popsection");
#endif

asm (".pushsection .user.text, \"ax\", @progbits\n\t"
     ".globl diff_user_enter\n"
     "diff_user_enter:\n\t"
     DIFF_RUN
     "ret\n\t"
     ".popsection");

/* A #DB: noted, and the run goes on past it (RF for a fault-type one). */
static bool db_hook(struct cpu_regs *regs)
{
    if ( cur->nr_db < DIFF_MAX_DB )
    {
        cur->db[cur->nr_db].ip = regs->ip;
        cur->db[cur->nr_db].dr6 = last_exc.dr6;
    }
    cur->nr_db++;
    regs->flags |= X86_EFLAGS_RF;
    return true;
}

/* Any other exception ends the run: noted with the registers it saw. */
static bool end_hook(struct cpu_regs *regs)
{
    struct diff_regs *o = &cur->regs;

    cur->fault = true;
    cur->vector = last_exc.vector;
    cur->ec = X86_EXC_HAVE_EC & (1u << last_exc.vector) ? regs->error_code
                                                          : 0;
    cur->ip = regs->ip;
    cur->cr2 = last_exc.cr2;
    o->ax = regs->ax; o->bx = regs->bx; o->cx = regs->cx; o->dx = regs->dx;
    o->si = regs->si; o->di = regs->di; o->bp = regs->bp;
#ifdef __x86_64__
    o->r8 = regs->r8; o->r9 = regs->r9; o->r10 = regs->r10;
    o->r11 = regs->r11; o->r12 = regs->r12; o->r13 = regs->r13;
    o->r14 = regs->r14; o->r15 = regs->r15;
#endif
    o->flags = regs->flags;

    /* At CPL3: back to exec_user(), which says the run did not return. */
    if ( user_abort(regs) )
        return true;

#ifdef __x86_64__
    regs->sp = diff_saved_sp;
#endif
    regs->ip = (unsigned long)diff_exit;
    regs->flags &= ~(X86_EFLAGS_TF | X86_EFLAGS_IF);
    return true;
}

/* A DIFF_BP_RESUMES case's #BP: noted with its frame, and the run goes on. */
static bool bp_hook(struct cpu_regs *regs)
{
    cur->nr_bp++;
    cur->bp_ip = regs->ip;
    cur->bp_flags = regs->flags;
    return true;
}

static const unsigned int end_vectors[] = {
    X86_EXC_DE, X86_EXC_BP, X86_EXC_OF, X86_EXC_BR, X86_EXC_UD, X86_EXC_NM,
    X86_EXC_TS, X86_EXC_NP, X86_EXC_SS, X86_EXC_GP, X86_EXC_PF, X86_EXC_MF,
    X86_EXC_AC, X86_EXC_XM,
};

static void hooks(const struct diff_case *c, bool on)
{
    unsigned int i;

    set_trap_hook(X86_EXC_DB, on ? db_hook : NULL);
    for ( i = 0; i < ARRAY_SIZE(end_vectors); i++ )
        set_trap_hook(end_vectors[i], on ? end_hook : NULL);
    if ( on && (c->flags & DIFF_BP_RESUMES) )
        set_trap_hook(X86_EXC_BP, bp_hook);
}

void diff_map(unsigned int p, bool present, bool writable)
{
    intpte_t *pte = l1e_of(diff_mem[p]);

    *pte = (*pte & ~(intpte_t)(_PAGE_PRESENT | _PAGE_RW)) |
           (present ? _PAGE_PRESENT : 0) | (writable ? _PAGE_RW : 0);
    invlpg(diff_mem[p]);
}

/*
 * For a user run: diff_mem and the trampoline's page are mapped for CPL3
 * only while it runs, so that the harness never touches a user page (SMAP).
 */
static void user_pages(bool user)
{
    unsigned int p;

    for ( p = 0; p < DIFF_PAGES; p++ )
        set_user_page(diff_mem[p], user);
    set_user_page(&diff_io_page, user);
}

/* What reset_mem() fills byte i of page p with. */
static uint8_t pattern(unsigned int p, unsigned int i)
{
    return i * 7 + p * 31 + 3;
}

static void reset_mem(void)
{
    unsigned int p, i;

    for ( p = 0; p < DIFF_PAGES; p++ )
    {
        diff_map(p, true, true);
        for ( i = 0; i < PAGE_SIZE; i++ )
            diff_mem[p][i] = pattern(p, i);
    }
}

/* What the tracer said of a watched run, taken before the harness reads. */
static struct {
    struct xen_rshadow_record r[64];
    unsigned int nr;
    uint32_t watch_flags;
    struct xen_rshadow_stats before, after;
    uint8_t start[PAGE_SIZE];   /* the watched page as the run began */
} tr;

/*
 * One run; watched with `steps` steps unless steps < 0, the tracer's
 * records, statistics and watch flags then taken into tr and the watch
 * removed, so that the harness's own reads of diff_mem are not watched.
 */
static void run_once(const struct diff_case *c, struct diff_outcome *o,
                     int steps)
{
    unsigned long flags = read_flags(), dr7;

    memset(o, 0, sizeof(*o));
    reset_mem();
    write_dr6(X86_DR6_DEFAULT);
    if ( c->setup )
        c->setup();
    /*
     * What the run starts from: read before the watch is on (it would
     * record these reads), and past any breakpoint setup() set on it.
     */
    dr7 = read_dr7();
    write_dr7(X86_DR7_DEFAULT);
    memcpy(tr.start, diff_mem[DIFF_WATCHED], PAGE_SIZE);
    write_dr7(dr7);
    if ( steps >= 0 )
    {
        rshadow_watch_only(virt_to_gfn(diff_mem[DIFF_WATCHED]), c->access,
                           steps, "diff_mem's watched page");
        if ( rshadow_stats(&tr.before) )
            memset(&tr.before, 0xff, sizeof(tr.before));
    }

    cur = o;
    diff_in = c->in;
    diff_in.flags |= 2;
    diff_in.flags &= ~X86_EFLAGS_IF;
    diff_code = c->code;
    asm volatile ("cli");
    if ( c->flags & DIFF_USER )
        user_pages(true);
    hooks(c, true);
    if ( c->flags & DIFF_USER )
        exec_user(diff_user_enter, 0, NULL);
    else
        diff_enter();
    hooks(c, false);
    if ( c->flags & DIFF_USER )
        user_pages(false);
    if ( !o->fault )
        o->regs = diff_out;
    o->dr6 = read_dr6();

    if ( c->cleanup )
        c->cleanup();
    if ( steps >= 0 )
    {
        tr.nr = rshadow_read_all(tr.r, ARRAY_SIZE(tr.r));
        tr.watch_flags = rshadow_watch_flags(
            virt_to_gfn(diff_mem[DIFF_WATCHED]));
        if ( rshadow_stats(&tr.after) )
            memset(&tr.after, 0, sizeof(tr.after));
        rshadow_reset();
    }
    /* Readable for the comparison, whatever setup() did. */
    for ( unsigned int p = 0; p < DIFF_PAGES; p++ )
        diff_map(p, true, true);
    asm volatile ("push %0; popf" :: "r" (flags) : "memory", "cc");
}

static const char *const reg_names[] = {
    "ax", "bx", "cx", "dx", "si", "di", "bp",
#ifdef __x86_64__
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
#endif
    "flags",
};

/* A difference, printed; diff_run_all() decides what it means. */
#define diff_note(fmt, ...) printk("  difference: " fmt, ##__VA_ARGS__)

/* Prints the first difference between a (unwatched) and b; true if none. */
static bool same(const char *name, const char *how,
                 const struct diff_outcome *a, const struct diff_outcome *b,
                 const uint8_t (*ma)[PAGE_SIZE], const uint8_t (*mb)[PAGE_SIZE])
{
    const unsigned long *ra = (const unsigned long *)&a->regs;
    const unsigned long *rb = (const unsigned long *)&b->regs;
    unsigned int i, p;

    BUILD_BUG_ON(sizeof(a->regs) != sizeof(reg_names) / sizeof(reg_names[0]) *
                 sizeof(unsigned long));

#define DIFF(what, fmt, x, y)                                           \
    do {                                                                \
        diff_note("%s, %s: %s " fmt " unwatched, " fmt " watched\n",  \
                    name, how, what, x, y);                             \
        return false;                                                   \
    } while ( 0 )

    if ( a->fault != b->fault )
        DIFF("exception", "%s", a->fault ? "raised" : "none",
             b->fault ? "raised" : "none");
    if ( a->fault )
    {
        if ( a->vector != b->vector )
            DIFF("vector", "%lu", a->vector, b->vector);
        if ( a->ec != b->ec )
            DIFF("error code", "%#lx", a->ec, b->ec);
        if ( a->ip != b->ip )
            DIFF("exception RIP", "%#lx", a->ip, b->ip);
        if ( a->cr2 != b->cr2 )
            DIFF("CR2", "%#lx", a->cr2, b->cr2);
    }
    for ( i = 0; i < ARRAY_SIZE(reg_names); i++ )
        if ( ra[i] != rb[i] )
            DIFF(reg_names[i], "%#lx", ra[i], rb[i]);
    if ( a->nr_bp != b->nr_bp )
        DIFF("#BPs taken", "%u", a->nr_bp, b->nr_bp);
    if ( a->nr_bp && a->bp_ip != b->bp_ip )
        DIFF("#BP RIP", "%#lx", a->bp_ip, b->bp_ip);
    if ( a->nr_bp && a->bp_flags != b->bp_flags )
        DIFF("#BP frame's EFLAGS", "%#lx", a->bp_flags, b->bp_flags);
    if ( a->nr_db != b->nr_db )
        DIFF("#DBs taken", "%u", a->nr_db, b->nr_db);
    for ( i = 0; i < a->nr_db && i < DIFF_MAX_DB; i++ )
    {
        if ( a->db[i].ip != b->db[i].ip )
        {
            printk("  #DB %u:\n", i);
            DIFF("#DB RIP", "%#lx", a->db[i].ip, b->db[i].ip);
        }
        if ( a->db[i].dr6 != b->db[i].dr6 )
        {
            printk("  #DB %u at %#lx:\n", i, a->db[i].ip);
            DIFF("#DB DR6", "%#lx", a->db[i].dr6, b->db[i].dr6);
        }
    }
    if ( a->dr6 != b->dr6 )
        DIFF("DR6 at the end", "%#lx", a->dr6, b->dr6);
    for ( p = 0; p < DIFF_PAGES; p++ )
        for ( i = 0; i < PAGE_SIZE; i++ )
            if ( ma[p][i] != mb[p][i] )
            {
                printk("  diff_mem[%u][%#x]:\n", p, i);
                DIFF("memory byte", "%#x", ma[p][i], mb[p][i]);
            }
#undef DIFF
    return true;
}

/* Where the framework's handler for a vector starts (arch/x86/entry.S). */
extern const uint8_t exc_stubs[];

/* After a watched run: nothing switched off, no write recorded unmade. */
static bool tracer_ok(const struct diff_case *c, const char *how,
                      const struct diff_outcome *native, unsigned int steps)
{
    const struct xen_rshadow_record *r = tr.r;
    unsigned int nr = tr.nr, i, accesses = 0;
    uint32_t wf = tr.watch_flags;
    uint64_t errors = tr.after.errors - tr.before.errors;
    bool native_run = false;

    if ( wf )
    {
        diff_note("%s, %s: the watch is listed with flags %#x\n", c->name,
                    how, wf);
        return false;
    }
    for ( i = 0; i < nr; i++ )
    {
        const struct xen_rshadow_record *x = &r[i];
        unsigned long off = x->linear - DIFF_VA(0, 0);

        if ( x->kind == XEN_RSHADOW_REC_ERROR )
        {
            if ( (c->flags & DIFF_NATIVE) && (x->flags & XEN_RSHADOW_REC_NATIVE) )
            {
                native_run = true;
                continue;
            }
            diff_note("%s, %s: an error record (reason %u) at %#lx\n",
                        c->name, how, x->extra, (unsigned long)x->rip);
            rshadow_dump(r, nr);
            return false;
        }
        if ( x->kind == XEN_RSHADOW_REC_READ || x->kind == XEN_RSHADOW_REC_WRITE ||
             x->kind == XEN_RSHADOW_REC_RMW || x->kind == XEN_RSHADOW_REC_EXEC )
            accesses++;
        /* A recorded write is in memory at the end (little-endian). */
        if ( (x->kind == XEN_RSHADOW_REC_WRITE || x->kind == XEN_RSHADOW_REC_RMW) &&
             (x->flags & XEN_RSHADOW_REC_VALUE) && !(c->flags & DIFF_REWRITES) &&
             x->size <= 8 && off + x->size <= sizeof(diff_mem) )
        {
            uint64_t v = 0;
            unsigned int b;

            for ( b = 0; b < x->size; b++ )
                v |= (uint64_t)((const uint8_t *)diff_mem)[off + b] << (8 * b);
            if ( v != x->value )
            {
                diff_note("%s, %s: a write of %#llx recorded at %#lx, memory holds %#llx\n",
                            c->name, how, (unsigned long long)x->value,
                            (unsigned long)x->linear, (unsigned long long)v);
                rshadow_dump(r, nr);
                return false;
            }
        }
    }
    /*
     * Every byte of the watched page that the run changed (from what it
     * held after setup()) is in a recorded write, unless records were
     * dropped or it ran natively.
     */
    if ( !native_run && tr.after.dropped == tr.before.dropped )
        for ( i = 0; i < PAGE_SIZE; i++ )
        {
            unsigned long va = DIFF_VA(DIFF_WATCHED, i);
            unsigned int j;

            if ( diff_mem[DIFF_WATCHED][i] == tr.start[i] )
                continue;
            for ( j = 0; j < nr; j++ )
                if ( (r[j].kind == XEN_RSHADOW_REC_WRITE ||
                      r[j].kind == XEN_RSHADOW_REC_RMW) &&
                     va >= r[j].linear && va - r[j].linear < r[j].size )
                    break;
            if ( j == nr )
            {
                diff_note("%s, %s: diff_mem[%u][%#x] written, and no write recorded\n",
                          c->name, how, DIFF_WATCHED, i);
                rshadow_dump(r, nr);
                return false;
            }
        }

    /* The trace follows the window into the exception's handler. */
    if ( steps && (c->flags & DIFF_INTO_HANDLER) && native->fault )
    {
        unsigned long handler = (unsigned long)&exc_stubs[native->vector * 16];

        for ( i = 0; i < nr; i++ )
            if ( r[i].kind == XEN_RSHADOW_REC_STEP && r[i].linear == handler )
                break;
        if ( i == nr )
        {
            diff_note("%s, %s: no step recorded into the handler of vector %lu at %#lx\n",
                      c->name, how, native->vector, handler);
            rshadow_dump(r, nr);
            return false;
        }
    }

    if ( errors && !(c->flags & DIFF_NATIVE) )
    {
        diff_note("%s, %s: %llu errors counted\n", c->name, how,
                    (unsigned long long)errors);
        return false;
    }
    /* An instruction that faults natively may have accessed nothing. */
    if ( !accesses && !native->fault &&
         !(c->flags & (DIFF_NO_ACCESS | DIFF_NATIVE)) &&
         tr.after.dropped == tr.before.dropped )
    {
        diff_note("%s, %s: no access recorded\n", c->name, how);
        rshadow_dump(r, nr);
        return false;
    }
    return true;
}

bool diff_run(const struct diff_case *c, unsigned int steps)
{
    static struct diff_outcome o[4];
    char how[32];
    bool ok;

    rshadow_reset();
    run_once(c, &o[0], -1);
    memcpy(snap[0], diff_mem, sizeof(diff_mem));
    run_once(c, &o[1], -1);
    if ( !same(c->name, "run twice unwatched", &o[0], &o[1], snap[0],
               (const uint8_t (*)[PAGE_SIZE])diff_mem) )
    {
        xtf_error("%s: the platform does not repeat itself\n", c->name);
        return false;
    }

    run_once(c, &o[2], 0);
    memcpy(snap[1], diff_mem, sizeof(diff_mem));
    ok = same(c->name, "watched", &o[0], &o[2], snap[0], snap[1]) &&
         tracer_ok(c, "watched", &o[0], 0);

    run_once(c, &o[3], steps);
    memcpy(snap[2], diff_mem, sizeof(diff_mem));
    snprintf(how, sizeof(how), "watched, %u steps", steps);
    ok = same(c->name, how, &o[0], &o[3], snap[0], snap[2]) &&
         tracer_ok(c, how, &o[0], steps) && ok;

    return ok;
}

static bool on_amd(void)
{
    uint32_t a, b, c, d;

    cpuid(0, &a, &b, &c, &d);
    return b == 0x68747541; /* "Auth" of AuthenticAMD */
}

bool diff_on_qemu(void)
{
    uint32_t brand[4];

    cpuid(0x80000000, &brand[0], &brand[1], &brand[2], &brand[3]);
    if ( brand[0] < 0x80000002 )
        return false;
    cpuid(0x80000002, &brand[0], &brand[1], &brand[2], &brand[3]);
    return !memcmp(brand, "QEMU", 4);
}

/* Whether c's documented difference applies on this CPU. */
static bool known_here(const struct diff_case *c)
{
    return c->known &&
           ((c->flags & (on_amd() ? DIFF_KNOWN_AMD : DIFF_KNOWN_INTEL)) ||
            ((c->flags & DIFF_KNOWN_QEMU) && diff_on_qemu()));
}

unsigned int diff_run_all(const struct diff_case *cases, unsigned int nr,
                          unsigned int steps)
{
    unsigned int i, bad = 0;

    for ( i = 0; i < nr; i++ )
    {
        const struct diff_case *c = &cases[i];
        bool known = known_here(c), ok;

        ok = diff_run(c, steps);

        if ( known && ok )
        {
            xtf_failure("%s: documented as different (%s), yet the same\n",
                        c->name, c->known);
            bad++;
        }
        else if ( known )
            printk("  %s: differs, as documented: %s\n", c->name, c->known);
        else
        {
            printk("  %s: %s\n", c->name, ok ? "same" : "DIFFERS");
            if ( !ok )
            {
                xtf_failure("%s: differs from native\n", c->name);
                bad++;
            }
        }
    }
    return bad;
}
