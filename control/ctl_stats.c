/* rpcrouter-ctl's socket: a local unix stream socket (dataplane
 * controlSocket) where control answers one request per connection. Today
 * the one request is "stats": the per-worker counters and drops by reason
 * (dp_counters.def, dp_drops.def) as JSON. Management over AMQP
 * ($management, qdstat) comes with its own issue. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_log.h"
#include "ctl_router_int.h"

#define TAG_STATS 4u

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Never fails start-up: without the socket the router still routes. */
int ctl_stats_listen(struct ctl_rt *rt)
{
	const char *path = rt->cfg->dataplane.control_socket;
	if (path == NULL || path[0] == 0)
		return 0; /* no control socket configured */
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		ctl_log("SERVER", CTL_LEVEL_ERROR, "controlSocket %s: path too long", path);
		return 0;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	mkdir_parent(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a socket file left by a router that died: replace it, unless a
	 * live router answers on it */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			ctl_log("SERVER", CTL_LEVEL_ERROR,
				"controlSocket %s: another rpcrouterd answers there; running without "
				"a control socket",
				path);
			return 0;
		}
		close(probe);
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		/* not fatal: routing does not need it (a non-root user running
		 * the embedded default cannot create /run/rpcrouterd) */
		ctl_log("SERVER", CTL_LEVEL_ERROR,
			"controlSocket %s: %s; running without a control socket (rpcrouter-ctl "
			"cannot reach this router)",
			path, strerror(errno));
		close(fd);
		return 0;
	}
	chmod(path, 0660);
	rt->stats_fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = ((uint64_t)TAG_STATS << 32)}};
	epoll_ctl(rt->ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

void ctl_stats_close(struct ctl_rt *rt)
{
	if (rt->stats_fd >= 0) {
		close(rt->stats_fd);
		rt->stats_fd = -1;
		unlink(rt->cfg->dataplane.control_socket);
	}
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *np = (char *)realloc(b->p, cap);
		if (np == NULL)
			return;
		b->p = np;
		b->cap = cap;
	}
}

static void json_counts(struct sbuf *b, const char *const *names, const uint64_t *v, unsigned n)
{
	sb_printf(b, "{");
	for (unsigned i = 0; i < n; i++)
		sb_printf(b, "%s\"%s\": %llu", i ? ", " : "", names[i], (unsigned long long)v[i]);
	sb_printf(b, "}");
}

/* A driver's own counters (dpdk: driver, net_l3, net_tcp), as
 * "group": {"name": v, ...} members of the worker's object. */
struct drv_emit {
	struct sbuf *b;
	const char *group; /* the open group, NULL before the first */
	unsigned n;
};

static void emit_counter(void *arg, const char *group, const char *name, uint64_t v)
{
	struct drv_emit *e = (struct drv_emit *)arg;
	if (e->group == NULL || strcmp(e->group, group) != 0) {
		sb_printf(e->b, "%s\"%s\": {", e->group ? "}, " : ", ", group);
		e->group = group;
		e->n = 0;
	}
	sb_printf(e->b, "%s\"%s\": %llu", e->n++ ? ", " : "", name, (unsigned long long)v);
}

static void render_stats(struct ctl_rt *rt, struct sbuf *b)
{
	uint64_t tc[DP_C_COUNT] = {0}, td[DP_D_COUNT] = {0};
	uint64_t tconns = 0;
	sb_printf(b, "{\"version\": \"%s\", \"router_id\": \"%s\", \"driver\": \"%s\", \"workers\": [",
		  rt->version, rt->router_id,
		  rt->n_workers ? rt->workers[0].drv->name : "socket");
	for (unsigned i = 0; i < rt->n_workers; i++) {
		struct dp_worker *w = &rt->workers[i];
		uint64_t c[DP_C_COUNT], d[DP_D_COUNT];
		for (unsigned k = 0; k < DP_C_COUNT; k++) {
			c[k] = __atomic_load_n(&w->counters[k], __ATOMIC_RELAXED);
			tc[k] += c[k];
		}
		for (unsigned k = 0; k < DP_D_COUNT; k++) {
			d[k] = __atomic_load_n(&w->drops[k], __ATOMIC_RELAXED);
			td[k] += d[k];
		}
		uint64_t conns = __atomic_load_n(&w->n_conns, __ATOMIC_RELAXED);
		tconns += conns;
		sb_printf(b, "%s{\"id\": %u, \"cpu\": %d, \"connections\": %llu, \"counters\": ",
			  i ? ", " : "", i, w->cpu, (unsigned long long)conns);
		json_counts(b, dp_counter_names, c, DP_C_COUNT);
		sb_printf(b, ", \"drops\": ");
		json_counts(b, dp_drop_names, d, DP_D_COUNT);
		if (w->drv->counters) {
			struct drv_emit e = {b, NULL, 0};
			w->drv->counters(w, emit_counter, &e);
			if (e.group)
				sb_printf(b, "}");
		}
		sb_printf(b, "}");
	}
	sb_printf(b, "], \"totals\": {\"connections\": %llu, \"counters\": ",
		  (unsigned long long)tconns);
	json_counts(b, dp_counter_names, tc, DP_C_COUNT);
	sb_printf(b, ", \"drops\": ");
	json_counts(b, dp_drop_names, td, DP_D_COUNT);
	sb_printf(b,
		  "}, \"control\": {\"connections_accepted\": %llu, \"connections_live\": %llu, "
		  "\"auth_failures\": %llu, "
		  "\"handshakes_in_progress\": %llu, \"refused_max_connections\": %llu, "
		  "\"addresses\": %zu}}\n",
		  (unsigned long long)rt->accepted, (unsigned long long)rt->conns_live,
		  (unsigned long long)rt->auth_failures,
		  (unsigned long long)rt->hs.n, (unsigned long long)rt->refused_max_conns,
		  route_master_size(rt->master));
}

void ctl_stats_serve(struct ctl_rt *rt)
{
	for (;;) {
		int fd = accept4(rt->stats_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* one short request line; a client that says nothing within
		 * 50 ms gets nothing (control must not stall on it) */
		char req[128];
		size_t got = 0;
		struct pollfd pfd = {fd, POLLIN, 0};
		while (got < sizeof(req) - 1 && poll(&pfd, 1, 50) == 1) {
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			if (memchr(req, '\n', got))
				break;
		}
		req[got] = 0;
		if (got == 0) {
			/* nothing in time: close without an answer; rpcrouter-ctl
			 * sees an empty reply and asks again */
			close(fd);
			continue;
		}
		struct sbuf b = {(char *)malloc(4096), 0, 4096};
		if (b.p == NULL) {
			close(fd);
			continue;
		}
		if (strncmp(req, "stats", 5) == 0)
			render_stats(rt, &b);
		else
			sb_printf(&b, "{\"error\": \"unknown request; try: stats\"}\n");
		size_t off = 0;
		while (off < b.len) {
			ssize_t n = write(fd, b.p + off, b.len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		free(b.p);
		close(fd);
	}
}
