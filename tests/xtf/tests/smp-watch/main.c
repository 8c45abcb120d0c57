/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/smp-watch/main.c
 * @brief Watched accesses and stepping on two vCPUs at once.
 *
 *  - Both vCPUs write, at the same time, to a watched page of their own and
 *    to a shared watched page, each write stepped for 4 instructions: each
 *    vCPU's trace has every write, in order, each followed by its 4 steps,
 *    and sequence numbers with no gap and no repeat.
 *  - The same with a 16-record ring and no steps: each vCPU keeps its first
 *    16 records intact and counts the rest as dropped.
 *  - vCPU 0 removes and re-adds the watch on vCPU 1's page, and adds and
 *    removes other ranges, while vCPU 1 writes there and is stepped: vCPU 1's
 *    data is intact and its trace stays consistent; the table ends as it
 *    should.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/smp.h>

const char test_title[] = "Watches and steps on two vCPUs";

#define ITERS  100
#define STEPS  4

static unsigned long own[2][PAGE_SIZE / sizeof(unsigned long)] __page_bss;
static unsigned long shared[PAGE_SIZE / sizeof(unsigned long)] __page_bss;
static unsigned long spare[4][PAGE_SIZE / sizeof(unsigned long)] __page_bss;

/* A ring's worth per vCPU: enough for the first phase's records. */
#define RING 1024
static struct xen_rshadow_record rec[2][RING];
static volatile bool go;

#define HALF (ARRAY_SIZE(shared) / 2)

/* A watched write, then STEPS one-byte instructions for its window. */
#define WRITE_THEN_NOPS(ptr, val)                                     \
    asm volatile ("mov %1, (%0)\n\t"                                  \
                  ".rept " STR(STEPS) "; nop; .endr"                  \
                  :: "r" (ptr), "r" (val) : "memory")

static void wait_for_go(void)
{
    while ( !go )
        asm volatile ("pause" ::: "memory");
}

static void writer(unsigned int cpu, void *arg)
{
    unsigned long i;

    (void)arg;
    wait_for_go();
    for ( i = 0; i < ITERS; i++ )
    {
        WRITE_THEN_NOPS(&own[cpu][i], (cpu << 16) | i);
        WRITE_THEN_NOPS(&shared[cpu * HALF + i], (cpu << 16) | i | 0x8000);
    }
}

/* Runs @fn on both vCPUs at once; false (reported) if vCPU 1 won't start. */
static bool run_both(smp_fn_t fn, void *arg)
{
    long rc;

    go = false;
    rc = smp_call(1, fn, arg);
    if ( rc )
    {
        xtf_error("cannot start vCPU 1: %ld\n", rc);
        return false;
    }
    go = true;
    fn(0, arg);
    smp_wait(1);
    return true;
}

static unsigned int read_all(unsigned int cpu, uint64_t *lost)
{
    unsigned int nr = ARRAY_SIZE(rec[cpu]);

    if ( rshadow_read_vcpu(cpu, rec[cpu], &nr, lost) )
    {
        xtf_error("cannot read vCPU %u's trace\n", cpu);
        return 0;
    }
    return nr;
}

static void dump(unsigned int cpu, unsigned int nr, unsigned int from)
{
    unsigned int i;

    for ( i = from; i < nr && i < from + 12; i++ )
        rshadow_print_record(&rec[cpu][i]);
}

/* Records from @i on are the write of @val to @addr, then STEPS steps. */
static bool is_window(unsigned int cpu, unsigned int nr, unsigned int i,
                      unsigned long addr, unsigned long val)
{
    const struct xen_rshadow_record *r = &rec[cpu][i];
    unsigned int s;

    if ( i + STEPS >= nr || r->kind != XEN_RSHADOW_REC_WRITE ||
         r->linear != addr || r->value != val || r->vcpu != cpu )
        return false;
    /* The steps are the nops after the write, one byte each. */
    if ( r[1].rip <= r->rip || r[1].rip > r->rip + 4 )
        return false;
    for ( s = 1; s <= STEPS; s++ )
        if ( r[s].kind != XEN_RSHADOW_REC_STEP || r[s].extra != s - 1 ||
             r[s].vcpu != cpu || r[s].linear != r[s].rip + 1 ||
             (s > 1 && r[s].rip != r[s - 1].linear) )
            return false;
    return true;
}

static void concurrent(void)
{
    unsigned int cpu, i, nr;
    uint64_t lost;

    BUILD_BUG_ON(2 * ITERS * (STEPS + 1) > RING);
    if ( rshadow_enable(RING) ||
         rshadow_watch(virt_to_gfn(own), 2, XEN_RSHADOW_ACCESS_W, STEPS) ||
         rshadow_watch(virt_to_gfn(shared), 1, XEN_RSHADOW_ACCESS_W, STEPS) )
        return xtf_error("cannot set up the watches\n");
    if ( !run_both(writer, NULL) )
        return;

    for ( cpu = 0; cpu < 2; cpu++ )
    {
        nr = read_all(cpu, &lost);
        if ( nr != 2 * ITERS * (STEPS + 1) || lost )
        {
            xtf_failure("vCPU %u: %u records, %llu lost; expected %u, none\n",
                        cpu, nr, (unsigned long long)lost,
                        2 * ITERS * (STEPS + 1));
            dump(cpu, nr, 0);
            continue;
        }
        for ( i = 0; i < nr; i++ )
            if ( rec[cpu][i].seq != i )
            {
                xtf_failure("vCPU %u: record %u has sequence number %llu\n",
                            cpu, i, (unsigned long long)rec[cpu][i].seq);
                break;
            }
        for ( i = 0; i < ITERS; i++ )
        {
            unsigned int at = i * 2 * (STEPS + 1);

            if ( !is_window(cpu, nr, at, (unsigned long)&own[cpu][i],
                            (cpu << 16) | i) ||
                 !is_window(cpu, nr, at + STEPS + 1,
                            (unsigned long)&shared[cpu * HALF + i],
                            (cpu << 16) | i | 0x8000) )
            {
                xtf_failure("vCPU %u: iteration %u's records are wrong\n",
                            cpu, i);
                dump(cpu, nr, at);
                break;
            }
        }
        for ( i = 0; i < ITERS; i++ )
            if ( own[cpu][i] != ((cpu << 16) | i) ||
                 shared[cpu * HALF + i] != ((cpu << 16) | i | 0x8000) )
            {
                xtf_failure("vCPU %u: write %u did not land\n", cpu, i);
                break;
            }
    }
    rshadow_disable();
}

static void dropper(unsigned int cpu, void *arg)
{
    volatile unsigned long *p = own[cpu];
    unsigned long i;

    (void)arg;
    wait_for_go();
    for ( i = 0; i < ITERS; i++ )
        p[i] = i + 1000;
}

static void drops(void)
{
    struct xen_rshadow_stats s;
    unsigned int cpu, i, nr;
    uint64_t lost;

    if ( rshadow_enable(16) ||
         rshadow_watch(virt_to_gfn(own), 2, XEN_RSHADOW_ACCESS_W, 0) )
        return xtf_error("cannot set up the watches\n");
    if ( !run_both(dropper, NULL) )
        return;

    for ( cpu = 0; cpu < 2; cpu++ )
    {
        nr = read_all(cpu, &lost);
        if ( nr != 16 || lost != ITERS - 16 )
            xtf_failure("vCPU %u: %u records, %llu lost; expected 16, %u\n",
                        cpu, nr, (unsigned long long)lost, ITERS - 16);
        for ( i = 0; i < nr; i++ )
            if ( rec[cpu][i].seq != i || rec[cpu][i].value != i + 1000 ||
                 rec[cpu][i].linear != (unsigned long)&own[cpu][i] ||
                 rec[cpu][i].vcpu != cpu )
            {
                xtf_failure("vCPU %u: record %u corrupted\n", cpu, i);
                rshadow_print_record(&rec[cpu][i]);
                break;
            }
    }
    if ( rshadow_stats(&s) || s.records != 32 || s.dropped != 2 * (ITERS - 16) )
        xtf_failure("stats: %llu records, %llu dropped; expected 32, %u\n",
                    (unsigned long long)s.records,
                    (unsigned long long)s.dropped, 2 * (ITERS - 16));
    rshadow_disable();
}

#define CHURN_ROUNDS 20
#define CHURN_STEPS  16
#define CHURN_SLOTS  (ARRAY_SIZE(own[1]) - 1)

static volatile bool churn_stop;
static unsigned long churn_last;

/*
 * vCPU 1: writes numbered from 1, until vCPU 0 is done changing watches.
 * Each round also exits to Xen (cpuid): Bochs 3.0 holds an IPI for a CPU
 * in VMX non-root mode until that CPU exits for another reason, so vCPU
 * 0's TLB flushes would otherwise wait on this loop's unwatched stretches.
 */
static void churn_writer(void)
{
    volatile unsigned long *p = own[1];
    unsigned int eax, ebx, ecx, edx;
    unsigned long i;

    wait_for_go();
    for ( i = 1; !churn_stop; i++ )
    {
        p[0] = i;
        p[i % CHURN_SLOTS + 1] = i;
        cpuid(0, &eax, &ebx, &ecx, &edx);
    }
    churn_last = i - 1;
}

static void churner(unsigned int cpu, void *arg)
{
    unsigned long *rounds = arg;
    uint64_t own1 = virt_to_gfn(own[1]), sp = virt_to_gfn(spare);
    long rc = 0;

    if ( cpu != 0 )
        return churn_writer();
    wait_for_go();
    for ( ; *rounds < CHURN_ROUNDS && !rc; ++*rounds )
        rc = rshadow_unwatch(own1, 1) ?:
             rshadow_watch(sp + (*rounds & 3), 1, XEN_RSHADOW_ACCESS_W, 0) ?:
             rshadow_watch(own1, 1, XEN_RSHADOW_ACCESS_W, CHURN_STEPS) ?:
             rshadow_unwatch(sp + (*rounds & 3), 1);
    churn_stop = true;
    if ( rc )
        xtf_failure("watch change round %lu failed: %ld\n", *rounds, rc);
}

/*
 * vCPU 1's trace while its watch comes and goes: writes recorded in order
 * with their values, each followed by steps numbered from 0, at most
 * CHURN_STEPS of them, and nothing else.
 */
static void check_churn_trace(unsigned int nr, uint64_t lost)
{
    unsigned long last = 0;
    unsigned int i, step = 0, writes = 0;

    for ( i = 0; i < nr; i++ )
    {
        const struct xen_rshadow_record *r = &rec[1][i];

        if ( r->seq != i || r->vcpu != 1 )
            goto bad;
        if ( r->kind == XEN_RSHADOW_REC_WRITE )
        {
            unsigned long off = (r->linear - (unsigned long)own[1]) /
                                sizeof(unsigned long);

            if ( r->gfn != virt_to_gfn(own[1]) || r->value < last ||
                 r->value == 0 || r->value > churn_last ||
                 (off != 0 && off != r->value % CHURN_SLOTS + 1) )
                goto bad;
            last = r->value;
            step = 0;
            writes++;
        }
        else if ( r->kind == XEN_RSHADOW_REC_STEP )
        {
            if ( !writes || r->extra != step || ++step > CHURN_STEPS )
                goto bad;
        }
        else
            goto bad;
    }
    printk("vCPU 1: %lu writes; %u recorded in %u records, %llu dropped\n",
           2 * churn_last, writes, nr, (unsigned long long)lost);
    if ( !writes )
        xtf_failure("vCPU 1: no write was recorded\n");
    return;

 bad:
    xtf_failure("vCPU 1: record %u is out of place\n", i);
    dump(1, nr, i > 4 ? i - 4 : 0);
}

static void churn(void)
{
    struct xen_rshadow_watch w[4];
    struct xen_rshadow_stats st;
    unsigned int nr, total, i;
    unsigned long rounds = 0, v;
    uint64_t lost;

    if ( rshadow_enable(RING) ||
         rshadow_watch(virt_to_gfn(own[1]), 1, XEN_RSHADOW_ACCESS_W,
                       CHURN_STEPS) )
        return xtf_error("cannot set up the watch\n");
    churn_stop = false;
    if ( !run_both(churner, &rounds) )
        return;
    printk("vCPU 0: %lu rounds of watch changes\n", rounds);

    /* The last write to each slot is there. */
    if ( own[1][0] != churn_last )
        xtf_failure("vCPU 1's last write did not land\n");
    for ( i = 0, v = churn_last; i < CHURN_SLOTS && v; i++, v-- )
        if ( own[1][v % CHURN_SLOTS + 1] != v )
        {
            xtf_failure("vCPU 1's write %lu did not land\n", v);
            break;
        }

    nr = read_all(1, &lost);
    check_churn_trace(nr, lost);
    if ( rshadow_stats(&st) || st.records != nr || st.dropped != lost )
        xtf_failure("stats: %llu records, %llu dropped; read %u, %llu lost\n",
                    (unsigned long long)st.records,
                    (unsigned long long)st.dropped, nr,
                    (unsigned long long)lost);

    nr = ARRAY_SIZE(w);
    if ( rshadow_list(w, &nr, 0, &total) || total != 1 ||
         w[0].first_gfn != virt_to_gfn(own[1]) || w[0].steps != CHURN_STEPS )
        xtf_failure("the table did not end with vCPU 1's watch alone\n");
    rshadow_disable();
}

void test_main(void)
{
    unsigned int n;

    rshadow_require();
    n = smp_nr_cpus();
    if ( n < 2 )
        return xtf_error("one vCPU only: the runner should give two\n");

    concurrent();
    drops();
    churn();
    xtf_success(NULL);
}
