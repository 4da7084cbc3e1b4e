/*
 * rpc: oslo.messaging-style calls (see /work/shared/reference/
 * oslo-amqp1-contract.md). A client connection has a receiver with a
 * dynamic source (part 3.5.3; or --reply-to ADDR where the target has no
 * dynamic sources, e.g. RabbitMQ's "/queue/x") and a sender on the request
 * address; each request carries reply-to and a ulong correlation-id, and
 * the tail (client id << 40 | sequence, send time). A server connection
 * receives on the request address and answers to reply-to, echoing the
 * correlation and the tail: by anonymous relay (a null target, "to" set)
 * or, with --no-anonymous-relay, a sender link per reply address. In
 * --direct mode the server side is this process's SERVER engines: the
 * client's dynamic receiver is mirrored as a sender, and replies go there.
 *
 * Closed loop: each client keeps --inflight requests outstanding. Open
 * loop (--rate R): request k of a client is due at start + k / (R / C);
 * its tail carries that intended time, so a reply's latency counts from
 * when the request should have gone, however late the scheduler (or the
 * credit the router gave) let it go: no coordinated omission. The offered
 * rate reported is what was actually sent inside the window.
 *
 * Correlation check: correlation = tail sequence ^ a per-client salt. A
 * reply whose tail is not an outstanding request counts as a duplicate; one
 * whose correlation does not match counts as bad_correlation (the call is
 * done, its latency not recorded).
 */
#include "bench_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_BITS    40
#define SEQ_MASK    ((1ull << SEQ_BITS) - 1)
#define MAX_DESTS   4096
#define REPLY_QUEUE (1u << 16)

enum { K_CLIENT = 1, K_SERVER, K_ACCEPTED };

struct rpc_client {
	int rcv, snd;
	bool rcv_ok, snd_ok, tpl_ok;
	char reply_addr[BENCH_AMQP_ADDR_MAX];
	char fixed_reply[BENCH_AMQP_ADDR_MAX]; /* --reply-to: this client's, "" dynamic */
	struct bench_amqp_tpl tpl;
	uint64_t id, salt;
	uint64_t next_n, quota;
	uint64_t outstanding;
	uint64_t *slots; /* (n + 1) of the outstanding request at n & mask, 0: free */
	uint64_t mask;
	double interval_ns; /* open loop: ns between this client's requests */
};

struct rpc_dest {
	char addr[BENCH_AMQP_ADDR_MAX];
	struct bench_amqp_tpl tpl;
	int link;   /* the sender replies go on (anonymous relay: the shared one) */
	bool ready; /* that link is attached */
};

struct rpc_reply {
	uint32_t dest;
	uint64_t seq, sent_ns, corr;
};

struct rpc_server {
	int rcv, anon;
	bool anon_ok;
	struct rpc_dest *dests;
	uint32_t ndests, capdests, last_dest;
	struct rpc_reply *q; /* REPLY_QUEUE entries, head..tail */
	uint32_t head, tail;
};

static bool open_loop(const struct bench_run *r)
{
	return r->o.rate > 0;
}

static int rpc_setup(struct bench_run *r)
{
	struct bench_opts *o = &r->o;
	if (o->body_size < BENCH_AMQP_TAIL_LEN) {
		bench_run_error(r, "--body-size must be at least %d (the sequence tail)",
				BENCH_AMQP_TAIL_LEN);
		return -1;
	}
	r->accept_kind = K_ACCEPTED;
	bool servers = !o->no_server && !o->direct;
	if (servers) {
		int per = o->no_anonymous_relay ? 1 : 2;
		for (int i = 0; i < o->receivers; i++) {
			struct bench_conn *c = bench_io_add(r, bench_io_thread_for(r, false, i),
							    K_SERVER, 1000000 + i, 0);
			if (!c)
				return -1;
		}
		r->expect_links_wave0 = (uint64_t)(o->receivers * per);
		r->expect_links = r->expect_links_wave0;
	}
	if (o->serve)
		return 0;
	uint64_t per = o->count / (uint64_t)o->senders, extra = o->count % (uint64_t)o->senders;
	for (int i = 0; i < o->senders; i++) {
		struct bench_conn *c =
		    bench_io_add(r, bench_io_thread_for(r, true, i), K_CLIENT, i, 1);
		struct rpc_client *cl = calloc(1, sizeof *cl);
		if (!c || !cl)
			return -1;
		c->sc = cl;
		cl->id = (uint64_t)i;
		cl->salt = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		cl->quota = o->count ? per + ((uint64_t)i < extra) : UINT64_MAX;
		/* A fixed reply address per client: replies must come back to
		 * the caller that sent the request. */
		if (o->reply_to && o->senders == 1)
			snprintf(cl->fixed_reply, sizeof cl->fixed_reply, "%s", o->reply_to);
		else if (o->reply_to)
			snprintf(cl->fixed_reply, sizeof cl->fixed_reply, "%s.%d", o->reply_to, i);
		uint64_t need = (uint64_t)o->inflight * 2;
		if (open_loop(r)) {
			/* room for 8 s of this client's requests outstanding:
			 * beyond that the scheduler waits (and says so in the
			 * offered rate) */
			cl->interval_ns = 1e9 * (double)o->senders / o->rate;
			double v = 8e9 / cl->interval_ns;
			need = v > (double)(1u << 22) ? (1u << 22) : (uint64_t)v + 16;
		}
		uint64_t size = 16;
		while (size < need)
			size <<= 1;
		cl->slots = calloc(size, sizeof *cl->slots);
		if (!cl->slots)
			return -1;
		cl->mask = size - 1;
	}
	r->expect_links += (uint64_t)o->senders * 2;
	return 0;
}

/* ---- server side ---- */

static struct rpc_dest *dest_add(struct bench_conn *c, struct rpc_server *s, const char *addr,
				 uint32_t *idx)
{
	struct bench_run *r = c->th->run;
	if (s->ndests == MAX_DESTS)
		return NULL;
	if (s->ndests == s->capdests) {
		uint32_t cap = s->capdests ? s->capdests * 2 : 8;
		struct rpc_dest *v = realloc(s->dests, cap * sizeof *v);
		if (!v)
			return NULL;
		s->dests = v;
		s->capdests = cap;
	}
	struct rpc_dest *d = &s->dests[s->ndests];
	memset(d, 0, sizeof *d);
	snprintf(d->addr, sizeof d->addr, "%s", addr);
	/* With a link per reply address the link's target routes it; by
	 * anonymous relay "to" does (part 3.5.3 null target). */
	if (!bench_amqp_tpl_build(&d->tpl, addr, NULL, true, r->o.body_size, 0))
		return NULL;
	d->link = -1;
	*idx = s->ndests++;
	return d;
}

static struct rpc_dest *dest_find(struct rpc_server *s, const char *addr, uint32_t *idx)
{
	if (s->last_dest < s->ndests && strcmp(s->dests[s->last_dest].addr, addr) == 0) {
		*idx = s->last_dest;
		return &s->dests[s->last_dest];
	}
	for (uint32_t i = 0; i < s->ndests; i++)
		if (strcmp(s->dests[i].addr, addr) == 0) {
			*idx = s->last_dest = i;
			return &s->dests[i];
		}
	return NULL;
}

static void server_drain(struct bench_conn *c, struct rpc_server *s)
{
	struct bench_thread *th = c->th;
	uint64_t sent = 0;
	while (s->head != s->tail) {
		struct rpc_reply *p = &s->q[s->head & (REPLY_QUEUE - 1)];
		struct rpc_dest *d = &s->dests[p->dest];
		int link = d->link;
		bool ready = d->ready;
		if (link < 0) {
			link = s->anon;
			ready = s->anon_ok;
		}
		if (!ready || bench_amqp_credit(c->a, link) == 0)
			break;
		if (bench_amqp_send(c->a, link, &d->tpl, p->seq, p->sent_ns, p->corr) < 0)
			break;
		s->head++;
		sent++;
	}
	if (sent)
		BENCH_ADD(th, server_sent, sent);
}

static void server_request(struct bench_conn *c, const struct bench_amqp_msg *m)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	struct rpc_server *s = c->sc;
	BENCH_ADD(th, server_received, 1);
	if (!m->reply_to[0] || !m->has_tail) {
		BENCH_ADD(th, server_dropped, 1);
		return;
	}
	uint32_t di;
	struct rpc_dest *d = dest_find(s, m->reply_to, &di);
	if (!d) {
		if (c->server) {
			/* direct: replies go on the mirrored sender of that
			 * address, which the client attached first */
			BENCH_ADD(th, server_dropped, 1);
			bench_run_error(r, "direct rpc: no reply link for %s", m->reply_to);
			return;
		}
		d = dest_add(c, s, m->reply_to, &di);
		if (!d) {
			BENCH_ADD(th, server_dropped, 1);
			bench_run_error(r, "rpc server: too many reply addresses");
			return;
		}
		if (r->o.no_anonymous_relay) {
			d->link = bench_amqp_attach_sender(c->a, m->reply_to, true);
			if (d->link < 0) {
				BENCH_ADD(th, server_dropped, 1);
				bench_run_error(r, "rpc server: out of reply links");
				return;
			}
		}
	}
	if (s->tail - s->head == REPLY_QUEUE) {
		BENCH_ADD(th, server_dropped, 1);
		return;
	}
	struct rpc_reply *p = &s->q[s->tail++ & (REPLY_QUEUE - 1)];
	*p = (struct rpc_reply){.dest = di,
				.seq = m->seq,
				.sent_ns = m->sent_ns,
				.corr = m->has_correlation ? m->correlation : 0};
	server_drain(c, s);
}

static bool server_init(struct bench_conn *c)
{
	struct rpc_server *s = calloc(1, sizeof *s);
	if (!s)
		return false;
	s->q = malloc(REPLY_QUEUE * sizeof *s->q);
	if (!s->q) {
		free(s);
		return false;
	}
	s->rcv = s->anon = -1;
	c->sc = s;
	return true;
}

/* ---- client side ---- */

static void client_reply(struct bench_conn *c, const struct bench_amqp_msg *m)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	struct rpc_client *cl = c->sc;
	if (!m->has_tail) {
		BENCH_ADD(th, bad_tail, 1);
		return;
	}
	uint64_t n = m->seq & SEQ_MASK;
	uint64_t *slot = &cl->slots[n & cl->mask];
	if ((m->seq >> SEQ_BITS) != cl->id || *slot != n + 1) {
		BENCH_ADD(th, duplicates, 1);
		return;
	}
	uint64_t now = bench_now_ns();
	*slot = 0;
	cl->outstanding--;
	BENCH_ADD(th, received, 1);
	BENCH_ADD(th, bytes, r->o.body_size);
	BENCH_SET(th, last_rx_ns, now);
	if (!m->has_correlation || m->correlation != (m->seq ^ cl->salt)) {
		BENCH_ADD(th, bad_correlation, 1);
		return;
	}
	if (m->sent_ns >= r->t_measure_ns && (!r->t_send_end_ns || m->sent_ns < r->t_send_end_ns) &&
	    now >= m->sent_ns)
		bench_hist_record(&th->hist, now - m->sent_ns);
}

static bool client_send_one(struct bench_conn *c, struct rpc_client *cl, uint64_t sent_ns)
{
	uint64_t *slot = &cl->slots[cl->next_n & cl->mask];
	if (*slot)
		return false; /* the table is full of outstanding requests */
	uint64_t seq = (cl->id << SEQ_BITS) | cl->next_n;
	if (bench_amqp_send(c->a, cl->snd, &cl->tpl, seq, sent_ns, seq ^ cl->salt) < 0)
		return false;
	*slot = cl->next_n + 1;
	cl->next_n++;
	cl->outstanding++;
	return true;
}

static bool client_pump(struct bench_conn *c, struct rpc_client *cl)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	if (!cl->tpl_ok || !cl->snd_ok)
		return false;
	if (th->phase != BENCH_PH_WARMUP && th->phase != BENCH_PH_MEASURE)
		return false;
	uint64_t sent = 0, in_window = 0;
	bool more = false;
	if (!open_loop(r)) {
		if (r->t_send_end_ns && th->now_ns >= r->t_send_end_ns)
			return false;
		while (cl->outstanding < (uint64_t)r->o.inflight && cl->next_n < cl->quota) {
			if (bench_amqp_credit(c->a, cl->snd) == 0)
				break;
			/* the send time as late as possible: the latency of a
			 * call starts when its request leaves */
			if (!client_send_one(c, cl, bench_now_ns())) {
				more = true;
				break;
			}
			sent++;
		}
	} else {
		uint64_t now = bench_now_ns();
		while (cl->next_n < cl->quota) {
			uint64_t due =
			    r->t_send_start_ns + (uint64_t)((double)cl->next_n * cl->interval_ns);
			if (r->t_send_end_ns && due >= r->t_send_end_ns)
				break;
			if (due > now) {
				if (due < th->next_timer_ns)
					th->next_timer_ns = due;
				break;
			}
			if (bench_amqp_credit(c->a, cl->snd) == 0)
				break; /* late: the latency will show it */
			if (sent == 64) {
				more = true;
				break;
			}
			if (!client_send_one(c, cl, due)) {
				more = true;
				break;
			}
			sent++;
			if (due >= r->t_measure_ns && now < r->t_send_end_ns)
				in_window++;
		}
	}
	if (sent)
		BENCH_ADD(th, sent, sent);
	if (in_window)
		BENCH_ADD(th, sent_in_window, in_window);
	return more;
}

/* ---- engine callbacks ---- */

static void rpc_opened(void *ctx, struct bench_amqp_conn *a)
{
	(void)a;
	struct bench_conn *c = ctx;
	if (!c->counted_open && !c->server) {
		c->counted_open = true;
		BENCH_ADD(c->th, opened, 1);
	}
}

static void rpc_attached(void *ctx, struct bench_amqp_conn *a, int link, bool local_sender,
			 const char *address, bool remote_initiated)
{
	(void)a;
	struct bench_conn *c = ctx;
	struct bench_run *r = c->th->run;
	if (c->kind == K_CLIENT) {
		struct rpc_client *cl = c->sc;
		if (link == cl->rcv) {
			const char *ra = address && *address ? address : cl->fixed_reply;
			if (!ra || !*ra) {
				bench_run_error(r,
						"no reply address from the peer (dynamic source)");
				return;
			}
			snprintf(cl->reply_addr, sizeof cl->reply_addr, "%s", ra);
			cl->tpl_ok = bench_amqp_tpl_build(&cl->tpl, r->o.address, cl->reply_addr,
							  true, r->o.body_size, 0);
			if (!cl->tpl_ok)
				bench_run_error(r, "cannot build the request template");
			cl->rcv_ok = true;
		} else if (link == cl->snd) {
			cl->snd_ok = true;
		}
		BENCH_ADD(c->th, links_ready, 1);
		return;
	}
	struct rpc_server *s = c->sc;
	if (remote_initiated) {
		/* direct: the client's reply receiver, mirrored as our sender */
		uint32_t di;
		if (local_sender && address && *address) {
			struct rpc_dest *d = dest_find(s, address, &di);
			if (!d)
				d = dest_add(c, s, address, &di);
			if (d) {
				d->link = link;
				d->ready = true;
			}
		}
		return;
	}
	if (link == s->rcv) {
		BENCH_ADD(c->th, links_ready, 1);
	} else if (link == s->anon) {
		s->anon_ok = true;
		BENCH_ADD(c->th, links_ready, 1);
	} else {
		for (uint32_t i = 0; i < s->ndests; i++)
			if (s->dests[i].link == link)
				s->dests[i].ready = true;
	}
}

static void rpc_message(void *ctx, struct bench_amqp_conn *a, int link, uint32_t delivery,
			bool settled, const struct bench_amqp_msg *m)
{
	(void)a;
	(void)link;
	(void)delivery;
	(void)settled;
	struct bench_conn *c = ctx;
	if (c->kind == K_CLIENT)
		client_reply(c, m);
	else
		server_request(c, m);
}

static void rpc_settled(void *ctx, struct bench_amqp_conn *a, int link, uint64_t token,
			enum bench_amqp_outcome outcome)
{
	(void)a;
	(void)link;
	(void)token;
	struct bench_conn *c = ctx;
	struct bench_thread *th = c->th;
	if (c->kind != K_CLIENT)
		return;
	switch (outcome) {
	case BENCH_AMQP_ACCEPTED: BENCH_ADD(th, accepted, 1); break;
	case BENCH_AMQP_REJECTED: BENCH_ADD(th, rejected, 1); break;
	case BENCH_AMQP_RELEASED: BENCH_ADD(th, released, 1); break;
	case BENCH_AMQP_MODIFIED: BENCH_ADD(th, modified, 1); break;
	case BENCH_AMQP_PRESETTLED: break;
	}
}

static const struct bench_amqp_handlers rpc_handlers = {
    .opened = rpc_opened,
    .attached = rpc_attached,
    .message = rpc_message,
    .settled = rpc_settled,
    .detached = bench_conn_detached,
    .closed = bench_conn_closed,
};

static void rpc_config(struct bench_conn *c, struct bench_amqp_config *cfg)
{
	cfg->h = rpc_handlers;
	cfg->want_properties = true; /* reply-to, correlation-id */
	cfg->peer_link_credit = c->th->run->o.credit;
	if (c->kind != K_CLIENT && !c->sc && !server_init(c))
		bench_run_error(c->th->run, "out of memory");
}

static void rpc_started(struct bench_conn *c)
{
	struct bench_run *r = c->th->run;
	if (!c->sc)
		return;
	if (c->kind == K_CLIENT) {
		struct rpc_client *cl = c->sc;
		cl->rcv = bench_amqp_attach_receiver(
		    c->a, cl->fixed_reply[0] ? cl->fixed_reply : NULL, r->o.credit, true);
		cl->snd = bench_amqp_attach_sender(c->a, r->o.address, r->o.presettled);
		if (cl->rcv < 0 || cl->snd < 0)
			bench_run_error(r, "cannot attach the client's links");
		return;
	}
	if (c->server)
		return; /* direct: the client attaches; we mirror */
	struct rpc_server *s = c->sc;
	s->rcv = bench_amqp_attach_receiver(c->a, r->o.address, r->o.credit, true);
	if (!r->o.no_anonymous_relay)
		s->anon = bench_amqp_attach_sender(c->a, NULL, true);
	if (s->rcv < 0 || (!r->o.no_anonymous_relay && s->anon < 0))
		bench_run_error(r, "cannot attach the server's links");
}

static bool rpc_pump(struct bench_conn *c)
{
	if (!c->sc)
		return false;
	if (c->kind == K_CLIENT)
		return client_pump(c, c->sc);
	struct rpc_server *s = c->sc;
	if (s->head != s->tail)
		server_drain(c, s);
	return false;
}

static void rpc_free(struct bench_conn *c)
{
	if (!c->sc)
		return;
	if (c->kind == K_CLIENT) {
		struct rpc_client *cl = c->sc;
		free(cl->slots);
	} else {
		struct rpc_server *s = c->sc;
		free(s->dests);
		free(s->q);
	}
	free(c->sc);
	c->sc = NULL;
}

const struct bench_scen bench_scen_rpc = {
    .name = "rpc",
    .setup = rpc_setup,
    .config = rpc_config,
    .started = rpc_started,
    .pump = rpc_pump,
    .free_conn = rpc_free,
};
