/* TCP segment arrival (RFC 9293 3.10.7), with RFC 5961 (RST/SYN/ACK
 * hardening), RFC 7323 (window scale, timestamps, PAWS), RFC 2018 (SACK),
 * RFC 5681/6582 (congestion control, NewReno), RFC 6298 (RTT), RFC 6191
 * (TIME-WAIT reuse). */
#include <string.h>

#include "net_csum.h"
#include "net_tcp_impl.h"

/* ---- out-of-order queue: sorted, non-overlapping blocks ---- */

void net_tcp_ooo_free(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	uint32_t b = c->ooo_head;
	while (b != NET_TCP_NONE) {
		uint32_t nx = net_tcp_blk_hdr(s->pool, b)[0];
		net_tcp_blk_free(s->pool, b);
		b = nx;
	}
	c->ooo_head = NET_TCP_NONE;
	c->ooo_bytes = 0;
}

/* Copy the parts of [seq, seq + len) not held yet; false when some had to
 * be dropped (pool or per-connection limit). */
static bool tcp_ooo_insert(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t seq,
			   const uint8_t *data, uint32_t len)
{
	struct net_tcp_pool *p = s->pool;
	uint32_t cur = seq, end = seq + len;
	uint32_t prev = NET_TCP_NONE, b = c->ooo_head;
	while (SEQ_LT(cur, end)) {
		while (b != NET_TCP_NONE) {
			const uint32_t *h = net_tcp_blk_hdr(p, b);
			if (SEQ_GT(h[1] + h[2], cur))
				break;
			prev = b;
			b = h[0];
		}
		if (b != NET_TCP_NONE && SEQ_LEQ(net_tcp_blk_hdr(p, b)[1], cur)) {
			cur = net_tcp_blk_hdr(p, b)[1] + net_tcp_blk_hdr(p, b)[2];
			continue; /* already held */
		}
		uint32_t gap_end = end;
		if (b != NET_TCP_NONE && SEQ_LT(net_tcp_blk_hdr(p, b)[1], gap_end))
			gap_end = net_tcp_blk_hdr(p, b)[1];
		while (SEQ_LT(cur, gap_end)) {
			uint32_t n = gap_end - cur;
			if (n > p->block_size)
				n = p->block_size;
			if (c->ooo_bytes + n > s->cfg.ooo_max)
				return false;
			uint32_t nb = net_tcp_blk_alloc(p);
			if (nb == NET_TCP_NONE)
				return false;
			uint32_t *nh = net_tcp_blk_hdr(p, nb);
			nh[0] = b;
			nh[1] = cur;
			nh[2] = n;
			memcpy(net_tcp_blk_data(p, nb), data + (cur - seq), n);
			if (prev == NET_TCP_NONE)
				c->ooo_head = nb;
			else
				net_tcp_blk_hdr(p, prev)[0] = nb;
			prev = nb;
			c->ooo_bytes += n;
			cur += n;
		}
	}
	return true;
}

static size_t tcp_deliver(struct net_tcp_stack *s, struct net_tcp_conn *c, const uint8_t *p,
			  uint32_t len)
{
	s->in_cb++;
	size_t took = s->ops.recv(s->ctx, c, p, len);
	s->in_cb--;
	if (took > len)
		took = len;
	c->rcv_nxt += (uint32_t)took;
	c->rcv_space = took < c->rcv_space ? c->rcv_space - (uint32_t)took : 0;
	NET_COUNT(s->counters[NET_TCP_C_rx_bytes], took);
	if (took < len)
		NET_COUNT(s->counters[NET_TCP_C_rx_app_refused], len - took);
	return took;
}

/* Hand queued out-of-order data that rcv_nxt reached to the application. */
void net_tcp_ooo_drain(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	struct net_tcp_pool *p = s->pool;
	while (c->ooo_head != NET_TCP_NONE) {
		uint32_t b = c->ooo_head;
		uint32_t *h = net_tcp_blk_hdr(p, b);
		if (SEQ_GT(h[1], c->rcv_nxt))
			break;
		uint32_t end = h[1] + h[2];
		if (SEQ_GT(end, c->rcv_nxt)) {
			uint32_t off = c->rcv_nxt - h[1], n = end - c->rcv_nxt;
			if (tcp_deliver(s, c, net_tcp_blk_data(p, b) + off, n) < n)
				break; /* the application is full: keep the rest */
		}
		c->ooo_head = h[0];
		c->ooo_bytes -= h[2];
		net_tcp_blk_free(p, b);
	}
}

/* ---- SACK scoreboard (RFC 2018): peer-held ranges above snd_una ---- */

static void tcp_sb_prune(struct net_tcp_conn *c)
{
	unsigned k = 0;
	for (unsigned i = 0; i < c->sack_n; i++) {
		struct net_tcp_sack_blk b = c->sack_sb[i];
		if (SEQ_LEQ(b.end, c->snd_una))
			continue;
		if (SEQ_LT(b.start, c->snd_una))
			b.start = c->snd_una;
		c->sack_sb[k++] = b;
	}
	c->sack_n = (uint8_t)k;
}

static void tcp_sb_add(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t st, uint32_t en)
{
	if (!SEQ_LT(st, en) || SEQ_LEQ(en, c->snd_una) || SEQ_GT(en, c->snd_max))
		return; /* invalid or stale block */
	if (SEQ_LT(st, c->snd_una))
		st = c->snd_una;
	NET_COUNT(s->counters[NET_TCP_C_rx_sack_blocks], 1);
	struct net_tcp_sack_blk t[NET_TCP_SACK_SB + 1];
	unsigned n = 0, i = 0;
	/* sorted merge of the new range into the kept ones */
	while (i < c->sack_n && SEQ_LT(c->sack_sb[i].end, st))
		t[n++] = c->sack_sb[i++];
	while (i < c->sack_n && SEQ_LEQ(c->sack_sb[i].start, en)) {
		st = net_seq_min(st, c->sack_sb[i].start);
		en = net_seq_max(en, c->sack_sb[i].end);
		i++;
	}
	t[n].start = st;
	t[n].end = en;
	n++;
	while (i < c->sack_n && n < NET_TCP_SACK_SB + 1)
		t[n++] = c->sack_sb[i++];
	if (n > NET_TCP_SACK_SB)
		n = NET_TCP_SACK_SB; /* keep the lowest: they pick the next hole */
	memcpy(c->sack_sb, t, n * sizeof t[0]);
	c->sack_n = (uint8_t)n;
}

/* ---- helpers ---- */

static void tcp_challenge_ack(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	/* RFC 5961 7: a stack-wide limit per second. */
	uint32_t sec = (uint32_t)(s->now_us / 1000000);
	if (sec != s->challenge_sec) {
		s->challenge_sec = sec;
		s->challenge_n = 0;
	}
	if (s->challenge_n >= s->cfg.challenge_ack_limit) {
		NET_COUNT(s->counters[NET_TCP_C_challenge_ack_limited], 1);
		return;
	}
	s->challenge_n++;
	NET_COUNT(s->counters[NET_TCP_C_tx_challenge_ack], 1);
	net_tcp_send_ack(s, c);
}

/* Options of a SYN or SYN-ACK (RFC 9293 3.7.1, RFC 7323 2.2/3.2, RFC
 * 2018 2). For a SYN-ACK an option counts only if we offered it. */
static void tcp_syn_options(struct net_tcp_stack *s, struct net_tcp_conn *c,
			    const struct net_tcp_hdr *h)
{
	if (h->has_ws && s->cfg.wscale != 0xff) {
		c->flags |= NET_TCP_F_WS;
		c->snd_wscale = h->ws > 14 ? 14 : h->ws; /* RFC 7323 2.3 */
		c->rcv_wscale = s->cfg.wscale;
	}
	if (h->has_ts && s->cfg.timestamps) {
		c->flags |= NET_TCP_F_TS;
		c->ts_recent = h->tsval;
	}
	if (h->sack_perm && s->cfg.sack)
		c->flags |= NET_TCP_F_SACK;
	uint32_t mss = h->has_mss ? h->mss : 536;
	if (mss > s->cfg.mss)
		mss = s->cfg.mss;
	if (c->flags & NET_TCP_F_TS)
		mss -= 12; /* RFC 6691: the MSS leaves room for options we always send */
	if (mss < 64)
		mss = 64;
	c->mss = (uint16_t)mss;
}

static void tcp_established(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	c->state = NET_TCP_ESTABLISHED;
	c->nrexmit = 0;
	c->backoff = 0;
	c->cwnd = (uint32_t)s->cfg.init_cwnd_segs * c->mss; /* RFC 6928 */
	c->recover = c->iss; /* RFC 6582 3.2 step 1 */
	c->flags |= NET_TCP_F_APP;
	c->flags &= ~NET_TCP_F_REXMT;
	NET_COUNT(s->counters[NET_TCP_C_conn_established], 1);
	net_tcp_keep_reset(s, c);
	net_tcp_notify(s, c, NET_TCP_EV_ESTABLISHED, NET_TCP_CLOSE_NORMAL);
}

static const struct net_tcp_listener *tcp_listener_find(struct net_tcp_stack *s, uint32_t dst,
							 uint16_t port, unsigned *slot)
{
	for (unsigned i = 0; i < NET_TCP_MAX_LISTENERS; i++) {
		const struct net_tcp_listener *l = &s->listeners[i];
		if (l->port == port && (l->addr == 0 || l->addr == dst)) {
			*slot = i;
			return l;
		}
	}
	return NULL;
}

/* RFC 9293 3.10.7.2: LISTEN. */
static void tcp_listen_input(struct net_tcp_stack *s, unsigned slot, uint32_t src, uint32_t dst,
			     const struct net_tcp_hdr *h)
{
	if (h->flags & NET_TH_RST)
		return;
	if (h->flags & NET_TH_ACK) {
		net_tcp_send_rst_for(s, src, dst, h);
		return;
	}
	if (!(h->flags & NET_TH_SYN))
		return;
	struct net_tcp_listener *l = &s->listeners[slot];
	NET_COUNT(s->counters[NET_TCP_C_syn_received], 1);
	if (l->pending >= l->backlog) {
		NET_COUNT(s->counters[NET_TCP_C_syn_drop_queue], 1);
		return;
	}
	struct net_tcp_conn *c = net_tcp_conn_alloc(s);
	if (!c) {
		NET_COUNT(s->counters[NET_TCP_C_syn_drop_no_tcb], 1);
		return;
	}
	net_tcp_conn_setup(s, c, dst, h->dport, src, h->sport);
	c->state = NET_TCP_SYN_RECEIVED;
	c->flags |= NET_TCP_F_PASSIVE;
	c->listener = (uint16_t)slot;
	l->pending++;
	c->irs = h->seq;
	c->rcv_nxt = h->seq + 1;
	c->rcv_adv = c->rcv_nxt; /* nothing advertised yet in this sequence space */
	tcp_syn_options(s, c, h);
	c->snd_wnd = h->win; /* RFC 7323 2.2: a SYN's window is not scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = h->seq;
	c->iss = net_tcp_isn(s->cfg.isn_key, dst, h->dport, src, h->sport, s->now_us);
	c->snd_una = c->snd_nxt = c->snd_max = c->snd_wl2 = c->iss;
	c->recover = c->iss;
	uint32_t gen = c->gen;
	net_tcp_notify(s, c, NET_TCP_EV_NEW, NET_TCP_CLOSE_NORMAL);
	if (c->gen != gen)
		return;
	net_tcp_output(s, c); /* SYN-ACK; a SYN's data waits for the retransmission */
	net_tcp_finish_input(s, c, gen);
}

/* RFC 9293 3.10.7.3: SYN-SENT. */
static void tcp_syn_sent_input(struct net_tcp_stack *s, struct net_tcp_conn *c,
			       uint32_t src, uint32_t dst, const struct net_tcp_hdr *h)
{
	bool ack_ok = false;
	if (h->flags & NET_TH_ACK) {
		if (SEQ_LEQ(h->ack, c->iss) || SEQ_GT(h->ack, c->snd_max)) {
			net_tcp_send_rst_for(s, src, dst, h); /* ignores a RST */
			return;
		}
		ack_ok = true;
	}
	if (h->flags & NET_TH_RST) {
		if (ack_ok) {
			NET_COUNT(s->counters[NET_TCP_C_conn_refused], 1);
			NET_COUNT(s->counters[NET_TCP_C_rx_rst], 1);
			net_tcp_conn_close(s, c, NET_TCP_CLOSE_REFUSED);
		} else {
			NET_COUNT(s->counters[NET_TCP_C_rx_rst_ignored], 1);
		}
		return;
	}
	if (!(h->flags & NET_TH_SYN))
		return;
	c->irs = h->seq;
	c->rcv_nxt = h->seq + 1;
	c->rcv_adv = c->rcv_nxt; /* nothing advertised yet in this sequence space */
	tcp_syn_options(s, c, h);
	c->snd_wnd = h->win;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = h->seq;
	c->snd_wl2 = h->ack;
	c->flags |= NET_TCP_F_ACKNOW;
	if (ack_ok) {
		if ((c->flags & NET_TCP_F_RTT) && SEQ_GT(h->ack, c->rtt_seq)) {
			net_tcp_rtt_sample(s, c, (uint32_t)s->now_us - c->rtt_start);
			c->flags &= ~NET_TCP_F_RTT;
		}
		c->snd_una = h->ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		tcp_established(s, c);
		if (c->flags & NET_TCP_F_ABORT)
			return;
		net_tcp_output(s, c);
	} else {
		/* Simultaneous open (RFC 9293 Figure 8): SYN-ACK with our ISS. */
		c->state = NET_TCP_SYN_RECEIVED;
		c->snd_nxt = c->iss;
		c->flags &= ~NET_TCP_F_ACKNOW;
		net_tcp_output(s, c);
	}
}

static bool tcp_seq_acceptable(uint32_t seq, uint32_t seglen, uint32_t rcv_nxt, uint32_t wnd)
{
	if (seglen == 0) {
		if (wnd == 0)
			return seq == rcv_nxt;
		return net_seq_in(seq, rcv_nxt, rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	return net_seq_in(seq, rcv_nxt, rcv_nxt + wnd) ||
	       net_seq_in(seq + seglen - 1, rcv_nxt, rcv_nxt + wnd);
}

static bool tcp_fin_acked(const struct net_tcp_conn *c)
{
	return (c->flags & NET_TCP_F_FIN_SENT) && SEQ_GT(c->snd_una, c->fin_seq);
}

static void tcp_idle_arm(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t us)
{
	c->flags &= ~NET_TCP_F_KEEP;
	c->flags |= NET_TCP_F_IDLE;
	c->t_idle = net_tcp_tick(s) + net_tcp_us_ticks(s, us);
}

/* The ACK field in a synchronized state (RFC 9293 3.10.7.4 fifth). Returns
 * false when the segment is to be dropped. */
static bool tcp_ack_input(struct net_tcp_stack *s, struct net_tcp_conn *c,
			  const struct net_tcp_hdr *h)
{
	uint32_t ack = h->ack;
	/* RFC 5961 5.2: acceptable when SND.UNA - MAX.SND.WND <= ACK <= SND.NXT */
	if (SEQ_GT(ack, c->snd_max)) {
		NET_COUNT(s->counters[NET_TCP_C_rx_future_ack], 1);
		net_tcp_send_ack(s, c);
		return false;
	}
	if (SEQ_LT(ack, c->snd_una - c->max_snd_wnd)) {
		NET_COUNT(s->counters[NET_TCP_C_rx_old_ack], 1);
		tcp_challenge_ack(s, c);
		return false;
	}
	uint32_t swnd = (uint32_t)h->win << c->snd_wscale;
	if (c->flags & NET_TCP_F_SACK)
		for (unsigned i = 0; i < h->nsack; i++)
			tcp_sb_add(s, c, h->sack[i].start, h->sack[i].end);

	if (SEQ_GT(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una;
		/* RFC 7661-style: the window grows only while it is what limits
		 * the sender (else an application-limited connection's cwnd
		 * would grow without bound). */
		bool cwnd_limited = 2 * (uint64_t)net_tcp_flight(c) >= c->cwnd;
		uint32_t data_acked = acked;
		if ((c->flags & NET_TCP_F_FIN_SENT) && SEQ_GT(ack, c->fin_seq))
			data_acked--; /* the FIN's sequence number */
		if ((c->flags & NET_TCP_F_RTT) && SEQ_GT(ack, c->rtt_seq)) {
			net_tcp_rtt_sample(s, c, (uint32_t)s->now_us - c->rtt_start);
			c->flags &= ~NET_TCP_F_RTT;
		}
		net_tcp_sndq_drop(s, c, data_acked);
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->nrexmit = 0;
		tcp_sb_prune(c);
		uint32_t mss = c->mss;
		if (c->flags & NET_TCP_F_RECOVERY) {
			if (SEQ_GEQ(ack, c->recover)) {
				/* RFC 6582 3.2 step 3, full ACK: deflate. */
				uint32_t fl = net_tcp_flight(c);
				uint32_t w = (fl > mss ? fl : mss) + mss;
				c->cwnd = c->ssthresh < w ? c->ssthresh : w;
				c->flags &= ~NET_TCP_F_RECOVERY;
				c->dupacks = 0;
			} else {
				/* Partial ACK: retransmit the next hole, deflate
				 * by what was acked, add back one MSS (step 4). */
				NET_COUNT(s->counters[NET_TCP_C_partial_ack_rexmit], 1);
				net_tcp_rexmit_una(s, c);
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				if (acked >= mss)
					c->cwnd += mss;
				if (c->cwnd < mss)
					c->cwnd = mss;
				net_tcp_rexmt_arm(s, c);
			}
		} else {
			c->dupacks = 0;
			if (cwnd_limited && c->cwnd < NET_TCP_CWND_MAX) {
				if (c->cwnd < c->ssthresh)
					c->cwnd += acked < mss ? acked : mss; /* RFC 5681 eqn. 2 */
				else
					c->cwnd += (uint32_t)((uint64_t)mss * mss / c->cwnd) ?: 1; /* eqn. 3 */
			}
		}
		/* RFC 6298 5.2/5.3 */
		if (c->snd_una == c->snd_max)
			c->flags &= ~NET_TCP_F_REXMT;
		else if (!(c->flags & NET_TCP_F_PERSIST))
			net_tcp_rexmt_arm(s, c);
		/* Wake the writer only when the free send space is at least half
		 * of what is still queued (a third of a full buffer), as Linux's
		 * sk_stream_write_space does for a socket: a peer that opens its
		 * window a few bytes at a time then does not count as reading
		 * (the engine's stalled-reader checks see its output stay put,
		 * as with the socket driver), and a busy connection is woken once
		 * per third of the buffer instead of per ACK. */
		if (data_acked > 0 && net_tcp_send_space(s, c) >= c->snd_buffered / 2) {
			net_tcp_notify(s, c, NET_TCP_EV_SENDABLE, NET_TCP_CLOSE_NORMAL);
		}
	} else if (ack == c->snd_una && h->dlen == 0 && !(h->flags & (NET_TH_SYN | NET_TH_FIN)) &&
		   swnd == c->snd_wnd && c->snd_max != c->snd_una && c->snd_wnd != 0) {
		/* RFC 5681 2: a duplicate ACK. */
		NET_COUNT(s->counters[NET_TCP_C_rx_dup_acks], 1);
		if (c->dupacks < 255)
			c->dupacks++;
		if (c->flags & NET_TCP_F_RECOVERY) {
			c->cwnd += c->mss; /* RFC 5681 3.2 step 4: inflate */
		} else if (c->dupacks == 3 && SEQ_GT(ack, c->recover)) {
			/* RFC 6582 3.2 step 2 / RFC 5681 3.2 steps 2-3 */
			uint32_t half = net_tcp_flight(c) / 2;
			c->ssthresh = half > 2u * c->mss ? half : 2u * c->mss;
			c->recover = c->snd_max;
			c->flags |= NET_TCP_F_RECOVERY;
			c->flags &= ~NET_TCP_F_RTT;
			NET_COUNT(s->counters[NET_TCP_C_fast_retransmits], 1);
			net_tcp_rexmit_una(s, c);
			c->cwnd = c->ssthresh + 3u * c->mss;
			net_tcp_rexmt_arm(s, c);
		}
	}
	/* Window update (RFC 9293 3.10.7.4: SND.WL1/SND.WL2 rule). */
	if (SEQ_LT(c->snd_wl1, h->seq) ||
	    (c->snd_wl1 == h->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		bool opened = c->snd_wnd == 0 && swnd > 0;
		c->snd_wnd = swnd;
		c->snd_wl1 = h->seq;
		c->snd_wl2 = ack;
		if (swnd > c->max_snd_wnd)
			c->max_snd_wnd = swnd;
		if (opened && (c->flags & NET_TCP_F_PERSIST)) {
			c->flags &= ~NET_TCP_F_PERSIST;
			c->backoff = 0;
			if (c->snd_max != c->snd_una)
				net_tcp_rexmt_arm(s, c);
		}
	}
	return true;
}

/* RFC 6191: a SYN to a TIME-WAIT block may open a new incarnation when it
 * is provably newer (timestamp, or sequence number without them). */
static bool tcp_time_wait_reuse(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t src,
				uint32_t dst, const struct net_tcp_hdr *h)
{
	if ((h->flags & (NET_TH_SYN | NET_TH_ACK | NET_TH_RST)) != NET_TH_SYN)
		return false;
	bool newer;
	if ((c->flags & NET_TCP_F_TS) && h->has_ts)
		newer = SEQ_GT(h->tsval, c->ts_recent);
	else
		newer = SEQ_GT(h->seq, c->rcv_nxt);
	unsigned slot;
	if (!newer || !tcp_listener_find(s, dst, h->dport, &slot))
		return false;
	NET_COUNT(s->counters[NET_TCP_C_time_wait_reuse], 1);
	net_tcp_conn_free(s, c);
	tcp_listen_input(s, slot, src, dst, h);
	return true;
}

/* RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states. */
static void tcp_sync_input(struct net_tcp_stack *s, struct net_tcp_conn *c,
			   struct net_tcp_hdr *h, uint32_t src, uint32_t dst)
{
	bool rst = h->flags & NET_TH_RST;
	/* RFC 7323 5.3 R1: PAWS */
	if ((c->flags & NET_TCP_F_TS) && h->has_ts && !rst && SEQ_LT(h->tsval, c->ts_recent)) {
		NET_COUNT(s->counters[NET_TCP_C_rx_paws_drop], 1);
		net_tcp_send_ack(s, c);
		return;
	}
	/* A retransmitted SYN while our SYN-ACK is unanswered: repeat it. */
	if (c->state == NET_TCP_SYN_RECEIVED && (h->flags & NET_TH_SYN) && !rst &&
	    !(h->flags & NET_TH_ACK) && h->seq == c->irs) {
		c->snd_nxt = c->iss;
		net_tcp_output(s, c);
		return;
	}
	/* Simultaneous open (RFC 9293 Figure 8 line 5): the peer's SYN-ACK
	 * repeats its SYN; its ACK completes our side. */
	if (c->state == NET_TCP_SYN_RECEIVED && !rst &&
	    (h->flags & (NET_TH_SYN | NET_TH_ACK)) == (NET_TH_SYN | NET_TH_ACK) &&
	    h->seq == c->irs && SEQ_GT(h->ack, c->snd_una) && SEQ_LEQ(h->ack, c->snd_max)) {
		h->flags &= (uint8_t)~NET_TH_SYN;
		h->seq++;
	}
	uint32_t seglen = h->dlen + ((h->flags & NET_TH_SYN) ? 1 : 0) +
			  ((h->flags & NET_TH_FIN) ? 1 : 0);
	uint32_t wnd = net_tcp_rcv_window(s, c);
	if (!tcp_seq_acceptable(h->seq, seglen, c->rcv_nxt, wnd)) {
		if (wnd == 0 && h->seq == c->rcv_nxt && !rst) {
			/* A probe of our zero window: take its ACK, not its data. */
			NET_COUNT(s->counters[NET_TCP_C_rx_zero_win_probe], 1);
			h->dlen = 0;
			h->flags &= (uint8_t)~NET_TH_FIN;
			c->flags |= NET_TCP_F_ACKNOW;
		} else if (rst) {
			NET_COUNT(s->counters[NET_TCP_C_rx_rst_ignored], 1);
			return;
		} else {
			NET_COUNT(s->counters[NET_TCP_C_rx_out_of_window], 1);
			if (h->dlen > 0 && SEQ_LEQ(h->seq + seglen, c->rcv_nxt))
				NET_COUNT(s->counters[NET_TCP_C_rx_dup_data], 1);
			net_tcp_send_ack(s, c);
			return;
		}
	}
	/* RFC 5961 3.2: RST only at exactly RCV.NXT; elsewhere in the window
	 * a challenge ACK. */
	if (rst) {
		if (h->seq != c->rcv_nxt) {
			NET_COUNT(s->counters[NET_TCP_C_rx_rst_ignored], 1);
			tcp_challenge_ack(s, c);
			return;
		}
		NET_COUNT(s->counters[NET_TCP_C_rx_rst], 1);
		if (c->state == NET_TCP_SYN_RECEIVED && (c->flags & NET_TCP_F_PASSIVE)) {
			net_tcp_conn_free(s, c); /* back to LISTEN: the app never saw it */
			return;
		}
		if (c->state == NET_TCP_SYN_RECEIVED) {
			NET_COUNT(s->counters[NET_TCP_C_conn_refused], 1);
			net_tcp_conn_close(s, c, NET_TCP_CLOSE_REFUSED);
			return;
		}
		if (c->state == NET_TCP_TIME_WAIT) {
			net_tcp_conn_free(s, c);
			return;
		}
		NET_COUNT(s->counters[NET_TCP_C_conn_reset], 1);
		net_tcp_conn_close(s, c, NET_TCP_CLOSE_RESET);
		return;
	}
	/* RFC 5961 4.2: a SYN in a synchronized state: challenge ACK. */
	if (h->flags & NET_TH_SYN) {
		tcp_challenge_ack(s, c);
		return;
	}
	if (!(h->flags & NET_TH_ACK))
		return;
	/* RFC 7323 4.3: TS.Recent from a segment covering Last.ACK.sent. */
	if ((c->flags & NET_TCP_F_TS) && h->has_ts && SEQ_GEQ(h->tsval, c->ts_recent) &&
	    SEQ_LEQ(h->seq, c->last_ack_sent))
		c->ts_recent = h->tsval;
	/* trim to the window: duplicate front, beyond the right edge */
	if (SEQ_LT(h->seq, c->rcv_nxt) && h->dlen > 0) {
		uint32_t d = c->rcv_nxt - h->seq;
		if (d >= h->dlen) {
			d = h->dlen; /* a FIN at rcv_nxt may remain */
			if (!(h->flags & NET_TH_FIN) || h->seq + h->dlen != c->rcv_nxt)
				h->flags &= (uint8_t)~NET_TH_FIN;
		}
		h->data += d;
		h->dlen -= d;
		h->seq += d;
		c->flags |= NET_TCP_F_ACKNOW;
	}
	if (h->dlen > 0 && SEQ_GT(h->seq + h->dlen, c->rcv_nxt + wnd)) {
		h->dlen = c->rcv_nxt + wnd - h->seq;
		h->flags &= (uint8_t)~NET_TH_FIN;
		c->flags |= NET_TCP_F_ACKNOW;
	}

	if (c->state == NET_TCP_SYN_RECEIVED) {
		if (SEQ_LEQ(h->ack, c->snd_una) || SEQ_GT(h->ack, c->snd_max)) {
			net_tcp_send_rst_for(s, src, dst, h);
			return;
		}
		/* Our SYN is acknowledged: its sequence number is not data. */
		if ((c->flags & NET_TCP_F_RTT) && SEQ_GT(h->ack, c->rtt_seq)) {
			net_tcp_rtt_sample(s, c, (uint32_t)s->now_us - c->rtt_start);
			c->flags &= ~NET_TCP_F_RTT;
		}
		c->snd_una = c->iss + 1;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		if (c->listener != UINT16_MAX && s->listeners[c->listener].pending > 0)
			s->listeners[c->listener].pending--;
		c->listener = UINT16_MAX;
		if (c->flags & NET_TCP_F_PASSIVE)
			NET_COUNT(s->counters[NET_TCP_C_passive_opens], 1);
		c->snd_wnd = (uint32_t)h->win << c->snd_wscale;
		c->snd_wl1 = h->seq;
		c->snd_wl2 = h->ack;
		uint32_t gen = c->gen;
		tcp_established(s, c);
		if (c->gen != gen || (c->flags & NET_TCP_F_ABORT))
			return;
		/* our FIN may have been queued during SYN-RECEIVED */
		if (c->flags & NET_TCP_F_FIN_Q)
			c->state = NET_TCP_FIN_WAIT_1;
	}
	if (c->state == NET_TCP_TIME_WAIT) {
		/* RFC 9293: a retransmitted FIN: ACK it, restart 2 MSL. */
		if (h->flags & NET_TH_FIN) {
			c->flags |= NET_TCP_F_ACKNOW;
			net_tcp_enter_time_wait(s, c);
		}
		net_tcp_output(s, c);
		return;
	}
	if (!tcp_ack_input(s, c, h))
		return;
	switch (c->state) {
	case NET_TCP_FIN_WAIT_1:
		if (tcp_fin_acked(c)) {
			c->state = NET_TCP_FIN_WAIT_2;
			c->flags &= ~NET_TCP_F_REXMT;
			if (s->cfg.fin_wait_2_us)
				tcp_idle_arm(s, c, s->cfg.fin_wait_2_us);
		}
		break;
	case NET_TCP_CLOSING:
		if (tcp_fin_acked(c)) {
			net_tcp_enter_time_wait(s, c);
			return;
		}
		break;
	case NET_TCP_LAST_ACK:
		if (tcp_fin_acked(c)) {
			NET_COUNT(s->counters[NET_TCP_C_conn_closed], 1);
			net_tcp_conn_close(s, c, NET_TCP_CLOSE_NORMAL);
			return;
		}
		break;
	default:
		break;
	}

	/* segment text (seventh) */
	bool can_rcv = c->state == NET_TCP_ESTABLISHED || c->state == NET_TCP_FIN_WAIT_1 ||
		       c->state == NET_TCP_FIN_WAIT_2;
	bool fin_ok = (h->flags & NET_TH_FIN) != 0;
	if (h->dlen > 0 && can_rcv && !(c->flags & NET_TCP_F_RCVD_FIN)) {
		if (h->seq == c->rcv_nxt) {
			bool had_ooo = c->ooo_head != NET_TCP_NONE;
			uint32_t took = (uint32_t)tcp_deliver(s, c, h->data, h->dlen);
			if (took < h->dlen) {
				fin_ok = false;
				c->flags |= NET_TCP_F_ACKNOW;
			}
			if (had_ooo) {
				net_tcp_ooo_drain(s, c);
				c->flags |= NET_TCP_F_ACKNOW; /* RFC 5681 4.2: a hole filled */
			}
			uint32_t rmss = s->cfg.mss - ((c->flags & NET_TCP_F_TS) ? 12u : 0u);
			if (c->rcv_nxt - c->last_ack_sent >= 2 * rmss) {
				c->flags |= NET_TCP_F_ACKNOW; /* every second full segment */
			} else if (!(c->flags & (NET_TCP_F_ACKNOW | NET_TCP_F_DELACK))) {
				c->flags |= NET_TCP_F_DELACK;
				c->t_delack = net_tcp_tick(s) + net_tcp_us_ticks(s, s->cfg.delack_us);
			}
		} else {
			/* above rcv_nxt: hold it, answer with a duplicate ACK
			 * carrying SACK blocks (RFC 5681 4.2, RFC 2018 4) */
			NET_COUNT(s->counters[NET_TCP_C_rx_out_of_order], 1);
			if (!tcp_ooo_insert(s, c, h->seq, h->data, h->dlen))
				NET_COUNT(s->counters[NET_TCP_C_rx_ooo_drop], 1);
			c->sack_last = h->seq;
			c->flags |= NET_TCP_F_ACKNOW;
			fin_ok = false; /* the FIN comes again after the hole */
		}
	} else if (h->dlen > 0 && SEQ_GT(h->seq, c->rcv_nxt)) {
		fin_ok = false;
	}
	if (fin_ok && h->seq + h->dlen != c->rcv_nxt)
		fin_ok = false;

	/* FIN (eighth) */
	if (fin_ok && !(c->flags & NET_TCP_F_RCVD_FIN)) {
		c->rcv_nxt++;
		c->flags |= NET_TCP_F_RCVD_FIN | NET_TCP_F_ACKNOW;
		c->flags &= ~NET_TCP_F_DELACK;
		switch (c->state) {
		case NET_TCP_ESTABLISHED:
			c->state = NET_TCP_CLOSE_WAIT;
			break;
		case NET_TCP_FIN_WAIT_1:
			if (tcp_fin_acked(c))
				c->state = NET_TCP_TIME_WAIT;
			else
				c->state = NET_TCP_CLOSING;
			break;
		case NET_TCP_FIN_WAIT_2:
			c->state = NET_TCP_TIME_WAIT;
			break;
		default:
			break;
		}
		uint32_t gen = c->gen;
		net_tcp_notify(s, c, NET_TCP_EV_PEER_FIN, NET_TCP_CLOSE_NORMAL);
		if (c->gen != gen)
			return;
		if (c->state == NET_TCP_TIME_WAIT) {
			net_tcp_send_ack(s, c);
			net_tcp_enter_time_wait(s, c);
			return;
		}
	}
	net_tcp_output(s, c);
}

void net_tcp_input(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t src, uint32_t dst,
		   const uint8_t *seg, size_t len, uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	NET_COUNT(s->counters[NET_TCP_C_rx_segments], 1);
	struct net_tcp_hdr h;
	if (len > 65535 || net_tcp_parse(seg, len, &h) != 0) {
		NET_COUNT(s->counters[NET_TCP_C_rx_bad_header], 1);
		return;
	}
	if (!s->cfg.csum_offload) {
		struct net_csum cs;
		net_csum_init(&cs);
		net_csum_pseudo4(&cs, src, dst, 6, (uint16_t)len);
		net_csum_add(&cs, seg, len);
		if (net_csum_finish(&cs) != 0) {
			NET_COUNT(s->counters[NET_TCP_C_rx_bad_csum], 1);
			return;
		}
	}
	if (h.bad_opt)
		NET_COUNT(s->counters[NET_TCP_C_rx_bad_option], 1);
	if (c && c->state == NET_TCP_CLOSED)
		c = NULL;
	if (!c) {
		unsigned slot;
		if (tcp_listener_find(s, dst, h.dport, &slot)) {
			tcp_listen_input(s, slot, src, dst, &h);
			return;
		}
		NET_COUNT(s->counters[NET_TCP_C_rx_no_conn], 1);
		net_tcp_send_rst_for(s, src, dst, &h);
		return;
	}
	uint32_t gen = c->gen;
	if (c->state == NET_TCP_SYN_SENT) {
		tcp_syn_sent_input(s, c, src, dst, &h);
	} else {
		if (c->state == NET_TCP_TIME_WAIT && tcp_time_wait_reuse(s, c, src, dst, &h))
			return;
		tcp_sync_input(s, c, &h, src, dst);
		if (c->gen == gen && c->state != NET_TCP_CLOSED)
			net_tcp_keep_reset(s, c);
	}
	net_tcp_finish_input(s, c, gen);
}
