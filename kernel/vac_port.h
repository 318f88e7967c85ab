/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The little that the accounting core needs from its host: fixed-width
 * types, zeroed allocation, bit operations and a sort.  Kernel builds map
 * them to the kernel's own; user space (unit tests, brokerd's local
 * backend) gets plain C equivalents.
 */
#ifndef VAC_PORT_H
#define VAC_PORT_H

#ifdef __KERNEL__
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/types.h>

#define vac_zalloc(size)	kvzalloc(size, GFP_KERNEL)
#define vac_free(ptr)		kvfree(ptr)
#define vac_hweight32(x)	hweight32(x)
#define vac_sort(b, n, s, cmp)	sort(b, n, s, cmp, NULL)

#else /* user space */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define BITS_PER_LONG		(CHAR_BIT * sizeof(long))
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define vac_zalloc(size)	calloc(1, size)
#define vac_free(ptr)		free(ptr)
#define vac_hweight32(x)	((u32)__builtin_popcount(x))
#define vac_sort(b, n, s, cmp)	qsort(b, n, s, cmp)

static inline void __set_bit(unsigned long nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void __clear_bit(unsigned long nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

static inline bool test_bit(unsigned long nr, const unsigned long *map)
{
	return map[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG) & 1;
}

/* Index of the first zero bit at or after @start, or @size if none. */
static inline unsigned long find_next_zero_bit(const unsigned long *map,
					       unsigned long size,
					       unsigned long start)
{
	while (start < size) {
		unsigned long w = ~map[start / BITS_PER_LONG];

		w &= ~0UL << (start % BITS_PER_LONG);
		if (w) {
			start -= start % BITS_PER_LONG;
			start += __builtin_ctzl(w);
			return start < size ? start : size;
		}
		start += BITS_PER_LONG - start % BITS_PER_LONG;
	}
	return size;
}
#endif /* __KERNEL__ */

#endif /* VAC_PORT_H */
