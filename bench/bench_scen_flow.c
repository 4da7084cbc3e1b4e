/*
 * throughput and fanout: N sender links -> one address -> M receiver
 * links. Every message's tail carries (sender id << 40 | sequence) and the
 * send time; a receiver keeps, per sender, the last sequence it saw, which
 * tells duplicates (the same again) and disorder (an older one) without a
 * table per message; loss is what was sent and never arrived (counted in
 * the drain phase, bench_flow_expected).
 *
 * throughput: the address's distribution decides who gets what (balanced
 * or closest at rpcrouterd: each message once); fanout: a multicast
 * address, every receiver gets every message (expected = sent x M).
 * --direct (throughput only): no router, the receiving side is this
 * process's SERVER engines; each sender's link is mirrored as a receiver.
 */
#include "bench_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_BITS 40
#define SEQ_MASK ((1ull << SEQ_BITS) - 1)
#define NONE	 UINT64_MAX
/* Messages per link per pump: the loop reads between batches. */
#define PUMP_BATCH 256

enum { K_SENDER = 1, K_RECEIVER, K_ACCEPTED };

struct flow_link {
	bool used, sender, attached;
	int id;		 /* sender id (tail prefix) or receiver id */
	uint64_t next_n; /* sender: next sequence */
	uint64_t quota;	 /* sender: messages to send; NONE: until the duration ends */
	uint64_t *last;	 /* receiver: last sequence per sender id, NONE: none yet */
};

struct flow_conn {
	int first_id, nlinks; /* client: links to attach, ids first_id.. */
	struct flow_link links[BENCH_AMQP_MAX_LINKS];
	struct bench_amqp_tpl tpl;
	bool tpl_ok;
};

static bool is_fanout(const struct bench_run *r)
{
	return r->o.scenario == BENCH_SC_FANOUT;
}

uint64_t bench_flow_expected(const struct bench_run *r, const struct bench_counters *c)
{
	switch (r->o.scenario) {
	case BENCH_SC_FANOUT: return c->sent * (uint64_t)r->o.receivers;
	case BENCH_SC_THROUGHPUT:
	case BENCH_SC_RPC: return c->sent;
	default: return 0;
	}
}

static struct flow_conn *flow_new(void)
{
	return calloc(1, sizeof(struct flow_conn));
}

static bool receiver_link_init(struct bench_run *r, struct flow_link *l, int id)
{
	l->used = true;
	l->sender = false;
	l->id = id;
	size_t n = (size_t)r->o.senders;
	l->last = malloc(n * sizeof *l->last);
	if (!l->last)
		return false;
	for (size_t i = 0; i < n; i++)
		l->last[i] = NONE;
	return true;
}

static int flow_setup(struct bench_run *r)
{
	struct bench_opts *o = &r->o;
	if (o->body_size < BENCH_AMQP_TAIL_LEN) {
		bench_run_error(r, "--body-size must be at least %d (the sequence tail)",
				BENCH_AMQP_TAIL_LEN);
		return -1;
	}
	if (o->direct && is_fanout(r)) {
		bench_run_error(r, "fanout needs a router (multicast): no --direct");
		return -1;
	}
	int L = o->links_per_conn;
	uint64_t per = o->count / (uint64_t)o->senders, extra = o->count % (uint64_t)o->senders;
	int id = 0;
	for (int ci = 0; id < o->senders; ci++) {
		struct bench_conn *c =
		    bench_io_add(r, bench_io_thread_for(r, true, ci), K_SENDER, ci, 1);
		struct flow_conn *fc = flow_new();
		if (!c || !fc)
			return -1;
		c->sc = fc;
		fc->first_id = id;
		for (int k = 0; k < L && id < o->senders; k++, id++) {
			struct flow_link *l = &fc->links[fc->nlinks++];
			l->sender = true;
			l->id = id;
			l->quota = o->count ? per + ((uint64_t)id < extra) : NONE;
		}
	}
	r->expect_links = (uint64_t)o->senders;
	if (!o->direct) {
		id = 0;
		for (int ci = 0; id < o->receivers; ci++) {
			struct bench_conn *c = bench_io_add(r, bench_io_thread_for(r, false, ci),
							    K_RECEIVER, 1000000 + ci, 0);
			struct flow_conn *fc = flow_new();
			if (!c || !fc)
				return -1;
			c->sc = fc;
			fc->first_id = id;
			for (int k = 0; k < L && id < o->receivers; k++, id++)
				fc->nlinks++;
		}
		r->expect_links_wave0 = (uint64_t)o->receivers;
		r->expect_links += (uint64_t)o->receivers;
	}
	r->accept_kind = K_ACCEPTED;
	return 0;
}

/* ---- engine callbacks ---- */

static void flow_attached(void *ctx, struct bench_amqp_conn *a, int link, bool local_sender,
			  const char *address, bool remote_initiated)
{
	(void)a;
	(void)address;
	struct bench_conn *c = ctx;
	struct flow_conn *fc = c->sc;
	if (link < 0 || link >= BENCH_AMQP_MAX_LINKS)
		return;
	struct flow_link *l = &fc->links[link];
	if (remote_initiated) {
		/* direct mode: the peer's sender, mirrored as our receiver */
		if (!local_sender && !l->used &&
		    !receiver_link_init(c->th->run, l, c->index * BENCH_AMQP_MAX_LINKS + link))
			bench_run_error(c->th->run, "out of memory");
		l->attached = true;
		return;
	}
	l->attached = true;
	BENCH_ADD(c->th, links_ready, 1);
}

static void flow_message(void *ctx, struct bench_amqp_conn *a, int link, uint32_t delivery,
			 bool settled, const struct bench_amqp_msg *m)
{
	(void)a;
	(void)delivery;
	(void)settled;
	struct bench_conn *c = ctx;
	struct bench_thread *th = c->th;
	struct flow_conn *fc = c->sc;
	BENCH_ADD(th, received, 1);
	BENCH_ADD(th, bytes, th->run->o.body_size);
	BENCH_SET(th, last_rx_ns, th->now_ns);
	if (link < 0 || link >= BENCH_AMQP_MAX_LINKS || !fc->links[link].last || !m->has_tail) {
		BENCH_ADD(th, bad_tail, 1);
		return;
	}
	struct flow_link *l = &fc->links[link];
	uint64_t sid = m->seq >> SEQ_BITS, n = m->seq & SEQ_MASK;
	if (sid >= (uint64_t)th->run->o.senders) {
		BENCH_ADD(th, bad_tail, 1);
		return;
	}
	uint64_t last = l->last[sid];
	if (last != NONE && n == last)
		BENCH_ADD(th, duplicates, 1);
	else if (last != NONE && n < last)
		BENCH_ADD(th, out_of_order, 1);
	else
		l->last[sid] = n;
	/* latency of what was sent in the measured interval. The thread's
	 * clock was read when it woke; a message the sender stamped after that
	 * can still be in this read (the sender is another thread): read the
	 * clock again then, rather than lose the sample. */
	struct bench_run *r = th->run;
	if (m->sent_ns >= r->t_measure_ns && (!r->t_send_end_ns || m->sent_ns < r->t_send_end_ns)) {
		if (__builtin_expect(th->now_ns < m->sent_ns, 0))
			th->now_ns = bench_now_ns();
		if (th->now_ns >= m->sent_ns)
			bench_hist_record(&th->hist, th->now_ns - m->sent_ns);
	}
}

static void flow_settled(void *ctx, struct bench_amqp_conn *a, int link, uint64_t token,
			 enum bench_amqp_outcome outcome)
{
	(void)a;
	(void)link;
	(void)token;
	struct bench_thread *th = ((struct bench_conn *)ctx)->th;
	switch (outcome) {
	case BENCH_AMQP_ACCEPTED: BENCH_ADD(th, accepted, 1); break;
	case BENCH_AMQP_REJECTED: BENCH_ADD(th, rejected, 1); break;
	case BENCH_AMQP_RELEASED: BENCH_ADD(th, released, 1); break;
	case BENCH_AMQP_MODIFIED: BENCH_ADD(th, modified, 1); break;
	case BENCH_AMQP_PRESETTLED: break;
	}
}

static void flow_opened(void *ctx, struct bench_amqp_conn *a)
{
	(void)a;
	struct bench_conn *c = ctx;
	if (!c->counted_open && !c->server) {
		c->counted_open = true;
		BENCH_ADD(c->th, opened, 1);
	}
}

static const struct bench_amqp_handlers flow_handlers = {
    .opened = flow_opened,
    .attached = flow_attached,
    .message = flow_message,
    .settled = flow_settled,
    .detached = bench_conn_detached,
    .closed = bench_conn_closed,
};

static void flow_config(struct bench_conn *c, struct bench_amqp_config *cfg)
{
	cfg->h = flow_handlers;
	cfg->peer_link_credit = c->th->run->o.credit;
	if (c->server && !c->sc)
		c->sc = flow_new();
}

static void flow_started(struct bench_conn *c)
{
	struct bench_run *r = c->th->run;
	struct flow_conn *fc = c->sc;
	if (!fc) {
		bench_run_error(r, "out of memory");
		return;
	}
	if (c->server)
		return; /* links come from the peer */
	if (c->kind == K_SENDER) {
		fc->tpl_ok = bench_amqp_tpl_build(&fc->tpl, NULL, NULL, false, r->o.body_size, 0);
		if (!fc->tpl_ok)
			bench_run_error(r, "cannot build the message template");
		/* the links planned in setup, moved to the engine's indexes */
		struct flow_link planned[BENCH_AMQP_MAX_LINKS];
		int n = fc->nlinks;
		memcpy(planned, fc->links, sizeof planned);
		memset(fc->links, 0, sizeof fc->links);
		for (int i = 0; i < n; i++) {
			int li = bench_amqp_attach_sender(c->a, r->o.address, r->o.presettled);
			if (li < 0 || li >= BENCH_AMQP_MAX_LINKS) {
				bench_run_error(r, "cannot attach sender link %d", i);
				return;
			}
			fc->links[li] = planned[i];
			fc->links[li].used = true;
		}
		return;
	}
	for (int i = 0; i < fc->nlinks; i++) {
		int li = bench_amqp_attach_receiver(c->a, r->o.address, r->o.credit, true);
		if (li < 0 || li >= BENCH_AMQP_MAX_LINKS ||
		    !receiver_link_init(r, &fc->links[li], fc->first_id + i)) {
			bench_run_error(r, "cannot attach receiver link %d", i);
			return;
		}
	}
}

static bool flow_pump(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	struct flow_conn *fc = c->sc;
	if (c->kind != K_SENDER || !fc || !fc->tpl_ok)
		return false;
	if (th->phase != BENCH_PH_WARMUP && th->phase != BENCH_PH_MEASURE)
		return false;
	if (r->t_send_end_ns && th->now_ns >= r->t_send_end_ns)
		return false;
	bool more = false;
	uint64_t sent = 0;
	for (int li = 0; li < BENCH_AMQP_MAX_LINKS; li++) {
		struct flow_link *l = &fc->links[li];
		if (!l->used || !l->sender || !l->attached)
			continue;
		int budget = PUMP_BATCH;
		while (l->next_n < l->quota) {
			if (budget-- == 0) {
				more = true;
				break;
			}
			if (bench_amqp_credit(c->a, li) == 0)
				break;
			uint64_t seq = ((uint64_t)l->id << SEQ_BITS) | l->next_n;
			if (bench_amqp_send(c->a, li, &fc->tpl, seq, th->now_ns, 0) < 0) {
				more = true; /* output full: again once it is written */
				break;
			}
			l->next_n++;
			sent++;
		}
	}
	if (sent)
		BENCH_ADD(th, sent, sent);
	return more;
}

static void flow_free(struct bench_conn *c)
{
	struct flow_conn *fc = c->sc;
	if (!fc)
		return;
	for (int i = 0; i < BENCH_AMQP_MAX_LINKS; i++)
		free(fc->links[i].last);
	free(fc);
	c->sc = NULL;
}

const struct bench_scen bench_scen_throughput = {
    .name = "throughput",
    .setup = flow_setup,
    .config = flow_config,
    .started = flow_started,
    .pump = flow_pump,
    .free_conn = flow_free,
};

const struct bench_scen bench_scen_fanout = {
    .name = "fanout",
    .setup = flow_setup,
    .config = flow_config,
    .started = flow_started,
    .pump = flow_pump,
    .free_conn = flow_free,
};
