/* The unmap guard (drv_dpdk_unmap.h, docs/dpdk-notes.md 6): munmap()
 * wrapped so that the memif PMD's teardown on the EAL interrupt thread
 * waits for the pollers before it unmaps the regions they may be reading.
 *
 * Why munmap: in DPDK 22.11 (.11 here) memif_disconnect
 * (drivers/net/memif/memif_socket.c:526) clears the link status and
 * ETH_MEMIF_FLAG_CONNECTED (535-537), unregisters the control channel,
 * closes the queues' eventfds, then calls memif_free_regions (623), whose
 * munmap (rte_eth_memif.c:874) is the first thing that hurts a poller; the
 * PMD raises no RTE_ETH_EVENT_* on the way (no rte_eth_dev_callback_process
 * in the driver), memif_disconnect and memif_free_regions are internal to
 * librte_net_memif.so, and munmap is the one call between the flag and the
 * damage that goes through the PLT, so it is where a wait can be put.
 * This executable's definition comes first in the dynamic linker's global
 * scope (the PMD is dlopen()ed by the EAL; the dependency exports the
 * symbol with --export-dynamic-symbol=munmap, see drivers/meson.build);
 * glibc's own unmaps (malloc, thread stacks) use its internal alias and
 * never come here. Off the interrupt thread, or unarmed, it is a plain
 * munmap. */
#include "drv_dpdk_unmap.h"

#include <dlfcn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_interrupts.h>
#include <rte_pause.h>

struct drv_dpdk_unmap_guard drv_dpdk_unmap_g;

void drv_dpdk_unmap_arm(void)
{
	__atomic_store_n(&drv_dpdk_unmap_g.armed, 1, __ATOMIC_RELEASE);
}

int drv_dpdk_unmap_online(unsigned i)
{
	if (i >= DRV_DPDK_UNMAP_SLOTS)
		return -1;
	struct drv_dpdk_unmap_slot *s = &drv_dpdk_unmap_g.slot[i];
	/* seen 1 = online, token 0 (older than any waiter's): a waiter that
	 * bumped the token before it read this waits for the slot; one that
	 * read OFFLINE bumped it before the load below (both seq_cst: one of
	 * them sees the other's store), so the first burst comes after that
	 * token's acquire */
	__atomic_store_n(&s->seen, 1, __ATOMIC_SEQ_CST);
	uint64_t t = __atomic_load_n(&drv_dpdk_unmap_g.token, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->seen, t + 1, __ATOMIC_RELEASE);
	return 0;
}

void drv_dpdk_unmap_offline(unsigned i)
{
	if (i < DRV_DPDK_UNMAP_SLOTS)
		__atomic_store_n(&drv_dpdk_unmap_g.slot[i].seen, DRV_DPDK_UNMAP_OFFLINE,
				 __ATOMIC_RELEASE);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool drv_dpdk_unmap_quiesce(void)
{
	struct drv_dpdk_unmap_guard *g = &drv_dpdk_unmap_g;
	/* this thread's earlier stores (the PMD's flag cleared) are visible to
	 * a poller that sees the token (its acquire load) */
	uint64_t tok = __atomic_add_fetch(&g->token, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&g->waits, 1, __ATOMIC_RELAXED);
	uint64_t t0 = 0;
	const uint32_t bound = g->wait_ms ? g->wait_ms : DRV_DPDK_UNMAP_WAIT_MS;
	bool all = true;
	for (unsigned i = 0; i < DRV_DPDK_UNMAP_SLOTS; i++) {
		struct drv_dpdk_unmap_slot *s = &g->slot[i];
		unsigned spins = 0;
		/* a slot that reads OFFLINE or 1 + a token >= tok: its bursts so
		 * far are over (release/acquire), later ones see the flag */
		for (;;) {
			uint64_t v = __atomic_load_n(&s->seen, __ATOMIC_SEQ_CST);
			if (v == DRV_DPDK_UNMAP_OFFLINE || v > tok)
				break;
			if (++spins < 1000) {
				rte_pause();
				continue;
			}
			/* a preempted poller: sleep, do not spin on the control CPU */
			if (t0 == 0)
				t0 = now_ms();
			else if (now_ms() - t0 > bound) {
				all = false;
				break;
			}
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
		}
	}
	if (!all) {
		__atomic_add_fetch(&g->timeouts, 1, __ATOMIC_RELAXED);
		fprintf(stderr,
			"rpcrouterd: dpdk: a net_memif region is unmapped while a worker has not "
			"passed a quiescent point for %u ms\n",
			bound);
	}
	return all;
}

typedef int (*munmap_fn)(void *, size_t);

/* the next munmap in the lookup order (libc's, or a sanitizer's
 * interceptor in front of it); the system call if there is none */
static int real_munmap(void *addr, size_t len)
{
	static munmap_fn next;
	munmap_fn f = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
	if (f == NULL) {
		void *p = dlsym(RTLD_NEXT, "munmap");
		if (p == NULL)
			return (int)syscall(SYS_munmap, addr, len);
		__builtin_memcpy(&f, &p, sizeof(f)); /* object to function pointer (POSIX) */
		__atomic_store_n(&next, f, __ATOMIC_RELEASE);
	}
	return f(addr, len);
}

int munmap(void *addr, size_t len)
{
	if (__atomic_load_n(&drv_dpdk_unmap_g.armed, __ATOMIC_ACQUIRE) && rte_thread_is_intr())
		drv_dpdk_unmap_quiesce();
	return real_munmap(addr, len);
}
