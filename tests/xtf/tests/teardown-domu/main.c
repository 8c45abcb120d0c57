/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/teardown-domu/main.c
 * @brief A domain shut down and destroyed while rust-shadow watches it and
 *        its vCPU is mid-step: Xen survives, and gets back every page.
 *
 * dom0 builds a small HVM domU on shadow paging (domu.h) whose one
 * vCPU, in 32-bit protected mode with paging off, writes a data frame, runs
 * STEPS_PER_WRITE instructions, and writes again, for ever.  With that
 * frame watched for writes with a budget of 4096 steps, every write opens
 * a stepping window that the next write restarts before it runs out: from
 * the first write on, the vCPU is always inside a window.  The statistics
 * prove it: after w writes, steps - (w - 1) * STEPS_PER_WRITE lies in
 * [0, STEPS_PER_WRITE), and the trace shows the write and the steps after
 * it, instruction by instruction.
 *
 * Then, each from the same starting point:
 *  - shutdown (SCHEDOP_remote_shutdown) and destroy mid-step;
 *  - destroy, with rust-shadow enabled and the frame watched without
 *    steps (accesses recorded, no window), no shutdown first;
 *  - shutdown and destroy, or destroy alone, mid-step, again and again,
 *    for slow leaks;
 *  - DISABLE, of a watch without steps, mid-step with the domU paused, and
 *    mid-step with it running: the guest runs on without a trace of the
 *    stepping (no TF in its RFLAGS, no crash), then destroy.
 * After each, the domain must leave Xen's domain list, and Xen's free
 * pages (XEN_SYSCTL_physinfo) must be exactly what they were before the
 * first domU was created.
 */
#include <xtf.h>
#include "domu.h"
#include <xtf/rshadow.h>
#include <xtf/xenmem.h>

#include <public/hvm/save.h>
#include <public/sched.h>

const char test_title[] = "Teardown of a watched, stepping domU";

/* The domU: 4 MiB of RAM, code at frame 1, the watched data at frame 2. */
#define DOMU_PAGES      1024
#define DOMU_SHADOW_MB  4
#define CODE_GFN        1
#define DATA_GFN        2
#define DELAY           100
/* inc, mov, DELAY x (dec, jnz), out, jmp: the instructions between writes. */
#define STEPS_PER_WRITE (2 * DELAY + 4)
#define BUDGET          XEN_RSHADOW_MAX_STEPS
#define RING            64
#define CYCLES          4
/* A port no part of Xen emulates and its I/O bitmap intercepts. */
#define EXIT_PORT       0x84

/*
 * The domU's code, 32-bit, position independent: loaded at CODE_GFN and
 * entered at its first byte.
 */
asm (".pushsection .rodata, \"a\", @progbits\n\t"
     ".code32\n"
     "domu_code:\n\t"
     "mov  $" STR(DATA_GFN) " << 12, %edi\n\t"
     "xor  %eax, %eax\n"
     "domu_write:\n\t"
     "mov  %eax, (%edi)\n\t"            /* The watched write. */
     "inc  %eax\n\t"
     "mov  $" STR(DELAY) ", %ecx\n"
     "1:\n\t"
     "dec  %ecx\n\t"
     "jnz  1b\n\t"
     /*
      * An exit to Xen on every round, which Xen completes itself (no device
      * model: the write is dropped).  Bochs 3.0 does not interrupt a VMX
      * guest that never exits: unwatched, this loop would keep dom0 from
      * ever running again on its one CPU.  Not port 0x80 or 0xed: Xen's
      * I/O bitmap lets those through without an exit.
      */
     "out  %al, $" STR(EXIT_PORT) "\n\t"
     "jmp  domu_write\n"
     "domu_code_end:\n\t"
#ifdef __x86_64__
     ".code64\n\t"
#endif
     ".popsection");

extern const uint8_t domu_code[], domu_write[], domu_code_end[];

#define GUEST_ENTRY     (CODE_GFN << PAGE_SHIFT)
#define GUEST_WRITE     (GUEST_ENTRY + (unsigned long)(domu_write - domu_code))
#define GUEST_END       (GUEST_ENTRY + (unsigned long)(domu_code_end - domu_code))

enum mode {
    STEP_SHUTDOWN,      /* stepping; shutdown, then destroy */
    STEP_DESTROY,       /* stepping; destroy alone */
    WATCH_DESTROY,      /* watched without steps; destroy alone */
    STEP_DISABLE,       /* stepping; DISABLE, run on, then destroy */
    STEP_DISABLE_PAUSED,/* the same, DISABLE with the domU paused */
    WATCH_DISABLE,      /* watched without steps; DISABLE, run on, destroy */
};

static const char *const mode_names[] = {
    [STEP_SHUTDOWN] = "shutdown+destroy mid-step",
    [STEP_DESTROY]  = "destroy mid-step, no shutdown",
    [WATCH_DESTROY] = "destroy with a watch, not stepping",
    [STEP_DISABLE]  = "disable mid-step, then destroy",
    [STEP_DISABLE_PAUSED] = "disable mid-step while paused, then destroy",
    [WATCH_DISABLE] = "disable a watch without steps, then destroy",
};

static long free_before;
static bool debug;

#define DBG(fmt, ...) do { if ( debug ) printk("  [" fmt "]\n", ##__VA_ARGS__); } while ( 0 )
static bool can_step = true;

static long stats_of(unsigned int domid, struct xen_rshadow_stats *s)
{
    struct xen_domctl_rshadow_op op = { .op = XEN_DOMCTL_RSHADOW_OP_GET_STATS };
    long rc = rshadow_op_on(domid, &op);

    if ( !rc )
        *s = op.u.stats;
    return rc;
}

static void yield(void)
{
    hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, NULL);
}

/*
 * Lets the domU run (dom0 has one vCPU: it yields) until it has made
 * `writes` more watched writes; false if it does not.
 */
static bool run_until(unsigned int domid, uint64_t writes,
                      struct xen_rshadow_stats *s)
{
    uint64_t start;
    unsigned int i;

    if ( stats_of(domid, s) )
        return false;
    start = s->emulated;
    for ( i = 0; i < 200000; i++ )
    {
        yield();
        if ( stats_of(domid, s) )
            return false;
        if ( s->emulated >= start + writes )
            return true;
        if ( !(i % 1000) )
            DBG("d%u: %u yields, %llu writes %llu steps", domid, i,
                (unsigned long long)s->emulated,
                (unsigned long long)s->steps);
    }
    return false;
}

/* With the domU paused: its statistics say it is inside a window. */
static bool check_in_window(unsigned int domid, const char *when)
{
    struct xen_rshadow_stats s;
    uint64_t base;
    long rc = stats_of(domid, &s);

    if ( rc )
    {
        xtf_error("d%u: GET_STATS %s: %s\n", domid, when, domu_errname(rc));
        return false;
    }
    printk("  d%u %s: %llu writes, %llu steps, %llu records, %llu dropped, %llu errors\n",
           domid, when, (unsigned long long)s.emulated,
           (unsigned long long)s.steps, (unsigned long long)s.records,
           (unsigned long long)s.dropped, (unsigned long long)s.errors);

    base = (s.emulated - 1) * STEPS_PER_WRITE;
    if ( s.emulated < 2 || s.errors ||
         s.steps < base || s.steps >= base + STEPS_PER_WRITE )
    {
        xtf_failure("d%u %s: %llu writes and %llu steps: not one window per write, each restarted by the next\n",
                    domid, when, (unsigned long long)s.emulated,
                    (unsigned long long)s.steps);
        return false;
    }
    return true;
}

/* The first records: the first write, then the steps after it, in order. */
static void check_trace(unsigned int domid)
{
    static struct xen_rshadow_record r[RING];
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_READ_TRACE,
        .u.trace = { .vcpu = 0, .nr = ARRAY_SIZE(r) },
    };
    unsigned int i, n;
    long rc;

    set_xen_guest_handle(op.u.trace.buf, r);
    if ( (rc = rshadow_op_on(domid, &op)) )
        return xtf_error("d%u: READ_TRACE: %s\n", domid, domu_errname(rc));

    /* The ring kept the oldest records: a write, then steps 0, 1, ... */
    n = op.u.trace.nr;
    if ( n != RING || r[0].kind != XEN_RSHADOW_REC_WRITE ||
         r[0].gfn != DATA_GFN || r[0].rip != GUEST_WRITE || r[0].value != 0 )
        goto bad;
    for ( i = 1; i < n; i++ )
        if ( r[i].kind != XEN_RSHADOW_REC_STEP || r[i].extra != i - 1 ||
             r[i].rip < GUEST_ENTRY || r[i].rip >= GUEST_END ||
             r[i].seq != i )
            goto bad;
    if ( !op.u.trace.lost )
        goto bad;
    return;

 bad:
    xtf_failure("d%u: trace is not a write and the steps after it (%u records, %llu lost)\n",
                domid, n, (unsigned long long)op.u.trace.lost);
    for ( i = 0; i < n && i < 8; i++ )
        rshadow_print_record(&r[i]);
}

/* After DISABLE: the vCPU runs on in its loop, TF clear, not crashed. */
static void check_runs_on(unsigned int domid)
{
    static struct hvm_hw_cpu cpu;
    struct xen_domctl_getdomaininfo info;
    struct xen_domctl op = {
        .cmd = XEN_DOMCTL_gethvmcontext_partial,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = domid,
    };
    uint64_t t0;
    unsigned int i;
    long rc;

    if ( (rc = domu_info(domid, &info)) )
        return xtf_error("d%u: getdomaininfo: %s\n", domid, domu_errname(rc));
    t0 = info.cpu_time;
    /* A little native running is enough: it would crash on a stray TF. */
    for ( i = 0; i < 2000 && info.cpu_time < t0 + 1000000; i++ )
    {
        if ( i < 4 )
            DBG("d%u: yield %u, cpu_time %llu", domid, i,
                (unsigned long long)info.cpu_time);
        yield();
        if ( (rc = domu_info(domid, &info)) )
            return xtf_error("d%u: getdomaininfo: %s\n", domid,
                             domu_errname(rc));
    }
    DBG("d%u: ran %llu ns in %u yields after DISABLE", domid,
        (unsigned long long)(info.cpu_time - t0), i);
    if ( info.flags & XEN_DOMINF_shutdown )
        return xtf_failure("d%u: shut down (reason %u) after DISABLE\n",
                           domid, (info.flags >> XEN_DOMINF_shutdownshift) &
                           XEN_DOMINF_shutdownmask);
    if ( info.cpu_time < t0 + 1000000 )
        xtf_failure("d%u: ran %llu ns in %u yields after DISABLE\n", domid,
                    (unsigned long long)(info.cpu_time - t0), i);

    if ( domu_pause(domid) )
        return xtf_error("d%u: cannot pause\n", domid);
    op.u.hvmcontext_partial.type = HVM_SAVE_CODE(CPU);
    op.u.hvmcontext_partial.bufsz = sizeof(cpu);
    set_xen_guest_handle(op.u.hvmcontext_partial.buffer, (uint8_t *)&cpu);
    rc = hypercall1(__HYPERVISOR_domctl, &op);
    if ( rc )
        xtf_error("d%u: CPU record: %s\n", domid, domu_errname(rc));
    else if ( (cpu.rflags & X86_EFLAGS_TF) || cpu.rip < GUEST_ENTRY ||
              cpu.rip >= GUEST_END )
        xtf_failure("d%u: after DISABLE: rip %#llx rflags %#llx\n", domid,
                    (unsigned long long)cpu.rip,
                    (unsigned long long)cpu.rflags);
    if ( domu_unpause(domid) )
        xtf_error("d%u: cannot unpause\n", domid);
}

/* One domU, from creation to its last page back. */
static void cycle(enum mode mode, unsigned int n)
{
    const struct domu_config cfg = {
        .ram_pages = DOMU_PAGES,
        .shadow_mb = DOMU_SHADOW_MB,
        .blob = domu_code,
        .blob_size = domu_code_end - domu_code,
        .load_gfn = CODE_GFN,
        .load_off = 0,
        .entry = GUEST_ENTRY,
    };
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_ENABLE,
        .u.enable.ring_records = RING,
    };
    bool stepping = mode != WATCH_DESTROY && mode != WATCH_DISABLE;
    struct xen_domctl_getdomaininfo info;
    struct xen_rshadow_stats s;
    unsigned int domid;
    long rc, after, live;

    printk("cycle %u: %s\n", n, mode_names[mode]);
    if ( stepping && !can_step )
        return;

    if ( (rc = domu_create(&cfg, &domid)) )
        return xtf_error("cycle %u: cannot build the domU: %s\n", n,
                         domu_errname(rc));

    if ( (rc = rshadow_op_on(domid, &op)) )
    {
        xtf_error("d%u: ENABLE: %s\n", domid, domu_errname(rc));
        goto destroy;
    }
    op = (struct xen_domctl_rshadow_op){
        .op = XEN_DOMCTL_RSHADOW_OP_ADD_WATCH,
        .u.watch = {
            .first_gfn = DATA_GFN,
            .nr_frames = 1,
            .access = XEN_RSHADOW_ACCESS_W,
            .steps = stepping ? BUDGET : 0,
        },
    };
    rc = rshadow_op_on(domid, &op);
    if ( rc == -EOPNOTSUPP && stepping )
    {
        can_step = false;
        xtf_skip("stepping is not available here: the mid-step cases cannot run\n");
        goto destroy;
    }
    if ( rc )
    {
        xtf_error("d%u: ADD_WATCH: %s\n", domid, domu_errname(rc));
        goto destroy;
    }

    /* The measure sees the domU: its RAM at least is taken. */
    live = xen_free_pages();
    printk("  d%u built: free pages %ld\n", domid, live);
    if ( live > free_before - DOMU_PAGES )
        xtf_error("d%u: %ld free pages with the domU built, %ld before: the measure is blind\n",
                  domid, live, free_before);

    if ( domu_unpause(domid) )
    {
        xtf_error("d%u: cannot unpause\n", domid);
        goto destroy;
    }
    if ( !run_until(domid, 3, &s) )
    {
        xtf_failure("d%u: the domU made %llu watched writes, expected 3\n",
                    domid, (unsigned long long)s.emulated);
        goto destroy;
    }

    if ( stepping )
    {
        /* Paused, the statistics stand still: mid-window, by the counts. */
        if ( domu_pause(domid) )
        {
            xtf_error("d%u: cannot pause\n", domid);
            goto destroy;
        }
        check_in_window(domid, "running");
        DBG("trace");
        check_trace(domid);
        DBG("unpause");
        if ( domu_unpause(domid) )
        {
            xtf_error("d%u: cannot unpause\n", domid);
            goto destroy;
        }
        /* Back into its windows before it goes. */
        DBG("run");
        if ( !run_until(domid, 2, &s) )
            xtf_failure("d%u: no more writes after a pause\n", domid);
        DBG("ran");
    }
    else if ( s.steps )
        xtf_failure("d%u: %llu steps with a budget of 0\n", domid,
                    (unsigned long long)s.steps);

    switch ( mode )
    {
    case STEP_SHUTDOWN:
        if ( domu_shutdown(domid, SHUTDOWN_poweroff) )
            xtf_error("d%u: cannot shut down\n", domid);
        else if ( domu_info(domid, &info) ||
                  !(info.flags & XEN_DOMINF_shutdown) )
            xtf_failure("d%u: not shut down after SCHEDOP_remote_shutdown\n",
                        domid);
        else if ( domu_pause(domid) || !check_in_window(domid, "shut down") ||
                  domu_unpause(domid) )
            xtf_failure("d%u: not mid-step when shut down\n", domid);
        break;

    case STEP_DESTROY:
    case WATCH_DESTROY:
        break;

    case STEP_DISABLE:
    case STEP_DISABLE_PAUSED:
    case WATCH_DISABLE:
        if ( mode == STEP_DISABLE_PAUSED && domu_pause(domid) )
            xtf_error("d%u: cannot pause\n", domid);
        op = (struct xen_domctl_rshadow_op){ .op = XEN_DOMCTL_RSHADOW_OP_DISABLE };
        if ( (rc = rshadow_op_on(domid, &op)) )
            xtf_failure("d%u: DISABLE: %s\n", domid, domu_errname(rc));
        DBG("disabled");
        if ( mode == STEP_DISABLE_PAUSED && domu_unpause(domid) )
            xtf_error("d%u: cannot unpause\n", domid);
        else if ( (rc = stats_of(domid, &s)) != -ENXIO )
            xtf_failure("d%u: GET_STATS after DISABLE: %ld, expected -ENXIO\n",
                        domid, rc);
        check_runs_on(domid);
        break;
    }

 destroy:
    DBG("destroy");
    if ( domu_destroy(domid) )
        return xtf_error("d%u: cannot destroy\n", domid);
    if ( !domu_wait_gone(domid) )
        return xtf_failure("d%u: never left Xen's domain list (a reference leaked)\n",
                           domid);

    DBG("settle");
    after = xen_free_pages_settle(free_before);
    printk("  d%u gone: free pages %ld, before %ld (difference %ld)\n", domid,
           after, free_before, after - free_before);
    if ( after != free_before )
        xtf_failure("cycle %u (%s): Xen has %ld free pages, %ld before the domU (difference %ld)\n",
                    n, mode_names[mode], after, free_before,
                    after - free_before);
}

void test_main(void)
{
    unsigned int n = 0, i;

    rshadow_require();
    debug = xtf_cmdline_ulong("debug", 0);

    free_before = xen_free_pages();
    if ( free_before < 0 )
        return xtf_error("XEN_SYSCTL_physinfo: %s\n", domu_errname(free_before));
    printk("Xen's free pages before any domU: %ld\n", free_before);

    /* only=<mode>+1 runs one case, for debugging. */
    i = xtf_cmdline_ulong("only", 0);
    if ( i )
    {
        cycle(i - 1, n++);
        if ( !xtf_has_failed() )
            xtf_success(NULL);
        return;
    }

    cycle(STEP_SHUTDOWN, n++);
    cycle(WATCH_DESTROY, n++);
    for ( i = 0; i < CYCLES; i++ )
        cycle(i & 1 ? STEP_DESTROY : STEP_SHUTDOWN, n++);
    cycle(WATCH_DISABLE, n++);
    cycle(STEP_DISABLE_PAUSED, n++);
    cycle(STEP_DISABLE, n++);

    if ( !xtf_has_failed() )
        xtf_success(NULL);
}
