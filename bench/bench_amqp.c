/* See bench_amqp.h. Section numbers are those of the AMQP 1.0 OASIS
 * standard (part 2: transport, part 3: messaging, part 5: security). */
#include "bench_amqp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp_encode.h"
#include "amqp_frame.h"
#include "dp_encode.h"

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

void bench_amqp_copy_bytes_cstr(char *dst, size_t cap, const struct amqp_bytes *b)
{
	size_t n = amqp_bytes_copy(b, dst, cap - 1);
	dst[n < cap - 1 ? n : cap - 1] = 0;
}

static struct amqp_bytes cbytes(const char *s)
{
	return amqp_bytes_of(s, strlen(s));
}

/* An already encoded value in a '*' or map field: written as its raw bytes. */
struct amqp_value bench_amqp_raw_value(const uint8_t *p, size_t n, uint8_t type)
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
	bench_amqp_copy_bytes_cstr(cond, ccap, &e->condition);
	if (e->present & AMQP_ERROR_HAS_DESCRIPTION)
		bench_amqp_copy_bytes_cstr(desc, dcap, &e->description);
}

static void note_error(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	if (c->error[0] || !cond || !*cond)
		return;
	snprintf(c->error, sizeof(c->error), "%s%s%s", cond, desc && *desc ? ": " : "",
		 desc ? desc : "");
}

void bench_amqp_report_closed(struct bench_amqp_conn *c, const char *cond, const char *desc)
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
	const uint8_t h[8] = {'A',	   'M',	       'Q',	   'P',
			      (uint8_t)id, AMQP_MAJOR, AMQP_MINOR, AMQP_REVISION};
	out_write(c, h, sizeof h);
}

bool bench_amqp_ctl_begin(struct bench_amqp_conn *c, struct bench_amqp_ctl *f)
{
	if (!out_make_room(c, CTRL_MAX)) {
		/* the peer reads nothing: we cannot even say so */
		bench_amqp_report_closed(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
					 "output buffer full (the peer does not read)");
		return false;
	}
	amqp_wbuf_init(&f->w, c->out + c->out_end, c->out_cap - c->out_end);
	f->hdr = amqp_frame_begin(&f->w);
	return true;
}

void bench_amqp_ctl_end(struct bench_amqp_conn *c, struct bench_amqp_ctl *f,
			enum amqp_frame_type type)
{
	amqp_frame_end(&f->w, f->hdr, type, 0);
	if (!amqp_wbuf_ok(&f->w)) {
		bench_amqp_report_closed(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
					 "control frame too large");
		return;
	}
	c->out_end += amqp_wbuf_len(&f->w);
	c->last_tx_ms = c->now_ms;
}

/* --- performatives we write ---------------------------------------------- */

static void send_open(struct bench_amqp_conn *c)
{
	struct bench_amqp_ctl f;
	if (c->open_sent || !bench_amqp_ctl_begin(c, &f))
		return;
	struct amqp_open o;
	amqp_open_init(&o);
	o.present =
	    AMQP_OPEN_HAS_CONTAINER_ID | AMQP_OPEN_HAS_MAX_FRAME_SIZE | AMQP_OPEN_HAS_CHANNEL_MAX;
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
	static const uint8_t relay[] = {0xa3, 15,  'A', 'N', 'O', 'N', 'Y', 'M', 'O',
					'U',  'S', '-', 'R', 'E', 'L', 'A', 'Y'};
	if (c->cfg.role == BENCH_AMQP_SERVER) {
		o.present |= AMQP_OPEN_HAS_OFFERED_CAPABILITIES;
		o.offered_capabilities =
		    bench_amqp_raw_value(relay, sizeof relay, AMQP_TYPE_SYMBOL);
	}
	amqp_open_encode(&f.w, &o);
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->open_sent = true;
}

static void send_attach(struct bench_amqp_conn *c, int i);

static void send_begin(struct bench_amqp_conn *c)
{
	struct bench_amqp_ctl f;
	if (c->begin_sent || !bench_amqp_ctl_begin(c, &f))
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
	c->out_window_base = c->next_outgoing_id;
	b.handle_max = BENCH_AMQP_MAX_LINKS - 1;
	amqp_begin_encode(&f.w, &b);
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->begin_sent = true;
	c->in_window_left = c->in_window;
	for (int i = 0; i < BENCH_AMQP_MAX_LINKS; i++)
		if (c->links[i].state == LK_PENDING)
			send_attach(c, i);
}

void bench_amqp_send_flow(struct bench_amqp_conn *c, int link, bool drain, bool echo)
{
	struct bench_amqp_ctl f;
	if (!c->begin_sent || c->end_sent || c->close_sent || !bench_amqp_ctl_begin(c, &f))
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
	c->out_window_base = c->next_outgoing_id;
	if (link >= 0) {
		struct link *l = &c->links[link];
		fl.present |=
		    AMQP_FLOW_HAS_HANDLE | AMQP_FLOW_HAS_DELIVERY_COUNT | AMQP_FLOW_HAS_LINK_CREDIT;
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
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
}

static void send_detach_closed(struct bench_amqp_conn *c, int link, bool closed, const char *cond,
			       const char *desc)
{
	struct bench_amqp_ctl f;
	if (!bench_amqp_ctl_begin(c, &f))
		return;
	struct amqp_detach d;
	amqp_detach_init(&d);
	d.present = AMQP_DETACH_HAS_HANDLE | AMQP_DETACH_HAS_CLOSED;
	d.handle = (uint32_t)link;
	d.closed = closed; /* ours end the link (part 2.6.6), never suspend it */
	if (cond) {
		d.present |= AMQP_DETACH_HAS_ERROR;
		set_error(&d.error, cond, desc);
	}
	amqp_detach_encode(&f.w, &d);
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
}

static void send_detach(struct bench_amqp_conn *c, int link, const char *cond, const char *desc)
{
	send_detach_closed(c, link, true, cond, desc);
}

static void send_end(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	struct bench_amqp_ctl f;
	if (c->end_sent || !c->begin_sent || !bench_amqp_ctl_begin(c, &f))
		return;
	struct amqp_end e;
	amqp_end_init(&e);
	if (cond) {
		e.present = AMQP_END_HAS_ERROR;
		set_error(&e.error, cond, desc);
	}
	amqp_end_encode(&f.w, &e);
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->end_sent = true;
}

static void send_close(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	struct bench_amqp_ctl f;
	if (c->close_sent)
		return;
	send_open(c); /* part 2.4.3: a Close follows an Open */
	if (!bench_amqp_ctl_begin(c, &f))
		return;
	struct amqp_close cl;
	amqp_close_init(&cl);
	if (cond && *cond) {
		cl.present = AMQP_CLOSE_HAS_ERROR;
		set_error(&cl.error, cond, desc);
	}
	amqp_close_encode(&f.w, &cl);
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
	c->close_sent = true;
}

/* A protocol error: Close with the condition (part 2.8.16) when the AMQP
 * layer is up, report it, and read nothing more. */
void bench_amqp_fail(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	if (c->st == ST_DONE)
		return;
	if (c->st == ST_AMQP || c->open_sent)
		send_close(c, cond, desc);
	bench_amqp_report_closed(c, cond, desc);
}

/* A session error (part 2.8.16 session-error): End with it; this engine
 * has one session, so the connection closes too. */
void bench_amqp_fail_session(struct bench_amqp_conn *c, const char *cond, const char *desc)
{
	send_end(c, cond, desc);
	bench_amqp_fail(c, cond, desc);
}

static void fail_decode(struct bench_amqp_conn *c, const char *cond, const struct amqp_diag *d)
{
	char desc[200];
	amqp_diag_format(d, desc, sizeof(desc));
	bench_amqp_fail(c, cond, desc);
}

/* --- links ------------------------------------------------------------- */

/* A terminus (source or target) holding just an address, or dynamic. */
static size_t encode_terminus(uint8_t *buf, size_t cap, bool source, const char *addr, bool dynamic)
{
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf, cap);
	struct amqp_value a = AMQP_VALUE_NULL_INIT;
	uint8_t abuf[BENCH_AMQP_ADDR_MAX + 8];
	if (addr && *addr) {
		struct amqp_wbuf aw;
		amqp_wbuf_init(&aw, abuf, sizeof abuf);
		amqp_encode_cstr(&aw, addr);
		a = bench_amqp_raw_value(abuf, amqp_wbuf_len(&aw), AMQP_TYPE_STRING);
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
	struct bench_amqp_ctl f;
	if (!c->begin_sent || c->end_sent || c->close_sent || !bench_amqp_ctl_begin(c, &f))
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
	a.snd_settle_mode =
	    l->presettled ? AMQP_SENDER_SETTLE_MODE_SETTLED : AMQP_SENDER_SETTLE_MODE_UNSETTLED;
	a.rcv_settle_mode = AMQP_RECEIVER_SETTLE_MODE_FIRST;
	/* The link's address is the sender's target or the receiver's
	 * source when we attach, the other way round when we mirror. */
	const char *src = NULL, *tgt = NULL;
	bool dyn = false;
	if (l->sender) {
		if (l->remote_initiated) {
			src = l->addr;	  /* what the peer receives from */
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
	a.source = bench_amqp_raw_value(sbuf, sn, AMQP_TYPE_LIST);
	a.target = bench_amqp_raw_value(tbuf, tn, AMQP_TYPE_LIST);
	amqp_attach_encode(&f.w, &a);
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
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
void bench_amqp_fail_link(struct bench_amqp_conn *c, int i, const char *cond, const char *desc)
{
	struct link *l = &c->links[i];
	if (l->state == LK_DETACH_SENT)
		return;
	send_detach(c, i, cond, desc);
	l->state = LK_DETACH_SENT;
	report_detached(c, i, cond, desc);
}

void bench_amqp_grant_credit(struct bench_amqp_conn *c, int i)
{
	struct link *l = &c->links[i];
	l->credit = l->window;
	bench_amqp_send_flow(c, i, false, false);
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
			bench_amqp_fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
					"terminus address too long");
			return false;
		}
		bench_amqp_copy_bytes_cstr(addr, BENCH_AMQP_ADDR_MAX, &a->bytes);
	}
	return true;
}

static void on_attach(struct bench_amqp_conn *c, const struct amqp_attach *a)
{
	/* part 2.7.3: handles above the handle-max we announced */
	if (a->handle >= BENCH_AMQP_MAX_LINKS) {
		bench_amqp_fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				"attach handle above handle-max");
		return;
	}
	if (c->by_remote[a->handle] >= 0) {
		bench_amqp_fail_session(c, AMQP_SESSION_ERROR_HANDLE_IN_USE,
					"Attach on a handle in use");
		return;
	}
	if (a->name.len >= BENCH_AMQP_ADDR_MAX) {
		bench_amqp_fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "link name too long");
		return;
	}
	char name[BENCH_AMQP_ADDR_MAX], saddr[BENCH_AMQP_ADDR_MAX], taddr[BENCH_AMQP_ADDR_MAX];
	bench_amqp_copy_bytes_cstr(name, sizeof name, &a->name);
	bool sdyn, tdyn, shas, thas;
	if (!terminus_read(c, &a->source, true, saddr, &sdyn, &shas) ||
	    !terminus_read(c, &a->target, false, taddr, &tdyn, &thas))
		return;
	/* the peer's role is a->role; ours is the other (part 2.6.3) */
	bool we_send = a->role == AMQP_ROLE_RECEIVER;
	int i = -1;
	for (int k = 0; k < BENCH_AMQP_MAX_LINKS; k++) {
		struct link *l = &c->links[k];
		/* ours, answered (maybe after we already detached it) */
		if ((l->state == LK_ATTACH_SENT || l->state == LK_DETACH_SENT) &&
		    !l->remote_attached && l->sender == we_send && strcmp(l->name, name) == 0) {
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
		if (l->state == LK_DETACH_SENT)
			return; /* its Detach answers ours next */
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
			bench_amqp_grant_credit(c, i);
		else
			maybe_unblock(c, i, false);
		return;
	}
	/* the peer attaches: mirror it (a peer receiver gets a local sender) */
	if ((i = link_alloc(c)) < 0) {
		bench_amqp_fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED, "out of links");
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
		bench_amqp_grant_credit(c, i);
}

int bench_amqp_link_of(struct bench_amqp_conn *c, uint32_t handle)
{
	int i = handle < BENCH_AMQP_MAX_LINKS ? c->by_remote[handle] : -1;
	if (i < 0) {
		char desc[64];
		snprintf(desc, sizeof desc, "handle %u is not attached", handle);
		bench_amqp_fail_session(c, AMQP_SESSION_ERROR_UNATTACHED_HANDLE, desc);
	}
	return i;
}

static void on_detach(struct bench_amqp_conn *c, const struct amqp_detach *d)
{
	int i = bench_amqp_link_of(c, d->handle);
	if (i < 0)
		return;
	struct link *l = &c->links[i];
	char cond[128], desc[256];
	read_error(&d->error, d->present & AMQP_DETACH_HAS_ERROR, cond, sizeof cond, desc,
		   sizeof desc);
	if (l->state != LK_DETACH_SENT)
		/* part 2.6.6: answer it, closing if the peer closed */
		send_detach_closed(c, i, d->closed, NULL, NULL);
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
		if ((i = bench_amqp_link_of(c, f->handle)) < 0)
			return;
		struct link *l = &c->links[i];
		if (l->sender) {
			/* part 2.6.7: link-credit = delivery-count(rcv) +
			 * link-credit(rcv) - delivery-count(snd); a receiver that
			 * has not seen our Attach sends no delivery-count, and
			 * the initial one applies */
			uint32_t dc =
			    (f->present & AMQP_FLOW_HAS_DELIVERY_COUNT) ? f->delivery_count : 0;
			uint32_t was = l->credit;
			l->credit = dc + f->link_credit - l->delivery_count;
			if (l->credit > f->link_credit)
				l->credit = 0; /* a delivery-count ahead of ours: nothing */
			if (f->drain && l->credit) {
				/* we have nothing queued: spend the credit by
				 * advancing delivery-count and say so */
				l->delivery_count += l->credit;
				l->credit = 0;
				bench_amqp_send_flow(c, i, true, false);
			} else if (f->echo) {
				bench_amqp_send_flow(c, i, false, false);
			}
			maybe_unblock(c, i, was == 0);
		} else if (f->echo) {
			bench_amqp_send_flow(c, i, false, false);
		}
	} else if (f->echo) {
		bench_amqp_send_flow(c, -1, false, false);
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
		bench_amqp_fail(c, AMQP_AMQP_ERROR_NOT_ALLOWED, "a second Begin");
		return;
	}
	if (c->cfg.role == BENCH_AMQP_CLIENT && !(b->present & AMQP_BEGIN_HAS_REMOTE_CHANNEL)) {
		bench_amqp_fail(c, AMQP_AMQP_ERROR_NOT_ALLOWED,
				"a peer-initiated Begin (one session only)");
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
		bench_amqp_fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				"a SASL frame after the SASL layer");
		return;
	}
	/* part 2.7.1: we announced channel-max 0 */
	if (f->channel != 0) {
		bench_amqp_fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				"frame on a channel above channel-max");
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
	/* part 2.4.3: after our Close, only the peer's Close matters; its Open
	 * may still be on the way (we closed first) and is only noted, so the
	 * Close behind it is not taken for a first frame that is no Open */
	if (AMQP_UNLIKELY(c->close_sent) && pf.code != AMQP_DESC_CLOSE) {
		if (pf.code == AMQP_DESC_OPEN)
			c->open_rcvd = true;
		return;
	}
	if (AMQP_LIKELY(pf.code == AMQP_DESC_TRANSFER && c->begin_rcvd)) {
		/* the input is contiguous: the payload lies at the cursor */
		bench_amqp_on_transfer(c, &pf.u.transfer, pf.payload.p,
				       (size_t)amqp_cur_left(&pf.payload));
		return;
	}
	if (!c->open_rcvd && pf.code != AMQP_DESC_OPEN) {
		bench_amqp_fail(c, AMQP_AMQP_ERROR_ILLEGAL_STATE,
				"the first frame is not an Open (part 2.4.1)");
		return;
	}
	bool need_session =
	    pf.code != AMQP_DESC_OPEN && pf.code != AMQP_DESC_BEGIN && pf.code != AMQP_DESC_CLOSE;
	if (need_session && !c->begin_rcvd) {
		bench_amqp_fail(c, AMQP_AMQP_ERROR_ILLEGAL_STATE, "session frame before Begin");
		return;
	}
	char cond[128], desc[256];
	switch (pf.code) {
	case AMQP_DESC_OPEN:
		if (c->open_rcvd) {
			bench_amqp_fail(c, AMQP_AMQP_ERROR_ILLEGAL_STATE, "a second Open");
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
		bench_amqp_report_closed(c, cond, desc);
		break;
	case AMQP_DESC_CLOSE:
		/* part 2.4.3: answer it; the byte stream ends after */
		read_error(&pf.u.close.error, pf.u.close.present & AMQP_CLOSE_HAS_ERROR, cond,
			   sizeof cond, desc, sizeof desc);
		c->close_rcvd = true;
		send_close(c, NULL, NULL);
		bench_amqp_report_closed(c, cond, desc);
		break;
	default: break;
	}
}

static void sasl_fail(struct bench_amqp_conn *c, const char *desc)
{
	bench_amqp_report_closed(c, AMQP_AMQP_ERROR_UNAUTHORIZED_ACCESS, desc);
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
				offered = e.type == AMQP_TYPE_SYMBOL &&
					  amqp_bytes_eq_str(&e.bytes, c->mech);
	}
	if (!offered) {
		char desc[96];
		snprintf(desc, sizeof desc, "SASL mechanism %s not offered by the peer", c->mech);
		sasl_fail(c, desc);
		return;
	}
	struct bench_amqp_ctl f;
	if (!bench_amqp_ctl_begin(c, &f))
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
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_SASL);
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
		bench_amqp_fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				"an AMQP frame in the SASL layer");
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
		bench_amqp_report_closed(c, AMQP_AMQP_ERROR_DECODE_ERROR, desc);
		return;
	}
	if (c->cfg.role == BENCH_AMQP_CLIENT) {
		if (s.code == AMQP_DESC_SASL_MECHANISMS) {
			sasl_client_mechanisms(c, &s.u.mechanisms);
		} else if (s.code == AMQP_DESC_SASL_OUTCOME) {
			if (s.u.outcome.code != AMQP_SASL_CODE_OK) {
				char desc[64];
				snprintf(desc, sizeof desc, "SASL outcome code %u",
					 s.u.outcome.code);
				sasl_fail(c, desc);
				return;
			}
			start_amqp(c);
		} else if (s.code == AMQP_DESC_SASL_CHALLENGE) {
			sasl_fail(c, "SASL challenge for a mechanism that has none");
		} else {
			bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
						 "unexpected SASL frame");
		}
		return;
	}
	/* server: ANONYMOUS and PLAIN, any credentials (the --direct peer) */
	if (s.code != AMQP_DESC_SASL_INIT) {
		bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
					 "expected sasl-init");
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
	struct bench_amqp_ctl fr;
	if (!bench_amqp_ctl_begin(c, &fr))
		return;
	struct amqp_sasl_outcome o;
	amqp_sasl_outcome_init(&o);
	o.present = AMQP_SASL_OUTCOME_HAS_CODE;
	o.code = code;
	amqp_sasl_outcome_encode(&fr.w, &o);
	bench_amqp_ctl_end(c, &fr, AMQP_FRAME_SASL);
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
			bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
						 "the peer answered with another protocol header");
			return;
		}
		c->st = c->sasl_done ? ST_AMQP : ST_SASL;
		return;
	}
	if (id == AMQP_PROTO_SASL && c->use_sasl && !c->sasl_done) {
		/* part 5.3.2: our header, then the mechanisms we offer */
		out_proto_header(c, AMQP_PROTO_SASL);
		struct bench_amqp_ctl f;
		if (!bench_amqp_ctl_begin(c, &f))
			return;
		static const char *const mechs[] = {"ANONYMOUS", "PLAIN"};
		amqp_encode_descriptor(&f.w, AMQP_DESC_SASL_MECHANISMS);
		struct amqp_compound k;
		amqp_encode_list_open(&f.w, &k);
		amqp_encode_symbols(&f.w, mechs, 2);
		k.count = 1;
		amqp_encode_compound_close(&f.w, &k);
		bench_amqp_ctl_end(c, &f, AMQP_FRAME_SASL);
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
	bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
				 "unsupported protocol header");
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
				out_proto_header(c, c->cfg.role == BENCH_AMQP_SERVER &&
							    c->use_sasl && !c->sasl_done
							? AMQP_PROTO_SASL
							: AMQP_PROTO_AMQP);
				bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
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
					bench_amqp_fail(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
							desc);
				else
					bench_amqp_report_closed(
					    c, AMQP_CONNECTION_ERROR_FRAMING_ERROR, desc);
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
			bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_FRAMING_ERROR,
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
				bench_amqp_fail(c, AMQP_AMQP_ERROR_INTERNAL_ERROR,
						"partial unit too large");
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
		if (c->in_len == AMQP_FRAME_HEADER_LEN && c->st != ST_HDR &&
		    unit_size(c) > c->in_len)
			continue; /* now the size is known */
		size_t used = process(c, c->in_buf, c->in_len);
		if (used == c->in_len)
			c->in_len = 0;
		else if (used != 0)
			bench_amqp_fail(c, AMQP_AMQP_ERROR_INTERNAL_ERROR,
					"partial unit split"); /* cannot be */
	}
	bench_amqp_flush_settles(c);
	return c->st != ST_DONE;
}

void bench_amqp_input_eof(struct bench_amqp_conn *c)
{
	if (c->st == ST_DONE)
		return;
	bench_amqp_report_closed(c, AMQP_CONNECTION_ERROR_CONNECTION_FORCED,
				 "the peer closed the connection without a Close");
}

const uint8_t *bench_amqp_output(struct bench_amqp_conn *c, size_t *len)
{
	bench_amqp_flush_settles(c);
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
	bench_amqp_flush_settles(c);
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
			bench_amqp_fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
					"local-idle-timeout expired");
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
		bench_amqp_report_closed(c, condition, description);
		return;
	}
	note_error(c, condition, description);
	bench_amqp_flush_settles(c);
	send_close(c, condition, description);
}

bool bench_amqp_is_open(const struct bench_amqp_conn *c)
{
	return c->open_sent && c->open_rcvd && c->st == ST_AMQP;
}

bool bench_amqp_is_closed(const struct bench_amqp_conn *c)
{
	return c->st == ST_DONE;
}

const char *bench_amqp_error(const struct bench_amqp_conn *c)
{
	return c->error;
}

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
		bench_amqp_flush_settles(c);
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
