/* Native TCP (RFC 9293) for the dpdk driver: protocol code with no I/O and
 * no clock reads. Segments and the current time go in; segments (through
 * the output callback), in-order bytes (the recv callback) and events come
 * out. One struct net_tcp_stack per worker core, single-threaded.
 *
 * Memory is all the caller's, sized at start (DESIGN.md: no heap on the
 * fast path): an array of connection blocks, the timer wheel's slots, and
 * a pool of fixed-size data blocks that holds unacknowledged send data and
 * out-of-order receive data (docs/adr/0004-native-tcp.md says why copies).
 *
 * Lookup is the caller's: it maps the 4-tuple of an incoming segment to a
 * connection (keeping net_tcp_conn.user for its own hash linkage or
 * handle) and passes NULL when it finds none; the stack then consults its
 * listeners. The stack reports every connection block it takes into use
 * (NET_TCP_EV_NEW) and gives back (NET_TCP_EV_FREE), so the caller's table
 * follows exactly.
 *
 * Addresses and ports are host order throughout. Times are microseconds of
 * any monotonic clock the caller chooses. Threads: a stack, its blocks,
 * pool and wheel belong to the one thread that calls it (a worker core);
 * every pointer given to it is the caller's memory and must outlive it. */
#ifndef NET_TCP_H
#define NET_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_timer.h"

#ifdef __cplusplus
extern "C" {
#endif

enum net_tcp_counter_id {
#define NET_TCP_COUNTER(name, desc) NET_TCP_C_##name,
#include "net_tcp_counters.def"
#undef NET_TCP_COUNTER
	NET_TCP_C_COUNT
};
extern const char *const net_tcp_counter_names[NET_TCP_C_COUNT];

/* RFC 9293 3.3.2 states. */
#define NET_TCP_STATES(X)                                                                          \
	X(CLOSED) X(LISTEN) X(SYN_SENT) X(SYN_RECEIVED) X(ESTABLISHED) X(FIN_WAIT_1)              \
	X(FIN_WAIT_2) X(CLOSE_WAIT) X(CLOSING) X(LAST_ACK) X(TIME_WAIT)
enum net_tcp_state {
#define NET_TCP_ST_ENUM(s) NET_TCP_##s,
	NET_TCP_STATES(NET_TCP_ST_ENUM)
#undef NET_TCP_ST_ENUM
};
const char *net_tcp_state_name(enum net_tcp_state s);

enum net_tcp_event {
	NET_TCP_EV_NEW,         /* a block was taken for a passive open (SYN): add to lookup */
	NET_TCP_EV_ESTABLISHED, /* handshake done (either side) */
	NET_TCP_EV_SENDABLE,    /* acknowledged data freed send space: at least half of what
				 * is still queued (net_tcp_in.c says why) */
	NET_TCP_EV_PEER_FIN,    /* the peer closed its side: no more bytes will arrive */
	NET_TCP_EV_CLOSED,      /* the connection is over for the application (reason) */
	NET_TCP_EV_FREE,        /* the block goes back to the pool: remove from lookup */
};

enum net_tcp_close_reason {
	NET_TCP_CLOSE_NORMAL,   /* both FINs exchanged */
	NET_TCP_CLOSE_RESET,    /* RST received */
	NET_TCP_CLOSE_REFUSED,  /* RST in answer to our SYN */
	NET_TCP_CLOSE_TIMEOUT,  /* retransmissions exhausted, or the FIN-WAIT-2 timeout */
	NET_TCP_CLOSE_KEEPALIVE,/* keepalive probes unanswered */
	NET_TCP_CLOSE_ABORTED,  /* net_tcp_abort() */
};

/* A close reason as a user reads it ("connection reset by the peer"). */
const char *net_tcp_close_reason_text(enum net_tcp_close_reason r);

/* Fixed-size data blocks shared by every connection of a stack: send
 * queues and out-of-order segments. Indices, not pointers, keep the
 * connection block small. */
#define NET_TCP_BLK_HDR 16 /* next, seq, len, spare */
struct net_tcp_pool {
	uint8_t *mem;       /* nblocks * (NET_TCP_BLK_HDR + block_size) bytes, caller's */
	uint32_t nblocks;
	uint32_t block_size; /* data bytes per block */
	uint32_t free_head;
	uint32_t nfree;
};
int net_tcp_pool_init(struct net_tcp_pool *p, void *mem, size_t mem_len, uint32_t block_size);
/* Bytes of memory a pool of n blocks of block_size needs. */
static inline size_t net_tcp_pool_mem_size(uint32_t n, uint32_t block_size)
{
	return (size_t)n * (NET_TCP_BLK_HDR + (size_t)block_size);
}

struct net_tcp_sack_blk {
	uint32_t start, end; /* [start, end) */
};
#define NET_TCP_SACK_SB 4 /* scoreboard ranges kept per connection */

/* A connection block (TCB, RFC 9293 3.3.1). Read-only to the caller except
 * user. Sequence variables follow the RFC's names. */
struct net_tcp_conn {
	uint64_t user;                 /* the caller's: lookup linkage or handle */
	struct net_timer_node tnode;   /* the one wheel node: earliest deadline below */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t state;                 /* enum net_tcp_state */
	uint8_t snd_wscale, rcv_wscale;/* RFC 7323 2: shift counts in use */
	uint8_t backoff;               /* RTO doublings since the last good ACK */
	uint32_t flags;                /* NET_TCP_F_* (net_tcp_impl.h) */
	uint16_t mss;                  /* effective send MSS (payload bytes, options excluded) */
	uint16_t listener;             /* listener slot for a passive open */
	uint8_t dupacks;
	uint8_t nrexmit;               /* consecutive timeouts (give-up threshold) */
	uint8_t keep_probes;
	uint8_t sack_n;                /* ranges in sack_sb */
	uint32_t gen;                  /* bumped on every reuse: stale-handle check */
	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint32_t cwnd, ssthresh, recover;
	uint32_t snd_buffered;         /* bytes queued from snd_una (excl. SYN/FIN) */
	uint32_t snd_head, snd_tail;   /* block indices; head holds snd_una */
	uint16_t snd_head_off, snd_tail_len;
	uint32_t snd_cur_blk, snd_cur_seq; /* last block segmented and its first byte's seq */
	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv, rcv_space, last_ack_sent;
	uint32_t ooo_head;             /* out-of-order blocks, sorted by sequence */
	uint32_t ooo_bytes;
	uint32_t sack_last;            /* start of the latest out-of-order arrival (RFC 2018 4) */
	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_offset;
	/* RTT (RFC 6298), microseconds */
	uint32_t srtt, rttvar, rto;
	uint32_t rtt_seq, rtt_start;   /* timed segment (Karn: never a retransmission) */
	/* deadlines, in wheel ticks (valid when the matching flag is set) */
	uint32_t t_rexmt, t_delack, t_idle; /* t_idle: keepalive, 2MSL or FIN-WAIT-2 */
	uint32_t last_rx_tick;
	uint32_t fin_seq;              /* our FIN's sequence number once queued */
	struct net_tcp_sack_blk sack_sb[NET_TCP_SACK_SB]; /* peer's SACKed ranges */
};

/* A segment to put on the wire: the stack built the TCP header (options
 * included; checksum complete, or the pseudo-header sum when cfg.csum_offload),
 * the payload is a view into the send blocks, valid during the call.
 * A segment of cfg.mss bytes spans at most mss / block_size + 2 blocks (a
 * partial one at each end): net_tcp_stack_init refuses an MSS that needs
 * more than NET_TCP_MAX_IOV (9000-byte jumbo frames over 2 KB blocks: 6). */
#define NET_TCP_MAX_IOV 6
struct net_tcp_iov {
	const uint8_t *base;
	uint32_t len;
};
struct net_tcp_seg_out {
	uint32_t saddr, daddr;
	const uint8_t *hdr;            /* TCP header, hdr_len bytes */
	uint32_t hdr_len;
	struct net_tcp_iov iov[NET_TCP_MAX_IOV];
	uint32_t iovcnt, payload_len;
	struct net_tcp_conn *conn;     /* NULL for a RST answering no connection */
};

struct net_tcp_stack;
struct net_tcp_ops {
	/* Emit one segment. */
	void (*output)(void *ctx, const struct net_tcp_seg_out *seg);
	/* In-order bytes, a view valid during the call. Returns how many the
	 * application takes (the rest is not acknowledged and the window
	 * shrinks by what it took). */
	size_t (*recv)(void *ctx, struct net_tcp_conn *c, const uint8_t *p, size_t len);
	/* Connection events. From inside any callback the application may
	 * send, flush, set the receive space, shut down, and abort (the abort
	 * then takes effect when the stack call returns); nothing on a
	 * connection after its NET_TCP_EV_FREE. Not net_tcp_connect,
	 * net_tcp_listen or net_tcp_advance: the block being freed or the
	 * wheel being walked may be the one they would take (open new
	 * connections from the driver's loop, after the call returns). */
	void (*event)(void *ctx, struct net_tcp_conn *c, enum net_tcp_event ev,
		      enum net_tcp_close_reason reason);
};

struct net_tcp_cfg {
	uint16_t mss;                  /* our MSS option: max payload we take (1460;
	                                * net_tcp_mss_for_mtu) */
	uint8_t wscale;                /* window scale we offer (7); 0xff: no option */
	bool timestamps;               /* offer RFC 7323 timestamps */
	bool sack;                     /* offer SACK-permitted */
	bool csum_offload;             /* output: pseudo sum only; input: checksums already checked */
	uint32_t rcv_space;            /* a new connection's receive window until the app sets one */
	uint32_t snd_buf;              /* max unacknowledged + unsent bytes per connection */
	uint32_t ooo_max;              /* max out-of-order bytes held per connection */
	uint32_t rto_min_us, rto_max_us, rto_initial_us; /* RFC 6298: 200 ms, 60 s, 1 s */
	uint32_t delack_us;            /* 40 ms */
	uint32_t msl_us;               /* TIME-WAIT lasts 2 * msl_us */
	uint32_t fin_wait_2_us;        /* 0: wait forever for the peer's FIN */
	uint8_t syn_retries, data_retries;
	uint32_t keep_idle_us, keep_intvl_us; /* keep_idle 0: keepalive off */
	uint8_t keep_cnt;
	uint16_t init_cwnd_segs;       /* RFC 6928: 10 */
	uint32_t challenge_ack_limit;  /* per second, stack-wide (RFC 5961 7) */
	uint32_t tick_us;              /* timer granularity (1000) */
	uint8_t isn_key[16];           /* RFC 6528 secret */
};
void net_tcp_cfg_default(struct net_tcp_cfg *cfg);

/* The MSS to announce on an interface of IP MTU mtu: the MTU less the
 * fixed IPv4 and TCP headers (RFC 9293 3.7.1, RFC 879; 1500 -> 1460). */
static inline uint16_t net_tcp_mss_for_mtu(uint16_t mtu)
{
	return (uint16_t)(mtu > 40 ? mtu - 40 : 0);
}

#define NET_TCP_MAX_LISTENERS 16
struct net_tcp_listener {
	uint32_t addr;                 /* 0: any */
	uint16_t port;                 /* 0: slot free */
	uint16_t backlog, pending;     /* SYN queue bound and use */
};

struct net_tcp_stack {
	struct net_tcp_cfg cfg;
	struct net_tcp_ops ops;
	void *ctx;
	struct net_tcp_conn *conns;    /* caller's array */
	uint32_t nconns, nfree, free_head;
	struct net_tcp_pool *pool;
	struct net_timer_wheel wheel;
	uint64_t now_us;
	uint32_t challenge_sec, challenge_n;
	uint32_t in_cb;                /* callback depth: aborts are deferred inside */
	struct net_tcp_listener listeners[NET_TCP_MAX_LISTENERS];
	uint64_t counters[NET_TCP_C_COUNT];
};

/* wheel_heads: wheel_slots + 1 u32s (wheel_slots a power of two; with a
 * 1 ms tick, 4096 slots cover 4 s per revolution). Returns 0 or -1. */
int net_tcp_stack_init(struct net_tcp_stack *s, const struct net_tcp_cfg *cfg,
		       const struct net_tcp_ops *ops, void *ctx, struct net_tcp_conn *conns,
		       uint32_t nconns, struct net_tcp_pool *pool, uint32_t *wheel_heads,
		       uint32_t wheel_slots, uint64_t now_us);

/* Passive open on (addr or 0 for any, port). Returns the slot or -1. */
int net_tcp_listen(struct net_tcp_stack *s, uint32_t addr, uint16_t port, uint16_t backlog);
void net_tcp_unlisten(struct net_tcp_stack *s, uint16_t port);

/* Active open with the given local port (the caller picks it, e.g. for
 * flow steering, and makes sure its lookup holds no block for the same
 * 4-tuple, TIME-WAIT included: net_tcp_abort frees one). NULL when no
 * block is free. The SYN is sent at once; user is stored in conn->user. */
struct net_tcp_conn *net_tcp_connect(struct net_tcp_stack *s, uint32_t laddr, uint16_t lport,
				     uint32_t raddr, uint16_t rport, uint64_t user,
				     uint64_t now_us);

/* An incoming TCP segment (header + payload, contiguous) from src to dst,
 * for connection c (the caller's lookup; NULL: none found). */
void net_tcp_input(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t src, uint32_t dst,
		   const uint8_t *seg, size_t len, uint64_t now_us);

/* Queue bytes to send (copied into send blocks). Returns how many were
 * taken: fewer when the per-connection limit or the pool runs out. Call
 * net_tcp_flush() to put them on the wire (so several appends can share
 * segments). */
size_t net_tcp_send(struct net_tcp_stack *s, struct net_tcp_conn *c, const void *p, size_t len);
size_t net_tcp_send_space(const struct net_tcp_stack *s, const struct net_tcp_conn *c);
void net_tcp_flush(struct net_tcp_stack *s, struct net_tcp_conn *c, uint64_t now_us);
/* The application can take `space` more bytes (from rcv_nxt on): the
 * window we advertise. A window update is sent if it opened enough. */
void net_tcp_set_rcv_space(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t space,
			   uint64_t now_us);
/* Half-close: FIN after the queued data. */
void net_tcp_shutdown(struct net_tcp_stack *s, struct net_tcp_conn *c, uint64_t now_us);
/* RST and free now (NET_TCP_EV_CLOSED(ABORTED) then NET_TCP_EV_FREE). */
void net_tcp_abort(struct net_tcp_stack *s, struct net_tcp_conn *c, uint64_t now_us);

/* Run the timers up to now. */
void net_tcp_advance(struct net_tcp_stack *s, uint64_t now_us);

static inline uint32_t net_tcp_conn_index(const struct net_tcp_stack *s,
					  const struct net_tcp_conn *c)
{
	return (uint32_t)(c - s->conns);
}

/* RFC 6528 ISN: a keyed hash (SipHash-2-4) of the 4-tuple plus a 4 µs clock. */
uint32_t net_tcp_isn(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr,
		     uint16_t rport, uint64_t now_us);
uint64_t net_siphash24(const uint8_t key[16], const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NET_TCP_H */
