/* The control thread at run time: see ctl_router.h. */
#include "ctl_router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "ctl_log.h"
#include "ctl_router_int.h"
#include "drv_sock.h"
#ifdef RR_HAVE_DPDK
#include "drv_dpdk.h"
#endif

#define TAG_LISTENER 1u
#define TAG_WAKE 2u
#define TAG_SIGNAL 3u
#define TAG_STATS 4u
#define SHUTDOWN_GRACE_MS 10000u

static uint64_t tag(unsigned kind, unsigned idx) { return ((uint64_t)kind << 32) | idx; }

/* --- posting to workers ---------------------------------------------------- */

void ctl_post(struct ctl_rt *rt, unsigned worker, uint16_t type, const void *hdr, uint32_t hlen,
	      const void *bytes, uint32_t blen)
{
	struct dp_worker *w = &rt->workers[worker];
	uint8_t *p;
	/* the worker drains its command ring every loop iteration; a full
	 * ring means it is busy for a moment: wait for it */
	while ((p = (uint8_t *)dp_ring_reserve(&w->from_control, type, hlen + blen)) == NULL) {
		w->drv->wake(w);
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	memcpy(p, hdr, hlen);
	if (blen)
		memcpy(p + hlen, bytes, blen);
	dp_ring_commit(&w->from_control);
	if (__atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST))
		w->drv->wake(w);
}

static void control_wake(void *arg)
{
	struct ctl_rt *rt = (struct ctl_rt *)arg;
	if (__atomic_load_n(&rt->sleeping, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		ssize_t r = write(rt->wake_fd, &one, sizeof(one));
		(void)r;
	}
}

/* --- listeners ------------------------------------------------------------- */

static int listen_on(struct ctl_rt *rt, struct ctl_listener *li)
{
	const struct ctl_endpoint *ep = li->ep;
	char port[8];
	snprintf(port, sizeof(port), "%u", ep->port);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	const char *host = ep->host && ep->host[0] ? ep->host : NULL;
	int e = getaddrinfo(host, port, &hints, &res);
	if (e != 0) {
		ctl_log("SERVER", CTL_LEVEL_CRITICAL, "listener %s (line %u): %s", li->name, ep->line,
			gai_strerror(e));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && host && strcmp(host, "::") == 0) {
			int zero = 0; /* "::" takes IPv4 too, as qdrouterd's listeners do */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		ctl_log("SERVER", CTL_LEVEL_CRITICAL, "listener %s (line %u): cannot listen: %s",
			li->name, ep->line, strerror(errno));
		return -1;
	}
	li->fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = tag(TAG_LISTENER, li->idx)}};
	epoll_ctl(rt->ep, EPOLL_CTL_ADD, fd, &ev);
	ctl_log("SERVER", CTL_LEVEL_NOTICE, "Listening on %s", li->name);
	return 0;
}

static unsigned least_loaded(struct ctl_rt *rt)
{
	unsigned best = 0;
	for (unsigned i = 1; i < rt->n_workers; i++)
		if (rt->slots[i].live < rt->slots[best].live)
			best = i;
	return best;
}

static void peer_name(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, n, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(buf, n, "[%s]:%u", host, port);
	} else {
		snprintf(buf, n, "?");
	}
}

/* maxConnections and a slot in worker wi's pool, and the handshake state;
 * false (refused, counted and logged, or out of memory) if not. */
static bool admit(struct ctl_rt *rt, unsigned wi, struct ctl_listener *li, const char *peer,
		  uint32_t *idx_out, uint32_t *gen_out)
{
	struct ctl_slots *sl_ = &rt->slots[wi];
	if (rt->conns_live >= rt->max_conns || sl_->n_free == 0) {
		rt->refused_max_conns++;
		ctl_log("SERVER", CTL_LEVEL_WARNING,
			"Connection from %s refused: maxConnections (%llu) reached", peer,
			(unsigned long long)rt->max_conns);
		return false;
	}
	uint32_t idx = sl_->free_idx[--sl_->n_free];
	uint32_t gen = ++sl_->gen[idx];
	struct ctl_hs *hs = ctl_hs_new(rt, wi, idx, gen, li->idx, peer);
	if (hs == NULL || dp_map_put(&rt->hs, ((uint64_t)wi << 32) | idx, hs) != 0) {
		if (hs)
			ctl_hs_free(rt, hs);
		sl_->free_idx[sl_->n_free++] = idx;
		return false;
	}
	sl_->live++;
	rt->conns_live++;
	rt->accepted++;
	*idx_out = idx;
	*gen_out = gen;
	return true;
}

static void accept_on(struct ctl_rt *rt, struct ctl_listener *li)
{
	for (int k = 0; k < 256; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(li->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				ctl_log("SERVER", CTL_LEVEL_ERROR, "accept on %s: %s", li->name,
					strerror(errno));
			return;
		}
		char peer[64];
		peer_name(&ss, peer, sizeof(peer));
		unsigned wi = least_loaded(rt);
		uint32_t idx, gen;
		if (!admit(rt, wi, li, peer, &idx, &gen)) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct dp_cmd_accept a = {fd, idx, gen, li->idx, (uint8_t)ss.ss_family};
		ctl_post(rt, wi, DP_CMD_ACCEPT, &a, sizeof(a), NULL, 0);
		ctl_log("SERVER", CTL_LEVEL_DEBUG, "[C%u.%u] Accepted connection from %s on %s", wi,
			idx, peer, li->name);
	}
}

/* A driver's own TCP accepted a connection on worker wi (the flow's owner:
 * no choice of worker): the same accounting as accept_on, the answer by
 * command (DESIGN.md handoff; docs/adr/0005-dpdk-driver.md). */
static void on_native_new(struct ctl_rt *rt, unsigned wi, const struct dp_evt_native_new *e)
{
	char peer[64];
	snprintf(peer, sizeof(peer), "%u.%u.%u.%u:%u", e->peer_addr >> 24, (e->peer_addr >> 16) & 255,
		 (e->peer_addr >> 8) & 255, e->peer_addr & 255, e->peer_port);
	uint32_t idx, gen;
	struct ctl_listener *li = e->listener < rt->n_listeners ? &rt->listeners[e->listener] : NULL;
	if (rt->stopping || li == NULL || !admit(rt, wi, li, peer, &idx, &gen)) {
		struct dp_cmd_refuse r = {e->token};
		ctl_post(rt, wi, DP_CMD_REFUSE, &r, sizeof(r), NULL, 0);
		return;
	}
	struct dp_cmd_accept a = {-1, idx, gen, li->idx, AF_INET};
	ctl_post(rt, wi, DP_CMD_ACCEPT, &a, sizeof(a), &e->token, sizeof(e->token));
	ctl_log("SERVER", CTL_LEVEL_DEBUG, "[C%u.%u] Accepted connection from %s on %s", wi, idx,
		peer, li->name);
}

/* --- events from workers ---------------------------------------------------- */

static uint64_t next_rand(struct ctl_rt *rt)
{
	/* xorshift64*: dynamic address suffixes need to be unique, not secret */
	rt->rand_state ^= rt->rand_state >> 12;
	rt->rand_state ^= rt->rand_state << 25;
	rt->rand_state ^= rt->rand_state >> 27;
	return rt->rand_state * 0x2545F4914F6CDD1Dull;
}

static void dynamic_address(struct ctl_rt *rt, char *buf, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_";
	do {
		/* qdrouterd's form: amqp:/_topo/0/<router-id>/temp.<random> */
		char rnd[17];
		uint64_t r1 = next_rand(rt), r2 = next_rand(rt);
		for (int i = 0; i < 16; i++) {
			uint64_t r = i < 8 ? r1 >> (i * 8) : r2 >> ((i - 8) * 8);
			rnd[i] = alphabet[r & 63u];
		}
		rnd[16] = 0;
		snprintf(buf, n, "amqp:/_topo/0/%s/temp.%s", rt->router_id, rnd);
	} while (route_master_exists(rt->master, (const uint8_t *)buf, strlen(buf)));
}

static void queue_reply(struct ctl_rt *rt, unsigned worker, const struct dp_cmd_attach *cmd,
			const char *addr)
{
	if (rt->n_replies == rt->cap_replies) {
		size_t cap = rt->cap_replies ? rt->cap_replies * 2 : 64;
		struct ctl_pending_reply *n =
		    (struct ctl_pending_reply *)realloc(rt->replies, cap * sizeof(*n));
		if (n == NULL)
			abort();
		rt->replies = n;
		rt->cap_replies = cap;
	}
	struct ctl_pending_reply *r = &rt->replies[rt->n_replies++];
	r->worker = (uint16_t)worker;
	r->cmd = *cmd;
	r->addr = addr ? strdup(addr) : NULL;
}

static void refuse(struct dp_cmd_attach *cmd, const char *cond, const char *desc)
{
	cmd->ok = 0;
	snprintf(cmd->condition, sizeof(cmd->condition), "%s", cond);
	snprintf(cmd->description, sizeof(cmd->description), "%s", desc);
}

static void on_attach(struct ctl_rt *rt, unsigned wi, const struct dp_evt_attach *ev,
		      const char *addr, uint32_t addr_len)
{
	struct dp_cmd_attach cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.link = ev->link;
	cmd.ok = 1;
	char dyn[256];
	const char *reply_addr = NULL;
	if (ev->n_links > rt->cfg->dataplane.limits.max_links) {
		refuse(&cmd, "amqp:resource-limit-exceeded", "too many links on this connection");
	} else if (ev->outgoing) {
		const char *a = NULL;
		size_t alen = 0;
		if (ev->dynamic) {
			dynamic_address(rt, dyn, sizeof(dyn));
			a = dyn;
			alen = strlen(dyn);
			reply_addr = dyn;
		} else if (ev->has_addr) {
			a = addr;
			alen = addr_len;
		}
		if (a == NULL) {
			refuse(&cmd, "amqp:invalid-field",
			       "a receiving link needs a source address or a dynamic source");
		} else if (route_rules_match(rt->rules, (const uint8_t *)a, alen) == ROUTE_UNAVAILABLE) {
			refuse(&cmd, "amqp:not-found", "the address is configured as unavailable");
		} else {
			struct route_dest d = {ROUTE_DEST_LINK, (uint16_t)wi, ev->link, ev->outstanding, 0};
			route_master_add(rt->master, (const uint8_t *)a, alen, &d);
			char *copy = strndup(a, alen);
			if (copy)
				dp_map_put(&rt->regs, ((uint64_t)wi << 32) | ev->link, copy);
			rt->table_dirty = true;
		}
	} else if (ev->has_addr &&
		   route_rules_match(rt->rules, (const uint8_t *)addr, addr_len) == ROUTE_UNAVAILABLE) {
		refuse(&cmd, "amqp:not-found", "the address is configured as unavailable");
	}
	queue_reply(rt, wi, &cmd, cmd.ok ? reply_addr : NULL);
}

static void on_link_gone(struct ctl_rt *rt, unsigned wi, const struct dp_evt_link_gone *g)
{
	char *addr = (char *)dp_map_del(&rt->regs, ((uint64_t)wi << 32) | g->link);
	if (addr == NULL)
		return;
	route_master_remove(rt->master, (const uint8_t *)addr, strlen(addr), (uint16_t)wi, g->link);
	rt->table_dirty = true;
	free(addr);
}

static void on_conn_gone(struct ctl_rt *rt, unsigned wi, const struct dp_evt_conn_gone *e,
			 const char *reason, uint32_t reason_len)
{
	ctl_log("SERVER", e->was_open ? CTL_LEVEL_INFO : CTL_LEVEL_DEBUG,
		"[C%u.%u] Connection closed: %.*s (%llu bytes in, %llu out)", wi, e->conn,
		(int)reason_len, reason, (unsigned long long)e->rx_bytes,
		(unsigned long long)e->tx_bytes);
	struct ctl_hs *hs = (struct ctl_hs *)dp_map_del(&rt->hs, ((uint64_t)wi << 32) | e->conn);
	if (hs)
		ctl_hs_free(rt, hs);
	struct ctl_slots *s = &rt->slots[wi];
	if (e->conn < rt->workers[wi].max_conns && s->gen[e->conn] == (uint8_t)e->gen) {
		s->free_idx[s->n_free++] = e->conn;
		s->live--;
		rt->conns_live--;
	}
}

static void drain_worker_events(struct ctl_rt *rt)
{
	for (unsigned wi = 0; wi < rt->n_workers; wi++) {
		struct dp_ring *r = &rt->workers[wi].to_control;
		uint16_t type;
		uint32_t len;
		void *p;
		while ((p = dp_ring_peek(r, &type, &len)) != NULL) {
			switch (type) {
			case DP_EVT_RAW: {
				const struct dp_evt_raw *e = (const struct dp_evt_raw *)p;
				struct ctl_hs *hs = (struct ctl_hs *)dp_map_get(
				    &rt->hs, ((uint64_t)wi << 32) | e->conn);
				if (hs && hs->gen == e->gen)
					ctl_hs_input(rt, hs, e->offset, (const uint8_t *)(e + 1),
						     len - sizeof(*e));
				if (hs && hs->phase == HS_DONE) {
					dp_map_del(&rt->hs, ((uint64_t)wi << 32) | e->conn);
					ctl_hs_free(rt, hs);
				}
				break;
			}
			case DP_EVT_CONN_GONE: {
				const struct dp_evt_conn_gone *e = (const struct dp_evt_conn_gone *)p;
				on_conn_gone(rt, wi, e, (const char *)(e + 1), len - (uint32_t)sizeof(*e));
				break;
			}
			case DP_EVT_ATTACH: {
				const struct dp_evt_attach *e = (const struct dp_evt_attach *)p;
				on_attach(rt, wi, e, (const char *)(e + 1), len - (uint32_t)sizeof(*e));
				break;
			}
			case DP_EVT_LINK_GONE:
				on_link_gone(rt, wi, (const struct dp_evt_link_gone *)p);
				break;
			case DP_EVT_STOPPED: rt->stopped_workers++; break;
			case DP_EVT_NATIVE_NEW:
				on_native_new(rt, wi, (const struct dp_evt_native_new *)p);
				break;
			default: break;
			}
			dp_ring_next(r);
		}
		dp_ring_release(r);
	}
}

/* A new table version, then the attach replies that waited for it (so a
 * consumer's address is routable everywhere once its link is attached). */
static void publish(struct ctl_rt *rt)
{
	if (rt->table_dirty) {
		rt->table_dirty = false;
		struct route_table *t = route_master_snapshot(rt->master);
		if (t) {
			route_pub_publish(rt->sh.pub, t);
			for (unsigned i = 0; i < rt->n_workers; i++)
				rt->workers[i].drv->wake(&rt->workers[i]);
		}
	}
	for (size_t i = 0; i < rt->n_replies; i++) {
		struct ctl_pending_reply *r = &rt->replies[i];
		ctl_post(rt, r->worker, DP_CMD_ATTACH, &r->cmd, sizeof(r->cmd), r->addr,
			 r->addr ? (uint32_t)strlen(r->addr) : 0);
		free(r->addr);
	}
	rt->n_replies = 0;
	route_pub_reclaim(rt->sh.pub);
}

/* --- start and stop ------------------------------------------------------- */

static enum route_dist dist_of(enum ctl_distribution d)
{
	return d == CTL_DIST_CLOSEST ? ROUTE_CLOSEST
	       : d == CTL_DIST_MULTICAST ? ROUTE_MULTICAST
				       : ROUTE_BALANCED;
}

static void sasl_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	/* Cyrus reports a refused password as an error; the router logs each
	 * authentication failure once itself (warning), so Cyrus's own lines
	 * go one level lower */
	static const enum ctl_log_level levels[] = {CTL_LEVEL_INFO, CTL_LEVEL_INFO,
						    CTL_LEVEL_DEBUG, CTL_LEVEL_DEBUG};
	ctl_log("AUTHSERVICE", levels[level >= 0 && level < 4 ? level : 3], "Cyrus SASL: %s", msg);
}

static int setup_routing(struct ctl_rt *rt)
{
	const struct ctl_config *cfg = rt->cfg;
	rt->rules = route_rules_new(dist_of(cfg->router.default_distribution));
	if (rt->rules == NULL)
		return -1;
	for (size_t i = 0; i < cfg->n_addresses; i++) {
		const struct ctl_address *a = &cfg->addresses[i];
		char err[160];
		if (route_rules_add(rt->rules, a->prefix ? a->prefix : a->pattern, a->pattern != NULL,
				    dist_of(a->distribution), err, sizeof(err)) != 0) {
			ctl_log("ROUTER", CTL_LEVEL_CRITICAL, "%s:%u: address: %s", cfg->file, a->line,
				err);
			return -1;
		}
	}
	rt->master = route_master_new(rt->rules);
	if (rt->master == NULL)
		return -1;
	/* a seed clients cannot guess, so they cannot pick colliding addresses */
	route_master_set_seed(rt->master, next_rand(rt));
	struct route_table *t = route_master_snapshot(rt->master);
	rt->sh.pub = route_pub_new(rt->n_workers, t);
	return rt->sh.pub ? 0 : -1;
}

static void fill_limits(struct dp_limits *d, const struct ctl_limits *l)
{
	d->max_message_size = l->max_message_size;
	d->max_conn_buffered = l->max_conn_buffered;
	d->max_sessions = l->max_sessions;
	d->max_links = l->max_links;
	d->handshake_timeout_ms = l->handshake_timeout_ms;
	d->link_capacity = l->link_capacity;
	d->session_window = l->session_window;
	d->max_frame = l->max_frame_size;
	d->idle_timeout_ms = l->idle_timeout_ms;
}

static void begin_shutdown(struct ctl_rt *rt)
{
	if (rt->stopping)
		return;
	rt->stopping = true;
	ctl_log("SERVER", CTL_LEVEL_NOTICE,
		"Shutting down: closing connections with amqp:connection:forced");
	for (size_t i = 0; i < rt->n_listeners; i++)
		if (rt->listeners[i].fd >= 0) {
			epoll_ctl(rt->ep, EPOLL_CTL_DEL, rt->listeners[i].fd, NULL);
			close(rt->listeners[i].fd);
			rt->listeners[i].fd = -1;
		}
	for (unsigned i = 0; i < rt->n_workers; i++)
		ctl_post(rt, i, DP_CMD_SHUTDOWN, "", 0, NULL, 0);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	rt->stop_deadline_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
			       SHUTDOWN_GRACE_MS;
}

static void on_signal(struct ctl_rt *rt)
{
	struct signalfd_siginfo si;
	while (read(rt->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			ctl_log_reopen();
		else
			begin_shutdown(rt);
	}
}

static uint32_t conns_per_worker(const struct ctl_config *cfg, unsigned n_workers)
{
	/* every connection needs a file descriptor: never more slots than
	 * the process may open */
	struct rlimit rl;
	uint64_t fds = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fds = rl.rlim_cur;
	uint64_t max = cfg->dataplane.limits.max_connections;
	if (max > fds)
		max = fds;
	uint64_t per = max / n_workers + 1;
	return (uint32_t)(per > 1 ? per : 2);
}

int ctl_router_run(const struct ctl_config *cfg, const char *version)
{
	struct ctl_rt *rt = (struct ctl_rt *)calloc(1, sizeof(*rt));
	if (rt == NULL)
		return 1;
	int status = 1;
	pthread_t *threads = NULL;
#ifdef RR_HAVE_DPDK
	bool dpdk_up = false;
	unsigned n_launched = 0;
#endif
	rt->cfg = cfg;
	rt->version = version;
	rt->ep = rt->wake_fd = rt->sig_fd = rt->stats_fd = -1;
	snprintf(rt->router_id, sizeof(rt->router_id), "%s",
		 cfg->router.id ? cfg->router.id : "rpcrouter");
	rt->n_workers = cfg->dataplane.workers ? cfg->dataplane.workers : 1;
	if (rt->n_workers > DP_MAX_WORKERS)
		rt->n_workers = DP_MAX_WORKERS;
	rt->rand_state = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;
	{
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max; /* as many connections as the system allows */
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	dp_map_init(&rt->hs, 64);
	dp_map_init(&rt->regs, 64);

	/* block the signals before any thread starts: only signalfd sees them */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	rt->ep = epoll_create1(EPOLL_CLOEXEC);
	rt->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rt->sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (rt->ep < 0 || rt->wake_fd < 0 || rt->sig_fd < 0)
		goto out;
	struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = tag(TAG_WAKE, 0)}};
	epoll_ctl(rt->ep, EPOLL_CTL_ADD, rt->wake_fd, &ev);
	ev.data.u64 = tag(TAG_SIGNAL, 0);
	epoll_ctl(rt->ep, EPOLL_CTL_ADD, rt->sig_fd, &ev);

	/* listeners: limits and SASL per listener */
	rt->n_listeners = cfg->n_listeners;
	rt->listeners = (struct ctl_listener *)calloc(rt->n_listeners + 1, sizeof(*rt->listeners));
	rt->limits = (struct dp_limits *)calloc(rt->n_listeners + 1, sizeof(*rt->limits));
	if (rt->listeners == NULL || rt->limits == NULL)
		goto out;
	ctl_sasl_set_log(sasl_log, NULL);
	if (cfg->router.sasl_config_dir) {
		char err[512];
		if (ctl_sasl_global_init(cfg->router.sasl_config_dir, cfg->router.sasl_config_name,
					 err, sizeof(err)) != RR_OK) {
			ctl_log("AUTHSERVICE", CTL_LEVEL_CRITICAL, "%s", err);
			goto out;
		}
	}
	for (size_t i = 0; i < rt->n_listeners; i++) {
		struct ctl_listener *li = &rt->listeners[i];
		li->fd = -1;
		li->idx = (uint16_t)i;
		li->ep = &cfg->listeners[i];
		ctl_addr_format(li->ep->host, li->ep->port, li->name, sizeof(li->name));
		li->sasl.config_dir = cfg->router.sasl_config_dir;
		li->sasl.config_name = cfg->router.sasl_config_name;
		li->sasl.mechanisms = li->ep->sasl_mechanisms;
		li->sasl.authenticate_peer = li->ep->authenticate_peer;
		char mechs[512], why[512];
		if (!ctl_sasl_server_mechs(&li->sasl, mechs, sizeof(mechs), why, sizeof(why))) {
			ctl_log("AUTHSERVICE", CTL_LEVEL_CRITICAL, "%s:%u: listener %s: %s", cfg->file,
				li->ep->line, li->name, why);
			goto out;
		}
		if (why[0])
			ctl_log("AUTHSERVICE", CTL_LEVEL_WARNING, "%s:%u: listener %s: %s", cfg->file,
				li->ep->line, li->name, why);
		ctl_log("AUTHSERVICE", CTL_LEVEL_INFO, "listener %s offers SASL %s", li->name, mechs);
		fill_limits(&rt->limits[i], &li->ep->limits);
	}
	rt->sh.limits = rt->limits;
	rt->sh.n_limits = (unsigned)rt->n_listeners;
	rt->sh.n_workers = rt->n_workers;
	rt->sh.control_wake = control_wake;
	rt->sh.control_wake_arg = rt;
	snprintf(rt->sh.router_id, sizeof(rt->sh.router_id), "%s", rt->router_id);
	rt->max_conns = cfg->dataplane.limits.max_connections;
	if (setup_routing(rt) != 0)
		goto out;

	/* the driver: the socket driver needs nothing here; the dpdk driver
	 * initialises the EAL (this thread becomes the main lcore), the port
	 * and its queues, and takes the listeners for its own TCP */
	const struct drv_ops *ops = &drv_sock_ops;
	bool dpdk = cfg->dataplane.driver == CTL_DRIVER_DPDK;
#ifdef RR_HAVE_DPDK
	if (dpdk) {
		const struct ctl_dpdk *dd = &cfg->dataplane.dpdk;
		struct drv_dpdk_config dc = {dd->eal, dd->ports, dd->addr, dd->prefix_len, dd->gateway,
					     dd->idle_backoff_us, dd->fault, rt->n_workers,
					     cfg->dataplane.hugepages, dd->n_ports, {{0}}, 0};
		dc.mtu = (uint16_t)dd->mtu;
		/* every port of dpdkPorts (';'-separated) with its address */
		for (unsigned p = 0; p < dd->n_ports && p < DRV_DPDK_MAX_PORTS; p++)
			dc.port[p] = (struct drv_dpdk_port_config){
			    dd->port[p].spec, dd->port[p].addr, dd->port[p].prefix_len,
			    dd->port[p].gateway};
		char err[512];
		dpdk_up = true; /* torn down at the end even when the set-up fails half way */
		if (drv_dpdk_setup(&dc, err, sizeof(err)) != 0) {
			ctl_log("SERVER", CTL_LEVEL_CRITICAL, "%s:%u: dataplane: dpdk driver: %s",
				cfg->file, dd->line, err);
			goto out;
		}
		for (size_t i = 0; i < rt->n_listeners; i++) {
			const struct ctl_endpoint *ep = rt->listeners[i].ep;
			struct in_addr in;
			uint32_t a = 0; /* any: the config checked the host is ours or any */
			if (ep->host && inet_pton(AF_INET, ep->host, &in) == 1)
				a = ntohl(in.s_addr);
			if (drv_dpdk_add_listener((uint16_t)i, a, ep->port) != 0) {
				ctl_log("SERVER", CTL_LEVEL_CRITICAL,
					"%s:%u: listener %s: the dpdk driver takes at most 16 listeners",
					cfg->file, ep->line, rt->listeners[i].name);
				goto out;
			}
		}
		ops = &drv_dpdk_ops;
	}
#else
	if (dpdk) {
		ctl_log("SERVER", CTL_LEVEL_CRITICAL, "this rpcrouterd was built without DPDK");
		goto out;
	}
#endif

	/* workers */
	uint32_t per = conns_per_worker(cfg, rt->n_workers);
	/* the dpdk driver's flows go to the worker the steering hash picks,
	 * not the least loaded: any worker may own every connection */
	if (dpdk)
		per = cfg->dataplane.limits.max_connections + 1;
	rt->workers = (struct dp_worker *)aligned_alloc(64, rt->n_workers * sizeof(*rt->workers));
	rt->slots = (struct ctl_slots *)calloc(rt->n_workers, sizeof(*rt->slots));
	threads = (pthread_t *)calloc(rt->n_workers, sizeof(*threads));
	if (rt->workers == NULL || rt->slots == NULL || threads == NULL)
		goto out;
	for (unsigned i = 0; i < rt->n_workers; i++)
		rt->sh.workers[i] = &rt->workers[i];
	for (unsigned i = 0; i < rt->n_workers; i++) {
		int cpu = cfg->dataplane.n_cpus ? (int)cfg->dataplane.cpus[i % cfg->dataplane.n_cpus]
						: -1;
#ifdef RR_HAVE_DPDK
		if (dpdk)
			cpu = drv_dpdk_worker_cpu(i); /* its lcore's (ADR 0005) */
#endif
		if (dp_worker_init(&rt->workers[i], &rt->sh, i, cpu, per, ops) != 0) {
			ctl_log("SERVER", CTL_LEVEL_CRITICAL, "worker %u: cannot allocate its pools", i);
			goto out;
		}
		struct ctl_slots *s = &rt->slots[i];
		s->free_idx = (uint32_t *)malloc(per * sizeof(uint32_t));
		s->gen = (uint8_t *)calloc(per, 1);
		if (s->free_idx == NULL || s->gen == NULL)
			goto out;
		for (uint32_t k = 0; k < per; k++)
			s->free_idx[k] = per - 1 - k;
		s->n_free = per;
	}
	for (size_t i = 0; i < rt->n_listeners && !dpdk; i++)
		if (listen_on(rt, &rt->listeners[i]) != 0)
			goto out;
	if (ctl_stats_listen(rt) != 0)
		goto out;
	for (unsigned i = 0; i < rt->n_workers; i++) {
#ifdef RR_HAVE_DPDK
		if (dpdk) {
			if (drv_dpdk_launch(&rt->workers[i]) != 0) {
				ctl_log("SERVER", CTL_LEVEL_CRITICAL, "cannot launch worker %u", i);
				goto out;
			}
			n_launched++;
			continue;
		}
#endif
		if (pthread_create(&threads[i], NULL, dp_worker_main, &rt->workers[i]) != 0) {
			ctl_log("SERVER", CTL_LEVEL_CRITICAL, "cannot start worker %u", i);
			goto out;
		}
	}
	ctl_log("SERVER", CTL_LEVEL_NOTICE,
		"rpcrouterd %s: router %s (%s), %u worker%s (%s driver), %zu listener%s", version,
		rt->router_id, cfg->router.mode ? cfg->router.mode : "standalone", rt->n_workers,
		rt->n_workers == 1 ? "" : "s", ops->name, rt->n_listeners,
		rt->n_listeners == 1 ? "" : "s");
#ifdef RR_HAVE_DPDK
	if (dpdk) {
		char port[512]; /* the port(s), queues, MAC(s), RSS and checksum decisions */
		ctl_log("SERVER", CTL_LEVEL_NOTICE, "dpdk port %s", drv_dpdk_describe(port, sizeof(port)));
		for (size_t i = 0; i < rt->n_listeners; i++)
			ctl_log("SERVER", CTL_LEVEL_NOTICE, "Listening on %s (native TCP)",
				rt->listeners[i].name);
	}
#endif

	/* the control loop */
	for (;;) {
		drain_worker_events(rt);
		publish(rt);
		if (rt->stopping) {
			if (rt->stopped_workers == rt->n_workers)
				break;
			if (dp_now_ms() > rt->stop_deadline_ms) {
				ctl_log("SERVER", CTL_LEVEL_ERROR,
					"workers did not stop within %u ms", SHUTDOWN_GRACE_MS);
				break;
			}
		}
		__atomic_store_n(&rt->sleeping, 1, __ATOMIC_SEQ_CST);
		bool idle = true;
		for (unsigned i = 0; i < rt->n_workers; i++)
			if (!dp_ring_consumer_idle(&rt->workers[i].to_control))
				idle = false;
		struct epoll_event evs[64];
		int n = epoll_wait(rt->ep, evs, 64, idle ? 100 : 0);
		__atomic_store_n(&rt->sleeping, 0, __ATOMIC_SEQ_CST);
		for (int i = 0; i < n; i++) {
			unsigned kind = (unsigned)(evs[i].data.u64 >> 32);
			unsigned idx = (unsigned)evs[i].data.u64;
			if (kind == TAG_LISTENER) {
				if (!rt->stopping && idx < rt->n_listeners)
					accept_on(rt, &rt->listeners[idx]);
			} else if (kind == TAG_WAKE) {
				uint64_t v;
				ssize_t r = read(rt->wake_fd, &v, sizeof(v));
				(void)r;
			} else if (kind == TAG_SIGNAL) {
				on_signal(rt);
			} else if (kind == TAG_STATS) {
				ctl_stats_serve(rt);
			}
		}
	}
	status = rt->stopped_workers == rt->n_workers ? 0 : 1;
	for (unsigned i = 0; i < rt->n_workers && !dpdk; i++)
		if (status == 0)
			pthread_join(threads[i], NULL);
#ifdef RR_HAVE_DPDK
	if (dpdk && status == 0)
		drv_dpdk_wait();
#endif
	ctl_log("SERVER", CTL_LEVEL_NOTICE, "rpcrouterd stopped");
out:
	ctl_stats_close(rt);
	if (status != 0 && !rt->stopping)
		status = 1;
	/* resources are reclaimed by the process exit when workers could not
	 * be joined; after a clean stop, free what control owns */
	if (status == 0) {
		for (uint64_t i = 0; i <= rt->hs.mask; i++)
			if (rt->hs.slots && rt->hs.slots[i].val)
				ctl_hs_free(rt, (struct ctl_hs *)rt->hs.slots[i].val);
		for (uint64_t i = 0; i <= rt->regs.mask; i++)
			if (rt->regs.slots && rt->regs.slots[i].val)
				free(rt->regs.slots[i].val);
		if (rt->workers)
			for (unsigned i = 0; i < rt->n_workers; i++)
				dp_worker_fini(&rt->workers[i]);
		if (rt->sh.pub)
			route_pub_free(rt->sh.pub);
		if (rt->master)
			route_master_free(rt->master);
		if (rt->rules)
			route_rules_free(rt->rules);
		ctl_sasl_global_fini();
		dp_map_fini(&rt->hs);
		dp_map_fini(&rt->regs);
		for (unsigned i = 0; rt->slots && i < rt->n_workers; i++) {
			free(rt->slots[i].free_idx);
			free(rt->slots[i].gen);
		}
		for (size_t i = 0; i < rt->n_replies; i++)
			free(rt->replies[i].addr);
		free(rt->replies);
		free(rt->slots);
		free(rt->workers);
		free(threads);
		free(rt->listeners);
		free(rt->limits);
		close(rt->ep);
		close(rt->wake_fd);
		close(rt->sig_fd);
		free(rt);
	}
#ifdef RR_HAVE_DPDK
	/* the port and the EAL (its /var/run/dpdk files) after the workers'
	 * pools are freed; never under workers still running */
	if (dpdk_up && (status == 0 || n_launched == 0))
		drv_dpdk_teardown();
#endif
	return status;
}
