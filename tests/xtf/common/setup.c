/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xtf_main(): called from the PVH entry once the environment's paging mode
 * is up.  Sets up the framework, runs the test, reports and shuts down.
 */
#include <xtf.h>

void __noreturn xtf_main(void);

intpte_t *l1e_of(const void *va)
{
    unsigned long gfn = virt_to_gfn(va);

    return gfn < ARRAY_SIZE(l1_identmap) ? &l1_identmap[gfn] : NULL;
}

void xtf_exit(void)
{
    enum test_status s = xtf_status();

    if ( s == STATUS_RUNNING )
    {
        printk("Error: test_main() returned without reporting a result\n");
        s = STATUS_ERROR;
    }
    printk("Test result: %s\n", xtf_status_name(s));

    hypercall_shutdown(SHUTDOWN_poweroff);
    for ( ;; )
        asm volatile ("cli; hlt");
}

void xtf_main(void)
{
    if ( !hypercall_init() )
    {
        /* No console without hypercalls; a crash is all that is left. */
        for ( ;; )
            asm volatile ("cli; hlt");
    }
    traps_init();

    printk("--- Xen Test Framework (rust-shadow) ---\n");
    printk("Environment: %s\n", environment_description);
    printk("%s\n", test_title);

    test_main();

    xtf_exit();
}

#ifdef __x86_64__
const char environment_description[] = "hvm64: long mode, 4-level paging";
#else
const char environment_description[] = "hvm32pae: 32-bit protected mode, PAE paging";
#endif
