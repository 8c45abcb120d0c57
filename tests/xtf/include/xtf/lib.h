/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef XTF_LIB_H
#define XTF_LIB_H

#include <xtf/types.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

int vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
    __printf(3, 0);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Writes to the Xen console; a line at a time is best. */
void printk(const char *fmt, ...) __printf(1, 2);
void vprintk(const char *fmt, va_list args) __printf(1, 0);

/* dom0's command line (the kernel module's arguments), and key=N in it. */
const char *xtf_cmdline(void);
unsigned long xtf_cmdline_ulong(const char *key, unsigned long dflt);

/* Ends the test: prints the result line and asks Xen to shut down. */
void __noreturn xtf_exit(void);

#define BUILD_BUG_ON(c) _Static_assert(!(c), #c)

#endif /* XTF_LIB_H */
