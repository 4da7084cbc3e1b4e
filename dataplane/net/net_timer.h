/* A hashed timer wheel (Varghese & Lauck scheme 6) over intrusive nodes
 * addressed by index: O(1) insert and cancel, no allocation, no clock
 * reads. The caller advances it with the current tick; nodes whose expiry
 * is more than one revolution away stay in their slot until a later pass
 * (expiry is compared modulo 2^32, so ticks may wrap).
 *
 * Nodes live inside the caller's objects (e.g. one per TCP connection
 * block): the wheel finds node i at base + i * stride. Single-threaded:
 * a wheel and its nodes belong to one worker core. */
#ifndef NET_TIMER_H
#define NET_TIMER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NET_TIMER_NONE UINT32_MAX

struct net_timer_node {
	uint32_t next, prev; /* node indices, NET_TIMER_NONE at the ends */
	uint32_t expire;     /* tick */
	uint32_t slot;       /* list it is on; NET_TIMER_NONE: not armed */
};

/* Called for each expired node, already removed from the wheel: it may
 * re-arm it or arm/cancel any other node. */
typedef void (*net_timer_fn)(void *ctx, uint32_t idx);

struct net_timer_wheel {
	uint32_t *heads;   /* nslots + 1 list heads (caller's memory); the last is the
			      list being expired */
	uint32_t nslots;   /* power of two */
	uint32_t now;      /* current tick: everything <= now has fired */
	uint32_t armed;    /* nodes on the wheel */
	char *base;        /* node 0 */
	size_t stride;     /* bytes between nodes */
};

/* heads: nslots + 1 u32s. Returns -1 when nslots is not a power of two. */
int net_timer_init(struct net_timer_wheel *w, uint32_t *heads, uint32_t nslots, void *base,
		   size_t stride, uint32_t now);
void net_timer_node_init(struct net_timer_node *n);
static inline struct net_timer_node *net_timer_node_at(const struct net_timer_wheel *w, uint32_t i)
{
	return (struct net_timer_node *)(void *)(w->base + (size_t)i * w->stride);
}
/* Arm (or re-arm) node idx to fire at tick expire; an expiry at or before
 * the current tick fires on the next advance. */
void net_timer_arm(struct net_timer_wheel *w, uint32_t idx, uint32_t expire);
void net_timer_cancel(struct net_timer_wheel *w, uint32_t idx);
/* Move the wheel to tick now, firing every node whose expiry <= now. Work
 * is bounded by min(now - previous, nslots) slots plus the nodes fired or
 * passed over. Returns the number fired. */
unsigned net_timer_advance(struct net_timer_wheel *w, uint32_t now, net_timer_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* NET_TIMER_H */
