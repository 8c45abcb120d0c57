/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Secondary vCPUs of a PVH dom0: VCPUOP_initialise puts each in flat 32-bit
 * protected mode at _ap_start (arch/x86/head.S), which switches to the
 * environment's paging mode as the boot vCPU did and calls xtf_ap_main().
 * There it polls a mailbox: a vCPU that halted with interrupts off would be
 * taken down by Xen, and a down vCPU cannot be initialised again.
 */
#include <xtf.h>
#include <xtf/smp.h>

#define __XEN_TOOLS__
#include <public/hvm/hvm_vcpu.h>

#define __HYPERVISOR_vcpu_op 24
#define VCPUOP_initialise    0
#define VCPUOP_up            1
#define VCPUOP_is_up         3

#define AP_STACK_SIZE (4 * PAGE_SIZE)

void _ap_start(void);
void __noreturn xtf_ap_main(unsigned int cpu);

static struct mailbox {
    smp_fn_t fn;                /* Set by vCPU 0, cleared when done. */
    void *arg;
    bool started;
} mail[SMP_MAX_CPUS];

static uint8_t ap_stacks[SMP_MAX_CPUS][AP_STACK_SIZE] __aligned(PAGE_SIZE);

unsigned int smp_nr_cpus(void)
{
    unsigned int n = 1;

    /* -ENOENT past the last vCPU; 0 or 1 (down or up) for each that exists. */
    while ( n < SMP_MAX_CPUS &&
            hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_is_up, n, NULL) >= 0 )
        n++;
    return n;
}

static long start_ap(unsigned int cpu)
{
    struct vcpu_hvm_context ctx = {
        .mode = VCPU_HVM_MODE_32B,
        .cpu_regs.x86_32 = {
            .eip = (unsigned long)_ap_start,
            .esi = (unsigned long)&ap_stacks[cpu][AP_STACK_SIZE],
            .edi = cpu,
            .eflags = X86_EFLAGS_MBS,
            .cr0 = X86_CR0_PE | X86_CR0_ET,
            .cs_limit = ~0U, .ds_limit = ~0U, .ss_limit = ~0U, .es_limit = ~0U,
            .tr_limit = 0x67,
            /* Flat 4 GiB: 32-bit code, writable data, a busy 32-bit TSS. */
            .cs_ar = 0xc9b, .ds_ar = 0xc93, .ss_ar = 0xc93, .es_ar = 0xc93,
            .tr_ar = 0x8b,
        },
    };
    long rc = hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_initialise, cpu, &ctx);

    if ( !rc )
        rc = hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_up, cpu, NULL);
    return rc;
}

long smp_call(unsigned int cpu, smp_fn_t fn, void *arg)
{
    struct mailbox *m;
    long rc;

    if ( cpu == 0 || cpu >= SMP_MAX_CPUS )
        return -EINVAL;
    m = &mail[cpu];
    if ( __atomic_load_n(&m->fn, __ATOMIC_ACQUIRE) )
        return -EBUSY;

    m->arg = arg;
    __atomic_store_n(&m->fn, fn, __ATOMIC_RELEASE);
    if ( !m->started )
    {
        rc = start_ap(cpu);
        if ( rc )
        {
            __atomic_store_n(&m->fn, NULL, __ATOMIC_RELEASE);
            return rc;
        }
        m->started = true;
    }
    return 0;
}

bool smp_busy(unsigned int cpu)
{
    return cpu < SMP_MAX_CPUS &&
           __atomic_load_n(&mail[cpu].fn, __ATOMIC_ACQUIRE);
}

void smp_wait(unsigned int cpu)
{
    while ( smp_busy(cpu) )
        asm volatile ("pause" ::: "memory");
}

void xtf_ap_main(unsigned int cpu)
{
    struct mailbox *m = &mail[cpu < SMP_MAX_CPUS ? cpu : 0];
    smp_fn_t fn;

    traps_load();
    for ( ;; )
    {
        while ( !(fn = __atomic_load_n(&m->fn, __ATOMIC_ACQUIRE)) )
            asm volatile ("pause" ::: "memory");
        fn(cpu, m->arg);
        __atomic_store_n(&m->fn, NULL, __ATOMIC_RELEASE);
    }
}
