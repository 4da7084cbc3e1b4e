/*
 * bench_run: what rpcrouter-bench's parts share: the options, the run
 * (phases set by the main thread, read by the I/O threads), the I/O
 * threads and connections (bench_io.c) and the scenario interface
 * (bench_scen_*.c).
 *
 * Threads: the main thread coordinates (phases, progress line, /proc
 * sampling, the result line); each I/O thread owns an epoll loop and its
 * connections, each connection one bench_amqp engine. Nothing an I/O thread
 * owns is written by another thread; the main thread reads the per-thread
 * counters with relaxed atomic loads (their owner stores them the same
 * way) and merges the histograms after the threads have been joined.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "bench_amqp.h"
#include "bench_hist.h"

#ifdef __cplusplus
extern "C" {
#endif

enum bench_scenario {
	BENCH_SC_THROUGHPUT,
	BENCH_SC_RPC,
	BENCH_SC_FANOUT,
	BENCH_SC_CONNECTIONS,
	BENCH_SC_HANDSHAKE,
};

#define BENCH_MAX_THREADS 64

/* --dpdk: the generator's connections go through the project's native
 * TCP/IP (dataplane/net) on a DPDK port of its own instead of kernel
 * sockets (bench_io_dpdk.c; only in a build with DPDK). eal NULL: sockets. */
struct bench_dpdk_opts {
	const char *eal;    /* EAL arguments, split at spaces */
	const char *port;   /* a vdev (net_...) or a PCI address */
	uint32_t addr;	    /* our IPv4 address, host order */
	uint8_t prefix_len; /* its on-link prefix */
	uint32_t gateway;   /* next hop off-link, 0: none */
	int router_workers; /* the router's workers: source ports steer to each */
	uint32_t idle_us;   /* sleep after many empty polls (tests), 0: never */
	uint16_t mtu;	    /* the port's IP MTU (--dpdk-mtu), the router's dpdkMtu; 0: 1500 */
};

struct bench_opts {
	enum bench_scenario scenario;
	const char *scenario_name;
	const char *url;
	char host[256];
	char port[16];
	const char *label; /* "target" of the result; NULL: derived */
	bool direct;
	bool allow_remote;
	size_t body_size;
	int senders;   /* sender links (rpc: client connections) */
	int receivers; /* receiver links (rpc: server connections) */
	int links_per_conn;
	uint32_t credit;
	bool presettled;
	double duration_s;
	bool duration_given;
	uint64_t count;
	const char *address;
	int inflight;
	double rate; /* rpc open loop, calls/s over all clients; 0: closed loop */
	double warmup_s;
	double timeout_s; /* hard cap; 0: duration + 30 s */
	double hold_s;
	int threads;
	char cpus[256];
	int cpu_list[BENCH_MAX_THREADS];
	int ncpus;
	const char *reply_to;
	bool serve, no_server, no_anonymous_relay;
	int connections;
	const char *sasl_mech; /* NULL: no SASL layer */
	const char *user, *password;
	pid_t router_pid;
	const char *out_path;
	bool progress; /* the live line (a terminal and not --quiet) */
	uint32_t max_frame;
	struct bench_dpdk_opts dpdk;
};

enum bench_phase {
	BENCH_PH_SETUP,	  /* connecting, attaching */
	BENCH_PH_WARMUP,  /* sending, not measured */
	BENCH_PH_MEASURE, /* sending, measured */
	BENCH_PH_DRAIN,	  /* no new sends; waiting for what is in flight */
	BENCH_PH_CLOSE,	  /* closing every connection */
	BENCH_PH_DONE,	  /* threads leave their loops */
};

/* Per-thread counters: written by the owning thread only (BENCH_ADD),
 * read by the main thread (bench_counters_sum). */
struct bench_counters {
	uint64_t sent, received, accepted, rejected, released, modified;
	uint64_t duplicates, out_of_order, bad_correlation, bad_tail;
	uint64_t bytes;		  /* body bytes received */
	uint64_t links_ready;	  /* links attached at both ends */
	uint64_t opened;	  /* connections whose Open exchange completed */
	uint64_t cycles;	  /* handshake: connect..close cycles done */
	uint64_t conn_failed;	  /* connections that ended in error */
	uint64_t sent_in_window;  /* rpc open loop: sent inside the window */
	uint64_t server_received; /* rpc server side: requests */
	uint64_t server_sent;	  /* rpc server side: replies */
	uint64_t server_dropped;  /* rpc server: replies it could not queue */
	uint64_t last_rx_ns;	  /* time of the last counted arrival */
	uint64_t conns_live;	  /* connections not yet ended */
};

#define BENCH_ADD(th, field, n)                                                                    \
	__atomic_store_n(&(th)->cnt.field, (th)->cnt.field + (n), __ATOMIC_RELAXED)
#define BENCH_SET(th, field, v) __atomic_store_n(&(th)->cnt.field, (v), __ATOMIC_RELAXED)

struct bench_run;
struct bench_thread;

enum bench_conn_state {
	BENCH_CS_IDLE,	     /* planned, not started (its wave has not come) */
	BENCH_CS_CONNECTING, /* non-blocking connect in progress */
	BENCH_CS_UP,	     /* engine running */
	BENCH_CS_LINGER,     /* engine closed, waiting briefly for the peer's EOF */
	BENCH_CS_DONE,	     /* socket closed */
};

struct bench_conn {
	struct bench_thread *th;
	int fd;
	enum bench_conn_state state;
	int kind;	/* scenario-defined */
	int index;	/* scenario-defined, e.g. the global connection index */
	int wave;	/* started once the run's wave reaches it */
	bool server;	/* accepted (direct mode): engine role SERVER */
	bool out_armed; /* EPOLLOUT registered */
	bool peer_eof;
	bool close_sent; /* bench_amqp_close called by the close phase */
	bool pumper;	 /* on the thread's pump list */
	bool counted_open;
	bool no_linger;	     /* close TCP as soon as the AMQP Close exchange is done */
	uint64_t t_start_ns; /* connect() issued */
	uint64_t linger_until_ns;
	uint64_t tick_ms; /* the engine's next tick deadline */
	struct bench_amqp_conn *a;
	void *sc; /* scenario state, owned by the scenario */
	struct bench_conn *next_pump;
	void *io; /* dpdk: the connection's native TCP block (bench_io_dpdk.c) */
};

struct bench_thread {
	struct bench_run *run;
	int idx;
	int cpu; /* -1: not pinned */
	pthread_t tid;
	int ep;
	uint8_t *rbuf; /* 64 KiB read buffer */
	struct bench_conn **conns;
	int nconns, cap;
	struct bench_conn *pumps; /* connections with a pump hook */
	bool accepts;		  /* listens (direct mode's receiving side) */
	bool finished;		  /* every connection done in the close phase */
	uint64_t now_ns;	  /* the loop's clock, once per iteration */
	int phase;		  /* the run's phase as of this iteration */
	uint64_t next_timer_ns;	  /* earliest pump deadline (open loop) */
	struct bench_hist hist;	  /* latency, measured phase only */
	void *sc;		  /* scenario per-thread state */
	__attribute__((aligned(64))) struct bench_counters cnt;
};

/* A scenario: the I/O layer calls these from the owning thread. */
struct bench_scen {
	const char *name;
	/* main thread, before the threads start: plan the connections
	 * (bench_io_add), set run->expect_links / accept_kind. */
	int (*setup)(struct bench_run *r);
	/* the engine config of a connection about to start: handlers, ctx */
	void (*config)(struct bench_conn *c, struct bench_amqp_config *cfg);
	/* the engine has started (client) or was created for an accepted
	 * socket (server): attach links */
	void (*started)(struct bench_conn *c);
	/* produce messages; true when it stopped with more to do at once.
	 * May lower c->th->next_timer_ns to ask for a wake-up. */
	bool (*pump)(struct bench_conn *c);
	/* the connection ended (socket closed); may restart it
	 * (bench_io_restart) */
	void (*ended)(struct bench_conn *c);
	/* main thread, after the threads: is the run complete (for the
	 * drain phase), and what to expect */
	void (*free_conn)(struct bench_conn *c);
};

struct bench_run {
	struct bench_opts o;
	const struct bench_scen *scen;
	struct bench_thread *threads;
	int nthreads;
	struct sockaddr_storage addr; /* the URL's address */
	socklen_t addrlen;
	int listen_fd;		  /* direct mode: -1 otherwise */
	int accept_kind;	  /* kind of accepted connections */
	int wave;		  /* waves <= this have started (main writes) */
	int phase;		  /* enum bench_phase (main writes) */
	uint64_t t_send_start_ns; /* warmup (or measure) start: senders go */
	uint64_t t_measure_ns;	  /* measured interval start */
	uint64_t t_send_end_ns;	  /* duration mode: senders stop; 0: count mode */
	uint64_t expect_links;	  /* links_ready that mean "set up" */
	uint64_t expect_links_wave0;
	pthread_mutex_t err_lock;
	char error[512]; /* first error, under err_lock */
	int sc_int[8];	 /* scenario scratch set in setup, read-only after */
	void *io_dpdk;	 /* the dpdk backend's state (bench_io_dpdk.c), NULL: sockets */
};

static inline int bench_phase_of(const struct bench_run *r)
{
	return __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE);
}

uint64_t bench_now_ns(void);
void bench_run_error(struct bench_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Engine callbacks every scenario shares (ctx is the struct bench_conn): a
 * link of a client connection detached by the peer before the run's close
 * phase, or a connection closed by the peer with an error, fails the run. */
void bench_conn_detached(void *ctx, struct bench_amqp_conn *a, int link, const char *condition,
			 const char *description);
void bench_conn_closed(void *ctx, struct bench_amqp_conn *a, const char *condition,
		       const char *description);

/* bench_io.c */
int bench_io_init(struct bench_run *r); /* threads, pinning, listener */
struct bench_conn *bench_io_add(struct bench_run *r, int thread, int kind, int index, int wave);
int bench_io_start(struct bench_run *r); /* start the threads */
void bench_io_join(struct bench_run *r);
void bench_io_free(struct bench_run *r);
void bench_io_flush(struct bench_conn *c);
/* Handshake cycles: a fresh engine and socket for an ended connection. */
void bench_io_restart(struct bench_conn *c);
/* A fresh engine for c (its config from the scenario); false: out of memory. */
bool bench_io_make_engine(struct bench_conn *c, enum bench_amqp_role role);
/* Thread roles: the sending half and the receiving half of the threads. */
int bench_io_thread_for(const struct bench_run *r, bool sending, int i);
void bench_counters_sum(const struct bench_run *r, struct bench_counters *out);

/* scenarios */
extern const struct bench_scen bench_scen_throughput;
extern const struct bench_scen bench_scen_fanout;
extern const struct bench_scen bench_scen_rpc;
extern const struct bench_scen bench_scen_connections;
extern const struct bench_scen bench_scen_handshake;

/* What the scenario expects to have arrived when everything did
 * (throughput: sent; fanout: sent x receivers; rpc: requests sent). */
uint64_t bench_flow_expected(const struct bench_run *r, const struct bench_counters *c);

#ifdef __cplusplus
}
#endif
#endif
