/* TCP sequence-number arithmetic modulo 2^32 (RFC 9293 3.4): a < b when
 * b is ahead of a by less than 2^31. Every comparison of sequence numbers,
 * acknowledgment numbers and timestamps (RFC 7323 5.3 uses the same rule
 * for TSval) goes through these. */
#ifndef NET_SEQ_H
#define NET_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

static inline uint32_t net_seq_max(uint32_t a, uint32_t b)
{
	return SEQ_GT(a, b) ? a : b;
}

static inline uint32_t net_seq_min(uint32_t a, uint32_t b)
{
	return SEQ_LT(a, b) ? a : b;
}

/* lo <= s < hi (an empty range when lo == hi). */
static inline bool net_seq_in(uint32_t s, uint32_t lo, uint32_t hi)
{
	return SEQ_LEQ(lo, s) && SEQ_LT(s, hi);
}

#ifdef __cplusplus
}
#endif

#endif /* NET_SEQ_H */
