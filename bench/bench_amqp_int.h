/* bench_amqp internals shared by bench_amqp.c (the connection: frames,
 * session, links) and bench_amqp_msg.c (messages: templates, the send fast
 * path, receiving and settling). Not a public interface. */
#ifndef BENCH_AMQP_INT_H
#define BENCH_AMQP_INT_H

#include <string.h>

#include "amqp_encode.h"
#include "amqp_frame.h"
#include "bench_amqp.h"

/* Room kept free in the output buffer for control frames (flow,
 * disposition, detach, close): bench_amqp_send and bench_amqp_output_room
 * leave it alone, so credit refills and settlements are never stuck behind
 * a sender's own transfers. */
#define OUT_RESERVE 16384
/* The largest control frame we write: an Attach with a 255-byte name and
 * two 255-byte addresses, or a Close with a description, is far below. */
#define CTRL_MAX 4096
/* Worst case of what dp_encode_transfer reserves, after the frame header. */
#define XFER_PERF_MAX 60
/* Our delivery tags: the delivery-id, 4 bytes big-endian (part 2.8.7: a
 * tag is unique among the link's unsettled deliveries; ids are unique in
 * the session while unsettled). */
#define TAG_LEN 4

enum conn_state {
	ST_INIT, /* client: bench_amqp_start not called yet */
	ST_HDR,	 /* a protocol header is expected */
	ST_SASL, /* SASL frames (part 5.3.2) */
	ST_AMQP, /* AMQP frames */
	ST_DONE, /* closed or failed: input is ignored */
};

enum link_state {
	LK_FREE,
	LK_PENDING,	/* local attach, waiting for our Begin to be out */
	LK_ATTACH_SENT, /* our Attach out, the peer's not seen */
	LK_ATTACHED,	/* both Attaches */
	LK_DETACH_SENT, /* our Detach out, waiting for the peer's */
};

struct link {
	uint8_t state;
	bool sender;	 /* local role */
	bool presettled; /* sender: snd-settle-mode settled */
	bool dynamic;	 /* receiver: dynamic source */
	bool anonymous;	 /* sender: target with no address */
	bool settle_on_receive;
	bool remote_initiated;
	bool remote_attached;
	bool detach_reported;
	bool blocked;		/* a send found no credit or window */
	uint32_t remote_handle; /* valid when remote_attached */
	uint32_t delivery_count;
	uint32_t credit; /* sender: granted by the peer; receiver: left of what we granted */
	uint32_t window; /* receiver: the credit we keep granted */
	uint64_t max_message_size; /* the peer's, 0: none */
	char name[BENCH_AMQP_ADDR_MAX];
	char addr[BENCH_AMQP_ADDR_MAX];
};

struct bench_amqp_conn {
	struct bench_amqp_config cfg;
	char container_id[BENCH_AMQP_ADDR_MAX];
	char hostname[BENCH_AMQP_ADDR_MAX];
	char user[BENCH_AMQP_ADDR_MAX];
	char password[BENCH_AMQP_ADDR_MAX];
	char mech[32];
	bool has_hostname, use_sasl;

	enum conn_state st;
	bool sasl_done; /* the SASL layer is over (or there is none) */
	bool open_sent, open_rcvd, begin_sent, begin_rcvd, end_sent, close_sent, close_rcvd;
	bool closed_reported;
	char error[320];

	uint64_t now_ms;
	bool clock_seen;
	uint64_t last_rx_ms, last_tx_ms;
	uint32_t remote_idle_ms;

	/* input: a partial frame or header (bounded by our max-frame-size) */
	uint8_t *in_buf;
	size_t in_len, in_cap;
	uint32_t max_frame_in;	/* what our Open announced */
	uint32_t max_frame_out; /* what we write: min(peer's, ours) */

	/* output: one contiguous buffer, [out_start, out_end) pending */
	uint8_t *out;
	size_t out_start, out_end, out_cap;

	/* session (part 2.5.6), channel 0 both ways */
	uint16_t remote_channel;
	uint32_t next_outgoing_id;
	uint32_t out_window_base; /* next-outgoing-id when we last announced ours */
	uint32_t next_incoming_id;
	uint32_t in_window;	   /* the incoming-window we announce */
	uint32_t in_window_left;   /* of it, before the peer must wait */
	uint32_t remote_in_window; /* the peer's, as last computed */
	uint32_t remote_out_window;
	uint32_t next_delivery_id;

	struct link links[BENCH_AMQP_MAX_LINKS];
	int8_t by_remote[BENCH_AMQP_MAX_LINKS]; /* peer handle -> link, -1 */
	uint32_t dynamic_n;

	/* unsettled deliveries we sent: link + 1 by delivery-id & mask */
	uint8_t *uns;
	uint32_t uns_mask;

	/* receiver settlements waiting to go out as one range (part 2.7.6) */
	bool disp_pending;
	uint32_t disp_first, disp_last;
	enum bench_amqp_outcome disp_outcome;

	/* reassembly of a multi-frame delivery (part 2.6.14) */
	uint8_t *rx_buf;
	size_t rx_len, rx_cap;
	bool rx_active, rx_settled, rx_too_big;
	int rx_link;
	uint32_t rx_delivery;
};

static inline size_t out_pending(const struct bench_amqp_conn *c)
{
	return c->out_end - c->out_start;
}

/* Make n contiguous bytes free at the end of the output; false when the
 * buffer cannot hold them. */
static inline bool out_make_room(struct bench_amqp_conn *c, size_t n)
{
	if (c->out_cap - c->out_end >= n)
		return true;
	if (c->out_cap - out_pending(c) < n)
		return false;
	memmove(c->out, c->out + c->out_start, out_pending(c));
	c->out_end -= c->out_start;
	c->out_start = 0;
	return true;
}

/* A control frame: ctl_begin gives a write buffer over the free end of the
 * output with the frame header reserved; ctl_end commits it. */
struct bench_amqp_ctl {
	struct amqp_wbuf w;
	uint8_t *hdr;
};

/* bench_amqp.c */
bool bench_amqp_ctl_begin(struct bench_amqp_conn *c, struct bench_amqp_ctl *f);
void bench_amqp_ctl_end(struct bench_amqp_conn *c, struct bench_amqp_ctl *f,
			enum amqp_frame_type type);
void bench_amqp_report_closed(struct bench_amqp_conn *c, const char *cond, const char *desc);
void bench_amqp_fail(struct bench_amqp_conn *c, const char *cond, const char *desc);
void bench_amqp_fail_session(struct bench_amqp_conn *c, const char *cond, const char *desc);
void bench_amqp_fail_link(struct bench_amqp_conn *c, int i, const char *cond, const char *desc);
int bench_amqp_link_of(struct bench_amqp_conn *c, uint32_t handle);
void bench_amqp_grant_credit(struct bench_amqp_conn *c, int i);
void bench_amqp_send_flow(struct bench_amqp_conn *c, int link, bool drain, bool echo);
void bench_amqp_copy_bytes_cstr(char *dst, size_t cap, const struct amqp_bytes *b);
struct amqp_value bench_amqp_raw_value(const uint8_t *p, size_t n, uint8_t type);
/* bench_amqp_msg.c */
void bench_amqp_flush_settles(struct bench_amqp_conn *c);
void bench_amqp_on_transfer(struct bench_amqp_conn *c, const struct amqp_transfer *t,
			    const uint8_t *p, size_t len);

#endif
