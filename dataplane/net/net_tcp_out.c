/* TCP output: segment building, the send queue, what to send when
 * (RFC 9293 3.8.6.2.1 sender SWS avoidance, RFC 5681 windows, RFC 6298
 * timer start), ACKs, RSTs and SACK blocks (RFC 2018 4). */
#include <string.h>

#include "net_csum.h"
#include "net_tcp_impl.h"

uint32_t net_tcp_flight(const struct net_tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}

/* What the application can take, never moving the advertised right edge
 * back (RFC 9293 3.8.6.2.2: shrinking the window is strongly discouraged). */
uint32_t net_tcp_rcv_window(const struct net_tcp_stack *s, const struct net_tcp_conn *c)
{
	uint32_t w = c->rcv_space;
	if (SEQ_GT(c->rcv_adv, c->rcv_nxt) && c->rcv_adv - c->rcv_nxt > w)
		w = c->rcv_adv - c->rcv_nxt;
	uint32_t max = (uint32_t)65535 << ((c->flags & NET_TCP_F_WS) ? c->rcv_wscale : 0);
	(void)s;
	return w > max ? max : w;
}

/* Payload bytes per segment: the MSS less room for SACK blocks while we
 * hold out-of-order data (RFC 6691: the MSS counts no options; the
 * timestamp option is already taken off c->mss). Assumes the largest SACK
 * option (3 blocks with timestamps, 4 without) rather than counting. */
static uint32_t tcp_seg_max(const struct net_tcp_conn *c)
{
	uint32_t m = c->mss;
	if ((c->flags & NET_TCP_F_SACK) && c->ooo_head != NET_TCP_NONE) {
		uint32_t opt = (c->flags & NET_TCP_F_TS) ? 4 + 3 * 8 : 4 + 4 * 8;
		m = m > opt + 64 ? m - opt : 64;
	}
	return m;
}

/* Up to 4 ranges of our out-of-order queue, the most recent arrival's
 * range first (RFC 2018 4). */
static unsigned tcp_sack_out(const struct net_tcp_stack *s, const struct net_tcp_conn *c,
			     struct net_tcp_sack_blk *out)
{
	struct net_tcp_sack_blk r[8];
	unsigned n = 0;
	int first = -1;
	for (uint32_t b = c->ooo_head; b != NET_TCP_NONE;) {
		const uint32_t *h = net_tcp_blk_hdr(s->pool, b);
		uint32_t st = h[1], en = h[1] + h[2];
		b = h[0];
		/* RFC 2018 3: only data above RCV.NXT (a block the application
		 * refused in part starts below it) */
		if (SEQ_LT(st, c->rcv_nxt))
			st = c->rcv_nxt;
		if (!SEQ_LT(st, en))
			continue;
		if (n > 0 && r[n - 1].end == st) {
			r[n - 1].end = en;
		} else {
			if (n == 8)
				break;
			r[n].start = st;
			r[n].end = en;
			n++;
		}
		if (net_seq_in(c->sack_last, st, en))
			first = (int)n - 1;
	}
	unsigned k = 0;
	if (first >= 0)
		out[k++] = r[first];
	for (unsigned i = 0; i < n && k < 4; i++)
		if ((int)i != first)
			out[k++] = r[i];
	return k;
}

void net_tcp_xmit(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t seq, uint32_t len,
		  uint8_t flags)
{
	uint8_t hdr[60];
	struct net_tcp_sack_blk sack[4];
	struct net_tcp_optout o;
	memset(&o, 0, sizeof o);
	bool syn = flags & NET_TH_SYN;
	if (syn) {
		bool synack = flags & NET_TH_ACK;
		o.syn = true;
		o.mss = s->cfg.mss;
		/* RFC 7323 2.2/3.2, RFC 2018 2: a SYN-ACK carries an option
		 * only if the SYN did. */
		o.ws = (s->cfg.wscale != 0xff && (!synack || (c->flags & NET_TCP_F_WS)))
			       ? s->cfg.wscale
			       : -1;
		o.sack_perm = s->cfg.sack && (!synack || (c->flags & NET_TCP_F_SACK));
		o.ts = s->cfg.timestamps && (!synack || (c->flags & NET_TCP_F_TS));
	} else {
		o.ts = c->flags & NET_TCP_F_TS;
		if ((c->flags & NET_TCP_F_SACK) && c->ooo_head != NET_TCP_NONE &&
		    !(flags & NET_TH_RST)) {
			o.nsack = (uint8_t)tcp_sack_out(s, c, sack);
			o.sack = sack;
		}
	}
	o.tsval = net_tcp_tsval(s, c);
	o.tsecr = c->ts_recent;
	unsigned optlen = net_tcp_opt_build(hdr + 20, &o);
	if (o.nsack)
		NET_COUNT(s->counters[NET_TCP_C_tx_sack_blocks], (optlen - (o.ts ? 12 : 0) - 4) / 8);
	unsigned hlen = 20 + optlen;

	uint32_t win = net_tcp_rcv_window(s, c), wfield;
	if (syn)
		wfield = win > 65535 ? 65535 : win; /* RFC 7323 2.2: never scaled */
	else
		wfield = win >> ((c->flags & NET_TCP_F_WS) ? c->rcv_wscale : 0);
	if (flags & NET_TH_RST)
		wfield = 0;
	if (wfield > 65535)
		wfield = 65535;
	net_put16(hdr, c->lport);
	net_put16(hdr + 2, c->rport);
	net_put32(hdr + 4, seq);
	net_put32(hdr + 8, (flags & NET_TH_ACK) ? c->rcv_nxt : 0);
	hdr[12] = (uint8_t)((hlen / 4) << 4);
	hdr[13] = flags;
	net_put16(hdr + 14, (uint16_t)wfield);
	net_put16(hdr + 16, 0);
	net_put16(hdr + 18, 0);

	struct net_tcp_seg_out so;
	so.saddr = c->laddr;
	so.daddr = c->raddr;
	so.hdr = hdr;
	so.hdr_len = hlen;
	so.iovcnt = 0;
	so.payload_len = len;
	so.conn = c;
	if (len > 0) {
		/* The queue's blocks are full except the tail: locate seq,
		 * from the block the last segment came from when it is still
		 * queued (blocks leave only from the head) and not past seq,
		 * so sending a window walks the chain once. */
		const struct net_tcp_pool *p = s->pool;
		uint32_t head_seq = c->snd_una - c->snd_head_off;
		uint32_t b = c->snd_head, off = seq - head_seq;
		if (c->snd_cur_blk != NET_TCP_NONE && SEQ_GEQ(c->snd_cur_seq, head_seq) &&
		    SEQ_LEQ(c->snd_cur_seq, seq)) {
			b = c->snd_cur_blk;
			off = seq - c->snd_cur_seq;
		}
		while (off >= p->block_size) {
			off -= p->block_size;
			b = net_tcp_blk_hdr(p, b)[0];
		}
		c->snd_cur_blk = b;
		c->snd_cur_seq = seq - off;
		uint32_t left = len;
		while (left > 0 && so.iovcnt < NET_TCP_MAX_IOV) {
			uint32_t in_blk = (b == c->snd_tail ? c->snd_tail_len : p->block_size) - off;
			uint32_t n = in_blk < left ? in_blk : left;
			so.iov[so.iovcnt].base = net_tcp_blk_data(p, b) + off;
			so.iov[so.iovcnt].len = n;
			so.iovcnt++;
			left -= n;
			off = 0;
			b = net_tcp_blk_hdr(p, b)[0];
		}
		so.payload_len = len - left; /* callers keep len <= mss < 3 blocks */
	}
	uint32_t l4 = hlen + so.payload_len;
	struct net_csum cs;
	net_csum_init(&cs);
	net_csum_pseudo4(&cs, c->laddr, c->raddr, 6, (uint16_t)l4);
	if (s->cfg.csum_offload) {
		net_put16(hdr + 16, net_csum_fold(cs.sum));
	} else {
		net_csum_add(&cs, hdr, hlen);
		for (unsigned i = 0; i < so.iovcnt; i++)
			net_csum_add(&cs, so.iov[i].base, so.iov[i].len);
		net_put16(hdr + 16, net_csum_finish(&cs));
	}

	/* bookkeeping */
	if (flags & NET_TH_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->flags &= ~(NET_TCP_F_ACKNOW | NET_TCP_F_DELACK);
		uint32_t edge = c->rcv_nxt + (wfield << (syn ? 0 : ((c->flags & NET_TCP_F_WS) ? c->rcv_wscale : 0)));
		if (SEQ_GT(edge, c->rcv_adv))
			c->rcv_adv = edge;
	}
	bool consumes = len > 0 || (flags & (NET_TH_SYN | NET_TH_FIN));
	if (consumes && !(flags & NET_TH_RST)) {
		if (SEQ_LT(seq, c->snd_max)) {
			NET_COUNT(s->counters[NET_TCP_C_retransmits], 1);
			if ((c->flags & NET_TCP_F_RTT) && SEQ_LEQ(seq, c->rtt_seq))
				c->flags &= ~NET_TCP_F_RTT; /* Karn */
		} else if (!(c->flags & NET_TCP_F_RTT)) {
			c->flags |= NET_TCP_F_RTT;
			c->rtt_seq = seq;
			c->rtt_start = (uint32_t)s->now_us;
		}
	}
	NET_COUNT(s->counters[NET_TCP_C_tx_segments], 1);
	NET_COUNT(s->counters[NET_TCP_C_tx_bytes], so.payload_len);
	if (flags & NET_TH_RST)
		NET_COUNT(s->counters[NET_TCP_C_tx_rst], 1);
	s->in_cb++;
	s->ops.output(s->ctx, &so);
	s->in_cb--;
}

void net_tcp_send_ack(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	/* SND.MAX, not SND.NXT: after a timeout SND.NXT went back, and a
	 * pure ACK below the peer's RCV.NXT would be unacceptable to it
	 * (RFC 9293 3.10.7.4), so neither side's ACKs would get through. */
	NET_COUNT(s->counters[NET_TCP_C_tx_acks], 1);
	net_tcp_xmit(s, c, c->snd_max, 0, NET_TH_ACK);
}

void net_tcp_send_rst(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t seq)
{
	net_tcp_xmit(s, c, seq, 0, NET_TH_RST | NET_TH_ACK);
}

/* RFC 9293 3.10.7.1: the reply to a segment for no connection. */
void net_tcp_send_rst_for(struct net_tcp_stack *s, uint32_t src, uint32_t dst,
			  const struct net_tcp_hdr *h)
{
	if (h->flags & NET_TH_RST)
		return;
	struct net_tcp_conn tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.laddr = dst;
	tmp.raddr = src;
	tmp.lport = h->dport;
	tmp.rport = h->sport;
	tmp.ooo_head = tmp.snd_head = tmp.snd_tail = NET_TCP_NONE;
	uint8_t fl;
	uint32_t seq;
	if (h->flags & NET_TH_ACK) {
		seq = h->ack;
		fl = NET_TH_RST;
	} else {
		seq = 0;
		tmp.rcv_nxt = h->seq + h->dlen + ((h->flags & NET_TH_SYN) ? 1 : 0) +
			      ((h->flags & NET_TH_FIN) ? 1 : 0);
		fl = NET_TH_RST | NET_TH_ACK;
	}
	uint8_t hdr[20];
	net_put16(hdr, tmp.lport);
	net_put16(hdr + 2, tmp.rport);
	net_put32(hdr + 4, seq);
	net_put32(hdr + 8, (fl & NET_TH_ACK) ? tmp.rcv_nxt : 0);
	hdr[12] = 5 << 4;
	hdr[13] = fl;
	net_put16(hdr + 14, 0);
	net_put16(hdr + 16, 0);
	net_put16(hdr + 18, 0);
	struct net_csum cs;
	net_csum_init(&cs);
	net_csum_pseudo4(&cs, dst, src, 6, 20);
	if (s->cfg.csum_offload) {
		net_put16(hdr + 16, net_csum_fold(cs.sum));
	} else {
		net_csum_add(&cs, hdr, 20);
		net_put16(hdr + 16, net_csum_finish(&cs));
	}
	struct net_tcp_seg_out so;
	memset(&so, 0, sizeof so);
	so.saddr = dst;
	so.daddr = src;
	so.hdr = hdr;
	so.hdr_len = 20;
	NET_COUNT(s->counters[NET_TCP_C_tx_segments], 1);
	NET_COUNT(s->counters[NET_TCP_C_tx_rst], 1);
	s->in_cb++;
	s->ops.output(s->ctx, &so);
	s->in_cb--;
}

/* Acknowledged data leaves the queue. */
void net_tcp_sndq_drop(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t n)
{
	struct net_tcp_pool *p = s->pool;
	if (n > c->snd_buffered)
		n = c->snd_buffered;
	c->snd_buffered -= n;
	uint32_t off = c->snd_head_off + n;
	while (c->snd_head != NET_TCP_NONE) {
		if (c->snd_head == c->snd_tail) {
			if (off >= c->snd_tail_len) {
				net_tcp_blk_free(p, c->snd_head);
				c->snd_head = c->snd_tail = NET_TCP_NONE;
				c->snd_tail_len = 0;
				c->snd_cur_blk = NET_TCP_NONE;
				off = 0;
			}
			break;
		}
		if (off < p->block_size)
			break;
		uint32_t nx = net_tcp_blk_hdr(p, c->snd_head)[0];
		net_tcp_blk_free(p, c->snd_head);
		c->snd_head = nx;
		off -= p->block_size;
	}
	c->snd_head_off = (uint16_t)off;
}

void net_tcp_sndq_free(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	uint32_t b = c->snd_head;
	while (b != NET_TCP_NONE) {
		uint32_t nx = net_tcp_blk_hdr(s->pool, b)[0];
		net_tcp_blk_free(s->pool, b);
		if (b == c->snd_tail)
			break;
		b = nx;
	}
	c->snd_head = c->snd_tail = NET_TCP_NONE;
	c->snd_head_off = c->snd_tail_len = 0;
	c->snd_buffered = 0;
	c->snd_cur_blk = NET_TCP_NONE;
}

/* One segment from SND.UNA: fast retransmit, NewReno partial ACK. With a
 * SACK scoreboard it stops at the first range the peer already holds. */
uint32_t net_tcp_rexmit_una(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	/* Only what was sent: new data here would run past SND.MAX. */
	uint32_t len = tcp_seg_max(c);
	uint32_t sent = c->snd_max - c->snd_una;
	if ((c->flags & NET_TCP_F_FIN_SENT) && SEQ_GT(c->snd_max, c->fin_seq))
		sent--;
	if (len > sent)
		len = sent;
	if (len > c->snd_buffered)
		len = c->snd_buffered;
	if (c->sack_n > 0 && SEQ_GT(c->sack_sb[0].start, c->snd_una) &&
	    c->sack_sb[0].start - c->snd_una < len)
		len = c->sack_sb[0].start - c->snd_una;
	uint8_t fl = NET_TH_ACK;
	if ((c->flags & NET_TCP_F_FIN_SENT) && c->snd_una + len == c->fin_seq)
		fl |= NET_TH_FIN;
	if (len == 0 && !(fl & NET_TH_FIN))
		return 0;
	if (len > 0 && len == c->snd_buffered)
		fl |= NET_TH_PSH; /* as when first sent: the end of the queue */
	net_tcp_xmit(s, c, c->snd_una, len, fl);
	return len + ((fl & NET_TH_FIN) ? 1 : 0);
}

void net_tcp_output(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	switch (c->state) {
	case NET_TCP_CLOSED:
	case NET_TCP_LISTEN:
		return;
	case NET_TCP_SYN_SENT:
	case NET_TCP_SYN_RECEIVED:
		if (c->snd_nxt == c->iss) {
			uint8_t fl = NET_TH_SYN;
			if (c->state == NET_TCP_SYN_RECEIVED)
				fl |= NET_TH_ACK;
			net_tcp_xmit(s, c, c->iss, 0, fl);
			c->snd_nxt = c->iss + 1;
			if (SEQ_LT(c->snd_max, c->snd_nxt))
				c->snd_max = c->snd_nxt;
			if (!(c->flags & NET_TCP_F_REXMT))
				net_tcp_rexmt_arm(s, c);
		} else if (c->flags & NET_TCP_F_ACKNOW) {
			net_tcp_send_ack(s, c);
		}
		return;
	case NET_TCP_TIME_WAIT:
		if (c->flags & NET_TCP_F_ACKNOW)
			net_tcp_send_ack(s, c);
		return;
	default:
		break;
	}
	/* Where the data ends: after our FIN is sent, at the FIN. */
	uint32_t data_end = (c->flags & NET_TCP_F_FIN_SENT) ? c->fin_seq : c->snd_una + c->snd_buffered;
	uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
	bool sent = false;
	const uint32_t mss = tcp_seg_max(c);
	for (;;) {
		uint32_t off = c->snd_nxt - c->snd_una;
		bool fin_here = (c->flags & NET_TCP_F_FIN_Q) && c->snd_nxt == data_end;
		if (SEQ_GT(c->snd_nxt, data_end))
			break; /* FIN already sent */
		uint32_t avail = c->snd_buffered - off;
		uint32_t usable = SEQ_GT(c->snd_una + wnd, c->snd_nxt) ? c->snd_una + wnd - c->snd_nxt : 0;
		uint32_t len = avail < mss ? avail : mss;
		if (len > usable)
			len = usable;
		if (len == 0 && !fin_here)
			break;
		/* Sender SWS avoidance: a window-limited piece smaller than the
		 * MSS goes only when nothing is in flight. */
		if (len > 0 && len < mss && len < avail && c->snd_max != c->snd_una)
			break;
		uint8_t fl = NET_TH_ACK;
		if ((c->flags & NET_TCP_F_FIN_Q) && c->snd_nxt + len == data_end) {
			fl |= NET_TH_FIN;
			c->flags |= NET_TCP_F_FIN_SENT;
			c->fin_seq = data_end;
		}
		if (len > 0 && len == avail)
			fl |= NET_TH_PSH;
		net_tcp_xmit(s, c, c->snd_nxt, len, fl);
		c->snd_nxt += len + ((fl & NET_TH_FIN) ? 1 : 0);
		if (SEQ_LT(c->snd_max, c->snd_nxt))
			c->snd_max = c->snd_nxt;
		sent = true;
		if (fl & NET_TH_FIN)
			break;
	}
	if (sent) {
		c->flags &= ~NET_TCP_F_PERSIST;
		if (!(c->flags & NET_TCP_F_REXMT))
			net_tcp_rexmt_arm(s, c); /* RFC 6298 5.1 */
	}
	/* RFC 9293 3.8.6.1: data waits on a zero window with nothing in
	 * flight: the persist timer probes it. */
	if (c->snd_wnd == 0 && c->snd_max == c->snd_una && c->snd_buffered > 0 &&
	    !(c->flags & NET_TCP_F_PERSIST)) {
		c->flags &= ~NET_TCP_F_REXMT;
		c->flags |= NET_TCP_F_PERSIST;
		uint64_t r = (uint64_t)c->rto << c->backoff;
		if (r > s->cfg.rto_max_us)
			r = s->cfg.rto_max_us;
		c->t_rexmt = net_tcp_tick(s) + net_tcp_us_ticks(s, (uint32_t)r);
	}
	if (c->flags & NET_TCP_F_ACKNOW)
		net_tcp_send_ack(s, c);
}
