/* A worker: one thread pinned to one core, owning its connections,
 * sessions, links, deliveries, buffers and counters (DESIGN.md "Share
 * nothing between worker cores"). It runs the AMQP 1.0 connection engine
 * after the handoff (transfer, flow, disposition, heartbeats, session
 * windows, link credit) and forwards deliveries: to a link of its own, or
 * to another worker over that pair's SPSC ring.
 *
 * Every structure below belongs to its worker thread, except where a field
 * says otherwise (the counters, read by control with relaxed loads; a
 * link's `outstanding`, read by other workers for balanced distribution;
 * the rings, which have one producer and one consumer). */
#ifndef DP_WORKER_H
#define DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "amqp_spec_gen.h"
#include "dp_buf.h"
#include "dp_map.h"
#include "dp_msg.h"
#include "dp_ring.h"
#include "route_table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DP_MAX_WORKERS 64

enum dp_counter_id {
#define DP_COUNTER(name, desc) DP_C_##name,
#include "dp_counters.def"
#undef DP_COUNTER
	DP_C_COUNT
};
enum dp_drop_id {
#define DP_DROP(name, desc) DP_D_##name,
#include "dp_drops.def"
#undef DP_DROP
	DP_D_COUNT
};
extern const char *const dp_counter_names[DP_C_COUNT];
extern const char *const dp_drop_names[DP_D_COUNT];

/* Limits of a listener's connections (resolved by control from the
 * configuration). */
struct dp_limits {
	uint64_t max_message_size;  /* bytes, 0: none */
	uint64_t max_conn_buffered; /* output bytes before the peer counts as stopped */
	uint32_t max_sessions;      /* per connection */
	uint32_t max_links;         /* per connection */
	uint32_t handshake_timeout_ms;
	uint32_t link_capacity;     /* credit per incoming link */
	uint32_t session_window;    /* incoming-window, frames */
	uint32_t max_frame;         /* what we announce */
	uint32_t idle_timeout_ms;   /* configured; the Open carries half */
};

/* Outcome ranks: multicast settles its producer with the strongest
 * (REJECTED > ACCEPTED > MODIFIED > RELEASED, as qdrouterd). */
enum dp_outcome_rank {
	DP_RANK_NONE = 0,
	DP_RANK_RELEASED = 1,
	DP_RANK_MODIFIED = 2,
	DP_RANK_ACCEPTED = 3,
	DP_RANK_REJECTED = 4,
};

#define DP_STATE_MAX 240 /* an outcome kept verbatim (its error condition included) */

/* Output queued on a connection above this stops its outgoing links from
 * sending more (their deliveries, and their producers' credit, wait):
 * engine and drivers use the same mark. */
#define DP_OUT_WATERMARK (1u << 20)
/* A transfer's payload of at most this many bytes is copied into the
 * output behind its performative, a larger one sliced from the input
 * (dp_frame_end; docs/adr/0008-copy-small-payloads.md). */
#define DP_COPYBREAK 512u
/* Room reserved to encode one performative (not its payload); an Attach
 * echoing long terminus addresses is the largest. */
#define DP_PERF_MAX 4096u

struct dp_conn;
struct dp_session;
struct dp_link;
struct dp_delivery;

/* One copy of a delivery on its way out on a link (a multicast delivery
 * has one per consumer). */
struct dp_copy {
	struct dp_delivery *d;
	struct dp_link *link;     /* outgoing link; checked with link_gen */
	uint32_t link_gen;
	uint16_t xc_worker;       /* waiting for room on the ring to this worker */
	uint32_t xc_link;         /* ... for this link of it */
	uint32_t delivery_id;     /* on the link's session, once sent */
	struct dp_copy *next;     /* link queue */
	bool sent;
};

/* A message in the router: received here from a producer link, or from
 * another worker (then `origin_worker` >= 0). */
struct dp_delivery {
	uint32_t idx, gen;
	bool live;
	struct dp_chain payload; /* the message bytes (every transfer frame's payload) */
	/* origin: a local producer link ... */
	struct dp_link *in_link;
	uint32_t in_link_gen;
	uint32_t in_delivery_id;
	/* ... or another worker */
	int16_t origin_worker;
	uint32_t origin_delivery;
	bool settled_in;   /* pre-settled by the producer */
	uint32_t in_frames; /* transfer frames it came in: its session's window waits on them */
	uint32_t in_conn, in_conn_gen, in_sess_serial;
	uint16_t in_channel;
	bool has_header;
	uint32_t hdr_len;  /* bytes of the header section at the start of payload */
	struct amqp_header header;
	uint32_t message_format;
	int64_t expiry_ms; /* 0: none */
	uint32_t copies;   /* copies not yet finished (settled or failed) */
	uint32_t unsent;   /* copies not yet sent: the producer's credit waits on 0 */
	uint8_t best_rank;
	uint16_t best_state_len;
	uint8_t best_state[DP_STATE_MAX];
	struct dp_delivery *next_free;
};

enum dp_link_state { DP_LINK_FREE, DP_LINK_PENDING, DP_LINK_ACTIVE, DP_LINK_DETACHED };

struct dp_link {
	uint32_t idx, gen;
	uint8_t state;
	bool outgoing;      /* router sends (the client's receiver) */
	bool dynamic;
	struct dp_conn *conn;
	struct dp_session *sess;
	uint32_t handle;    /* the peer's handle = ours */
	char *addr;         /* target (incoming) or source (outgoing); NULL: anonymous */
	uint32_t addr_len;
	uint8_t snd_settle_mode, rcv_settle_mode;
	uint32_t delivery_count;
	uint32_t credit;    /* outgoing: what the consumer granted; incoming: what we granted, left */
	bool drain;
	/* Read by other workers (balanced): queued + unsettled copies. */
	uint32_t outstanding;
	/* incoming links */
	uint32_t in_flight;  /* deliveries received whose copies are not all sent */
	bool blocked;        /* targeted, no consumer: credit withheld */
	uint32_t slack;      /* transfers tolerated past a revoked credit (in flight when we drained) */
	uint64_t table_version; /* version `entry` was looked up in */
	const struct route_entry *entry;
	struct dp_delivery *partial; /* a multi-frame delivery being received */
	uint32_t partial_id;
	/* outgoing links */
	struct dp_copy *q_head, *q_tail; /* copies waiting for credit */
	struct dp_copy *cur;             /* the copy being written, when the peer's session
					    window closed in the middle of it */
	uint64_t cur_pos, cur_tag;
	uint32_t cur_id;
	bool cur_settled, cur_first;
	uint32_t q_len;
	bool dirty;                      /* on the worker's dirty vector */
	struct dp_link *next_targeted;   /* worker's list of targeted incoming links */
	struct dp_link *prev_targeted;
	/* pending attach: the peer's Attach kept for the reply */
	struct amqp_bytes pend_name;
	uint8_t *pend_buf;               /* owned: name, source and target raw bytes */
	struct amqp_bytes pend_source, pend_target;
	uint64_t max_message_size;
	struct dp_link *next_free;
};

struct dp_session {
	struct dp_conn *conn;
	uint16_t channel;           /* the peer's channel = ours */
	bool ended;
	/* AMQP 1.0 part 2.5.6 session flow control */
	uint32_t next_incoming_id;  /* next transfer id we expect */
	uint32_t in_edge;           /* next-incoming-id + incoming-window as last announced:
				       a transfer at or past it violates the window */
	uint32_t held;              /* transfer frames of deliveries still in the router:
				       the window reopens as they leave (part 2.5.6) */
	uint32_t serial;            /* identifies the session to deliveries that outlive links */
	uint32_t next_outgoing_id;  /* next transfer-id we send (one per frame) */
	uint32_t next_delivery_id;  /* next delivery-id we assign (one per delivery) */
	uint32_t remote_incoming_left; /* transfers the peer accepts from us */
	uint32_t handle_max;
	struct dp_link **links;     /* by handle */
	uint32_t links_cap;
	struct dp_map unsettled_out; /* delivery-id -> dp_copy (we sent, not settled) */
	struct dp_map unsettled_in;  /* delivery-id -> dp_delivery (received, not settled) */
};

enum dp_conn_state { DP_CONN_FREE, DP_CONN_PREOPEN, DP_CONN_OPEN, DP_CONN_CLOSING };

struct dp_conn {
	uint32_t idx, gen;
	uint8_t state;
	bool paused;        /* an Attach waits on control: input held, in order */
	bool dirty;         /* on the worker's flush list */
	bool close_sent;
	bool close_when_flushed;
	bool reading_blocked; /* input over its limit: stop reading */
	int fd;             /* socket driver; -1 under a driver with its own TCP */
	uint64_t drv_token; /* such a driver's handle of the connection (the token after dp_cmd_accept) */
	uint16_t listener;
	struct dp_chain in;  /* unparsed input */
	uint64_t in_base;    /* absolute stream offset of in's first byte */
	uint64_t relayed;    /* pre-Open: bytes relayed to control */
	struct dp_chain out; /* output not yet written */
	const struct dp_limits *lim;
	uint32_t max_frame_in;  /* announced */
	uint32_t max_frame_out; /* the peer's */
	uint16_t channel_max_out;
	uint32_t remote_idle_ms;
	uint32_t local_idle_ms;
	uint64_t accept_ms, last_rx_ms, last_tx_ms, stall_ms;
	struct dp_session **sessions; /* by channel */
	uint32_t sessions_cap;
	uint32_t n_sessions, n_links;
	char reason[120]; /* why it closes, for control's log line */
	bool opened;      /* the handoff happened */
	uint64_t rx, tx;  /* bytes, for the log line */
};

struct dp_worker;

/* I/O driver (DESIGN.md: drivers are function tables). The worker loop
 * calls poll; the engine calls write/close. */
struct drv_ops {
	const char *name;
	int (*worker_init)(struct dp_worker *w);
	void (*worker_fini)(struct dp_worker *w);
	/* wait at most timeout_ms for I/O (0: don't block) and process it */
	int (*poll)(struct dp_worker *w, int timeout_ms);
	int (*conn_attach)(struct dp_worker *w, struct dp_conn *c); /* new fd */
	void (*conn_flush)(struct dp_worker *w, struct dp_conn *c); /* write c->out */
	void (*conn_release)(struct dp_worker *w, struct dp_conn *c); /* close the fd */
	void (*wake)(struct dp_worker *w); /* from another thread */
	/* Optional (drivers with their own TCP): control refused the
	 * connection of this token (DP_CMD_REFUSE): reset it. */
	void (*conn_refuse)(struct dp_worker *w, uint64_t token);
	/* Optional (busy-polling drivers): could a poll with a timeout block
	 * now? false: the loop skips the sleep protocol (going offline for
	 * the routing table, the sleeping flag: three seq_cst stores per turn,
	 * a third of a spinning dpdk worker's samples) and polls with 0.
	 * Absent: every poll may block. */
	bool (*may_block)(struct dp_worker *w);
	/* Optional: the driver's own per-worker counters, for `rpcrouter-ctl
	 * stats`; called by control (relaxed reads of the worker's values). */
	void (*counters)(struct dp_worker *w,
			 void (*emit)(void *arg, const char *group, const char *name, uint64_t v),
			 void *arg);
};

struct dp_shared;

struct dp_dirty {
	void *p;
	uint32_t gen;
};

struct dp_xc_pending {
	uint16_t to;
	uint16_t type;
	uint32_t len;
	uint8_t rec[sizeof(struct dp_xc_ack) + DP_STATE_MAX];
};

struct dp_worker {
	/* read by control (relaxed): counters */
	uint64_t counters[DP_C_COUNT] __attribute__((aligned(64)));
	uint64_t drops[DP_D_COUNT];
	uint64_t n_conns; /* open connections (pre-Open included) */

	unsigned id;
	int cpu; /* -1: not pinned */
	struct dp_shared *sh;
	const struct drv_ops *drv;
	void *drv_state;
	int sleeping; /* written by the worker, read by wakers (atomic) */
	bool offline; /* announced offline to the table publisher (waiting) */
	bool clock_frozen; /* tests: now_ms and wall_ms are set by the caller */
	bool stopping;
	uint64_t close_all_ms; /* shutdown, phase 2: close every connection at this time */

	struct dp_ring to_control;    /* this worker -> control */
	struct dp_ring from_control;  /* control -> this worker */
	/* xc_in[j]: worker j -> this worker (the ring lives here) */
	struct dp_ring *xc_in[DP_MAX_WORKERS];
	bool xc_dirty[DP_MAX_WORKERS]; /* records reserved towards worker j, not committed */

	const struct route_table *table;
	uint64_t table_version;

	struct dp_block_pool blocks;
	/* pools: chunked arrays, handles are index (24 bits) + generation (8) */
	struct dp_conn *conns;   /* max_conns, allocated at start (lazily touched) */
	uint32_t max_conns;
	struct dp_link **link_chunks;
	uint32_t n_link_chunks;
	struct dp_link *free_links;
	struct dp_delivery **dlv_chunks;
	uint32_t n_dlv_chunks;
	struct dp_delivery *free_dlv;
	uint64_t dlv_live;
	struct dp_copy *free_copies;
	void **copy_slabs;
	uint32_t n_copy_slabs;

	/* links and connections with work for the end of this iteration: by
	 * pointer and generation, so an entry whose object was freed (and its
	 * slot maybe reused) is recognised and skipped */
	struct dp_dirty *dirty_links, *dirty_conns;
	uint32_t n_dirty_links, cap_dirty_links, n_dirty_conns, cap_dirty_conns;
	struct dp_link *targeted; /* incoming links with a target address */

	/* deliveries to another worker that found its ring full (back-pressure) */
	struct dp_copy *xc_wait_head, *xc_wait_tail;

	/* acknowledgements to other workers that found their ring full */
	struct dp_xc_pending *xc_acks;
	uint32_t n_xc_acks, cap_xc_acks;

	uint64_t now_ms;
	int64_t wall_ms; /* CLOCK_REALTIME: absolute-expiry-time is wall-clock */
	uint32_t rotor;  /* spreads ties in balanced/closest picks */
	uint32_t session_serial;
	uint64_t next_timer_ms;
	uint64_t tag_seq; /* delivery tags we assign */
};

/* Shared, read-mostly state of the dataplane: set up by control before
 * workers start. */
struct dp_shared {
	unsigned n_workers;
	struct dp_worker *workers[DP_MAX_WORKERS];
	struct route_pub *pub;
	struct dp_limits *limits; /* by listener index */
	unsigned n_limits;
	char router_id[128];
	void (*control_wake)(void *arg); /* wake control after events */
	void *control_wake_arg;
};

/* Handles */
static inline uint32_t dp_handle(uint32_t idx, uint32_t gen) { return (idx << 8) | (gen & 0xffu); }
static inline uint32_t dp_handle_idx(uint32_t h) { return h >> 8; }
static inline uint32_t dp_handle_gen(uint32_t h) { return h & 0xffu; }

/* --- dp_worker.c: lifecycle, loop, pools, rings ------------------------ */
/* Append to a dirty vector (grows when full: amortised, rare). */
void dp_dirty_push(struct dp_dirty **v, uint32_t *n, uint32_t *cap, void *p, uint32_t gen);
/* The worker woke from a wait: come back online and adopt the newest
 * address table before any event is handled (the driver calls it). */
void dp_worker_resume(struct dp_worker *w);
/* One iteration of the worker loop, without waiting for I/O: adopt the
 * newest table, run control's commands and other workers' records, send
 * what is due, publish to other workers, run timers. false once a stopping
 * worker has nothing left. Tests and fuzzers drive a worker with it (set
 * clock_frozen to drive now_ms/wall_ms themselves). */
bool dp_worker_step(struct dp_worker *w);
/* Pump every dirty link, then flush every dirty connection (the end of a
 * loop iteration; tests drive it directly). */
void dp_worker_flush(struct dp_worker *w);
int dp_worker_init(struct dp_worker *w, struct dp_shared *sh, unsigned id, int cpu,
		   uint32_t max_conns, const struct drv_ops *drv);
void dp_worker_fini(struct dp_worker *w);
void *dp_worker_main(void *arg); /* thread entry: arg is the worker */
uint64_t dp_now_ms(void);

static inline void dp_count(struct dp_worker *w, enum dp_counter_id c, uint64_t n)
{
	__atomic_store_n(&w->counters[c], w->counters[c] + n, __ATOMIC_RELAXED);
}
static inline void dp_drop(struct dp_worker *w, enum dp_drop_id d)
{
	__atomic_store_n(&w->drops[d], w->drops[d] + 1, __ATOMIC_RELAXED);
}

struct dp_link *dp_link_alloc(struct dp_worker *w);
/* The link of a handle, or NULL when it is free or reused (its generation
 * differs). Inline: the routing of every message looks its consumer up. */
#define DP_LINK_CHUNK 1024u
static inline struct dp_link *dp_link_lookup(struct dp_worker *w, uint32_t handle)
{
	uint32_t idx = dp_handle_idx(handle);
	if (idx / DP_LINK_CHUNK >= w->n_link_chunks)
		return NULL;
	struct dp_link *l = &w->link_chunks[idx / DP_LINK_CHUNK][idx % DP_LINK_CHUNK];
	if (l->state == DP_LINK_FREE || l->gen != dp_handle_gen(handle))
		return NULL;
	return l;
}
void dp_link_free(struct dp_worker *w, struct dp_link *l);
struct dp_delivery *dp_delivery_alloc(struct dp_worker *w);
struct dp_delivery *dp_delivery_lookup(struct dp_worker *w, uint32_t handle);
void dp_delivery_free(struct dp_worker *w, struct dp_delivery *d);
struct dp_copy *dp_copy_alloc(struct dp_worker *w);
void dp_copy_free(struct dp_worker *w, struct dp_copy *c);
struct dp_conn *dp_conn_lookup(struct dp_worker *w, uint32_t idx, uint32_t gen);

/* An event to control (false: ring full, try later). */
bool dp_post_control(struct dp_worker *w, uint16_t type, const void *hdr, uint32_t hlen,
		     const void *bytes, uint32_t blen);

/* --- dp_conn.c: the connection engine ----------------------------------- */
/* Bytes arrived (already appended to c->in). */
void dp_conn_input(struct dp_worker *w, struct dp_conn *c);
/* Control finished SASL/Open for c: write its output, run the kept input. */
void dp_conn_handoff(struct dp_worker *w, struct dp_conn *c, const struct dp_cmd_handoff *h,
		     const uint8_t *out, uint32_t out_len);
/* Close with an AMQP error condition (Close frame, then the socket after
 * the output is written). */
void dp_conn_fail(struct dp_worker *w, struct dp_conn *c, enum dp_drop_id drop,
		  const char *condition, const char *description);
/* Record why c closes (first reason wins), for the log. */
void dp_conn_set_reason(struct dp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Shutdown phase 1: every consumer link fails now, so what it holds is
 * settled back to producers (RELEASED, or MODIFIED delivery-failed) while
 * their connections are still open. */
void dp_conn_detach_consumers(struct dp_worker *w, struct dp_conn *c);
/* Tear down: every link and delivery of c, then the socket. */
void dp_conn_destroy(struct dp_worker *w, struct dp_conn *c);
/* Output appended: flush at the end of this loop iteration. */
void dp_conn_mark_dirty(struct dp_worker *w, struct dp_conn *c);
/* Timers (heartbeats, idle and handshake timeouts, stalled readers). */
void dp_conn_timers(struct dp_worker *w, struct dp_conn *c);
/* After a write: more can be sent (outgoing links waiting on output room). */
void dp_conn_output_drained(struct dp_worker *w, struct dp_conn *c);
/* Frame encoding: begin a frame in the worker's output block. */
struct dp_frame_out {
	uint8_t *hdr;
	struct amqp_wbuf wb;
};
bool dp_frame_begin(struct dp_worker *w, struct dp_frame_out *f, uint32_t max);
void dp_frame_end(struct dp_worker *w, struct dp_conn *c, struct dp_frame_out *f,
		  uint16_t channel, const struct dp_chain *payload, uint64_t pos, uint32_t len);

/* --- dp_link.c: sessions, links, credit --------------------------------- */
void dp_session_begin(struct dp_worker *w, struct dp_conn *c, uint16_t ch,
		      const struct amqp_begin *b);
void dp_session_end(struct dp_worker *w, struct dp_session *s, const struct amqp_end *e);
void dp_session_fail(struct dp_worker *w, struct dp_session *s, enum dp_drop_id drop,
		     const char *condition, const char *description);
void dp_session_destroy(struct dp_worker *w, struct dp_session *s);
void dp_session_flow_in(struct dp_worker *w, struct dp_session *s, const struct amqp_flow *f);
void dp_link_attach(struct dp_worker *w, struct dp_session *s, const struct amqp_attach *a);
void dp_link_attach_decided(struct dp_worker *w, const struct dp_cmd_attach *cmd,
			    const uint8_t *addr, uint32_t addr_len);
void dp_link_detach(struct dp_worker *w, struct dp_link *l, const struct amqp_detach *d);
void dp_link_fail(struct dp_worker *w, struct dp_link *l, enum dp_drop_id drop,
		  const char *condition, const char *description);
/* Tear down (connection or session gone): copies failed, control told. */
void dp_link_destroy(struct dp_worker *w, struct dp_link *l);
void dp_link_send_flow(struct dp_worker *w, struct dp_link *l, bool echo);
void dp_session_send_flow(struct dp_worker *w, struct dp_session *s);
/* A new address table: grant or drain targeted incoming links. */
void dp_links_table_changed(struct dp_worker *w);
/* An incoming link's delivery left (all copies sent): maybe more credit. */
void dp_link_in_freed(struct dp_worker *w, struct dp_link *l);
/* Top up an incoming link's credit to its capacity less what it has in
 * the router, once half of it is used (or all), with a Flow. */
void dp_link_grant_credit(struct dp_worker *w, struct dp_link *l);
/* A delivery received here leaves (forwarded, refused or dropped): its
 * frames no longer count against its session's incoming window. */
void dp_session_frames_freed(struct dp_worker *w, struct dp_delivery *d);
/* Frames left the router (or were never kept): widen the session's
 * incoming window and tell the peer when worth it. */
void dp_session_reopen(struct dp_worker *w, struct dp_session *s);
/* The session's incoming window as the peer sees it (frames). */
static inline uint32_t dp_session_window(const struct dp_session *s)
{
	return s->in_edge - s->next_incoming_id;
}
void dp_link_mark_dirty(struct dp_worker *w, struct dp_link *l);

/* --- dp_deliver.c: transfers, forwarding, settlement -------------------- */
/* A transfer frame of session s; its payload is bytes [pos, pos + len) of
 * the connection's input chain in, and the cursor payload over them. */
void dp_transfer_in(struct dp_worker *w, struct dp_session *s, const struct amqp_transfer *t,
		    const struct amqp_cursor *payload, const struct dp_chain *in, uint64_t pos,
		    uint32_t len);
void dp_disposition_in(struct dp_worker *w, struct dp_session *s,
		       const struct amqp_disposition *d);
/* Send what outgoing link l has queued, within credit and output room. */
void dp_link_pump(struct dp_worker *w, struct dp_link *l);
/* A copy ends: outcome rank and encoded state (may be NULL). */
void dp_copy_finish(struct dp_worker *w, struct dp_copy *cp, enum dp_outcome_rank rank,
		    const uint8_t *state, uint32_t state_len);
/* Cross-core records from worker `from`. */
void dp_xc_input(struct dp_worker *w, unsigned from, uint16_t type, const void *rec,
		 uint32_t len);
/* Retry deliveries held back by a full ring. */
void dp_xc_retry(struct dp_worker *w);
/* Refresh w->wall_ms (once per loop iteration). */
void dp_worker_clock(struct dp_worker *w);
/* Outcome encodings */
uint32_t dp_encode_outcome(uint8_t *buf, uint32_t cap, enum dp_outcome_rank rank,
			   bool delivery_failed, bool undeliverable_here);

#ifdef __cplusplus
}
#endif
#endif
