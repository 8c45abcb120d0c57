/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef XTF_TYPES_H
#define XTF_TYPES_H

/* The compiler's freestanding headers; no libc anywhere in a test kernel. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define __aligned(x)      __attribute__((__aligned__(x)))
#define __section(s)      __attribute__((__section__(s)))
#define __noreturn        __attribute__((__noreturn__))
#define __used            __attribute__((__used__))
#define __printf(f, a)    __attribute__((__format__(__printf__, f, a)))
#define __maybe_unused    __attribute__((__unused__))

#define ARRAY_SIZE(a)     (sizeof(a) / sizeof((a)[0]))
#define ROUNDUP(x, a)     (((x) + (a) - 1) & ~((a) - 1))
#define barrier()         asm volatile ("" ::: "memory")
#define ACCESS_ONCE(x)    (*(volatile typeof(x) *)&(x))

#define _STR(x)           #x
#define STR(x)            _STR(x)

#endif /* XTF_TYPES_H */
