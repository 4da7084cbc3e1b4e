/* The dpdk driver, per worker: the poll loop (rx burst -> net_l3 -> TCP ->
 * the AMQP engine; engine output -> TCP -> net_l3 -> tx burst), the flow
 * table (4-tuple -> TCP block, rte_hash), and the handoff of a native TCP
 * connection to control (docs/adr/0005-dpdk-driver.md).
 *
 * Everything here runs on the worker's lcore, except worker_init/fini and
 * counters (control thread, before the launch / after the stop / relaxed
 * reads). No locks and no system calls in the loop; the only sleep is the
 * configured idle back-off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "drv_dpdk_frame.h"
#include "drv_dpdk_int.h"
#include "drv_dpdk_mtu.h"
#include "drv_dpdk_unmap.h"
#include "net_csum.h"

#define STASH_MAX	4096u	   /* bytes kept per connection before control's answer */
#define IN_HOLD_MAX	(1u << 20) /* input kept while an Attach waits on control (as socket) */
#define MAX_IOV		64
#define L3_TICK_NS	10000000ull /* net_l3_tick every 10 ms */
#define ENGINE_CLOCK_NS 250000ull   /* the engine's now_ms / wall_ms refresh */
#define TCP_BLOCK	2048u	    /* TCP data block (send queues, out-of-order) */
#define FAULT_DELAY_CAP 256u	    /* packets a fault injector may hold back per direction */
#define FAULT_OUT_CAP	(2u * DRV_DPDK_BURST + 1u + 64u) /* a faulted burst + due delayed ones */

/* the driver's own counters: P per port (port 0's in group "driver" with
 * the worker's, port N's in "driver.portN"), W per worker */
#define DRV_COUNTERS(X)                                                                            \
	X(rx_packets, P, "packets received from the rx queue")                                     \
	X(rx_bursts, P, "rx bursts that returned packets")                                         \
	X(rx_multiseg, P, "dropped: packets in more than one mbuf (a memif peer's bsize < frame)") \
	X(rx_bad_csum, P, "dropped: TCP checksum wrong (port offload: the port's verdict or ours)") \
	X(tx_packets, P, "packets accepted by the tx queue")                                       \
	X(tx_full, P, "dropped: tx queue full (TCP retransmits)")                                  \
	X(tx_no_mbuf, P, "dropped: no mbuf free for a frame to send")                              \
	X(tx_copied, P, "frames copied into an mbuf (ARP, ICMP, RST; TCP segments are built in one)") \
	X(native_new, W, "connections accepted by the native TCP and posted to control")           \
	X(native_post_fail, W, "connections reset: the ring to control was full")                  \
	X(native_refused, W, "connections reset: control refused them (maxConnections)")           \
	X(stash_full, W, "bytes refused before control's answer (stash full: the peer resends)")   \
	X(idle_sleeps, W, "idle back-off sleeps")                                                  \
	X(steered_out, P, "packets of another worker's flow passed to it over its ring")           \
	X(steered_in, P, "packets of this worker's flows received from another worker's queue")    \
	X(steer_ring_full, P, "dropped: the owning worker's steering ring was full")               \
	X(arp_copies, P, "ARP frames copied to every other worker (each keeps its own cache)")     \
	X(busy_cycles, W, "TSC cycles of loop iterations that received or sent packets")           \
	X(idle_cycles, W, "TSC cycles of loop iterations that found nothing (back-off sleeps too)") \
	X(stalled_cycles, W, "TSC cycles of gaps between polls past drv_dpdk_stall_tsc (preempted)") \
	X(tsc_hz, W, "TSC cycles per second (busy_cycles / tsc_hz = busy CPU-seconds)")            \
	X(rss_hardware, P, "1: the port's RSS steers flows (symmetric key, our RETA); 0: software") \
	X(csum_offload, P, "1: the port computes and checks TCP checksums; 0: software")

enum drv_counter_id {
#define X(n, sc, d) DRV_C_##n,
	DRV_COUNTERS(X)
#undef X
	    DRV_C_COUNT
};
static const char *const drv_counter_names[DRV_C_COUNT] = {
#define X(n, sc, d) #n,
    DRV_COUNTERS(X)
#undef X
};
static const bool drv_counter_per_port[DRV_C_COUNT] = {
#define X(n, sc, d) #sc[0] == 'P',
    DRV_COUNTERS(X)
#undef X
};

enum ext_state { EXT_NONE, EXT_WAIT, EXT_ATTACHED, EXT_DETACHED };

/* The driver's side of a TCP block (same index). */
struct ext {
	uint32_t dp_idx, dp_gen; /* the dp_conn, when ATTACHED */
	uint8_t st;		 /* enum ext_state */
	bool peer_fin;		 /* the peer's FIN arrived */
	bool tcp_closed;	 /* CLOSED event seen: no more TCP calls on it */
	bool rcv_pending;	 /* on the window-reopen list */
	bool in_pending;	 /* bytes appended to the dp_conn's input, not parsed yet */
	uint16_t listener;	 /* TCP listener slot of a passive open (the stack forgets it) */
	struct dp_chain stash;	 /* bytes before control's answer (bounded by STASH_MAX) */
};

struct flow_key {
	uint32_t raddr, laddr;
	uint16_t rport, lport;
} __attribute__((packed));

struct dw;

/* One port of a worker: its queue pair, pool, interface state (MAC,
 * address, ARP cache, ICMP) and tx burst. */
struct dw_port {
	struct dw *d;
	uint16_t port, queue;
	struct rte_mempool *pool;
	const struct drv_dpdk_port *gp;
	uint32_t addr; /* our address (tx picks the port that owns the source) */
	struct net_l3 l3;
	struct rte_mbuf *tx[DRV_DPDK_BURST];
	unsigned n_tx;
	/* fault injection (dpdkFaultInjection): rx after the queue, tx before it */
	bool fault_on;
	struct drv_dpdk_fault frx, ftx;
	struct rte_mbuf *rx_f[FAULT_OUT_CAP], *tx_f[FAULT_OUT_CAP];
	uint64_t c[DRV_C_COUNT]; /* the per-port ones (drv_counter_per_port) */
};

struct dw {
	struct dp_worker *w;
	uint16_t queue;
	struct rte_hash *flows;
	bool started;
	struct dw_port *ports; /* drv_dpdk_g.n_ports of them, never moved (net_l3) */
	unsigned n_ports;
	struct net_tcp_stack tcp;
	struct net_tcp_conn *tcbs;
	struct ext *ext;
	uint32_t ntcb;
	struct net_tcp_pool tpool;
	void *tpool_mem;
	uint32_t *wheel;
	uint16_t listener_of_slot[NET_TCP_MAX_LISTENERS]; /* TCP slot -> control's listener */
	uint32_t *rcv_list; /* TCP blocks whose receive window to reopen after the burst */
	uint32_t n_rcv;
	uint64_t tsc_hz;
	uint64_t now_tsc;	 /* TSC at the latest clock_read */
	uint64_t ns_per_tsc_q32; /* 1e9 / tsc_hz, 32.32 fixed point */
	uint64_t stall_tsc;	 /* a longer gap between polls is a stall (drv_dpdk_stall_tsc) */
	uint64_t next_engine_clock_ns;
	bool last_busy;	  /* the previous poll received packets */
	uint64_t now_ns, now_us;
	uint64_t next_tick_ns;
	unsigned empty_polls;
	uint64_t c[DRV_C_COUNT];
	struct drv_dpdk_seg seg; /* tcp_output's mbuf while net_l3 sends it */
	const struct rte_mbuf *rx_m; /* the frame net_l3_rx is handling */
	bool in_rx; /* in the rx bursts of a poll: tcp_recv defers the engine */
};

static struct dw *dw_of(struct dp_worker *w)
{
	return (struct dw *)w->drv_state;
}

static inline void cnt(struct dw *d, enum drv_counter_id i, uint64_t n)
{
	__atomic_store_n(&d->c[i], d->c[i] + n, __ATOMIC_RELAXED);
}

static inline void pcnt(struct dw_port *pp, enum drv_counter_id i, uint64_t n)
{
	__atomic_store_n(&pp->c[i], pp->c[i] + n, __ATOMIC_RELAXED);
}

/* The port a segment from local address a leaves by: the one that owns
 * a (the stack only has connections on our addresses); port 0 else. */
static struct dw_port *port_of_addr(struct dw *d, uint32_t a)
{
	for (unsigned p = 1; p < d->n_ports; p++)
		if (d->ports[p].addr == a)
			return &d->ports[p];
	return &d->ports[0];
}

static void clock_read(struct dw *d)
{
	uint64_t t = rte_get_tsc_cycles();
	d->now_tsc = t;
	/* cycles to ns by a 32.32 fixed-point multiply (a 128-bit division
	 * per poll showed in the profile as __udivti3); 128-bit product: TSC
	 * counts times the factor overflow 64 bits */
	d->now_ns = (uint64_t)(((unsigned __int128)t * d->ns_per_tsc_q32) >> 32);
	d->now_us = d->now_ns / 1000u;
	if (d->now_ns >= d->next_engine_clock_ns) {
		/* the engine's millisecond clocks (CLOCK_MONOTONIC now_ms and
		 * CLOCK_REALTIME wall_ms), which dp_worker_step would read with
		 * two clock_gettime calls every iteration (a fifth of the busy
		 * worker's time on this VM), refreshed four times a millisecond
		 * instead: ms values stay exact to a quarter of one */
		d->next_engine_clock_ns = d->now_ns + ENGINE_CLOCK_NS;
		d->w->now_ms = dp_now_ms();
		dp_worker_clock(d->w);
	}
}

/* --- tx ------------------------------------------------------------------- */

static void tx_flush_port(struct dw_port *pp)
{
	struct rte_mbuf **out = pp->tx;
	unsigned n = pp->n_tx;
	if (pp->fault_on) {
		/* with n 0 too: delayed and held frames leave when due */
		n = drv_dpdk_fault_apply(&pp->ftx, (void *const *)pp->tx, pp->n_tx,
					 (void **)pp->tx_f, FAULT_OUT_CAP, pp->d->now_ns);
		out = pp->tx_f;
	}
	pp->n_tx = 0;
	if (n == 0)
		return;
	uint16_t sent = rte_eth_tx_burst(pp->port, pp->queue, out, (uint16_t)n);
	pcnt(pp, DRV_C_tx_packets, sent);
	if (sent < n) {
		/* like a full wire: the frames are lost, TCP retransmits */
		pcnt(pp, DRV_C_tx_full, n - sent);
		rte_pktmbuf_free_bulk(out + sent, n - sent);
	}
}

static void tx_flush(struct dw *d)
{
	for (unsigned p = 0; p < d->n_ports; p++)
		tx_flush_port(&d->ports[p]);
}

static bool tx_pending(const struct dw *d)
{
	for (unsigned p = 0; p < d->n_ports; p++)
		if (d->ports[p].n_tx)
			return true;
	return false;
}

/* --- fault injection (tests) ------------------------------------------------ */

static void *fault_clone(void *ctx, void *pkt)
{
	struct dw_port *pp = (struct dw_port *)ctx;
	return rte_pktmbuf_copy((struct rte_mbuf *)pkt, pp->pool, 0, UINT32_MAX);
}

static void fault_free(void *ctx, void *pkt)
{
	(void)ctx;
	rte_pktmbuf_free((struct rte_mbuf *)pkt);
}

static int fault_corrupt(void *ctx, void *pkt, uint64_t rnd)
{
	(void)ctx;
	struct rte_mbuf *m = (struct rte_mbuf *)pkt;
	if (m->data_len == 0)
		return -1;
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	p[rnd % m->data_len] ^= (uint8_t)((rnd >> 32) | 1u); /* always changes the byte */
	return 0;
}

/* A frame from net_l3: a TCP segment's own mbuf (drv_dpdk_frame.h), or
 * a copy of what net_l3 built in its buffers (ARP, ICMP, RSTs, frames
 * queued behind ARP). */
static int l3_tx_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct dw_port *pp = (struct dw_port *)ctx;
	bool copied;
	struct rte_mbuf *m = drv_dpdk_frame_take(&pp->d->seg, pp->pool, frame, len, &copied);
	if (m == NULL) {
		pcnt(pp, DRV_C_tx_no_mbuf, 1);
		return -1;
	}
	/* this port's checksum offload, not the one of the port whose
	 * address the segment has (the stack leaves every sum to us) */
	drv_dpdk_frame_tcp_csum(m, pp->gp->csum_offload);
	if (copied)
		pcnt(pp, DRV_C_tx_copied, 1);
	pp->tx[pp->n_tx++] = m;
	if (pp->n_tx == DRV_DPDK_BURST)
		tx_flush_port(pp);
	return 0;
}

/* TCP segment out, built in the mbuf it is sent in (docs/adr/0005
 * "Zero-copy tx"): the one copy is from the stack's send blocks, which
 * stay the stack's for retransmission. */
static void tcp_output(void *ctx, const struct net_tcp_seg_out *seg)
{
	struct dw *d = (struct dw *)ctx;
	/* out by the port that owns the connection's local address */
	struct dw_port *pp = port_of_addr(d, seg->saddr);
	uint8_t *f;
	size_t len;
	if (drv_dpdk_seg_build(&d->seg, pp->pool, seg, &f, &len) == NULL) {
		pcnt(pp, DRV_C_tx_no_mbuf, 1); /* as a lost frame: TCP retransmits */
		return;
	}
	(void)net_ipv4_send_frame(&pp->l3, d->now_ns, f, len, seg->saddr, seg->daddr,
				  NET_IPV4_PROTO_TCP);
	drv_dpdk_seg_done(&d->seg);
}

/* The ports of a worker are one host's interfaces, in the weak end system
 * model (RFC 1122 3.3.4.2, Linux's default): a datagram to any of the
 * router's addresses is taken on any port, and one to a peer off the
 * sending port's subnet leaves by the host's route, as the kernel's
 * routing table would send it (net_eth.h host_addr, tx_off_link). Set
 * only with more than one port. */
static bool l3_host_addr(void *ctx, uint32_t ip)
{
	const struct dw_port *pp = (const struct dw_port *)ctx;
	const struct dw *d = pp->d;
	for (unsigned p = 0; p < d->n_ports; p++)
		if (&d->ports[p] != pp && d->ports[p].addr == ip)
			return true;
	return false;
}

/* The route for dst off pp's subnet: another port's subnet holding it,
 * else pp's own gateway (NULL), else the port that has the gateway. */
static struct dw_port *off_link_route(struct dw_port *pp, uint32_t dst, bool have_gateway)
{
	struct dw *d = pp->d;
	struct dw_port *gw = NULL;
	for (unsigned p = 0; p < d->n_ports; p++) {
		struct dw_port *q = &d->ports[p];
		if (q == pp)
			continue;
		if (net_l3_on_link(&q->l3, dst))
			return q;
		if (gw == NULL && q->l3.cfg.gateway != 0)
			gw = q;
	}
	return have_gateway ? NULL : gw;
}

static int l3_tx_off_link(void *ctx, uint64_t now_ns, uint8_t *frame, size_t len, uint32_t src,
			  uint32_t dst, uint8_t proto, bool have_gateway)
{
	struct dw_port *q = off_link_route((struct dw_port *)ctx, dst, have_gateway);
	if (q == NULL)
		return -1;
	return (int)net_ipv4_send_frame_via(&q->l3, now_ns, frame, len, src, dst, proto);
}

/* --- TCP -> engine ---------------------------------------------------------- */

static uint32_t tcb_index(struct dw *d, const struct net_tcp_conn *c)
{
	return net_tcp_conn_index(&d->tcp, c);
}

static struct dp_conn *ext_conn(struct dw *d, struct ext *e)
{
	if (e->st != EXT_ATTACHED)
		return NULL;
	return dp_conn_lookup(d->w, e->dp_idx, e->dp_gen);
}

static void rcv_later(struct dw *d, uint32_t i)
{
	struct ext *e = &d->ext[i];
	if (e->rcv_pending)
		return;
	e->rcv_pending = true;
	/* once per block while pending; a drain while the list is walked may
	 * add a block again: room for two rounds */
	if (d->n_rcv < 2 * d->ntcb)
		d->rcv_list[d->n_rcv++] = i;
}

static size_t tcp_recv(void *ctx, struct net_tcp_conn *tc, const uint8_t *p, size_t len)
{
	struct dw *d = (struct dw *)ctx;
	struct dp_worker *w = d->w;
	uint32_t i = tcb_index(d, tc);
	struct ext *e = &d->ext[i];
	rcv_later(d, i);
	if (e->st == EXT_WAIT) {
		size_t room = STASH_MAX - (size_t)e->stash.len;
		size_t take = len < room ? len : room;
		if (take && dp_chain_append_copy(&w->blocks, &e->stash, p, take) != 0)
			take = 0;
		if (take < len)
			cnt(d, DRV_C_stash_full, len - take);
		return take;
	}
	struct dp_conn *c = ext_conn(d, e);
	if (c == NULL)
		return len; /* closing: what the peer still sends is not read */
	if (c->paused && c->in.len > IN_HOLD_MAX) {
		c->reading_blocked = true; /* the window closes; reopened by the flush */
		return 0;
	}
	if (dp_chain_append_copy(&w->blocks, &c->in, p, len) != 0) {
		c->reading_blocked = true;
		return 0;
	}
	dp_count(w, DP_C_rx_bytes, len);
	c->rx += len;
	c->last_rx_ms = w->now_ms;
	if (d->in_rx) {
		/* parsed once per poll (rcv_input), not per segment: a 1460-byte
		 * segment holds ~7 small transfers and ends inside one, which a
		 * parse per segment would start over; a burst's worth in one go
		 * is what the socket driver's 16 KB read gives the engine */
		e->in_pending = true;
		return len;
	}
	dp_conn_input(w, c); /* held bytes a reopened window let through */
	return len;
}

/* What tcp_recv appended to e's connection, through the engine now. */
static void input_now(struct dw *d, struct ext *e)
{
	if (!e->in_pending)
		return;
	e->in_pending = false;
	struct dp_conn *c = ext_conn(d, e);
	if (c)
		dp_conn_input(d->w, c);
}

static void out_to_tcp(struct dw *d, struct dp_conn *c, struct net_tcp_conn *tc);

static int flow_key_of(const struct net_tcp_conn *tc, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->raddr = tc->raddr;
	k->laddr = tc->laddr;
	k->rport = tc->rport;
	k->lport = tc->lport;
	return 0;
}

static void tcp_event(void *ctx, struct net_tcp_conn *tc, enum net_tcp_event ev,
		      enum net_tcp_close_reason why)
{
	struct dw *d = (struct dw *)ctx;
	struct dp_worker *w = d->w;
	uint32_t i = tcb_index(d, tc);
	struct ext *e = &d->ext[i];
	struct flow_key k;
	switch (ev) {
	case NET_TCP_EV_NEW:
		flow_key_of(tc, &k);
		if (rte_hash_add_key_data(d->flows, &k, (void *)(uintptr_t)i) != 0)
			net_tcp_abort(&d->tcp, tc, d->now_us); /* sized for every block: never */
		e->st = EXT_NONE;
		e->listener = tc->listener; /* NEW: passive opens only */
		e->peer_fin = e->tcp_closed = e->in_pending = false;
		dp_chain_init(&e->stash);
		break;
	case NET_TCP_EV_ESTABLISHED: {
		if (e->listener >= NET_TCP_MAX_LISTENERS || e->st != EXT_NONE)
			break; /* our own connect (none yet), or reported already */
		struct dp_evt_native_new n;
		memset(&n, 0, sizeof(n));
		n.token = (uint64_t)i | (uint64_t)tc->gen << 32;
		n.peer_addr = tc->raddr;
		n.peer_port = tc->rport;
		n.listener = d->listener_of_slot[e->listener];
		if (w->stopping || !dp_post_control(w, DP_EVT_NATIVE_NEW, &n, sizeof(n), NULL, 0)) {
			cnt(d, DRV_C_native_post_fail, 1);
			e->st = EXT_DETACHED;
			net_tcp_abort(&d->tcp, tc, d->now_us);
			break;
		}
		cnt(d, DRV_C_native_new, 1);
		e->st = EXT_WAIT;
		break;
	}
	case NET_TCP_EV_SENDABLE: {
		struct dp_conn *c = ext_conn(d, e);
		if (c && c->out.len)
			dp_conn_mark_dirty(w, c);
		break;
	}
	case NET_TCP_EV_PEER_FIN: {
		e->peer_fin = true;
		input_now(d, e); /* the bytes before the FIN first */
		struct dp_conn *c = ext_conn(d, e);
		if (c) {
			/* as the socket driver on read() == 0, but what the engine
			 * answered to the peer's last bytes (its Close: a peer may
			 * half-close after it) goes first, then our FIN */
			out_to_tcp(d, c, tc);
			dp_conn_set_reason(
			    c, "%s",
			    c->state == DP_CONN_CLOSING ? "closed" : "the peer closed the socket");
			dp_conn_destroy(w, c);
		}
		break;
	}
	case NET_TCP_EV_CLOSED: {
		e->tcp_closed = true;
		input_now(d, e); /* what arrived before the reset or time-out */
		struct dp_conn *c = ext_conn(d, e);
		if (c) {
			dp_conn_set_reason(c, "%s", net_tcp_close_reason_text(why));
			dp_conn_destroy(w, c);
		}
		if (e->st == EXT_WAIT)
			e->st = EXT_DETACHED; /* control's answer finds the token stale */
		break;
	}
	case NET_TCP_EV_FREE: {
		input_now(d, e);
		struct dp_conn *c = ext_conn(d, e);
		e->listener = UINT16_MAX;
		e->tcp_closed = true;
		if (c) {
			dp_conn_set_reason(c, "%s", "connection lost");
			dp_conn_destroy(w, c);
		}
		flow_key_of(tc, &k);
		rte_hash_del_key(d->flows, &k);
		dp_chain_clear(&w->blocks, &e->stash);
		e->st = EXT_NONE;
		break;
	}
	}
}

/* The stack checks no TCP checksum (it runs with csum_offload): on a port
 * with checksum offload its verdict (RTE_MBUF_F_RX_L4_CKSUM_*) decides,
 * and a frame it did not check (UNKNOWN: options, a PMD that skips some)
 * is summed here; on a port without, every frame is summed here (the flags
 * of a PMD not asked to check mean nothing). */
static bool rx_csum_ok(const struct dw_port *pp, uint32_t src, uint32_t dst, const uint8_t *seg,
		       size_t len)
{
	const struct rte_mbuf *m = pp->d->rx_m;
	uint64_t f = m != NULL && pp->gp->csum_offload ? m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK
						       : RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
	if (f == RTE_MBUF_F_RX_L4_CKSUM_GOOD || f == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return true; /* NONE: the data was verified, the field not */
	if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD || len > 65535)
		return false;
	struct net_csum cs; /* RFC 9293 3.1: pseudo-header + segment sums to 0 */
	net_csum_init(&cs);
	net_csum_pseudo4(&cs, src, dst, NET_IPV4_PROTO_TCP, (uint16_t)len);
	net_csum_add(&cs, seg, len);
	return net_csum_finish(&cs) == 0;
}

/* A TCP segment for one of our addresses: find its block, run TCP. */
static void l3_tcp_rx(void *ctx, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
		      uint64_t now_ns)
{
	struct dw_port *pp = (struct dw_port *)ctx;
	struct dw *d = pp->d;
	(void)now_ns;
	if (!rx_csum_ok(pp, src, dst, seg, len)) {
		pcnt(pp, DRV_C_rx_bad_csum, 1);
		return;
	}
	struct net_tcp_conn *tc = NULL;
	if (len >= 4) {
		struct flow_key k;
		memset(&k, 0, sizeof(k));
		k.raddr = src;
		k.laddr = dst;
		k.rport = (uint16_t)(seg[0] << 8 | seg[1]);
		k.lport = (uint16_t)(seg[2] << 8 | seg[3]);
		void *v;
		if (rte_hash_lookup_data(d->flows, &k, &v) >= 0)
			tc = &d->tcbs[(uint32_t)(uintptr_t)v];
	}
	net_tcp_input(&d->tcp, tc, src, dst, seg, len, d->now_us);
}

/* Software flow steering (docs/adr/0005-dpdk-driver.md): the worker that
 * owns a TCP flow (drv_dpdk_steer: symmetric Toeplitz, so both directions
 * agree) handles all its packets. Returns the owner of frame f; ARP is
 * everyone's (each worker resolves its own next hops); everything else
 * (ICMP, fragments, garbage) is handled where it landed. */
enum { OWNER_ALL = -1 };

static int frame_owner(const struct dw_port *pp, const uint8_t *f, uint32_t len,
		       const uint32_t *hw_hash)
{
	const struct dw *d = pp->d;
	const struct drv_dpdk_steer *st = &pp->gp->steer;
	if (len < NET_ETH_HLEN)
		return (int)d->w->id;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == NET_ETHERTYPE_ARP)
		return OWNER_ALL;
	if (hw_hash != NULL)
		/* the port hashed it with our key: our RETA names the owner
		 * (where it landed, unless the port's table differs) */
		return (int)drv_dpdk_steer_worker_of_hash(st, *hw_hash);
	if (et != NET_ETHERTYPE_IPV4 || len < NET_ETH_HLEN + NET_IPV4_HLEN)
		return (int)d->w->id;
	const uint8_t *ip = f + NET_ETH_HLEN;
	uint32_t ihl = (uint32_t)(ip[0] & 15u) * 4u;
	uint16_t frag = (uint16_t)(ip[6] << 8 | ip[7]);
	if (ip[9] != NET_IPV4_PROTO_TCP || ihl < NET_IPV4_HLEN ||
	    (frag & (NET_IPV4_MF | NET_IPV4_OFF_MASK)) || len < NET_ETH_HLEN + ihl + 4)
		return (int)d->w->id;
	uint32_t src =
	    (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
	uint32_t dst =
	    (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
	const uint8_t *l4 = ip + ihl;
	uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]), dport = (uint16_t)(l4[2] << 8 | l4[3]);
	return (int)drv_dpdk_steer_worker(st, src, dst, sport, dport);
}

static void steer_to(struct dw_port *pp, unsigned owner, struct rte_mbuf *m)
{
	/* m->port (the PMD's, kept by rte_pktmbuf_copy) tells the owner
	 * which of its ports the frame is for */
	if (rte_ring_mp_enqueue(drv_dpdk_g.rings[owner], m) != 0) {
		pcnt(pp, DRV_C_steer_ring_full, 1);
		rte_pktmbuf_free(m);
		return;
	}
	pcnt(pp, DRV_C_steered_out, 1);
}

/* The input of connections that received in this poll, through the
 * engine: once per connection per poll. The list may grow while it is
 * walked (a connection the engine destroys frees its TCP block, which
 * receives nothing): walked by index. */
static void rcv_input(struct dw *d)
{
	for (uint32_t k = 0; k < d->n_rcv; k++)
		input_now(d, &d->ext[d->rcv_list[k]]);
}

/* Windows of connections that received: what the engine can take next. */
static void rcv_reopen(struct dw *d)
{
	for (uint32_t k = 0; k < d->n_rcv; k++) {
		uint32_t i = d->rcv_list[k];
		struct ext *e = &d->ext[i];
		e->rcv_pending = false;
		if (e->tcp_closed || e->st == EXT_NONE || e->st == EXT_DETACHED)
			continue;
		uint32_t space = d->tcp.cfg.rcv_space;
		struct dp_conn *c = ext_conn(d, e);
		if (c && c->paused)
			space = c->in.len < IN_HOLD_MAX ? IN_HOLD_MAX - (uint32_t)c->in.len : 0;
		if (c && c->reading_blocked)
			continue; /* reopened by the flush once the engine takes input again */
		net_tcp_set_rcv_space(&d->tcp, &d->tcbs[i], space, d->now_us);
	}
	d->n_rcv = 0;
}

/* --- drv_ops ---------------------------------------------------------------- */

static int dpdk_worker_init(struct dp_worker *w)
{
	struct drv_dpdk_global *g = &drv_dpdk_g;
	struct dw *d = (struct dw *)calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	w->drv_state = d;
	d->w = w;
	d->queue = (uint16_t)w->id;
	d->n_ports = g->n_ports;
	d->ports = (struct dw_port *)calloc(g->n_ports, sizeof(*d->ports));
	if (d->ports == NULL)
		return -1;
	d->tsc_hz = g->tsc_hz;
	d->ns_per_tsc_q32 = (uint64_t)(((unsigned __int128)1000000000u << 32) / g->tsc_hz);
	d->c[DRV_C_tsc_hz] = g->tsc_hz;
	d->stall_tsc = drv_dpdk_stall_tsc(g->tsc_hz, g->n_ports, DRV_DPDK_BURST, g->cfg.mtu);
	/* the driver keeps the engine's clocks (clock_read), not
	 * dp_worker_step */
	w->clock_frozen = true;
	clock_read(d);
	/* TCP blocks: every connection slot of the worker, plus room for
	 * handshakes and TIME-WAIT (blocks are freed later than dp_conns) */
	d->ntcb = w->max_conns + w->max_conns / 2 + 64;
	d->tcbs = (struct net_tcp_conn *)calloc(d->ntcb, sizeof(*d->tcbs));
	d->ext = (struct ext *)calloc(d->ntcb, sizeof(*d->ext));
	d->rcv_list = (uint32_t *)calloc(2 * (size_t)d->ntcb, sizeof(uint32_t));
	/* data blocks: 8 per connection slot on average (16 KB), at least 4096,
	 * at most 65536 (128 MB, touched only as used) */
	uint64_t nb = (uint64_t)w->max_conns * 8;
	nb = nb < 4096 ? 4096 : nb > 65536 ? 65536 : nb;
	size_t mem = net_tcp_pool_mem_size((uint32_t)nb, TCP_BLOCK);
	d->tpool_mem = malloc(mem);
	const uint32_t slots = 4096;
	d->wheel = (uint32_t *)calloc(slots + 1, sizeof(uint32_t));
	if (!d->tcbs || !d->ext || !d->rcv_list || !d->tpool_mem || !d->wheel)
		return -1;
	for (uint32_t i = 0; i < d->ntcb; i++)
		d->ext[i].listener = UINT16_MAX;
	if (net_tcp_pool_init(&d->tpool, d->tpool_mem, mem, TCP_BLOCK) != 0)
		return -1;
	char hname[RTE_HASH_NAMESIZE];
	snprintf(hname, sizeof(hname), "rr_flows_%u", w->id);
	struct rte_hash_parameters hp;
	memset(&hp, 0, sizeof(hp));
	hp.name = hname;
	hp.entries = d->ntcb < 64 ? 64 : d->ntcb;
	hp.key_len = sizeof(struct flow_key);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = (int)rte_socket_id();
	d->flows = rte_hash_create(&hp);
	if (d->flows == NULL)
		return -1;

	for (unsigned p = 0; p < d->n_ports; p++) {
		struct dw_port *pp = &d->ports[p];
		const struct drv_dpdk_port *gp = &g->ports[p];
		pp->d = d;
		pp->gp = gp;
		pp->port = gp->port;
		pp->queue = d->queue;
		pp->pool = gp->pools[w->id];
		pp->addr = gp->cfg.addr;
		pp->c[DRV_C_rss_hardware] = gp->rss_mode == DRV_DPDK_RSS_HARDWARE;
		pp->c[DRV_C_csum_offload] = gp->csum_offload;
		if (g->fault.any) {
			const struct drv_dpdk_fault_ops fo = {fault_clone, fault_free,
							      fault_corrupt};
			struct drv_dpdk_fault_spec sp = g->fault;
			/* each direction of each worker and port its own (port
			 * 0's seeds as with one port) */
			sp.seed = g->fault.seed + 2u * (w->id + p * DP_MAX_WORKERS);
			if (drv_dpdk_fault_init(&pp->frx, &sp, &fo, pp, FAULT_DELAY_CAP) != 0)
				return -1;
			sp.seed++;
			if (drv_dpdk_fault_init(&pp->ftx, &sp, &fo, pp, FAULT_DELAY_CAP) != 0) {
				drv_dpdk_fault_fini(&pp->frx);
				return -1;
			}
			pp->fault_on = true;
		}
		struct net_l3_config lc;
		memset(&lc, 0, sizeof(lc));
		lc.mac = gp->mac;
		lc.addrs[0].addr = gp->cfg.addr;
		lc.addrs[0].prefix_len = gp->cfg.prefix_len;
		lc.n_addrs = 1;
		lc.gateway = gp->cfg.gateway;
		lc.ip_id_seed = (uint16_t)rte_rand();
		lc.mtu = g->cfg.mtu; /* dpdkMtu: one for every port (so one MSS per stack) */
		struct net_l3_ops lo = {
		    .ctx = pp, .tx_frame = l3_tx_frame, .tcp_rx = l3_tcp_rx, .event = NULL};
		if (d->n_ports > 1) {
			lo.host_addr = l3_host_addr;
			lo.tx_off_link = l3_tx_off_link;
		}
		net_l3_init(&pp->l3, &lc, &lo);
	}

	struct net_tcp_cfg tcfg;
	net_tcp_cfg_default(&tcfg);
	/* TCP checksums are the driver's, port by port: the port's where it
	 * offers them (drv_dpdk_setup decided), else summed in l3_tx_frame
	 * and l3_tcp_rx */
	tcfg.csum_offload = true;
	tcfg.mss = net_tcp_mss_for_mtu(g->cfg.mtu); /* RFC 9293 3.7.1: 1500 -> 1460 */
	for (int i = 0; i < 16; i += 8) {
		uint64_t r = rte_rand(); /* RFC 6528: a secret per stack */
		memcpy(tcfg.isn_key + i, &r, 8);
	}
	struct net_tcp_ops to = {.output = tcp_output, .recv = tcp_recv, .event = tcp_event};
	if (net_tcp_stack_init(&d->tcp, &tcfg, &to, d, d->tcbs, d->ntcb, &d->tpool, d->wheel, slots,
			       d->now_us) != 0)
		return -1;
	for (unsigned i = 0; i < g->n_listeners; i++) {
		int slot =
		    net_tcp_listen(&d->tcp, g->listeners[i].addr, g->listeners[i].port, 1024);
		if (slot < 0)
			return -1;
		d->listener_of_slot[slot] = g->listeners[i].idx;
	}
	/* a poller of the unmap guard from now on (before launch: a memif
	 * peer leaving before the first poll waits for that poll) */
	_Static_assert(DP_MAX_WORKERS <= DRV_DPDK_UNMAP_SLOTS, "a guard slot per worker");
	return drv_dpdk_unmap_online(w->id);
}

static void dpdk_worker_fini(struct dp_worker *w)
{
	struct dw *d = dw_of(w);
	if (d == NULL)
		return;
	/* this thread bursts on the worker's queues now (the loop is over) */
	drv_dpdk_unmap_quiescent(w->id);
	if (d->ext)
		for (uint32_t i = 0; i < d->ntcb; i++)
			if (d->ext[i].st != EXT_NONE || d->ext[i].stash.n)
				dp_chain_clear(&w->blocks, &d->ext[i].stash);
	/* the worker's loop ended (control thread now, the queue has no other
	 * user): frames built in its last iteration (a Close, a FIN) go out */
	for (unsigned p = 0; d->ports && p < d->n_ports; p++) {
		struct dw_port *pp = &d->ports[p];
		if (pp->fault_on) {
			unsigned n =
			    drv_dpdk_fault_flush(&pp->ftx, (void **)pp->tx_f, FAULT_OUT_CAP);
			if (n) {
				uint16_t sent =
				    rte_eth_tx_burst(pp->port, pp->queue, pp->tx_f, (uint16_t)n);
				if (sent < n)
					rte_pktmbuf_free_bulk(pp->tx_f + sent, n - sent);
			}
			drv_dpdk_fault_fini(&pp->frx);
			drv_dpdk_fault_fini(&pp->ftx);
			pp->fault_on = false;
		}
		if (pp->n_tx)
			tx_flush_port(pp);
	}
	if (d->flows)
		rte_hash_free(d->flows);
	free(d->tcbs);
	free(d->ext);
	free(d->rcv_list);
	free(d->tpool_mem);
	free(d->wheel);
	free(d->ports);
	free(d);
	w->drv_state = NULL;
	drv_dpdk_unmap_offline(w->id); /* after the last burst above */
}

static void dpdk_wake(struct dp_worker *w)
{
	(void)w; /* the worker polls; at worst it sleeps one idle back-off */
}

static struct ext *ext_of_token(struct dw *d, uint64_t token)
{
	uint32_t i = (uint32_t)token;
	if (i >= d->ntcb || d->tcbs[i].gen != (uint32_t)(token >> 32))
		return NULL;
	return &d->ext[i];
}

static int dpdk_conn_attach(struct dp_worker *w, struct dp_conn *c)
{
	struct dw *d = dw_of(w);
	struct ext *e = ext_of_token(d, c->drv_token);
	if (e == NULL || e->st != EXT_WAIT || e->tcp_closed)
		return -1; /* gone while control decided: it gets CONN_GONE */
	e->st = EXT_ATTACHED;
	e->dp_idx = c->idx;
	e->dp_gen = c->gen;
	c->fd = -1;
	dp_conn_mark_dirty(w, c); /* the flush feeds the stash to the engine */
	return 0;
}

static void dpdk_conn_refuse(struct dp_worker *w, uint64_t token)
{
	struct dw *d = dw_of(w);
	struct ext *e = ext_of_token(d, token);
	if (e == NULL || e->st != EXT_WAIT)
		return;
	e->st = EXT_DETACHED;
	cnt(d, DRV_C_native_refused, 1);
	if (!e->tcp_closed)
		net_tcp_abort(&d->tcp, &d->tcbs[(uint32_t)token], d->now_us);
}

static void dpdk_conn_release(struct dp_worker *w, struct dp_conn *c)
{
	struct dw *d = dw_of(w);
	struct ext *e = ext_of_token(d, c->drv_token);
	if (e == NULL || e->st != EXT_ATTACHED || e->dp_idx != c->idx || e->dp_gen != c->gen)
		return;
	e->st = EXT_DETACHED;
	if (e->tcp_closed)
		return;
	struct net_tcp_conn *tc = &d->tcbs[(uint32_t)c->drv_token];
	if (c->out.len)
		net_tcp_abort(&d->tcp, tc, d->now_us); /* forced: output left unwritten */
	else
		net_tcp_shutdown(&d->tcp, tc, d->now_us); /* FIN after what TCP holds */
}

static void dpdk_conn_flush(struct dp_worker *w, struct dp_conn *c)
{
	struct dw *d = dw_of(w);
	struct ext *e = ext_of_token(d, c->drv_token);
	if (e == NULL || e->st != EXT_ATTACHED || e->dp_idx != c->idx || e->dp_gen != c->gen)
		return;
	struct net_tcp_conn *tc = &d->tcbs[(uint32_t)c->drv_token];
	if (e->stash.len) {
		/* bytes that arrived before control's answer, in order */
		uint64_t n = e->stash.len;
		if (dp_chain_move(&c->in, &e->stash) != 0) {
			dp_conn_set_reason(c, "out of memory");
			dp_conn_destroy(w, c);
			return;
		}
		dp_count(w, DP_C_rx_bytes, n);
		c->rx += n;
		c->last_rx_ms = w->now_ms;
		dp_conn_input(w, c);
		if (c->state == DP_CONN_FREE)
			return;
	}
	if (e->peer_fin) {
		dp_conn_set_reason(c, "%s", "the peer closed the socket");
		dp_conn_destroy(w, c);
		return;
	}
	out_to_tcp(d, c, tc);
	if (c->out.len && c->stall_ms == 0)
		c->stall_ms = w->now_ms;
	if (c->close_when_flushed && c->out.len == 0) {
		dp_conn_set_reason(c, "closed");
		dp_conn_destroy(w, c);
		return;
	}
	if (c->reading_blocked && !c->paused) {
		c->reading_blocked = false;
		net_tcp_set_rcv_space(&d->tcp, tc, d->tcp.cfg.rcv_space, d->now_us);
	}
}

/* c->out into TCP's send queue, as much as it takes (the rest waits for
 * SENDABLE), then onto the wire. */
static void out_to_tcp(struct dw *d, struct dp_conn *c, struct net_tcp_conn *tc)
{
	struct dp_worker *w = d->w;
	uint64_t moved = 0;
	while (c->out.len > 0) {
		struct iovec iov[MAX_IOV];
		int n_iov = dp_chain_iov(&c->out, iov, MAX_IOV);
		size_t took = 0;
		bool full = false;
		for (int k = 0; k < n_iov; k++) {
			size_t t = net_tcp_send(&d->tcp, tc, iov[k].iov_base, iov[k].iov_len);
			took += t;
			if (t < iov[k].iov_len) {
				full = true;
				break;
			}
		}
		if (took) {
			uint64_t before = c->out.len;
			dp_chain_consume(&w->blocks, &c->out, took);
			moved += took;
			if (before >= DP_OUT_WATERMARK / 2 && c->out.len < DP_OUT_WATERMARK / 2)
				dp_conn_output_drained(w, c);
		}
		if (full || took == 0)
			break; /* the rest waits for SENDABLE */
	}
	if (moved) {
		dp_count(w, DP_C_tx_bytes, moved);
		c->tx += moved;
		if (c->state != DP_CONN_CLOSING)
			c->stall_ms = 0;
		net_tcp_flush(&d->tcp, tc, d->now_us);
	}
}

/* the only blocking a poll does is the idle back-off's sleep */
static bool dpdk_may_block(struct dp_worker *w)
{
	const struct dw *d = dw_of(w);
	return drv_dpdk_g.cfg.idle_backoff_us && d->empty_polls >= DRV_DPDK_IDLE_POLLS;
}

/* One rx burst of port pp: fault injection, steering of other workers'
 * flows, the rest through pp's interface. The packets it handled here. */
static unsigned poll_port(struct dw *d, struct dw_port *pp)
{
	struct dp_worker *w = d->w;
	struct drv_dpdk_global *g = &drv_dpdk_g;
	struct rte_mbuf *raw[DRV_DPDK_BURST], **pk = raw;
	uint16_t n = rte_eth_rx_burst(pp->port, pp->queue, raw, DRV_DPDK_BURST);
	if (pp->fault_on) {
		/* drop, duplicate, reorder, delay, corrupt what the wire brought */
		n = (uint16_t)drv_dpdk_fault_apply(&pp->frx, (void *const *)raw, n,
						   (void **)pp->rx_f, FAULT_OUT_CAP, d->now_ns);
		pk = pp->rx_f;
	}
	if (n == 0)
		return 0;
	unsigned nw = g->n_queues;
	pcnt(pp, DRV_C_rx_bursts, 1);
	pcnt(pp, DRV_C_rx_packets, n);
	uint16_t keep = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pk[i];
		if (m->nb_segs != 1) {
			/* the stack reads frames whole; the pool's data room holds
			 * a frame of the MTU (drv_dpdk_mtu.h), so only a port that
			 * splits frames over buffers gets here (a memif peer whose
			 * bsize= is under the frame) */
			pcnt(pp, DRV_C_rx_multiseg, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		if (nw > 1) {
			m->port = pp->port; /* the owner's dispatch (steered in) */
			/* hardware RSS: its hash, no Toeplitz here */
			const uint32_t *hh = pp->gp->rss_mode == DRV_DPDK_RSS_HARDWARE &&
						     (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)
						 ? &m->hash.rss
						 : NULL;
			int owner =
			    frame_owner(pp, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, hh);
			if (owner == OWNER_ALL) {
				for (unsigned j = 0; j < nw; j++) {
					if (j == w->id)
						continue;
					struct rte_mbuf *cp =
					    rte_pktmbuf_copy(m, pp->pool, 0, UINT32_MAX);
					if (cp) {
						pcnt(pp, DRV_C_arp_copies, 1);
						steer_to(pp, j, cp);
					}
				}
			} else if ((unsigned)owner != w->id) {
				steer_to(pp, (unsigned)owner, m);
				continue;
			}
		}
		pk[keep++] = m;
	}
	for (uint16_t i = 0; i < keep; i++) {
		if (i + 1 < keep)
			rte_prefetch0(rte_pktmbuf_mtod(pk[i + 1], void *));
		struct rte_mbuf *m = pk[i];
		d->rx_m = m;
		net_l3_rx(&pp->l3, d->now_ns, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
	}
	d->rx_m = NULL;
	if (keep)
		rte_pktmbuf_free_bulk(pk, keep);
	return keep;
}

static int dpdk_poll(struct dp_worker *w, int timeout_ms)
{
	struct dw *d = dw_of(w);
	struct drv_dpdk_global *g = &drv_dpdk_g;
	/* no burst of this worker's in progress: a memif unmap waiting on the
	 * interrupt thread may go on, and the bursts below see the PMD's
	 * connected flag as that thread left it (drv_dpdk_unmap.h) */
	drv_dpdk_unmap_quiescent(w->id);
	/* what the engine wrote in this iteration's flush (dp_worker_step)
	 * leaves before anything else, a back-off sleep included */
	bool sent = tx_pending(d);
	tx_flush(d);
	bool slept = false;
	if (timeout_ms != 0 && g->cfg.idle_backoff_us && d->empty_polls >= DRV_DPDK_IDLE_POLLS) {
		/* idle back-off (tests, CI): the only system call of the loop */
		cnt(d, DRV_C_idle_sleeps, 1);
		rte_delay_us_sleep(g->cfg.idle_backoff_us);
		slept = true;
		drv_dpdk_unmap_quiescent(w->id); /* a waiter need not wait for the sleep */
	}
	dp_worker_resume(w); /* online, newest table: before any packet runs the engine */
	uint64_t t0 = d->now_tsc;
	clock_read(d);
	/* busy vs idle (the rdtsc the clock needs anyway): the time since the
	 * last poll was work if that poll received packets or the engine's
	 * flush in between produced frames; otherwise an empty spin */
	uint64_t dt = d->now_tsc - t0;
	if (slept && !sent)
		cnt(d, DRV_C_idle_cycles, dt); /* a back-off sleep is idle, however long */
	else if (dt > d->stall_tsc)
		/* longer than 200 us and a poll's full bursts of work (at
		 * MTU 1500 ~20 us a port, at 9000 ~130 us): the thread was
		 * preempted (a shared core: on this VM most preemptions by a
		 * niced process were 0.2-1 ms) or stopped; kept apart so busy
		 * and idle are the worker's own time */
		cnt(d, DRV_C_stalled_cycles, dt);
	else
		cnt(d, (d->last_busy || sent) ? DRV_C_busy_cycles : DRV_C_idle_cycles, dt);
	if (!d->started) {
		d->started = true;
		for (unsigned p = 0; p < d->n_ports; p++)
			net_l3_start(&d->ports[p].l3, d->now_ns); /* gratuitous ARP (RFC 5227 2.3) */
		d->next_tick_ns = d->now_ns + L3_TICK_NS;
	}
	/* each port's queue in turn, a burst each */
	unsigned n = 0;
	d->in_rx = true;
	for (unsigned p = 0; p < d->n_ports; p++)
		n += poll_port(d, &d->ports[p]);
	if (g->n_queues > 1) {
		/* this worker's packets that landed on other workers' queues
		 * (any port: m->port says which) */
		struct rte_mbuf *in[DRV_DPDK_BURST];
		unsigned got =
		    rte_ring_sc_dequeue_burst(g->rings[w->id], (void **)in, DRV_DPDK_BURST, NULL);
		for (unsigned i = 0; i < got; i++) {
			struct rte_mbuf *m = in[i];
			unsigned pi = m->port < DRV_DPDK_MAX_ETHDEV ? g->port_index[m->port] : 0xffu;
			if (pi >= d->n_ports) {
				rte_pktmbuf_free(m); /* not one of ours: cannot happen */
				continue;
			}
			struct dw_port *pp = &d->ports[pi];
			pcnt(pp, DRV_C_steered_in, 1);
			d->rx_m = m;
			net_l3_rx(&pp->l3, d->now_ns, rte_pktmbuf_mtod(m, const uint8_t *),
				  m->data_len);
		}
		d->rx_m = NULL;
		if (got)
			rte_pktmbuf_free_bulk(in, got);
		n += got;
	}
	d->in_rx = false;
	rcv_input(d);
	if (n) {
		d->empty_polls = 0;
		rcv_reopen(d);
	} else if (d->empty_polls < DRV_DPDK_IDLE_POLLS) {
		d->empty_polls++;
	}
	d->last_busy = n != 0;
	net_tcp_advance(&d->tcp, d->now_us);
	if (d->now_ns >= d->next_tick_ns) {
		d->next_tick_ns = d->now_ns + L3_TICK_NS;
		for (unsigned p = 0; p < d->n_ports; p++)
			net_l3_tick(&d->ports[p].l3, d->now_ns);
	}
	/* frames built by rx and timers leave now; what the engine writes in
	 * the next flush, at the top of the next poll */
	tx_flush(d);
	return (int)n;
}

static void dpdk_counters(struct dp_worker *w,
			  void (*emit)(void *arg, const char *group, const char *name, uint64_t v),
			  void *arg)
{
	struct dw *d = dw_of(w);
	if (d == NULL)
		return;
	/* port 0 under the names of one port; port N in groups "driver.portN",
	 * "net_l3.portN", "fault_rx.portN", "fault_tx.portN" */
	static const char *const groups[][4] = {
	    {"driver", "net_l3", "fault_rx", "fault_tx"},
	    {"driver.port1", "net_l3.port1", "fault_rx.port1", "fault_tx.port1"},
	    {"driver.port2", "net_l3.port2", "fault_rx.port2", "fault_tx.port2"},
	    {"driver.port3", "net_l3.port3", "fault_rx.port3", "fault_tx.port3"},
	    {"driver.port4", "net_l3.port4", "fault_rx.port4", "fault_tx.port4"},
	    {"driver.port5", "net_l3.port5", "fault_rx.port5", "fault_tx.port5"},
	    {"driver.port6", "net_l3.port6", "fault_rx.port6", "fault_tx.port6"},
	    {"driver.port7", "net_l3.port7", "fault_rx.port7", "fault_tx.port7"},
	};
	_Static_assert(sizeof(groups) / sizeof(groups[0]) == DRV_DPDK_MAX_PORTS, "a group per port");
	for (unsigned i = 0; i < DRV_C_COUNT; i++)
		emit(arg, "driver", drv_counter_names[i],
		     __atomic_load_n(drv_counter_per_port[i] ? &d->ports[0].c[i] : &d->c[i],
				     __ATOMIC_RELAXED));
	if (w->id == 0) {
		/* process-wide (worker 0's only, so the totals are right): memif
		 * unmaps on the interrupt thread that waited for the workers, and
		 * of them those that gave up waiting (drv_dpdk_unmap.h) */
		emit(arg, "driver", "memif_unmap_waits",
		     __atomic_load_n(&drv_dpdk_unmap_g.waits, __ATOMIC_RELAXED));
		emit(arg, "driver", "memif_unmap_timeouts",
		     __atomic_load_n(&drv_dpdk_unmap_g.timeouts, __ATOMIC_RELAXED));
	}
	for (unsigned p = 0; p < d->n_ports; p++) {
		struct dw_port *pp = &d->ports[p];
		if (p > 0)
			for (unsigned i = 0; i < DRV_C_COUNT; i++)
				if (drv_counter_per_port[i])
					emit(arg, groups[p][0], drv_counter_names[i],
					     __atomic_load_n(&pp->c[i], __ATOMIC_RELAXED));
		const uint64_t *v = (const uint64_t *)(const void *)&pp->l3.c;
		for (unsigned i = 0; i < NET_L3_C_COUNT; i++)
			emit(arg, groups[p][1], net_l3_counter_names[i],
			     __atomic_load_n(&v[i], __ATOMIC_RELAXED));
		if (p == 0)
			for (unsigned i = 0; i < NET_TCP_C_COUNT; i++)
				emit(arg, "net_tcp", net_tcp_counter_names[i],
				     __atomic_load_n(&d->tcp.counters[i], __ATOMIC_RELAXED));
		if (pp->fault_on) {
			static const char *const fnames[] = {
#define FX(name, desc) #name,
			    DRV_DPDK_FAULT_COUNTERS(FX)
#undef FX
			};
			const uint64_t *rx = (const uint64_t *)(const void *)&pp->frx.cnt;
			const uint64_t *tx = (const uint64_t *)(const void *)&pp->ftx.cnt;
			for (unsigned i = 0; i < sizeof(fnames) / sizeof(fnames[0]); i++)
				emit(arg, groups[p][2], fnames[i],
				     __atomic_load_n(&rx[i], __ATOMIC_RELAXED));
			for (unsigned i = 0; i < sizeof(fnames) / sizeof(fnames[0]); i++)
				emit(arg, groups[p][3], fnames[i],
				     __atomic_load_n(&tx[i], __ATOMIC_RELAXED));
		}
	}
}

const struct drv_ops drv_dpdk_ops = {
    .name = "dpdk",
    .worker_init = dpdk_worker_init,
    .worker_fini = dpdk_worker_fini,
    .poll = dpdk_poll,
    .may_block = dpdk_may_block,
    .conn_attach = dpdk_conn_attach,
    .conn_flush = dpdk_conn_flush,
    .conn_release = dpdk_conn_release,
    .wake = dpdk_wake,
    .conn_refuse = dpdk_conn_refuse,
    .counters = dpdk_counters,
};
