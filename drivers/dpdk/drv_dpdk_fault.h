/* Fault injection for tests (issue 6): drop, duplicate, reorder, delay and
 * corrupt packets, each with a probability, from a seeded generator, so a
 * run is repeatable.
 *
 * Independent of rte_mbuf: packets are opaque pointers and the driver
 * passes callbacks (clone, free, corrupt one byte), so the unit tests run
 * with plain buffers and no EAL.
 *
 * Spec string (config `dpdkFaultInjection`, flag):
 *   "drop=0.01,dup=0.01,reorder=0.01,delay=0.01:200us,corrupt=0.001,seed=42"
 * every key optional, each at most once; probabilities in [0,1]; times
 * an integer with unit ns, us, ms or s; reorder takes an optional max hold
 * time too ("reorder=0.01:1ms", default 1ms); "" = no fault.
 *
 * What each does, per packet entering drv_dpdk_fault_apply, in this order:
 *   drop     free it; nothing else happens to it.
 *   corrupt  flip bits of one byte (ops->corrupt) and pass it on.
 *   dup      clone it (ops->clone, after corrupt: the copy is identical);
 *            both go on; the copy is not faulted again.
 *   reorder  hold it back (one slot) and emit it right after the next
 *            packet that is emitted, or after the max hold time with no
 *            next packet (so the last packet of a burst is not stuck until
 *            traffic resumes). When the slot is taken the packet passes.
 *   delay    hold it for the delay time in a bounded FIFO; released by a
 *            later apply whose `now` is past it. Queue full: it passes
 *            (counted delay_full).
 * No packet is ever lost except by drop (and by drv_dpdk_fault_fini, which
 * frees what is still held).
 *
 * Threads: one struct drv_dpdk_fault per worker and direction, used only
 * by that worker (no locks). Give each its own seed (e.g. seed + worker).
 * Memory: the delay queue is allocated by drv_dpdk_fault_init (start-up),
 * never on the fast path.
 */
#ifndef DRV_DPDK_FAULT_H
#define DRV_DPDK_FAULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* counters, one per event (X(name, description)) */
#define DRV_DPDK_FAULT_COUNTERS(X)                                                                 \
	X(in, "packets given to apply")                                                            \
	X(out, "packets emitted by apply and flush")                                               \
	X(drop, "packets dropped (freed)")                                                         \
	X(dup, "duplicates made")                                                                  \
	X(dup_fail, "duplicates not made: clone returned NULL")                                    \
	X(reorder, "packets held back and emitted after a later one")                              \
	X(reorder_timeout, "held packets emitted after the max hold with nothing behind them")     \
	X(delay, "packets delayed")                                                                \
	X(delay_full, "packets not delayed: the delay queue was full")                             \
	X(corrupt, "packets corrupted")                                                            \
	X(corrupt_fail, "packets not corrupted: the corrupt callback refused (empty packet)")

struct drv_dpdk_fault_counters {
#define DRV_DPDK_FAULT_X(name, desc) uint64_t name;
	DRV_DPDK_FAULT_COUNTERS(DRV_DPDK_FAULT_X)
#undef DRV_DPDK_FAULT_X
};

/* A parsed spec. Probabilities as doubles for display; the generator uses
 * 64-bit thresholds computed by drv_dpdk_fault_init. */
struct drv_dpdk_fault_spec {
	double drop, dup, reorder, delay, corrupt;
	uint64_t delay_ns;	 /* hold time of a delayed packet; > 0 when delay > 0 */
	uint64_t reorder_max_ns; /* max hold of a reordered packet (default 1 ms) */
	uint64_t seed;		 /* default 1 */
	int any;		 /* 1 if some probability > 0 */
};

#define DRV_DPDK_FAULT_REORDER_MAX_NS_DEFAULT 1000000ull

/* Parses spec (NULL or "" = no fault) into *out (defaults first). Returns
 * 0, or -1 with a message in err (err_len bytes, may be 0) naming the key
 * and the reason, e.g.
 *   "fault spec: 'drop=1.5': probability must be a number in [0,1]"
 *   "fault spec: 'delay=0.01': delay needs a time: delay=P:T, e.g. delay=0.01:200us"
 *   "fault spec: 'foo=1': unknown key (known: drop, dup, reorder, delay, corrupt, seed)"
 *   "fault spec: 'drop=0.1': drop given twice" */
int drv_dpdk_fault_parse(const char *spec, struct drv_dpdk_fault_spec *out, char *err,
			 size_t err_len);

/* The driver's packet callbacks (for the dpdk driver: rte_pktmbuf_copy,
 * rte_pktmbuf_free, flip a byte of the data). ctx is passed through. */
struct drv_dpdk_fault_ops {
	/* a new packet with the same bytes, or NULL (pool empty) */
	void *(*clone)(void *ctx, void *pkt);
	void (*free)(void *ctx, void *pkt);
	/* flip bits of one byte (rnd: random bits; e.g. offset rnd % len,
	 * xor (rnd >> 32) | 1 so the byte always changes); 0 done, -1 could
	 * not (empty packet) */
	int (*corrupt)(void *ctx, void *pkt, uint64_t rnd);
};

struct drv_dpdk_fault_slot {
	void *pkt;
	uint64_t due_ns;
};

struct drv_dpdk_fault {
	struct drv_dpdk_fault_spec spec;
	struct drv_dpdk_fault_ops ops;
	void *ctx;
	/* thresholds: a fault happens when next() < thr (UINT64_MAX = always) */
	uint64_t thr_drop, thr_dup, thr_reorder, thr_delay, thr_corrupt;
	uint64_t rng[4]; /* xoshiro256** state */
	/* reorder: the held packet (NULL = none) and when it was held */
	void *held;
	uint64_t held_ns;
	/* delay FIFO (constant delay, so due times are in insertion order) */
	struct drv_dpdk_fault_slot *q; /* owned, capacity q_cap */
	unsigned q_cap, q_head, q_len;
	struct drv_dpdk_fault_counters cnt;
};

/* Sets up *f for spec (copied), the ops (copied) and their ctx. delay_cap:
 * the delay queue's capacity (e.g. a few bursts' worth; each held packet
 * holds an mbuf). Returns 0, or -EINVAL (ops incomplete, delay > 0 with
 * delay_cap 0), -ENOMEM. */
int drv_dpdk_fault_init(struct drv_dpdk_fault *f, const struct drv_dpdk_fault_spec *spec,
			const struct drv_dpdk_fault_ops *ops, void *ctx, unsigned delay_cap);

/* Frees every packet still held (ops->free) and the queue. */
void drv_dpdk_fault_fini(struct drv_dpdk_fault *f);

/* Room out must have for n input packets: 2n + 1 (each packet and its
 * duplicate, plus the one held back). */
static inline unsigned drv_dpdk_fault_out_min(unsigned n)
{
	return 2 * n + 1;
}

/* Applies the faults to in[0..n) at time now_ns (the caller's clock,
 * monotonic). Writes what leaves to out (first the delayed packets now due,
 * as many as fit beyond drv_dpdk_fault_out_min(n); then the burst, with
 * duplicates and the held-back packet). Call it with n = 0 on idle polls
 * too, so delayed and held packets leave on time. in and out must not
 * overlap. Returns the number written to out, or 0 with nothing consumed
 * if out_cap < drv_dpdk_fault_out_min(n) (a caller bug). */
unsigned drv_dpdk_fault_apply(struct drv_dpdk_fault *f, void *const *in, unsigned n, void **out,
			      unsigned out_cap, uint64_t now_ns);

/* Emits every held packet (delayed ones in order, then the held-back one)
 * regardless of time, up to out_cap; returns the count. For shutdown paths
 * that would rather send than free. */
unsigned drv_dpdk_fault_flush(struct drv_dpdk_fault *f, void **out, unsigned out_cap);

/* Packets currently held (delay queue + reorder slot). */
static inline unsigned drv_dpdk_fault_held(const struct drv_dpdk_fault *f)
{
	return f->q_len + (f->held != NULL);
}

#ifdef __cplusplus
}
#endif
#endif
