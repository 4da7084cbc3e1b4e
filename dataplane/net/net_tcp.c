/* TCP stack: connection blocks, timers, the application interface. The
 * segment arrival rules are in net_tcp_in.c, segment output and the send
 * queue in net_tcp_out.c. */
#include <string.h>

#include "net_tcp_impl.h"

const char *const net_tcp_counter_names[NET_TCP_C_COUNT] = {
#define NET_TCP_COUNTER(name, desc) #name,
#include "net_tcp_counters.def"
#undef NET_TCP_COUNTER
};

const char *net_tcp_state_name(enum net_tcp_state st)
{
	static const char *const names[] = {
#define NET_TCP_ST_NAME(x) #x,
		NET_TCP_STATES(NET_TCP_ST_NAME)
#undef NET_TCP_ST_NAME
	};
	return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

const char *net_tcp_close_reason_text(enum net_tcp_close_reason r)
{
	switch (r) {
	case NET_TCP_CLOSE_NORMAL: return "closed";
	case NET_TCP_CLOSE_RESET: return "connection reset by the peer";
	case NET_TCP_CLOSE_REFUSED: return "connection refused";
	case NET_TCP_CLOSE_TIMEOUT: return "TCP retransmissions timed out";
	case NET_TCP_CLOSE_KEEPALIVE: return "TCP keepalive timed out";
	case NET_TCP_CLOSE_ABORTED: return "aborted";
	}
	return "closed";
}

void net_tcp_cfg_default(struct net_tcp_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->mss = 1460;
	cfg->wscale = 7;
	cfg->timestamps = true;
	cfg->sack = true;
	cfg->rcv_space = 256 * 1024;
	cfg->snd_buf = 256 * 1024;
	cfg->ooo_max = 256 * 1024;
	cfg->rto_min_us = 200000;     /* RFC 6298 2.4 says 1 s; 200 ms as Linux (brief) */
	cfg->rto_max_us = 60000000;   /* RFC 6298 2.5: at least 60 s */
	cfg->rto_initial_us = 1000000;/* RFC 6298 2.1 */
	cfg->delack_us = 40000;       /* RFC 9293 3.8.6.3: < 0.5 s */
	cfg->msl_us = 30000000;       /* 2MSL = 60 s as Linux */
	cfg->fin_wait_2_us = 60000000;
	cfg->syn_retries = 6;
	cfg->data_retries = 15;       /* RFC 9293 3.8.3 R2 >= 100 s */
	cfg->keep_idle_us = 0;
	cfg->keep_intvl_us = 75000000;
	cfg->keep_cnt = 9;
	cfg->init_cwnd_segs = 10;
	cfg->challenge_ack_limit = 1000;
	cfg->tick_us = 1000;
}

int net_tcp_pool_init(struct net_tcp_pool *p, void *mem, size_t mem_len, uint32_t block_size)
{
	if (block_size < 64 || block_size % 8 != 0)
		return -1;
	p->mem = (uint8_t *)mem;
	p->block_size = block_size;
	p->nblocks = (uint32_t)(mem_len / (NET_TCP_BLK_HDR + block_size));
	p->free_head = NET_TCP_NONE;
	p->nfree = 0;
	for (uint32_t i = p->nblocks; i-- > 0;)
		net_tcp_blk_free(p, i);
	return p->nblocks > 0 ? 0 : -1;
}

uint32_t net_tcp_blk_alloc(struct net_tcp_pool *p)
{
	uint32_t i = p->free_head;
	if (i == NET_TCP_NONE)
		return i;
	uint32_t *h = net_tcp_blk_hdr(p, i);
	p->free_head = h[0];
	p->nfree--;
	h[0] = NET_TCP_NONE;
	h[1] = h[2] = 0;
	return i;
}

void net_tcp_blk_free(struct net_tcp_pool *p, uint32_t i)
{
	uint32_t *h = net_tcp_blk_hdr(p, i);
	h[0] = p->free_head;
	p->free_head = i;
	p->nfree++;
}

static void tcp_timer_fire(void *ctx, uint32_t idx);

int net_tcp_stack_init(struct net_tcp_stack *s, const struct net_tcp_cfg *cfg,
		       const struct net_tcp_ops *ops, void *ctx, struct net_tcp_conn *conns,
		       uint32_t nconns, struct net_tcp_pool *pool, uint32_t *wheel_heads,
		       uint32_t wheel_slots, uint64_t now_us)
{
	memset(s, 0, sizeof *s);
	s->cfg = *cfg;
	if (s->cfg.tick_us == 0 || s->cfg.mss < 64 || nconns == 0 || nconns >= UINT32_MAX - 1)
		return -1;
	/* a full segment must fit the iovecs of net_tcp_seg_out (net_tcp.h) */
	if (pool == NULL || pool->block_size == 0 ||
	    s->cfg.mss / pool->block_size + 2 > NET_TCP_MAX_IOV)
		return -1;
	if (s->cfg.wscale != 0xff && s->cfg.wscale > 14)
		s->cfg.wscale = 14; /* RFC 7323 2.3 */
	s->ops = *ops;
	s->ctx = ctx;
	s->conns = conns;
	s->nconns = nconns;
	s->pool = pool;
	s->now_us = now_us;
	if (net_timer_init(&s->wheel, wheel_heads, wheel_slots, &conns[0].tnode, sizeof *conns,
			   net_tcp_tick(s)) != 0)
		return -1;
	s->free_head = NET_TCP_NONE;
	for (uint32_t i = nconns; i-- > 0;) {
		memset(&conns[i], 0, sizeof conns[i]);
		net_timer_node_init(&conns[i].tnode);
		conns[i].user = s->free_head;
		s->free_head = i;
	}
	s->nfree = nconns;
	return 0;
}

struct net_tcp_conn *net_tcp_conn_alloc(struct net_tcp_stack *s)
{
	if (s->free_head == NET_TCP_NONE)
		return NULL;
	struct net_tcp_conn *c = &s->conns[s->free_head];
	s->free_head = (uint32_t)c->user;
	s->nfree--;
	uint32_t gen = c->gen + 1;
	memset(c, 0, sizeof *c);
	c->gen = gen;
	net_timer_node_init(&c->tnode);
	return c;
}

void net_tcp_conn_setup(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t laddr,
			uint16_t lport, uint32_t raddr, uint16_t rport)
{
	c->laddr = laddr;
	c->raddr = raddr;
	c->lport = lport;
	c->rport = rport;
	c->state = NET_TCP_CLOSED;
	c->mss = 536; /* RFC 9293 3.7.1: the default send MSS without the option */
	c->rto = s->cfg.rto_initial_us;
	c->ssthresh = UINT32_MAX / 2; /* RFC 5681 3.1: arbitrarily high */
	c->rcv_space = s->cfg.rcv_space;
	c->snd_head = c->snd_tail = NET_TCP_NONE;
	c->snd_cur_blk = NET_TCP_NONE;
	c->ooo_head = NET_TCP_NONE;
	c->listener = UINT16_MAX;
	/* RFC 7323 7.1 suggests a per-connection random TSval offset: a keyed
	 * hash of the reversed tuple, without the clock. */
	c->ts_offset = net_tcp_isn(s->cfg.isn_key, raddr, rport, laddr, lport, 0);
	c->last_rx_tick = net_tcp_tick(s);
}

void net_tcp_notify(struct net_tcp_stack *s, struct net_tcp_conn *c, enum net_tcp_event ev,
		   enum net_tcp_close_reason why)
{
	s->in_cb++;
	s->ops.event(s->ctx, c, ev, why);
	s->in_cb--;
}

void net_tcp_conn_free(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	net_timer_cancel(&s->wheel, net_tcp_conn_index(s, c));
	net_tcp_sndq_free(s, c);
	net_tcp_ooo_free(s, c);
	if (c->listener != UINT16_MAX && c->state == NET_TCP_SYN_RECEIVED &&
	    s->listeners[c->listener].pending > 0)
		s->listeners[c->listener].pending--;
	c->state = NET_TCP_CLOSED;
	c->flags = 0;
	net_tcp_notify(s, c, NET_TCP_EV_FREE, NET_TCP_CLOSE_NORMAL);
	c->gen++;
	c->user = s->free_head;
	s->free_head = net_tcp_conn_index(s, c);
	s->nfree++;
}

/* The connection is over for the application: one CLOSED event (only if
 * it ever saw the connection), then the block is freed. */
void net_tcp_conn_close(struct net_tcp_stack *s, struct net_tcp_conn *c,
			enum net_tcp_close_reason why)
{
	if ((c->flags & NET_TCP_F_APP) && !(c->flags & NET_TCP_F_CLOSED_EV)) {
		c->flags |= NET_TCP_F_CLOSED_EV;
		net_tcp_notify(s, c, NET_TCP_EV_CLOSED, why);
	}
	net_tcp_conn_free(s, c);
}

/* RFC 9293 3.6: TIME-WAIT holds the block for 2 MSL to absorb old
 * duplicates; the application is done with it now. */
void net_tcp_enter_time_wait(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	c->state = NET_TCP_TIME_WAIT;
	c->flags &= ~(NET_TCP_F_REXMT | NET_TCP_F_PERSIST | NET_TCP_F_DELACK | NET_TCP_F_KEEP |
		      NET_TCP_F_RECOVERY);
	c->flags |= NET_TCP_F_IDLE;
	uint64_t tw = 2 * (uint64_t)s->cfg.msl_us;
	c->t_idle = net_tcp_tick(s) + (uint32_t)((tw + s->cfg.tick_us - 1) / s->cfg.tick_us);
	net_tcp_sndq_free(s, c);
	net_tcp_ooo_free(s, c);
	if ((c->flags & NET_TCP_F_APP) && !(c->flags & NET_TCP_F_CLOSED_EV)) {
		c->flags |= NET_TCP_F_CLOSED_EV;
		net_tcp_notify(s, c, NET_TCP_EV_CLOSED, NET_TCP_CLOSE_NORMAL);
	}
	NET_COUNT(s->counters[NET_TCP_C_conn_closed], 1);
}

static uint32_t tcp_rto_cur(const struct net_tcp_stack *s, const struct net_tcp_conn *c)
{
	uint64_t r = (uint64_t)c->rto << c->backoff;
	return r > s->cfg.rto_max_us ? s->cfg.rto_max_us : (uint32_t)r;
}

void net_tcp_rexmt_arm(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	c->flags &= ~NET_TCP_F_PERSIST;
	c->flags |= NET_TCP_F_REXMT;
	c->t_rexmt = net_tcp_tick(s) + net_tcp_us_ticks(s, tcp_rto_cur(s, c));
}

/* RFC 6298 2.2 and 2.3, in microseconds; K = 4, G = the tick. */
void net_tcp_rtt_sample(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t r)
{
	if (r == 0)
		r = 1;
	if (c->srtt == 0) {
		c->srtt = r;
		c->rttvar = r / 2;
	} else {
		uint32_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (uint32_t)((3 * (uint64_t)c->rttvar + d) / 4);
		c->srtt = (uint32_t)((7 * (uint64_t)c->srtt + r) / 8);
	}
	uint64_t k = 4 * (uint64_t)c->rttvar;
	if (k < s->cfg.tick_us)
		k = s->cfg.tick_us;
	uint64_t rto = c->srtt + k;
	if (rto < s->cfg.rto_min_us)
		rto = s->cfg.rto_min_us; /* 2.4 */
	if (rto > s->cfg.rto_max_us)
		rto = s->cfg.rto_max_us; /* 2.5 */
	c->rto = (uint32_t)rto;
	c->backoff = 0; /* Karn: a valid sample ends the backoff */
	NET_COUNT(s->counters[NET_TCP_C_rtt_samples], 1);
}

void net_tcp_keep_reset(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	c->last_rx_tick = net_tcp_tick(s);
	if (s->cfg.keep_idle_us == 0)
		return;
	if (c->state != NET_TCP_ESTABLISHED && c->state != NET_TCP_CLOSE_WAIT)
		return;
	c->keep_probes = 0;
	c->flags |= NET_TCP_F_IDLE | NET_TCP_F_KEEP;
	c->t_idle = net_tcp_tick(s) + net_tcp_us_ticks(s, s->cfg.keep_idle_us);
}

/* The wheel holds one node per connection at its earliest deadline. */
void net_tcp_timers_update(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	uint32_t idx = net_tcp_conn_index(s, c);
	bool any = false;
	uint32_t e = 0;
	if (c->state == NET_TCP_CLOSED)
		return;
	if (c->flags & (NET_TCP_F_REXMT | NET_TCP_F_PERSIST)) {
		e = c->t_rexmt;
		any = true;
	}
	if ((c->flags & NET_TCP_F_DELACK) && (!any || SEQ_LT(c->t_delack, e))) {
		e = c->t_delack;
		any = true;
	}
	if ((c->flags & NET_TCP_F_IDLE) && (!any || SEQ_LT(c->t_idle, e))) {
		e = c->t_idle;
		any = true;
	}
	if (!any)
		net_timer_cancel(&s->wheel, idx);
	else if (c->tnode.slot == NET_TIMER_NONE || c->tnode.expire != e)
		net_timer_arm(&s->wheel, idx, e);
}

static void tcp_timeout_rexmt(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	c->flags &= ~NET_TCP_F_REXMT;
	c->nrexmit++;
	NET_COUNT(s->counters[NET_TCP_C_rto_timeouts], 1);
	bool syn = c->state == NET_TCP_SYN_SENT || c->state == NET_TCP_SYN_RECEIVED;
	if (c->nrexmit > (syn ? s->cfg.syn_retries : s->cfg.data_retries)) {
		/* RFC 9293 3.8.3: R2 reached, close the connection. */
		NET_COUNT(s->counters[NET_TCP_C_conn_timeouts], 1);
		if (!syn || c->state == NET_TCP_SYN_RECEIVED)
			net_tcp_send_rst(s, c, c->snd_max);
		net_tcp_conn_close(s, c, NET_TCP_CLOSE_TIMEOUT);
		return;
	}
	if (c->backoff < 16)
		c->backoff++; /* RFC 6298 5.5 */
	if (syn)
		NET_COUNT(s->counters[NET_TCP_C_syn_rexmit], 1);
	else {
		/* RFC 5681 3.1 eqn. 4 and the loss window; RFC 6582 4.2
		 * recover = highest sent; RFC 2018 8: forget SACK info. */
		uint32_t flight = net_tcp_flight(c);
		uint32_t half = flight / 2;
		c->ssthresh = half > 2u * c->mss ? half : 2u * c->mss;
		c->cwnd = c->mss;
		c->recover = c->snd_max;
		c->flags &= ~NET_TCP_F_RECOVERY;
		c->dupacks = 0;
		c->sack_n = 0;
	}
	c->flags &= ~NET_TCP_F_RTT; /* Karn: no sample from a retransmission */
	c->snd_nxt = c->snd_una;  /* go back: resend from the first unacknowledged */
	/* RFC 6298 5.4: the earliest segment goes now, whatever the window
	 * (a peer that shrank its window to zero still gets it). */
	if (!syn && c->snd_max != c->snd_una)
		c->snd_nxt += net_tcp_rexmit_una(s, c);
	net_tcp_output(s, c);
	if (!(c->flags & (NET_TCP_F_REXMT | NET_TCP_F_PERSIST)))
		net_tcp_rexmt_arm(s, c);
}

static void tcp_timeout_persist(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	/* RFC 9293 3.8.6.1: probe a zero window with one octet, backing
	 * off, never giving up while the peer answers. */
	if (c->snd_buffered > 0) {
		net_tcp_xmit(s, c, c->snd_una, 1, NET_TH_ACK);
		if (SEQ_LT(c->snd_nxt, c->snd_una + 1))
			c->snd_nxt = c->snd_una + 1;
		if (SEQ_LT(c->snd_max, c->snd_nxt))
			c->snd_max = c->snd_nxt;
		NET_COUNT(s->counters[NET_TCP_C_zero_win_probes], 1);
	}
	if (c->backoff < 16)
		c->backoff++;
	c->t_rexmt = net_tcp_tick(s) + net_tcp_us_ticks(s, tcp_rto_cur(s, c));
}

static void tcp_timeout_idle(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	c->flags &= ~NET_TCP_F_IDLE;
	if (c->state == NET_TCP_TIME_WAIT) {
		net_tcp_conn_free(s, c);
		return;
	}
	if (!(c->flags & NET_TCP_F_KEEP)) { /* FIN-WAIT-2 timeout */
		net_tcp_conn_close(s, c, NET_TCP_CLOSE_TIMEOUT);
		return;
	}
	if (c->snd_una != c->snd_max) { /* the retransmission timer is in charge */
		net_tcp_keep_reset(s, c);
		return;
	}
	if (c->keep_probes >= s->cfg.keep_cnt) {
		NET_COUNT(s->counters[NET_TCP_C_keepalive_timeouts], 1);
		net_tcp_send_rst(s, c, c->snd_max);
		net_tcp_conn_close(s, c, NET_TCP_CLOSE_KEEPALIVE);
		return;
	}
	/* RFC 9293 3.8.4: SEG.SEQ = SND.NXT - 1, no data, to draw an ACK. */
	net_tcp_xmit(s, c, c->snd_nxt - 1, 0, NET_TH_ACK);
	NET_COUNT(s->counters[NET_TCP_C_keepalive_probes], 1);
	c->keep_probes++;
	c->flags |= NET_TCP_F_IDLE;
	c->t_idle = net_tcp_tick(s) + net_tcp_us_ticks(s, s->cfg.keep_intvl_us);
}

static void tcp_abort_now(struct net_tcp_stack *s, struct net_tcp_conn *c)
{
	if (c->state != NET_TCP_SYN_SENT && c->state != NET_TCP_TIME_WAIT &&
	    c->state != NET_TCP_CLOSED)
		net_tcp_send_rst(s, c, c->snd_max);
	NET_COUNT(s->counters[NET_TCP_C_conn_aborted], 1);
	net_tcp_conn_close(s, c, NET_TCP_CLOSE_ABORTED);
}

/* Run pending deferred aborts of c after a stack call; false if freed. */
static bool tcp_finish(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t gen)
{
	if (c->gen != gen || c->state == NET_TCP_CLOSED)
		return false;
	if (c->flags & NET_TCP_F_ABORT) {
		tcp_abort_now(s, c);
		return false;
	}
	net_tcp_timers_update(s, c);
	return true;
}

static void tcp_timer_fire(void *ctx, uint32_t idx)
{
	struct net_tcp_stack *s = (struct net_tcp_stack *)ctx;
	struct net_tcp_conn *c = &s->conns[idx];
	uint32_t now = s->wheel.now, gen = c->gen;
	if ((c->flags & NET_TCP_F_DELACK) && SEQ_LEQ(c->t_delack, now)) {
		c->flags &= ~NET_TCP_F_DELACK;
		NET_COUNT(s->counters[NET_TCP_C_tx_delayed_acks], 1);
		net_tcp_send_ack(s, c);
	}
	if ((c->flags & NET_TCP_F_REXMT) && SEQ_LEQ(c->t_rexmt, now))
		tcp_timeout_rexmt(s, c);
	else if ((c->flags & NET_TCP_F_PERSIST) && SEQ_LEQ(c->t_rexmt, now))
		tcp_timeout_persist(s, c);
	if (c->gen != gen)
		return;
	if ((c->flags & NET_TCP_F_IDLE) && SEQ_LEQ(c->t_idle, now))
		tcp_timeout_idle(s, c);
	tcp_finish(s, c, gen);
}

void net_tcp_advance(struct net_tcp_stack *s, uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	net_timer_advance(&s->wheel, net_tcp_tick(s), tcp_timer_fire, s);
}

int net_tcp_listen(struct net_tcp_stack *s, uint32_t addr, uint16_t port, uint16_t backlog)
{
	int free_slot = -1;
	for (int i = 0; i < NET_TCP_MAX_LISTENERS; i++) {
		if (s->listeners[i].port == port && port != 0)
			return -1;
		if (s->listeners[i].port == 0 && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0 || port == 0)
		return -1;
	s->listeners[free_slot].addr = addr;
	s->listeners[free_slot].port = port;
	s->listeners[free_slot].backlog = backlog ? backlog : 1;
	s->listeners[free_slot].pending = 0;
	return free_slot;
}

void net_tcp_unlisten(struct net_tcp_stack *s, uint16_t port)
{
	for (int i = 0; i < NET_TCP_MAX_LISTENERS; i++)
		if (s->listeners[i].port == port)
			s->listeners[i].port = 0;
}

struct net_tcp_conn *net_tcp_connect(struct net_tcp_stack *s, uint32_t laddr, uint16_t lport,
				     uint32_t raddr, uint16_t rport, uint64_t user,
				     uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	struct net_tcp_conn *c = net_tcp_conn_alloc(s);
	if (!c) {
		NET_COUNT(s->counters[NET_TCP_C_syn_drop_no_tcb], 1);
		return NULL;
	}
	net_tcp_conn_setup(s, c, laddr, lport, raddr, rport);
	c->user = user;
	c->flags |= NET_TCP_F_APP;
	c->iss = net_tcp_isn(s->cfg.isn_key, laddr, lport, raddr, rport, s->now_us);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->state = NET_TCP_SYN_SENT;
	NET_COUNT(s->counters[NET_TCP_C_active_opens], 1);
	net_tcp_output(s, c);
	net_tcp_timers_update(s, c);
	return c;
}

size_t net_tcp_send_space(const struct net_tcp_stack *s, const struct net_tcp_conn *c)
{
	if (c->flags & NET_TCP_F_FIN_Q)
		return 0;
	switch (c->state) {
	case NET_TCP_SYN_SENT:
	case NET_TCP_SYN_RECEIVED:
	case NET_TCP_ESTABLISHED:
	case NET_TCP_CLOSE_WAIT:
		break;
	default:
		return 0;
	}
	return c->snd_buffered < s->cfg.snd_buf ? s->cfg.snd_buf - c->snd_buffered : 0;
}

size_t net_tcp_send(struct net_tcp_stack *s, struct net_tcp_conn *c, const void *p, size_t len)
{
	const uint8_t *src = (const uint8_t *)p;
	size_t room = net_tcp_send_space(s, c);
	if (len > room)
		len = room;
	size_t done = 0;
	struct net_tcp_pool *pool = s->pool;
	while (done < len) {
		if (c->snd_tail == NET_TCP_NONE || c->snd_tail_len == pool->block_size) {
			uint32_t b = net_tcp_blk_alloc(pool);
			if (b == NET_TCP_NONE) {
				NET_COUNT(s->counters[NET_TCP_C_snd_no_block], 1);
				break;
			}
			if (c->snd_tail == NET_TCP_NONE) {
				c->snd_head = b;
				c->snd_head_off = 0;
			} else {
				net_tcp_blk_hdr(pool, c->snd_tail)[0] = b;
			}
			c->snd_tail = b;
			c->snd_tail_len = 0;
		}
		size_t n = pool->block_size - c->snd_tail_len;
		if (n > len - done)
			n = len - done;
		memcpy(net_tcp_blk_data(pool, c->snd_tail) + c->snd_tail_len, src + done, n);
		c->snd_tail_len = (uint16_t)(c->snd_tail_len + n);
		done += n;
	}
	c->snd_buffered += (uint32_t)done;
	return done;
}

void net_tcp_flush(struct net_tcp_stack *s, struct net_tcp_conn *c, uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	if (c->state == NET_TCP_CLOSED)
		return;
	net_tcp_output(s, c);
	if (s->in_cb == 0)
		tcp_finish(s, c, c->gen);
	else
		net_tcp_timers_update(s, c);
}

void net_tcp_set_rcv_space(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t space,
			   uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	uint32_t old_edge = c->rcv_adv;
	c->rcv_space = space;
	if (c->state < NET_TCP_ESTABLISHED || c->state == NET_TCP_TIME_WAIT)
		return;
	/* Held bytes at RCV.NXT the application refused before: offer them
	 * again now that it has room (not from inside its own callback). */
	if (s->in_cb == 0 && c->ooo_head != NET_TCP_NONE &&
	    SEQ_LEQ(net_tcp_blk_hdr(s->pool, c->ooo_head)[1], c->rcv_nxt)) {
		uint32_t before = c->rcv_nxt;
		net_tcp_ooo_drain(s, c);
		if (c->rcv_nxt != before) {
			net_tcp_send_ack(s, c);
			net_tcp_timers_update(s, c);
			return;
		}
	}
	/* RFC 9293 3.8.6.2.2 (receiver SWS avoidance): tell the peer only
	 * when the right edge moves by min(half the space, one MSS). */
	uint32_t edge = c->rcv_nxt + net_tcp_rcv_window(s, c);
	uint32_t step = space / 2 < c->mss ? space / 2 : c->mss;
	if (step == 0)
		step = 1;
	if (SEQ_GEQ(edge, old_edge + step) && !(c->flags & NET_TCP_F_RCVD_FIN)) {
		NET_COUNT(s->counters[NET_TCP_C_tx_window_updates], 1);
		net_tcp_send_ack(s, c);
		if (s->in_cb == 0)
			net_tcp_timers_update(s, c);
	}
}

void net_tcp_shutdown(struct net_tcp_stack *s, struct net_tcp_conn *c, uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	if (c->flags & NET_TCP_F_FIN_Q)
		return;
	switch (c->state) {
	case NET_TCP_SYN_SENT:
		/* RFC 9293 3.10.4: nothing sent yet, delete the TCB. */
		if (s->in_cb)
			c->flags |= NET_TCP_F_ABORT;
		else
			net_tcp_conn_close(s, c, NET_TCP_CLOSE_NORMAL);
		return;
	case NET_TCP_SYN_RECEIVED:
	case NET_TCP_ESTABLISHED:
		c->flags |= NET_TCP_F_FIN_Q;
		if (c->state == NET_TCP_ESTABLISHED)
			c->state = NET_TCP_FIN_WAIT_1;
		break; /* SYN-RECEIVED: FIN after ESTABLISHED (3.10.4) */
	case NET_TCP_CLOSE_WAIT:
		c->flags |= NET_TCP_F_FIN_Q;
		c->state = NET_TCP_LAST_ACK;
		break;
	default:
		return;
	}
	/* keepalive is for idle open connections: stop it */
	if (c->flags & NET_TCP_F_KEEP)
		c->flags &= ~(NET_TCP_F_KEEP | NET_TCP_F_IDLE);
	net_tcp_output(s, c);
	if (s->in_cb == 0)
		tcp_finish(s, c, c->gen);
	else
		net_tcp_timers_update(s, c);
}

void net_tcp_abort(struct net_tcp_stack *s, struct net_tcp_conn *c, uint64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
	if (c->state == NET_TCP_CLOSED)
		return;
	if (s->in_cb) {
		c->flags |= NET_TCP_F_ABORT;
		return;
	}
	tcp_abort_now(s, c);
}

bool net_tcp_finish_input(struct net_tcp_stack *s, struct net_tcp_conn *c, uint32_t gen)
{
	return tcp_finish(s, c, gen);
}
