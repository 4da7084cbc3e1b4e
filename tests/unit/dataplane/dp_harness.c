/* See dp_harness.h. The worker loop pieces here mirror dp_worker.c
 * (process_commands, cmd_accept, commit_xcore are static there; the
 * flush is dp_worker_flush itself) and control/ctl_router.c (on_attach, publish); keep them in step
 * when those change. */
#include "dp_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DPH_CHECK(cond)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "dp_harness: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct dph *harness_of(struct dp_worker *w) { return (struct dph *)w->drv_state; }

/* --- the driver ------------------------------------------------------------ */

static int drv_worker_init(struct dp_worker *w)
{
	(void)w;
	return 0;
}
static void drv_worker_fini(struct dp_worker *w) { (void)w; }
static int drv_poll(struct dp_worker *w, int timeout_ms)
{
	(void)w;
	(void)timeout_ms;
	return 0;
}
static int drv_conn_attach(struct dp_worker *w, struct dp_conn *c)
{
	(void)w;
	(void)c;
	return 0;
}
static void drv_conn_release(struct dp_worker *w, struct dp_conn *c)
{
	(void)w;
	c->fd = -1;
}
static void drv_wake(struct dp_worker *w) { (void)w; }

static void capture_append(struct dph_capture *k, const struct dp_chain *out)
{
	if (k->len + out->len > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;
		while (cap < k->len + out->len)
			cap *= 2;
		k->buf = (uint8_t *)realloc(k->buf, cap);
		DPH_CHECK(k->buf != NULL);
		k->cap = cap;
	}
	dp_chain_copy_out(out, 0, k->buf + k->len, out->len);
	k->len += out->len;
}

/* As drv_sock.c's flush with a peer that reads everything at once. */
static void drv_conn_flush(struct dp_worker *w, struct dp_conn *c)
{
	struct dph *h = harness_of(w);
	if (c->out.len) {
		DPH_CHECK(c->idx < DPH_MAX_CONNS);
		if (!(h->discard[w->id] & (1u << c->idx)))
			capture_append(&h->cap[w->id][c->idx], &c->out);
		uint64_t n = c->out.len;
		dp_chain_consume(&w->blocks, &c->out, n);
		c->tx += n;
		if (c->state != DP_CONN_CLOSING)
			c->stall_ms = 0;
	}
	if (c->close_when_flushed) {
		dp_conn_set_reason(c, "closed");
		dp_conn_destroy(w, c);
	}
}

static const struct drv_ops dph_drv = {
    .name = "harness",
    .worker_init = drv_worker_init,
    .worker_fini = drv_worker_fini,
    .poll = drv_poll,
    .conn_attach = drv_conn_attach,
    .conn_flush = drv_conn_flush,
    .conn_release = drv_conn_release,
    .wake = drv_wake,
};

/* --- set-up ----------------------------------------------------------------- */

void dph_default_limits(struct dp_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_message_size = 0;
	l->max_conn_buffered = 64u << 20;
	l->max_sessions = 8;
	l->max_links = 16;
	l->handshake_timeout_ms = 0;
	l->link_capacity = 4;
	l->session_window = 8;
	l->max_frame = 65536;
	l->idle_timeout_ms = 0;
}

void dph_init(struct dph *h, unsigned n_workers, enum route_dist dist)
{
	DPH_CHECK(n_workers >= 1 && n_workers <= DPH_MAX_WORKERS);
	memset(h, 0, sizeof(*h));
	for (unsigned i = 0; i < DPH_MAX_LIMITS; i++)
		dph_default_limits(&h->limits[i]);
	h->rules = route_rules_new(dist);
	DPH_CHECK(h->rules != NULL);
	h->master = route_master_new(h->rules);
	DPH_CHECK(h->master != NULL);
	route_master_set_seed(h->master, 42);
	h->sh.n_workers = n_workers;
	h->sh.limits = h->limits;
	h->sh.n_limits = DPH_MAX_LIMITS;
	snprintf(h->sh.router_id, sizeof(h->sh.router_id), "%s", "dph");
	h->sh.pub = route_pub_new(n_workers, route_master_snapshot(h->master));
	DPH_CHECK(h->sh.pub != NULL);
	DPH_CHECK(dp_map_init(&h->regs, 16) == 0);
	for (unsigned i = 0; i < n_workers; i++) {
		/* dp_worker is cache-line aligned */
		h->sh.workers[i] = (struct dp_worker *)aligned_alloc(64, sizeof(struct dp_worker));
		DPH_CHECK(h->sh.workers[i] != NULL);
	}
	for (unsigned i = 0; i < n_workers; i++) {
		DPH_CHECK(dp_worker_init(h->sh.workers[i], &h->sh, i, -1, DPH_MAX_CONNS, &dph_drv) ==
			  0);
		h->sh.workers[i]->drv_state = h;
		h->sh.workers[i]->now_ms = 1000000;
		h->sh.workers[i]->clock_frozen = true; /* the tests drive now_ms */
	}
}

struct dp_worker *dph_worker(struct dph *h, unsigned wi) { return h->sh.workers[wi]; }

void dph_fini(struct dph *h)
{
	for (unsigned i = 0; i < h->sh.n_workers; i++) {
		struct dp_worker *w = h->sh.workers[i];
		for (uint32_t c = 0; c < w->max_conns; c++)
			if (w->conns[c].state != DP_CONN_FREE)
				dp_conn_destroy(w, &w->conns[c]);
	}
	dph_run(h);
	for (unsigned i = 0; i < h->sh.n_workers; i++) {
		struct dp_worker *w = h->sh.workers[i];
		dph_drop_current_blocks(h, i);
		dp_worker_fini(w);
		free(w);
		for (unsigned c = 0; c < DPH_MAX_CONNS; c++) {
			free(h->cap[i][c].buf);
			free(h->raw[i][c]);
		}
	}
	for (uint64_t i = 0; i <= h->regs.mask; i++)
		if (h->regs.slots[i].val)
			free(h->regs.slots[i].val);
	dp_map_fini(&h->regs);
	free(h->replies);
	route_pub_free(h->sh.pub);
	route_master_free(h->master);
	route_rules_free(h->rules);
	memset(h, 0, sizeof(*h));
}

/* --- commands (dp_worker.c process_commands) --------------------------------- */

static void post_cmd(struct dph *h, unsigned wi, uint16_t type, const void *hdr, uint32_t hlen,
		     const void *bytes, uint32_t blen)
{
	struct dp_ring *r = &h->sh.workers[wi]->from_control;
	uint8_t *p = (uint8_t *)dp_ring_reserve(r, type, hlen + blen);
	DPH_CHECK(p != NULL);
	memcpy(p, hdr, hlen);
	if (blen)
		memcpy(p + hlen, bytes, blen);
	dp_ring_commit(r);
}

/* One iteration of the worker's own loop (dp_worker_step), without the
 * wait: the clock is the harness's (clock_frozen; now_ms set by
 * dph_tick), the wall clock real. */
static void worker_iter(struct dp_worker *w)
{
	dp_worker_clock(w);
	dp_worker_step(w);
}

/* --- the fake control (ctl_router.c drain_worker_events, on_attach, publish) -- */

static void queue_reply(struct dph *h, unsigned wi, const struct dp_cmd_attach *cmd,
			const char *addr, size_t addr_len)
{
	if (h->n_replies == h->cap_replies) {
		h->cap_replies = h->cap_replies ? h->cap_replies * 2 : 16;
		h->replies =
		    (struct dph_reply *)realloc(h->replies, h->cap_replies * sizeof(*h->replies));
		DPH_CHECK(h->replies != NULL);
	}
	struct dph_reply *r = &h->replies[h->n_replies++];
	memset(r, 0, sizeof(*r));
	r->worker = wi;
	r->cmd = *cmd;
	if (addr) {
		DPH_CHECK(addr_len < sizeof(r->addr));
		memcpy(r->addr, addr, addr_len);
		r->addr_len = (uint32_t)addr_len;
	}
}

static void refuse(struct dp_cmd_attach *cmd, const char *cond, const char *desc)
{
	cmd->ok = 0;
	snprintf(cmd->condition, sizeof(cmd->condition), "%s", cond);
	snprintf(cmd->description, sizeof(cmd->description), "%s", desc);
}

static void on_attach(struct dph *h, unsigned wi, const struct dp_evt_attach *ev, const char *addr,
		      uint32_t addr_len)
{
	struct dp_cmd_attach cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.link = ev->link;
	cmd.ok = 1;
	char dyn[192];
	const char *reply_addr = NULL;
	size_t reply_len = 0;
	h->attach_events++;
	if (h->refuse_attaches) {
		refuse(&cmd, "amqp:not-found", "refused by the test");
	} else if (ev->outgoing) {
		const char *a = NULL;
		size_t alen = 0;
		if (ev->dynamic) {
			/* qdrouterd's form, deterministic here */
			snprintf(dyn, sizeof(dyn), "amqp:/_topo/0/%s/temp.%u", h->sh.router_id,
				 ++h->dyn_seq);
			a = dyn;
			alen = strlen(dyn);
			reply_addr = dyn;
			reply_len = alen;
		} else if (ev->has_addr) {
			a = addr;
			alen = addr_len;
		}
		if (a == NULL) {
			refuse(&cmd, "amqp:invalid-field",
			       "a receiving link needs a source address or a dynamic source");
		} else {
			struct route_dest d = {ROUTE_DEST_LINK, (uint16_t)wi, ev->link, ev->outstanding,
					       0};
			route_master_add(h->master, (const uint8_t *)a, alen, &d);
			char *copy = (char *)malloc(alen + 1);
			DPH_CHECK(copy != NULL);
			memcpy(copy, a, alen);
			copy[alen] = 0;
			void *old = dp_map_get(&h->regs, ((uint64_t)wi << 32) | ev->link);
			free(old);
			DPH_CHECK(dp_map_put(&h->regs, ((uint64_t)wi << 32) | ev->link, copy) == 0);
			h->table_dirty = true;
		}
	}
	queue_reply(h, wi, &cmd, cmd.ok ? reply_addr : NULL, reply_len);
}

static void on_link_gone(struct dph *h, unsigned wi, const struct dp_evt_link_gone *g)
{
	h->link_gone_events++;
	char *addr = (char *)dp_map_del(&h->regs, ((uint64_t)wi << 32) | g->link);
	if (addr == NULL)
		return;
	route_master_remove(h->master, (const uint8_t *)addr, strlen(addr), (uint16_t)wi, g->link);
	h->table_dirty = true;
	free(addr);
}

static void on_raw(struct dph *h, unsigned wi, const struct dp_evt_raw *e, const uint8_t *b,
		   uint32_t n)
{
	if (e->conn >= DPH_MAX_CONNS)
		return;
	size_t *len = &h->raw_len[wi][e->conn];
	if (e->offset != *len)
		h->raw_gap = true;
	h->raw[wi][e->conn] = (uint8_t *)realloc(h->raw[wi][e->conn], *len + n + 1);
	DPH_CHECK(h->raw[wi][e->conn] != NULL);
	memcpy(h->raw[wi][e->conn] + *len, b, n);
	*len += n;
}

/* Returns whether any event was handled. */
static bool control_round(struct dph *h)
{
	bool any = false;
	for (unsigned wi = 0; wi < h->sh.n_workers; wi++) {
		struct dp_ring *r = &h->sh.workers[wi]->to_control;
		uint16_t type;
		uint32_t len;
		void *p;
		while ((p = dp_ring_peek(r, &type, &len)) != NULL) {
			any = true;
			switch (type) {
			case DP_EVT_RAW: {
				const struct dp_evt_raw *e = (const struct dp_evt_raw *)p;
				on_raw(h, wi, e, (const uint8_t *)(e + 1), len - (uint32_t)sizeof(*e));
				break;
			}
			case DP_EVT_CONN_GONE: {
				const struct dp_evt_conn_gone *e = (const struct dp_evt_conn_gone *)p;
				if (h->n_gone < sizeof(h->gone) / sizeof(h->gone[0])) {
					struct dph_gone *g = &h->gone[h->n_gone++];
					g->worker = wi;
					g->conn = e->conn;
					g->gen = e->gen;
					g->was_open = e->was_open;
					uint32_t rl = len - (uint32_t)sizeof(*e);
					if (rl >= sizeof(g->reason))
						rl = sizeof(g->reason) - 1;
					memcpy(g->reason, e + 1, rl);
					g->reason[rl] = 0;
				}
				break;
			}
			case DP_EVT_ATTACH: {
				const struct dp_evt_attach *e = (const struct dp_evt_attach *)p;
				on_attach(h, wi, e, (const char *)(e + 1), len - (uint32_t)sizeof(*e));
				break;
			}
			case DP_EVT_LINK_GONE:
				on_link_gone(h, wi, (const struct dp_evt_link_gone *)p);
				break;
			default: break;
			}
			dp_ring_next(r);
		}
		dp_ring_release(r);
	}
	/* publish first, then the replies that waited for the new version */
	if (h->table_dirty) {
		h->table_dirty = false;
		struct route_table *t = route_master_snapshot(h->master);
		DPH_CHECK(t != NULL);
		route_pub_publish(h->sh.pub, t);
		any = true;
	}
	for (size_t i = 0; i < h->n_replies; i++) {
		struct dph_reply *r = &h->replies[i];
		post_cmd(h, r->worker, DP_CMD_ATTACH, &r->cmd, sizeof(r->cmd), r->addr, r->addr_len);
		any = true;
	}
	h->n_replies = 0;
	route_pub_reclaim(h->sh.pub);
	return any;
}

static bool worker_busy(struct dp_worker *w)
{
	if (w->n_dirty_links || w->n_dirty_conns || w->xc_wait_head || w->n_xc_acks)
		return true;
	for (unsigned j = 0; j < w->sh->n_workers; j++) {
		struct dp_ring *r = w->xc_in[j];
		if (r && !dp_ring_consumer_idle(r))
			return true;
	}
	return !dp_ring_consumer_idle(&w->from_control);
}

void dph_run(struct dph *h)
{
	for (unsigned round = 0; round < 1000; round++) {
		for (unsigned i = 0; i < h->sh.n_workers; i++)
			worker_iter(h->sh.workers[i]);
		bool any = control_round(h);
		bool busy = false;
		for (unsigned i = 0; i < h->sh.n_workers; i++) {
			struct dp_worker *w = h->sh.workers[i];
			busy |= worker_busy(w);
			/* a table published this round is picked up next iteration */
			busy |= route_table_version(route_pub_acquire(h->sh.pub, w->id)) !=
				w->table_version;
		}
		if (!any && !busy)
			return;
	}
	DPH_CHECK(!"the engine did not settle within 1000 rounds");
}

void dph_tick(struct dph *h, uint64_t now_ms)
{
	for (unsigned i = 0; i < h->sh.n_workers; i++) {
		struct dp_worker *w = h->sh.workers[i];
		w->now_ms = now_ms;
		for (uint32_t c = 0; c < w->max_conns; c++)
			if (w->conns[c].state != DP_CONN_FREE)
				dp_conn_timers(w, &w->conns[c]);
	}
	dph_run(h);
}

/* --- connections ---------------------------------------------------------------- */

uint32_t dph_accept(struct dph *h, unsigned wi, uint16_t listener)
{
	struct dp_worker *w = h->sh.workers[wi];
	uint32_t idx = 0;
	while (idx < w->max_conns && w->conns[idx].state != DP_CONN_FREE)
		idx++;
	DPH_CHECK(idx < w->max_conns);
	uint32_t gen = (++h->next_gen[wi][idx]) & 0xffu;
	h->cap[wi][idx].len = 0;
	h->raw_len[wi][idx] = 0;
	struct dp_cmd_accept a = {-1, idx, gen, listener, (uint8_t)AF_INET};
	post_cmd(h, wi, DP_CMD_ACCEPT, &a, sizeof(a), NULL, 0);
	dph_run(h);
	DPH_CHECK(w->conns[idx].state == DP_CONN_PREOPEN);
	return idx;
}

void dph_handoff(struct dph *h, unsigned wi, uint32_t conn, uint64_t consumed,
		 uint32_t remote_max_frame, uint32_t remote_idle_ms, const uint8_t *out,
		 uint32_t out_len)
{
	struct dp_worker *w = h->sh.workers[wi];
	struct dp_conn *c = &w->conns[conn];
	struct dp_cmd_handoff ho;
	memset(&ho, 0, sizeof(ho));
	ho.conn = conn;
	ho.gen = c->gen;
	ho.consumed = consumed;
	ho.remote_max_frame = remote_max_frame;
	ho.remote_channel_max = 65535;
	ho.remote_idle_ms = remote_idle_ms;
	ho.local_idle_ms = c->lim->idle_timeout_ms;
	ho.max_frame = c->lim->max_frame;
	ho.channel_max = 65535;
	post_cmd(h, wi, DP_CMD_HANDOFF, &ho, sizeof(ho), out, out_len);
	dph_run(h);
}

uint32_t dph_open(struct dph *h, unsigned wi, uint16_t listener, uint32_t remote_max_frame,
		  uint32_t remote_idle_ms)
{
	uint32_t idx = dph_accept(h, wi, listener);
	dph_handoff(h, wi, idx, 0, remote_max_frame, remote_idle_ms, NULL, 0);
	DPH_CHECK(h->sh.workers[wi]->conns[idx].state == DP_CONN_OPEN);
	return idx;
}

struct dp_conn *dph_conn(struct dph *h, unsigned wi, uint32_t conn)
{
	struct dp_conn *c = &h->sh.workers[wi]->conns[conn];
	return c->state == DP_CONN_FREE ? NULL : c;
}

#define DPH_MIN_TAIL 1024u /* as drv_sock.c */

void dph_read(struct dph *h, unsigned wi, uint32_t conn, const uint8_t *data, size_t n)
{
	struct dp_worker *w = h->sh.workers[wi];
	struct dp_conn *c = &w->conns[conn];
	struct dp_block_pool *p = &w->blocks;
	if (c->state == DP_CONN_FREE || n == 0)
		return;
	DPH_CHECK(n <= DP_BLOCK_DATA);
	if (p->in_cur == NULL || DP_BLOCK_DATA - p->in_cur->used < DPH_MIN_TAIL) {
		if (p->in_cur)
			dp_block_unref(p, p->in_cur);
		p->in_cur = dp_block_get(p);
		DPH_CHECK(p->in_cur != NULL);
	}
	struct dp_block *a = p->in_cur;
	uint32_t room = DP_BLOCK_DATA - a->used;
	uint32_t in_a = n < room ? (uint32_t)n : room;
	memcpy(a->data + a->used, data, in_a);
	DPH_CHECK(dp_chain_push(&c->in, a, a->used, in_a) == 0);
	a->used += in_a;
	if (n > in_a) {
		struct dp_block *b = dp_block_get(p);
		DPH_CHECK(b != NULL);
		memcpy(b->data, data + in_a, n - in_a);
		DPH_CHECK(dp_chain_push(&c->in, b, 0, (uint32_t)(n - in_a)) == 0);
		b->used = (uint32_t)(n - in_a);
		dp_block_unref(p, a);
		p->in_cur = b;
	}
	/* another connection's read would land here */
	if (h->read_gap && DP_BLOCK_DATA - p->in_cur->used >= h->read_gap)
		p->in_cur->used += h->read_gap;
	c->rx += n;
	dp_count(w, DP_C_rx_bytes, n);
	dp_conn_input(w, c);
}

void dph_feed(struct dph *h, unsigned wi, uint32_t conn, const uint8_t *data, size_t n,
	      size_t split)
{
	if (split == 0 || split > DP_BLOCK_DATA)
		split = DP_BLOCK_DATA;
	for (size_t off = 0; off < n; off += split)
		dph_read(h, wi, conn, data + off, n - off < split ? n - off : split);
	dph_run(h);
}

const uint8_t *dph_out(struct dph *h, unsigned wi, uint32_t conn, size_t *len)
{
	*len = h->cap[wi][conn].len;
	return h->cap[wi][conn].buf;
}

void dph_out_clear(struct dph *h, unsigned wi, uint32_t conn) { h->cap[wi][conn].len = 0; }

void dph_drop_current_blocks(struct dph *h, unsigned wi)
{
	struct dp_block_pool *p = &h->sh.workers[wi]->blocks;
	if (p->in_cur) {
		dp_block_unref(p, p->in_cur);
		p->in_cur = NULL;
	}
	if (p->out_cur) {
		dp_block_unref(p, p->out_cur);
		p->out_cur = NULL;
	}
}
