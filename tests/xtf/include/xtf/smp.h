/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Secondary vCPUs.  A test that sets TEST-VCPUS gets that many dom0 vCPUs
 * (and emulated CPUs); vCPU 0 runs test_main(), and hands functions to the
 * others, which run them on stacks of their own and then wait for more.
 * They share the IDT, the page tables and the exception table.
 */
#ifndef XTF_SMP_H
#define XTF_SMP_H

#include <xtf/types.h>

#define SMP_MAX_CPUS 4

typedef void (*smp_fn_t)(unsigned int cpu, void *arg);

/* vCPUs the domain has (VCPUOP_is_up answers for each), at most SMP_MAX_CPUS. */
unsigned int smp_nr_cpus(void);

/*
 * Starts @fn(@cpu, @arg) on vCPU @cpu (1 .. smp_nr_cpus() - 1), bringing the
 * vCPU up the first time.  0, -EBUSY while it still runs an earlier
 * function, or the errno of VCPUOP_initialise/VCPUOP_up.
 */
long smp_call(unsigned int cpu, smp_fn_t fn, void *arg);

/* Waits until @cpu finished its function. */
void smp_wait(unsigned int cpu);

/* True while @cpu runs a function. */
bool smp_busy(unsigned int cpu);

#endif /* XTF_SMP_H */
