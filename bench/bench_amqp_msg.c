/* bench_amqp messages: templates, the send fast path, receiving and
 * settling (see bench_amqp.h; the connection is bench_amqp.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp_message.h"
#include "bench_amqp_int.h"
#include "dp_encode.h"

static const uint8_t tail_magic[8] = {'r', 'r', 'b', 'e', 'n', 'c', 'h', 0};

/* --- receiving messages ------------------------------------------------- */

void bench_amqp_flush_settles(struct bench_amqp_conn *c)
{
	if (!c->disp_pending || c->st == ST_DONE)
		return;
	c->disp_pending = false;
	struct bench_amqp_ctl f;
	if (!bench_amqp_ctl_begin(c, &f))
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
		d.state = bench_amqp_raw_value(st, 4, AMQP_TYPE_LIST);
		amqp_disposition_encode(&f.w, &d);
	}
	bench_amqp_ctl_end(c, &f, AMQP_FRAME_AMQP);
}

/* Queue a settlement: contiguous ids with one outcome become one range
 * (part 2.7.6 first..last). */
static void queue_settle(struct bench_amqp_conn *c, uint32_t id, enum bench_amqp_outcome o)
{
	if (c->disp_pending && c->disp_outcome == o && id == c->disp_last + 1) {
		c->disp_last = id;
		return;
	}
	bench_amqp_flush_settles(c);
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
		bench_amqp_copy_bytes_cstr(m->to, sizeof m->to, &pr->to.bytes);
	if (pr->reply_to.type == AMQP_TYPE_STRING || pr->reply_to.type == AMQP_TYPE_SYMBOL)
		bench_amqp_copy_bytes_cstr(m->reply_to, sizeof m->reply_to, &pr->reply_to.bytes);
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

void bench_amqp_on_transfer(struct bench_amqp_conn *c, const struct amqp_transfer *t,
			    const uint8_t *p, size_t len)
{
	/* part 2.5.6: each transfer frame takes one slot of our window */
	if (c->in_window_left == 0) {
		bench_amqp_fail_session(c, AMQP_SESSION_ERROR_WINDOW_VIOLATION,
					"transfer beyond the incoming-window");
		return;
	}
	c->in_window_left--;
	c->next_incoming_id++;
	if (c->remote_out_window)
		c->remote_out_window--;
	/* reopen it long before it closes: a fast sender never waits */
	if (c->in_window_left <= c->in_window / 2)
		bench_amqp_send_flow(c, -1, false, false);
	int i = bench_amqp_link_of(c, t->handle);
	if (i < 0)
		return;
	struct link *l = &c->links[i];
	if (l->sender) {
		bench_amqp_fail_session(c, AMQP_AMQP_ERROR_NOT_ALLOWED,
					"transfer on a link we send on");
		return;
	}
	if (l->state == LK_DETACH_SENT) {
		/* in flight before the peer saw our Detach: dropped, every
		 * frame of it */
		if (c->rx_active && c->rx_link == i)
			c->rx_active = false;
		return;
	}
	bool more = t->more;
	if (c->rx_active) {
		/* a continuation (part 2.6.14) */
		if (c->rx_link != i) {
			bench_amqp_fail(c, AMQP_AMQP_ERROR_RESOURCE_LIMIT_EXCEEDED,
					"multi-frame deliveries interleaved across links");
			return;
		}
		if ((t->present & AMQP_TRANSFER_HAS_DELIVERY_ID) &&
		    t->delivery_id != c->rx_delivery) {
			bench_amqp_fail_session(c, AMQP_AMQP_ERROR_NOT_ALLOWED,
						"a continuation changed the delivery-id");
			return;
		}
	} else {
		if (!(t->present & AMQP_TRANSFER_HAS_DELIVERY_ID)) {
			bench_amqp_fail_session(c, AMQP_AMQP_ERROR_NOT_ALLOWED,
						"first transfer of a delivery without delivery-id");
			return;
		}
		/* part 2.6.7: each delivery takes one credit */
		if (l->credit == 0) {
			bench_amqp_fail_link(c, i, AMQP_LINK_ERROR_TRANSFER_LIMIT_EXCEEDED,
					     "transfer without link credit");
			return;
		}
		l->credit--;
		l->delivery_count++;
		if (l->credit <= l->window / 2)
			bench_amqp_grant_credit(c, i); /* refill at half the window */
		if (!more && !t->aborted) {
			/* the fast path: a single-frame message, no copy; part
			 * 2.7.3: no larger than the max-message-size we announced */
			if (len > c->rx_cap) {
				bench_amqp_fail_link(c, i, AMQP_LINK_ERROR_MESSAGE_SIZE_EXCEEDED,
						     "message larger than max-message-size");
				return;
			}
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
		bench_amqp_fail_link(c, i, AMQP_LINK_ERROR_MESSAGE_SIZE_EXCEEDED,
				     "message larger than max-message-size");
		return;
	}
	deliver(c, i, c->rx_delivery, c->rx_settled, c->rx_buf, c->rx_len);
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
	if (c->next_outgoing_id - c->out_window_base > (UINT32_C(1) << 30))
		bench_amqp_send_flow(c, -1, false, false);
	return did;
}

/* Every 2^30 frames the session's outgoing-window (2^31 - 1 from where we
 * last announced it, part 2.5.6) is announced again, so a sender that
 * never has another reason to send a Flow never runs past it. */
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
	if (AMQP_UNLIKELY(c->next_outgoing_id - c->out_window_base > (UINT32_C(1) << 30)))
		bench_amqp_send_flow(c, -1, false, false); /* see above */
	return did;
}
