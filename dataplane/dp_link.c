/* Sessions and links of a worker's connections: Begin/End, Attach/Detach
 * (decided by control, DESIGN.md "link setup decisions"), flow control
 * (AMQP 1.0 part 2.5.6 session windows, 2.6.7 link credit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amqp_frame.h"
#include "dp_worker.h"

#define OUTGOING_WINDOW 0x7fffffffu /* informational for the peer (part 2.5.6) */

void dp_link_mark_dirty(struct dp_worker *w, struct dp_link *l)
{
	if (!l->dirty) {
		l->dirty = true;
		dp_dirty_push(&w->dirty_links, &w->n_dirty_links, &w->cap_dirty_links, l, l->gen);
	}
}

static void encode_error(struct amqp_error *e, const char *condition, const char *description)
{
	amqp_error_init(e);
	e->present = AMQP_ERROR_HAS_CONDITION;
	e->condition = amqp_bytes_of(condition, strlen(condition));
	if (description) {
		e->present |= AMQP_ERROR_HAS_DESCRIPTION;
		e->description = amqp_bytes_of(description, strlen(description));
	}
}

/* --- sessions ------------------------------------------------------------ */

static void send_begin(struct dp_worker *w, struct dp_session *s)
{
	struct dp_frame_out f;
	if (!dp_frame_begin(w, &f, DP_PERF_MAX))
		return;
	struct amqp_begin b;
	amqp_begin_init(&b);
	b.present = AMQP_BEGIN_HAS_REMOTE_CHANNEL | AMQP_BEGIN_HAS_NEXT_OUTGOING_ID |
		    AMQP_BEGIN_HAS_INCOMING_WINDOW | AMQP_BEGIN_HAS_OUTGOING_WINDOW |
		    AMQP_BEGIN_HAS_HANDLE_MAX;
	b.remote_channel = s->channel;
	b.next_outgoing_id = s->next_outgoing_id;
	b.incoming_window = dp_session_window(s);
	b.outgoing_window = OUTGOING_WINDOW;
	b.handle_max = s->handle_max;
	amqp_begin_encode(&f.wb, &b);
	dp_frame_end(w, s->conn, &f, s->channel, NULL, 0, 0);
}

void dp_session_begin(struct dp_worker *w, struct dp_conn *c, uint16_t ch,
		      const struct amqp_begin *b)
{
	if (b->present & AMQP_BEGIN_HAS_REMOTE_CHANNEL) {
		dp_conn_fail(w, c, DP_D_not_allowed, "amqp:not-allowed",
			     "Begin answers a Begin the router never sent");
		return;
	}
	if (ch < c->sessions_cap && c->sessions[ch]) {
		dp_conn_fail(w, c, DP_D_not_allowed, "amqp:illegal-state",
			     "Begin on a channel already in use");
		return;
	}
	/* part 2.7.1: a channel above the channel-max we announced
	 * (maxSessions - 1) closes the connection with framing-error */
	if (ch >= c->lim->max_sessions) {
		dp_conn_fail(w, c, DP_D_framing_error, "amqp:connection:framing-error",
			     "channel above channel-max (maxSessions - 1)");
		return;
	}
	if (c->n_sessions >= c->lim->max_sessions) {
		dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
			     "too many sessions on this connection");
		return;
	}
	if (ch >= c->sessions_cap) {
		uint32_t cap = c->sessions_cap ? c->sessions_cap : 4;
		while (cap <= ch)
			cap *= 2;
		struct dp_session **n =
		    (struct dp_session **)realloc(c->sessions, cap * sizeof(*n));
		if (n == NULL) {
			dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
				     "out of memory");
			return;
		}
		memset(n + c->sessions_cap, 0, (cap - c->sessions_cap) * sizeof(*n));
		c->sessions = n;
		c->sessions_cap = cap;
	}
	struct dp_session *s = (struct dp_session *)calloc(1, sizeof(*s));
	if (s == NULL || dp_map_init(&s->unsettled_out, 16) || dp_map_init(&s->unsettled_in, 16)) {
		free(s);
		dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
			     "out of memory");
		return;
	}
	s->conn = c;
	s->channel = ch;
	s->next_incoming_id = b->next_outgoing_id;
	s->in_edge = s->next_incoming_id + c->lim->session_window;
	s->serial = ++w->session_serial;
	s->next_outgoing_id = 0;
	s->remote_incoming_left = b->incoming_window;
	s->handle_max = c->lim->max_links ? c->lim->max_links - 1 : 0;
	c->sessions[ch] = s;
	c->n_sessions++;
	dp_count(w, DP_C_sessions_begun, 1);
	send_begin(w, s);
}

static void send_end(struct dp_worker *w, struct dp_session *s, const char *condition,
		     const char *description)
{
	struct dp_frame_out f;
	if (!dp_frame_begin(w, &f, DP_PERF_MAX))
		return;
	struct amqp_end e;
	amqp_end_init(&e);
	if (condition) {
		e.present = AMQP_END_HAS_ERROR;
		encode_error(&e.error, condition, description);
	}
	amqp_end_encode(&f.wb, &e);
	dp_frame_end(w, s->conn, &f, s->channel, NULL, 0, 0);
}

static void session_free_links(struct dp_worker *w, struct dp_session *s)
{
	for (uint32_t h = 0; h < s->links_cap; h++)
		if (s->links[h])
			dp_link_destroy(w, s->links[h]);
}

void dp_session_destroy(struct dp_worker *w, struct dp_session *s)
{
	struct dp_conn *c = s->conn;
	session_free_links(w, s);
	free(s->links);
	dp_map_fini(&s->unsettled_out);
	dp_map_fini(&s->unsettled_in);
	c->sessions[s->channel] = NULL;
	c->n_sessions--;
	free(s);
}

void dp_session_end(struct dp_worker *w, struct dp_session *s, const struct amqp_end *e)
{
	(void)e;
	if (!s->ended)
		send_end(w, s, NULL, NULL); /* part 2.5.5: answer the peer's End */
	dp_session_destroy(w, s);
}

void dp_session_fail(struct dp_worker *w, struct dp_session *s, enum dp_drop_id drop,
		     const char *condition, const char *description)
{
	if (drop < DP_D_COUNT)
		dp_drop(w, drop);
	if (s->ended)
		return;
	send_end(w, s, condition, description);
	s->ended = true; /* first: nothing more goes out on this channel */
	session_free_links(w, s);
}

/* --- flow ---------------------------------------------------------------- */

static void fill_session_flow(const struct dp_session *s, struct amqp_flow *fl)
{
	amqp_flow_init(fl);
	fl->present = AMQP_FLOW_HAS_NEXT_INCOMING_ID | AMQP_FLOW_HAS_INCOMING_WINDOW |
		      AMQP_FLOW_HAS_NEXT_OUTGOING_ID | AMQP_FLOW_HAS_OUTGOING_WINDOW;
	fl->next_incoming_id = s->next_incoming_id;
	fl->incoming_window = dp_session_window(s);
	fl->next_outgoing_id = s->next_outgoing_id;
	fl->outgoing_window = OUTGOING_WINDOW;
}

static void emit_flow(struct dp_worker *w, struct dp_session *s, const struct amqp_flow *fl)
{
	struct dp_frame_out f;
	if (s->ended || s->conn->state != DP_CONN_OPEN || !dp_frame_begin(w, &f, 256))
		return;
	amqp_flow_encode(&f.wb, fl);
	dp_frame_end(w, s->conn, &f, s->channel, NULL, 0, 0);
}

void dp_session_send_flow(struct dp_worker *w, struct dp_session *s)
{
	struct amqp_flow fl;
	fill_session_flow(s, &fl);
	emit_flow(w, s, &fl);
}

void dp_link_send_flow(struct dp_worker *w, struct dp_link *l, bool echo)
{
	struct amqp_flow fl;
	fill_session_flow(l->sess, &fl);
	fl.present |= AMQP_FLOW_HAS_HANDLE | AMQP_FLOW_HAS_DELIVERY_COUNT | AMQP_FLOW_HAS_LINK_CREDIT;
	fl.handle = l->handle;
	fl.delivery_count = l->delivery_count;
	fl.link_credit = l->credit;
	if (l->drain) {
		fl.present |= AMQP_FLOW_HAS_DRAIN;
		fl.drain = true;
	}
	if (echo) {
		fl.present |= AMQP_FLOW_HAS_ECHO;
		fl.echo = true;
	}
	emit_flow(w, l->sess, &fl);
}

/* Credit for an incoming link: capacity less what is still inside the
 * router, so a producer can never have more than `capacity` deliveries in
 * the router at once (issue 4: "sender credit replenished only as
 * downstream room frees"). Topped up when half is used, or when out. */
void dp_link_grant_credit(struct dp_worker *w, struct dp_link *l)
{
	if (l->state != DP_LINK_ACTIVE || l->blocked || l->conn->state != DP_CONN_OPEN)
		return;
	uint32_t cap = l->conn->lim->link_capacity;
	uint32_t want = cap > l->in_flight ? cap - l->in_flight : 0;
	if (want > l->credit && (want - l->credit >= (cap + 1) / 2 || l->credit == 0)) {
		l->credit = want;
		l->drain = false;
		dp_link_send_flow(w, l, false);
	}
}

void dp_session_frames_freed(struct dp_worker *w, struct dp_delivery *d)
{
	uint32_t n = d->in_frames;
	d->in_frames = 0;
	if (n == 0 || d->origin_worker >= 0)
		return;
	struct dp_conn *c = dp_conn_lookup(w, d->in_conn, d->in_conn_gen);
	if (c == NULL || c->state != DP_CONN_OPEN || d->in_channel >= c->sessions_cap)
		return;
	struct dp_session *s = c->sessions[d->in_channel];
	if (s == NULL || s->serial != d->in_sess_serial || s->ended)
		return;
	s->held = s->held > n ? s->held - n : 0;
	dp_session_reopen(w, s);
}

void dp_session_reopen(struct dp_worker *w, struct dp_session *s)
{
	/* widen the window by what left; tell the peer once half of the
	 * configured window is to be had, or when it had none */
	struct dp_conn *c = s->conn;
	uint32_t win = c->lim->session_window;
	uint32_t open_now = win > s->held ? win - s->held : 0;
	uint32_t edge = s->next_incoming_id + open_now;
	uint32_t gain = edge - s->in_edge;
	if (gain <= 0x7fffffffu && gain > 0 && (gain >= (win + 1) / 2 || dp_session_window(s) == 0)) {
		s->in_edge = edge;
		dp_session_send_flow(w, s);
	}
}

void dp_link_in_freed(struct dp_worker *w, struct dp_link *l)
{
	if (l->in_flight)
		l->in_flight--;
	dp_link_grant_credit(w, l);
}

void dp_session_flow_in(struct dp_worker *w, struct dp_session *s, const struct amqp_flow *f)
{
	/* part 2.5.6: remote-incoming-window = next-incoming-id(flow) +
	 * incoming-window(flow) - next-outgoing-id(endpoint); a flow without
	 * next-incoming-id (the peer has seen no Begin of ours) counts from 0 */
	uint32_t nid = (f->present & AMQP_FLOW_HAS_NEXT_INCOMING_ID) ? f->next_incoming_id : 0;
	uint32_t was = s->remote_incoming_left;
	s->remote_incoming_left = nid + f->incoming_window - s->next_outgoing_id;
	bool reopened = was == 0 && s->remote_incoming_left > 0;

	if (!(f->present & AMQP_FLOW_HAS_HANDLE)) {
		if (f->echo)
			dp_session_send_flow(w, s);
		if (reopened)
			for (uint32_t h = 0; h < s->links_cap; h++)
				if (s->links[h] && s->links[h]->outgoing)
					dp_link_mark_dirty(w, s->links[h]);
		return;
	}
	struct dp_link *l = f->handle < s->links_cap ? s->links[f->handle] : NULL;
	if (l == NULL) {
		dp_session_fail(w, s, DP_D_unattached_handle, "amqp:session:unattached-handle",
				"flow for a handle that is not attached");
		return;
	}
	if (l->state != DP_LINK_ACTIVE)
		return;
	if (l->outgoing) {
		/* part 2.6.7: link-credit(snd) = delivery-count(rcv) + link-credit(rcv)
		 * - delivery-count(snd) */
		uint32_t dc = (f->present & AMQP_FLOW_HAS_DELIVERY_COUNT) ? f->delivery_count : 0;
		uint32_t credit = (f->present & AMQP_FLOW_HAS_LINK_CREDIT)
				      ? dc + f->link_credit - l->delivery_count
				      : l->credit;
		if (credit > 0x7fffffffu)
			credit = 0; /* the peer counted deliveries we sent as not yet sent */
		l->credit = credit;
		l->drain = f->drain;
		dp_link_mark_dirty(w, l); /* sends, and answers a drain */
		if (f->echo)
			dp_link_send_flow(w, l, false);
	} else {
		/* the producer's view: a delivery-count past ours means it used
		 * credit without sending (drain, part 2.6.7) */
		if (f->present & AMQP_FLOW_HAS_DELIVERY_COUNT) {
			uint32_t adv = f->delivery_count - l->delivery_count;
			if (adv && adv <= 0x7fffffffu) {
				l->credit = l->credit > adv ? l->credit - adv : 0;
				l->delivery_count = f->delivery_count;
			}
		}
		if (f->echo)
			dp_link_send_flow(w, l, false);
		dp_link_grant_credit(w, l);
	}
	if (reopened)
		for (uint32_t h = 0; h < s->links_cap; h++)
			if (s->links[h] && s->links[h]->outgoing)
				dp_link_mark_dirty(w, s->links[h]);
}

/* --- attach -------------------------------------------------------------- */

/* The address of a terminus value (source or target), as a view; false
 * when it has none (null terminus or null address). */
static bool terminus_address(const struct amqp_value *v, bool source, struct amqp_bytes *addr,
			     bool *dynamic, struct amqp_diag *d, enum rr_err *err)
{
	*dynamic = false;
	*err = RR_OK;
	if (v->type == AMQP_TYPE_NULL)
		return false;
	const struct amqp_value *a;
	struct amqp_source src;
	struct amqp_target tgt;
	/* nothing of the decoded terminus is read unless it decoded (an
	 * unfilled bool is undefined to load, UBSan) */
	if (source) {
		*err = amqp_composite_decode_value(&amqp_source_desc, v, &src, d);
		if (*err != RR_OK)
			return false;
		a = &src.address;
		*dynamic = src.dynamic;
	} else {
		*err = amqp_composite_decode_value(&amqp_target_desc, v, &tgt, d);
		if (*err != RR_OK)
			return false;
		a = &tgt.address;
		*dynamic = tgt.dynamic;
	}
	if (a->type != AMQP_TYPE_STRING && a->type != AMQP_TYPE_SYMBOL)
		return false;
	*addr = a->bytes;
	return true;
}

static void copy_view(uint8_t **p, struct amqp_bytes *dst, const struct amqp_bytes *src)
{
	amqp_bytes_copy(src, *p, src->len);
	*dst = amqp_bytes_of(*p, src->len);
	*p += src->len;
}

static void encode_attach_reply(struct dp_worker *w, struct dp_link *l, bool ok,
				const uint8_t *dyn_addr, uint32_t dyn_len);

void dp_link_attach(struct dp_worker *w, struct dp_session *s, const struct amqp_attach *a)
{
	struct dp_conn *c = s->conn;
	/* part 2.7.2: a handle above the handle-max we announced closes the
	 * connection with framing-error */
	if (a->handle > s->handle_max) {
		dp_conn_fail(w, c, DP_D_framing_error, "amqp:connection:framing-error",
			     "handle above handle-max (maxLinksPerConnection - 1)");
		return;
	}
	if (a->handle < s->links_cap && s->links[a->handle]) {
		dp_session_fail(w, s, DP_D_not_allowed, "amqp:session:handle-in-use",
				"Attach on a handle already attached");
		return;
	}
	bool outgoing = a->role; /* the peer is the receiver: the router sends */
	struct amqp_bytes addr = amqp_bytes_of(NULL, 0);
	bool dynamic = false, has_addr;
	struct amqp_diag d;
	memset(&d, 0, sizeof(d));
	enum rr_err e;
	has_addr = terminus_address(outgoing ? &a->source : &a->target, outgoing, &addr, &dynamic, &d,
				    &e);
	if (e != RR_OK) {
		char desc[200];
		d.pos += c->in_base; /* from the start of the stream */
		amqp_diag_format(&d, desc, sizeof(desc));
		dp_conn_fail(w, c, DP_D_decode_error, "amqp:decode-error", desc);
		return;
	}
	if (a->handle >= s->links_cap) {
		uint32_t cap = s->links_cap ? s->links_cap : 8;
		while (cap <= a->handle)
			cap *= 2;
		struct dp_link **n = (struct dp_link **)realloc(s->links, cap * sizeof(*n));
		if (n == NULL) {
			dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
				     "out of memory");
			return;
		}
		memset(n + s->links_cap, 0, (cap - s->links_cap) * sizeof(*n));
		s->links = n;
		s->links_cap = cap;
	}
	struct dp_link *l = dp_link_alloc(w);
	if (l == NULL) {
		dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
			     "out of links");
		return;
	}
	l->conn = c;
	l->sess = s;
	l->handle = a->handle;
	l->outgoing = outgoing;
	l->dynamic = dynamic;
	l->snd_settle_mode = a->snd_settle_mode;
	l->rcv_settle_mode = a->rcv_settle_mode;
	l->delivery_count = outgoing ? 0 : a->initial_delivery_count;
	l->max_message_size = a->max_message_size;
	s->links[a->handle] = l;
	c->n_links++;

	/* keep what the reply echoes: name, source and target */
	size_t need = a->name.len + a->source.raw.len + a->target.raw.len;
	l->pend_buf = (uint8_t *)malloc(need ? need : 1);
	if (l->pend_buf == NULL) {
		dp_link_destroy(w, l);
		dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
			     "out of memory");
		return;
	}
	uint8_t *p = l->pend_buf;
	copy_view(&p, &l->pend_name, &a->name);
	copy_view(&p, &l->pend_source, &a->source.raw);
	copy_view(&p, &l->pend_target, &a->target.raw);

	if (has_addr && !dynamic) {
		l->addr = (char *)malloc(addr.len + 1);
		if (l->addr == NULL) {
			dp_link_destroy(w, l);
			return;
		}
		amqp_bytes_copy(&addr, l->addr, addr.len);
		l->addr[addr.len] = 0;
		l->addr_len = addr.len;
	}

	struct dp_evt_attach ev = {c->idx, c->gen, dp_handle(l->idx, l->gen), outgoing, dynamic,
				   l->addr != NULL, 0, c->n_links, &l->outstanding};
	if (!dp_post_control(w, DP_EVT_ATTACH, &ev, sizeof(ev), l->addr, l->addr_len)) {
		/* part 2.6.3: refuse with an Attach (null terminus), then Detach */
		encode_attach_reply(w, l, false, NULL, 0);
		l->state = DP_LINK_ACTIVE;
		dp_link_fail(w, l, DP_D_resource_limit, "amqp:resource-limit-exceeded",
			     "the router's control thread is overloaded");
		return;
	}
	c->paused = true; /* later frames wait, in order, for the decision */
}

static void encode_attach_reply(struct dp_worker *w, struct dp_link *l, bool ok,
				const uint8_t *dyn_addr, uint32_t dyn_len)
{
	struct dp_frame_out f;
	uint32_t max = DP_PERF_MAX + l->pend_name.len + l->pend_source.len + l->pend_target.len + dyn_len;
	if (max > DP_BLOCK_DATA || !dp_frame_begin(w, &f, max))
		return;
	struct amqp_attach a;
	amqp_attach_init(&a);
	a.present = AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
		    AMQP_ATTACH_HAS_SND_SETTLE_MODE | AMQP_ATTACH_HAS_RCV_SETTLE_MODE;
	a.name = l->pend_name;
	a.handle = l->handle;
	a.role = !l->outgoing; /* our role: sender when the peer receives */
	a.snd_settle_mode = l->snd_settle_mode;
	/* as the receiver the router settles first (it settles each delivery
	 * as it forwards the consumer's outcome): say so (part 2.8.3); as the
	 * sender it honours the consumer's choice, "second" included */
	a.rcv_settle_mode = l->outgoing ? l->rcv_settle_mode : 0;
	uint8_t src_buf[1024];
	struct amqp_value src = AMQP_VALUE_NULL_INIT, tgt = AMQP_VALUE_NULL_INIT;
	if (ok) {
		if (l->dynamic && l->outgoing) {
			/* part 3.5.3: the node's address, created for this link */
			struct amqp_source s;
			amqp_source_init(&s);
			s.present = AMQP_SOURCE_HAS_ADDRESS | AMQP_SOURCE_HAS_DYNAMIC;
			s.dynamic = true;
			s.address.type = AMQP_TYPE_STRING;
			s.address.code = dyn_len < 256 ? 0xa1 : 0xb1;
			s.address.described = 0;
			s.address.descriptor = AMQP_DESC_NONE;
			s.address.bytes = amqp_bytes_of(dyn_addr, dyn_len);
			s.address.raw = amqp_bytes_of(NULL, 0);
			struct amqp_wbuf sb;
			amqp_wbuf_init(&sb, src_buf, sizeof(src_buf));
			amqp_source_encode(&sb, &s);
			if (amqp_wbuf_ok(&sb)) {
				src.type = AMQP_TYPE_LIST;
				src.described = 1;
				src.raw = amqp_bytes_of(src_buf, amqp_wbuf_len(&sb));
			}
		} else if (l->pend_source.len) {
			src.type = AMQP_TYPE_LIST;
			src.described = 1;
			src.raw = l->pend_source;
		}
		if (l->pend_target.len) {
			tgt.type = AMQP_TYPE_LIST;
			tgt.described = 1;
			tgt.raw = l->pend_target;
		}
	}
	/* part 2.6.3: a refused link is answered with a null terminus, then
	 * detached with the error */
	if (src.raw.len) {
		a.present |= AMQP_ATTACH_HAS_SOURCE;
		a.source = src;
	}
	if (tgt.raw.len) {
		a.present |= AMQP_ATTACH_HAS_TARGET;
		a.target = tgt;
	}
	if (l->outgoing) {
		a.present |= AMQP_ATTACH_HAS_INITIAL_DELIVERY_COUNT;
		a.initial_delivery_count = 0;
	}
	if (l->conn->lim->max_message_size) {
		a.present |= AMQP_ATTACH_HAS_MAX_MESSAGE_SIZE;
		a.max_message_size = l->conn->lim->max_message_size;
	}
	amqp_attach_encode(&f.wb, &a);
	dp_frame_end(w, l->conn, &f, l->sess->channel, NULL, 0, 0);
}

static void targeted_add(struct dp_worker *w, struct dp_link *l)
{
	l->prev_targeted = NULL;
	l->next_targeted = w->targeted;
	if (w->targeted)
		w->targeted->prev_targeted = l;
	w->targeted = l;
}

static void targeted_remove(struct dp_worker *w, struct dp_link *l)
{
	if (l->prev_targeted)
		l->prev_targeted->next_targeted = l->next_targeted;
	else if (w->targeted == l)
		w->targeted = l->next_targeted;
	if (l->next_targeted)
		l->next_targeted->prev_targeted = l->prev_targeted;
	l->next_targeted = l->prev_targeted = NULL;
}

static bool has_consumer(struct dp_worker *w, struct dp_link *l)
{
	if (l->table_version != w->table_version || l->entry == NULL) {
		l->entry = route_table_lookup(w->table, (const uint8_t *)l->addr, l->addr_len);
		l->table_version = w->table_version;
	}
	return l->entry != NULL && l->entry->n_dests > 0;
}

void dp_link_attach_decided(struct dp_worker *w, const struct dp_cmd_attach *cmd,
			    const uint8_t *addr, uint32_t addr_len)
{
	struct dp_link *l = dp_link_lookup(w, cmd->link);
	if (l == NULL || l->state != DP_LINK_PENDING)
		return; /* its connection went meanwhile */
	struct dp_conn *c = l->conn;
	c->paused = false;
	if (!cmd->ok) {
		encode_attach_reply(w, l, false, NULL, 0);
		l->state = DP_LINK_ACTIVE;
		dp_link_fail(w, l, DP_D_COUNT, cmd->condition,
			     cmd->description[0] ? cmd->description : NULL);
	} else {
		if (l->dynamic && l->outgoing && addr_len) {
			l->addr = (char *)malloc(addr_len + 1);
			if (l->addr) {
				memcpy(l->addr, addr, addr_len);
				l->addr[addr_len] = 0;
				l->addr_len = addr_len;
			}
		}
		encode_attach_reply(w, l, true, addr, addr_len);
		l->state = DP_LINK_ACTIVE;
		if (l->q_head)
			dp_link_mark_dirty(w, l); /* routed to it while its Attach was decided */
		dp_count(w, DP_C_links_attached, 1);
		if (!l->outgoing) {
			if (l->addr) {
				targeted_add(w, l);
				l->blocked = !has_consumer(w, l);
				if (l->blocked)
					dp_count(w, DP_C_credit_withheld, 1);
			}
			dp_link_grant_credit(w, l);
		}
	}
	free(l->pend_buf);
	l->pend_buf = NULL;
	if (c->state == DP_CONN_OPEN)
		dp_conn_input(w, c); /* the frames that waited */
}

void dp_links_table_changed(struct dp_worker *w)
{
	for (struct dp_link *l = w->targeted; l; l = l->next_targeted) {
		if (l->state != DP_LINK_ACTIVE)
			continue;
		bool has = has_consumer(w, l);
		if (l->blocked && has) {
			l->blocked = false;
			l->slack = 0;
			dp_link_grant_credit(w, l);
		} else if (!l->blocked && !has) {
			/* issue 4: credit drained after the last consumer goes;
			 * what was already in flight is tolerated (slack) and
			 * released on arrival */
			l->blocked = true;
			l->slack = l->credit;
			l->credit = 0;
			l->drain = true;
			dp_link_send_flow(w, l, false);
			dp_count(w, DP_C_credit_drained, 1);
		}
	}
}

/* --- detach -------------------------------------------------------------- */

static void send_detach(struct dp_worker *w, struct dp_link *l, bool closed, const char *condition,
			const char *description)
{
	struct dp_frame_out f;
	if (l->conn->state != DP_CONN_OPEN || l->sess->ended || !dp_frame_begin(w, &f, DP_PERF_MAX))
		return;
	struct amqp_detach d;
	amqp_detach_init(&d);
	d.present = AMQP_DETACH_HAS_HANDLE;
	d.handle = l->handle;
	if (closed) {
		d.present |= AMQP_DETACH_HAS_CLOSED;
		d.closed = true;
	}
	if (condition) {
		d.present |= AMQP_DETACH_HAS_ERROR;
		encode_error(&d.error, condition, description);
	}
	amqp_detach_encode(&f.wb, &d);
	dp_frame_end(w, l->conn, &f, l->sess->channel, NULL, 0, 0);
}

void dp_link_detach(struct dp_worker *w, struct dp_link *l, const struct amqp_detach *d)
{
	if (l->state == DP_LINK_DETACHED) {
		dp_link_destroy(w, l); /* the peer's answer to our Detach */
		return;
	}
	send_detach(w, l, d->closed, NULL, NULL);
	dp_link_destroy(w, l);
}

void dp_link_fail(struct dp_worker *w, struct dp_link *l, enum dp_drop_id drop,
		  const char *condition, const char *description)
{
	if (drop < DP_D_COUNT)
		dp_drop(w, drop);
	send_detach(w, l, true, condition, description);
	/* keep the handle until the peer's Detach answers ours (part 2.6.5),
	 * but stop everything else now */
	struct dp_session *s = l->sess;
	uint32_t handle = l->handle;
	dp_link_destroy(w, l);
	struct dp_link *z = dp_link_alloc(w);
	if (z) {
		z->state = DP_LINK_DETACHED;
		z->conn = s->conn;
		z->sess = s;
		z->handle = handle;
		s->links[handle] = z;
		s->conn->n_links++;
	}
}

void dp_link_destroy(struct dp_worker *w, struct dp_link *l)
{
	struct dp_session *s = l->sess;
	if (l->outgoing) {
		/* never forwarded: RELEASED; forwarded, unsettled: MODIFIED
		 * delivery-failed (qdrouterd's rule, oslo-amqp1-contract.md) */
		if (l->cur) {
			/* cut off mid-delivery: the consumer never had all of it */
			struct dp_copy *cp = l->cur;
			l->cur = NULL;
			cp->link = NULL;
			dp_copy_finish(w, cp, DP_RANK_RELEASED, NULL, 0);
		}
		while (l->q_head) {
			struct dp_copy *cp = l->q_head;
			l->q_head = cp->next;
			cp->link = NULL;
			dp_copy_finish(w, cp, DP_RANK_RELEASED, NULL, 0);
		}
		l->q_tail = NULL;
		for (uint64_t i = 0; i <= s->unsettled_out.mask; i++) {
			struct dp_copy *cp = (struct dp_copy *)s->unsettled_out.slots[i].val;
			if (cp == NULL || cp->link != l)
				continue;
			dp_map_del(&s->unsettled_out, s->unsettled_out.slots[i].key);
			i--; /* backward shift may have moved an entry into slot i */
			cp->link = NULL;
			uint8_t st[16];
			uint32_t n = dp_encode_outcome(st, sizeof(st), DP_RANK_MODIFIED, true, false);
			dp_copy_finish(w, cp, DP_RANK_MODIFIED, st, n);
		}
		if (l->state != DP_LINK_DETACHED && l->state != DP_LINK_FREE) {
			struct dp_evt_link_gone g = {dp_handle(l->idx, l->gen), 1};
			while (!dp_post_control(w, DP_EVT_LINK_GONE, &g, sizeof(g), l->addr,
						l->addr_len))
				usleep(100); /* control drains its rings continuously */
		}
	} else {
		if (l->partial) {
			/* never routed: nothing else refers to it */
			if (dp_map_get(&s->unsettled_in, l->partial->in_delivery_id) == l->partial)
				dp_map_del(&s->unsettled_in, l->partial->in_delivery_id);
			dp_session_frames_freed(w, l->partial); /* its frames leave with it */
			dp_delivery_free(w, l->partial);
			l->partial = NULL;
		}
		for (uint64_t i = 0; i <= s->unsettled_in.mask; i++) {
			struct dp_delivery *d = (struct dp_delivery *)s->unsettled_in.slots[i].val;
			if (d == NULL || d->in_link != l)
				continue;
			dp_map_del(&s->unsettled_in, s->unsettled_in.slots[i].key);
			i--;
			d->in_link = NULL;
		}
		if (l->addr)
			targeted_remove(w, l);
		if (l->state == DP_LINK_PENDING) {
			struct dp_evt_link_gone g = {dp_handle(l->idx, l->gen), 0};
			while (!dp_post_control(w, DP_EVT_LINK_GONE, &g, sizeof(g), l->addr,
						l->addr_len))
				usleep(100); /* control drains its rings continuously */
		}
	}
	if (l->state == DP_LINK_ACTIVE)
		dp_count(w, DP_C_links_detached, 1);
	if (l->state == DP_LINK_PENDING)
		s->conn->paused = false;
	if (s->links && l->handle < s->links_cap && s->links[l->handle] == l)
		s->links[l->handle] = NULL;
	s->conn->n_links--;
	l->state = DP_LINK_FREE;
	dp_link_free(w, l);
}
