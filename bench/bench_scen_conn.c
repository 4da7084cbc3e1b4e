/*
 * connections: open C connections, each with L receiver links on the
 * address, and time how long until every link is attached (the main thread
 * measures; connect_s, connections_per_s); the router's RSS before and
 * after gives the bytes each connection costs. They are held for --hold S,
 * then closed.
 *
 * handshake: connect, SASL (--sasl-mech), Open, Close, TCP close, again,
 * on --connections parallel slots (default one per thread) for --duration
 * or --count cycles; a cycle's time goes into the latency histogram.
 */
#include "bench_run.h"

#include <stdlib.h>

enum { K_CONN = 1, K_HANDSHAKE, K_ACCEPTED };

struct hs_slot {
	uint64_t quota, done;
};

static int conn_setup(struct bench_run *r)
{
	int C = r->o.connections;
	for (int i = 0; i < C; i++)
		if (!bench_io_add(r, i % r->nthreads, K_CONN, i, 0))
			return -1;
	r->expect_links_wave0 = (uint64_t)C * (uint64_t)r->o.links_per_conn;
	r->expect_links = r->expect_links_wave0;
	r->accept_kind = K_ACCEPTED;
	return 0;
}

static int hs_setup(struct bench_run *r)
{
	int C = r->o.connections;
	uint64_t per = r->o.count / (uint64_t)C, extra = r->o.count % (uint64_t)C;
	/* the sending half connects; in direct mode the other half accepts */
	for (int i = 0; i < C; i++) {
		int t = r->o.direct ? bench_io_thread_for(r, true, i) : i % r->nthreads;
		struct bench_conn *c = bench_io_add(r, t, K_HANDSHAKE, i, 1);
		struct hs_slot *s = calloc(1, sizeof *s);
		if (!c || !s)
			return -1;
		s->quota = r->o.count ? per + ((uint64_t)i < extra) : UINT64_MAX;
		c->sc = s;
		/* A cycle ends with the Close exchange (part 2.4.3), not when
		 * the peer gets round to closing TCP (RabbitMQ waits): TIME_WAIT
		 * stays on our side, which Linux reuses for loopback
		 * connections (net.ipv4.tcp_tw_reuse 2, the default). */
		c->no_linger = true;
	}
	r->accept_kind = K_ACCEPTED;
	return 0;
}

static void cs_opened(void *ctx, struct bench_amqp_conn *a)
{
	struct bench_conn *c = ctx;
	if (c->counted_open)
		return;
	c->counted_open = true;
	if (c->server)
		return;
	BENCH_ADD(c->th, opened, 1);
	if (c->kind == K_HANDSHAKE) {
		c->close_sent = true;
		bench_amqp_close(a, NULL, NULL);
	}
}

static void cs_attached(void *ctx, struct bench_amqp_conn *a, int link, bool local_sender,
			const char *address, bool remote_initiated)
{
	(void)a;
	(void)link;
	(void)local_sender;
	(void)address;
	struct bench_conn *c = ctx;
	if (!remote_initiated && !c->server)
		BENCH_ADD(c->th, links_ready, 1);
}

static void cs_closed(void *ctx, struct bench_amqp_conn *a, const char *condition,
		      const char *description)
{
	(void)a;
	struct bench_conn *c = ctx;
	if (condition && *condition && !c->server)
		bench_run_error(c->th->run, "connection closed by the peer: %s %s", condition,
				description ? description : "");
}

static const struct bench_amqp_handlers cs_handlers = {
    .opened = cs_opened,
    .attached = cs_attached,
    .closed = cs_closed,
};

static void cs_config(struct bench_conn *c, struct bench_amqp_config *cfg)
{
	(void)c;
	cfg->h = cs_handlers;
	/* thousands of idle connections: small buffers */
	cfg->out_buf = 64 * 1024;
	cfg->max_message = 64 * 1024;
}

static void cs_started(struct bench_conn *c)
{
	struct bench_run *r = c->th->run;
	if (c->server || c->kind != K_CONN)
		return;
	for (int i = 0; i < r->o.links_per_conn; i++)
		if (bench_amqp_attach_receiver(c->a, r->o.address, r->o.credit, true) < 0) {
			bench_run_error(r, "cannot attach receiver link %d", i);
			return;
		}
}

static void hs_ended(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	if (c->server || c->kind != K_HANDSHAKE)
		return;
	struct hs_slot *s = c->sc;
	bool ok = c->counted_open && c->a && !bench_amqp_error(c->a)[0];
	if (!ok)
		return; /* the error is recorded; this slot stops */
	s->done++;
	BENCH_ADD(th, cycles, 1);
	uint64_t now = bench_now_ns();
	if (th->phase == BENCH_PH_MEASURE)
		bench_hist_record(&th->hist, now - c->t_start_ns);
	int ph = bench_phase_of(r);
	if ((ph == BENCH_PH_WARMUP || ph == BENCH_PH_MEASURE) && s->done < s->quota &&
	    (!r->t_send_end_ns || now < r->t_send_end_ns)) {
		th->now_ns = now;
		bench_io_restart(c);
	}
}

static void cs_free(struct bench_conn *c)
{
	if (c->kind == K_HANDSHAKE && !c->server)
		free(c->sc);
	c->sc = NULL;
}

const struct bench_scen bench_scen_connections = {
    .name = "connections",
    .setup = conn_setup,
    .config = cs_config,
    .started = cs_started,
    .free_conn = cs_free,
};

const struct bench_scen bench_scen_handshake = {
    .name = "handshake",
    .setup = hs_setup,
    .config = cs_config,
    .started = cs_started,
    .ended = hs_ended,
    .free_conn = cs_free,
};
