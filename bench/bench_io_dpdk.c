/*
 * bench_io_dpdk: rpcrouter-bench's DPDK backend (see bench_io_dpdk.h).
 *
 * The loop, once per iteration: the clock (bench_now_ns: the vDSO, no
 * system call, and the same clock the coordinator's deadlines use), the
 * phase and wave, the scenario's pumps (engine output -> net_tcp_send ->
 * segments -> net_l3 -> the tx batch), one rx burst (frames -> net_l3_rx
 * -> net_tcp_input -> the engines), TCP timers, the l3 tick, the 50 ms
 * scan (heartbeats, lingering connections, the close phase), the tx
 * burst. Connections behave as in bench_io.c (same states, same linger so
 * TIME-WAIT stays on the router's side, same errors).
 *
 * Glue modelled on the dpdk driver (drivers/dpdk/drv_dpdk_worker.c):
 * frames are copied in and out of mbufs (net_l3 works on contiguous
 * buffers), TCP segments are built in one scratch frame, the receive
 * window is reopened after each burst for the connections that received.
 * The flow lookup is simpler than the driver's rte_hash: every connection
 * goes to the one router address and port, so the local port alone is the
 * key (a 65536-entry array of TCP block indices).
 */
#include "bench_io_dpdk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>

#include "drv_dpdk_frame.h"
#include "drv_dpdk_mtu.h"
#include "drv_dpdk_steer.h"
#include "drv_dpdk_unmap.h"
#include "net_csum.h"
#include "net_ipv4.h"
#include "net_tcp.h"

#define BURST	      32
#define RX_DESC	      1024
#define TX_DESC	      1024
#define NB_MBUF	      8191 /* 2^n - 1, as rte_mempool prefers; ~18 MB */
#define MBUF_CACHE    256
#define TCP_BLOCK     2048u	   /* TCP send / out-of-order data block */
#define WHEEL_SLOTS   4096u	   /* 4 s per revolution at 1 ms */
#define L3_TICK_NS    10000000ull  /* net_l3_tick */
#define TICK_SCAN_NS  50000000ull  /* engine ticks, linger, close phase (as bench_io.c) */
#define LINGER_NS     200000000ull /* wait for the peer's FIN first (as bench_io.c) */
#define PING_NS	      250000000ull /* ICMP echo to the router until ARP resolved it */
#define ARP_GIVEUP_NS 10000000000ull
#define IDLE_POLLS    256
#define SPORT_LO      32768
#define SPORT_HI      60999
#define MAX_EAL_ARGS  64

/* the generator's own packet counters (the result's "dpdk" object) */
struct bd_counters {
	uint64_t rx_packets, rx_multiseg, tx_packets, tx_full, tx_no_mbuf, idle_sleeps;
};

struct bd {
	struct bench_run *r;
	struct bench_thread *th;
	bool eal_up, port_started, registered;
	uint16_t port;
	uint16_t rxq_next;
	uint16_t nq; /* rx queues polled (memif: one per router worker), tx on 0 */
	char port_name[64];
	struct rte_mempool *pool;
	struct net_l3 l3;
	struct net_tcp_stack tcp;
	struct net_tcp_conn *tcbs;
	uint32_t ntcb;
	struct net_tcp_pool tpool;
	void *tpool_mem;
	uint32_t *wheel;
	uint32_t *by_lport; /* local port -> TCP block index + 1 (0: free) */
	/* TCP block index -> its connection (NULL: detached). Not in
	 * net_tcp_conn.user: the stack's timer wheel is based at the block,
	 * so its node i overlays conns[i].user (net_tcp.c net_timer_init). */
	struct bench_conn **owner;
	uint16_t sport_next;
	struct drv_dpdk_steer steer;
	unsigned next_worker;
	uint32_t laddr, raddr, next_hop;
	uint16_t rport;
	bool arp_ok, arp_failed;
	uint64_t arp_start_ns, ping_next_ns;
	uint16_t ping_seq;
	struct bench_conn **restarts; /* handshake cycles to reconnect (next iteration) */
	int nrestarts, caprestarts;
	uint32_t *dirty; /* TCP blocks that received or may send: flush after the burst */
	uint8_t *is_dirty;
	uint32_t ndirty;
	struct rte_mbuf *tx[BURST];
	unsigned n_tx;
	uint64_t now_us;
	unsigned empty_polls;
	struct bd_counters c;
	struct drv_dpdk_seg seg; /* tcp_output's mbuf while net_l3 sends it */
};

static inline void bd_cnt(uint64_t *field, uint64_t n)
{
	__atomic_store_n(field, *field + n, __ATOMIC_RELAXED);
}

/* --- tx --------------------------------------------------------------------- */

static void tx_flush(struct bd *d)
{
	unsigned n = d->n_tx;
	d->n_tx = 0;
	if (n == 0)
		return;
	uint16_t sent = rte_eth_tx_burst(d->port, 0, d->tx, (uint16_t)n);
	bd_cnt(&d->c.tx_packets, sent);
	if (sent < n) {
		/* as a full wire: lost, TCP retransmits */
		bd_cnt(&d->c.tx_full, n - sent);
		rte_pktmbuf_free_bulk(d->tx + sent, n - sent);
	}
}

/* the driver's frame output (drivers/dpdk/drv_dpdk_frame.h): TCP segments
 * built in their mbuf, other frames copied */
static int l3_tx_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct bd *d = ctx;
	bool copied;
	struct rte_mbuf *m = drv_dpdk_frame_take(&d->seg, d->pool, frame, len, &copied);
	if (m == NULL) {
		bd_cnt(&d->c.tx_no_mbuf, 1);
		return -1;
	}
	d->tx[d->n_tx++] = m;
	if (d->n_tx == BURST)
		tx_flush(d);
	return 0;
}

static void tcp_output(void *ctx, const struct net_tcp_seg_out *seg)
{
	struct bd *d = ctx;
	uint8_t *f;
	size_t len;
	if (drv_dpdk_seg_build(&d->seg, d->pool, seg, &f, &len) == NULL) {
		bd_cnt(&d->c.tx_no_mbuf, 1); /* a lost frame: TCP retransmits */
		return;
	}
	(void)net_ipv4_send_frame(&d->l3, d->th->now_ns, f, len, seg->saddr, seg->daddr,
				  NET_IPV4_PROTO_TCP);
	drv_dpdk_seg_done(&d->seg);
}

/* An ICMP echo request (RFC 792) to the router: makes net_l3 resolve its
 * next hop (ARP), and shows the router's stack answers. */
static void send_ping(struct bd *d)
{
	uint8_t m[16] = {8, 0, 0, 0, 0xbe, 0x4c};
	m[6] = (uint8_t)(d->ping_seq >> 8);
	m[7] = (uint8_t)d->ping_seq;
	d->ping_seq++;
	memcpy(m + 8, "rr-bench", 8);
	uint16_t cs = net_csum_buf(m, sizeof m);
	m[2] = (uint8_t)(cs >> 8);
	m[3] = (uint8_t)cs;
	(void)net_ipv4_output(&d->l3, d->th->now_ns, d->laddr, d->raddr, NET_IPV4_PROTO_ICMP, m,
			      sizeof m);
}

/* --- connections -------------------------------------------------------------- */

static struct bench_conn *conn_of(const struct bd *d, const struct net_tcp_conn *tc)
{
	return d->owner[net_tcp_conn_index(&d->tcp, tc)];
}

static void detach(struct bd *d, const struct net_tcp_conn *tc)
{
	d->owner[net_tcp_conn_index(&d->tcp, tc)] = NULL;
}

static void mark_dirty(struct bd *d, const struct net_tcp_conn *tc)
{
	uint32_t i = net_tcp_conn_index(&d->tcp, tc);
	if (d->is_dirty[i])
		return;
	d->is_dirty[i] = 1;
	d->dirty[d->ndirty++] = i; /* one entry per block at most: never overflows */
}

/* The socket is closed, in bench_io.c's words: detach the TCP block (it
 * finishes its close on its own, what still arrives is discarded) and
 * tell the scenario. */
static void finish_conn(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bd *d = th->run->io_dpdk;
	struct net_tcp_conn *tc = c->io;
	if (tc) {
		detach(d, tc);
		c->io = NULL;
		if (tc->state == NET_TCP_SYN_SENT || tc->state == NET_TCP_SYN_RECEIVED)
			net_tcp_abort(&d->tcp, tc, d->now_us);
		else if (tc->state == NET_TCP_ESTABLISHED || tc->state == NET_TCP_CLOSE_WAIT)
			net_tcp_shutdown(&d->tcp, tc, d->now_us);
	}
	if (c->state == BENCH_CS_CONNECTING || c->state == BENCH_CS_UP ||
	    c->state == BENCH_CS_LINGER)
		BENCH_ADD(th, conns_live, (uint64_t)-1);
	c->out_armed = false;
	c->state = BENCH_CS_DONE;
	if (th->run->scen->ended)
		th->run->scen->ended(c);
}

static void conn_fail(struct bench_conn *c, const char *what, const char *why)
{
	struct bench_thread *th = c->th;
	if (th->phase < BENCH_PH_CLOSE && !c->close_sent) {
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(th->run, "connection %d: %s: %s", c->index, what, why);
	}
	finish_conn(c);
}

static void engine_ended(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	const char *err = bench_amqp_error(c->a);
	if (err && err[0]) {
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(r, "connection %d (client): %s", c->index, err);
	} else if (!c->close_sent && bench_phase_of(r) < BENCH_PH_CLOSE) {
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(r, "connection %d closed by the peer before the run ended",
				c->index);
	}
	if (c->peer_eof || c->no_linger || !c->io) {
		finish_conn(c);
		return;
	}
	c->state = BENCH_CS_LINGER;
	c->linger_until_ns = th->now_ns + LINGER_NS;
	c->out_armed = false;
}

static void check_engine(struct bench_conn *c)
{
	if (c->state == BENCH_CS_UP && bench_amqp_is_closed(c->a))
		engine_ended(c);
}

void bench_io_dpdk_flush(struct bench_conn *c)
{
	struct bd *d = c->th->run->io_dpdk;
	struct net_tcp_conn *tc = c->io;
	if (c->state != BENCH_CS_UP || !c->a || !tc)
		return;
	bool blocked = false, moved = false;
	for (;;) {
		size_t len;
		const uint8_t *p = bench_amqp_output(c->a, &len);
		if (!len)
			break;
		size_t n = net_tcp_send(&d->tcp, tc, p, len);
		if (n) {
			bench_amqp_output_done(c->a, n);
			moved = true;
		}
		if (n < len) {
			blocked = true; /* the rest waits for NET_TCP_EV_SENDABLE */
			break;
		}
	}
	if (moved)
		net_tcp_flush(&d->tcp, tc, d->now_us);
	c->out_armed = blocked; /* as EPOLLOUT armed: the pump loop does not spin on it */
}

/* A free local port: not in use by a block of ours (TIME-WAIT included). */
static int sport_free(void *arg, uint16_t sport)
{
	const struct bd *d = arg;
	return d->by_lport[sport] == 0;
}

static int pick_sport(struct bd *d)
{
	struct bench_run *r = d->r;
	uint16_t start = d->sport_next;
	if (start < SPORT_LO || start > SPORT_HI)
		start = SPORT_LO;
	int p = -EADDRNOTAVAIL;
	if (r->o.dpdk.router_workers > 1) {
		/* the router steers each flow to the worker its hash names
		 * (drv_dpdk_steer): spread the connections over every worker */
		unsigned w = d->next_worker++ % (unsigned)r->o.dpdk.router_workers;
		p = drv_dpdk_steer_pick_sport(&d->steer, d->laddr, d->raddr, d->rport, w, SPORT_LO,
					      SPORT_HI, start, sport_free, d);
	} else {
		for (unsigned k = 0; k <= SPORT_HI - SPORT_LO; k++) {
			unsigned s = start + k;
			if (s > SPORT_HI)
				s -= SPORT_HI - SPORT_LO + 1;
			if (sport_free(d, (uint16_t)s)) {
				p = (int)s;
				break;
			}
		}
	}
	if (p > 0)
		d->sport_next = (uint16_t)(p == SPORT_HI ? SPORT_LO : p + 1);
	return p;
}

static void start_connect(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	struct bd *d = r->io_dpdk;
	c->t_start_ns = th->now_ns;
	int sport = pick_sport(d);
	struct net_tcp_conn *tc = sport > 0 ? net_tcp_connect(&d->tcp, d->laddr, (uint16_t)sport,
							      d->raddr, d->rport, 0, d->now_us)
					    : NULL;
	if (!tc) {
		c->state = BENCH_CS_DONE;
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(r, "connection %d: %s", c->index,
				sport > 0 ? "no free native TCP block"
					  : "no free local port (TIME-WAIT)");
		if (r->scen->ended)
			r->scen->ended(c);
		return;
	}
	d->by_lport[sport] = net_tcp_conn_index(&d->tcp, tc) + 1;
	d->owner[net_tcp_conn_index(&d->tcp, tc)] = c;
	c->io = tc;
	c->state = BENCH_CS_CONNECTING;
	c->out_armed = false;
	BENCH_ADD(th, conns_live, 1);
}

/* Called from the scenario's ended hook, which may run inside a TCP
 * callback: the new active open waits for the loop (net_tcp_connect is
 * not one of the calls a callback may make). */
void bench_io_dpdk_restart(struct bench_conn *c)
{
	struct bd *d = c->th->run->io_dpdk;
	if (c->a) {
		bench_amqp_free(c->a);
		c->a = NULL;
	}
	if (d->nrestarts == d->caprestarts) {
		int cap = d->caprestarts ? d->caprestarts * 2 : 64;
		struct bench_conn **v = realloc(d->restarts, (size_t)cap * sizeof *v);
		if (!v) {
			BENCH_ADD(c->th, conn_failed, 1);
			bench_run_error(d->r, "out of memory restarting a connection");
			return;
		}
		d->restarts = v;
		d->caprestarts = cap;
	}
	d->restarts[d->nrestarts++] = c;
}

static void run_restarts(struct bd *d)
{
	int n = d->nrestarts;
	d->nrestarts = 0;
	for (int i = 0; i < n; i++) {
		struct bench_conn *c = d->restarts[i];
		if (c->state == BENCH_CS_DONE && d->th->phase < BENCH_PH_CLOSE)
			start_connect(c);
	}
}

static void on_connected(struct bench_conn *c)
{
	if (!bench_io_make_engine(c, BENCH_AMQP_CLIENT)) {
		conn_fail(c, "engine", "out of memory");
		return;
	}
	c->state = BENCH_CS_UP;
	bench_amqp_start(c->a);
	c->th->run->scen->started(c);
	bench_io_dpdk_flush(c);
	check_engine(c);
}

/* --- TCP callbacks --------------------------------------------------------------- */

static size_t tcp_recv(void *ctx, struct net_tcp_conn *tc, const uint8_t *p, size_t len)
{
	struct bd *d = ctx;
	struct bench_conn *c = conn_of(d, tc);
	mark_dirty(d, tc); /* the window reopens after the burst */
	if (!c || c->state != BENCH_CS_UP)
		return len; /* lingering or detached: discarded */
	/* the engine takes everything (it keeps partial frames) */
	(void)bench_amqp_input(c->a, p, len, d->th->now_ns / 1000000);
	return len;
}

static void tcp_event(void *ctx, struct net_tcp_conn *tc, enum net_tcp_event ev,
		      enum net_tcp_close_reason why)
{
	struct bd *d = ctx;
	struct bench_conn *c = conn_of(d, tc);
	uint32_t i = net_tcp_conn_index(&d->tcp, tc);
	switch (ev) {
	case NET_TCP_EV_NEW: break; /* passive opens only: we have no listener */
	case NET_TCP_EV_ESTABLISHED:
		if (c && c->state == BENCH_CS_CONNECTING)
			on_connected(c);
		break;
	case NET_TCP_EV_SENDABLE:
		if (c)
			mark_dirty(d, tc);
		break;
	case NET_TCP_EV_PEER_FIN:
		if (!c)
			break;
		c->peer_eof = true;
		if (c->state == BENCH_CS_LINGER) {
			finish_conn(c);
		} else if (c->state == BENCH_CS_UP) {
			bench_amqp_input_eof(c->a);
			bench_io_dpdk_flush(c);
			check_engine(c);
			if (c->state == BENCH_CS_UP && !bench_amqp_is_closed(c->a)) {
				/* as bench_io.c: EOF the engine does not call an end */
				BENCH_ADD(c->th, conn_failed, 1);
				if (c->th->phase < BENCH_PH_CLOSE)
					bench_run_error(c->th->run,
							"connection %d: the peer closed TCP",
							c->index);
				finish_conn(c);
			}
		}
		break;
	case NET_TCP_EV_CLOSED:
		if (!c)
			break;
		detach(d, tc); /* the block is over: no TCP call on it any more */
		c->io = NULL;
		if (c->state == BENCH_CS_CONNECTING || c->state == BENCH_CS_UP)
			conn_fail(c, "TCP", net_tcp_close_reason_text(why));
		else if (c->state == BENCH_CS_LINGER)
			finish_conn(c);
		break;
	case NET_TCP_EV_FREE:
		if (d->by_lport[tc->lport] == i + 1)
			d->by_lport[tc->lport] = 0;
		if (c && c->io == tc)
			c->io = NULL;
		detach(d, tc);
		break;
	}
}

/* Every incoming segment is from the router (its address and port are the
 * only ones we connect to): the local port finds the block. */
static void l3_tcp_rx(void *ctx, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
		      uint64_t now_ns)
{
	struct bd *d = ctx;
	(void)now_ns;
	struct net_tcp_conn *tc = NULL;
	if (len >= 4) {
		uint16_t sport = (uint16_t)(seg[0] << 8 | seg[1]);
		uint16_t dport = (uint16_t)(seg[2] << 8 | seg[3]);
		uint32_t v = d->by_lport[dport];
		if (v) {
			struct net_tcp_conn *t = &d->tcbs[v - 1];
			if (t->raddr == src && t->rport == sport && t->laddr == dst)
				tc = t;
		}
	}
	net_tcp_input(&d->tcp, tc, src, dst, seg, len, d->now_us);
}

/* After a burst or the timers: reopen the windows of the blocks that
 * received (the engines took every byte), write what became sendable. */
static void run_dirty(struct bd *d)
{
	for (uint32_t k = 0; k < d->ndirty; k++) {
		uint32_t i = d->dirty[k];
		d->is_dirty[i] = 0;
		struct net_tcp_conn *tc = &d->tcbs[i];
		if (d->by_lport[tc->lport] != i + 1 || tc->state == NET_TCP_CLOSED)
			continue; /* freed meanwhile */
		net_tcp_set_rcv_space(&d->tcp, tc, d->tcp.cfg.rcv_space, d->now_us);
		struct bench_conn *c = conn_of(d, tc);
		if (c && c->state == BENCH_CS_UP) {
			bench_io_dpdk_flush(c);
			check_engine(c);
		}
	}
	d->ndirty = 0;
}

/* --- the loop ------------------------------------------------------------------ */

static void scan_conns(struct bench_thread *th)
{
	uint64_t now_ms = th->now_ns / 1000000;
	bool all_done = true;
	for (int i = 0; i < th->nconns; i++) {
		struct bench_conn *c = th->conns[i];
		switch (c->state) {
		case BENCH_CS_UP:
			if (now_ms >= c->tick_ms) {
				c->tick_ms = bench_amqp_tick(c->a, now_ms);
				bench_io_dpdk_flush(c);
				check_engine(c);
			}
			break;
		case BENCH_CS_LINGER:
			if (th->now_ns >= c->linger_until_ns)
				finish_conn(c);
			break;
		default: break;
		}
		if (c->state != BENCH_CS_DONE && c->state != BENCH_CS_IDLE)
			all_done = false;
	}
	if (th->phase >= BENCH_PH_CLOSE && all_done)
		__atomic_store_n(&th->finished, true, __ATOMIC_RELEASE);
}

static void begin_close(struct bench_thread *th)
{
	for (int i = 0; i < th->nconns; i++) {
		struct bench_conn *c = th->conns[i];
		if (c->state == BENCH_CS_CONNECTING ||
		    (c->state == BENCH_CS_UP && !bench_amqp_is_open(c->a))) {
			c->close_sent = true; /* nothing to close gracefully yet */
			finish_conn(c);
		} else if (c->state == BENCH_CS_UP && !c->close_sent) {
			c->close_sent = true;
			bench_amqp_close(c->a, NULL, NULL);
			bench_io_dpdk_flush(c);
			check_engine(c);
		}
	}
}

static void arp_step(struct bd *d)
{
	struct bench_thread *th = d->th;
	struct net_mac mac;
	if (net_arp_lookup(&d->l3.arp, th->now_ns, d->next_hop, &mac)) {
		d->arp_ok = true;
		return;
	}
	if (!d->arp_start_ns)
		d->arp_start_ns = th->now_ns;
	if (th->now_ns >= d->ping_next_ns) {
		send_ping(d);
		d->ping_next_ns = th->now_ns + PING_NS;
	}
	if (!d->arp_failed && th->now_ns - d->arp_start_ns >= ARP_GIVEUP_NS) {
		d->arp_failed = true;
		char a[INET_ADDRSTRLEN];
		struct in_addr in = {.s_addr = htonl(d->next_hop)};
		inet_ntop(AF_INET, &in, a, sizeof a);
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(d->r, "dpdk: no ARP answer from %s on %s in %.0f s", a,
				d->port_name, (double)ARP_GIVEUP_NS / 1e9);
	}
}

static void *thread_main(void *arg)
{
	struct bench_thread *th = arg;
	struct bench_run *r = th->run;
	struct bd *d = r->io_dpdk;
	if (th->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(th->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
			bench_run_error(r, "cannot pin the dpdk thread to cpu %d", th->cpu);
	}
	/* an lcore id of its own: the mempool's per-lcore cache (without
	 * one every alloc/free goes to the ring) */
	d->registered = rte_thread_register() == 0;
	int started_wave = -1;
	bool closing = false;
	uint64_t next_scan = 0, next_tick = 0;
	th->now_ns = bench_now_ns();
	d->now_us = th->now_ns / 1000;
	drv_dpdk_unmap_online(0);
	net_l3_start(&d->l3, th->now_ns); /* gratuitous ARP (RFC 5227 2.3) */
	for (;;) {
		drv_dpdk_unmap_quiescent(0); /* no burst in progress */
		th->now_ns = bench_now_ns();
		d->now_us = th->now_ns / 1000;
		th->phase = bench_phase_of(r);
		if (th->phase == BENCH_PH_DONE)
			break;
		if (!d->arp_ok)
			arp_step(d);
		int wave = __atomic_load_n(&r->wave, __ATOMIC_ACQUIRE);
		if (d->arp_ok && wave > started_wave && th->phase < BENCH_PH_CLOSE) {
			for (int i = 0; i < th->nconns; i++) {
				struct bench_conn *c = th->conns[i];
				if (c->state == BENCH_CS_IDLE && c->wave <= wave)
					start_connect(c);
			}
			started_wave = wave;
		}
		if (d->nrestarts)
			run_restarts(d);
		if (th->phase >= BENCH_PH_CLOSE && !closing) {
			closing = true;
			begin_close(th);
			next_scan = 0;
		}
		bool busy = false;
		th->next_timer_ns = UINT64_MAX;
		for (struct bench_conn *c = th->pumps; c; c = c->next_pump) {
			if (c->state != BENCH_CS_UP)
				continue;
			bool more = r->scen->pump(c);
			bench_io_dpdk_flush(c);
			check_engine(c);
			if (more && c->state == BENCH_CS_UP && !c->out_armed)
				busy = true;
		}
		struct rte_mbuf *pk[BURST];
		uint16_t n = 0;
		for (uint16_t q = 0; q < d->nq && n == 0; q++) {
			/* start at a different queue each time: none starves */
			uint16_t qq = (uint16_t)((q + d->rxq_next) % d->nq);
			n = rte_eth_rx_burst(d->port, qq, pk, BURST);
		}
		d->rxq_next = (uint16_t)((d->rxq_next + 1) % d->nq);
		if (n) {
			bd_cnt(&d->c.rx_packets, n);
			for (uint16_t i = 0; i < n; i++) {
				if (i + 1 < n)
					rte_prefetch0(rte_pktmbuf_mtod(pk[i + 1], void *));
				struct rte_mbuf *m = pk[i];
				if (m->nb_segs != 1) {
					bd_cnt(&d->c.rx_multiseg, 1);
					continue;
				}
				net_l3_rx(&d->l3, th->now_ns, rte_pktmbuf_mtod(m, const uint8_t *),
					  m->data_len);
			}
			rte_pktmbuf_free_bulk(pk, n);
			run_dirty(d);
		}
		net_tcp_advance(&d->tcp, d->now_us);
		if (d->ndirty)
			run_dirty(d);
		if (th->now_ns >= next_tick) {
			net_l3_tick(&d->l3, th->now_ns);
			next_tick = th->now_ns + L3_TICK_NS;
		}
		if (th->now_ns >= next_scan) {
			scan_conns(th);
			next_scan = th->now_ns + TICK_SCAN_NS;
		}
		tx_flush(d);
		if (n || busy || d->n_tx) {
			d->empty_polls = 0;
		} else if (++d->empty_polls >= IDLE_POLLS && r->o.dpdk.idle_us) {
			/* tests and CI only (--dpdk-idle-us): the loop's one syscall */
			bd_cnt(&d->c.idle_sleeps, 1);
			struct timespec ts = {.tv_sec = 0,
					      .tv_nsec = (long)r->o.dpdk.idle_us * 1000};
			nanosleep(&ts, NULL);
		}
	}
	drv_dpdk_unmap_offline(0);
	if (d->registered)
		rte_thread_unregister();
	return NULL;
}

/* --- set-up and teardown ------------------------------------------------------------ */

static int setup_fail(struct bench_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int setup_fail(struct bench_run *r, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bench_run_error(r, "dpdk: %s", msg);
	return -1;
}

static int eal_init(struct bench_run *r, struct bd *d)
{
	static char buf[2048], portarg[512];
	static char *argv[MAX_EAL_ARGS + 4];
	int argc = 0;
	argv[argc++] = (char *)(uintptr_t) "rpcrouter-bench";
	snprintf(buf, sizeof buf, "%s", r->o.dpdk.eal);
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (argc >= MAX_EAL_ARGS)
			return setup_fail(r, "more than %d EAL arguments", MAX_EAL_ARGS);
		argv[argc++] = t;
	}
	if (strncmp(r->o.dpdk.port, "net_", 4) == 0) {
		snprintf(portarg, sizeof portarg, "--vdev=%s", r->o.dpdk.port);
		argv[argc++] = portarg;
	} else {
		argv[argc++] = (char *)(uintptr_t) "-a";
		snprintf(portarg, sizeof portarg, "%s", r->o.dpdk.port);
		argv[argc++] = portarg;
	}
	argv[argc] = NULL;
	/* rte_eal_init permutes argv and runs getopt: our options are parsed */
	int saved_optind = optind;
	int rc = rte_eal_init(argc, argv);
	optind = saved_optind;
	if (rc < 0)
		return setup_fail(r, "EAL initialisation failed (--dpdk '%s'): %s", r->o.dpdk.eal,
				  rte_strerror(rte_errno));
	d->eal_up = true;
	return 0;
}

static int port_init(struct bench_run *r, struct bd *d)
{
	char name[256];
	snprintf(name, sizeof name, "%s", r->o.dpdk.port);
	char *comma = strchr(name, ',');
	if (comma)
		*comma = 0;
	snprintf(d->port_name, sizeof d->port_name, "%.63s", name);
	uint16_t port;
	if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
		if (rte_eth_dev_count_avail() != 1)
			return setup_fail(r, "--dpdk-port '%s': no such port", r->o.dpdk.port);
		RTE_ETH_FOREACH_DEV(port) break;
	}
	d->port = port;
	int sock = rte_eth_dev_socket_id(port);
	if (sock < 0)
		sock = (int)rte_socket_id(); /* a vdev has no NUMA node */
	/* --dpdk-mtu: as the router's dpdkMtu (drv_dpdk_mtu.h) */
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0)
		return setup_fail(r, "port %s: no device info", name);
	struct drv_dpdk_mtu_port mp = {name, info.driver_name, info.min_mtu, info.max_mtu,
				       info.max_rx_pktlen, drv_dpdk_memif_bsize(r->o.dpdk.port)};
	struct drv_dpdk_mtu_plan mtu;
	char why[512];
	if (drv_dpdk_mtu_decide(&mp, r->o.dpdk.mtu ? r->o.dpdk.mtu : NET_ETH_MTU_DEFAULT, &mtu, why,
			      sizeof why) != 0)
		return setup_fail(r, "--dpdk-mtu: %s", why);
	d->pool = rte_pktmbuf_pool_create("bench_mbuf", NB_MBUF, MBUF_CACHE, 0, mtu.data_room,
					  sock);
	if (!d->pool)
		return setup_fail(r, "mempool: %s (more EAL memory: -m)", rte_strerror(rte_errno));
	/* A memif server takes its ring count from the client (us): a router
	 * with N workers sends on N queues, so we open N and poll every rx
	 * queue; we send on queue 0 only (the router steers in software). */
	d->nq = 1;
	/* the PMD unmaps the shared regions on its interrupt thread when the
	 * router goes, under our rx/tx bursts: drv_dpdk_unmap.h */
	if (strncmp(name, "net_memif", 9) == 0)
		drv_dpdk_unmap_arm();
	if (strncmp(name, "net_memif", 9) == 0 && r->o.dpdk.router_workers > 1) {
		unsigned q = (unsigned)r->o.dpdk.router_workers;
		if (q > info.max_rx_queues)
			q = info.max_rx_queues;
		if (q > info.max_tx_queues)
			q = info.max_tx_queues;
		d->nq = (uint16_t)(q ? q : 1);
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof conf);
	if (mtu.set_port_mtu)
		conf.rxmode.mtu = mtu.mtu;
	int rc = rte_eth_dev_configure(port, d->nq, d->nq, &conf);
	uint16_t nrx = RX_DESC, ntx = TX_DESC;
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	for (uint16_t q = 0; q < d->nq && rc == 0; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nrx, (unsigned)sock, NULL, d->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, ntx, (unsigned)sock, NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0)
		return setup_fail(r, "port %s: %s%s", name, rte_strerror(-rc),
				  strncmp(name, "net_memif", 9) == 0
				      ? " (a memif client: is the server end up on that socket?)"
				      : "");
	d->port_started = true;
	return 0;
}

static int stack_init(struct bench_run *r, struct bd *d, int nconns)
{
	struct rte_ether_addr ea;
	rte_eth_macaddr_get(d->port, &ea);
	struct net_l3_config lc;
	memset(&lc, 0, sizeof lc);
	memcpy(lc.mac.b, ea.addr_bytes, 6);
	if (strncmp(d->port_name, "net_tap", 7) == 0) {
		/* net_tap gives the kernel side the port's MAC: answer with a
		 * locally administered one of our own (as the dpdk driver) */
		lc.mac.b[0] = (uint8_t)((lc.mac.b[0] | 0x02) & ~0x01);
		lc.mac.b[5] ^= 0x5a;
	}
	lc.addrs[0].addr = r->o.dpdk.addr;
	lc.addrs[0].prefix_len = r->o.dpdk.prefix_len;
	lc.n_addrs = 1;
	lc.gateway = r->o.dpdk.gateway;
	lc.ip_id_seed = (uint16_t)getpid();
	lc.mtu = r->o.dpdk.mtu; /* 0: 1500 */
	/* the port may still be linking (memif): retry ARP often */
	lc.arp_retry_ns = 100000000ull;
	lc.arp_retries = 100;
	lc.arp_pending_max = 8;
	struct net_l3_ops lo = {.ctx = d, .tx_frame = l3_tx_frame, .tcp_rx = l3_tcp_rx};
	net_l3_init(&d->l3, &lc, &lo);
	d->laddr = r->o.dpdk.addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&r->addr;
	d->raddr = ntohl(sin->sin_addr.s_addr);
	d->rport = ntohs(sin->sin_port);
	uint32_t mask = r->o.dpdk.prefix_len ? ~0u << (32 - r->o.dpdk.prefix_len) : 0;
	d->next_hop = (d->raddr & mask) == (d->laddr & mask) ? d->raddr : r->o.dpdk.gateway;
	if (!d->next_hop)
		return setup_fail(r, "%s is off-link and there is no --dpdk-gateway", r->o.host);

	/* blocks: the connections, their restarts' TIME-WAITs (handshake
	 * cycles) and some slack */
	d->ntcb = (uint32_t)nconns * 2 + 256;
	if (r->o.scenario == BENCH_SC_HANDSHAKE)
		d->ntcb += 8192;
	uint64_t nb = (uint64_t)nconns * 16;
	nb = nb < 4096 ? 4096 : nb > 65536 ? 65536 : nb;
	size_t mem = net_tcp_pool_mem_size((uint32_t)nb, TCP_BLOCK);
	d->tcbs = calloc(d->ntcb, sizeof *d->tcbs);
	d->dirty = calloc(d->ntcb, sizeof *d->dirty);
	d->is_dirty = calloc(d->ntcb, 1);
	d->by_lport = calloc(65536, sizeof *d->by_lport);
	d->owner = calloc(d->ntcb, sizeof *d->owner);
	d->tpool_mem = malloc(mem);
	d->wheel = calloc(WHEEL_SLOTS + 1, sizeof *d->wheel);
	if (!d->tcbs || !d->dirty || !d->is_dirty || !d->by_lport || !d->owner || !d->tpool_mem ||
	    !d->wheel || net_tcp_pool_init(&d->tpool, d->tpool_mem, mem, TCP_BLOCK) != 0)
		return setup_fail(r, "out of memory for the native TCP");
	struct net_tcp_cfg tcfg;
	net_tcp_cfg_default(&tcfg);
	/* TIME-WAIT 2 s, not 60: handshake cycles leave one per cycle on our
	 * side, and a block and a local port stay taken for its length. Safe
	 * enough for a load generator: ports advance sequentially over 28k
	 * values, so one is reused only after that many connections. */
	tcfg.msl_us = 1000000;
	tcfg.mss = net_tcp_mss_for_mtu(d->l3.cfg.mtu); /* RFC 9293 3.7.1 */
	for (int i = 0; i < 16; i++)
		tcfg.isn_key[i] = (uint8_t)rte_rand(); /* RFC 6528: a secret per stack */
	struct net_tcp_ops to = {.output = tcp_output, .recv = tcp_recv, .event = tcp_event};
	uint64_t now_us = bench_now_ns() / 1000;
	if (net_tcp_stack_init(&d->tcp, &tcfg, &to, d, d->tcbs, d->ntcb, &d->tpool, d->wheel,
			       WHEEL_SLOTS, now_us) != 0)
		return setup_fail(r, "native TCP set-up failed");
	if (r->o.dpdk.router_workers > 1 &&
	    drv_dpdk_steer_init(&d->steer, (unsigned)r->o.dpdk.router_workers, 128) != 0)
		return setup_fail(r, "--dpdk-router-workers: no steering for %d workers",
				  r->o.dpdk.router_workers);
	d->sport_next = (uint16_t)(SPORT_LO + (unsigned)getpid() % (SPORT_HI - SPORT_LO));
	return 0;
}

int bench_io_dpdk_init(struct bench_run *r)
{
	if (r->addr.ss_family != AF_INET) {
		bench_run_error(r, "dpdk: the native stack is IPv4 only (--url %s)", r->o.host);
		return -1;
	}
	struct bd *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	d->r = r;
	r->io_dpdk = d;
	r->listen_fd = -1;
	/* one I/O thread: one queue pair (bench_io_dpdk.h) */
	r->nthreads = 1;
	r->threads = calloc(1, sizeof *r->threads);
	if (!r->threads)
		return -1;
	struct bench_thread *th = &r->threads[0];
	th->run = r;
	th->ep = -1;
	th->cpu = r->o.ncpus ? r->o.cpu_list[0] : -1;
	if (!bench_hist_init(&th->hist))
		return -1;
	d->th = th;
	if (eal_init(r, d) != 0 || port_init(r, d) != 0)
		return -1;
	if (th->cpu < 0)
		th->cpu = (int)rte_lcore_to_cpu_id((int)rte_get_main_lcore());
	/* connections are planned later (setup); size for the largest plan */
	int nconns = r->o.senders + r->o.receivers + r->o.connections + 64;
	return stack_init(r, d, nconns);
}

int bench_io_dpdk_start(struct bench_run *r)
{
	return pthread_create(&r->threads[0].tid, NULL, thread_main, &r->threads[0]) == 0 ? 0 : -1;
}

void bench_io_dpdk_free(struct bench_run *r)
{
	struct bd *d = r->io_dpdk;
	if (r->threads) {
		struct bench_thread *th = &r->threads[0];
		for (int i = 0; i < th->nconns; i++) {
			struct bench_conn *c = th->conns[i];
			if (c->a)
				bench_amqp_free(c->a);
			if (r->scen->free_conn)
				r->scen->free_conn(c);
			free(c);
		}
		free(th->conns);
		bench_hist_free(&th->hist);
		free(r->threads);
		r->threads = NULL;
	}
	if (!d)
		return;
	if (d->port_started) {
		/* this thread bursts now: the last FINs */
		drv_dpdk_unmap_online(0);
		tx_flush(d);
		drv_dpdk_unmap_offline(0);
		rte_eth_dev_stop(d->port);
		rte_eth_dev_close(d->port);
	}
	if (d->pool)
		rte_mempool_free(d->pool);
	if (d->eal_up)
		rte_eal_cleanup();
	free(d->tcbs);
	free(d->dirty);
	free(d->is_dirty);
	free(d->by_lport);
	free(d->owner);
	free(d->restarts);
	free(d->tpool_mem);
	free(d->wheel);
	free(d);
	r->io_dpdk = NULL;
}

void bench_io_dpdk_report(const struct bench_run *r, struct bench_out *j)
{
	const struct bd *d = r->io_dpdk;
	char a[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = htonl(r->o.dpdk.addr)};
	inet_ntop(AF_INET, &in, a, sizeof a);
	bench_out_obj(j, "dpdk");
	bench_out_str(j, "eal", r->o.dpdk.eal);
	bench_out_str(j, "port", r->o.dpdk.port);
	bench_out_str(j, "address", a);
	bench_out_u64(j, "prefix_len", r->o.dpdk.prefix_len);
	bench_out_u64(j, "router_workers", (uint64_t)r->o.dpdk.router_workers);
	if (d) {
		bench_out_bool(j, "arp_resolved", d->arp_ok);
		bench_out_u64(j, "rx_packets", d->c.rx_packets);
		bench_out_u64(j, "tx_packets", d->c.tx_packets);
		bench_out_u64(j, "tx_full", d->c.tx_full);
		bench_out_u64(j, "tx_no_mbuf", d->c.tx_no_mbuf);
		bench_out_u64(j, "rx_multiseg", d->c.rx_multiseg);
		bench_out_u64(j, "idle_sleeps", d->c.idle_sleeps);
		bench_out_obj(j, "net_tcp");
		for (unsigned i = 0; i < NET_TCP_C_COUNT; i++)
			if (d->tcp.counters[i])
				bench_out_u64(j, net_tcp_counter_names[i], d->tcp.counters[i]);
		bench_out_end(j, '}');
	}
	bench_out_end(j, '}');
}
