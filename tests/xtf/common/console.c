/* SPDX-License-Identifier: GPL-2.0-only */
/* printk(): formatted output to the Xen console through console_io. */
#include <xtf.h>

void vprintk(const char *fmt, va_list args)
{
    char buf[256];
    int n = vsnprintf(buf, sizeof(buf), fmt, args);

    if ( n > (int)sizeof(buf) - 1 )
        n = sizeof(buf) - 1;
    if ( n > 0 )
        hypercall_console_write(buf, n);
}

void printk(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vprintk(fmt, args);
    va_end(args);
}
