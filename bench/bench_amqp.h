/*
 * bench_amqp: the load generator's AMQP 1.0 connection engine.
 *
 * rpcrouter-bench speaks AMQP itself (the project's codec, dataplane/amqp,
 * and the hand-written transfer/disposition encoders, dp_encode.h) instead
 * of proton-C: proton costs more CPU per message than the router does, so a
 * proton generator would measure itself. This engine is I/O-free and reads
 * no clock, like the router's protocol code (DESIGN.md): bytes in, bytes
 * and callbacks out, time passed in. The same engine runs over kernel
 * sockets (bench_io) and, later, over the dpdk driver's native TCP.
 *
 * One engine = one AMQP connection, one session (channel 0), up to
 * BENCH_AMQP_MAX_LINKS links. Either end of the connection:
 *   BENCH_AMQP_CLIENT  sends the protocol header(s) first, SASL when asked;
 *   BENCH_AMQP_SERVER  the --direct mode's listening peer: accepts a SASL
 *                      layer (ANONYMOUS, PLAIN: any credentials) or none,
 *                      answers Open/Begin, mirrors every Attach (a peer's
 *                      receiver becomes a local sender and vice versa) and
 *                      gives dynamic sources an address (part 3.5.3).
 * Links are "local sender" or "local receiver" whoever attached them.
 *
 * Threading: an engine belongs to one thread; nothing is shared.
 * Memory: every buffer is allocated in bench_amqp_new; nothing on the
 * per-message path allocates.
 *
 * Messages (bench_amqp_tpl): encoded once, per send only the patch fields
 * are rewritten in place: the correlation-id (ulong, fixed 9-byte form
 * 0x80), and a 24-byte tail at the end of the data section:
 *   "rrbench\0" | be64 sequence | be64 send timestamp (ns, caller's clock)
 * A router never rewrites the body, so the receiver reads the tail without
 * decoding (bench_amqp_tail). Body sizes below 24 bytes carry no tail.
 *
 * added (engine, all additive): config fields want_properties,
 * peer_link_credit, peer_link_manual_settle, max_unsettled. No signature
 * changed. Behaviour worth knowing (bench_amqp.c, bench_amqp_msg.c):
 *  - delivery tokens (bench_amqp_send, settled) are the session's
 *    delivery-ids; a receiver's delivery argument is the peer's delivery-id;
 *  - credit() also fires when a send was refused for credit or for the
 *    peer's session window and sending is possible again; a send refused
 *    for output room (bench_amqp_output_room) gets no callback;
 *  - links the peer attaches get peer_link_credit and are reported with
 *    attached(remote_initiated=true) on either role; the server role needs
 *    no bench_amqp_start (it waits for the peer's header);
 *  - an anonymous sender (target NULL) attaches a target with no address,
 *    as proton and oslo.messaging do;
 *  - bench_amqp_error: "condition: description" of the first error either
 *    side reported; a peer's EOF without Close is amqp:connection:forced;
 *  - one multi-frame delivery is reassembled at a time per connection;
 *    another link starting one meanwhile closes resource-limit-exceeded.
 */
#ifndef BENCH_AMQP_H
#define BENCH_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_AMQP_MAX_LINKS 64
#define BENCH_AMQP_TAIL_LEN 24
#define BENCH_AMQP_ADDR_MAX 256

enum bench_amqp_role { BENCH_AMQP_CLIENT, BENCH_AMQP_SERVER };

struct bench_amqp_conn; /* opaque */

/* Outcome of a delivery as the receiver settled it (part 3.4). */
enum bench_amqp_outcome {
	BENCH_AMQP_ACCEPTED,
	BENCH_AMQP_REJECTED,
	BENCH_AMQP_RELEASED,
	BENCH_AMQP_MODIFIED,
	BENCH_AMQP_PRESETTLED, /* settled by the sender on send: no outcome */
};

/* What a received message carries, as far as the generator cares. Views
 * point into the engine's input or reassembly buffer: valid during the
 * callback only. */
struct bench_amqp_msg {
	const uint8_t *data;    /* the whole encoded message (all sections) */
	size_t len;
	bool has_tail;          /* "rrbench\0" found at the end of the body */
	uint64_t seq;           /* from the tail */
	uint64_t sent_ns;       /* from the tail */
	bool has_correlation;   /* properties.correlation-id as ulong */
	uint64_t correlation;
	char reply_to[BENCH_AMQP_ADDR_MAX]; /* "" when absent */
	char to[BENCH_AMQP_ADDR_MAX];       /* "" when absent */
};

/* Callbacks: ctx is bench_amqp_config.ctx. link is the engine's link index.
 * Any of them may be NULL. They may call the engine's send/settle/attach
 * functions, not bench_amqp_free. */
struct bench_amqp_handlers {
	/* The peer's Open arrived (client: after our Open; server: before). */
	void (*opened)(void *ctx, struct bench_amqp_conn *c);
	/* A link is attached at both ends. address: the link's address (the
	 * target for a local sender, the source for a local receiver; for a
	 * dynamic receiver the address the peer assigned). remote_initiated:
	 * the peer attached it (server role). */
	void (*attached)(void *ctx, struct bench_amqp_conn *c, int link, bool local_sender,
			 const char *address, bool remote_initiated);
	/* A local sender's credit went from 0 to > 0 (it can send again). */
	void (*credit)(void *ctx, struct bench_amqp_conn *c, int link);
	/* A message arrived on a local receiver. delivery is the engine's
	 * token for bench_amqp_settle (ignored when settled). */
	void (*message)(void *ctx, struct bench_amqp_conn *c, int link, uint32_t delivery,
			bool settled, const struct bench_amqp_msg *m);
	/* The peer settled a delivery we sent unsettled; token as returned
	 * by bench_amqp_send. */
	void (*settled)(void *ctx, struct bench_amqp_conn *c, int link, uint64_t token,
			enum bench_amqp_outcome outcome);
	/* A link or the connection ended. condition: the AMQP error
	 * condition symbol, "" when none; description "" when none. */
	void (*detached)(void *ctx, struct bench_amqp_conn *c, int link, const char *condition,
			 const char *description);
	void (*closed)(void *ctx, struct bench_amqp_conn *c, const char *condition,
		       const char *description);
};

struct bench_amqp_config {
	enum bench_amqp_role role;
	const char *container_id; /* copied */
	const char *hostname;     /* Open hostname (client), copied; NULL: none */
	/* SASL: NULL = no SASL layer (client sends the AMQP header directly).
	 * "ANONYMOUS" or "PLAIN" (with user/password). Server: accepts either
	 * (offers ANONYMOUS and PLAIN) when sasl_mech is non-NULL, else
	 * requires the bare AMQP header. */
	const char *sasl_mech;
	const char *user, *password;
	uint32_t max_frame_size;   /* 0: 65536 */
	uint32_t idle_timeout_ms;  /* 0: none */
	uint32_t incoming_window;  /* session incoming window, frames; 0: 65536 */
	size_t out_buf;            /* output buffer bytes; 0: 4 MiB */
	size_t max_message;        /* largest message reassembled; 0: 1 MiB */
	/* Added by the engine (additive): */
	/* Decode properties (to, reply-to, correlation-id) of every received
	 * message into bench_amqp_msg; false: they stay "" / absent and only
	 * the tail is read (throughput receivers). */
	bool want_properties;
	/* Links the peer attaches (server role, or a client the peer attaches
	 * to): the credit window a mirrored receiver keeps granted (0: 1000),
	 * and whether it waits for bench_amqp_settle (false: it accepts and
	 * settles on receive, batched as for settle_on_receive). */
	uint32_t peer_link_credit;
	bool peer_link_manual_settle;
	/* Unsettled deliveries we may have outstanding on all senders (a ring
	 * indexed by delivery-id; rounded up to a power of two); a send whose
	 * slot is still unsettled returns -1. 0: 65536. */
	uint32_t max_unsettled;
	struct bench_amqp_handlers h;
	void *ctx;
};

struct bench_amqp_conn *bench_amqp_new(const struct bench_amqp_config *cfg);
void bench_amqp_free(struct bench_amqp_conn *c);

/* Feed received bytes; the engine consumes all of them (keeping partial
 * frames). now_ms: the caller's monotonic clock, for idle timeouts.
 * Returns false once the connection failed or closed (see
 * bench_amqp_error); the caller then flushes the output and closes. */
bool bench_amqp_input(struct bench_amqp_conn *c, const uint8_t *data, size_t len, uint64_t now_ms);
/* The peer closed its side of the byte stream. */
void bench_amqp_input_eof(struct bench_amqp_conn *c);

/* Bytes waiting to be written (contiguous), and how many were written. */
const uint8_t *bench_amqp_output(struct bench_amqp_conn *c, size_t *len);
void bench_amqp_output_done(struct bench_amqp_conn *c, size_t n);
/* Free room in the output buffer: senders stop producing under a
 * threshold so the output never grows without bound. */
size_t bench_amqp_output_room(const struct bench_amqp_conn *c);

/* Heartbeats and idle timeout (part 2.4.5): call at least at the returned
 * deadline (ms, UINT64_MAX: none). */
uint64_t bench_amqp_tick(struct bench_amqp_conn *c, uint64_t now_ms);

/* Start the connection (client: header, SASL, Open, Begin). Links may be
 * attached right away; the engine sends their Attach once Begin is out. */
void bench_amqp_start(struct bench_amqp_conn *c);
/* Close the connection (Close with no error, or with condition). */
void bench_amqp_close(struct bench_amqp_conn *c, const char *condition, const char *description);
bool bench_amqp_is_open(const struct bench_amqp_conn *c);  /* both Opens seen */
bool bench_amqp_is_closed(const struct bench_amqp_conn *c); /* done: failed or closed */
const char *bench_amqp_error(const struct bench_amqp_conn *c); /* "" when none */

/* Attach a local sender to target (NULL: anonymous relay, a null target,
 * messages carry "to"). presettled: snd-settle-mode settled. Returns the
 * link index, or -1 when out of links. */
int bench_amqp_attach_sender(struct bench_amqp_conn *c, const char *target, bool presettled);
/* Attach a local receiver from source, or a dynamic source when source is
 * NULL (the peer assigns the address; see the attached callback). credit:
 * the window the engine keeps granted (refilled when half is used).
 * settle_on_receive: accept and settle each unsettled delivery as it
 * arrives (batched into range dispositions) instead of waiting for
 * bench_amqp_settle. */
int bench_amqp_attach_receiver(struct bench_amqp_conn *c, const char *source, uint32_t credit,
			       bool settle_on_receive);
void bench_amqp_detach(struct bench_amqp_conn *c, int link);

/* A local sender's credit (0 until the peer grants some). */
uint32_t bench_amqp_credit(const struct bench_amqp_conn *c, int link);

/* Build a message template: to and reply_to may be NULL (absent),
 * with_correlation adds a ulong correlation-id (patched per send),
 * body_size bytes of data section (>= BENCH_AMQP_TAIL_LEN to carry the
 * tail), ttl_ms 0: no header. Returns false when it does not fit cap. */
struct bench_amqp_tpl {
	uint8_t bytes[BENCH_AMQP_ADDR_MAX * 2 + 256]; /* all sections but the body */
	size_t len;            /* header + properties + data-section prefix */
	size_t corr_off;       /* offset of the 8 correlation bytes; 0: none */
	size_t body_size;
};
bool bench_amqp_tpl_build(struct bench_amqp_tpl *t, const char *to, const char *reply_to,
			  bool with_correlation, size_t body_size, uint32_t ttl_ms);

/* Send one message from a template on a local sender with credit. The
 * body is body_size bytes: zeros, then the tail (seq, sent_ns).
 * correlation is written when the template has one. Pre-settled when the
 * link is. Returns the delivery token (>= 0, for the settled callback) or
 * -1 when the link has no credit or the output buffer has no room. */
int64_t bench_amqp_send(struct bench_amqp_conn *c, int link, const struct bench_amqp_tpl *t,
			uint64_t seq, uint64_t sent_ns, uint64_t correlation);

/* Settle a delivery received on a local receiver (accepted), when the link
 * was attached without settle_on_receive. */
void bench_amqp_settle(struct bench_amqp_conn *c, int link, uint32_t delivery,
		       enum bench_amqp_outcome outcome);

/* Read the tail of a message body (used by the engine for
 * bench_amqp_msg; exposed for tests). */
bool bench_amqp_tail(const uint8_t *msg, size_t len, uint64_t *seq, uint64_t *sent_ns);

#ifdef __cplusplus
}
#endif
#endif
