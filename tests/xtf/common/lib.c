/* SPDX-License-Identifier: GPL-2.0-only */
/* The little of libc a test kernel needs, plus vsnprintf(). */
#include <xtf.h>

void *memset(void *s, int c, size_t n)
{
    uint8_t *p = s;

    while ( n-- )
        *p++ = c;
    return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    while ( n-- )
        *d++ = *s++;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    for ( ; n; n--, x++, y++ )
        if ( *x != *y )
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while ( s[n] )
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while ( *a && *a == *b )
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if ( o->len + 1 < o->size )
        o->buf[o->len] = c;
    o->len++;
}

/* v /= base, returning the remainder, with no libgcc helper on 32-bit. */
static unsigned int div_small(unsigned long long *v, unsigned int base)
{
#ifdef __x86_64__
    unsigned int rem = *v % base;

    *v /= base;
    return rem;
#else
    uint32_t hi = *v >> 32, lo = *v, qhi = hi / base, qlo, rem = hi % base;

    /* rem < base, so the quotient of rem:lo fits in 32 bits. */
    asm ("divl %[b]" : "=a" (qlo), "=d" (rem)
                     : "a" (lo), "d" (rem), [b] "rm" (base));
    *v = ((unsigned long long)qhi << 32) | qlo;
    return rem;
#endif
}

static void put_num(struct out *o, unsigned long long v, unsigned int base,
                    bool neg, unsigned int width, char pad, bool alt)
{
    char tmp[24];
    unsigned int n = 0, digits;

    do {
        tmp[n++] = "0123456789abcdef"[div_small(&v, base)];
    } while ( v );

    digits = n + neg + (alt ? 2 : 0);
    if ( pad == ' ' )
        for ( ; width > digits; width-- )
            put(o, ' ');
    if ( neg )
        put(o, '-');
    if ( alt )
    {
        put(o, '0');
        put(o, 'x');
    }
    if ( pad == '0' )
        for ( ; width > digits; width-- )
            put(o, '0');
    while ( n )
        put(o, tmp[--n]);
}

/*
 * Supports %s %c %d %i %u %x %p %%, the flags '#' and '0', a width, and the
 * length modifiers l, ll and z.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
    struct out o = { buf, size, 0 };

    for ( ; *fmt; fmt++ )
    {
        unsigned int width = 0, lng = 0;
        bool alt = false;
        char pad = ' ';
        unsigned long long u;

        if ( *fmt != '%' )
        {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        for ( ; *fmt == '#' || *fmt == '0'; fmt++ )
        {
            if ( *fmt == '#' )
                alt = true;
            else
                pad = '0';
        }
        for ( ; *fmt >= '0' && *fmt <= '9'; fmt++ )
            width = width * 10 + (*fmt - '0');
        for ( ; *fmt == 'l' || *fmt == 'z'; fmt++ )
            lng += 1;   /* size_t and long are the same width. */

        switch ( *fmt )
        {
        case 'c':
            put(&o, va_arg(args, int));
            break;

        case 's':
        {
            const char *s = va_arg(args, const char *);
            size_t len = strlen(s ?: "(null)");

            for ( ; width > len; width-- )
                put(&o, ' ');
            for ( s = s ?: "(null)"; *s; s++ )
                put(&o, *s);
            break;
        }

        case 'd': case 'i':
        {
            long long v = lng >= 2 ? va_arg(args, long long)
                        : lng == 1 ? va_arg(args, long)
                                   : va_arg(args, int);

            put_num(&o, v < 0 ? -(unsigned long long)v : (unsigned long long)v,
                    10, v < 0, width, pad, false);
            break;
        }

        case 'u': case 'x':
            u = lng >= 2 ? va_arg(args, unsigned long long)
              : lng == 1 ? va_arg(args, unsigned long)
                         : va_arg(args, unsigned int);
            put_num(&o, u, *fmt == 'u' ? 10 : 16, false, width, pad, alt);
            break;

        case 'p':
            put_num(&o, (unsigned long)va_arg(args, void *), 16, false,
                    width, pad, true);
            break;

        case '%':
            put(&o, '%');
            break;

        default:
            put(&o, '%');
            if ( *fmt )
                put(&o, *fmt);
            else
                fmt--;
            break;
        }
    }

    if ( size )
        buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list args;
    int n;

    va_start(args, fmt);
    n = vsnprintf(buf, size, fmt, args);
    va_end(args);
    return n;
}
