/* The unmap guard: a net_memif port's shared regions are unmapped only
 * when no poller is inside an rx/tx burst (docs/dpdk-notes.md 6).
 *
 * DPDK 22.11's memif PMD tears a connection down on the EAL interrupt
 * thread (memif_disconnect, drivers/net/memif/memif_socket.c): it clears
 * ETH_MEMIF_FLAG_CONNECTED, then unmaps the regions (memif_free_regions,
 * rte_eth_memif.c) at once, with nothing that waits for a thread already
 * past the flag test at the top of eth_memif_rx/eth_memif_tx; it raises no
 * ethdev event either. So the process's munmap() is wrapped
 * (drv_dpdk_unmap.c): called on the EAL interrupt thread while the guard
 * is armed, it first waits until every poller slot has passed a quiescent
 * point (a point between bursts) after the call began, which is after the
 * PMD cleared its flag: any burst still running then has ended, and every
 * later one sees the flag clear and returns 0 without touching the
 * regions. A QSBR scheme (as rte_rcu_qsbr): the waiter publishes a new
 * token (release), each poller copies the newest token into its slot
 * (acquire load, then a release store only when it changed) once per loop
 * iteration. The pollers' cost: one acquire load (a plain load on x86) and
 * a compare per iteration; no lock, no system call.
 *
 * Compiles as C and C++. */
#ifndef RR_DRV_DPDK_UNMAP_H
#define RR_DRV_DPDK_UNMAP_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* poller slots: the driver's workers, or the bench's I/O thread */
#define DRV_DPDK_UNMAP_SLOTS 64
/* a slot no poller uses (never waited for): zero, so the global starts
 * with every slot offline; an online slot holds 1 + the newest token its
 * poller saw */
#define DRV_DPDK_UNMAP_OFFLINE 0
/* how long the interrupt thread waits for a poller, at most: a poller
 * preempted for longer than this (or stopped in a debugger) is not
 * waited for (counted in timeouts, logged). A polling worker passes in
 * microseconds; only a starved one takes long, and unmapping under it is
 * what the guard is for, so the bound is generous: the ASan+UBSan build
 * of dpdk_memif_cycles, its worker held at ~1% of its CPU by a nice -20
 * hog, once took more than 2 s. Only memif teardown waits. */
#define DRV_DPDK_UNMAP_WAIT_MS 10000

struct drv_dpdk_unmap_slot {
	uint64_t seen; /* 1 + the newest token this poller saw, or OFFLINE */
} __attribute__((aligned(64)));

struct drv_dpdk_unmap_guard {
	uint64_t token __attribute__((aligned(64))); /* bumped by each guarded unmap */
	int armed;				     /* a memif port is in use */
	uint64_t waits;				     /* guarded unmaps */
	uint64_t timeouts;			     /* of them, gave up waiting */
	uint32_t wait_ms; /* the bound; 0: DRV_DPDK_UNMAP_WAIT_MS (tests set a shorter one) */
	struct drv_dpdk_unmap_slot slot[DRV_DPDK_UNMAP_SLOTS];
};

extern struct drv_dpdk_unmap_guard drv_dpdk_unmap_g;

/* Arms the guard (control thread, after rte_eal_init, before the pollers
 * run): from now on munmap on the EAL interrupt thread waits for the
 * online slots. Idempotent. */
void drv_dpdk_unmap_arm(void);

/* Slot i is used by a poller from now on (before its first burst; any
 * thread). 0, or -1 if i is out of range. */
int drv_dpdk_unmap_online(unsigned i);

/* Slot i's poller bursts no more (after its last burst). */
void drv_dpdk_unmap_offline(unsigned i);

/* A quiescent point of slot i's poller: no rx/tx burst of its in progress.
 * Once per poll-loop iteration (and before bursts made outside the loop). */
static inline void drv_dpdk_unmap_quiescent(unsigned i)
{
	struct drv_dpdk_unmap_slot *s = &drv_dpdk_unmap_g.slot[i];
	/* acquire: the bursts after this point see what the waiter's thread
	 * did before publishing the token (the PMD's flag cleared) */
	uint64_t t = __atomic_load_n(&drv_dpdk_unmap_g.token, __ATOMIC_ACQUIRE) + 1;
	if (__builtin_expect(t != __atomic_load_n(&s->seen, __ATOMIC_RELAXED), 0))
		/* release: the bursts before it are over for the waiter */
		__atomic_store_n(&s->seen, t, __ATOMIC_RELEASE);
}

/* What munmap does on the interrupt thread before unmapping (exposed for
 * the unit test): publish a token, wait for every online slot. true if
 * every slot got there, false if it gave up after the bound (wait_ms). */
bool drv_dpdk_unmap_quiesce(void);

#ifdef __cplusplus
}
#endif

#endif
