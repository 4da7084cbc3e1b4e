/*
 * bench_io: rpcrouter-bench's socket loop. One epoll loop per thread, each
 * pinned to a core; non-blocking TCP sockets with TCP_NODELAY; every
 * connection is one bench_amqp engine, written straight from its output
 * buffer and read in 64 KiB chunks. Connections are planned by the
 * scenario before the threads start and never move between threads;
 * accepted ones (direct mode) belong to the thread that accepted them.
 */
#include "bench_run.h"
#ifdef BENCH_HAVE_DPDK
#include "bench_io_dpdk.h"
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define RBUF_LEN   65536
#define MAX_EVENTS 128
/* Reads per readiness event before the loop moves on: fairness between
 * connections of one thread. */
#define READS_PER_EVENT 16
/* The loop wakes at least this often to see phase changes. */
#define IDLE_WAIT_NS 5000000ull
#define TICK_SCAN_NS 50000000ull
/* After our Close exchange, wait this long for the peer to close TCP
 * first, so TIME_WAIT stays on its side (handshake cycles). */
#define LINGER_NS 200000000ull

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_run_error(struct bench_run *r, const char *fmt, ...)
{
	pthread_mutex_lock(&r->err_lock);
	if (!r->error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof r->error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->err_lock);
}

void bench_conn_detached(void *ctx, struct bench_amqp_conn *a, int link, const char *condition,
			 const char *description)
{
	(void)a;
	struct bench_conn *c = ctx;
	if (c->th->phase < BENCH_PH_CLOSE && !c->server)
		bench_run_error(c->th->run, "link %d detached by the peer: %s %s", link,
				condition && *condition ? condition : "(no error)",
				description ? description : "");
}

void bench_conn_closed(void *ctx, struct bench_amqp_conn *a, const char *condition,
		       const char *description)
{
	(void)a;
	struct bench_conn *c = ctx;
	if (condition && *condition)
		bench_run_error(c->th->run, "connection closed by the peer: %s %s", condition,
				description ? description : "");
}

int bench_io_thread_for(const struct bench_run *r, bool sending, int i)
{
	int n = r->nthreads;
	if (n < 2)
		return 0;
	int half = n / 2;
	return sending ? i % half : half + i % (n - half);
}

void bench_counters_sum(const struct bench_run *r, struct bench_counters *out)
{
	memset(out, 0, sizeof *out);
	for (int t = 0; t < r->nthreads; t++) {
		const uint64_t *src = (const uint64_t *)&r->threads[t].cnt;
		uint64_t *dst = (uint64_t *)out;
		size_t n = sizeof *out / sizeof(uint64_t);
		for (size_t i = 0; i < n; i++) {
			uint64_t v = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
			if (&dst[i] == &out->last_rx_ns)
				dst[i] = v > dst[i] ? v : dst[i];
			else
				dst[i] += v;
		}
	}
}

static int available_cpus(int *list, int max)
{
	cpu_set_t set;
	int n = 0;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			list[n++] = c;
	return n;
}

static int open_listener(struct bench_run *r)
{
	int fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&r->addr, r->addrlen) != 0 || listen(fd, 4096) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int bench_io_init(struct bench_run *r)
{
#ifdef BENCH_HAVE_DPDK
	if (r->o.dpdk.eal)
		return bench_io_dpdk_init(r);
#endif
	int n = r->o.threads;
	r->nthreads = n;
	r->threads = calloc((size_t)n, sizeof *r->threads);
	if (!r->threads)
		return -1;
	int avail[BENCH_MAX_THREADS];
	int navail = available_cpus(avail, BENCH_MAX_THREADS);
	for (int i = 0; i < n; i++) {
		struct bench_thread *th = &r->threads[i];
		th->run = r;
		th->idx = i;
		th->ep = epoll_create1(EPOLL_CLOEXEC);
		th->rbuf = malloc(RBUF_LEN);
		if (th->ep < 0 || !th->rbuf || !bench_hist_init(&th->hist))
			return -1;
		if (r->o.ncpus)
			th->cpu = r->o.cpu_list[i % r->o.ncpus];
		else
			th->cpu = navail ? avail[i % navail] : -1;
	}
	r->listen_fd = -1;
	if (r->o.direct) {
		r->listen_fd = open_listener(r);
		if (r->listen_fd < 0) {
			bench_run_error(r, "direct mode: cannot listen on %s:%s: %s", r->o.host,
					r->o.port, strerror(errno));
			return -1;
		}
		/* The receiving half accepts; EPOLLEXCLUSIVE wakes one of them. */
		int first = n < 2 ? 0 : n / 2;
		for (int i = first; i < n; i++) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
						 .data.ptr = NULL};
			if (epoll_ctl(r->threads[i].ep, EPOLL_CTL_ADD, r->listen_fd, &ev) != 0)
				return -1;
			r->threads[i].accepts = true;
		}
	}
	return 0;
}

static struct bench_conn *conn_append(struct bench_thread *th, struct bench_conn *c)
{
	if (th->nconns == th->cap) {
		int cap = th->cap ? th->cap * 2 : 16;
		struct bench_conn **v = realloc(th->conns, (size_t)cap * sizeof *v);
		if (!v)
			return NULL;
		th->conns = v;
		th->cap = cap;
	}
	th->conns[th->nconns++] = c;
	return c;
}

struct bench_conn *bench_io_add(struct bench_run *r, int thread, int kind, int index, int wave)
{
	struct bench_thread *th = &r->threads[thread];
	struct bench_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->th = th;
	c->fd = -1;
	c->kind = kind;
	c->index = index;
	c->wave = wave;
	c->state = BENCH_CS_IDLE;
	if (!conn_append(th, c)) {
		free(c);
		return NULL;
	}
	if (r->scen->pump) {
		c->pumper = true;
		c->next_pump = th->pumps;
		th->pumps = c;
	}
	return c;
}

static void set_out(struct bench_conn *c, bool want)
{
	if (want == c->out_armed || c->fd < 0)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(c->th->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->out_armed = want;
}

static void finish_conn(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	if (c->fd >= 0) {
		epoll_ctl(th->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->out_armed = false;
	c->state = BENCH_CS_DONE;
	BENCH_ADD(th, conns_live, (uint64_t)-1);
	if (th->run->scen->ended)
		th->run->scen->ended(c);
}

/* The engine is done: note why, then close the socket (or wait for the
 * peer's EOF first when it has not closed yet). */
static void engine_ended(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	const char *err = bench_amqp_error(c->a);
	if (err && err[0]) {
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(r, "connection %d (%s): %s", c->index,
				c->server ? "accepted" : "client", err);
	} else if (!c->close_sent && bench_phase_of(r) < BENCH_PH_CLOSE && !c->server) {
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(r, "connection %d closed by the peer before the run ended",
				c->index);
	}
	if (c->peer_eof || c->server || c->no_linger) {
		finish_conn(c);
		return;
	}
	c->state = BENCH_CS_LINGER;
	c->linger_until_ns = th->now_ns + LINGER_NS;
	set_out(c, false);
}

static void conn_fail(struct bench_conn *c, const char *what, int err)
{
	struct bench_thread *th = c->th;
	if (th->phase < BENCH_PH_CLOSE && !c->close_sent) {
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(th->run, "connection %d: %s: %s", c->index, what, strerror(err));
	}
	finish_conn(c);
}

void bench_io_flush(struct bench_conn *c)
{
#ifdef BENCH_HAVE_DPDK
	if (c->th->run->io_dpdk) {
		bench_io_dpdk_flush(c);
		return;
	}
#endif
	if (c->state != BENCH_CS_UP || !c->a)
		return;
	bool blocked = false;
	for (;;) {
		size_t len;
		const uint8_t *p = bench_amqp_output(c->a, &len);
		if (!len)
			break;
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			bench_amqp_output_done(c->a, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			blocked = true;
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		conn_fail(c, "send", n < 0 ? errno : EPIPE);
		return;
	}
	set_out(c, blocked);
}

static void check_engine(struct bench_conn *c)
{
	if (c->state == BENCH_CS_UP && bench_amqp_is_closed(c->a))
		engine_ended(c);
}

bool bench_io_make_engine(struct bench_conn *c, enum bench_amqp_role role)
{
	struct bench_run *r = c->th->run;
	char cid[96];
	snprintf(cid, sizeof cid, "rpcrouter-bench-%d-%d-%d%s", (int)getpid(), c->th->idx, c->index,
		 c->server ? "-srv" : "");
	struct bench_amqp_config cfg = {
	    .role = role,
	    .container_id = cid,
	    .hostname = role == BENCH_AMQP_CLIENT ? r->o.host : NULL,
	    .sasl_mech = r->o.sasl_mech,
	    .user = r->o.user,
	    .password = r->o.password,
	    .max_frame_size = r->o.max_frame,
	    .ctx = c,
	};
	r->scen->config(c, &cfg);
	if (c->a)
		bench_amqp_free(c->a);
	c->a = bench_amqp_new(&cfg);
	if (!c->a) {
		bench_run_error(r, "out of memory for a connection engine");
		return false;
	}
	c->tick_ms = 0;
	c->peer_eof = false;
	c->close_sent = false;
	c->counted_open = false;
	return true;
}

static void start_connect(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	struct bench_run *r = th->run;
	c->t_start_ns = th->now_ns;
	int fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->state = BENCH_CS_DONE;
		BENCH_ADD(th, conn_failed, 1);
		bench_run_error(r, "socket: %s", strerror(errno));
		if (r->scen->ended)
			r->scen->ended(c);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	BENCH_ADD(th, conns_live, 1);
	if (connect(fd, (const struct sockaddr *)&r->addr, r->addrlen) != 0 &&
	    errno != EINPROGRESS) {
		conn_fail(c, "connect", errno);
		return;
	}
	c->state = BENCH_CS_CONNECTING;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &ev);
	c->out_armed = true;
}

static void on_connected(struct bench_conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		conn_fail(c, "connect", err);
		return;
	}
	if (!bench_io_make_engine(c, BENCH_AMQP_CLIENT)) {
		conn_fail(c, "engine", ENOMEM);
		return;
	}
	c->state = BENCH_CS_UP;
	bench_amqp_start(c->a);
	c->th->run->scen->started(c);
	bench_io_flush(c);
	check_engine(c);
}

void bench_io_restart(struct bench_conn *c)
{
#ifdef BENCH_HAVE_DPDK
	if (c->th->run->io_dpdk) {
		bench_io_dpdk_restart(c);
		return;
	}
#endif
	if (c->a) {
		bench_amqp_free(c->a);
		c->a = NULL;
	}
	start_connect(c);
}

static void on_readable(struct bench_conn *c)
{
	struct bench_thread *th = c->th;
	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = recv(c->fd, th->rbuf, RBUF_LEN, MSG_DONTWAIT);
		if (n > 0) {
			if (c->state == BENCH_CS_LINGER)
				continue; /* the engine is done: discard */
			if (!bench_amqp_input(c->a, th->rbuf, (size_t)n, th->now_ns / 1000000))
				break;
			if (n < RBUF_LEN)
				break;
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			if (c->state == BENCH_CS_LINGER) {
				finish_conn(c);
				return;
			}
			bench_amqp_input_eof(c->a);
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == EINTR)
			continue;
		conn_fail(c, "recv", errno);
		return;
	}
	if (c->state == BENCH_CS_LINGER)
		return;
	bench_io_flush(c);
	check_engine(c);
	if (c->state == BENCH_CS_UP && c->peer_eof && !bench_amqp_is_closed(c->a)) {
		/* EOF without the engine calling it an end: treat as one. */
		BENCH_ADD(th, conn_failed, 1);
		if (th->phase < BENCH_PH_CLOSE)
			bench_run_error(th->run, "connection %d: the peer closed TCP", c->index);
		finish_conn(c);
	}
}

static void on_accept(struct bench_thread *th)
{
	struct bench_run *r = th->run;
	for (;;) {
		int fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (th->phase >= BENCH_PH_CLOSE) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct bench_conn *c = calloc(1, sizeof *c);
		if (!c || !conn_append(th, c)) {
			free(c);
			close(fd);
			bench_run_error(r, "out of memory accepting a connection");
			continue;
		}
		c->th = th;
		c->fd = fd;
		c->server = true;
		c->kind = r->accept_kind;
		c->index = th->nconns - 1;
		c->t_start_ns = th->now_ns;
		BENCH_ADD(th, conns_live, 1);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(th->ep, EPOLL_CTL_ADD, fd, &ev);
		if (!bench_io_make_engine(c, BENCH_AMQP_SERVER)) {
			finish_conn(c);
			continue;
		}
		c->state = BENCH_CS_UP;
		if (r->scen->pump) {
			c->pumper = true;
			c->next_pump = th->pumps;
			th->pumps = c;
		}
		r->scen->started(c);
		bench_io_flush(c);
	}
}

/* Every 50 ms: engine heartbeats/idle timeouts, lingering sockets, and in
 * the close phase whether this thread is done. */
static void scan_conns(struct bench_thread *th)
{
	uint64_t now_ms = th->now_ns / 1000000;
	bool all_done = true;
	for (int i = 0; i < th->nconns; i++) {
		struct bench_conn *c = th->conns[i];
		switch (c->state) {
		case BENCH_CS_UP:
			if (now_ms >= c->tick_ms) {
				c->tick_ms = bench_amqp_tick(c->a, now_ms);
				bench_io_flush(c);
				check_engine(c);
			}
			break;
		case BENCH_CS_LINGER:
			if (th->now_ns >= c->linger_until_ns)
				finish_conn(c);
			break;
		default: break;
		}
		if (c->state != BENCH_CS_DONE && c->state != BENCH_CS_IDLE)
			all_done = false;
	}
	if (th->phase >= BENCH_PH_CLOSE && all_done)
		__atomic_store_n(&th->finished, true, __ATOMIC_RELEASE);
}

static void begin_close(struct bench_thread *th)
{
	struct bench_run *r = th->run;
	if (th->accepts) {
		epoll_ctl(th->ep, EPOLL_CTL_DEL, r->listen_fd, NULL);
		th->accepts = false;
	}
	for (int i = 0; i < th->nconns; i++) {
		struct bench_conn *c = th->conns[i];
		if (c->state == BENCH_CS_CONNECTING ||
		    (c->state == BENCH_CS_UP && !c->server && !bench_amqp_is_open(c->a))) {
			/* nothing to close gracefully before the Open exchange
			 * (a handshake cycle cut by the end of the run): drop
			 * the socket */
			c->close_sent = true;
			finish_conn(c);
		} else if (c->state == BENCH_CS_UP && !c->close_sent && !c->server) {
			/* Clients close; an accepted connection waits for its
			 * client's Close (closing both ends at once would race
			 * with the client's own end-of-run check). */
			c->close_sent = true;
			bench_amqp_close(c->a, NULL, NULL);
			bench_io_flush(c);
			check_engine(c);
		}
	}
}

static void *thread_main(void *arg)
{
	struct bench_thread *th = arg;
	struct bench_run *r = th->run;
	if (th->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(th->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
			bench_run_error(r, "cannot pin thread %d to cpu %d", th->idx, th->cpu);
	}
	int started_wave = -1;
	bool closing = false;
	uint64_t next_scan = 0;
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		th->now_ns = bench_now_ns();
		th->phase = bench_phase_of(r);
		if (th->phase == BENCH_PH_DONE)
			break;
		int wave = __atomic_load_n(&r->wave, __ATOMIC_ACQUIRE);
		if (wave > started_wave && th->phase < BENCH_PH_CLOSE) {
			for (int i = 0; i < th->nconns; i++) {
				struct bench_conn *c = th->conns[i];
				if (c->state == BENCH_CS_IDLE && !c->server && c->wave <= wave)
					start_connect(c);
			}
			started_wave = wave;
		}
		if (th->phase >= BENCH_PH_CLOSE && !closing) {
			closing = true;
			begin_close(th);
			next_scan = 0;
		}
		bool busy = false;
		th->next_timer_ns = UINT64_MAX;
		for (struct bench_conn *c = th->pumps; c; c = c->next_pump) {
			if (c->state != BENCH_CS_UP)
				continue;
			bool more = r->scen->pump(c);
			bench_io_flush(c);
			check_engine(c);
			/* More to send, and the socket took everything: go round
			 * again without sleeping. A blocked socket waits for
			 * EPOLLOUT instead of spinning. */
			if (more && c->state == BENCH_CS_UP && !c->out_armed)
				busy = true;
		}
		if (th->now_ns >= next_scan) {
			scan_conns(th);
			next_scan = th->now_ns + TICK_SCAN_NS;
		}
		uint64_t wait_ns = IDLE_WAIT_NS;
		if (busy) {
			wait_ns = 0;
		} else if (th->next_timer_ns != UINT64_MAX) {
			uint64_t now = bench_now_ns();
			uint64_t d = th->next_timer_ns > now ? th->next_timer_ns - now : 0;
			if (d < wait_ns)
				wait_ns = d;
		}
		struct timespec ts = {.tv_sec = (time_t)(wait_ns / 1000000000ull),
				      .tv_nsec = (long)(wait_ns % 1000000000ull)};
		int n = epoll_pwait2(th->ep, evs, MAX_EVENTS, &ts, NULL);
		if (n <= 0)
			continue;
		th->now_ns = bench_now_ns();
		for (int i = 0; i < n; i++) {
			struct bench_conn *c = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			if (!c) {
				on_accept(th);
				continue;
			}
			if (c->state == BENCH_CS_CONNECTING) {
				if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
					on_connected(c);
				continue;
			}
			if (c->state != BENCH_CS_UP && c->state != BENCH_CS_LINGER)
				continue;
			if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(c);
			if ((e & EPOLLOUT) && c->state == BENCH_CS_UP) {
				bench_io_flush(c);
				check_engine(c);
			}
		}
	}
	return NULL;
}

int bench_io_start(struct bench_run *r)
{
#ifdef BENCH_HAVE_DPDK
	if (r->io_dpdk)
		return bench_io_dpdk_start(r);
#endif
	for (int i = 0; i < r->nthreads; i++)
		if (pthread_create(&r->threads[i].tid, NULL, thread_main, &r->threads[i]) != 0)
			return -1;
	return 0;
}

void bench_io_join(struct bench_run *r)
{
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i].tid, NULL);
}

void bench_io_free(struct bench_run *r)
{
#ifdef BENCH_HAVE_DPDK
	if (r->io_dpdk || r->o.dpdk.eal) {
		bench_io_dpdk_free(r);
		return;
	}
#endif
	if (!r->threads)
		return;
	for (int t = 0; t < r->nthreads; t++) {
		struct bench_thread *th = &r->threads[t];
		for (int i = 0; i < th->nconns; i++) {
			struct bench_conn *c = th->conns[i];
			if (c->fd >= 0)
				close(c->fd);
			if (c->a)
				bench_amqp_free(c->a);
			if (r->scen->free_conn)
				r->scen->free_conn(c);
			free(c);
		}
		free(th->conns);
		free(th->rbuf);
		bench_hist_free(&th->hist);
		if (th->ep >= 0)
			close(th->ep);
	}
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	free(r->threads);
	r->threads = NULL;
}
