/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xtf_main(): called from the PVH entry once the environment's paging mode
 * is up.  Sets up the framework, runs the test, reports and shuts down.
 */
#include <xtf.h>

void __noreturn xtf_main(void);

extern uint32_t pvh_start_info;

/* The parts of struct hvm_start_info (Xen's public ABI) the framework reads. */
struct start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr;
};

const char *xtf_cmdline(void)
{
    const struct start_info *si = (const void *)(unsigned long)pvh_start_info;
    unsigned long cmd;

    if ( !si || si->magic != 0x336ec578 || !si->cmdline_paddr )
        return "";
    cmd = si->cmdline_paddr;
    /* Only what the identity map covers can be read. */
    return cmd < IDENT_MAP_MB * 1024UL * 1024 ? (const char *)cmd : "";
}

unsigned long xtf_cmdline_ulong(const char *key, unsigned long dflt)
{
    const char *p = xtf_cmdline();
    size_t klen = strlen(key);

    for ( ; *p; p++ )
    {
        unsigned long v = 0;

        if ( (p != xtf_cmdline() && p[-1] != ' ') || memcmp(p, key, klen) ||
             p[klen] != '=' )
            continue;
        for ( p += klen + 1; *p >= '0' && *p <= '9'; p++ )
            v = v * 10 + (*p - '0');
        return v;
    }
    return dflt;
}

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
