/* The worker: pools, the poll loop, commands from control and records
 * from other workers. See dp_worker.h. */

#include "dp_worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const dp_counter_names[DP_C_COUNT] = {
#define DP_COUNTER(name, desc) #name,
#include "dp_counters.def"
#undef DP_COUNTER
};
const char *const dp_drop_names[DP_D_COUNT] = {
#define DP_DROP(name, desc) #name,
#include "dp_drops.def"
#undef DP_DROP
};

#define LINK_CHUNK DP_LINK_CHUNK
#define DLV_CHUNK 1024u
#define COPY_SLAB 4096u
#define TIMER_PERIOD_MS 100u

uint64_t dp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- pools --------------------------------------------------------------- */

static int grow_links(struct dp_worker *w)
{
	if (w->n_link_chunks >= (1u << 24) / LINK_CHUNK)
		return -1;
	struct dp_link **ch = (struct dp_link **)realloc(w->link_chunks,
							 (w->n_link_chunks + 1) * sizeof(*ch));
	if (ch == NULL)
		return -1;
	w->link_chunks = ch;
	struct dp_link *c = (struct dp_link *)calloc(LINK_CHUNK, sizeof(*c));
	if (c == NULL)
		return -1;
	ch[w->n_link_chunks] = c;
	for (uint32_t i = LINK_CHUNK; i-- > 0;) {
		c[i].idx = w->n_link_chunks * LINK_CHUNK + i;
		c[i].next_free = w->free_links;
		w->free_links = &c[i];
	}
	w->n_link_chunks++;
	return 0;
}

struct dp_link *dp_link_alloc(struct dp_worker *w)
{
	if (w->free_links == NULL && grow_links(w) != 0)
		return NULL;
	struct dp_link *l = w->free_links;
	w->free_links = l->next_free;
	uint32_t idx = l->idx, gen = l->gen + 1;
	memset(l, 0, sizeof(*l));
	l->idx = idx;
	l->gen = gen & 0xffu;
	l->state = DP_LINK_PENDING;
	return l;
}


void dp_link_free(struct dp_worker *w, struct dp_link *l)
{
	free(l->addr);
	free(l->pend_buf);
	l->addr = NULL;
	l->pend_buf = NULL;
	l->state = DP_LINK_FREE;
	__atomic_store_n(&l->outstanding, 0, __ATOMIC_RELAXED);
	l->next_free = w->free_links;
	w->free_links = l;
}

static int grow_dlv(struct dp_worker *w)
{
	if (w->n_dlv_chunks >= (1u << 24) / DLV_CHUNK)
		return -1;
	struct dp_delivery **ch = (struct dp_delivery **)realloc(
	    w->dlv_chunks, (w->n_dlv_chunks + 1) * sizeof(*ch));
	if (ch == NULL)
		return -1;
	w->dlv_chunks = ch;
	struct dp_delivery *c = (struct dp_delivery *)calloc(DLV_CHUNK, sizeof(*c));
	if (c == NULL)
		return -1;
	ch[w->n_dlv_chunks] = c;
	for (uint32_t i = DLV_CHUNK; i-- > 0;) {
		c[i].idx = w->n_dlv_chunks * DLV_CHUNK + i;
		c[i].gen = 0;
		c[i].next_free = w->free_dlv;
		w->free_dlv = &c[i];
	}
	w->n_dlv_chunks++;
	return 0;
}

struct dp_delivery *dp_delivery_alloc(struct dp_worker *w)
{
	if (w->free_dlv == NULL && grow_dlv(w) != 0)
		return NULL;
	struct dp_delivery *d = w->free_dlv;
	w->free_dlv = d->next_free;
	uint32_t idx = d->idx, gen = (d->gen + 1) & 0xffu;
	memset(d, 0, offsetof(struct dp_delivery, best_state));
	d->idx = idx;
	d->gen = gen ? gen : 1; /* generation 0 marks a free delivery */
	d->live = true;
	d->origin_worker = -1;
	dp_chain_init(&d->payload);
	w->dlv_live++;
	return d;
}

struct dp_delivery *dp_delivery_lookup(struct dp_worker *w, uint32_t handle)
{
	uint32_t idx = dp_handle_idx(handle);
	if (idx / DLV_CHUNK >= w->n_dlv_chunks)
		return NULL;
	struct dp_delivery *d = &w->dlv_chunks[idx / DLV_CHUNK][idx % DLV_CHUNK];
	if (!d->live || d->gen != dp_handle_gen(handle))
		return NULL;
	return d;
}

void dp_delivery_free(struct dp_worker *w, struct dp_delivery *d)
{
	dp_chain_clear(&w->blocks, &d->payload);
	d->live = false;
	d->gen = (d->gen + 1) & 0xffu; /* stale handles no longer match */
	if (d->gen == 0)
		d->gen = 1;
	d->next_free = w->free_dlv;
	w->free_dlv = d;
	w->dlv_live--;
}

struct dp_copy *dp_copy_alloc(struct dp_worker *w)
{
	if (w->free_copies == NULL) {
		void **s = (void **)realloc(w->copy_slabs, (w->n_copy_slabs + 1) * sizeof(*s));
		if (s == NULL)
			return NULL;
		w->copy_slabs = s;
		struct dp_copy *c = (struct dp_copy *)calloc(COPY_SLAB, sizeof(*c));
		if (c == NULL)
			return NULL;
		s[w->n_copy_slabs++] = c;
		for (uint32_t i = 0; i < COPY_SLAB; i++) {
			c[i].next = w->free_copies;
			w->free_copies = &c[i];
		}
	}
	struct dp_copy *c = w->free_copies;
	w->free_copies = c->next;
	memset(c, 0, sizeof(*c));
	return c;
}

void dp_copy_free(struct dp_worker *w, struct dp_copy *c)
{
	c->d = NULL;
	c->link = NULL;
	c->next = w->free_copies;
	w->free_copies = c;
}

struct dp_conn *dp_conn_lookup(struct dp_worker *w, uint32_t idx, uint32_t gen)
{
	if (idx >= w->max_conns)
		return NULL;
	struct dp_conn *c = &w->conns[idx];
	return (c->state != DP_CONN_FREE && c->gen == gen) ? c : NULL;
}

/* --- rings ---------------------------------------------------------------- */

bool dp_post_control(struct dp_worker *w, uint16_t type, const void *hdr, uint32_t hlen,
		     const void *bytes, uint32_t blen)
{
	uint8_t *p = (uint8_t *)dp_ring_reserve(&w->to_control, type, hlen + blen);
	if (p == NULL)
		return false;
	memcpy(p, hdr, hlen);
	if (blen)
		memcpy(p + hlen, bytes, blen);
	dp_ring_commit(&w->to_control);
	if (w->sh->control_wake)
		w->sh->control_wake(w->sh->control_wake_arg);
	return true;
}

int dp_worker_init(struct dp_worker *w, struct dp_shared *sh, unsigned id, int cpu,
		   uint32_t max_conns, const struct drv_ops *drv)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->cpu = cpu;
	w->sh = sh;
	w->drv = drv;
	w->max_conns = max_conns;
	w->conns = (struct dp_conn *)calloc(max_conns, sizeof(*w->conns));
	if (w->conns == NULL)
		return -1;
	if (dp_ring_init(&w->to_control, 4u << 20) || dp_ring_init(&w->from_control, 4u << 20))
		return -1;
	for (unsigned j = 0; j < sh->n_workers; j++) {
		if (j == id)
			continue;
		w->xc_in[j] = (struct dp_ring *)aligned_alloc(DP_CACHE_LINE, sizeof(struct dp_ring));
		if (w->xc_in[j] == NULL || dp_ring_init(w->xc_in[j], 4u << 20))
			return -1;
	}
	if (dp_block_pool_init(&w->blocks, 256, 0) != 0)
		return -1;
	w->now_ms = dp_now_ms();
	return drv->worker_init(w);
}

void dp_worker_fini(struct dp_worker *w)
{
	w->drv->worker_fini(w);
	for (uint32_t i = 0; i < w->n_link_chunks; i++) {
		for (uint32_t j = 0; j < LINK_CHUNK; j++) {
			free(w->link_chunks[i][j].addr);
			free(w->link_chunks[i][j].pend_buf);
		}
		free(w->link_chunks[i]);
	}
	free(w->link_chunks);
	for (uint32_t i = 0; i < w->n_dlv_chunks; i++)
		free(w->dlv_chunks[i]);
	free(w->dlv_chunks);
	for (uint32_t i = 0; i < w->n_copy_slabs; i++)
		free(w->copy_slabs[i]);
	free(w->copy_slabs);
	free(w->conns);
	free(w->dirty_links);
	free(w->dirty_conns);
	free(w->xc_acks);
	dp_ring_fini(&w->to_control);
	dp_ring_fini(&w->from_control);
	for (unsigned j = 0; j < DP_MAX_WORKERS; j++)
		if (w->xc_in[j]) {
			dp_ring_fini(w->xc_in[j]);
			free(w->xc_in[j]);
		}
	dp_block_pool_fini(&w->blocks);
}

/* --- commands ------------------------------------------------------------- */

static void cmd_accept(struct dp_worker *w, const struct dp_cmd_accept *a, uint32_t len)
{
	uint64_t token = 0;
	if (len >= sizeof(*a) + sizeof(token))
		memcpy(&token, a + 1, sizeof(token));
	if (a->conn >= w->max_conns || w->conns[a->conn].state != DP_CONN_FREE) {
		/* control's bookkeeping went wrong: never reuse a live slot */
		if (a->fd >= 0)
			close(a->fd);
		else if (w->drv->conn_refuse)
			w->drv->conn_refuse(w, token);
		return;
	}
	struct dp_conn *c = &w->conns[a->conn];
	memset(c, 0, sizeof(*c));
	c->idx = a->conn;
	c->gen = a->gen;
	c->fd = a->fd;
	c->drv_token = token;
	c->listener = a->listener;
	c->lim = &w->sh->limits[a->listener < w->sh->n_limits ? a->listener : 0];
	c->state = DP_CONN_PREOPEN;
	c->max_frame_in = 512; /* until Open: AMQP 2.4.1 frames before Open are limited */
	c->max_frame_out = 512;
	c->accept_ms = c->last_rx_ms = c->last_tx_ms = w->now_ms;
	dp_chain_init(&c->in);
	dp_chain_init(&c->out);
	if (w->drv->conn_attach(w, c) != 0) {
		if (a->fd >= 0)
			close(a->fd);
		c->state = DP_CONN_FREE;
		struct dp_evt_conn_gone e;
		memset(&e, 0, sizeof(e));
		e.conn = c->idx;
		e.gen = c->gen;
		dp_post_control(w, DP_EVT_CONN_GONE, &e, sizeof(e), "cannot poll the socket", 22);
		return;
	}
	__atomic_store_n(&w->n_conns, w->n_conns + 1, __ATOMIC_RELAXED);
	dp_count(w, DP_C_conn_accepted, 1);
}

static void cmd_write(struct dp_worker *w, const struct dp_cmd_conn *h, const uint8_t *b,
		      uint32_t n)
{
	struct dp_conn *c = dp_conn_lookup(w, h->conn, h->gen);
	if (c == NULL || c->state != DP_CONN_PREOPEN)
		return;
	if (dp_chain_append_copy(&w->blocks, &c->out, b, n) != 0) {
		dp_conn_destroy(w, c);
		return;
	}
	dp_conn_mark_dirty(w, c);
}

static void cmd_close(struct dp_worker *w, const struct dp_cmd_close *h)
{
	struct dp_conn *c = dp_conn_lookup(w, h->conn, h->gen);
	if (c == NULL)
		return;
	if (h->drop < DP_D_COUNT)
		dp_drop(w, (enum dp_drop_id)h->drop);
	if (h->flush && c->out.len) {
		c->close_when_flushed = true;
		c->state = DP_CONN_CLOSING;
		dp_conn_mark_dirty(w, c);
	} else {
		dp_conn_destroy(w, c);
	}
}

/* Shutdown, phase 1: consumers detach (what they hold settles back to
 * producers, on this worker or, over the rings, on others), pre-Open
 * connections go; phase 2, a moment later, closes the rest with
 * amqp:connection:forced. */
#define SHUTDOWN_SETTLE_MS 200u

static void shutdown_begin(struct dp_worker *w)
{
	w->stopping = true;
	w->close_all_ms = w->now_ms + SHUTDOWN_SETTLE_MS;
	for (uint32_t i = 0; i < w->max_conns; i++) {
		struct dp_conn *c = &w->conns[i];
		if (c->state == DP_CONN_OPEN)
			dp_conn_detach_consumers(w, c);
		else if (c->state == DP_CONN_PREOPEN)
			dp_conn_destroy(w, c);
	}
}

static void shutdown_all(struct dp_worker *w)
{
	w->close_all_ms = 0;
	for (uint32_t i = 0; i < w->max_conns; i++) {
		struct dp_conn *c = &w->conns[i];
		if (c->state == DP_CONN_OPEN)
			dp_conn_fail(w, c, DP_D_COUNT, "amqp:connection:forced",
				     "the router is shutting down");
		else if (c->state == DP_CONN_PREOPEN)
			dp_conn_destroy(w, c);
	}
}

static void process_commands(struct dp_worker *w)
{
	uint16_t type;
	uint32_t len;
	void *p;
	unsigned n = 0;
	while (n++ < 4096 && (p = dp_ring_peek(&w->from_control, &type, &len)) != NULL) {
		switch (type) {
		case DP_CMD_ACCEPT: cmd_accept(w, (const struct dp_cmd_accept *)p, len); break;
		case DP_CMD_WRITE:
			cmd_write(w, (const struct dp_cmd_conn *)p,
				  (const uint8_t *)p + sizeof(struct dp_cmd_conn),
				  len - (uint32_t)sizeof(struct dp_cmd_conn));
			break;
		case DP_CMD_CLOSE: cmd_close(w, (const struct dp_cmd_close *)p); break;
		case DP_CMD_HANDOFF: {
			const struct dp_cmd_handoff *h = (const struct dp_cmd_handoff *)p;
			struct dp_conn *c = dp_conn_lookup(w, h->conn, h->gen);
			if (c && c->state == DP_CONN_PREOPEN)
				dp_conn_handoff(w, c, h, (const uint8_t *)(h + 1),
						len - (uint32_t)sizeof(*h));
			break;
		}
		case DP_CMD_ATTACH:
			dp_link_attach_decided(w, (const struct dp_cmd_attach *)p,
					       (const uint8_t *)p + sizeof(struct dp_cmd_attach),
					       len - (uint32_t)sizeof(struct dp_cmd_attach));
			break;
		case DP_CMD_SHUTDOWN: shutdown_begin(w); break;
		case DP_CMD_REFUSE:
			if (w->drv->conn_refuse)
				w->drv->conn_refuse(w, ((const struct dp_cmd_refuse *)p)->token);
			break;
		default: break;
		}
		dp_ring_next(&w->from_control);
	}
	dp_ring_release(&w->from_control);
}

static void process_xcore(struct dp_worker *w)
{
	for (unsigned j = 0; j < w->sh->n_workers; j++) {
		struct dp_ring *r = w->xc_in[j];
		if (r == NULL)
			continue;
		uint16_t type;
		uint32_t len;
		void *p;
		unsigned n = 0;
		while (n++ < 1024 && (p = dp_ring_peek(r, &type, &len)) != NULL) {
			dp_xc_input(w, j, type, p, len);
			dp_ring_next(r);
		}
		dp_ring_release(r);
	}
}

/* Publish what this iteration reserved on other workers' rings, and wake
 * those that sleep. */
static void commit_xcore(struct dp_worker *w)
{
	for (unsigned j = 0; j < w->sh->n_workers; j++) {
		if (!w->xc_dirty[j])
			continue;
		w->xc_dirty[j] = false;
		struct dp_worker *o = w->sh->workers[j];
		dp_ring_commit(o->xc_in[w->id]);
		if (__atomic_load_n(&o->sleeping, __ATOMIC_SEQ_CST))
			o->drv->wake(o);
	}
}

void dp_dirty_push(struct dp_dirty **v, uint32_t *n, uint32_t *cap, void *p, uint32_t gen)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 256;
		struct dp_dirty *nv = (struct dp_dirty *)realloc(*v, nc * sizeof(*nv));
		if (nv == NULL)
			abort(); /* the worker cannot track its work: nothing sane is left */
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct dp_dirty){p, gen};
}

void dp_worker_flush(struct dp_worker *w)
{
	/* links first: they append to their connections' output; entries
	 * appended while this runs are handled in the same pass */
	for (uint32_t i = 0; i < w->n_dirty_links; i++) {
		struct dp_link *l = (struct dp_link *)w->dirty_links[i].p;
		if (l->gen != w->dirty_links[i].gen || !l->dirty)
			continue; /* freed (and maybe reused) since it was queued */
		l->dirty = false;
		if (l->state == DP_LINK_ACTIVE && l->outgoing)
			dp_link_pump(w, l);
	}
	w->n_dirty_links = 0;
	for (uint32_t i = 0; i < w->n_dirty_conns; i++) {
		struct dp_conn *c = (struct dp_conn *)w->dirty_conns[i].p;
		if (c->gen != w->dirty_conns[i].gen || !c->dirty)
			continue;
		c->dirty = false;
		if (c->state != DP_CONN_FREE)
			w->drv->conn_flush(w, c);
	}
	w->n_dirty_conns = 0;
}

static void run_timers(struct dp_worker *w)
{
	if (w->now_ms < w->next_timer_ms)
		return;
	w->next_timer_ms = w->now_ms + TIMER_PERIOD_MS;
	for (uint32_t i = 0; i < w->max_conns; i++)
		if (w->conns[i].state != DP_CONN_FREE)
			dp_conn_timers(w, &w->conns[i]);
}

static bool has_work(struct dp_worker *w)
{
	if (w->n_dirty_links || w->n_dirty_conns || w->xc_wait_head || w->n_xc_acks)
		return true;
	if (!dp_ring_consumer_idle(&w->from_control))
		return true;
	for (unsigned j = 0; j < w->sh->n_workers; j++)
		if (w->xc_in[j] && !dp_ring_consumer_idle(w->xc_in[j]))
			return true;
	return false;
}

/* A quiescent point: no pointer into an older table is held across it
 * (DESIGN.md: workers move past old versions, then control frees them).
 * Versions, not pointers, tell a change: a freed table's address may come
 * back for a newer one. */
static void adopt_table(struct dp_worker *w)
{
	const struct route_table *t = route_pub_acquire(w->sh->pub, w->id);
	uint64_t v = route_table_version(t);
	w->table = t;
	if (v != w->table_version) {
		w->table_version = v;
		dp_count(w, DP_C_table_versions, 1);
		dp_links_table_changed(w);
	}
}

void dp_worker_resume(struct dp_worker *w)
{
	if (w->offline) {
		route_pub_online(w->sh->pub, w->id);
		w->offline = false;
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_SEQ_CST);
	}
	adopt_table(w);
}

bool dp_worker_step(struct dp_worker *w)
{
	adopt_table(w);
	if (!w->clock_frozen) {
		w->now_ms = dp_now_ms();
		dp_worker_clock(w);
	}
	process_commands(w);
	process_xcore(w);
	if (w->xc_wait_head || w->n_xc_acks)
		dp_xc_retry(w);
	dp_worker_flush(w);
	commit_xcore(w);
	run_timers(w);
	if (w->close_all_ms && w->now_ms >= w->close_all_ms)
		shutdown_all(w);
	return !(w->stopping && w->close_all_ms == 0 && w->n_conns == 0 &&
		 w->xc_wait_head == NULL && w->n_xc_acks == 0);
}

void *dp_worker_main(void *arg)
{
	struct dp_worker *w = (struct dp_worker *)arg;
	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	char name[16];
	snprintf(name, sizeof(name), "rr-worker-%u", w->id);
	pthread_setname_np(pthread_self(), name);

	while (dp_worker_step(w)) {

		int timeout = 0;
		/* a driver that will not block this turn (dpdk, spinning)
		 * stays online: it passes dp_worker_step's adopt_table every
		 * turn, and a sleeping flag nobody needs to see is not set */
		if (!has_work(w) && (w->drv->may_block == NULL || w->drv->may_block(w))) {
			/* sleep protocol: announce, re-check, then block; a waker
			 * that sees sleeping writes the wake-up fd */
			__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
			if (!has_work(w)) {
				/* a driver that keeps the clock (clock_frozen: dpdk's
				 * TSC) spares the loop a clock_gettime per idle turn */
				uint64_t now = w->clock_frozen ? w->now_ms : dp_now_ms();
				timeout = w->next_timer_ms > now ? (int)(w->next_timer_ms - now) : 0;
				/* from here until dp_worker_resume the worker touches
				 * no table: the driver resumes it before it handles
				 * anything it waited for */
				route_pub_offline(w->sh->pub, w->id);
				w->offline = true;
			} else {
				__atomic_store_n(&w->sleeping, 0, __ATOMIC_SEQ_CST);
			}
		}
		w->drv->poll(w, timeout);
		dp_worker_resume(w); /* if the driver returned without events */
	}
	route_pub_offline(w->sh->pub, w->id);
	struct dp_evt_conn e = {0, 0};
	while (!dp_post_control(w, DP_EVT_STOPPED, &e, sizeof(e), NULL, 0))
		usleep(1000);
	return NULL;
}
