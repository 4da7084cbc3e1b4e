/* See bench_amqp.h. Section numbers are those of the AMQP 1.0 OASIS
 * standard (part 2: transport, part 3: messaging, part 5: security). */
#include "bench_amqp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp_encode.h"
#include "amqp_frame.h"
#include "amqp_message.h"
#include "dp_encode.h"

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

static const uint8_t tail_magic[8] = {'r', 'r', 'b', 'e', 'n', 'c', 'h', 0};

enum conn_state {
	ST_INIT, /* client: bench_amqp_start not called yet */
	ST_HDR,  /* a protocol header is expected */
	ST_SASL, /* SASL frames (part 5.3.2) */
	ST_AMQP, /* AMQP frames */
	ST_DONE, /* closed or failed: input is ignored */
};

enum link_state {
	LK_FREE,
	LK_PENDING,     /* local attach, waiting for our Begin to be out */
	LK_ATTACH_SENT, /* our Attach out, the peer's not seen */
	LK_ATTACHED,    /* both Attaches */
	LK_DETACH_SENT, /* our Detach out, waiting for the peer's */
};

struct link {
	uint8_t state;
	bool sender;     /* local role */
	bool presettled; /* sender: snd-settle-mode settled */
	bool dynamic;    /* receiver: dynamic source */
	bool anonymous;  /* sender: target with no address */
	bool settle_on_receive;
	bool remote_initiated;
	bool remote_attached;
	bool detach_reported;
	bool blocked;           /* a send found no credit or window */
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
	bool sasl_done;     /* the SASL layer is over (or there is none) */
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
	uint32_t max_frame_in;  /* what our Open announced */
	uint32_t max_frame_out; /* what we write: min(peer's, ours) */

	/* output: one contiguous buffer, [out_start, out_end) pending */
	uint8_t *out;
	size_t out_start, out_end, out_cap;

	/* session (part 2.5.6), channel 0 both ways */
	uint16_t remote_channel;
	uint32_t next_outgoing_id;
	uint32_t next_incoming_id;
	uint32_t in_window;        /* the incoming-window we announce */
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

/* --- small helpers ------------------------------------------------------ */

static void copy_cstr(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = 0;
}

static void copy_bytes_cstr(char *dst, size_t cap, const struct amqp_bytes *b)
{
	size_t n = amqp_bytes_copy(b, dst, cap - 1);
	dst[n < cap - 1 ? n : cap - 1] = 0;
}

static struct amqp_bytes cbytes(const char *s) { return amqp_bytes_of(s, strlen(s)); }

/* An already encoded value in a '*' or map field: written as its raw bytes. */
static struct amqp_value raw_value(const uint8_t *p, size_t n, uint8_t type)
{
	struct amqp_value v = AMQP_VALUE_NULL_INIT;
	v.type = type;
	v.described = type == AMQP_TYPE_LIST ? 1 : 0;
	v.raw = amqp_bytes_of(p, n);
	return v;
}

static void set_error(struct amqp_error *e, const char *cond, const char *desc)
{
	amqp_error_init(e);
	e->present = AMQP_ERROR_HAS_CONDITION;
	e->condition = cbytes(cond);
	if (desc && *desc) {
		e->present |= AMQP_ERROR_HAS_DESCRIPTION;
		e->description = cbytes(desc);
	}
}

static void read_error(const struct amqp_error *e, bool present, char *cond, size_t ccap,
		       char *desc, size_t dcap)
{
	cond[0] = desc[0] = 0;
	if (!present)
		return;
	copy_bytes_cstr(cond, ccap, &e->condition);
	if (e->present & AMQP_ERROR_HAS_DESCRIPTION)
		copy_bytes_cstr(desc, dcap, &e->description);
}

static void note_error(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	if (c->error[0] || !cond || !*cond)
		return;
	snprintf(c->error, sizeof(c->error), "%s%s%s", cond, desc && *desc ? ": " : "",
		 desc ? desc : "");
}

static void report_closed(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	note_error(c, cond, desc);
	c->st = ST_DONE;
	if (c->closed_reported)
		return;
	c->closed_reported = true;
	if (c->cfg.h.closed)
		c->cfg.h.closed(c->cfg.ctx, c, cond ? cond : "", desc ? desc : "");
}

/* --- output ------------------------------------------------------------- */

static size_t out_pending(const struct bench_amqp_conn *c) { return c->out_end - c->out_start; }

/* Make n contiguous bytes free at the end of the output; false when the
 * buffer cannot hold them. */
static bool out_make_room(struct bench_amqp_conn *c, size_t n)
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

static void out_write(struct bench_amqp_conn *c, const void *p, size_t n)
{
	if (!out_make_room(c, n))
		return;
	memcpy(c->out + c->out_end, p, n);
	c->out_end += n;
	c->last_tx_ms = c->now_ms;
}

static void out_proto_header(struct bench_amqp_conn *c, enum amqp_proto_id id)
{
	const uint8_t h[8] = {'A', 'M', 'Q', 'P', (uint8_t)id, AMQP_MAJOR, AMQP_MINOR, AMQP_REVISION};
	out_write(c, h, sizeof h);
}

/* A control frame: ctl_begin gives a write buffer over the free end of the
 * output with the frame header reserved; ctl_end commits it. */
struct ctl {
	struct amqp_wbuf w;
	uint8_t *hdr;
};

static void fail(struct bench_amqp_conn *c, const char *cond, const char *desc);

static bool ctl_begin(struct bench_amqp_conn *c, struct ctl *f)
{
	if (!out_make_room(c, CTRL_MAX)) {
		/* the peer reads nothing: we cannot even say so */
		report_closed(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
			      "output buffer full (the peer does not read)");
		return false;
	}
	amqp_wbuf_init(&f->w, c->out + c->out_end, c->out_cap - c->out_end);
	f->hdr = amqp_frame_begin(&f->w);
	return true;
}

static void ctl_end(struct bench_amqp_conn *c, struct ctl *f, enum amqp_frame_type type)
{
	amqp_frame_end(&f->w, f->hdr, type, 0);
	if (!amqp_wbuf_ok(&f->w)) {
		report_closed(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "control frame too large");
		return;
	}
	c->out_end += amqp_wbuf_len(&f->w);
	c->last_tx_ms = c->now_ms;
}

/* --- performatives we write ---------------------------------------------- */

static void send_open(struct bench_amqp_conn *c)
{
	struct ctl f;
	if (c->open_sent || !ctl_begin(c, &f))
		return;
	struct amqp_open o;
	amqp_open_init(&o);
	o.present = AMQP_OPEN_HAS_CONTAINER_ID | AMQP_OPEN_HAS_MAX_FRAME_SIZE |
		    AMQP_OPEN_HAS_CHANNEL_MAX;
	o.container_id = cbytes(c->container_id);
	if (c->has_hostname) {
		o.present |= AMQP_OPEN_HAS_HOSTNAME;
		o.hostname = cbytes(c->hostname);
	}
	o.max_frame_size = c->max_frame_in;
	/* part 2.7.1: one session, so channel-max 0: a Begin on any other
	 * channel is a framing error */
	o.channel_max = 0;
	if (c->cfg.idle_timeout_ms) {
		o.present |= AMQP_OPEN_HAS_IDLE_TIME_OUT;
		o.idle_time_out = c->cfg.idle_timeout_ms;
	}
	/* the direct peer takes the anonymous relay's null target (its
	 * messages carry "to"), as a router offers it */
	static const uint8_t relay[] = {0xa3, 15, 'A', 'N', 'O', 'N', 'Y', 'M', 'O', 'U', 'S',
					'-',  'R', 'E', 'L', 'A', 'Y'};
	if (c->cfg.role == BENCH_AMQP_SERVER) {
		o.present |= AMQP_OPEN_HAS_OFFERED_CAPABILITIES;
		o.offered_capabilities = raw_value(relay, sizeof relay, AMQP_TYPE_SYMBOL);
	}
	amqp_open_encode(&f.w, &o);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->open_sent = true;
}

static void send_attach(struct bench_amqp_conn *c, int i);

static void send_begin(struct bench_amqp_conn *c)
{
	struct ctl f;
	if (c->begin_sent || !ctl_begin(c, &f))
		return;
	struct amqp_begin b;
	amqp_begin_init(&b);
	b.present = AMQP_BEGIN_HAS_NEXT_OUTGOING_ID | AMQP_BEGIN_HAS_INCOMING_WINDOW |
		    AMQP_BEGIN_HAS_OUTGOING_WINDOW | AMQP_BEGIN_HAS_HANDLE_MAX;
	if (c->begin_rcvd) {
		b.present |= AMQP_BEGIN_HAS_REMOTE_CHANNEL; /* part 2.7.2: the answer */
		b.remote_channel = c->remote_channel;
	}
	b.next_outgoing_id = c->next_outgoing_id;
	b.incoming_window = c->in_window;
	b.outgoing_window = INT32_MAX; /* we never hold transfers back for it */
	b.handle_max = BENCH_AMQP_MAX_LINKS - 1;
	amqp_begin_encode(&f.w, &b);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->begin_sent = true;
	c->in_window_left = c->in_window;
	for (int i = 0; i < BENCH_AMQP_MAX_LINKS; i++)
		if (c->links[i].state == LK_PENDING)
			send_attach(c, i);
}

static void send_flow(struct bench_amqp_conn *c, int link, bool drain, bool echo)
{
	struct ctl f;
	if (!c->begin_sent || c->end_sent || c->close_sent || !ctl_begin(c, &f))
		return;
	struct amqp_flow fl;
	amqp_flow_init(&fl);
	fl.present = AMQP_FLOW_HAS_INCOMING_WINDOW | AMQP_FLOW_HAS_NEXT_OUTGOING_ID |
		     AMQP_FLOW_HAS_OUTGOING_WINDOW;
	if (c->begin_rcvd) {
		fl.present |= AMQP_FLOW_HAS_NEXT_INCOMING_ID;
		fl.next_incoming_id = c->next_incoming_id;
	}
	/* every Flow reopens our whole incoming window (part 2.5.6) */
	fl.incoming_window = c->in_window;
	c->in_window_left = c->in_window;
	fl.next_outgoing_id = c->next_outgoing_id;
	fl.outgoing_window = INT32_MAX;
	if (link >= 0) {
		struct link *l = &c->links[link];
		fl.present |= AMQP_FLOW_HAS_HANDLE | AMQP_FLOW_HAS_DELIVERY_COUNT |
			      AMQP_FLOW_HAS_LINK_CREDIT;
		fl.handle = (uint32_t)link;
		fl.delivery_count = l->delivery_count;
		fl.link_credit = l->credit;
		if (drain) {
			fl.present |= AMQP_FLOW_HAS_DRAIN;
			fl.drain = true;
		}
	}
	if (echo) {
		fl.present |= AMQP_FLOW_HAS_ECHO;
		fl.echo = true;
	}
	amqp_flow_encode(&f.w, &fl);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
}

static void send_detach(struct bench_amqp_conn *c, int link, const char *cond, const char *desc)
{
	struct ctl f;
	if (!ctl_begin(c, &f))
		return;
	struct amqp_detach d;
	amqp_detach_init(&d);
	d.present = AMQP_DETACH_HAS_HANDLE | AMQP_DETACH_HAS_CLOSED;
	d.handle = (uint32_t)link;
	d.closed = true; /* part 2.6.6: the link ends, it is not suspended */
	if (cond) {
		d.present |= AMQP_DETACH_HAS_ERROR;
		set_error(&d.error, cond, desc);
	}
	amqp_detach_encode(&f.w, &d);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
}

static void send_end(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	struct ctl f;
	if (c->end_sent || !c->begin_sent || !ctl_begin(c, &f))
		return;
	struct amqp_end e;
	amqp_end_init(&e);
	if (cond) {
		e.present = AMQP_END_HAS_ERROR;
		set_error(&e.error, cond, desc);
	}
	amqp_end_encode(&f.w, &e);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->end_sent = true;
}

static void send_close(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	struct ctl f;
	if (c->close_sent)
		return;
	send_open(c); /* part 2.4.3: a Close follows an Open */
	if (!ctl_begin(c, &f))
		return;
	struct amqp_close cl;
	amqp_close_init(&cl);
	if (cond && *cond) {
		cl.present = AMQP_CLOSE_HAS_ERROR;
		set_error(&cl.error, cond, desc);
	}
	amqp_close_encode(&f.w, &cl);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->close_sent = true;
}

/* A protocol error: Close with the condition (part 2.8.16) when the AMQP
 * layer is up, report it, and read nothing more. */
static void fail(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	if (c->st == ST_DONE)
		return;
	if (c->st == ST_AMQP || c->open_sent)
		send_close(c, cond, desc);
	report_closed(c, cond, desc);
}

/* A session error (part 2.8.16 session-error): End with it; this engine
 * has one session, so the connection closes too. */
static void fail_session(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	send_end(c, cond, desc);
	fail(c, cond, desc);
}

static void fail_decode(struct bench_amqp_conn *c, const char *cond, const struct amqp_diag *d)
{
	char desc[200];
	amqp_diag_format(d, desc, sizeof(desc));
	fail(c, cond, desc);
}

/* --- links ------------------------------------------------------------- */

/* A terminus (source or target) holding just an address, or dynamic. */
static size_t encode_terminus(uint8_t *buf, size_t cap, bool source, const char *addr,
			      bool dynamic)
{
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf, cap);
	struct amqp_value a = AMQP_VALUE_NULL_INIT;
	uint8_t abuf[BENCH_AMQP_ADDR_MAX + 8];
	if (addr && *addr) {
		struct amqp_wbuf aw;
		amqp_wbuf_init(&aw, abuf, sizeof abuf);
		amqp_encode_cstr(&aw, addr);
		a = raw_value(abuf, amqp_wbuf_len(&aw), AMQP_TYPE_STRING);
	}
	if (source) {
		struct amqp_source s;
		amqp_source_init(&s);
		s.present = a.type != AMQP_TYPE_NULL ? AMQP_SOURCE_HAS_ADDRESS : 0;
		s.address = a;
		if (dynamic) {
			s.present |= AMQP_SOURCE_HAS_DYNAMIC;
			s.dynamic = true;
		}
		amqp_source_encode(&w, &s);
	} else {
		struct amqp_target t;
		amqp_target_init(&t);
		t.present = a.type != AMQP_TYPE_NULL ? AMQP_TARGET_HAS_ADDRESS : 0;
		t.address = a;
		amqp_target_encode(&w, &t);
	}
	return amqp_wbuf_ok(&w) ? amqp_wbuf_len(&w) : 0;
}

static void send_attach(struct bench_amqp_conn *c, int i)
{
	struct link *l = &c->links[i];
	struct ctl f;
	if (!c->begin_sent || c->end_sent || c->close_sent || !ctl_begin(c, &f))
		return;
	uint8_t sbuf[BENCH_AMQP_ADDR_MAX + 32], tbuf[BENCH_AMQP_ADDR_MAX + 32];
	struct amqp_attach a;
	amqp_attach_init(&a);
	a.present = AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
		    AMQP_ATTACH_HAS_SND_SETTLE_MODE | AMQP_ATTACH_HAS_RCV_SETTLE_MODE |
		    AMQP_ATTACH_HAS_SOURCE | AMQP_ATTACH_HAS_TARGET;
	a.name = cbytes(l->name);
	a.handle = (uint32_t)i;
	a.role = l->sender ? AMQP_ROLE_SENDER : AMQP_ROLE_RECEIVER;
	/* part 2.8.2/2.8.3: a pre-settled sender says settled; receivers
	 * settle first, on their own disposition */
	a.snd_settle_mode = l->presettled ? AMQP_SENDER_SETTLE_MODE_SETTLED
					  : AMQP_SENDER_SETTLE_MODE_UNSETTLED;
	a.rcv_settle_mode = AMQP_RECEIVER_SETTLE_MODE_FIRST;
	/* The link's address is the sender's target or the receiver's
	 * source when we attach, the other way round when we mirror. */
	const char *src = NULL, *tgt = NULL;
	bool dyn = false;
	if (l->sender) {
		if (l->remote_initiated) {
			src = l->addr; /* what the peer receives from */
			dyn = l->dynamic; /* part 3.5.3: the address we made */
		} else if (!l->anonymous) {
			tgt = l->addr;
		}
		/* anonymous relay: a target with no address (the router reads
		 * each message's "to"), as proton and oslo write it */
		a.present |= AMQP_ATTACH_HAS_INITIAL_DELIVERY_COUNT;
		a.initial_delivery_count = l->delivery_count;
	} else {
		if (l->remote_initiated)
			tgt = l->addr;
		else if (!l->dynamic)
			src = l->addr;
		else
			dyn = true; /* part 3.5.3: no address; the peer's Attach has it */
		a.present |= AMQP_ATTACH_HAS_MAX_MESSAGE_SIZE;
		a.max_message_size = c->rx_cap;
	}
	size_t sn = encode_terminus(sbuf, sizeof sbuf, true, src, dyn);
	size_t tn = encode_terminus(tbuf, sizeof tbuf, false, tgt, false);
	a.source = raw_value(sbuf, sn, AMQP_TYPE_LIST);
	a.target = raw_value(tbuf, tn, AMQP_TYPE_LIST);
	amqp_attach_encode(&f.w, &a);
	ctl_end(c, &f, AMQP_FRAME_AMQP);
	l->state = l->remote_attached ? LK_ATTACHED : LK_ATTACH_SENT;
}

static int link_alloc(struct bench_amqp_conn *c)
{
	for (int i = 0; i < BENCH_AMQP_MAX_LINKS; i++)
		if (c->links[i].state == LK_FREE) {
			memset(&c->links[i], 0, sizeof(c->links[i]));
			return i;
		}
	return -1;
}

static void link_free(struct bench_amqp_conn *c, int i)
{
	struct link *l = &c->links[i];
	if (l->remote_attached && l->remote_handle < BENCH_AMQP_MAX_LINKS &&
	    c->by_remote[l->remote_handle] == i)
		c->by_remote[l->remote_handle] = -1;
	if (l->sender)
		for (uint32_t k = 0; k <= c->uns_mask; k++)
			if (c->uns[k] == (uint8_t)(i + 1))
				c->uns[k] = 0;
	if (c->rx_active && c->rx_link == i)
		c->rx_active = false;
	l->state = LK_FREE;
}

static void report_detached(struct bench_amqp_conn *c, int i, const char *cond, const char *desc)
{
	struct link *l = &c->links[i];
	if (l->detach_reported)
		return;
	l->detach_reported = true;
	if (c->cfg.h.detached)
		c->cfg.h.detached(c->cfg.ctx, c, i, cond ? cond : "", desc ? desc : "");
}

/* A link error (part 2.8.16 link-error): Detach with it, report it. */
static void fail_link(struct bench_amqp_conn *c, int i, const char *cond, const char *desc)
{
	struct link *l = &c->links[i];
	if (l->state == LK_DETACH_SENT)
		return;
	send_detach(c, i, cond, desc);
	l->state = LK_DETACH_SENT;
	report_detached(c, i, cond, desc);
}

static void grant_credit(struct bench_amqp_conn *c, int i)
{
	struct link *l = &c->links[i];
	l->credit = l->window;
	send_flow(c, i, false, false);
}

/* A sender may send again: report it once per blocked spell. */
static void maybe_unblock(struct bench_amqp_conn *c, int i, bool was_zero)
{
	struct link *l = &c->links[i];
	if (l->state != LK_ATTACHED || l->credit == 0 || c->remote_in_window == 0)
		return;
	if (was_zero || l->blocked) {
		l->blocked = false;
		if (c->cfg.h.credit)
			c->cfg.h.credit(c->cfg.ctx, c, i);
	}
}

/* --- incoming performatives -------------------------------------------- */

/* The address of a decoded source or target; "" when none. Returns false
 * (after failing the connection) when the terminus does not decode. */
static bool terminus_read(struct bench_amqp_conn *c, const struct amqp_value *v, bool source,
			  char *addr, bool *dynamic, bool *present)
{
	addr[0] = 0;
	*dynamic = false;
	*present = v->type != AMQP_TYPE_NULL;
	if (!*present)
		return true;
	struct amqp_diag d;
	memset(&d, 0, sizeof(d));
	const struct amqp_value *a;
	struct amqp_source s;
	struct amqp_target t;
	enum rr_err e;
	if (source) {
		e = amqp_composite_decode_value(&amqp_source_desc, v, &s, &d);
		a = &s.address;
		if (e == RR_OK)
			*dynamic = s.dynamic;
	} else {
		e = amqp_composite_decode_value(&amqp_target_desc, v, &t, &d);
		a = &t.address;
		if (e == RR_OK)
			*dynamic = t.dynamic;
	}
	if (e != RR_OK) {
		fail_decode(c, AMQP_AMQP_ERROR_DECODE_ERROR, &d);
		return false;
	}
	if (a->type == AMQP_TYPE_STRING || a->type == AMQP_TYPE_SYMBOL) {
		if (a->bytes.len >= BENCH_AMQP_ADDR_MAX) {
			fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "terminus address too long");
			return false;
		}
		copy_bytes_cstr(addr, BENCH_AMQP_ADDR_MAX, &a->bytes);
	}
	return true;
}

static void on_attach(struct bench_amqp_conn *c, const struct amqp_attach *a)
{
	/* part 2.7.3: handles above the handle-max we announced */
	if (a->handle >= BENCH_AMQP_MAX_LINKS) {
		fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "attach handle above handle-max");
		return;
	}
	if (c->by_remote[a->handle] >= 0) {
		fail_session(c, AMQP_SESSION_ERROR_HANDLE_IN_USE, "Attach on a handle in use");
		return;
	}
	if (a->name.len >= BENCH_AMQP_ADDR_MAX) {
		fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "link name too long");
		return;
	}
	char name[BENCH_AMQP_ADDR_MAX], saddr[BENCH_AMQP_ADDR_MAX], taddr[BENCH_AMQP_ADDR_MAX];
	copy_bytes_cstr(name, sizeof name, &a->name);
	bool sdyn, tdyn, shas, thas;
	if (!terminus_read(c, &a->source, true, saddr, &sdyn, &shas) ||
	    !terminus_read(c, &a->target, false, taddr, &tdyn, &thas))
		return;
	/* the peer's role is a->role; ours is the other (part 2.6.3) */
	bool we_send = a->role == AMQP_ROLE_RECEIVER;
	int i = -1;
	for (int k = 0; k < BENCH_AMQP_MAX_LINKS; k++) {
		struct link *l = &c->links[k];
		if (l->state == LK_ATTACH_SENT && !l->remote_attached && l->sender == we_send &&
		    strcmp(l->name, name) == 0) {
			i = k;
			break;
		}
	}
	if (i >= 0) {
		/* the answer to our Attach */
		struct link *l = &c->links[i];
		l->remote_attached = true;
		l->remote_handle = a->handle;
		c->by_remote[a->handle] = (int8_t)i;
		l->state = LK_ATTACHED;
		if (a->present & AMQP_ATTACH_HAS_MAX_MESSAGE_SIZE)
			l->max_message_size = a->max_message_size;
		/* part 2.6.3: a null terminus refuses the link; the Detach
		 * with the reason follows */
		if ((l->sender && !thas) || (!l->sender && !shas))
			return;
		if (!l->sender) {
			l->delivery_count = a->initial_delivery_count;
			if (l->dynamic)
				copy_cstr(l->addr, sizeof l->addr, saddr);
		}
		if (c->cfg.h.attached)
			c->cfg.h.attached(c->cfg.ctx, c, i, l->sender, l->addr, false);
		if (c->st == ST_DONE || l->state != LK_ATTACHED)
			return;
		if (!l->sender)
			grant_credit(c, i);
		else
			maybe_unblock(c, i, false);
		return;
	}
	/* the peer attaches: mirror it (a peer receiver gets a local sender) */
	if ((i = link_alloc(c)) < 0) {
		fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "out of links");
		return;
	}
	struct link *l = &c->links[i];
	l->state = LK_PENDING;
	l->sender = we_send;
	l->remote_initiated = true;
	l->remote_attached = true;
	l->remote_handle = a->handle;
	c->by_remote[a->handle] = (int8_t)i;
	copy_cstr(l->name, sizeof l->name, name);
	if (a->present & AMQP_ATTACH_HAS_MAX_MESSAGE_SIZE)
		l->max_message_size = a->max_message_size;
	if (we_send) {
		l->presettled = a->snd_settle_mode == AMQP_SENDER_SETTLE_MODE_SETTLED;
		if (sdyn) {
			/* part 3.5.3: the node is made for this link */
			l->dynamic = true;
			snprintf(l->addr, sizeof l->addr, "bench.dynamic.%u", c->dynamic_n++);
		} else {
			copy_cstr(l->addr, sizeof l->addr, saddr);
		}
	} else {
		l->delivery_count = a->initial_delivery_count;
		l->window = c->cfg.peer_link_credit ? c->cfg.peer_link_credit : 1000;
		l->settle_on_receive = !c->cfg.peer_link_manual_settle;
		l->anonymous = !taddr[0];
		copy_cstr(l->addr, sizeof l->addr, taddr);
	}
	send_attach(c, i);
	if (c->st == ST_DONE)
		return;
	l->state = LK_ATTACHED;
	if (c->cfg.h.attached)
		c->cfg.h.attached(c->cfg.ctx, c, i, l->sender, l->addr, true);
	if (c->st == ST_DONE || l->state != LK_ATTACHED)
		return;
	if (!l->sender)
		grant_credit(c, i);
}

static int link_of(struct bench_amqp_conn *c, uint32_t handle)
{
	int i = handle < BENCH_AMQP_MAX_LINKS ? c->by_remote[handle] : -1;
	if (i < 0) {
		char desc[64];
		snprintf(desc, sizeof desc, "handle %u is not attached", handle);
		fail_session(c, AMQP_SESSION_ERROR_UNATTACHED_HANDLE, desc);
	}
	return i;
}

static void on_detach(struct bench_amqp_conn *c, const struct amqp_detach *d)
{
	int i = link_of(c, d->handle);
	if (i < 0)
		return;
	struct link *l = &c->links[i];
	char cond[128], desc[256];
	read_error(&d->error, d->present & AMQP_DETACH_HAS_ERROR, cond, sizeof cond, desc,
		   sizeof desc);
	if (l->state != LK_DETACH_SENT)
		send_detach(c, i, NULL, NULL); /* part 2.6.6: answer it */
	report_detached(c, i, cond, desc);
	link_free(c, i);
}

static void on_flow(struct bench_amqp_conn *c, const struct amqp_flow *f)
{
	/* part 2.5.6: the peer's window for our transfers */
	uint32_t nid = (f->present & AMQP_FLOW_HAS_NEXT_INCOMING_ID) ? f->next_incoming_id : 0;
	uint32_t old_window = c->remote_in_window;
	c->remote_in_window = nid + f->incoming_window - c->next_outgoing_id;
	c->remote_out_window = f->outgoing_window;
	int i = -1;
	if (f->present & AMQP_FLOW_HAS_HANDLE) {
		if ((i = link_of(c, f->handle)) < 0)
			return;
		struct link *l = &c->links[i];
		if (l->sender) {
			/* part 2.6.7: link-credit = delivery-count(rcv) +
			 * link-credit(rcv) - delivery-count(snd); a receiver that
			 * has not seen our Attach sends no delivery-count, and
			 * the initial one applies */
			uint32_t dc = (f->present & AMQP_FLOW_HAS_DELIVERY_COUNT) ? f->delivery_count
										: 0;
			uint32_t was = l->credit;
			l->credit = dc + f->link_credit - l->delivery_count;
			if (l->credit > f->link_credit)
				l->credit = 0; /* a delivery-count ahead of ours: nothing */
			if (f->drain && l->credit) {
				/* we have nothing queued: spend the credit by
				 * advancing delivery-count and say so */
				l->delivery_count += l->credit;
				l->credit = 0;
				send_flow(c, i, true, false);
			} else if (f->echo) {
				send_flow(c, i, false, false);
			}
			maybe_unblock(c, i, was == 0);
		} else if (f->echo) {
			send_flow(c, i, false, false);
		}
	} else if (f->echo) {
		send_flow(c, -1, false, false);
	}
	if (c->st == ST_DONE)
		return;
	/* the session window reopened: senders stuck on it may go on */
	if (old_window == 0 && c->remote_in_window != 0)
		for (int k = 0; k < BENCH_AMQP_MAX_LINKS && c->st != ST_DONE; k++)
			if (k != i && c->links[k].sender && c->links[k].blocked)
				maybe_unblock(c, k, false);
}

static enum bench_amqp_outcome outcome_of(const struct amqp_value *state)
{
	if (state->type != AMQP_TYPE_NULL && state->described == 1) {
		switch (state->descriptor) {
		case AMQP_DESC_ACCEPTED: return BENCH_AMQP_ACCEPTED;
		case AMQP_DESC_REJECTED: return BENCH_AMQP_REJECTED;
		case AMQP_DESC_MODIFIED: return BENCH_AMQP_MODIFIED;
		default: break;
		}
	}
	/* released, or settled with no outcome (part 3.4: the source's
	 * default-outcome, which nobody sets for these links): not accepted */
	return BENCH_AMQP_RELEASED;
}

static void on_disposition(struct bench_amqp_conn *c, const struct amqp_disposition *d)
{
	if (d->role != AMQP_ROLE_RECEIVER || !d->settled)
		return; /* we settle first as receiver; unsettled states: wait */
	uint32_t last = (d->present & AMQP_DISPOSITION_HAS_LAST) ? d->last : d->first;
	enum bench_amqp_outcome o = outcome_of(&d->state);
	/* serial-number range (RFC 1982 style wrap): only ids we could have
	 * outstanding are looked at, however wide the peer's range */
	uint32_t span = last - d->first;
	if (span > c->uns_mask)
		span = c->uns_mask;
	for (uint32_t k = 0; k <= span && c->st != ST_DONE; k++) {
		uint32_t id = d->first + k;
		uint8_t *slot = &c->uns[id & c->uns_mask];
		if (*slot == 0)
			continue;
		int i = *slot - 1;
		*slot = 0;
		if (c->cfg.h.settled)
			c->cfg.h.settled(c->cfg.ctx, c, i, id, o);
	}
}

/* --- receiving messages ------------------------------------------------- */

static void flush_settles(struct bench_amqp_conn *c)
{
	if (!c->disp_pending || c->st == ST_DONE)
		return;
	c->disp_pending = false;
	struct ctl f;
	if (!ctl_begin(c, &f))
		return;
	static const uint8_t st_accepted[] = {0x00, 0x53, 0x24, 0x45};
	static const uint8_t st_rejected[] = {0x00, 0x53, 0x25, 0x45};
	static const uint8_t st_released[] = {0x00, 0x53, 0x26, 0x45};
	static const uint8_t st_modified[] = {0x00, 0x53, 0x27, 0x45};
	const uint8_t *st = st_accepted;
	switch (c->disp_outcome) {
	case BENCH_AMQP_REJECTED: st = st_rejected; break;
	case BENCH_AMQP_RELEASED: st = st_released; break;
	case BENCH_AMQP_MODIFIED: st = st_modified; break;
	default: break;
	}
	if (c->disp_first == c->disp_last) {
		dp_encode_disposition(&f.w, true, c->disp_first, true, st, 4);
	} else {
		struct amqp_disposition d;
		amqp_disposition_init(&d);
		d.present = AMQP_DISPOSITION_HAS_ROLE | AMQP_DISPOSITION_HAS_FIRST |
			    AMQP_DISPOSITION_HAS_LAST | AMQP_DISPOSITION_HAS_SETTLED |
			    AMQP_DISPOSITION_HAS_STATE;
		d.role = AMQP_ROLE_RECEIVER;
		d.first = c->disp_first;
		d.last = c->disp_last;
		d.settled = true;
		d.state = raw_value(st, 4, AMQP_TYPE_LIST);
		amqp_disposition_encode(&f.w, &d);
	}
	ctl_end(c, &f, AMQP_FRAME_AMQP);
}

/* Queue a settlement: contiguous ids with one outcome become one range
 * (part 2.7.6 first..last). */
static void queue_settle(struct bench_amqp_conn *c, uint32_t id, enum bench_amqp_outcome o)
{
	if (c->disp_pending && c->disp_outcome == o && id == c->disp_last + 1) {
		c->disp_last = id;
		return;
	}
	flush_settles(c);
	c->disp_pending = true;
	c->disp_first = c->disp_last = id;
	c->disp_outcome = o;
}

bool bench_amqp_tail(const uint8_t *msg, size_t len, uint64_t *seq, uint64_t *sent_ns)
{
	if (len < BENCH_AMQP_TAIL_LEN)
		return false;
	const uint8_t *t = msg + len - BENCH_AMQP_TAIL_LEN;
	if (memcmp(t, tail_magic, sizeof tail_magic) != 0)
		return false;
	uint64_t s = 0, n = 0;
	for (int k = 0; k < 8; k++) {
		s = s << 8 | t[8 + k];
		n = n << 8 | t[16 + k];
	}
	*seq = s;
	*sent_ns = n;
	return true;
}

static void read_properties(const uint8_t *p, size_t len, struct bench_amqp_msg *m)
{
	struct amqp_seg seg;
	struct amqp_cursor cur;
	struct amqp_message_view v;
	struct amqp_diag d;
	memset(&d, 0, sizeof d);
	amqp_cur_init_flat(&cur, &seg, p, len);
	if (amqp_message_scan(&cur, &v, &d) != RR_OK || !(v.sections & AMQP_SEC_PROPERTIES))
		return;
	const struct amqp_properties *pr = &v.properties;
	if (pr->to.type == AMQP_TYPE_STRING || pr->to.type == AMQP_TYPE_SYMBOL)
		copy_bytes_cstr(m->to, sizeof m->to, &pr->to.bytes);
	if (pr->reply_to.type == AMQP_TYPE_STRING || pr->reply_to.type == AMQP_TYPE_SYMBOL)
		copy_bytes_cstr(m->reply_to, sizeof m->reply_to, &pr->reply_to.bytes);
	if (pr->correlation_id.type == AMQP_TYPE_ULONG) {
		m->has_correlation = true;
		m->correlation = pr->correlation_id.u.u;
	}
}

static void deliver(struct bench_amqp_conn *c, int i, uint32_t id, bool settled, const uint8_t *p,
		    size_t len)
{
	struct link *l = &c->links[i];
	struct bench_amqp_msg m;
	m.data = p;
	m.len = len;
	m.has_tail = bench_amqp_tail(p, len, &m.seq, &m.sent_ns);
	if (!m.has_tail)
		m.seq = m.sent_ns = 0;
	m.has_correlation = false;
	m.correlation = 0;
	m.reply_to[0] = m.to[0] = 0;
	if (c->cfg.want_properties)
		read_properties(p, len, &m);
	if (!settled && l->settle_on_receive)
		queue_settle(c, id, BENCH_AMQP_ACCEPTED);
	if (c->cfg.h.message)
		c->cfg.h.message(c->cfg.ctx, c, i, id, settled, &m);
}

static void on_transfer(struct bench_amqp_conn *c, const struct amqp_transfer *t, const uint8_t *p,
			size_t len)
{
	/* part 2.5.6: each transfer frame takes one slot of our window */
	if (c->in_window_left == 0) {
		fail_session(c, AMQP_SESSION_ERROR_WINDOW_VIOLATION,
			     "transfer beyond the incoming-window");
		return;
	}
	c->in_window_left--;
	c->next_incoming_id++;
	if (c->remote_out_window)
		c->remote_out_window--;
	/* reopen it long before it closes: a fast sender never waits */
	if (c->in_window_left <= c->in_window / 2)
		send_flow(c, -1, false, false);
	int i = link_of(c, t->handle);
	if (i < 0)
		return;
	struct link *l = &c->links[i];
	if (l->sender) {
		fail_session(c, AMQP_AMQP_ERROR_NOT_ALLOWED, "transfer on a link we send on");
		return;
	}
	bool more = t->more;
	if (c->rx_active) {
		/* a continuation (part 2.6.14) */
		if (c->rx_link != i) {
			fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
			     "multi-frame deliveries interleaved across links");
			return;
		}
		if ((t->present & AMQP_TRANSFER_HAS_DELIVERY_ID) && t->delivery_id != c->rx_delivery) {
			fail_session(c, AMQP_AMQP_ERROR_NOT_ALLOWED,
				     "a continuation changed the delivery-id");
			return;
		}
	} else {
		if (!(t->present & AMQP_TRANSFER_HAS_DELIVERY_ID)) {
			fail_session(c, AMQP_AMQP_ERROR_NOT_ALLOWED,
				     "first transfer of a delivery without delivery-id");
			return;
		}
		if (l->state == LK_DETACH_SENT)
			return; /* in flight before our Detach arrived */
		/* part 2.6.7: each delivery takes one credit */
		if (l->credit == 0) {
			fail_link(c, i, AMQP_LINK_ERROR_TRANSFER_LIMIT_EXCEEDED,
				  "transfer without link credit");
			return;
		}
		l->credit--;
		l->delivery_count++;
		if (l->credit <= l->window / 2)
			grant_credit(c, i); /* refill at half the window */
		if (!more && !t->aborted) {
			/* the fast path: a single-frame message, no copy */
			deliver(c, i, t->delivery_id, t->settled, p, len);
			return;
		}
		c->rx_active = true;
		c->rx_link = i;
		c->rx_delivery = t->delivery_id;
		c->rx_settled = false;
		c->rx_too_big = false;
		c->rx_len = 0;
	}
	if (t->settled)
		c->rx_settled = true; /* part 2.7.5: settled on any frame counts */
	if (t->aborted) {
		c->rx_active = false; /* part 2.6.14: discarded, no disposition */
		return;
	}
	if (!c->rx_too_big) {
		if (c->rx_cap - c->rx_len < len) {
			c->rx_too_big = true;
		} else {
			if (len)
				memcpy(c->rx_buf + c->rx_len, p, len);
			c->rx_len += len;
		}
	}
	if (more)
		return;
	c->rx_active = false;
	if (c->rx_too_big) {
		/* part 2.7.3: beyond the max-message-size our Attach announced */
		fail_link(c, i, AMQP_LINK_ERROR_MESSAGE_SIZE_EXCEEDED,
			  "message larger than max-message-size");
		return;
	}
	deliver(c, i, c->rx_delivery, c->rx_settled, c->rx_buf, c->rx_len);
}

/* --- the connection ----------------------------------------------------- */

static void on_open(struct bench_amqp_conn *c, const struct amqp_open *o)
{
	c->open_rcvd = true;
	/* part 2.7.1: never write a frame above the peer's max-frame-size;
	 * ours bounds it too (the output buffer is sized for it) */
	uint32_t mf = o->max_frame_size;
	if (mf < AMQP_MIN_FRAME_SIZE)
		mf = AMQP_MIN_FRAME_SIZE;
	c->max_frame_out = mf < c->max_frame_in ? mf : c->max_frame_in;
	/* part 2.4.5: the peer closes us after its idle-time-out of silence */
	c->remote_idle_ms = (o->present & AMQP_OPEN_HAS_IDLE_TIME_OUT) ? o->idle_time_out : 0;
	send_open(c);
	if (c->cfg.h.opened)
		c->cfg.h.opened(c->cfg.ctx, c);
}

static void on_begin(struct bench_amqp_conn *c, uint16_t channel, const struct amqp_begin *b)
{
	if (c->begin_rcvd) {
		fail(c, AMQP_AMQP_ERROR_NOT_ALLOWED, "a second Begin");
		return;
	}
	if (c->cfg.role == BENCH_AMQP_CLIENT && !(b->present & AMQP_BEGIN_HAS_REMOTE_CHANNEL)) {
		fail(c, AMQP_AMQP_ERROR_NOT_ALLOWED, "a peer-initiated Begin (one session only)");
		return;
	}
	c->begin_rcvd = true;
	c->remote_channel = channel;
	c->next_incoming_id = b->next_outgoing_id;
	c->remote_in_window = b->incoming_window;
	c->remote_out_window = b->outgoing_window;
	send_begin(c);
}

static void handle_frame(struct bench_amqp_conn *c, struct amqp_frame *f)
{
	if (amqp_frame_is_empty(f))
		return; /* a heartbeat (part 2.4.5) */
	if (f->type != AMQP_FRAME_AMQP) {
		fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "a SASL frame after the SASL layer");
		return;
	}
	/* part 2.7.1: we announced channel-max 0 */
	if (f->channel != 0) {
		fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "frame on a channel above channel-max");
		return;
	}
	struct amqp_performative pf;
	struct amqp_diag d;
	memset(&d, 0, sizeof d);
	enum rr_err e = amqp_performative_decode(&f->body, &pf, &d);
	if (e != RR_OK) {
		fail_decode(c, AMQP_AMQP_ERROR_DECODE_ERROR, &d);
		return;
	}
	if (AMQP_LIKELY(pf.code == AMQP_DESC_TRANSFER && c->begin_rcvd)) {
		/* the input is contiguous: the payload lies at the cursor */
		on_transfer(c, &pf.u.transfer, pf.payload.p, (size_t)amqp_cur_left(&pf.payload));
		return;
	}
	if (!c->open_rcvd && pf.code != AMQP_DESC_OPEN) {
		fail(c, AMQP_AMQP_ERROR_ILLEGAL_STATE, "the first frame is not an Open (part 2.4.1)");
		return;
	}
	bool need_session = pf.code != AMQP_DESC_OPEN && pf.code != AMQP_DESC_BEGIN &&
			    pf.code != AMQP_DESC_CLOSE;
	if (need_session && !c->begin_rcvd) {
		fail(c, AMQP_AMQP_ERROR_ILLEGAL_STATE, "session frame before Begin");
		return;
	}
	char cond[128], desc[256];
	switch (pf.code) {
	case AMQP_DESC_OPEN:
		if (c->open_rcvd) {
			fail(c, AMQP_AMQP_ERROR_ILLEGAL_STATE, "a second Open");
			return;
		}
		on_open(c, &pf.u.open);
		break;
	case AMQP_DESC_BEGIN: on_begin(c, f->channel, &pf.u.begin); break;
	case AMQP_DESC_ATTACH: on_attach(c, &pf.u.attach); break;
	case AMQP_DESC_FLOW: on_flow(c, &pf.u.flow); break;
	case AMQP_DESC_DISPOSITION: on_disposition(c, &pf.u.disposition); break;
	case AMQP_DESC_DETACH: on_detach(c, &pf.u.detach); break;
	case AMQP_DESC_END:
		/* one session: when it ends, so does the connection */
		read_error(&pf.u.end.error, pf.u.end.present & AMQP_END_HAS_ERROR, cond,
			   sizeof cond, desc, sizeof desc);
		send_end(c, NULL, NULL);
		send_close(c, NULL, NULL);
		report_closed(c, cond, desc);
		break;
	case AMQP_DESC_CLOSE:
		/* part 2.4.3: answer it; the byte stream ends after */
		read_error(&pf.u.close.error, pf.u.close.present & AMQP_CLOSE_HAS_ERROR, cond,
			   sizeof cond, desc, sizeof desc);
		c->close_rcvd = true;
		send_close(c, NULL, NULL);
		report_closed(c, cond, desc);
		break;
	default: break;
	}
}

static void sasl_fail(struct bench_amqp_conn *c, const char *desc)
{
	report_closed(c, AMQP_AMQP_ERROR_UNAUTHORIZED_ACCESS, desc);
}

/* Client: send sasl-init for our mechanism (part 5.3.3.2). */
static void sasl_client_mechanisms(struct bench_amqp_conn *c, const struct amqp_sasl_mechanisms *m)
{
	bool offered = false;
	const struct amqp_value *v = &m->sasl_server_mechanisms;
	if (v->type == AMQP_TYPE_SYMBOL) {
		offered = amqp_bytes_eq_str(&v->bytes, c->mech);
	} else if (v->type == AMQP_TYPE_ARRAY) {
		struct amqp_iter it;
		struct amqp_value e;
		if (amqp_iter_init(&it, v, NULL) == RR_OK)
			while (!offered && amqp_iter_next(&it, &e, NULL) == RR_OK)
				offered = e.type == AMQP_TYPE_SYMBOL && amqp_bytes_eq_str(&e.bytes, c->mech);
	}
	if (!offered) {
		char desc[96];
		snprintf(desc, sizeof desc, "SASL mechanism %s not offered by the peer", c->mech);
		sasl_fail(c, desc);
		return;
	}
	struct ctl f;
	if (!ctl_begin(c, &f))
		return;
	uint8_t resp[2 * BENCH_AMQP_ADDR_MAX + 2];
	size_t rn = 0;
	struct amqp_sasl_init in;
	amqp_sasl_init_init(&in);
	in.present = AMQP_SASL_INIT_HAS_MECHANISM | AMQP_SASL_INIT_HAS_INITIAL_RESPONSE;
	in.mechanism = cbytes(c->mech);
	if (strcmp(c->mech, "PLAIN") == 0) {
		/* RFC 4616: authzid NUL authcid NUL passwd */
		size_t un = strlen(c->user), pn = strlen(c->password);
		resp[rn++] = 0;
		memcpy(resp + rn, c->user, un);
		rn += un;
		resp[rn++] = 0;
		memcpy(resp + rn, c->password, pn);
		rn += pn;
	} else {
		/* RFC 4505: optional trace information */
		memcpy(resp, "bench", 5);
		rn = 5;
	}
	in.initial_response = amqp_bytes_of(resp, rn);
	if (c->has_hostname) {
		in.present |= AMQP_SASL_INIT_HAS_HOSTNAME;
		in.hostname = cbytes(c->hostname);
	}
	amqp_sasl_init_encode(&f.w, &in);
	ctl_end(c, &f, AMQP_FRAME_SASL);
}

static void start_amqp(struct bench_amqp_conn *c)
{
	c->sasl_done = true;
	out_proto_header(c, AMQP_PROTO_AMQP);
	c->st = ST_HDR;
	if (c->cfg.role == BENCH_AMQP_CLIENT) {
		/* pipelined (part 2.4.1): Open, Begin and Attaches follow our
		 * header without waiting for the peer's */
		send_open(c);
		send_begin(c);
	}
}

static void handle_sasl(struct bench_amqp_conn *c, struct amqp_frame *f)
{
	if (f->type != AMQP_FRAME_SASL) {
		fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "an AMQP frame in the SASL layer");
		return;
	}
	if (amqp_frame_is_empty(f))
		return;
	struct amqp_sasl_frame s;
	struct amqp_diag d;
	memset(&d, 0, sizeof d);
	if (amqp_sasl_frame_decode(&f->body, &s, &d) != RR_OK) {
		char desc[200];
		amqp_diag_format(&d, desc, sizeof desc);
		report_closed(c, AMQP_AMQP_ERROR_DECODE_ERROR, desc);
		return;
	}
	if (c->cfg.role == BENCH_AMQP_CLIENT) {
		if (s.code == AMQP_DESC_SASL_MECHANISMS) {
			sasl_client_mechanisms(c, &s.u.mechanisms);
		} else if (s.code == AMQP_DESC_SASL_OUTCOME) {
			if (s.u.outcome.code != AMQP_SASL_CODE_OK) {
				char desc[64];
				snprintf(desc, sizeof desc, "SASL outcome code %u", s.u.outcome.code);
				sasl_fail(c, desc);
				return;
			}
			start_amqp(c);
		} else if (s.code == AMQP_DESC_SASL_CHALLENGE) {
			sasl_fail(c, "SASL challenge for a mechanism that has none");
		} else {
			report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "unexpected SASL frame");
		}
		return;
	}
	/* server: ANONYMOUS and PLAIN, any credentials (the --direct peer) */
	if (s.code != AMQP_DESC_SASL_INIT) {
		report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "expected sasl-init");
		return;
	}
	const struct amqp_bytes *m = &s.u.init.mechanism;
	uint8_t code = AMQP_SASL_CODE_OK;
	if (amqp_bytes_eq_str(m, "PLAIN")) {
		/* RFC 4616: two NULs (authzid NUL authcid NUL passwd) */
		uint8_t buf[512];
		size_t n = amqp_bytes_copy(&s.u.init.initial_response, buf, sizeof buf);
		size_t nuls = 0;
		for (size_t k = 0; k < n && k < sizeof buf; k++)
			nuls += buf[k] == 0;
		if (n > sizeof buf || nuls != 2)
			code = AMQP_SASL_CODE_AUTH;
	} else if (!amqp_bytes_eq_str(m, "ANONYMOUS")) {
		code = AMQP_SASL_CODE_AUTH;
	}
	struct ctl fr;
	if (!ctl_begin(c, &fr))
		return;
	struct amqp_sasl_outcome o;
	amqp_sasl_outcome_init(&o);
	o.present = AMQP_SASL_OUTCOME_HAS_CODE;
	o.code = code;
	amqp_sasl_outcome_encode(&fr.w, &o);
	ctl_end(c, &fr, AMQP_FRAME_SASL);
	if (code != AMQP_SASL_CODE_OK) {
		sasl_fail(c, "SASL mechanism refused");
		return;
	}
	c->sasl_done = true;
	c->st = ST_HDR; /* part 5.3.2: the AMQP header follows */
}

static void handle_header(struct bench_amqp_conn *c, enum amqp_proto_id id)
{
	if (c->cfg.role == BENCH_AMQP_CLIENT) {
		enum amqp_proto_id want = c->sasl_done ? AMQP_PROTO_AMQP : AMQP_PROTO_SASL;
		if (id != want) {
			report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				      "the peer answered with another protocol header");
			return;
		}
		c->st = c->sasl_done ? ST_AMQP : ST_SASL;
		return;
	}
	if (id == AMQP_PROTO_SASL && c->use_sasl && !c->sasl_done) {
		/* part 5.3.2: our header, then the mechanisms we offer */
		out_proto_header(c, AMQP_PROTO_SASL);
		struct ctl f;
		if (!ctl_begin(c, &f))
			return;
		static const char *const mechs[] = {"ANONYMOUS", "PLAIN"};
		amqp_encode_descriptor(&f.w, AMQP_DESC_SASL_MECHANISMS);
		struct amqp_compound k;
		amqp_encode_list_open(&f.w, &k);
		amqp_encode_symbols(&f.w, mechs, 2);
		k.count = 1;
		amqp_encode_compound_close(&f.w, &k);
		ctl_end(c, &f, AMQP_FRAME_SASL);
		c->st = ST_SASL;
		return;
	}
	if (id == AMQP_PROTO_AMQP) {
		/* a bare AMQP header: accepted with or without a SASL layer
		 * configured (bench_amqp.h) */
		out_proto_header(c, AMQP_PROTO_AMQP);
		c->sasl_done = true;
		c->st = ST_AMQP;
		return;
	}
	/* part 2.2: answer with the header we support, then close */
	out_proto_header(c, c->use_sasl && !c->sasl_done ? AMQP_PROTO_SASL : AMQP_PROTO_AMQP);
	report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, "unsupported protocol header");
}

/* Process complete headers and frames of p[0..n); returns the bytes
 * consumed (a trailing partial unit is left). */
static size_t process(struct bench_amqp_conn *c, const uint8_t *p, size_t n)
{
	size_t done = 0;
	while (done < n && c->st != ST_DONE) {
		struct amqp_seg seg;
		struct amqp_cursor cur;
		amqp_cur_init_flat(&cur, &seg, p + done, n - done);
		if (c->st == ST_HDR) {
			enum amqp_proto_id id;
			enum rr_err e = amqp_proto_header_parse(&cur, &id);
			if (e == RR_NEED_MORE)
				break;
			if (e != RR_OK) {
				out_proto_header(c, c->cfg.role == BENCH_AMQP_SERVER && c->use_sasl &&
							    !c->sasl_done
							? AMQP_PROTO_SASL
							: AMQP_PROTO_AMQP);
				report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
					      "not an AMQP protocol header");
				break;
			}
			done += AMQP_PROTO_HEADER_LEN;
			handle_header(c, id);
			continue;
		}
		enum conn_state st = c->st;
		while (c->st == st) {
			struct amqp_frame f;
			struct amqp_diag d;
			memset(&d, 0, sizeof d);
			enum rr_err e = amqp_frame_parse(&cur, c->max_frame_in, &f, &d);
			if (e == RR_NEED_MORE)
				break;
			if (e != RR_OK) {
				char desc[200];
				amqp_diag_format(&d, desc, sizeof desc);
				if (st == ST_AMQP)
					fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, desc);
				else
					report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, desc);
				break;
			}
			if (st == ST_AMQP)
				handle_frame(c, &f);
			else
				handle_sasl(c, &f);
		}
		size_t used = (size_t)amqp_cur_pos(&cur);
		done += used;
		if (used == 0 || c->st == st)
			break; /* need more, or done */
	}
	return done;
}

/* How many bytes make the unit (header or frame) starting in in_buf. */
static size_t unit_size(const struct bench_amqp_conn *c)
{
	if (c->st == ST_HDR)
		return AMQP_PROTO_HEADER_LEN;
	if (c->in_len < AMQP_FRAME_HEADER_LEN)
		return AMQP_FRAME_HEADER_LEN;
	const uint8_t *h = c->in_buf;
	size_t size = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	/* a bad size is reported by process() on the 8 bytes we have */
	if (size < AMQP_FRAME_HEADER_LEN || size > c->max_frame_in)
		return AMQP_FRAME_HEADER_LEN;
	return size;
}

bool bench_amqp_input(struct bench_amqp_conn *c, const uint8_t *data, size_t len, uint64_t now_ms)
{
	c->now_ms = now_ms;
	if (!c->clock_seen) {
		c->clock_seen = true;
		c->last_rx_ms = c->last_tx_ms = now_ms;
	}
	if (len)
		c->last_rx_ms = now_ms; /* part 2.4.5: any bytes count */
	while (len && c->st != ST_DONE) {
		if (c->st == ST_INIT) {
			/* a client not started yet: nothing may arrive */
			report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				      "bytes before the connection started");
			break;
		}
		if (c->in_len == 0) {
			size_t used = process(c, data, len);
			data += used;
			len -= used;
			if (c->st == ST_DONE || len == 0)
				break;
			/* a partial unit: keep it (it fits: a frame's size was
			 * checked against our max-frame-size once readable) */
			if (len > c->in_cap) {
				fail(c, AMQP_AMQP_ERROR_INTERNAL_ERROR, "partial unit too large");
				break;
			}
			memcpy(c->in_buf, data, len);
			c->in_len = len;
			break;
		}
		size_t want = unit_size(c);
		size_t take = want - c->in_len;
		if (take > len)
			take = len;
		memcpy(c->in_buf + c->in_len, data, take);
		c->in_len += take;
		data += take;
		len -= take;
		if (c->in_len == AMQP_FRAME_HEADER_LEN && c->st != ST_HDR && unit_size(c) > c->in_len)
			continue; /* now the size is known */
		size_t used = process(c, c->in_buf, c->in_len);
		if (used == c->in_len)
			c->in_len = 0;
		else if (used != 0)
			fail(c, AMQP_AMQP_ERROR_INTERNAL_ERROR, "partial unit split"); /* cannot be */
	}
	flush_settles(c);
	return c->st != ST_DONE;
}

void bench_amqp_input_eof(struct bench_amqp_conn *c)
{
	if (c->st == ST_DONE)
		return;
	report_closed(c, AMQP_CONNECTION_ERROR_CONNECTION_FORCED,
		      "the peer closed the connection without a Close");
}

const uint8_t *bench_amqp_output(struct bench_amqp_conn *c, size_t *len)
{
	flush_settles(c);
	*len = out_pending(c);
	return c->out + c->out_start;
}

void bench_amqp_output_done(struct bench_amqp_conn *c, size_t n)
{
	if (n > out_pending(c))
		n = out_pending(c);
	c->out_start += n;
	if (c->out_start == c->out_end)
		c->out_start = c->out_end = 0;
}

size_t bench_amqp_output_room(const struct bench_amqp_conn *c)
{
	size_t free_bytes = c->out_cap - out_pending(c);
	return free_bytes > OUT_RESERVE ? free_bytes - OUT_RESERVE : 0;
}

uint64_t bench_amqp_tick(struct bench_amqp_conn *c, uint64_t now_ms)
{
	c->now_ms = now_ms;
	if (!c->clock_seen) {
		c->clock_seen = true;
		c->last_rx_ms = c->last_tx_ms = now_ms;
	}
	flush_settles(c);
	if (c->st != ST_AMQP || c->close_sent)
		return UINT64_MAX;
	uint64_t next = UINT64_MAX;
	/* part 2.4.5: the peer expects a frame within its idle-time-out;
	 * an empty frame at half of it */
	if (c->open_rcvd && c->remote_idle_ms) {
		uint64_t half = c->remote_idle_ms / 2 ? c->remote_idle_ms / 2 : 1;
		if (now_ms - c->last_tx_ms >= half) {
			static const uint8_t hb[8] = {0, 0, 0, 8, 2, 0, 0, 0};
			out_write(c, hb, sizeof hb);
			c->last_tx_ms = now_ms;
		}
		next = c->last_tx_ms + half;
	}
	/* our own idle-time-out: the peer said nothing for that long */
	if (c->open_sent && c->cfg.idle_timeout_ms) {
		if (now_ms - c->last_rx_ms > c->cfg.idle_timeout_ms) {
			fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "local-idle-timeout expired");
			return UINT64_MAX;
		}
		uint64_t t = c->last_rx_ms + c->cfg.idle_timeout_ms + 1;
		if (t < next)
			next = t;
	}
	return next;
}

/* --- lifecycle ---------------------------------------------------------- */

struct bench_amqp_conn *bench_amqp_new(const struct bench_amqp_config *cfg)
{
	struct bench_amqp_conn *c = (struct bench_amqp_conn *)calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	copy_cstr(c->container_id, sizeof c->container_id,
		  cfg->container_id ? cfg->container_id : "rpcrouter-bench");
	c->has_hostname = cfg->hostname != NULL;
	copy_cstr(c->hostname, sizeof c->hostname, cfg->hostname);
	copy_cstr(c->user, sizeof c->user, cfg->user);
	copy_cstr(c->password, sizeof c->password, cfg->password);
	copy_cstr(c->mech, sizeof c->mech, cfg->sasl_mech);
	c->use_sasl = cfg->sasl_mech != NULL;
	/* the copied config must not keep the caller's strings */
	c->cfg.container_id = c->container_id;
	c->cfg.hostname = c->has_hostname ? c->hostname : NULL;
	c->cfg.sasl_mech = c->use_sasl ? c->mech : NULL;
	c->cfg.user = c->user;
	c->cfg.password = c->password;

	c->max_frame_in = cfg->max_frame_size ? cfg->max_frame_size : 65536;
	if (c->max_frame_in < AMQP_MIN_FRAME_SIZE)
		c->max_frame_in = AMQP_MIN_FRAME_SIZE;
	c->max_frame_out = AMQP_MIN_FRAME_SIZE; /* part 2.4.1: until the peer's Open */
	c->in_window = cfg->incoming_window ? cfg->incoming_window : 65536;
	c->in_cap = c->max_frame_in;
	c->out_cap = cfg->out_buf ? cfg->out_buf : (size_t)4 << 20;
	size_t min_out = (size_t)c->max_frame_in + OUT_RESERVE + CTRL_MAX;
	if (c->out_cap < min_out)
		c->out_cap = min_out; /* one whole frame beside the reserve */
	c->rx_cap = cfg->max_message ? cfg->max_message : (size_t)1 << 20;
	uint32_t nu = cfg->max_unsettled ? cfg->max_unsettled : 65536;
	uint32_t ring = 1;
	while (ring < nu && ring < (UINT32_C(1) << 30))
		ring <<= 1;
	c->uns_mask = ring - 1;
	c->in_buf = (uint8_t *)malloc(c->in_cap);
	c->out = (uint8_t *)malloc(c->out_cap);
	c->rx_buf = (uint8_t *)malloc(c->rx_cap);
	c->uns = (uint8_t *)calloc(ring, 1);
	if (!c->in_buf || !c->out || !c->rx_buf || !c->uns) {
		bench_amqp_free(c);
		return NULL;
	}
	memset(c->by_remote, -1, sizeof c->by_remote);
	c->st = cfg->role == BENCH_AMQP_SERVER ? ST_HDR : ST_INIT;
	return c;
}

void bench_amqp_free(struct bench_amqp_conn *c)
{
	if (c == NULL)
		return;
	free(c->in_buf);
	free(c->out);
	free(c->rx_buf);
	free(c->uns);
	free(c);
}

void bench_amqp_start(struct bench_amqp_conn *c)
{
	if (c->st != ST_INIT)
		return; /* the server waits for the peer's header */
	c->st = ST_HDR;
	if (c->use_sasl) {
		out_proto_header(c, AMQP_PROTO_SASL); /* part 5.3.1 */
		return;
	}
	start_amqp(c);
}

void bench_amqp_close(struct bench_amqp_conn *c, const char *condition, const char *description)
{
	if (c->st == ST_DONE || c->close_sent)
		return;
	if (c->st != ST_AMQP && !c->open_sent) {
		/* no AMQP layer yet: nothing to say, the byte stream just ends */
		report_closed(c, condition, description);
		return;
	}
	note_error(c, condition, description);
	flush_settles(c);
	send_close(c, condition, description);
}

bool bench_amqp_is_open(const struct bench_amqp_conn *c)
{
	return c->open_sent && c->open_rcvd && c->st == ST_AMQP;
}

bool bench_amqp_is_closed(const struct bench_amqp_conn *c) { return c->st == ST_DONE; }

const char *bench_amqp_error(const struct bench_amqp_conn *c) { return c->error; }

/* --- links (API) --------------------------------------------------------- */

static int attach_local(struct bench_amqp_conn *c, bool sender, const char *addr)
{
	if (c->st == ST_DONE || c->close_sent || c->end_sent)
		return -1;
	if (addr && strlen(addr) >= BENCH_AMQP_ADDR_MAX)
		return -1;
	int i = link_alloc(c);
	if (i < 0)
		return -1;
	struct link *l = &c->links[i];
	l->state = LK_PENDING;
	l->sender = sender;
	copy_cstr(l->addr, sizeof l->addr, addr);
	char cid[160];
	copy_cstr(cid, sizeof cid, c->container_id);
	snprintf(l->name, sizeof l->name, "%s-%s-%d", cid, sender ? "snd" : "rcv", i);
	return i;
}

int bench_amqp_attach_sender(struct bench_amqp_conn *c, const char *target, bool presettled)
{
	int i = attach_local(c, true, target);
	if (i < 0)
		return -1;
	c->links[i].presettled = presettled;
	c->links[i].anonymous = target == NULL;
	if (c->begin_sent)
		send_attach(c, i);
	return i;
}

int bench_amqp_attach_receiver(struct bench_amqp_conn *c, const char *source, uint32_t credit,
			       bool settle_on_receive)
{
	int i = attach_local(c, false, source);
	if (i < 0)
		return -1;
	struct link *l = &c->links[i];
	l->dynamic = source == NULL;
	l->window = credit ? credit : 1;
	l->settle_on_receive = settle_on_receive;
	if (c->begin_sent)
		send_attach(c, i);
	return i;
}

void bench_amqp_detach(struct bench_amqp_conn *c, int link)
{
	if (link < 0 || link >= BENCH_AMQP_MAX_LINKS || c->st == ST_DONE)
		return;
	struct link *l = &c->links[link];
	switch (l->state) {
	case LK_PENDING:
		link_free(c, link); /* never on the wire */
		return;
	case LK_ATTACH_SENT:
	case LK_ATTACHED:
		flush_settles(c);
		send_detach(c, link, NULL, NULL);
		l->state = LK_DETACH_SENT;
		return;
	default: return;
	}
}

uint32_t bench_amqp_credit(const struct bench_amqp_conn *c, int link)
{
	if (link < 0 || link >= BENCH_AMQP_MAX_LINKS)
		return 0;
	const struct link *l = &c->links[link];
	return l->state == LK_ATTACHED && l->sender ? l->credit : 0;
}

void bench_amqp_settle(struct bench_amqp_conn *c, int link, uint32_t delivery,
		       enum bench_amqp_outcome outcome)
{
	if (link < 0 || link >= BENCH_AMQP_MAX_LINKS || c->st == ST_DONE)
		return;
	if (c->links[link].state != LK_ATTACHED || c->links[link].sender)
		return;
	if (outcome == BENCH_AMQP_PRESETTLED)
		return;
	queue_settle(c, delivery, outcome);
}

/* --- messages ----------------------------------------------------------- */

bool bench_amqp_tpl_build(struct bench_amqp_tpl *t, const char *to, const char *reply_to,
			  bool with_correlation, size_t body_size, uint32_t ttl_ms)
{
	memset(t, 0, sizeof(*t));
	if ((to && strlen(to) >= BENCH_AMQP_ADDR_MAX) ||
	    (reply_to && strlen(reply_to) >= BENCH_AMQP_ADDR_MAX) || body_size > UINT32_MAX)
		return false;
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, t->bytes, sizeof t->bytes);
	if (ttl_ms) {
		/* part 3.2.1 */
		struct amqp_header h;
		amqp_header_init(&h);
		h.present = AMQP_HEADER_HAS_TTL;
		h.ttl = ttl_ms;
		amqp_header_encode(&w, &h);
	}
	if (to || reply_to || with_correlation) {
		/* part 3.2.4, fields written by hand so the correlation-id
		 * keeps its fixed ulong form (0x80) and known offset */
		amqp_encode_descriptor(&w, AMQP_DESC_PROPERTIES);
		struct amqp_compound k;
		amqp_encode_list_open(&w, &k);
		amqp_encode_null(&w); /* message-id */
		amqp_encode_null(&w); /* user-id */
		k.count = 2;
		if (to)
			amqp_encode_cstr(&w, to);
		else
			amqp_encode_null(&w);
		k.count++;
		if (reply_to || with_correlation) {
			amqp_encode_null(&w); /* subject */
			if (reply_to)
				amqp_encode_cstr(&w, reply_to);
			else
				amqp_encode_null(&w);
			k.count += 2;
		}
		if (with_correlation) {
			uint8_t *p = amqp_wbuf_reserve(&w, 9);
			if (p) {
				p[0] = 0x80;
				memset(p + 1, 0, 8);
			}
			k.count++;
		}
		amqp_encode_compound_close(&w, &k);
		if (with_correlation && amqp_wbuf_ok(&w))
			t->corr_off = amqp_wbuf_len(&w) - 8; /* the last field */
	}
	/* part 3.2.6: one data section; the body bytes follow the template */
	amqp_encode_descriptor(&w, AMQP_DESC_DATA);
	uint8_t *p = amqp_wbuf_reserve(&w, body_size < 256 ? 2 : 5);
	if (p && body_size < 256) {
		p[0] = 0xa0;
		p[1] = (uint8_t)body_size;
	} else if (p) {
		p[0] = 0xb0;
		amqp_put_be32(p + 1, (uint32_t)body_size);
	}
	if (!amqp_wbuf_ok(&w))
		return false;
	t->len = amqp_wbuf_len(&w);
	t->body_size = body_size;
	return true;
}

/* The message bytes [off, off + n) of template t as sent: the template
 * (correlation patched), zeros, the tail. */
static void msg_range(const struct bench_amqp_tpl *t, const uint8_t *tail, uint64_t corr,
		      size_t off, size_t n, uint8_t *dst)
{
	size_t total = t->len + t->body_size;
	size_t tail_at = t->body_size >= BENCH_AMQP_TAIL_LEN ? total - BENCH_AMQP_TAIL_LEN : total;
	while (n) {
		size_t k;
		if (off < t->len) {
			k = t->len - off < n ? t->len - off : n;
			memcpy(dst, t->bytes + off, k);
			if (t->corr_off) {
				/* the 8 correlation bytes that fall in this piece */
				uint8_t cb[8];
				amqp_put_be64(cb, corr);
				for (size_t b = 0; b < 8; b++)
					if (t->corr_off + b >= off && t->corr_off + b < off + k)
						dst[t->corr_off + b - off] = cb[b];
			}
		} else if (off < tail_at) {
			k = tail_at - off < n ? tail_at - off : n;
			memset(dst, 0, k);
		} else {
			k = total - off < n ? total - off : n;
			memcpy(dst, tail + (off - tail_at), k);
		}
		dst += k;
		off += k;
		n -= k;
	}
}

static int64_t send_multi(struct bench_amqp_conn *c, int link, const struct bench_amqp_tpl *t,
			  uint64_t seq, uint64_t sent_ns, uint64_t correlation, uint32_t frames,
			  uint32_t did, const uint8_t *tag)
{
	struct link *l = &c->links[link];
	uint8_t tail[BENCH_AMQP_TAIL_LEN];
	memcpy(tail, tail_magic, 8);
	amqp_put_be64(tail + 8, seq);
	amqp_put_be64(tail + 16, sent_ns);
	size_t total = t->len + t->body_size, off = 0;
	for (uint32_t k = 0; k < frames; k++) {
		uint8_t *o = c->out + c->out_end;
		struct amqp_wbuf w;
		amqp_wbuf_init(&w, o + AMQP_FRAME_HEADER_LEN, c->out_cap - c->out_end - 8);
		size_t chunk = c->max_frame_out - AMQP_FRAME_HEADER_LEN - XFER_PERF_MAX;
		bool more = total - off > chunk;
		dp_encode_transfer(&w, (uint32_t)link, k == 0, did, tag, TAG_LEN, 0, l->presettled,
				   more);
		if (!more)
			chunk = total - off;
		msg_range(t, tail, correlation, off, chunk, w.p);
		off += chunk;
		size_t size = (size_t)(w.p - o) + chunk;
		amqp_put_be32(o, (uint32_t)size);
		o[4] = 2;
		o[5] = AMQP_FRAME_AMQP;
		o[6] = o[7] = 0;
		c->out_end += size;
	}
	c->last_tx_ms = c->now_ms;
	return did;
}

int64_t bench_amqp_send(struct bench_amqp_conn *c, int link, const struct bench_amqp_tpl *t,
			uint64_t seq, uint64_t sent_ns, uint64_t correlation)
{
	if (AMQP_UNLIKELY(link < 0 || link >= BENCH_AMQP_MAX_LINKS || c->st != ST_AMQP ||
			  c->close_sent || c->end_sent))
		return -1;
	struct link *l = &c->links[link];
	if (AMQP_UNLIKELY(!l->sender || l->state != LK_ATTACHED || l->credit == 0 ||
			  c->remote_in_window == 0)) {
		l->blocked = true;
		return -1;
	}
	size_t total = t->len + t->body_size;
	if (AMQP_UNLIKELY(l->max_message_size && total > l->max_message_size))
		return -1; /* part 2.7.3: the peer would refuse it */
	size_t per = (size_t)c->max_frame_out - AMQP_FRAME_HEADER_LEN - XFER_PERF_MAX;
	uint32_t frames = total <= per ? 1 : (uint32_t)((total + per - 1) / per);
	/* part 2.5.6: each frame takes a slot of the peer's window */
	if (AMQP_UNLIKELY(frames > c->remote_in_window)) {
		l->blocked = true;
		return -1;
	}
	size_t need = total + (size_t)frames * (AMQP_FRAME_HEADER_LEN + XFER_PERF_MAX);
	if (AMQP_UNLIKELY(need + OUT_RESERVE > c->out_cap - out_pending(c)))
		return -1;
	uint32_t did = c->next_delivery_id;
	uint8_t *slot = &c->uns[did & c->uns_mask];
	if (!l->presettled && AMQP_UNLIKELY(*slot != 0))
		return -1; /* max_unsettled outstanding */
	out_make_room(c, need);
	uint8_t tag[TAG_LEN];
	amqp_put_be32(tag, did);
	c->next_delivery_id++;
	c->next_outgoing_id += frames;
	c->remote_in_window -= frames;
	l->delivery_count++;
	l->credit--;
	if (!l->presettled)
		*slot = (uint8_t)(link + 1);
	if (AMQP_UNLIKELY(frames > 1))
		return send_multi(c, link, t, seq, sent_ns, correlation, frames, did, tag);

	/* the fast path: frame header, transfer, template, zeros, tail */
	uint8_t *o = c->out + c->out_end;
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, o + AMQP_FRAME_HEADER_LEN, need);
	dp_encode_transfer(&w, (uint32_t)link, true, did, tag, TAG_LEN, 0, l->presettled, false);
	uint8_t *p = w.p;
	memcpy(p, t->bytes, t->len);
	if (t->corr_off)
		amqp_put_be64(p + t->corr_off, correlation);
	p += t->len;
	if (AMQP_LIKELY(t->body_size >= BENCH_AMQP_TAIL_LEN)) {
		size_t z = t->body_size - BENCH_AMQP_TAIL_LEN;
		memset(p, 0, z);
		p += z;
		memcpy(p, tail_magic, 8);
		amqp_put_be64(p + 8, seq);
		amqp_put_be64(p + 16, sent_ns);
		p += BENCH_AMQP_TAIL_LEN;
	} else {
		memset(p, 0, t->body_size);
		p += t->body_size;
	}
	uint32_t size = (uint32_t)(p - o);
	amqp_put_be32(o, size);
	o[4] = 2;
	o[5] = AMQP_FRAME_AMQP;
	o[6] = o[7] = 0;
	c->out_end += size;
	c->last_tx_ms = c->now_ms;
	return did;
}
