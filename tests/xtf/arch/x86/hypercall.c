/* SPDX-License-Identifier: GPL-2.0-only */
#include <xtf.h>

bool hypercall_init(void)
{
    uint32_t base, eax, ebx, ecx, edx;

    /* Xen's leaves sit at 0x40000000 or 0x100 above when Viridian is on. */
    for ( base = 0x40000000; base < 0x40010000; base += 0x100 )
    {
        cpuid(base, &eax, &ebx, &ecx, &edx);
        if ( ebx == 0x566e6558 && ecx == 0x65584d4d && edx == 0x4d4d566e &&
             eax >= base + 2 )
        {
            /* Leaf 2: EBX is the MSR that installs hypercall pages. */
            cpuid(base + 2, &eax, &ebx, &ecx, &edx);
            wrmsr(ebx, (unsigned long)hypercall_page);
            return true;
        }
    }
    return false;
}
