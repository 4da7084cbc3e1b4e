/* The connection engine of a worker: pre-Open relay to control, the
 * handoff, frame parsing and dispatch after Open, Close, timers.
 * DESIGN.md "Handoff, step by step" and AMQP 1.0 part 2.4. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "amqp_frame.h"
#include "dp_worker.h"

/* Before Open the worker keeps the raw input for control: a few KB at most
 * (protocol headers, SASL frames of at most 512 bytes each, the Open and
 * whatever the client pipelined after it). */
#define PREOPEN_KEEP_MAX 16384u
/* A closing connection whose peer reads nothing is dropped after this. */
#define CLOSE_LINGER_MS 2000u

void dp_conn_mark_dirty(struct dp_worker *w, struct dp_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		dp_dirty_push(&w->dirty_conns, &w->n_dirty_conns, &w->cap_dirty_conns, c, c->gen);
	}
}

bool dp_frame_begin(struct dp_worker *w, struct dp_frame_out *f, uint32_t max)
{
	uint8_t *p = dp_out_reserve(&w->blocks, max);
	if (p == NULL)
		return false;
	amqp_wbuf_init(&f->wb, p, max);
	f->hdr = amqp_frame_begin(&f->wb);
	return true;
}

void dp_frame_end(struct dp_worker *w, struct dp_conn *c, struct dp_frame_out *f, uint16_t channel,
		  const struct dp_chain *payload, uint64_t pos, uint32_t len)
{
	if (!amqp_wbuf_ok(&f->wb)) {
		/* cannot happen with DP_PERF_MAX-sized reservations for our own
		 * performatives; refuse to write a truncated frame */
		c->close_when_flushed = true;
		c->state = DP_CONN_CLOSING;
		dp_conn_mark_dirty(w, c);
		return;
	}
	uint32_t perf = (uint32_t)amqp_wbuf_len(&f->wb);
	amqp_put_be32(f->hdr, perf + len);
	f->hdr[4] = 2; /* doff: no extended header */
	f->hdr[5] = AMQP_FRAME_AMQP;
	amqp_put_be16(f->hdr + 6, channel);
	/* a small payload is copied in behind its performative where the
	 * output block has room, so consecutive frames stay one slice (one
	 * iovec, one TCP send) instead of two per frame: the copy costs less
	 * than what a slice costs later (a reference held on the input block,
	 * an iovec and a send call in the driver, the release) */
	uint32_t copied = 0;
	if (len && len <= DP_COPYBREAK && dp_out_room(&w->blocks) - perf >= len) {
		dp_chain_copy_out(payload, pos, f->wb.p, len);
		copied = len;
	}
	if (dp_out_commit(&w->blocks, &c->out, perf + copied) != 0 ||
	    (len > copied && dp_chain_append_range(&c->out, payload, pos, len) != 0)) {
		c->close_when_flushed = true;
		c->state = DP_CONN_CLOSING;
	}
	c->last_tx_ms = w->now_ms;
	dp_count(w, DP_C_tx_frames, 1);
	dp_conn_mark_dirty(w, c);
}

static void send_close(struct dp_worker *w, struct dp_conn *c, const char *condition,
		       const char *description)
{
	struct dp_frame_out f;
	if (c->close_sent || !dp_frame_begin(w, &f, DP_PERF_MAX))
		return;
	struct amqp_close cl;
	amqp_close_init(&cl);
	if (condition) {
		cl.present |= AMQP_CLOSE_HAS_ERROR;
		cl.error.present = AMQP_ERROR_HAS_CONDITION;
		cl.error.condition = amqp_bytes_of(condition, strlen(condition));
		if (description) {
			cl.error.present |= AMQP_ERROR_HAS_DESCRIPTION;
			cl.error.description = amqp_bytes_of(description, strlen(description));
		}
	}
	amqp_close_encode(&f.wb, &cl);
	dp_frame_end(w, c, &f, 0, NULL, 0, 0);
	c->close_sent = true;
}

void dp_conn_set_reason(struct dp_conn *c, const char *fmt, ...)
{
	if (c->reason[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

void dp_conn_detach_consumers(struct dp_worker *w, struct dp_conn *c)
{
	for (uint32_t i = 0; i < c->sessions_cap; i++) {
		struct dp_session *s = c->sessions[i];
		if (s == NULL)
			continue;
		for (uint32_t h = 0; h < s->links_cap; h++) {
			struct dp_link *l = s->links[h];
			if (l && l->outgoing && l->state == DP_LINK_ACTIVE)
				dp_link_fail(w, l, DP_D_COUNT, "amqp:connection:forced",
					     "the router is shutting down");
		}
	}
}

void dp_conn_fail(struct dp_worker *w, struct dp_conn *c, enum dp_drop_id drop,
		  const char *condition, const char *description)
{
	dp_conn_set_reason(c, "%s%s%s", condition ? condition : "closed",
			   description ? ": " : "", description ? description : "");
	if (drop < DP_D_COUNT)
		dp_drop(w, drop);
	if (c->state == DP_CONN_OPEN)
		send_close(w, c, condition, description);
	c->state = DP_CONN_CLOSING;
	c->close_when_flushed = true;
	c->stall_ms = w->now_ms;
	dp_conn_mark_dirty(w, c);
}

void dp_conn_destroy(struct dp_worker *w, struct dp_conn *c)
{
	if (c->state == DP_CONN_FREE)
		return;
	for (uint32_t i = 0; i < c->sessions_cap; i++)
		if (c->sessions[i])
			dp_session_destroy(w, c->sessions[i]);
	free(c->sessions);
	c->sessions = NULL;
	c->sessions_cap = 0;
	/* released before the output is dropped: a driver with its own TCP
	 * tells a graceful close (all output written: FIN) from a forced one
	 * (output left: RST) by it */
	w->drv->conn_release(w, c);
	dp_chain_clear(&w->blocks, &c->in);
	dp_chain_clear(&w->blocks, &c->out);
	bool was_open = c->opened;
	c->state = DP_CONN_FREE;
	__atomic_store_n(&w->n_conns, w->n_conns - 1, __ATOMIC_RELAXED);
	dp_count(w, DP_C_conn_closed, 1);
	struct dp_evt_conn_gone e;
	memset(&e, 0, sizeof(e));
	e.conn = c->idx;
	e.gen = c->gen;
	e.was_open = was_open;
	e.rx_bytes = c->rx;
	e.tx_bytes = c->tx;
	if (c->reason[0] == 0)
		snprintf(c->reason, sizeof(c->reason), "%s", "connection lost");
	while (!dp_post_control(w, DP_EVT_CONN_GONE, &e, sizeof(e), c->reason,
				(uint32_t)strlen(c->reason)))
		usleep(100); /* control drains its rings continuously */
	c->reason[0] = 0;
}

/* --- before Open: relay to control --------------------------------------- */

static void relay_preopen(struct dp_worker *w, struct dp_conn *c)
{
	uint64_t end = c->in_base + c->in.len;
	if (end > PREOPEN_KEEP_MAX) {
		dp_drop(w, DP_D_pre_open_too_large);
		dp_conn_set_reason(c, "more than %u bytes before Open", PREOPEN_KEEP_MAX);
		dp_conn_destroy(w, c);
		return;
	}
	while (c->relayed < end) {
		uint32_t n = (uint32_t)(end - c->relayed);
		struct dp_evt_raw hdr = {c->idx, c->gen, c->relayed};
		uint8_t *p = (uint8_t *)dp_ring_reserve(&w->to_control, DP_EVT_RAW, sizeof(hdr) + n);
		if (p == NULL)
			return; /* control is behind: relayed on the next read or tick */
		memcpy(p, &hdr, sizeof(hdr));
		dp_chain_copy_out(&c->in, c->relayed - c->in_base, p + sizeof(hdr), n);
		dp_ring_commit(&w->to_control);
		c->relayed = end;
		if (w->sh->control_wake)
			w->sh->control_wake(w->sh->control_wake_arg);
	}
}

void dp_conn_handoff(struct dp_worker *w, struct dp_conn *c, const struct dp_cmd_handoff *h,
		     const uint8_t *out, uint32_t out_len)
{
	/* DESIGN.md handoff 5: our Open (and the SASL outcome before it)
	 * first, then the kept input from offset R. */
	if (out_len && dp_chain_append_copy(&w->blocks, &c->out, out, out_len) != 0) {
		dp_conn_destroy(w, c);
		return;
	}
	c->state = DP_CONN_OPEN;
	c->opened = true;
	c->max_frame_in = h->max_frame;
	c->max_frame_out = h->remote_max_frame < 512 ? 512 : h->remote_max_frame;
	c->channel_max_out = h->remote_channel_max;
	c->remote_idle_ms = h->remote_idle_ms;
	c->local_idle_ms = h->local_idle_ms;
	c->last_rx_ms = c->last_tx_ms = w->now_ms;
	if (h->consumed > c->in_base) {
		uint64_t n = h->consumed - c->in_base;
		if (n > c->in.len)
			n = c->in.len;
		dp_chain_consume(&w->blocks, &c->in, n);
		c->in_base += n;
	}
	dp_count(w, DP_C_conn_open, 1);
	dp_conn_mark_dirty(w, c);
	dp_conn_input(w, c);
}

/* --- after Open: frames ------------------------------------------------- */

static void fail_decode(struct dp_worker *w, struct dp_conn *c, const struct amqp_diag *d0)
{
	/* positions count from the start of the stream, whatever was read
	 * and parsed before */
	struct amqp_diag dd = *d0, *d = &dd;
	dd.pos += c->in_base;
	char desc[200];
	amqp_diag_format(d, desc, sizeof(desc));
	const char *cond = rr_err_condition(d->err);
	enum dp_drop_id drop = DP_D_decode_error;
	if (d->err == RR_E_TOO_LARGE)
		drop = DP_D_resource_limit;
	dp_conn_fail(w, c, drop, cond ? cond : "amqp:decode-error", desc);
}

static struct dp_session *session_of(struct dp_worker *w, struct dp_conn *c, uint16_t ch)
{
	struct dp_session *s = ch < c->sessions_cap ? c->sessions[ch] : NULL;
	if (s && s->ended)
		return NULL; /* we ended it: frames until the peer's End are dropped (part 2.5.5) */
	if (s == NULL) {
		char desc[96];
		snprintf(desc, sizeof(desc), "frame on channel %u, which has no session", ch);
		dp_conn_fail(w, c, DP_D_unattached_handle, "amqp:not-allowed", desc);
		return NULL;
	}
	return s;
}

static struct dp_link *link_of(struct dp_worker *w, struct dp_session *s, uint32_t handle)
{
	struct dp_link *l = handle < s->links_cap ? s->links[handle] : NULL;
	if (l == NULL) {
		char desc[96];
		snprintf(desc, sizeof(desc), "handle %u is not attached", handle);
		dp_session_fail(w, s, DP_D_unattached_handle, "amqp:session:unattached-handle", desc);
	}
	return l;
}

static void handle_frame(struct dp_worker *w, struct dp_conn *c, struct amqp_frame *f)
{
	if (amqp_frame_is_empty(f))
		return; /* heartbeat (part 2.4.5) */
	if (f->type != AMQP_FRAME_AMQP) {
		dp_conn_fail(w, c, DP_D_framing_error, "amqp:connection:framing-error",
			     "SASL frame after the SASL layer");
		return;
	}
	struct amqp_performative p;
	struct amqp_diag d;
	memset(&d, 0, sizeof(d));
	enum rr_err e = amqp_performative_decode(&f->body, &p, &d);
	if (e != RR_OK) {
		fail_decode(w, c, &d);
		return;
	}
	dp_count(w, DP_C_rx_frames, 1);
	struct dp_session *s;
	struct dp_link *l;
	switch (p.code) {
	case AMQP_DESC_TRANSFER:
		if ((s = session_of(w, c, f->channel)) != NULL)
			dp_transfer_in(w, s, &p.u.transfer, &p.payload, &c->in, amqp_cur_pos(&p.payload),
				       (uint32_t)amqp_cur_left(&p.payload));
		break;
	case AMQP_DESC_FLOW:
		if ((s = session_of(w, c, f->channel)) != NULL)
			dp_session_flow_in(w, s, &p.u.flow);
		break;
	case AMQP_DESC_DISPOSITION:
		if ((s = session_of(w, c, f->channel)) != NULL)
			dp_disposition_in(w, s, &p.u.disposition);
		break;
	case AMQP_DESC_ATTACH:
		if ((s = session_of(w, c, f->channel)) != NULL)
			dp_link_attach(w, s, &p.u.attach);
		break;
	case AMQP_DESC_DETACH:
		if ((s = session_of(w, c, f->channel)) != NULL &&
		    (l = link_of(w, s, p.u.detach.handle)) != NULL)
			dp_link_detach(w, l, &p.u.detach);
		break;
	case AMQP_DESC_BEGIN:
		dp_session_begin(w, c, f->channel, &p.u.begin);
		break;
	case AMQP_DESC_END:
		s = f->channel < c->sessions_cap ? c->sessions[f->channel] : NULL;
		if (s && s->ended)
			dp_session_destroy(w, s); /* the answer to our End */
		else if ((s = session_of(w, c, f->channel)) != NULL)
			dp_session_end(w, s, &p.u.end);
		break;
	case AMQP_DESC_CLOSE:
		/* part 2.4.3: answer with our Close, then the socket closes */
		if (p.u.close.present & AMQP_CLOSE_HAS_ERROR) {
			char cond[64];
			size_t n = amqp_bytes_copy(&p.u.close.error.condition, cond, sizeof(cond) - 1);
			cond[n < sizeof(cond) - 1 ? n : sizeof(cond) - 1] = 0;
			dp_conn_set_reason(c, "closed by the peer with %s", cond);
		} else {
			dp_conn_set_reason(c, "closed by the peer");
		}
		send_close(w, c, NULL, NULL);
		c->state = DP_CONN_CLOSING;
		c->close_when_flushed = true;
		c->stall_ms = w->now_ms;
		dp_conn_mark_dirty(w, c);
		break;
	case AMQP_DESC_OPEN:
		dp_conn_fail(w, c, DP_D_not_allowed, "amqp:illegal-state", "a second Open");
		break;
	default:
		dp_conn_fail(w, c, DP_D_decode_error, "amqp:decode-error", "unknown performative");
		break;
	}
}

#define MAX_SEGS 64

void dp_conn_input(struct dp_worker *w, struct dp_conn *c)
{
	if (c->state == DP_CONN_PREOPEN) {
		relay_preopen(w, c);
		return;
	}
	if (c->state != DP_CONN_OPEN) {
		/* closing: what the peer still sends is not read */
		c->in_base += c->in.len;
		dp_chain_clear(&w->blocks, &c->in);
		return;
	}
	while (!c->paused && c->state == DP_CONN_OPEN && c->in.len) {
		struct amqp_seg inl[MAX_SEGS], *segs = inl;
		if (c->in.n > MAX_SEGS) {
			/* a frame larger than MAX_SEGS blocks (big max-frame-size), or
			 * input held while an Attach waited: rare, so allocate */
			segs = (struct amqp_seg *)malloc(c->in.n * sizeof(*segs));
			if (segs == NULL) {
				dp_conn_fail(w, c, DP_D_resource_limit, "amqp:resource-limit-exceeded",
					     "out of memory");
				return;
			}
		}
		int n = dp_chain_segs(&c->in, segs, (int)(c->in.n > MAX_SEGS ? c->in.n : MAX_SEGS));
		struct amqp_cursor cur;
		amqp_cur_init(&cur, segs, (size_t)n);
		uint64_t done = 0;
		for (;;) {
			struct amqp_frame f;
			struct amqp_diag d;
			memset(&d, 0, sizeof(d));
			enum rr_err e = amqp_frame_parse(&cur, c->max_frame_in, &f, &d);
			if (e == RR_NEED_MORE)
				break;
			if (e != RR_OK) {
				char desc[200];
				d.pos += c->in_base; /* from the start of the stream */
				amqp_diag_format(&d, desc, sizeof(desc));
				dp_conn_fail(w, c, DP_D_framing_error, "amqp:connection:framing-error",
					     desc);
				if (segs != inl)
					free(segs);
				return;
			}
			handle_frame(w, c, &f);
			done = amqp_cur_pos(&cur);
			if (c->paused || c->state != DP_CONN_OPEN)
				break;
		}
		if (segs != inl)
			free(segs);
		if (done == 0)
			break;
		dp_chain_consume(&w->blocks, &c->in, done);
		c->in_base += done;
	}
}

void dp_conn_output_drained(struct dp_worker *w, struct dp_conn *c)
{
	if (c->state != DP_CONN_OPEN || c->out.len > DP_OUT_WATERMARK / 2)
		return;
	for (uint32_t i = 0; i < c->sessions_cap; i++) {
		struct dp_session *s = c->sessions[i];
		if (s == NULL)
			continue;
		for (uint32_t h = 0; h < s->links_cap; h++) {
			struct dp_link *l = s->links[h];
			if (l && l->outgoing && (l->q_head || l->cur))
				dp_link_mark_dirty(w, l);
		}
	}
}

static const uint8_t heartbeat[8] = {0, 0, 0, 8, 2, 0, 0, 0};

void dp_conn_timers(struct dp_worker *w, struct dp_conn *c)
{
	uint64_t now = w->now_ms;
	switch (c->state) {
	case DP_CONN_PREOPEN:
		if (c->relayed < c->in_base + c->in.len)
			relay_preopen(w, c); /* the ring was full earlier */
		if (c->state == DP_CONN_PREOPEN && c->lim->handshake_timeout_ms &&
		    now - c->accept_ms > c->lim->handshake_timeout_ms) {
			dp_drop(w, DP_D_handshake_timeout);
			dp_conn_set_reason(c, "no Open within the handshake timeout (%u ms)",
					   c->lim->handshake_timeout_ms);
			dp_conn_destroy(w, c);
		}
		return;
	case DP_CONN_OPEN:
		if (c->out.len > c->lim->max_conn_buffered) {
			dp_drop(w, DP_D_peer_stopped_reading);
			dp_conn_set_reason(c, "more than %llu bytes buffered for a peer that does not read",
					   (unsigned long long)c->lim->max_conn_buffered);
			dp_conn_destroy(w, c);
			return;
		}
		if (c->stall_ms && c->out.len > DP_OUT_WATERMARK / 2) {
			uint64_t limit = c->lim->idle_timeout_ms ? c->lim->idle_timeout_ms : 60000;
			if (now - c->stall_ms > limit) {
				dp_drop(w, DP_D_peer_stopped_reading);
				dp_conn_set_reason(c, "the peer read nothing for %llu ms",
						   (unsigned long long)limit);
				dp_conn_destroy(w, c);
				return;
			}
		}
		/* part 2.4.5: the peer closes us if it hears nothing within its
		 * idle-time-out; send an empty frame at half of it */
		if (c->remote_idle_ms && now - c->last_tx_ms >= c->remote_idle_ms / 2) {
			if (dp_chain_append_copy(&w->blocks, &c->out, heartbeat, sizeof(heartbeat)) ==
			    0) {
				c->last_tx_ms = now;
				dp_count(w, DP_C_heartbeats_tx, 1);
				dp_conn_mark_dirty(w, c);
			}
		}
		if (c->local_idle_ms && now - c->last_rx_ms > c->local_idle_ms) {
			dp_conn_fail(w, c, DP_D_idle_timeout, "amqp:resource-limit-exceeded",
				     "local-idle-timeout expired");
		}
		return;
	case DP_CONN_CLOSING:
		if (c->out.len == 0 || (c->stall_ms && now - c->stall_ms > CLOSE_LINGER_MS))
			dp_conn_destroy(w, c);
		return;
	default:
		return;
	}
}
