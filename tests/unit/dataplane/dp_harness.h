/* Test harness for the worker engine (dataplane/dp_*.c): no threads, no
 * sockets, no clock. A driver whose flush moves a connection's output into
 * a per-connection capture buffer; one or two workers driven step by step
 * the way dp_worker_main drives them (table acquire, commands, cross-core
 * records, flush); and a fake control that answers Attach events as
 * control/ctl_router.c does (outgoing links registered in a route_master,
 * a snapshot published before the reply).
 *
 * Shared by the googletest suite (tests/unit/dataplane) and the libFuzzer
 * target tests/fuzz/fuzz_conn.c. Test code only: it aborts on setup
 * failures. C and C++. */
#ifndef DP_HARNESS_H
#define DP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_worker.h"
#include "route_table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DPH_MAX_WORKERS 2
#define DPH_MAX_CONNS 8
#define DPH_MAX_LIMITS 4

/* Output of one connection slot, as the peer would read it. */
struct dph_capture {
	uint8_t *buf; /* malloc'd */
	size_t len, cap;
};

/* What the fake control saw. */
struct dph_gone {
	unsigned worker;
	uint32_t conn, gen;
	bool was_open;
	char reason[128];
};

struct dph_reply {
	unsigned worker;
	struct dp_cmd_attach cmd;
	char addr[128];
	uint32_t addr_len;
};

struct dph {
	struct dp_shared sh;
	struct dp_limits limits[DPH_MAX_LIMITS]; /* by listener index; [0] the default */
	struct route_rules *rules;
	struct route_master *master;
	bool table_dirty;
	struct dph_capture cap[DPH_MAX_WORKERS][DPH_MAX_CONNS];
	uint32_t next_gen[DPH_MAX_WORKERS][DPH_MAX_CONNS];
	/* fake control state */
	struct dp_map regs; /* (worker << 32 | link handle) -> malloc'd address */
	struct dph_reply *replies;
	size_t n_replies, cap_replies;
	uint32_t dyn_seq;
	bool refuse_attaches; /* answer every Attach with amqp:not-found */
	/* pre-Open input relayed to control (worker 0 .. n, conn slot) */
	uint8_t *raw[DPH_MAX_WORKERS][DPH_MAX_CONNS];
	size_t raw_len[DPH_MAX_WORKERS][DPH_MAX_CONNS];
	bool raw_gap; /* a relay did not start where the previous ended */
	struct dph_gone gone[64];
	unsigned n_gone;
	unsigned attach_events, link_gone_events;
	/* the driver's read placement: leave this many bytes unused after
	 * each read (as when another connection's read lands in between) */
	uint32_t read_gap;
	/* per worker, a bit per connection slot: its output is consumed as a
	 * peer reading everything would, but not captured (a benchmark's
	 * consumer, whose bytes nobody looks at) */
	uint32_t discard[DPH_MAX_WORKERS];
};

/* Limits every test starts from (listener 0); tests change h->limits
 * before opening connections. */
void dph_default_limits(struct dp_limits *l);

/* n_workers in 1..DPH_MAX_WORKERS; dist: the default distribution. */
void dph_init(struct dph *h, unsigned n_workers, enum route_dist dist);
/* Destroy every connection (as the driver would on a lost socket), drain
 * control, free everything. */
void dph_fini(struct dph *h);
struct dp_worker *dph_worker(struct dph *h, unsigned wi);

/* The real path to an open connection: DP_CMD_ACCEPT (fd -1), then
 * DP_CMD_HANDOFF with consumed R and the given "proton output" bytes.
 * pre/pre_len: bytes the peer sent before the handoff (header, SASL, Open
 * and pipelined frames), consumed: how many of them control consumed.
 * Returns the connection slot index. */
uint32_t dph_accept(struct dph *h, unsigned wi, uint16_t listener);
void dph_handoff(struct dph *h, unsigned wi, uint32_t conn, uint64_t consumed,
		 uint32_t remote_max_frame, uint32_t remote_idle_ms, const uint8_t *out,
		 uint32_t out_len);
uint32_t dph_open(struct dph *h, unsigned wi, uint16_t listener, uint32_t remote_max_frame,
		  uint32_t remote_idle_ms);
struct dp_conn *dph_conn(struct dph *h, unsigned wi, uint32_t conn); /* NULL when gone */

/* One read of n bytes (n <= DP_BLOCK_DATA) placed in the pool's shared
 * input block as the socket driver does, then dp_conn_input. No flush. */
void dph_read(struct dph *h, unsigned wi, uint32_t conn, const uint8_t *data, size_t n);
/* The stream as reads of `split` bytes (the last may be shorter), then
 * dph_run. split 0: one read per DP_BLOCK_DATA. */
void dph_feed(struct dph *h, unsigned wi, uint32_t conn, const uint8_t *data, size_t n,
	      size_t split);

/* Worker iterations and control rounds until nothing moves (bounded). */
void dph_run(struct dph *h);
/* dp_conn_timers for every connection of every worker at time now_ms,
 * then dph_run. */
void dph_tick(struct dph *h, uint64_t now_ms);

/* Capture of a connection slot: its bytes since the last take. */
const uint8_t *dph_out(struct dph *h, unsigned wi, uint32_t conn, size_t *len);
void dph_out_clear(struct dph *h, unsigned wi, uint32_t conn);

/* Give the pool's current input and output blocks back (the engine takes
 * new ones when it needs them), so that blocks_free can be compared with
 * blocks_total. */
void dph_drop_current_blocks(struct dph *h, unsigned wi);

#ifdef __cplusplus
}
#endif
#endif
