/* Deliveries: transfers in, routing, transfers out, settlement end to end,
 * and the records between workers. AMQP 1.0 part 2.6.12 (transfers),
 * 2.6.13-14 (multi-frame, aborted), 2.7.6 (disposition), 3.4 (outcomes);
 * qdrouterd's semantics as in oslo-amqp1-contract.md. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp_frame.h"
#include "amqp_route.h"
#include "dp_encode.h"
#include "dp_worker.h"

#define SEGS_INLINE 64
#define ADDR_MAX 4096

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t dp_encode_outcome(uint8_t *buf, uint32_t cap, enum dp_outcome_rank rank,
			   bool delivery_failed, bool undeliverable_here)
{
	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, buf, cap);
	switch (rank) {
	case DP_RANK_ACCEPTED: {
		struct amqp_accepted a;
		amqp_accepted_init(&a);
		amqp_accepted_encode(&wb, &a);
		break;
	}
	case DP_RANK_RELEASED: {
		struct amqp_released r;
		amqp_released_init(&r);
		amqp_released_encode(&wb, &r);
		break;
	}
	case DP_RANK_REJECTED: {
		struct amqp_rejected r;
		amqp_rejected_init(&r);
		amqp_rejected_encode(&wb, &r);
		break;
	}
	case DP_RANK_MODIFIED: {
		struct amqp_modified m;
		amqp_modified_init(&m);
		m.present = AMQP_MODIFIED_HAS_DELIVERY_FAILED | AMQP_MODIFIED_HAS_UNDELIVERABLE_HERE;
		m.delivery_failed = delivery_failed;
		m.undeliverable_here = undeliverable_here;
		amqp_modified_encode(&wb, &m);
		break;
	}
	default:
		return 0;
	}
	return amqp_wbuf_ok(&wb) ? (uint32_t)amqp_wbuf_len(&wb) : 0;
}

static uint32_t encode_rejected(uint8_t *buf, uint32_t cap, const char *condition,
				const char *description)
{
	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, buf, cap);
	struct amqp_rejected r;
	amqp_rejected_init(&r);
	r.present = AMQP_REJECTED_HAS_ERROR;
	amqp_error_init(&r.error);
	r.error.present = AMQP_ERROR_HAS_CONDITION | AMQP_ERROR_HAS_DESCRIPTION;
	r.error.condition = amqp_bytes_of(condition, strlen(condition));
	r.error.description = amqp_bytes_of(description, strlen(description));
	amqp_rejected_encode(&wb, &r);
	return amqp_wbuf_ok(&wb) ? (uint32_t)amqp_wbuf_len(&wb) : 0;
}

/* --- settlement back to the producer ------------------------------------ */

/* The producer's link is still the one the delivery came on: its slot,
 * generation, connection and session all match (8-bit generations alone
 * could be fooled by 256 reuses of a slot). */
static bool in_link_ok(const struct dp_delivery *d)
{
	const struct dp_link *l = d->in_link;
	return l && l->gen == d->in_link_gen && l->state == DP_LINK_ACTIVE &&
	       l->conn->idx == d->in_conn && l->conn->gen == d->in_conn_gen &&
	       l->sess->serial == d->in_sess_serial;
}

static void send_disposition(struct dp_worker *w, struct dp_session *s, bool role_receiver,
			     uint32_t id, bool settled, const uint8_t *state, uint32_t state_len)
{
	struct dp_frame_out f;
	if (s->conn->state != DP_CONN_OPEN || s->ended || !dp_frame_begin(w, &f, 128 + state_len))
		return;
	dp_encode_disposition(&f.wb, role_receiver, id, settled, state, state_len);
	dp_frame_end(w, s->conn, &f, s->channel, NULL, 0, 0);
}

static void xc_post(struct dp_worker *w, unsigned to, uint16_t type, const void *rec, uint32_t len);

static void count_outcome(struct dp_worker *w, uint8_t rank)
{
	switch (rank) {
	case DP_RANK_ACCEPTED: dp_count(w, DP_C_outcome_accepted, 1); break;
	case DP_RANK_REJECTED: dp_count(w, DP_C_outcome_rejected, 1); break;
	case DP_RANK_RELEASED: dp_count(w, DP_C_outcome_released, 1); break;
	case DP_RANK_MODIFIED: dp_count(w, DP_C_outcome_modified, 1); break;
	default: break;
	}
}

/* Every copy of d is finished: settle its producer, free it. */
static void delivery_settle(struct dp_worker *w, struct dp_delivery *d)
{
	uint8_t rank = d->best_rank;
	uint8_t st[16];
	const uint8_t *state = d->best_state;
	uint32_t state_len = d->best_state_len;
	if (rank == DP_RANK_NONE)
		rank = DP_RANK_ACCEPTED; /* settled by consumers that settle on receipt */
	/* a pre-settled delivery's outcome goes to nobody (part 2.6.12): not
	 * encoded, the common case of the throughput path */
	if (state_len == 0 && !d->settled_in) {
		state_len = dp_encode_outcome(st, sizeof(st), (enum dp_outcome_rank)rank, true, false);
		state = st;
	}
	if (d->origin_worker >= 0) {
		uint8_t rec[sizeof(struct dp_xc_ack) + DP_STATE_MAX];
		struct dp_xc_ack *a = (struct dp_xc_ack *)rec;
		a->src_delivery = d->origin_delivery;
		a->rank = d->settled_in ? DP_RANK_NONE : rank;
		memcpy(rec + sizeof(*a), state, state_len);
		xc_post(w, (unsigned)d->origin_worker, DP_XC_SETTLED, rec,
			(uint32_t)sizeof(*a) + (d->settled_in ? 0 : state_len));
	} else if (!d->settled_in) {
		count_outcome(w, rank);
		if (in_link_ok(d)) {
			struct dp_session *s = d->in_link->sess;
			dp_map_del(&s->unsettled_in, d->in_delivery_id);
			send_disposition(w, s, true, d->in_delivery_id, true, state, state_len);
		}
	}
	dp_delivery_free(w, d);
}

/* One copy of d has left (or will never leave): when all have, the
 * producer may send more. */
static void delivery_sent_one(struct dp_worker *w, struct dp_delivery *d)
{
	if (d->unsent == 0 || --d->unsent > 0)
		return;
	dp_session_frames_freed(w, d);
	if (d->origin_worker >= 0) {
		struct dp_xc_ack a = {d->origin_delivery, 0};
		xc_post(w, (unsigned)d->origin_worker, DP_XC_SENT, &a, sizeof(a));
	} else if (in_link_ok(d)) {
		dp_link_in_freed(w, d->in_link);
	}
}

static void delivery_done_one(struct dp_worker *w, struct dp_delivery *d, enum dp_outcome_rank rank,
			      const uint8_t *state, uint32_t state_len)
{
	if (rank > d->best_rank) {
		d->best_rank = (uint8_t)rank;
		d->best_state_len = state_len <= DP_STATE_MAX ? (uint16_t)state_len : 0;
		if (d->best_state_len)
			memcpy(d->best_state, state, state_len);
	}
	if (d->copies && --d->copies == 0)
		delivery_settle(w, d);
}

void dp_copy_finish(struct dp_worker *w, struct dp_copy *cp, enum dp_outcome_rank rank,
		    const uint8_t *state, uint32_t state_len)
{
	struct dp_delivery *d = cp->d;
	struct dp_link *l = cp->link;
	if (l && l->gen == cp->link_gen && l->outstanding)
		__atomic_store_n(&l->outstanding, l->outstanding - 1, __ATOMIC_RELAXED);
	bool sent = cp->sent;
	dp_copy_free(w, cp);
	if (!sent)
		delivery_sent_one(w, d);
	delivery_done_one(w, d, rank, state, state_len);
}

/* A delivery that goes nowhere: its producer learns the outcome now. */
static void delivery_refuse(struct dp_worker *w, struct dp_delivery *d, enum dp_drop_id drop,
			    enum dp_outcome_rank rank, const uint8_t *state, uint32_t state_len)
{
	if (drop < DP_D_COUNT)
		dp_drop(w, drop);
	d->copies = 1;
	d->unsent = 1;
	delivery_sent_one(w, d);
	delivery_done_one(w, d, rank, state, state_len);
}

/* --- routing ------------------------------------------------------------- */

static void enqueue_local(struct dp_worker *w, struct dp_delivery *d, struct dp_link *l)
{
	struct dp_copy *cp = dp_copy_alloc(w);
	if (cp == NULL)
		return;
	cp->d = d;
	cp->link = l;
	cp->link_gen = l->gen;
	if (l->q_tail)
		l->q_tail->next = cp;
	else
		l->q_head = cp;
	l->q_tail = cp;
	l->q_len++;
	__atomic_store_n(&l->outstanding, l->outstanding + 1, __ATOMIC_RELAXED);
	d->copies++;
	d->unsent++;
	dp_link_mark_dirty(w, l);
}

static bool xc_push_deliver(struct dp_worker *w, struct dp_delivery *d, unsigned to, uint32_t link);

static void enqueue_remote(struct dp_worker *w, struct dp_delivery *d, unsigned to, uint32_t link)
{
	d->copies++;
	d->unsent++;
	if (w->xc_wait_head == NULL && xc_push_deliver(w, d, to, link))
		return;
	struct dp_copy *cp = dp_copy_alloc(w);
	if (cp == NULL)
		return;
	cp->d = d;
	cp->xc_worker = (uint16_t)to;
	cp->xc_link = link;
	if (w->xc_wait_tail)
		w->xc_wait_tail->next = cp;
	else
		w->xc_wait_head = cp;
	w->xc_wait_tail = cp;
}

static struct dp_link *local_link(struct dp_worker *w, const struct route_dest *dst)
{
	struct dp_link *l = dp_link_lookup(w, dst->link);
	/* a consumer whose Attach control has decided but whose worker has
	 * not yet answered (the table that lists it is adopted first) takes
	 * deliveries too: they wait on it, like any before the consumer's
	 * credit; dropping them would lose what the new credit let in */
	return (l && l->outgoing && (l->state == DP_LINK_ACTIVE || l->state == DP_LINK_PENDING))
		   ? l
		   : NULL;
}

/* Can dst take a copy from this worker? *local is its link when it lives
 * here, NULL when it is another worker's consumer. */
static bool dest_usable(struct dp_worker *w, const struct route_dest *dst, struct dp_link **local)
{
	*local = NULL;
	if (dst->worker == w->id)
		return (*local = local_link(w, dst)) != NULL;
	return dst->worker < w->sh->n_workers;
}

static uint32_t dest_load(const struct route_dest *dst)
{
	return dst->outstanding ? __atomic_load_n(dst->outstanding, __ATOMIC_RELAXED) : 0;
}

/* The one destination of a closest or balanced entry (qdrouterd's
 * forwarders): a link of this worker (*local) or another worker's consumer
 * (*remote); false when none can take it. Nothing changes until the caller
 * commits *rotor, so the cut-through can look and then decline, and the
 * queued path that follows picks the same destination. A message that
 * cuts through is never outstanding (neither queued nor unsettled), so it
 * adds nothing to its consumer's balanced load. */
static bool pick_one(struct dp_worker *w, const struct route_entry *e, uint32_t *rotor,
		     struct dp_link **local, const struct route_dest **remote)
{
	*local = NULL;
	*remote = NULL;
	*rotor = w->rotor;
	uint32_t n = e->n_dests;
	if (n == 1) {
		/* one consumer (an RPC server, a reply address): the loops
		 * below would pick it, turning the rotor only for closest */
		const struct route_dest *dst = &e->dests[0];
		if (!dest_usable(w, dst, local))
			return false;
		if (*local == NULL)
			*remote = dst;
		if (e->dist == ROUTE_CLOSEST)
			*rotor = w->rotor + 1;
		return true;
	}
	if (e->dist == ROUTE_CLOSEST) {
		/* closest (qdrouterd): the fewest hops; every consumer on this
		 * router is as close as any other, whichever worker it lives
		 * on, so round robin among them all (qdrouterd's forwarder
		 * rotates its local links) */
		for (uint32_t k = 0; k < n; k++) {
			const struct route_dest *dst = &e->dests[(w->rotor + k) % n];
			if (!dest_usable(w, dst, local))
				continue;
			if (*local == NULL)
				*remote = dst;
			*rotor = w->rotor + k + 1;
			return true;
		}
		return false;
	}
	/* balanced: the least outstanding deliveries (queued + unsettled)
	 * anywhere, this worker winning ties (qdrouterd) */
	const struct route_dest *best = NULL;
	struct dp_link *best_local = NULL;
	uint32_t best_load = UINT32_MAX;
	/* one division per message at most (none with one consumer, the
	 * RPC server case), not one per destination tried */
	uint32_t start = n > 1 ? (w->rotor % n) : 0;
	if (n > 1)
		*rotor = w->rotor + 1;
	for (uint32_t k = 0, i = start; k < n; k++, i = i + 1 < n ? i + 1 : 0) {
		const struct route_dest *dst = &e->dests[i];
		struct dp_link *l;
		if (!dest_usable(w, dst, &l))
			continue;
		uint32_t load = l ? l->outstanding : dest_load(dst);
		if (load < best_load || (load == best_load && l && !best_local)) {
			best = dst;
			best_local = l;
			best_load = load;
		}
	}
	if (best == NULL)
		return false;
	*local = best_local;
	*remote = best_local ? NULL : best;
	return true;
}

/* Forward d to the destinations of e; returns how many copies were made. */
static uint32_t forward(struct dp_worker *w, struct dp_delivery *d, const struct route_entry *e)
{
	uint32_t made = 0;
	if (e->dist == ROUTE_MULTICAST) {
		for (uint32_t i = 0; i < e->n_dests; i++) {
			const struct route_dest *dst = &e->dests[i];
			struct dp_link *l;
			if (!dest_usable(w, dst, &l))
				continue;
			if (l)
				enqueue_local(w, d, l);
			else
				enqueue_remote(w, d, dst->worker, dst->link);
			made++;
		}
		return made;
	}
	struct dp_link *local;
	const struct route_dest *remote;
	uint32_t rotor;
	bool found = pick_one(w, e, &rotor, &local, &remote);
	w->rotor = rotor; /* a balanced pick turns the rotor even when nobody takes it */
	if (!found)
		return 0;
	if (local)
		enqueue_local(w, d, local);
	else
		enqueue_remote(w, d, remote->worker, remote->link);
	return 1;
}

static const struct route_entry *lookup_addr(struct dp_worker *w, const struct amqp_bytes *a)
{
	if (amqp_bytes_contiguous(a))
		return route_table_lookup(w->table, a->ptr, a->len);
	if (a->len > ADDR_MAX)
		return NULL;
	uint8_t buf[ADDR_MAX];
	amqp_bytes_copy(a, buf, a->len);
	return route_table_lookup(w->table, buf, a->len);
}

/* The length of the header section at the start of the message (its whole
 * encoding, descriptor included). */
static uint32_t header_len(struct amqp_cursor *c)
{
	struct amqp_value v;
	struct amqp_diag dg;
	memset(&dg, 0, sizeof(dg));
	if (amqp_decode_value(c, &v, &dg) != RR_OK)
		return 0;
	return v.raw.len;
}

/* When a message expires, from what it arrived with (part 3.2.1 ttl,
 * 3.2.4 absolute-expiry-time); 0: never. The ttl governs when present:
 * oslo.messaging 14 writes absolute-expiry-time from time.monotonic()
 * (eventloop.py compute_timeout), so trusting it would drop every call;
 * qdrouterd ignores the field altogether. Without a ttl, an absolute time
 * is used when it can be a wall-clock time (after creation-time, or after
 * 2001-09-09 when there is none). */
static int64_t arrival_expiry(const struct dp_worker *w, const struct amqp_route_info *ri)
{
	if (ri->header.present & AMQP_HEADER_HAS_TTL)
		return w->wall_ms + ri->header.ttl;
	if (ri->has_absolute_expiry_time &&
	    ri->absolute_expiry_time >
		(ri->has_creation_time ? ri->creation_time : INT64_C(1000000000000)))
		return ri->absolute_expiry_time;
	return 0;
}

/* The route entry of a message on link in: its target address, looked up
 * again only when the table changed, or on an anonymous-relay link the
 * message's 'to'. *no_to when it is the latter and there is none. */
static const struct route_entry *entry_for(struct dp_worker *w, struct dp_link *in,
					   const struct amqp_route_info *ri, bool *no_to)
{
	*no_to = false;
	if (in->addr) {
		if (in->table_version != w->table_version) {
			in->entry = route_table_lookup(w->table, (const uint8_t *)in->addr, in->addr_len);
			in->table_version = w->table_version;
		}
		return in->entry;
	}
	if (ri->to.type == AMQP_TYPE_STRING || ri->to.type == AMQP_TYPE_SYMBOL)
		return lookup_addr(w, &ri->to.bytes);
	*no_to = true;
	return NULL;
}

static void route_delivery(struct dp_worker *w, struct dp_link *in, struct dp_delivery *d)
{
	struct amqp_seg inl[SEGS_INLINE], *segs = inl;
	if (d->payload.n > SEGS_INLINE) {
		segs = (struct amqp_seg *)malloc(d->payload.n * sizeof(*segs)); /* large messages only */
		if (segs == NULL) {
			delivery_refuse(w, d, DP_D_resource_limit, DP_RANK_RELEASED, NULL, 0);
			return;
		}
	}
	int n = dp_chain_segs(&d->payload, segs, (int)d->payload.n > SEGS_INLINE ? (int)d->payload.n
										: SEGS_INLINE);
	struct amqp_cursor cur;
	amqp_cur_init(&cur, segs, (size_t)(n < 0 ? 0 : n));
	struct amqp_route_info ri;
	struct amqp_diag dg;
	memset(&dg, 0, sizeof(dg));
	enum rr_err e = amqp_route_scan(&cur, &ri, &dg);
	uint8_t st[DP_STATE_MAX];
	if (e != RR_OK) {
		char desc[200];
		amqp_diag_format(&dg, desc, sizeof(desc));
		uint32_t sl = encode_rejected(st, sizeof(st), "amqp:decode-error", desc);
		delivery_refuse(w, d, DP_D_decode_error, DP_RANK_REJECTED, st, sl);
		goto out;
	}
	d->expiry_ms = arrival_expiry(w, &ri);
	if (ri.header.present & AMQP_HEADER_HAS_TTL) {
		/* the ttl is lowered on forward (issue 4): the header is
		 * written anew, the old one skipped */
		struct amqp_cursor hc;
		amqp_cur_init(&hc, segs, (size_t)n);
		d->hdr_len = header_len(&hc);
		d->has_header = d->hdr_len > 0;
		d->header = ri.header;
	}
	if (d->expiry_ms && d->expiry_ms <= w->wall_ms) {
		/* expired unsettled: MODIFIED delivery-failed undeliverable-here,
		 * so no client resends it (issue 4) */
		uint32_t sl = dp_encode_outcome(st, sizeof(st), DP_RANK_MODIFIED, true, true);
		delivery_refuse(w, d, DP_D_expired, DP_RANK_MODIFIED, st, sl);
		goto out;
	}
	bool no_to;
	const struct route_entry *entry = entry_for(w, in, &ri, &no_to);
	if (no_to) {
		uint32_t sl = encode_rejected(st, sizeof(st), "amqp:precondition-failed",
					      "a message on an anonymous-relay link needs a 'to' address");
		delivery_refuse(w, d, d->settled_in ? DP_D_no_route_presettled : DP_D_no_route_unsettled,
				DP_RANK_REJECTED, st, sl);
		goto out;
	}
	if (entry == NULL || forward(w, d, entry) == 0) {
		/* nobody to take it: never forwarded, RELEASED */
		delivery_refuse(w, d, d->settled_in ? DP_D_no_route_presettled : DP_D_no_route_unsettled,
				DP_RANK_RELEASED, NULL, 0);
	}
out:
	if (segs != inl)
		free(segs);
}

/* Consumer link l can take a pre-settled message of len bytes now, ahead
 * of nothing: active, credit, no drain to answer, nothing queued or
 * half-written before it (so nothing is overtaken), within its
 * max-message-size (part 2.7.3), room in its session's remote incoming
 * window and its connection's output. */
static bool takes_now(const struct dp_link *l, uint32_t len)
{
	const struct dp_conn *c = l->conn;
	const struct dp_session *s = l->sess;
	return l->state == DP_LINK_ACTIVE && l->credit != 0 && !l->drain && l->q_head == NULL &&
	       l->cur == NULL && (l->max_message_size == 0 || len <= l->max_message_size) &&
	       c->state == DP_CONN_OPEN && !s->ended && s->remote_incoming_left != 0 &&
	       c->out.len < DP_OUT_WATERMARK;
}

/* Write a pre-settled message (bytes [pos, pos + len) of chain, or the len
 * bytes at flat, len <= DP_COPYBREAK) to l, which takes_now, as one
 * transfer frame, the way send_frames writes a copy; false, with nothing
 * written, when it does not fit one frame of the consumer's max-frame-size
 * (or the output pool is out). */
static bool write_now(struct dp_worker *w, struct dp_link *l, uint32_t message_format,
		      const struct dp_chain *chain, uint64_t pos, const uint8_t *flat, uint32_t len)
{
	struct dp_conn *c = l->conn;
	struct dp_session *s = l->sess;
	struct dp_frame_out f;
	/* room for a small payload too: dp_frame_end copies it in */
	if (!dp_frame_begin(w, &f, 128 + (len <= DP_COPYBREAK ? len : 0)))
		return false;
	uint64_t tag = w->tag_seq + 1;
	uint8_t tag_bytes[8];
	memcpy(tag_bytes, &tag, sizeof(tag_bytes));
	dp_encode_transfer(&f.wb, l->handle, true, s->next_delivery_id, tag_bytes,
			   sizeof(tag_bytes), message_format, true, false);
	/* one frame, sized as send_frames sizes it (room for a more field) */
	uint32_t perf = (uint32_t)(amqp_wbuf_len(&f.wb) - 8u) + dp_encode_transfer_more_bytes(true, true);
	if (perf + len > c->max_frame_out - 8u)
		return false; /* reserved output is only committed by dp_frame_end */
	/* part 2.6.7: one credit; 2.7.5: the next delivery-id; 2.5.6: one
	 * transfer-id of the peer's incoming window */
	w->tag_seq = tag;
	s->next_delivery_id++;
	l->credit--;
	l->delivery_count++;
	if (flat) {
		amqp_write_mem(&f.wb, flat, len);
		dp_frame_end(w, c, &f, s->channel, NULL, 0, 0);
	} else {
		dp_frame_end(w, c, &f, s->channel, chain, pos, len);
	}
	s->next_outgoing_id++;
	s->remote_incoming_left--;
	dp_count(w, DP_C_transfers_out, 1);
	dp_count(w, DP_C_cut_through, 1);
	return true;
}

/* Cut-through (docs/adr/0007-cut-through.md): a complete, pre-settled,
 * single-frame message whose destination is a consumer on this worker
 * that takes_now goes straight into that consumer's output as slices of
 * the input, the way the queued path would write it: no delivery or copy
 * record, no queue. False, with nothing changed, for everything else
 * (unsettled, multicast, a consumer that must wait, an expired or
 * undecodable message, another worker: there xc_deliver_in may write it
 * at once): the queued path takes it and reaches the same destination.
 * A header is forwarded as it came: its ttl is the ttl left, as no time
 * has passed since arrival (the queued path writes the header anew, in
 * the canonical encoding, with the ttl lowered by its time in the queue:
 * send_frames). */
static bool cut_through(struct dp_worker *w, struct dp_link *in, const struct amqp_transfer *t,
			const struct amqp_cursor *payload, const struct dp_chain *chain,
			uint64_t pos, uint32_t len)
{
	struct amqp_cursor cur = *payload;
	struct amqp_route_info ri;
	struct amqp_diag dg;
	memset(&dg, 0, sizeof(dg));
	if (amqp_route_scan(&cur, &ri, &dg) != RR_OK)
		return false;
	int64_t expiry = arrival_expiry(w, &ri);
	if (expiry && expiry <= w->wall_ms)
		return false;
	bool no_to;
	const struct route_entry *e = entry_for(w, in, &ri, &no_to);
	if (e == NULL || e->dist == ROUTE_MULTICAST)
		return false;
	struct dp_link *l;
	const struct route_dest *remote;
	uint32_t rotor;
	if (!pick_one(w, e, &rotor, &l, &remote) || l == NULL || !takes_now(l, len) ||
	    !write_now(w, l, t->message_format, chain, pos, NULL, len))
		return false;
	w->rotor = rotor;
	return true;
}

void dp_transfer_in(struct dp_worker *w, struct dp_session *s, const struct amqp_transfer *t,
		    const struct amqp_cursor *payload, const struct dp_chain *in, uint64_t pos,
		    uint32_t len)
{
	struct dp_conn *c = s->conn;
	/* part 2.5.6: a transfer beyond the incoming window we announced is
	 * an error; the window reopens as the router forwards what it holds */
	if (dp_session_window(s) == 0) {
		dp_session_fail(w, s, DP_D_window_violation, "amqp:session:window-violation",
				"transfer beyond the session's incoming-window");
		return;
	}
	s->next_incoming_id++; /* every transfer frame takes a transfer-id */
	struct dp_link *l = t->handle < s->links_cap ? s->links[t->handle] : NULL;
	if (l == NULL) {
		dp_session_fail(w, s, DP_D_unattached_handle, "amqp:session:unattached-handle",
				"transfer on a handle that is not attached");
		return;
	}
	if (l->state == DP_LINK_DETACHED) {
		dp_session_reopen(w, s); /* in flight before the peer saw our Detach: dropped */
		return;
	}
	if (l->outgoing) {
		dp_session_fail(w, s, DP_D_not_allowed, "amqp:not-allowed",
				"transfer on a link where the router is the sender");
		return;
	}
	struct dp_delivery *d = l->partial;
	if (d == NULL) {
		/* part 2.6.7: each delivery uses one credit */
		if (l->credit == 0) {
			if (l->slack == 0) {
				dp_link_fail(w, l, DP_D_transfer_limit_exceeded,
					     "amqp:link:transfer-limit-exceeded",
					     "transfer beyond the link credit");
				dp_session_reopen(w, s);
				return;
			}
			l->slack--;
		} else {
			l->credit--;
		}
		l->delivery_count++;
		uint64_t max = c->lim->max_message_size;
		if (!t->more && !t->aborted && (t->settled || l->snd_settle_mode == 1) &&
		    (max == 0 || len <= max) && cut_through(w, l, t, payload, in, pos, len)) {
			dp_count(w, DP_C_transfers_in, 1);
			dp_count(w, DP_C_presettled_in, 1);
			/* it left at once: the window and the credit as when a
			 * queued delivery's last copy is sent (delivery_sent_one) */
			dp_session_reopen(w, s);
			dp_link_grant_credit(w, l);
			return;
		}
		d = dp_delivery_alloc(w);
		if (d == NULL) {
			dp_link_fail(w, l, DP_D_resource_limit, "amqp:resource-limit-exceeded",
				     "out of delivery slots");
			dp_session_reopen(w, s);
			return;
		}
		d->in_link = l;
		d->in_link_gen = l->gen;
		d->in_conn = c->idx;
		d->in_conn_gen = c->gen;
		d->in_channel = s->channel;
		d->in_sess_serial = s->serial;
		d->in_delivery_id = t->delivery_id;
		d->message_format = t->message_format;
		d->settled_in = t->settled || l->snd_settle_mode == 1 /* settled */;
		l->in_flight++;
		l->partial_id = t->delivery_id;
		if (!d->settled_in)
			dp_map_put(&s->unsettled_in, t->delivery_id, d);
	} else {
		/* part 2.7.5: a continuation may omit delivery-id, not change it */
		if ((t->present & AMQP_TRANSFER_HAS_DELIVERY_ID) && t->delivery_id != l->partial_id) {
			dp_session_fail(w, s, DP_D_not_allowed, "amqp:not-allowed",
					"delivery-id changed within a multi-frame delivery");
			return;
		}
		if (t->settled) {
			d->settled_in = true;
			dp_map_del(&s->unsettled_in, d->in_delivery_id);
		}
	}
	d->in_frames++; /* held until the delivery leaves the router */
	s->held++;
	if (t->aborted) {
		/* part 2.6.14: an aborted delivery is discarded, unsettled */
		dp_session_frames_freed(w, d);
		l->partial = NULL;
		dp_map_del(&s->unsettled_in, d->in_delivery_id);
		dp_delivery_free(w, d);
		dp_drop(w, DP_D_aborted);
		dp_link_in_freed(w, l);
		return;
	}
	uint64_t max = c->lim->max_message_size;
	if (max && d->payload.len + len > max) {
		dp_session_frames_freed(w, d);
		l->partial = NULL;
		dp_map_del(&s->unsettled_in, d->in_delivery_id);
		dp_delivery_free(w, d);
		l->in_flight--;
		dp_link_fail(w, l, DP_D_resource_limit, "amqp:link:message-size-exceeded",
			     "message larger than the router's max-message-size");
		return;
	}
	if (len && dp_chain_append_range(&d->payload, in, pos, len) != 0) {
		dp_link_fail(w, l, DP_D_resource_limit, "amqp:resource-limit-exceeded",
			     "out of memory");
		return;
	}
	if (t->more) {
		l->partial = d;
		return;
	}
	l->partial = NULL;
	dp_count(w, DP_C_transfers_in, 1);
	dp_count(w, d->settled_in ? DP_C_presettled_in : DP_C_unsettled_in, 1);
	route_delivery(w, l, d);
}

/* --- transfers out ------------------------------------------------------- */

/* Write the copy being sent on l (l->cur) as transfer frames, as many as
 * the peer's session window takes (part 2.5.6 counts every frame): true
 * when its last frame is written, false when the window closed first (the
 * rest goes when the peer's flow reopens it). */
static bool send_frames(struct dp_worker *w, struct dp_link *l)
{
	struct dp_conn *c = l->conn;
	struct dp_session *s = l->sess;
	struct dp_delivery *d = l->cur->d;
	/* the ttl left, written into a new header section in the first frame
	 * (issue 4: ttl lowered on forward) */
	uint8_t hdr[64];
	uint32_t hdr_n = 0;
	if (l->cur_first && d->has_header && d->expiry_ms) {
		struct amqp_header h = d->header;
		int64_t left = d->expiry_ms - w->wall_ms;
		/* never more than it came with (part 3.2.1): wall_ms is
		 * CLOCK_REALTIME, which may step back between arrival and now */
		h.ttl = left <= 0 ? 1 : (uint64_t)left < d->header.ttl ? (uint32_t)left : d->header.ttl;
		struct amqp_wbuf hb;
		amqp_wbuf_init(&hb, hdr, sizeof(hdr));
		amqp_header_encode(&hb, &h);
		if (amqp_wbuf_ok(&hb)) {
			hdr_n = (uint32_t)amqp_wbuf_len(&hb);
			l->cur_pos = d->hdr_len;
		}
	}
	uint8_t tag[8];
	memcpy(tag, &l->cur_tag, sizeof(tag));
	do {
		if (s->remote_incoming_left == 0)
			return false;
		struct dp_frame_out f;
		uint64_t left = d->payload.len - l->cur_pos;
		/* room for a small payload too: dp_frame_end copies it in */
		if (!dp_frame_begin(w, &f, 128 + hdr_n + (left <= DP_COPYBREAK ? (uint32_t)left : 0)))
			return false;
		bool first = l->cur_first;
		uint32_t room_total = c->max_frame_out - 8u;
		/* the last frame (more = false) is the common case: encode it,
		 * and the room is sized for the more = true encoding, as if
		 * another frame followed; re-encoded only when one does */
		uint8_t *mark = f.wb.p;
		dp_encode_transfer(&f.wb, l->handle, first, l->cur_id, tag, sizeof(tag),
				   d->message_format, l->cur_settled, false);
		uint32_t perf = (uint32_t)(amqp_wbuf_len(&f.wb) - 8u) +
				dp_encode_transfer_more_bytes(first, l->cur_settled);
		uint32_t extra = first ? hdr_n : 0;
		uint32_t room = room_total > perf + extra ? room_total - perf - extra : 0;
		bool more = left > room;
		if (more) {
			f.wb.p = mark;
			dp_encode_transfer(&f.wb, l->handle, first, l->cur_id, tag, sizeof(tag),
					   d->message_format, l->cur_settled, true);
		}
		if (extra)
			amqp_write_mem(&f.wb, hdr, hdr_n);
		uint32_t take = more ? room : (uint32_t)left;
		dp_frame_end(w, c, &f, s->channel, &d->payload, l->cur_pos, take);
		s->next_outgoing_id++;
		s->remote_incoming_left--;
		l->cur_pos += take;
		l->cur_first = false;
		if (!more)
			return true;
	} while (c->out.len < DP_OUT_WATERMARK * 4); /* a huge message yields to others */
	return false;
}

void dp_link_pump(struct dp_worker *w, struct dp_link *l)
{
	struct dp_conn *c = l->conn;
	struct dp_session *s = l->sess;
	if (c->state != DP_CONN_OPEN || s->ended)
		return;
	while (s->remote_incoming_left > 0 && c->out.len < DP_OUT_WATERMARK) {
		if (l->cur == NULL) {
			if (l->q_head == NULL || l->credit == 0)
				break;
			struct dp_copy *cp = l->q_head;
			l->q_head = cp->next;
			if (l->q_head == NULL)
				l->q_tail = NULL;
			l->q_len--;
			cp->next = NULL;
			struct dp_delivery *d = cp->d;
			if (d->expiry_ms && d->expiry_ms <= w->wall_ms) {
				uint8_t st[16];
				uint32_t sl = dp_encode_outcome(st, sizeof(st), DP_RANK_MODIFIED, true, true);
				dp_drop(w, DP_D_expired);
				dp_copy_finish(w, cp, DP_RANK_MODIFIED, st, sl);
				continue;
			}
			if (l->max_message_size && d->payload.len > l->max_message_size) {
				/* part 2.7.3: the consumer takes nothing larger */
				uint8_t st[DP_STATE_MAX];
				uint32_t sl = encode_rejected(
				    st, sizeof(st), "amqp:link:message-size-exceeded",
				    "larger than the consumer's max-message-size");
				dp_copy_finish(w, cp, DP_RANK_REJECTED, st, sl);
				continue;
			}
			/* a new delivery: one credit, the next delivery-id
			 * (part 2.6.7, 2.7.5) */
			l->cur = cp;
			l->cur_id = s->next_delivery_id++;
			l->cur_settled = d->settled_in || l->snd_settle_mode == 1;
			l->cur_tag = ++w->tag_seq;
			l->cur_pos = 0;
			l->cur_first = true;
			l->credit--;
			l->delivery_count++;
		}
		if (!send_frames(w, l))
			break; /* the peer's window closed mid-delivery */
		struct dp_copy *cp = l->cur;
		struct dp_delivery *d = cp->d;
		l->cur = NULL;
		dp_count(w, DP_C_transfers_out, 1);
		cp->sent = true;
		delivery_sent_one(w, d);
		if (l->cur_settled) {
			dp_copy_finish(w, cp, d->settled_in ? DP_RANK_NONE : DP_RANK_ACCEPTED, NULL, 0);
		} else {
			cp->delivery_id = l->cur_id;
			dp_map_put(&s->unsettled_out, l->cur_id, cp);
		}
	}
	if (l->drain && l->cur == NULL && (l->credit == 0 || l->q_head == NULL)) {
		/* part 2.6.7: drain uses up the credit we cannot fill, and the
		 * sender answers with a flow once it has */
		l->delivery_count += l->credit;
		l->credit = 0;
		dp_link_send_flow(w, l, false);
		l->drain = false;
	}
}

/* --- dispositions -------------------------------------------------------- */

static uint32_t shorten_outcome(const struct amqp_value *v, enum dp_outcome_rank rank, uint8_t *buf,
				uint32_t cap)
{
	struct amqp_diag dg;
	memset(&dg, 0, sizeof(dg));
	if (rank == DP_RANK_REJECTED) {
		struct amqp_rejected r;
		char cond[64] = "amqp:internal-error", desc[128] = "";
		if (amqp_composite_decode_value(&amqp_rejected_desc, v, &r, &dg) == RR_OK &&
		    (r.present & AMQP_REJECTED_HAS_ERROR)) {
			size_t n = amqp_bytes_copy(&r.error.condition, cond, sizeof(cond) - 1);
			cond[n < sizeof(cond) - 1 ? n : sizeof(cond) - 1] = 0;
			n = amqp_bytes_copy(&r.error.description, desc, sizeof(desc) - 1);
			desc[n < sizeof(desc) - 1 ? n : sizeof(desc) - 1] = 0;
		}
		return encode_rejected(buf, cap, cond, desc);
	}
	if (rank == DP_RANK_MODIFIED) {
		struct amqp_modified m;
		bool df = true, uh = false;
		if (amqp_composite_decode_value(&amqp_modified_desc, v, &m, &dg) == RR_OK) {
			df = m.delivery_failed;
			uh = m.undeliverable_here;
		}
		return dp_encode_outcome(buf, cap, DP_RANK_MODIFIED, df, uh);
	}
	return dp_encode_outcome(buf, cap, rank, true, false);
}

static enum dp_outcome_rank rank_of(const struct amqp_value *state, bool settled)
{
	if (state->type == AMQP_TYPE_NULL || !state->described)
		return settled ? DP_RANK_ACCEPTED : DP_RANK_NONE;
	switch (state->descriptor) {
	case AMQP_DESC_ACCEPTED: return DP_RANK_ACCEPTED;
	case AMQP_DESC_REJECTED: return DP_RANK_REJECTED;
	case AMQP_DESC_RELEASED: return DP_RANK_RELEASED;
	case AMQP_DESC_MODIFIED: return DP_RANK_MODIFIED;
	default: return settled ? DP_RANK_ACCEPTED : DP_RANK_NONE; /* received: not terminal */
	}
}

void dp_disposition_in(struct dp_worker *w, struct dp_session *s, const struct amqp_disposition *dp)
{
	uint32_t last = (dp->present & AMQP_DISPOSITION_HAS_LAST) ? dp->last : dp->first;
	uint32_t span = last - dp->first;
	if (span > (1u << 16))
		span = 1u << 16; /* a hostile range walks at most this many ids */
	if (!dp->role) {
		/* from a producer about its own deliveries: once it settles,
		 * its outcome no longer matters to it */
		if (!dp->settled)
			return;
		for (uint32_t k = 0; k <= span && s->unsettled_in.n; k++) {
			struct dp_delivery *d =
			    (struct dp_delivery *)dp_map_del(&s->unsettled_in, dp->first + k);
			if (d)
				d->settled_in = true;
		}
		return;
	}
	enum dp_outcome_rank rank = rank_of(&dp->state, dp->settled);
	if (rank == DP_RANK_NONE)
		return;
	const uint8_t *state = NULL;
	uint8_t st[DP_STATE_MAX];
	uint32_t state_len = 0;
	if (dp->state.type != AMQP_TYPE_NULL && dp->state.raw.len <= DP_STATE_MAX) {
		amqp_bytes_copy(&dp->state.raw, st, dp->state.raw.len);
		state = st;
		state_len = dp->state.raw.len;
	} else if (dp->state.type != AMQP_TYPE_NULL) {
		/* too long to keep verbatim: the same outcome, re-encoded with
		 * what matters (the error condition and the start of its
		 * description; modified's flags) */
		state_len = shorten_outcome(&dp->state, rank, st, sizeof(st));
		state = state_len ? st : NULL;
	}
	for (uint32_t k = 0; k <= span && s->unsettled_out.n; k++) {
		struct dp_copy *cp = (struct dp_copy *)dp_map_del(&s->unsettled_out, dp->first + k);
		if (cp == NULL)
			continue;
		if (!dp->settled) /* a terminal outcome, not settled: we settle (part 3.4) */
			send_disposition(w, s, false, dp->first + k, true, NULL, 0);
		dp_copy_finish(w, cp, rank, state, state_len);
	}
}

/* --- between workers ----------------------------------------------------- */

static void xc_post(struct dp_worker *w, unsigned to, uint16_t type, const void *rec, uint32_t len)
{
	struct dp_worker *o = w->sh->workers[to];
	struct dp_ring *r = o->xc_in[w->id];
	if (w->n_xc_acks == 0) {
		void *p = dp_ring_reserve(r, type, len);
		if (p) {
			memcpy(p, rec, len);
			w->xc_dirty[to] = true;
			return;
		}
	}
	/* full: kept in order and retried (acknowledgements are never lost) */
	if (w->n_xc_acks == w->cap_xc_acks) {
		uint32_t cap = w->cap_xc_acks ? w->cap_xc_acks * 2 : 64;
		struct dp_xc_pending *n =
		    (struct dp_xc_pending *)realloc(w->xc_acks, cap * sizeof(*n));
		if (n == NULL)
			abort(); /* losing a settlement would lose a delivery's outcome */
		w->xc_acks = n;
		w->cap_xc_acks = cap;
	}
	struct dp_xc_pending *pa = &w->xc_acks[w->n_xc_acks++];
	pa->to = (uint16_t)to;
	pa->type = type;
	pa->len = len;
	memcpy(pa->rec, rec, len);
	dp_count(w, DP_C_xcore_ring_full, 1);
}

static bool xc_push_deliver(struct dp_worker *w, struct dp_delivery *d, unsigned to, uint32_t link)
{
	struct dp_ring *r = w->sh->workers[to]->xc_in[w->id];
	bool big = d->payload.len > DP_XC_INLINE_MAX;
	uint32_t n = big ? 0 : (uint32_t)d->payload.len;
	uint8_t *p = (uint8_t *)dp_ring_reserve(r, DP_XC_DELIVER, (uint32_t)sizeof(struct dp_xc_deliver) + n);
	if (p == NULL) {
		dp_count(w, DP_C_xcore_ring_full, 1);
		return false;
	}
	struct dp_xc_deliver *x = (struct dp_xc_deliver *)p;
	memset(x, 0, sizeof(*x));
	x->src_delivery = dp_handle(d->idx, d->gen);
	x->dst_link = link;
	x->expiry_ms = d->expiry_ms;
	x->message_format = d->message_format;
	x->hdr_len = d->hdr_len;
	x->settled = d->settled_in;
	x->has_header = d->has_header;
	x->header = d->header;
	if (big) {
		x->big = (uint8_t *)malloc(d->payload.len);
		if (x->big == NULL)
			abort();
		dp_chain_copy_out(&d->payload, 0, x->big, d->payload.len);
		x->big_len = (uint32_t)d->payload.len;
	} else {
		dp_chain_copy_out(&d->payload, 0, p + sizeof(*x), n);
	}
	w->xc_dirty[to] = true;
	dp_count(w, DP_C_xcore_out, 1);
	return true;
}

void dp_xc_retry(struct dp_worker *w)
{
	uint32_t i = 0;
	for (; i < w->n_xc_acks; i++) {
		struct dp_xc_pending *pa = &w->xc_acks[i];
		struct dp_ring *r = w->sh->workers[pa->to]->xc_in[w->id];
		void *p = dp_ring_reserve(r, pa->type, pa->len);
		if (p == NULL)
			break;
		memcpy(p, pa->rec, pa->len);
		w->xc_dirty[pa->to] = true;
	}
	if (i) {
		memmove(w->xc_acks, w->xc_acks + i, (w->n_xc_acks - i) * sizeof(*w->xc_acks));
		w->n_xc_acks -= i;
	}
	while (w->xc_wait_head) {
		struct dp_copy *cp = w->xc_wait_head;
		if (!xc_push_deliver(w, cp->d, cp->xc_worker, cp->xc_link))
			break;
		w->xc_wait_head = cp->next;
		if (w->xc_wait_head == NULL)
			w->xc_wait_tail = NULL;
		dp_copy_free(w, cp);
	}
}

static void xc_deliver_in(struct dp_worker *w, unsigned from, const struct dp_xc_deliver *x,
			  const uint8_t *bytes, uint32_t n)
{
	struct dp_link *l = dp_link_lookup(w, x->dst_link);
	const uint8_t *msg = x->big ? x->big : bytes;
	uint32_t len = x->big ? x->big_len : n;
	dp_count(w, DP_C_xcore_in, 1);
	if (l == NULL || !l->outgoing ||
	    (l->state != DP_LINK_ACTIVE && l->state != DP_LINK_PENDING)) {
		/* the consumer went while the delivery crossed: never forwarded */
		struct dp_xc_ack a = {x->src_delivery, 0};
		xc_post(w, from, DP_XC_SENT, &a, sizeof(a));
		uint8_t rec[sizeof(struct dp_xc_ack) + 16];
		struct dp_xc_ack *s = (struct dp_xc_ack *)rec;
		s->src_delivery = x->src_delivery;
		s->rank = DP_RANK_RELEASED;
		uint32_t sl = dp_encode_outcome(rec + sizeof(*s), 16, DP_RANK_RELEASED, false, false);
		xc_post(w, from, DP_XC_SETTLED, rec, (uint32_t)sizeof(*s) + sl);
		free(x->big);
		return;
	}
	if (x->settled && x->expiry_ms == 0 && takes_now(l, len)) {
		/* the cut-through on this side of the ring: a pre-settled
		 * message without expiry (nothing to rewrite) to a consumer
		 * that takes it now is written at once, and the origin hears
		 * what a queued copy would have told it, in the same order:
		 * sent (its producer's credit and window), then settled */
		bool done;
		if (len <= DP_COPYBREAK) {
			/* from the ring into the output: one copy */
			done = write_now(w, l, x->message_format, NULL, 0, msg, len);
		} else {
			struct dp_chain tmp;
			dp_chain_init(&tmp);
			done = dp_chain_append_copy(&w->blocks, &tmp, msg, len) == 0 &&
			       write_now(w, l, x->message_format, &tmp, 0, NULL, len);
			dp_chain_clear(&w->blocks, &tmp); /* the output holds its own slices */
		}
		if (done) {
			free(x->big);
			struct dp_xc_ack a = {x->src_delivery, 0};
			xc_post(w, from, DP_XC_SENT, &a, sizeof(a));
			a.rank = DP_RANK_NONE;
			xc_post(w, from, DP_XC_SETTLED, &a, sizeof(a));
			return;
		}
	}
	struct dp_delivery *d = dp_delivery_alloc(w);
	if (d == NULL || dp_chain_append_copy(&w->blocks, &d->payload, msg, len) != 0)
		abort(); /* out of memory in the data plane */
	free(x->big);
	d->origin_worker = (int16_t)from;
	d->origin_delivery = x->src_delivery;
	d->settled_in = x->settled;
	d->expiry_ms = x->expiry_ms;
	d->message_format = x->message_format;
	d->hdr_len = x->hdr_len;
	d->has_header = x->has_header;
	d->header = x->header;
	enqueue_local(w, d, l);
}

void dp_xc_input(struct dp_worker *w, unsigned from, uint16_t type, const void *rec, uint32_t len)
{
	switch (type) {
	case DP_XC_DELIVER: {
		const struct dp_xc_deliver *x = (const struct dp_xc_deliver *)rec;
		xc_deliver_in(w, from, x, (const uint8_t *)(x + 1), len - (uint32_t)sizeof(*x));
		break;
	}
	case DP_XC_SENT: {
		const struct dp_xc_ack *a = (const struct dp_xc_ack *)rec;
		struct dp_delivery *d = dp_delivery_lookup(w, a->src_delivery);
		if (d)
			delivery_sent_one(w, d);
		break;
	}
	case DP_XC_SETTLED: {
		const struct dp_xc_ack *a = (const struct dp_xc_ack *)rec;
		struct dp_delivery *d = dp_delivery_lookup(w, a->src_delivery);
		if (d)
			delivery_done_one(w, d, (enum dp_outcome_rank)a->rank,
					  (const uint8_t *)(a + 1), len - (uint32_t)sizeof(*a));
		break;
	}
	default:
		break;
	}
}

void dp_worker_clock(struct dp_worker *w) { w->wall_ms = wall_ms(); }
