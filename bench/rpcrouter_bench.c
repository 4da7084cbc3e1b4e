/*
 * rpcrouter-bench: the benchmark harness for AMQP 1.0 routers.
 *
 *   rpcrouter-bench SCENARIO --url amqp://HOST:PORT [options]
 *   rpcrouter-bench report RESULTS.jsonl...        (bench_report.c)
 *
 * Scenarios: throughput, rpc, fanout, connections, handshake (see usage()).
 * One JSON line per run on stdout or appended to --out FILE (format:
 * bench_json.md, schema 1); exit 0 only when the run was clean.
 *
 * The main thread plans the connections (the scenario's setup), starts the
 * I/O threads (bench_io.c) and drives the phases: set-up (wave 0: the
 * receiving side attaches first, so nothing is sent to an address before
 * its consumers exist; then wave 1), warm-up, the measured interval,
 * drain (what is in flight arrives or is declared lost), close. Every
 * phase is bounded; the whole run by --timeout.
 */
#include "bench_env.h"
#include "bench_out.h"
#include "bench_run.h"
#ifdef BENCH_HAVE_DPDK
#include "bench_io_dpdk.h"
#endif

/* bench/meson.build defines BENCH_HAVE_REPORT when it links the
 * renderer's sources (bench_report_sources) in. */
#if __has_include("bench_report.h") && defined(BENCH_HAVE_REPORT)
#include "bench_report.h"
#define HAVE_BENCH_REPORT 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS	      1000000ull   /* the coordinator's step */
#define PROGRESS_NS   500000000ull /* the live line */
#define RSS_SAMPLE_NS 100000000ull
#define DRAIN_IDLE_NS 2000000000ull /* drain ends after this long without progress */
#define CLOSE_WAIT_NS 3000000000ull

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: rpcrouter-bench SCENARIO --url amqp://HOST:PORT [options]\n"
	    "       rpcrouter-bench report RESULTS.jsonl... [report options]\n"
	    "scenarios:\n"
	    "  throughput   N sender links -> M receiver links on one address\n"
	    "  rpc          request/response calls: dynamic reply address (or --reply-to),\n"
	    "               anonymous relay replies, correlation; closed loop (--inflight)\n"
	    "               or open loop (--rate); --serve: only the server side\n"
	    "  fanout       sender(s) -> K receivers on a multicast address\n"
	    "  connections  C connections x L receiver links: set-up time, router RSS\n"
	    "  handshake    connect + SASL + Open + Close cycles per second\n"
	    "options:\n"
	    "  --url amqp://HOST:PORT   target (loopback only unless --allow-remote)\n"
	    "  --label NAME             the result's \"target\" (default: direct or HOST:PORT)\n"
	    "  --direct                 no router: listen on the URL's port, peers connect\n"
	    "  --body-size B            message body bytes (>= 24, default 100)\n"
	    "  --senders N              sender links (rpc: client connections), default 1\n"
	    "  --receivers M            receiver links (rpc: server connections), default 1\n"
	    "  --links-per-conn L       links per connection (default 1)\n"
	    "  --credit W               receiver credit window (default 1000)\n"
	    "  --presettled | --unsettled   sender settle mode (default presettled)\n"
	    "  --duration S             measured seconds (default 10)\n"
	    "  --count N                messages / calls / cycles instead of a duration\n"
	    "  --warmup S               unmeasured seconds before (duration runs)\n"
	    "  --timeout S              hard cap of the run (default duration + 30)\n"
	    "  --address A              address (defaults: bench/throughput, bench/rpc,\n"
	    "                           multicast/bench, bench/connections)\n"
	    "  --inflight K             rpc closed loop: calls in flight per client (1)\n"
	    "  --rate R                 rpc open loop: calls/s over all clients\n"
	    "  --reply-to ADDR          rpc: fixed reply address instead of a dynamic one\n"
	    "  --no-server              rpc: do not start the built-in server connections\n"
	    "  --serve                  rpc: only the server side (until duration/count/signal)\n"
	    "  --no-anonymous-relay     rpc server: a sender link per reply address\n"
	    "  --connections C          connections: C (default 100); handshake: parallel\n"
	    "                           cycles (default one per thread)\n"
	    "  --hold S                 connections: hold them S seconds (default 0)\n"
	    "  --sasl-mech M            ANONYMOUS (default), PLAIN, or none\n"
	    "  --user U --password P    SASL PLAIN credentials\n"
	    "  --router-pid P           sample the router's CPU and RSS\n"
	    "  --threads T              I/O threads (default: one per available core)\n"
	    "  --cpus LIST              pin thread i to LIST[i %% n] (e.g. 0,1)\n"
	    "  --max-frame N            max-frame-size offered (default 65536)\n"
	    "  --out FILE               append the JSON line to FILE instead of stdout\n"
	    "  --quiet                  no progress line\n"
	    "  --allow-remote           allow a non-loopback target\n"
	    "DPDK mode (a build with DPDK; docs/bench.md \"DPDK mode\"):\n"
	    "  --dpdk \"EAL ARGS\"        drive the connections through the native TCP/IP on\n"
	    "                           a DPDK port of our own (one I/O thread), not sockets\n"
	    "  --dpdk-port VDEV|PCI     the port, e.g. net_memif0,role=client,socket=PATH\n"
	    "  --dpdk-address A/P       our IPv4 address and prefix on that port\n"
	    "  --dpdk-gateway G         next hop for an off-link --url address\n"
	    "  --dpdk-router-workers N  the router's workers: source ports steer to each (1)\n"
	    "  --dpdk-idle-us U         sleep U us after 256 empty polls (tests; default 0)\n"
	    "  --dpdk-mtu N             the port's IP MTU, 576-9000 (default 1500; the\n"
	    "                           router's dpdkMtu; memif: bsize= of at least N + 14)\n");
}

enum {
	OPT_URL = 256,
	OPT_LABEL,
	OPT_DIRECT,
	OPT_ALLOW_REMOTE,
	OPT_BODY,
	OPT_SENDERS,
	OPT_RECEIVERS,
	OPT_LPC,
	OPT_CREDIT,
	OPT_PRESETTLED,
	OPT_UNSETTLED,
	OPT_DURATION,
	OPT_COUNT,
	OPT_ADDRESS,
	OPT_INFLIGHT,
	OPT_RATE,
	OPT_WARMUP,
	OPT_TIMEOUT,
	OPT_HOLD,
	OPT_THREADS,
	OPT_CPUS,
	OPT_REPLY_TO,
	OPT_SERVE,
	OPT_NO_SERVER,
	OPT_NO_ANON,
	OPT_CONNECTIONS,
	OPT_SASL,
	OPT_USER,
	OPT_PASSWORD,
	OPT_ROUTER_PID,
	OPT_OUT,
	OPT_QUIET,
	OPT_MAX_FRAME,
	OPT_HELP,
	OPT_DPDK,
	OPT_DPDK_PORT,
	OPT_DPDK_ADDRESS,
	OPT_DPDK_GATEWAY,
	OPT_DPDK_WORKERS,
	OPT_DPDK_IDLE,
	OPT_DPDK_MTU,
};

static const struct option long_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"label", required_argument, NULL, OPT_LABEL},
    {"target", required_argument, NULL, OPT_LABEL},
    {"direct", no_argument, NULL, OPT_DIRECT},
    {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
    {"body-size", required_argument, NULL, OPT_BODY},
    {"senders", required_argument, NULL, OPT_SENDERS},
    {"receivers", required_argument, NULL, OPT_RECEIVERS},
    {"links-per-conn", required_argument, NULL, OPT_LPC},
    {"credit", required_argument, NULL, OPT_CREDIT},
    {"presettled", no_argument, NULL, OPT_PRESETTLED},
    {"unsettled", no_argument, NULL, OPT_UNSETTLED},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"count", required_argument, NULL, OPT_COUNT},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"rate", required_argument, NULL, OPT_RATE},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"hold", required_argument, NULL, OPT_HOLD},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"reply-to", required_argument, NULL, OPT_REPLY_TO},
    {"serve", no_argument, NULL, OPT_SERVE},
    {"no-server", no_argument, NULL, OPT_NO_SERVER},
    {"no-anonymous-relay", no_argument, NULL, OPT_NO_ANON},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"sasl-mech", required_argument, NULL, OPT_SASL},
    {"user", required_argument, NULL, OPT_USER},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"router-pid", required_argument, NULL, OPT_ROUTER_PID},
    {"out", required_argument, NULL, OPT_OUT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"help", no_argument, NULL, OPT_HELP},
    {"dpdk", required_argument, NULL, OPT_DPDK},
    {"dpdk-port", required_argument, NULL, OPT_DPDK_PORT},
    {"dpdk-address", required_argument, NULL, OPT_DPDK_ADDRESS},
    {"dpdk-gateway", required_argument, NULL, OPT_DPDK_GATEWAY},
    {"dpdk-router-workers", required_argument, NULL, OPT_DPDK_WORKERS},
    {"dpdk-idle-us", required_argument, NULL, OPT_DPDK_IDLE},
    {"dpdk-mtu", required_argument, NULL, OPT_DPDK_MTU},
    {NULL, 0, NULL, 0},
};

static const struct {
	const char *name;
	enum bench_scenario sc;
	const struct bench_scen *ops;
	const char *address;
} scenarios[] = {
    {"throughput", BENCH_SC_THROUGHPUT, &bench_scen_throughput, "bench/throughput"},
    {"rpc", BENCH_SC_RPC, &bench_scen_rpc, "bench/rpc"},
    {"fanout", BENCH_SC_FANOUT, &bench_scen_fanout, "multicast/bench"},
    {"connections", BENCH_SC_CONNECTIONS, &bench_scen_connections, "bench/connections"},
    {"handshake", BENCH_SC_HANDSHAKE, &bench_scen_handshake, ""},
};

/* Strict number parsing: the whole argument, in range. */
static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		return false;
	*v = x;
	return true;
}

static bool parse_int(const char *s, int lo, int hi, int *v)
{
	uint64_t x;
	if (!parse_u64(s, &x) || x < (uint64_t)lo || x > (uint64_t)hi)
		return false;
	*v = (int)x;
	return true;
}

static bool parse_dbl(const char *s, double lo, double hi, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(x) || x < lo || x > hi)
		return false;
	*v = x;
	return true;
}

/* amqp://[user[:pass]@]host[:port][/...]; [v6] accepted. */
static bool parse_url(struct bench_opts *o, const char *url, char *user, size_t ucap, char *pass,
		      size_t pcap)
{
	const char *p = url;
	if (strncmp(p, "amqp://", 7) == 0)
		p += 7;
	else if (strstr(p, "://"))
		return false; /* amqps and others: not supported (yet) */
	const char *end = p + strcspn(p, "/");
	const char *at = memchr(p, '@', (size_t)(end - p));
	user[0] = pass[0] = 0;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ul = (size_t)((colon ? colon : at) - p);
		if (ul >= ucap)
			return false;
		memcpy(user, p, ul);
		user[ul] = 0;
		if (colon) {
			size_t pl = (size_t)(at - colon - 1);
			if (pl >= pcap)
				return false;
			memcpy(pass, colon + 1, pl);
			pass[pl] = 0;
		}
		p = at + 1;
	}
	const char *h = p, *colon;
	size_t hlen;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return false;
		h = p + 1;
		hlen = (size_t)(rb - h);
		colon = (rb + 1 < end && rb[1] == ':') ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hlen = (size_t)((colon ? colon : end) - p);
	}
	if (hlen == 0 || hlen >= sizeof o->host)
		return false;
	memcpy(o->host, h, hlen);
	o->host[hlen] = 0;
	size_t plen = colon ? (size_t)(end - colon - 1) : 0;
	if (colon && (plen == 0 || plen >= sizeof o->port))
		return false;
	if (colon) {
		memcpy(o->port, colon + 1, plen);
		o->port[plen] = 0;
	} else {
		snprintf(o->port, sizeof o->port, "5672");
	}
	return true;
}

static bool parse_cpus(struct bench_opts *o, const char *s)
{
	snprintf(o->cpus, sizeof o->cpus, "%s", s);
	char buf[256];
	snprintf(buf, sizeof buf, "%s", s);
	o->ncpus = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int c;
		if (o->ncpus == BENCH_MAX_THREADS || !parse_int(tok, 0, CPU_SETSIZE - 1, &c))
			return false;
		o->cpu_list[o->ncpus++] = c;
	}
	return o->ncpus > 0;
}

/* A.B.C.D[/P] (host order); P defaults to 32. */
static bool parse_ipv4(const char *s, bool prefix, uint32_t *addr, uint8_t *plen)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", s);
	char *slash = strchr(buf, '/');
	int p = 32;
	if (slash) {
		*slash = 0;
		if (!prefix || !parse_int(slash + 1, 1, 32, &p))
			return false;
	}
	struct in_addr in;
	if (inet_pton(AF_INET, buf, &in) != 1)
		return false;
	*addr = ntohl(in.s_addr);
	if (plen)
		*plen = (uint8_t)p;
	return *addr != 0;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

static int resolve(struct bench_run *r)
{
	struct addrinfo hints = {.ai_family = r->o.dpdk.eal ? AF_INET : AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | (r->o.direct ? AI_PASSIVE : 0)};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(r->o.host, r->o.port, &hints, &res);
	if (rc != 0 || !res) {
		bench_run_error(r, "cannot resolve %s:%s: %s", r->o.host, r->o.port,
				gai_strerror(rc));
		return -1;
	}
	memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
	r->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	/* DPDK mode: the address is on the generator's own port, not the
	 * kernel's network */
	if (!r->o.dpdk.eal && !r->o.allow_remote && !is_loopback(&r->addr)) {
		bench_run_error(r,
				"%s is not a loopback address (use --allow-remote for a "
				"namespace or test-network address you own)",
				r->o.host);
		return -1;
	}
	return 0;
}

static int count_available_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

/* Returns 0, or 2 with a message for a usage error. */
static int parse_args(struct bench_run *r, int argc, char **argv, char *user, char *pass)
{
	struct bench_opts *o = &r->o;
	if (argc < 2)
		return 2;
	size_t si;
	for (si = 0; si < sizeof scenarios / sizeof scenarios[0]; si++)
		if (strcmp(argv[1], scenarios[si].name) == 0)
			break;
	if (si == sizeof scenarios / sizeof scenarios[0]) {
		fprintf(stderr, "rpcrouter-bench: unknown scenario '%s'\n", argv[1]);
		return 2;
	}
	*o = (struct bench_opts){
	    .scenario = scenarios[si].sc,
	    .scenario_name = scenarios[si].name,
	    .body_size = 100,
	    .senders = 1,
	    .receivers = 1,
	    .links_per_conn = 1,
	    .credit = 1000,
	    .presettled = true,
	    .duration_s = 10,
	    .address = scenarios[si].address,
	    .inflight = 1,
	    .sasl_mech = "ANONYMOUS",
	    .progress = isatty(2),
	};
	r->scen = scenarios[si].ops;
	bool mech_given = false, hold_given = false;
	int threads = 0;
	optind = 2;
	int ch;
	while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *v = optarg;
		bool ok = true;
		uint64_t u;
		switch (ch) {
		case OPT_URL: o->url = v; break;
		case OPT_LABEL: o->label = v; break;
		case OPT_DIRECT: o->direct = true; break;
		case OPT_ALLOW_REMOTE: o->allow_remote = true; break;
		case OPT_BODY:
			ok = parse_u64(v, &u) && u <= (1u << 20);
			o->body_size = (size_t)u;
			break;
		case OPT_SENDERS: ok = parse_int(v, 1, 100000, &o->senders); break;
		case OPT_RECEIVERS: ok = parse_int(v, 1, 100000, &o->receivers); break;
		case OPT_LPC:
			ok = parse_int(v, 1, BENCH_AMQP_MAX_LINKS - 1, &o->links_per_conn);
			break;
		case OPT_CREDIT:
			ok = parse_u64(v, &u) && u >= 1 && u <= 1000000;
			o->credit = (uint32_t)u;
			break;
		case OPT_PRESETTLED: o->presettled = true; break;
		case OPT_UNSETTLED: o->presettled = false; break;
		case OPT_DURATION:
			ok = parse_dbl(v, 0.001, 86400, &o->duration_s);
			o->duration_given = true;
			break;
		case OPT_COUNT: ok = parse_u64(v, &o->count) && o->count > 0; break;
		case OPT_ADDRESS:
			ok = strlen(v) < BENCH_AMQP_ADDR_MAX - 16;
			o->address = v;
			break;
		case OPT_INFLIGHT: ok = parse_int(v, 1, 1000000, &o->inflight); break;
		case OPT_RATE: ok = parse_dbl(v, 0.001, 1e9, &o->rate); break;
		case OPT_WARMUP: ok = parse_dbl(v, 0, 3600, &o->warmup_s); break;
		case OPT_TIMEOUT: ok = parse_dbl(v, 0.1, 86400 * 2, &o->timeout_s); break;
		case OPT_HOLD:
			ok = parse_dbl(v, 0, 86400, &o->hold_s);
			hold_given = true;
			break;
		case OPT_THREADS: ok = parse_int(v, 1, BENCH_MAX_THREADS, &threads); break;
		case OPT_CPUS: ok = parse_cpus(o, v); break;
		case OPT_REPLY_TO:
			ok = strlen(v) < BENCH_AMQP_ADDR_MAX - 16;
			o->reply_to = v;
			break;
		case OPT_SERVE: o->serve = true; break;
		case OPT_NO_SERVER: o->no_server = true; break;
		case OPT_NO_ANON: o->no_anonymous_relay = true; break;
		case OPT_CONNECTIONS: ok = parse_int(v, 1, 1000000, &o->connections); break;
		case OPT_SASL:
			mech_given = true;
			if (strcmp(v, "none") == 0)
				o->sasl_mech = NULL;
			else if (strcmp(v, "ANONYMOUS") == 0 || strcmp(v, "PLAIN") == 0)
				o->sasl_mech = v;
			else
				ok = false;
			break;
		case OPT_USER: o->user = v; break;
		case OPT_PASSWORD: o->password = v; break;
		case OPT_ROUTER_PID: {
			int pid = 0; /* (-O2 cannot see parse_int sets it when ok) */
			ok = parse_int(v, 1, 1 << 30, &pid);
			o->router_pid = (pid_t)pid;
			break;
		}
		case OPT_OUT: o->out_path = v; break;
		case OPT_QUIET: o->progress = false; break;
		case OPT_MAX_FRAME:
			ok = parse_u64(v, &u) && u >= 512 && u <= (1u << 24);
			o->max_frame = (uint32_t)u;
			break;
		case OPT_HELP: usage(stdout); exit(0);
		case OPT_DPDK: o->dpdk.eal = v; break;
		case OPT_DPDK_PORT: o->dpdk.port = v; break;
		case OPT_DPDK_ADDRESS:
			ok = parse_ipv4(v, true, &o->dpdk.addr, &o->dpdk.prefix_len);
			break;
		case OPT_DPDK_GATEWAY: ok = parse_ipv4(v, false, &o->dpdk.gateway, NULL); break;
		case OPT_DPDK_WORKERS: ok = parse_int(v, 1, 128, &o->dpdk.router_workers); break;
		case OPT_DPDK_IDLE: {
			int us = 0;
			ok = parse_int(v, 0, 100000, &us);
			o->dpdk.idle_us = (uint32_t)us;
			break;
		}
		case OPT_DPDK_MTU: {
			int mtu = 0;
			ok = parse_int(v, 576, 9000, &mtu); /* the native stack's range (net_eth.h) */
			o->dpdk.mtu = (uint16_t)mtu;
			break;
		}
		default: return 2;
		}
		if (!ok) {
			const char *name = "?";
			for (const struct option *lo = long_opts; lo->name; lo++)
				if (lo->val == ch) {
					name = lo->name;
					break;
				}
			fprintf(stderr, "rpcrouter-bench: bad value for --%s: '%s'\n", name,
				v ? v : "");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rpcrouter-bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o->url) {
		fprintf(stderr, "rpcrouter-bench: --url is required\n");
		return 2;
	}
	if (!parse_url(o, o->url, user, 256, pass, 256)) {
		fprintf(stderr, "rpcrouter-bench: cannot parse --url '%s'\n", o->url);
		return 2;
	}
	if (user[0] && !o->user)
		o->user = user;
	if (pass[0] && !o->password)
		o->password = pass;
	if (!mech_given && o->user)
		o->sasl_mech = "PLAIN";
	if (o->sasl_mech && strcmp(o->sasl_mech, "PLAIN") == 0 && !o->user) {
		fprintf(stderr, "rpcrouter-bench: PLAIN needs --user (and --password)\n");
		return 2;
	}
	if (o->rate > 0 && o->count) {
		fprintf(stderr, "rpcrouter-bench: --rate runs for a --duration, not a --count\n");
		return 2;
	}
	if (o->warmup_s > 0 && o->count && !o->duration_given) {
		fprintf(stderr, "rpcrouter-bench: --warmup needs a --duration run\n");
		return 2;
	}
	if ((o->serve || o->no_server || o->reply_to || o->rate > 0 || o->no_anonymous_relay) &&
	    o->scenario != BENCH_SC_RPC) {
		fprintf(stderr, "rpcrouter-bench: --serve, --no-server, --reply-to, --rate and "
				"--no-anonymous-relay are rpc options\n");
		return 2;
	}
	if (o->serve && (o->no_server || o->direct)) {
		fprintf(stderr, "rpcrouter-bench: --serve runs servers that connect to the URL\n");
		return 2;
	}
	if (o->dpdk.eal || o->dpdk.port || o->dpdk.addr) {
#ifndef BENCH_HAVE_DPDK
		fprintf(stderr, "rpcrouter-bench: this build has no DPDK (--dpdk)\n");
		return 2;
#endif
		if (!o->dpdk.eal || !o->dpdk.port || !o->dpdk.addr) {
			fprintf(stderr, "rpcrouter-bench: DPDK mode needs --dpdk, --dpdk-port and "
					"--dpdk-address\n");
			return 2;
		}
		if (o->direct) {
			fprintf(stderr,
				"rpcrouter-bench: --direct is not available in DPDK mode\n");
			return 2;
		}
		if (threads > 1) {
			fprintf(stderr, "rpcrouter-bench: DPDK mode runs one I/O thread\n");
			return 2;
		}
		threads = 1;
		if (!o->dpdk.router_workers)
			o->dpdk.router_workers = 1;
	}
	if (o->scenario == BENCH_SC_CONNECTIONS && !o->connections)
		o->connections = 100;
	if (!hold_given)
		o->hold_s = 0;
	if (o->ncpus == 0) {
		/* default: spread over the cores this process may use */
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof set, &set) == 0) {
			for (int c = 0; c < CPU_SETSIZE && o->ncpus < BENCH_MAX_THREADS; c++)
				if (CPU_ISSET(c, &set))
					o->cpu_list[o->ncpus++] = c;
		}
		o->cpus[0] = 0;
	}
	o->threads = threads ? threads : (o->cpus[0] ? o->ncpus : count_available_cpus());
	if (o->threads > BENCH_MAX_THREADS)
		o->threads = BENCH_MAX_THREADS;
	if (o->scenario == BENCH_SC_HANDSHAKE && !o->connections)
		o->connections = o->threads;
	/* the cpus actually used, for the result */
	size_t n = 0;
	o->cpus[0] = 0;
	for (int i = 0; i < o->threads && o->ncpus; i++)
		n += (size_t)snprintf(o->cpus + n, n < sizeof o->cpus ? sizeof o->cpus - n : 0,
				      "%s%d", i ? "," : "", o->cpu_list[i % o->ncpus]);
	if (o->timeout_s <= 0)
		o->timeout_s = (o->duration_s + o->warmup_s + o->hold_s) + 30;
	return 0;
}

/* ---- the coordinator ---- */

struct coord {
	struct bench_counters snap0, snap1;
	uint64_t t0, t1; /* measured interval (ns) */
	bool count_finished;
	struct bench_proc_sample r0, r1;
	uint64_t rss_peak_kb;
	uint64_t t_go, t_ready;
	double connect_s;
};

static bool drained(const struct bench_run *r, const struct bench_counters *c)
{
	uint64_t settled = c->accepted + c->rejected + c->released + c->modified;
	bool acks = r->o.presettled || settled >= c->sent;
	switch (r->o.scenario) {
	case BENCH_SC_THROUGHPUT:
	case BENCH_SC_FANOUT:
		return c->received - c->duplicates >= bench_flow_expected(r, c) && acks;
	case BENCH_SC_RPC:
		if (r->o.serve)
			return c->server_sent >= c->server_received;
		return c->received >= c->sent && acks;
	default: return true;
	}
}

/* Count runs: has every sender sent its share? */
static bool count_reached(const struct bench_run *r, const struct bench_counters *c)
{
	if (!r->o.count)
		return false;
	switch (r->o.scenario) {
	case BENCH_SC_HANDSHAKE: return c->cycles >= r->o.count;
	case BENCH_SC_CONNECTIONS: return false;
	case BENCH_SC_RPC:
		if (r->o.serve)
			return c->server_received >= r->o.count;
		return c->sent >= r->o.count;
	default: return c->sent >= r->o.count;
	}
}

static uint64_t progress_value(const struct bench_run *r, const struct bench_counters *c)
{
	switch (r->o.scenario) {
	case BENCH_SC_HANDSHAKE: return c->cycles;
	case BENCH_SC_CONNECTIONS: return c->links_ready;
	default: return r->o.serve ? c->server_received : c->received;
	}
}

static void set_phase(struct bench_run *r, int ph)
{
	__atomic_store_n(&r->phase, ph, __ATOMIC_RELEASE);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	nanosleep(&ts, NULL);
}

static void sample_router(struct bench_run *r, struct coord *k, struct bench_proc_sample *s)
{
	if (!r->o.router_pid)
		return;
	bench_proc_sample(r->o.router_pid, s);
	if (s->ok && s->rss_kb > k->rss_peak_kb)
		k->rss_peak_kb = s->rss_kb;
}

static void print_progress(struct bench_run *r, const struct coord *k, uint64_t now,
			   uint64_t *last_v, uint64_t *last_t, int phase)
{
	struct bench_counters c;
	bench_counters_sum(r, &c);
	uint64_t v = progress_value(r, &c);
	double dt = (double)(now - *last_t) / 1e9;
	double rate = dt > 0 ? (double)(v - *last_v) / dt : 0;
	*last_v = v;
	*last_t = now;
	static const char *const names[] = {"setup", "warmup", "run", "drain", "close", "done"};
	double el = k->t0 && now > k->t0 ? (double)(now - k->t0) / 1e9 : 0;
	char eta[32] = "";
	if (phase == BENCH_PH_MEASURE && r->t_send_end_ns && r->t_send_end_ns > now)
		snprintf(eta, sizeof eta, " ETA %.0f s", (double)(r->t_send_end_ns - now) / 1e9);
	else if (phase == BENCH_PH_MEASURE && r->o.count && rate > 0 && v < r->o.count)
		snprintf(eta, sizeof eta, " ETA %.0f s", (double)(r->o.count - v) / rate);
	fprintf(stderr, "\r\033[K%s %s: %.1f s  sent %" PRIu64 "  recv %" PRIu64 "  %.0f/s%s",
		r->o.scenario_name, names[phase], el, c.sent ? c.sent : c.server_sent, v, rate,
		eta);
}

static void coordinate(struct bench_run *r, struct coord *k)
{
	struct bench_opts *o = &r->o;
	uint64_t now = bench_now_ns();
	uint64_t deadline = now + (uint64_t)(o->timeout_s * 1e9);
	uint64_t next_progress = now + PROGRESS_NS, next_rss = now;
	uint64_t last_v = 0, last_t = now;
	uint64_t drain_progress = 0, drain_last_change = 0, close_start = 0;
	k->t_go = now;
	sample_router(r, k, &k->r0);
	int phase = BENCH_PH_SETUP;
	int wave = 0;
	__atomic_store_n(&r->wave, 0, __ATOMIC_RELEASE);
	set_phase(r, phase);
	if (bench_io_start(r) != 0) {
		bench_run_error(r, "cannot start the I/O threads");
		return;
	}
	for (;;) {
		sleep_ns(POLL_NS);
		now = bench_now_ns();
		struct bench_counters c;
		bench_counters_sum(r, &c);
		bool failed = r->error[0] != 0 || c.conn_failed > 0;
		if (g_signal && phase < BENCH_PH_DRAIN) {
			if (!o->serve)
				bench_run_error(r, "interrupted by signal %d", (int)g_signal);
			failed = !o->serve;
		}
		if (now >= deadline && phase < BENCH_PH_CLOSE) {
			bench_run_error(r, "timed out after %.1f s (--timeout) in phase %d",
					o->timeout_s, phase);
			failed = true;
		}
		if (r->o.router_pid && now >= next_rss) {
			struct bench_proc_sample s;
			sample_router(r, k, &s);
			next_rss = now + RSS_SAMPLE_NS;
		}
		switch (phase) {
		case BENCH_PH_SETUP:
			if (failed || g_signal) {
				phase = BENCH_PH_CLOSE;
				close_start = now;
				set_phase(r, phase);
				break;
			}
			if (wave == 0 && c.links_ready >= r->expect_links_wave0) {
				wave = 1;
				__atomic_store_n(&r->wave, 1, __ATOMIC_RELEASE);
			}
			if (wave == 1 && c.links_ready >= r->expect_links) {
				k->t_ready = now;
				k->connect_s = (double)(now - k->t_go) / 1e9;
				r->t_send_start_ns = now;
				r->t_measure_ns = now + (uint64_t)(o->warmup_s * 1e9);
				bool timed = o->duration_given || !o->count;
				if (o->scenario == BENCH_SC_CONNECTIONS)
					r->t_send_end_ns =
					    r->t_measure_ns + (uint64_t)(o->hold_s * 1e9);
				else if (timed)
					r->t_send_end_ns =
					    r->t_measure_ns + (uint64_t)(o->duration_s * 1e9);
				phase = o->warmup_s > 0 ? BENCH_PH_WARMUP : BENCH_PH_MEASURE;
				if (phase == BENCH_PH_MEASURE) {
					k->snap0 = c;
					k->t0 = now;
					/* connections: the baseline is the router
					 * before any connection (sampled at go) */
					if (o->scenario != BENCH_SC_CONNECTIONS)
						sample_router(r, k, &k->r0);
				}
				set_phase(r, phase);
			}
			break;
		case BENCH_PH_WARMUP:
			if (failed) {
				phase = BENCH_PH_CLOSE;
				close_start = now;
				set_phase(r, phase);
				break;
			}
			if (now >= r->t_measure_ns) {
				k->snap0 = c;
				k->t0 = now;
				sample_router(r, k, &k->r0);
				phase = BENCH_PH_MEASURE;
				set_phase(r, phase);
			}
			break;
		case BENCH_PH_MEASURE: {
			bool by_time = r->t_send_end_ns && now >= r->t_send_end_ns;
			bool by_count = count_reached(r, &c);
			if (failed || g_signal || by_time || by_count) {
				k->snap1 = c;
				k->t1 = now; /* when snap1 was read */
				k->count_finished = by_count && !by_time;
				if (!k->count_finished)
					sample_router(r, k, &k->r1);
				phase = BENCH_PH_DRAIN;
				drain_progress = progress_value(r, &c) + c.accepted + c.server_sent;
				drain_last_change = now;
				set_phase(r, phase);
			}
			break;
		}
		case BENCH_PH_DRAIN: {
			uint64_t p = progress_value(r, &c) + c.accepted + c.server_sent;
			if (p != drain_progress) {
				drain_progress = p;
				drain_last_change = now;
			}
			if (failed || drained(r, &c) || now - drain_last_change >= DRAIN_IDLE_NS) {
				if (k->count_finished) {
					k->snap1 = c;
					uint64_t end = c.last_rx_ns > k->t0 ? c.last_rx_ns : now;
					k->t1 = end;
					sample_router(r, k, &k->r1);
				}
				phase = BENCH_PH_CLOSE;
				close_start = now;
				set_phase(r, phase);
			}
			break;
		}
		case BENCH_PH_CLOSE: {
			bool all = true;
			for (int t = 0; t < r->nthreads; t++)
				if (!__atomic_load_n(&r->threads[t].finished, __ATOMIC_ACQUIRE))
					all = false;
			if (all || now - close_start >= CLOSE_WAIT_NS) {
				set_phase(r, BENCH_PH_DONE);
				if (o->progress)
					fputs("\r\033[K", stderr);
				return;
			}
			break;
		}
		}
		if (o->progress && now >= next_progress) {
			print_progress(r, k, now, &last_v, &last_t, phase);
			next_progress = now + PROGRESS_NS;
		}
	}
}

/* ---- the result line ---- */

static void write_latency(struct bench_out *j, const struct bench_hist *h)
{
	bench_out_obj(j, "latency_us");
	bench_out_u64(j, "count", h->total);
	bench_out_dbl(j, "min", h->total ? (double)h->min / 1e3 : 0);
	bench_out_dbl(j, "mean", bench_hist_mean(h) / 1e3);
	bench_out_dbl(j, "p50", (double)bench_hist_quantile(h, 0.50) / 1e3);
	bench_out_dbl(j, "p90", (double)bench_hist_quantile(h, 0.90) / 1e3);
	bench_out_dbl(j, "p99", (double)bench_hist_quantile(h, 0.99) / 1e3);
	bench_out_dbl(j, "p999", (double)bench_hist_quantile(h, 0.999) / 1e3);
	bench_out_dbl(j, "max", (double)h->max / 1e3);
	uint64_t v[BENCH_HIST_CDF_MAX];
	double f[BENCH_HIST_CDF_MAX];
	size_t n = bench_hist_cdf(h, v, f, BENCH_HIST_CDF_MAX);
	bench_out_arr(j, "cdf");
	for (size_t i = 0; i < n; i++) {
		bench_out_arr(j, NULL);
		bench_out_dbl(j, NULL, (double)v[i] / 1e3);
		bench_out_dbl(j, NULL, f[i]);
		bench_out_end(j, ']');
	}
	bench_out_end(j, ']');
	bench_out_end(j, '}');
}

static const char *target_name(const struct bench_run *r, char *buf, size_t cap)
{
	if (r->o.label)
		return r->o.label;
	if (r->o.direct)
		return "direct";
	snprintf(buf, cap, "%s:%s", r->o.host, r->o.port);
	return buf;
}

/* Decides clean or not (sets the error when not) and writes the line. */
static int report(struct bench_run *r, struct coord *k, const struct bench_env *env)
{
	struct bench_opts *o = &r->o;
	struct bench_counters c;
	bench_counters_sum(r, &c);
	struct bench_hist h;
	if (!bench_hist_init(&h)) {
		fprintf(stderr, "rpcrouter-bench: out of memory\n");
		return 1;
	}
	for (int t = 0; t < r->nthreads; t++)
		bench_hist_merge(&h, &r->threads[t].hist);
	bool serve = o->serve;
	uint64_t sent = serve ? c.server_sent : c.sent;
	uint64_t received = serve ? c.server_received : c.received;
	uint64_t expected = serve ? c.server_received : bench_flow_expected(r, &c);
	uint64_t unique = received >= c.duplicates ? received - c.duplicates : 0;
	uint64_t lost = expected > unique ? expected - unique : 0;
	if (o->scenario == BENCH_SC_CONNECTIONS || o->scenario == BENCH_SC_HANDSHAKE)
		lost = 0;
	double elapsed = k->t1 > k->t0 ? (double)(k->t1 - k->t0) / 1e9 : 0;
	uint64_t measured = 0;
	if (k->t1) {
		uint64_t a = progress_value(r, &k->snap1), b = progress_value(r, &k->snap0);
		measured = k->count_finished ? progress_value(r, &c) - b : a - b;
	}
	double rate = elapsed > 0 ? (double)measured / elapsed : 0;
	double offered = 0, offered_err = 0;
	if (o->rate > 0) {
		double win = (double)(r->t_send_end_ns - r->t_measure_ns) / 1e9;
		offered = win > 0 ? (double)c.sent_in_window / win : 0;
		offered_err = fabs(offered - o->rate) / o->rate;
	}
	uint64_t opened = o->scenario == BENCH_SC_HANDSHAKE ? c.cycles : c.opened;
	double conn_s = 0, conn_rate = 0;
	if (o->scenario == BENCH_SC_CONNECTIONS) {
		conn_s = k->connect_s;
		conn_rate = conn_s > 0 ? (double)opened / conn_s : 0;
	} else if (o->scenario == BENCH_SC_HANDSHAKE) {
		conn_s = elapsed;
		conn_rate = rate;
	}

	/* clean? */
	char why[256] = "";
	uint64_t settled_bad = c.rejected + c.released + c.modified;
	if (lost)
		snprintf(why, sizeof why, "lost %" PRIu64 " of %" PRIu64, lost, expected);
	else if (c.duplicates)
		snprintf(why, sizeof why, "%" PRIu64 " duplicates", c.duplicates);
	else if (c.out_of_order)
		snprintf(why, sizeof why, "%" PRIu64 " out of order", c.out_of_order);
	else if (c.bad_correlation)
		snprintf(why, sizeof why, "%" PRIu64 " replies with a wrong correlation-id",
			 c.bad_correlation);
	else if (c.bad_tail)
		snprintf(why, sizeof why, "%" PRIu64 " messages without our tail", c.bad_tail);
	else if (!o->presettled && !serve && settled_bad)
		snprintf(why, sizeof why, "%" PRIu64 " deliveries not accepted", settled_bad);
	else if (!o->presettled && !serve && c.accepted < c.sent &&
		 o->scenario != BENCH_SC_CONNECTIONS && o->scenario != BENCH_SC_HANDSHAKE)
		snprintf(why, sizeof why, "%" PRIu64 " of %" PRIu64 " deliveries never settled",
			 c.sent - c.accepted, c.sent);
	else if (c.server_dropped)
		snprintf(why, sizeof why, "the rpc server dropped %" PRIu64 " requests",
			 c.server_dropped);
	else if (o->scenario == BENCH_SC_CONNECTIONS && opened < (uint64_t)o->connections)
		snprintf(why, sizeof why, "%" PRIu64 " of %d connections opened", opened,
			 o->connections);
	else if (o->scenario == BENCH_SC_HANDSHAKE && !c.cycles)
		snprintf(why, sizeof why, "no handshake completed");
	else if (!measured && o->scenario != BENCH_SC_CONNECTIONS && !serve)
		snprintf(why, sizeof why, "nothing was measured");
	if (why[0])
		bench_run_error(r, "%s", why);

	struct bench_out j;
	if (!bench_out_open(&j)) {
		bench_hist_free(&h);
		return 1;
	}
	char tbuf[300];
	bench_out_obj(&j, NULL);
	bench_out_u64(&j, "schema", 1);
	bench_out_str(&j, "tool", "rpcrouter-bench");
	bench_out_str(&j, "scenario", o->scenario_name);
	bench_out_str(&j, "target", target_name(r, tbuf, sizeof tbuf));
	bench_out_str(&j, "url", o->url);
	bench_out_bool(&j, "direct", o->direct);

	bench_out_obj(&j, "params");
	bench_out_u64(&j, "body_size", o->body_size);
	bench_out_u64(&j, "senders", (uint64_t)o->senders);
	bench_out_u64(&j, "receivers", (uint64_t)o->receivers);
	bench_out_u64(&j, "links_per_conn", (uint64_t)o->links_per_conn);
	bench_out_u64(&j, "credit", o->credit);
	bench_out_bool(&j, "presettled", o->presettled);
	bench_out_dbl(&j, "duration_s", o->count && !o->duration_given ? 0 : o->duration_s);
	bench_out_u64(&j, "count", o->count);
	bench_out_u64(&j, "inflight", (uint64_t)(o->rate > 0 ? 0 : o->inflight));
	bench_out_dbl(&j, "rate", o->rate);
	bench_out_u64(&j, "connections", (uint64_t)o->connections);
	bench_out_str(&j, "address", o->address);
	bench_out_u64(&j, "threads", (uint64_t)r->nthreads);
	bench_out_str(&j, "cpus", o->cpus);
	bench_out_dbl(&j, "warmup_s", o->warmup_s);
	bench_out_dbl(&j, "hold_s", o->hold_s);
	bench_out_str(&j, "reply_to", o->reply_to ? o->reply_to : "");
	bench_out_bool(&j, "anonymous_relay", !o->no_anonymous_relay);
	bench_out_bool(&j, "serve", o->serve);
	bench_out_str(&j, "sasl_mech", o->sasl_mech ? o->sasl_mech : "none");
	if (o->dpdk.eal)
		bench_out_str(&j, "io", "dpdk"); /* socket runs have no "io" key */
	bench_out_end(&j, '}');

	bench_out_obj(&j, "results");
	bench_out_dbl(&j, "elapsed_s", elapsed);
	bench_out_u64(&j, "sent", sent);
	bench_out_u64(&j, "received", received);
	bench_out_u64(&j, "accepted", c.accepted);
	bench_out_u64(&j, "rejected", c.rejected);
	bench_out_u64(&j, "released", c.released);
	bench_out_u64(&j, "modified", c.modified);
	bench_out_u64(&j, "lost", lost);
	bench_out_u64(&j, "duplicates", c.duplicates);
	bench_out_u64(&j, "out_of_order", c.out_of_order);
	bench_out_u64(&j, "bad_correlation", c.bad_correlation);
	bench_out_dbl(
	    &j, "msg_per_s",
	    o->scenario == BENCH_SC_CONNECTIONS || o->scenario == BENCH_SC_HANDSHAKE ? 0 : rate);
	bench_out_dbl(&j, "mb_per_s",
		      o->scenario == BENCH_SC_CONNECTIONS || o->scenario == BENCH_SC_HANDSHAKE
			  ? 0
			  : rate * (double)o->body_size / 1e6);
	write_latency(&j, &h);
	bench_out_dbl(&j, "offered_rate", offered);
	bench_out_dbl(&j, "offered_rate_error", offered_err);
	bench_out_u64(&j, "connections_opened", opened);
	bench_out_dbl(&j, "connect_s", conn_s);
	bench_out_dbl(&j, "connections_per_s", conn_rate);
	bench_out_u64(&j, "server_requests", c.server_received);
	bench_out_u64(&j, "server_replies", c.server_sent);
	bench_out_u64(&j, "connections_failed", c.conn_failed);
	bench_out_end(&j, '}');

	if (o->router_pid) {
		bench_out_obj(&j, "router");
		bench_out_i64(&j, "pid", (int64_t)o->router_pid);
		double cpu = k->r1.ok && k->r0.ok ? k->r1.cpu_s - k->r0.cpu_s : 0;
		bench_out_dbl(&j, "cpu_s", cpu);
		/* the split, from the 10 ms ticks (cpu_s is the exact
		 * schedstat sum where the kernel has it) */
		bench_out_dbl(&j, "user_s", k->r1.ok && k->r0.ok ? k->r1.user_s - k->r0.user_s : 0);
		bench_out_dbl(&j, "system_s",
			      k->r1.ok && k->r0.ok ? k->r1.system_s - k->r0.system_s : 0);
		bench_out_u64(&j, "rss_start_kb", k->r0.rss_kb);
		bench_out_u64(&j, "rss_end_kb", k->r1.rss_kb);
		bench_out_u64(&j, "rss_peak_kb", k->rss_peak_kb);
		bench_out_dbl(&j, "msg_per_router_cpu_s", cpu > 0 ? (double)measured / cpu : 0);
		double per_conn = 0;
		if (o->scenario == BENCH_SC_CONNECTIONS && opened && k->r1.rss_kb > k->r0.rss_kb)
			per_conn = (double)(k->r1.rss_kb - k->r0.rss_kb) * 1024.0 / (double)opened;
		bench_out_dbl(&j, "rss_per_conn_bytes", per_conn);
		bench_out_end(&j, '}');
	}
#ifdef BENCH_HAVE_DPDK
	if (o->dpdk.eal)
		bench_io_dpdk_report(r, &j);
#endif
	bench_env_write(&j, env);
	bench_out_str(&j, "error", r->error);
	bench_out_end(&j, '}');
	const char *line = bench_out_finish(&j);

	int rc = r->error[0] ? 1 : 0;
	FILE *f = stdout;
	if (o->out_path) {
		f = fopen(o->out_path, "a");
		if (!f) {
			fprintf(stderr, "rpcrouter-bench: cannot open %s: %s\n", o->out_path,
				strerror(errno));
			f = stdout;
			rc = 1;
		}
	}
	fputs(line, f);
	fflush(f);
	if (f != stdout)
		fclose(f);
	if (r->error[0])
		fprintf(stderr, "rpcrouter-bench: %s\n", r->error);
	bench_out_free(&j);
	bench_hist_free(&h);
	return rc;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "report") == 0) {
#ifdef HAVE_BENCH_REPORT
		return bench_report_main(argc - 1, argv + 1);
#else
		fprintf(stderr, "rpcrouter-bench: this build has no report renderer\n");
		return 2;
#endif
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	static struct bench_run run;
	struct bench_run *r = &run;
	pthread_mutex_init(&r->err_lock, NULL);
	static char user[256], pass[256];
	if (parse_args(r, argc, argv, user, pass) != 0) {
		usage(stderr);
		return 2;
	}
	struct bench_env env;
	bench_env_collect(&env, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	raise_fd_limit();
	r->listen_fd = -1;
	static struct coord k;
	if (resolve(r) == 0 && bench_io_init(r) == 0 && r->scen->setup(r) == 0) {
		coordinate(r, &k);
		bench_io_join(r);
	} else if (!r->error[0]) {
		bench_run_error(r, "set-up failed");
	}
	if (!r->threads) {
		/* nothing ran: still one line, so a sweep sees the failure */
		r->nthreads = 0;
	}
	int rc = report(r, &k, &env);
	bench_io_free(r);
	return rc;
}
