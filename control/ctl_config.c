#include "ctl_config.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl_addr.h"
#include "ctl_config_int.h"

/* Files larger than this are not configuration files. */
#define CTL_CONFIG_MAX_BYTES (16u << 20)

#define MAX_WORKERS		256u
#define AMQP_MIN_MAX_FRAME_SIZE 512u	     /* AMQP 1.0 part 2.7.1, open: max-frame-size */
#define MAX_SECONDS		4294967u     /* timeouts are kept as uint32 milliseconds */
#define MAX_COUNT_LIMIT		(1u << 24)   /* connections, links: pools are sized at start */
#define MAX_BYTES_LIMIT		(1ull << 40) /* message and buffer sizes */
#define MAX_CPU_LIST		1024u
#define MAX_UNIX_PATH		107u /* sizeof(sockaddr_un.sun_path) - 1 on Linux */

/* Defaults (docs/config.md). qdrouterd's where it has one. */
#define DEFAULT_MAX_CONNECTIONS		  65535u /* qdrouterd policy maxConnections */
#define DEFAULT_MAX_MESSAGE_SIZE	  (32ull << 20)
#define DEFAULT_MAX_SESSIONS		  32768u /* qdrouterd listener maxSessions */
#define DEFAULT_MAX_LINKS		  1024u
#define DEFAULT_MAX_CONN_BUFFERED	  (64ull << 20)
#define DEFAULT_HANDSHAKE_TIMEOUT_SECONDS 10u
#define DEFAULT_LINK_CAPACITY		  250u /* qdrouterd's linkCapacity */
#define DEFAULT_SESSION_WINDOW		  5000u
#define DEFAULT_MAX_FRAME_SIZE		  16384u /* qdrouterd listener maxFrameSize */
#define DEFAULT_IDLE_TIMEOUT_SECONDS	  16u	 /* qdrouterd listener idleTimeoutSeconds */
#define DEFAULT_CONTROL_SOCKET		  "/run/rpcrouterd/rpcrouterd.sock"

const char *ctl_entity_get(const struct ctl_entity *e, unsigned attr)
{
	if (attr >= e->def->n_attrs)
		return NULL;
	return e->values[attr] ? e->values[attr] : e->def->attrs[attr].default_value;
}

unsigned ctl_entity_line(const struct ctl_entity *e, unsigned attr)
{
	if (attr < e->def->n_attrs && e->values[attr])
		return e->lines[attr];
	return e->section->line;
}

bool ctl_config_have_driver(enum ctl_driver d)
{
	switch (d) {
	case CTL_DRIVER_SOCKET: return true;
#ifdef RR_HAVE_DPDK
	case CTL_DRIVER_DPDK: return true;
#else
	case CTL_DRIVER_DPDK: return false;
#endif
	}
	return false;
}

const char *ctl_driver_name(enum ctl_driver d)
{
	return d == CTL_DRIVER_DPDK ? "dpdk" : "socket";
}

size_t ctl_config_count(const struct ctl_config *cfg, enum ctl_entity_type type)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_entities; i++)
		n += cfg->entities[i].type == type;
	return n;
}

/* --- schema check of one section ------------------------------------------ */

/* Check and store one attribute of `e`; false on an error (reported). */
static bool check_value(struct ctl_config *cfg, struct ctl_entity *e, unsigned idx,
			const struct ctl_conf_attr *a)
{
	const struct ctl_attr_def *ad = &e->def->attrs[idx];
	const char *sec = e->def->name;
	const char *v = a->value;

	if (ad->type == CTL_T_MAP && !a->block) {
		fail(cfg, RR_E_CONFIG_VALUE, a->line, "%s: '%s' takes a { } block", sec,
		     a->raw_key);
		return false;
	}
	if (ad->type != CTL_T_MAP && a->block) {
		fail(cfg, RR_E_CONFIG_VALUE, a->line,
		     "%s: '%s' takes a single value, not a { } block", sec, a->raw_key);
		return false;
	}
	switch (ad->type) {
	case CTL_T_INTEGER: {
		int64_t i;
		if (ctl_value_integer(v, &i) != RR_OK) {
			fail(cfg, RR_E_CONFIG_VALUE, a->line, "%s: %s: '%.80s' is not an integer",
			     sec, a->raw_key, v);
			return false;
		}
		break;
	}
	case CTL_T_BOOLEAN: {
		bool b;
		if (ctl_value_boolean(v, &b) != RR_OK) {
			fail(cfg, RR_E_CONFIG_VALUE, a->line,
			     "%s: %s: '%.80s' is not a boolean (yes/no, true/false, on/off)", sec,
			     a->raw_key, v);
			return false;
		}
		break;
	}
	case CTL_T_ENUM: {
		const char *tag;
		if (ctl_value_enum(ad, v, &tag) != RR_OK) {
			char tags[256];
			fail(cfg, RR_E_CONFIG_VALUE, a->line, "%s: %s: '%.80s' is not one of: %s",
			     sec, a->raw_key, v, ctl_attr_tags_text(ad, tags, sizeof(tags)));
			return false;
		}
		v = tag;
		break;
	}
	case CTL_T_PATH:
		if (!v[0]) {
			fail(cfg, RR_E_CONFIG_VALUE, a->line, "%s: %s: empty path", sec,
			     a->raw_key);
			return false;
		}
		break;
	case CTL_T_STRING:
	case CTL_T_MAP: break;
	}
	e->values[idx] = v;
	e->lines[idx] = a->line;
	return true;
}

static void check_section(struct ctl_config *cfg, const struct ctl_conf_section *s)
{
	const struct ctl_entity_def *def = ctl_schema_find_entity(s->name);
	if (!def) {
		warn(cfg, s->line, "unknown section '%s' (ignored)", s->raw_name);
		return;
	}
	enum ctl_entity_type type = (enum ctl_entity_type)(def - ctl_schema_entities);
	if (def->flags & CTL_E_SINGLETON) {
		for (size_t i = 0; i < cfg->n_entities; i++) {
			if (cfg->entities[i].type == type) {
				fail(
				    cfg, RR_E_CONFIG_VALUE, s->line,
				    "a second '%s' section (the first is at line %u): there can be "
				    "only one",
				    def->name, cfg->entities[i].section->line);
				return;
			}
		}
	}
	if (def->flags & CTL_E_DEPRECATED)
		warn(cfg, s->line, "section '%s' is deprecated", def->name);

	struct ctl_entity *e = &cfg->entities[cfg->n_entities];
	e->type = type;
	e->def = def;
	e->section = s;
	e->values = calloc(def->n_attrs, sizeof(*e->values));
	e->lines = calloc(def->n_attrs, sizeof(*e->lines));
	bool *by_old_name = calloc(def->n_attrs, sizeof(*by_old_name));
	bool *tried = calloc(def->n_attrs, sizeof(*tried)); /* given, valid or not */
	if (!e->values || !e->lines || !by_old_name || !tried) {
		free(e->values);
		free(e->lines);
		free(by_old_name);
		free(tried);
		fail(cfg, RR_E_NOMEM, s->line, "out of memory");
		return;
	}
	cfg->n_entities++;

	for (size_t i = 0; i < s->n_attrs; i++) {
		const struct ctl_conf_attr *a = &s->attrs[i];
		bool old_name = false;
		int idx = ctl_schema_find_attr(def, a->key, &old_name);
		if (idx < 0) {
			warn(cfg, a->line, "%s: unknown attribute '%s' (ignored)", def->name,
			     a->raw_key);
			continue;
		}
		const struct ctl_attr_def *ad = &def->attrs[idx];
		if (ad->flags & CTL_A_STATUS) {
			warn(cfg, a->line,
			     "%s: '%s' is a read-only status attribute, not a setting "
			     "(ignored)",
			     def->name, a->raw_key);
			continue;
		}
		if (old_name)
			warn(cfg, a->line, "%s: '%s' is deprecated, use '%s'", def->name,
			     a->raw_key, ad->name);
		else if (ad->flags & CTL_A_DEPRECATED)
			warn(cfg, a->line, "%s: '%s' is deprecated", def->name, a->raw_key);
		if (e->values[idx]) {
			if (by_old_name[idx] != old_name) {
				fail(cfg, RR_E_CONFIG_VALUE, a->line,
				     "%s: both '%s' and '%s' are given (line %u): give only '%s'",
				     def->name, ad->deprecated_name, ad->name, e->lines[idx],
				     ad->name);
				continue;
			}
			warn(cfg, a->line,
			     "%s: '%s' is given again (first at line %u); this value is "
			     "used",
			     def->name, a->raw_key, e->lines[idx]);
		}
		tried[idx] = true;
		if (check_value(cfg, e, (unsigned)idx, a))
			by_old_name[idx] = old_name;
	}
	free(by_old_name);

	/* An invalid value was reported already: not "missing" as well. */
	for (unsigned i = 0; i < def->n_attrs; i++) {
		const struct ctl_attr_def *ad = &def->attrs[i];
		if ((ad->flags & CTL_A_REQUIRED) && !e->values[i] && !tried[i] &&
		    !ad->default_value)
			fail(cfg, RR_E_CONFIG_VALUE, s->line, "%s: missing required attribute '%s'",
			     def->name, ad->name);
	}
	free(tried);
}

/* --- typed settings ---------------------------------------------------------- */

/* Typed getters of values check_value accepted (defaults are well-formed too). */
static bool get_bool(const struct ctl_entity *e, unsigned attr)
{
	bool b = false;
	const char *v = ctl_entity_get(e, attr);
	if (v)
		(void)ctl_value_boolean(v, &b);
	return b;
}

static bool get_int(const struct ctl_entity *e, unsigned attr, int64_t *out)
{
	const char *v = ctl_entity_get(e, attr);
	return v && ctl_value_integer(v, out) == RR_OK;
}

bool ctl_config_given(const struct ctl_entity *e, unsigned attr)
{
	return attr < e->def->n_attrs && e->values[attr] != NULL;
}

/* Integer attribute (given, or its schema default) in [lo, hi] into *out;
 * false on error (reported). Neither given nor defaulted: *out is kept. */
static bool get_ranged64(struct ctl_config *cfg, const struct ctl_entity *e, unsigned attr,
			 int64_t lo, int64_t hi, const char *why, uint64_t *out)
{
	int64_t v;
	if (!get_int(e, attr, &v))
		return true;
	if (v < lo || v > hi) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, attr),
		     "%s: %s %lld is out of range (%lld-%lld%s)", e->def->name,
		     e->def->attrs[attr].name, (long long)v, (long long)lo, (long long)hi, why);
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

bool ctl_config_get_ranged(struct ctl_config *cfg, const struct ctl_entity *e, unsigned attr,
			   int64_t lo, int64_t hi, const char *why, uint32_t *out)
{
	uint64_t v = *out;
	bool ok = get_ranged64(cfg, e, attr, lo, hi, why, &v);
	*out = (uint32_t)v;
	return ok;
}

/* Number of CPUs online; at least 1. */
static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1u;
}

/* --- distribution and log levels -------------------------------------------- */

static const char *const distribution_names[] = {
    [CTL_DIST_CLOSEST] = "closest",
    [CTL_DIST_BALANCED] = "balanced",
    [CTL_DIST_MULTICAST] = "multicast",
};

const char *ctl_distribution_name(enum ctl_distribution d)
{
	return (unsigned)d < 3 ? distribution_names[d] : "?";
}

/* A distribution attribute (a schema enum tag) into *out; 'unavailable' is
 * refused: ignoring it would route what the operator meant to refuse. */
static bool get_distribution(struct ctl_config *cfg, const struct ctl_entity *e, unsigned attr,
			     enum ctl_distribution *out)
{
	const char *v = e->values[attr];
	for (unsigned i = 0; i < 3; i++) {
		if (strcmp(v, distribution_names[i]) == 0) {
			*out = (enum ctl_distribution)i;
			return true;
		}
	}
	fail(cfg, RR_E_CONFIG_UNSUPPORTED, e->lines[attr],
	     "%s: %s '%s' is not implemented yet (closest, balanced and multicast are)",
	     e->def->name, e->def->attrs[attr].name, v);
	return false;
}

static const char *const level_names[CTL_LEVEL_COUNT] = {
    "trace", "debug", "info", "notice", "warning", "error", "critical",
};

const char *ctl_log_level_name(enum ctl_log_level level)
{
	return (unsigned)level < CTL_LEVEL_COUNT ? level_names[level] : "?";
}

enum rr_err ctl_log_parse_levels(const char *text, unsigned *mask, char *bad, size_t bad_size)
{
	unsigned m = 0;
	const char *s = text;
	if (strcasecmp(text, "none") == 0) {
		*mask = CTL_LOG_NONE;
		return RR_OK;
	}
	do {
		size_t n = strcspn(s, ",");
		const char *item = s;
		s += n;
		if (*s == ',')
			s++;
		while (n && (*item == ' ' || *item == '\t')) {
			item++;
			n--;
		}
		while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			n--;
		size_t word = n;
		bool and_above = word && item[word - 1] == '+';
		if (and_above)
			word--;
		int level = -1;
		for (unsigned i = 0; i < CTL_LEVEL_COUNT && level < 0; i++)
			if (strlen(level_names[i]) == word &&
			    strncasecmp(item, level_names[i], word) == 0)
				level = (int)i;
		if (level < 0) {
			if (bad && bad_size)
				snprintf(bad, bad_size, "%.*s", (int)(n < 64 ? n : 64), item);
			return RR_E_CONFIG_VALUE;
		}
		m |= and_above ? CTL_LOG_ALL & ~((1u << level) - 1u) : 1u << level;
	} while (*s);
	*mask = m;
	return RR_OK;
}

/* --- router, policy, dataplane ------------------------------------------------ */

static void load_router(struct ctl_config *cfg, const struct ctl_entity *e)
{
	uint32_t threads = 0;
	cfg->router.mode = ctl_entity_get(e, CTL_ROUTER_MODE);
	cfg->router.id = ctl_entity_get(e, CTL_ROUTER_ID);
	if (cfg->router.id && strlen(cfg->router.id) > CTL_ROUTER_ID_MAX)
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_ROUTER_ID),
		     "router: id '%.40s...' is %zu bytes long, longer than %u bytes",
		     cfg->router.id, strlen(cfg->router.id), CTL_ROUTER_ID_MAX);
	if (ctl_config_given(e, CTL_ROUTER_WORKER_THREADS) &&
	    ctl_config_get_ranged(cfg, e, CTL_ROUTER_WORKER_THREADS, 1, MAX_WORKERS, "", &threads))
		cfg->router.worker_threads = threads;
	cfg->router.sasl_config_dir = e->values[CTL_ROUTER_SASL_CONFIG_DIR];
	cfg->router.sasl_config_name = ctl_entity_get(e, CTL_ROUTER_SASL_CONFIG_NAME);
	if (!cfg->router.sasl_config_name || !cfg->router.sasl_config_name[0]) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_ROUTER_SASL_CONFIG_NAME),
		     "router: saslConfigName is empty");
	} else if (strchr(cfg->router.sasl_config_name, '/')) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_ROUTER_SASL_CONFIG_NAME),
		     "router: saslConfigName '%.80s' is a name, not a path (the directory is "
		     "saslConfigDir)",
		     cfg->router.sasl_config_name);
	}
	if (ctl_config_given(e, CTL_ROUTER_DEFAULT_DISTRIBUTION))
		(void)get_distribution(cfg, e, CTL_ROUTER_DEFAULT_DISTRIBUTION,
				       &cfg->router.default_distribution);
	cfg->router.timestamps_in_utc = get_bool(e, CTL_ROUTER_TIMESTAMPS_IN_UTC);
	if (strcmp(cfg->router.mode, "standalone") != 0)
		warn(cfg, ctl_entity_line(e, CTL_ROUTER_MODE),
		     "router: mode %s: the router mesh is not implemented yet; routing as "
		     "standalone",
		     cfg->router.mode);
}

/* qdrouterd's policy section: its router-wide limits apply; vhost policies
 * cannot be enforced yet, so asking for them stops start-up. */
static void load_policy(struct ctl_config *cfg, const struct ctl_entity *e, uint64_t *max_conn,
			uint64_t *max_msg)
{
	uint64_t v = 0;
	if (ctl_config_given(e, CTL_POLICY_MAX_CONNECTIONS) &&
	    get_ranged64(cfg, e, CTL_POLICY_MAX_CONNECTIONS, 0, UINT32_MAX, "", &v) && v)
		*max_conn = v;
	v = 0;
	if (ctl_config_given(e, CTL_POLICY_MAX_MESSAGE_SIZE) &&
	    get_ranged64(cfg, e, CTL_POLICY_MAX_MESSAGE_SIZE, 0, MAX_BYTES_LIMIT, "", &v) && v)
		*max_msg = v; /* 0: no limit of its own, ours applies */
	if (get_bool(e, CTL_POLICY_ENABLE_VHOST_POLICY))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED,
		     ctl_entity_line(e, CTL_POLICY_ENABLE_VHOST_POLICY),
		     "policy: enableVhostPolicy asks for vhost policies (who may connect, and "
		     "their limits), which rpcrouterd cannot enforce yet");
}

/* "0-1,3" into buf. */
static const char *format_cpuset(const cpu_set_t *set, char *buf, size_t size)
{
	size_t used = 0;
	if (!size)
		return buf;
	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, set))
			continue;
		int last = c;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
			last++;
		int w = last == c ? snprintf(buf + used, size - used, "%s%d", used ? "," : "", c)
				  : snprintf(buf + used, size - used, "%s%d-%d", used ? "," : "", c,
					     last);
		if (w < 0 || (size_t)w >= size - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
		c = last;
	}
	return buf;
}

/* "1,3-5": CPU numbers and ranges into cfg->dataplane.cpus. */
static void load_cpus(struct ctl_config *cfg, const struct ctl_entity *e)
{
	const char *v = e->values[CTL_DATAPLANE_CPUS];
	unsigned line = e->lines[CTL_DATAPLANE_CPUS];
	unsigned *cpus = calloc(MAX_CPU_LIST, sizeof(*cpus));
	size_t n = 0;
	if (!cpus) {
		fail(cfg, RR_E_NOMEM, line, "out of memory");
		return;
	}
	const char *s = v;
	do {
		size_t len = strcspn(s, ",");
		const char *item = s;
		s += len;
		if (*s == ',')
			s++;
		while (len && (*item == ' ' || *item == '\t')) {
			item++;
			len--;
		}
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			len--;
		char buf[32];
		unsigned long lo, hi;
		char *end;
		bool ok = len > 0 && len < sizeof(buf);
		if (ok) {
			memcpy(buf, item, len);
			buf[len] = '\0';
			ok = buf[0] >= '0' && buf[0] <= '9';
		}
		if (ok) {
			errno = 0;
			lo = hi = strtoul(buf, &end, 10);
			if (*end == '-' && end[1] >= '0' && end[1] <= '9')
				hi = strtoul(end + 1, &end, 10);
			ok = errno == 0 && *end == '\0';
		}
		if (!ok) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: cpus '%.80s': '%.*s' is not a CPU number or range (e.g. "
			     "cpus: 1,3-5)",
			     v, (int)(len < 40 ? len : 40), item);
			goto out;
		}
		if (lo > hi) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: cpus '%.80s': range %lu-%lu goes backwards", v, lo, hi);
			goto out;
		}
		if (hi >= CPU_SETSIZE) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: cpus '%.80s': CPU %lu is out of range (0-%d)", v, hi,
			     CPU_SETSIZE - 1);
			goto out;
		}
		if (n + (hi - lo + 1) > MAX_CPU_LIST) {
			fail(cfg, RR_E_CONFIG_VALUE, line,
			     "dataplane: cpus '%.80s': more than %u CPUs", v, MAX_CPU_LIST);
			goto out;
		}
		for (unsigned long c = lo; c <= hi; c++)
			cpus[n++] = (unsigned)c;
	} while (*s);

	/* A CPU the process may not run on: pinning there would fail (or the
	 * CPU is absent); a warning, as the cpuset may change before start. */
	cpu_set_t allowed;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
		char list[256];
		size_t used = 0;
		for (size_t i = 0; i < n; i++) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = cpus[j] == cpus[i];
			if (seen || CPU_ISSET(cpus[i], &allowed))
				continue;
			/* room for ", ..." kept: a list cut short says so */
			int w = snprintf(list + used, sizeof(list) - 5 - used, "%s%u",
					 used ? ", " : "", cpus[i]);
			if (w > 0 && (size_t)w < sizeof(list) - 5 - used) {
				used += (size_t)w;
			} else {
				list[used] = '\0';
				strcat(list, ", ...");
				used += 5;
				break;
			}
		}
		if (used) {
			char have[256];
			warn(cfg, line,
			     "dataplane: cpus: not among the CPUs this process may run on (%s): %s",
			     format_cpuset(&allowed, have, sizeof(have)), list);
		}
	}
	cfg->dataplane.cpus = cpus;
	cfg->dataplane.n_cpus = n;
	cpus = NULL;
out:
	free(cpus);
}

enum rr_err ctl_config_set_driver(struct ctl_config *cfg, enum ctl_driver d)
{
	cfg->dataplane.driver = d;
	cfg->dataplane.driver_line = 0;
	if (!ctl_config_have_driver(d))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, 0,
		     "--driver %s: this rpcrouterd was built without it (DPDK not found; build "
		     "with meson -Ddriver_dpdk=enabled)",
		     ctl_driver_name(d));
	else if (d == CTL_DRIVER_DPDK)
		ctl_config_check_dpdk(cfg);
	return cfg->diag.n_errors ? cfg->diag.first_error : RR_OK;
}

static void load_dataplane(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_limits *l = &cfg->dataplane.limits;
	const char *driver = ctl_entity_get(e, CTL_DATAPLANE_DRIVER);
	cfg->dataplane.driver = strcmp(driver, "dpdk") == 0 ? CTL_DRIVER_DPDK : CTL_DRIVER_SOCKET;
	if (!ctl_config_have_driver(cfg->dataplane.driver))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_DATAPLANE_DRIVER),
		     "dataplane: driver '%s': this rpcrouterd was built without it (DPDK not "
		     "found; build with meson -Ddriver_dpdk=enabled)",
		     driver);
	uint32_t workers = 0;
	if (ctl_config_given(e, CTL_DATAPLANE_WORKERS) &&
	    ctl_config_get_ranged(cfg, e, CTL_DATAPLANE_WORKERS, 1, MAX_WORKERS, "", &workers)) {
		cfg->dataplane.workers = workers;
		unsigned ncpu = online_cpus();
		if (workers > ncpu)
			warn(cfg, e->lines[CTL_DATAPLANE_WORKERS],
			     "dataplane: workers %u is more than the %u online CPU%s: workers "
			     "share CPUs",
			     workers, ncpu, ncpu == 1 ? "" : "s");
	}
	cfg->dataplane.hugepages = get_bool(e, CTL_DATAPLANE_HUGEPAGES);
	if (cfg->dataplane.hugepages && cfg->dataplane.driver == CTL_DRIVER_SOCKET)
		warn(cfg, ctl_entity_line(e, CTL_DATAPLANE_HUGEPAGES),
		     "dataplane: hugepages apply to the dpdk driver only (the socket driver "
		     "ignores them)");
	if (ctl_config_given(e, CTL_DATAPLANE_CPUS))
		load_cpus(cfg, e);

	uint64_t v = l->max_connections;
	if (get_ranged64(cfg, e, CTL_DATAPLANE_MAX_CONNECTIONS, 1, MAX_COUNT_LIMIT, "", &v))
		l->max_connections = (uint32_t)v;
	(void)get_ranged64(cfg, e, CTL_DATAPLANE_MAX_MESSAGE_SIZE, 1, MAX_BYTES_LIMIT, "",
			   &l->max_message_size);
	v = l->max_links;
	if (get_ranged64(cfg, e, CTL_DATAPLANE_MAX_LINKS_PER_CONNECTION, 1, MAX_COUNT_LIMIT, "",
			 &v))
		l->max_links = (uint32_t)v;
	(void)get_ranged64(cfg, e, CTL_DATAPLANE_MAX_CONNECTION_BUFFER_BYTES,
			   AMQP_MIN_MAX_FRAME_SIZE, MAX_BYTES_LIMIT, "", &l->max_conn_buffered);
	uint32_t hs = l->handshake_timeout_ms / 1000;
	if (ctl_config_get_ranged(cfg, e, CTL_DATAPLANE_HANDSHAKE_TIMEOUT_SECONDS, 1, MAX_SECONDS,
				  "", &hs))
		l->handshake_timeout_ms = hs * 1000;
	const char *sock = ctl_entity_get(e, CTL_DATAPLANE_CONTROL_SOCKET);
	if (sock && strlen(sock) > MAX_UNIX_PATH)
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_DATAPLANE_CONTROL_SOCKET),
		     "dataplane: controlSocket '%.80s...' is longer than a unix socket path can be "
		     "(%u bytes)",
		     sock, MAX_UNIX_PATH);
	else if (sock)
		cfg->dataplane.control_socket = sock;
	if (ctl_config_given(e, CTL_DATAPLANE_DRIVER))
		cfg->dataplane.driver_line = ctl_entity_line(e, CTL_DATAPLANE_DRIVER);
	ctl_config_load_dpdk(cfg, e);
}

/* --- listeners and connectors ---------------------------------------------- */

/* The attribute indexes that listener and connector share; NO_ATTR where
 * one of them has no such attribute. */
#define NO_ATTR UINT32_MAX
struct endpoint_attrs {
	unsigned host, port, role, sasl_mechanisms, ssl_profile, max_frame_size, idle_timeout;
	unsigned max_sessions, max_session_frames, link_capacity, handshake_timeout;
};
static const struct endpoint_attrs listener_attrs = {
    CTL_LISTENER_HOST,
    CTL_LISTENER_PORT,
    CTL_LISTENER_ROLE,
    CTL_LISTENER_SASL_MECHANISMS,
    CTL_LISTENER_SSL_PROFILE,
    CTL_LISTENER_MAX_FRAME_SIZE,
    CTL_LISTENER_IDLE_TIMEOUT_SECONDS,
    CTL_LISTENER_MAX_SESSIONS,
    CTL_LISTENER_MAX_SESSION_FRAMES,
    CTL_LISTENER_LINK_CAPACITY,
    CTL_LISTENER_INITIAL_HANDSHAKE_TIMEOUT_SECONDS,
};
static const struct endpoint_attrs connector_attrs = {
    CTL_CONNECTOR_HOST,
    CTL_CONNECTOR_PORT,
    CTL_CONNECTOR_ROLE,
    CTL_CONNECTOR_SASL_MECHANISMS,
    CTL_CONNECTOR_SSL_PROFILE,
    CTL_CONNECTOR_MAX_FRAME_SIZE,
    CTL_CONNECTOR_IDLE_TIMEOUT_SECONDS,
    CTL_CONNECTOR_MAX_SESSIONS,
    CTL_CONNECTOR_MAX_SESSION_FRAMES,
    CTL_CONNECTOR_LINK_CAPACITY,
    NO_ATTR,
};

/* ep->limits: the global values overlaid with the section's own. */
static bool load_limits(struct ctl_config *cfg, const struct ctl_entity *e,
			const struct endpoint_attrs *at, struct ctl_endpoint *ep)
{
	struct ctl_limits *l = &ep->limits;
	bool ok = true;
	uint32_t v;
	*l = cfg->dataplane.limits;
	l->max_frame_size = ep->max_frame_size;
	l->idle_timeout_ms = ep->idle_timeout_seconds * 1000u;
	/* channel-max is a ushort (AMQP 1.0 part 2.7.1): at most 65536 sessions. */
	v = 0;
	ok &=
	    ctl_config_get_ranged(cfg, e, at->max_sessions, 0, 65536, ", AMQP 1.0 part 2.7.1", &v);
	if (v)
		l->max_sessions = v;
	v = 0;
	bool frames_given = ctl_config_given(e, at->max_session_frames);
	ok &= ctl_config_get_ranged(cfg, e, at->max_session_frames, 0, UINT32_MAX, "", &v);
	if (v)
		l->session_window = v;
	/* As qdrouterd: the window in bytes stays within 2^31-1. */
	uint32_t most = (uint32_t)(INT32_MAX / l->max_frame_size);
	if (most < 1)
		most = 1;
	if (l->session_window > most) {
		if (frames_given)
			warn(cfg, ctl_entity_line(e, at->max_session_frames),
			     "%s: maxSessionFrames %u x maxFrameSize %u exceeds 2^31-1 bytes: "
			     "using %u frames",
			     e->def->name, l->session_window, l->max_frame_size, most);
		l->session_window = most;
	}
	v = 0;
	ok &= ctl_config_get_ranged(cfg, e, at->link_capacity, 0, UINT32_MAX, "", &v);
	if (v)
		l->link_capacity = v;
	if (at->handshake_timeout != NO_ATTR) {
		v = 0;
		ok &= ctl_config_get_ranged(cfg, e, at->handshake_timeout, 0, MAX_SECONDS, "", &v);
		if (v) /* qdrouterd: 0 is no timeout; ours: the dataplane's */
			l->handshake_timeout_ms = v * 1000u;
	}
	return ok;
}

static bool load_endpoint(struct ctl_config *cfg, const struct ctl_entity *e,
			  const struct endpoint_attrs *at, struct ctl_endpoint *ep)
{
	const char *sec = e->def->name;
	bool ok = true;
	memset(ep, 0, sizeof(*ep));
	ep->entity = e;
	ep->line = e->section->line;
	ep->host = ctl_entity_get(e, at->host);
	if (ctl_addr_check_host(ep->host) != RR_OK) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, at->host),
		     "%s: host '%.80s' is not an IP address or a host name", sec, ep->host);
		ok = false;
	}
	const char *port = ctl_entity_get(e, at->port);
	if (ctl_addr_parse_port(port, &ep->port) != RR_OK) {
		if (strspn(port, "0123456789") == strlen(port))
			fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, at->port),
			     "%s: port %.80s is out of range (0-65535)", sec, port);
		else
			fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, at->port),
			     "%s: port '%.80s' is neither a number nor a known service name", sec,
			     port);
		ok = false;
	}
	ep->role = ctl_entity_get(e, at->role);
	ep->sasl_mechanisms = ctl_entity_get(e, at->sasl_mechanisms);
	ep->ssl_profile = ctl_entity_get(e, at->ssl_profile);
	ep->max_frame_size = DEFAULT_MAX_FRAME_SIZE;
	ok &= ctl_config_get_ranged(cfg, e, at->max_frame_size, AMQP_MIN_MAX_FRAME_SIZE, UINT32_MAX,
				    ", AMQP 1.0 part 2.7.1", &ep->max_frame_size);
	ep->idle_timeout_seconds = DEFAULT_IDLE_TIMEOUT_SECONDS;
	ok &= ctl_config_get_ranged(cfg, e, at->idle_timeout, 0, MAX_SECONDS, "",
				    &ep->idle_timeout_seconds);
	if (ok)
		ok = load_limits(cfg, e, at, ep);
	return ok;
}

static void load_listener(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_endpoint ep;
	if (!load_endpoint(cfg, e, &listener_attrs, &ep))
		return;
	ep.authenticate_peer = get_bool(e, CTL_LISTENER_AUTHENTICATE_PEER);
	ep.require_ssl = get_bool(e, CTL_LISTENER_REQUIRE_SSL);
	ep.require_encryption = get_bool(e, CTL_LISTENER_REQUIRE_ENCRYPTION);
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct ctl_endpoint *o = &cfg->listeners[i];
		if (o->port == ep.port && ep.port != 0 && strcmp(o->host, ep.host) == 0) {
			char addr[300];
			fail(cfg, RR_E_CONFIG_VALUE, ep.line,
			     "listener: %s is already a listener (line %u)",
			     ctl_addr_format(ep.host, ep.port, addr, sizeof(addr)), o->line);
			return;
		}
	}
	if (strcmp(ep.role, "normal") != 0 && strcmp(ep.role, "route-container") != 0) {
		char addr[300];
		warn(cfg, ctl_entity_line(e, CTL_LISTENER_ROLE),
		     "listener %s: role %s: the router mesh is not implemented yet; its "
		     "connections are served as role normal",
		     ctl_addr_format(ep.host, ep.port, addr, sizeof(addr)), ep.role);
	}
	cfg->listeners[cfg->n_listeners++] = ep;
}

static void load_connector(struct ctl_config *cfg, const struct ctl_entity *e)
{
	struct ctl_endpoint ep;
	if (!load_endpoint(cfg, e, &connector_attrs, &ep))
		return;
	if (ep.port == 0) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_CONNECTOR_PORT),
		     "connector: port 0 cannot be connected to");
		return;
	}
	if (ep.host[0] == '\0') {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, CTL_CONNECTOR_HOST),
		     "connector: host is empty");
		return;
	}
	cfg->connectors[cfg->n_connectors++] = ep;
}

/* --- addresses ------------------------------------------------------------------ */

/* address and linkRoute: a prefix or a pattern, not both (as qdrouterd). */
static bool check_prefix_pattern(struct ctl_config *cfg, const struct ctl_entity *e,
				 unsigned prefix, unsigned pattern)
{
	bool has_prefix = e->values[prefix] != NULL, has_pattern = e->values[pattern] != NULL;
	if (has_prefix && has_pattern) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, pattern),
		     "%s: give either a prefix or a pattern, not both", e->def->name);
		return false;
	}
	if (!has_prefix && !has_pattern) {
		fail(cfg, RR_E_CONFIG_VALUE, e->section->line, "%s: needs a prefix or a pattern",
		     e->def->name);
		return false;
	}
	return true;
}

static void load_address(struct ctl_config *cfg, const struct ctl_entity *e)
{
	static const unsigned ignored[] = {CTL_ADDRESS_WAYPOINT, CTL_ADDRESS_INGRESS_PHASE,
					   CTL_ADDRESS_EGRESS_PHASE, CTL_ADDRESS_PRIORITY,
					   CTL_ADDRESS_ENABLE_FALLBACK};
	if (!check_prefix_pattern(cfg, e, CTL_ADDRESS_PREFIX, CTL_ADDRESS_PATTERN))
		return;
	struct ctl_address a = {
	    .prefix = e->values[CTL_ADDRESS_PREFIX],
	    .pattern = e->values[CTL_ADDRESS_PATTERN],
	    .distribution = cfg->router.default_distribution,
	    .line = e->section->line,
	};
	if (ctl_config_given(e, CTL_ADDRESS_DISTRIBUTION) &&
	    !get_distribution(cfg, e, CTL_ADDRESS_DISTRIBUTION, &a.distribution))
		return;
	for (unsigned i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		unsigned at = ignored[i];
		bool off = e->def->attrs[at].type == CTL_T_BOOLEAN && !get_bool(e, at);
		if (ctl_config_given(e, at) && !off)
			warn(cfg, e->lines[at], "address: '%s' is not implemented yet (ignored)",
			     e->def->attrs[at].name);
	}
	/* qdrouterd refuses a second address with the same prefix or pattern. */
	for (size_t i = 0; i < cfg->n_addresses; i++) {
		const struct ctl_address *o = &cfg->addresses[i];
		const char *what = a.prefix ? "prefix" : "pattern";
		const char *mine = a.prefix ? a.prefix : a.pattern;
		const char *theirs = a.prefix ? o->prefix : o->pattern;
		if (theirs && strcmp(theirs, mine) == 0) {
			fail(
			    cfg, RR_E_CONFIG_VALUE,
			    ctl_entity_line(e, a.prefix ? CTL_ADDRESS_PREFIX : CTL_ADDRESS_PATTERN),
			    "address: %s '%.80s' is already configured (line %u)", what, mine,
			    o->line);
			return;
		}
	}
	cfg->addresses[cfg->n_addresses++] = a;
}

/* --- logs ------------------------------------------------------------------------ */

/* The log section's enable into *levels; false on error (reported). */
static bool get_log_levels(struct ctl_config *cfg, const struct ctl_entity *e, bool report,
			   unsigned *levels)
{
	const char *v = e->values[CTL_LOG_ENABLE];
	char bad[80];
	if (!v)
		return true;
	if (ctl_log_parse_levels(v, levels, bad, sizeof(bad)) != RR_OK) {
		if (report)
			fail(cfg, RR_E_CONFIG_VALUE, e->lines[CTL_LOG_ENABLE],
			     "log: enable '%.80s': '%s' is not a log level (trace, debug, info, "
			     "notice, "
			     "warning, error, critical, each with an optional '+'; or none)",
			     v, bad);
		return false;
	}
	return true;
}

/* `over`'s given values onto *l; errors reported when `report`. */
static bool overlay_log(struct ctl_config *cfg, const struct ctl_entity *over, bool report,
			struct ctl_log *l)
{
	if (!get_log_levels(cfg, over, report, &l->levels))
		return false;
	if (ctl_config_given(over, CTL_LOG_OUTPUT_FILE))
		l->output = over->values[CTL_LOG_OUTPUT_FILE];
	if (ctl_config_given(over, CTL_LOG_INCLUDE_TIMESTAMP))
		l->timestamp = get_bool(over, CTL_LOG_INCLUDE_TIMESTAMP);
	if (ctl_config_given(over, CTL_LOG_INCLUDE_SOURCE))
		l->source = get_bool(over, CTL_LOG_INCLUDE_SOURCE);
	return true;
}

/* Every log section, resolved against the (last) DEFAULT one, as qdrouterd:
 * what a module's section leaves out comes from DEFAULT. */
static void load_logs(struct ctl_config *cfg)
{
	struct ctl_log base = {
	    .module = "DEFAULT", .levels = CTL_LOG_INFO_UP, .output = NULL, .timestamp = true};
	for (size_t i = 0; i < cfg->n_entities; i++) {
		const struct ctl_entity *e = &cfg->entities[i];
		if (e->type == CTL_ENT_LOG && strcmp(e->values[CTL_LOG_MODULE], "DEFAULT") == 0) {
			struct ctl_log l = {
			    .module = "DEFAULT", .levels = CTL_LOG_INFO_UP, .timestamp = true};
			if (overlay_log(cfg, e, false, &l)) /* reported below */
				base = l;
		}
	}
	for (size_t i = 0; i < cfg->n_entities; i++) {
		const struct ctl_entity *e = &cfg->entities[i];
		if (e->type != CTL_ENT_LOG)
			continue;
		const char *module = e->values[CTL_LOG_MODULE];
		struct ctl_log l = base;
		l.module = module;
		l.line = e->section->line;
		if (strcmp(module, "DEFAULT") == 0) {
			l = (struct ctl_log){
			    .module = module, .levels = CTL_LOG_INFO_UP, .timestamp = true};
			l.line = e->section->line;
		}
		if (!overlay_log(cfg, e, true, &l))
			continue;
		size_t j = 0;
		while (j < cfg->n_logs && strcmp(cfg->logs[j].module, module) != 0)
			j++;
		if (j < cfg->n_logs) {
			warn(cfg, l.line,
			     "log: module %s is configured again (first at line %u); this section "
			     "is used",
			     module, cfg->logs[j].line);
			cfg->logs[j] = l;
		} else {
			cfg->logs[cfg->n_logs++] = l;
		}
	}
}

/* --- what this build cannot serve ------------------------------------------- */

static void check_sasl(struct ctl_config *cfg, const struct ctl_endpoint *ep, const char *addr)
{
	const struct ctl_entity *e = ep->entity;
	const char *mechs = ep->sasl_mechanisms;
	unsigned line = ctl_entity_line(e, CTL_LISTENER_SASL_MECHANISMS);
	bool plain = false;
	size_t errors = cfg->diag.n_errors;
	for (const char *s = mechs ? mechs : ""; *s;) {
		s += strspn(s, " ,\t");
		size_t n = strcspn(s, " ,\t");
		if (!n)
			break;
		char m[68]; /* for the messages: a longer name ends in "..." */
		snprintf(m, sizeof(m), "%.*s%s", (int)(n < 64 ? n : 64), s, n > 64 ? "..." : "");
		s += n;
		if (strcasecmp(m, "ANONYMOUS") == 0)
			continue;
		if (strcasecmp(m, "PLAIN") == 0) {
			plain = true;
			continue;
		}
		if (strcasecmp(m, "EXTERNAL") == 0)
			fail(cfg, RR_E_CONFIG_UNSUPPORTED, line,
			     "listener %s: SASL mechanism 'EXTERNAL' takes the identity from a TLS "
			     "client certificate, and rpcrouterd cannot serve TLS yet",
			     addr);
		else
			fail(
			    cfg, RR_E_CONFIG_UNSUPPORTED, line,
			    "listener %s: SASL mechanism '%s' is not supported yet (only ANONYMOUS "
			    "and PLAIN)",
			    addr, m);
	}
	if (cfg->router.sasl_config_dir) {
		/* Not insecure, but no client could connect: ANONYMOUS is no
		 * authentication (RFC 4505), so authenticatePeer refuses it. */
		if (ep->authenticate_peer && mechs && !plain && cfg->diag.n_errors == errors)
			warn(cfg, line,
			     "listener %s: authenticatePeer with only ANONYMOUS offered: no client "
			     "can authenticate",
			     addr);
		return;
	}
	/* Without a Cyrus configuration there is no user database: nothing
	 * could check a password, so refuse rather than accept anyone. */
	if (plain)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, line,
		     "listener %s: SASL mechanism 'PLAIN' needs the router's saslConfigDir (a "
		     "Cyrus SASL configuration with the users): nothing could check the password",
		     addr);
	if (ep->authenticate_peer)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED,
		     ctl_entity_line(e, CTL_LISTENER_AUTHENTICATE_PEER),
		     "listener %s: authenticatePeer needs the router's saslConfigDir (a Cyrus SASL "
		     "configuration with the users): nothing could authenticate a client",
		     addr);
}

static void check_supported(struct ctl_config *cfg, const struct ctl_endpoint *ep)
{
	const struct ctl_entity *e = ep->entity;
	char addr[300];
	ctl_addr_format(ep->host, ep->port, addr, sizeof(addr));

	if (ep->ssl_profile)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_SSL_PROFILE),
		     "listener %s: sslProfile '%.80s' asks for TLS, which rpcrouterd cannot serve "
		     "yet",
		     addr, ep->ssl_profile);
	if (ep->require_ssl)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_REQUIRE_SSL),
		     "listener %s: requireSsl asks for TLS, which rpcrouterd cannot serve yet",
		     addr);
	if (ep->require_encryption)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED,
		     ctl_entity_line(e, CTL_LISTENER_REQUIRE_ENCRYPTION),
		     "listener %s: requireEncryption asks for TLS, which rpcrouterd cannot serve "
		     "yet",
		     addr);
	check_sasl(cfg, ep, addr);
	if (e->values[CTL_LISTENER_SASL_PLUGIN])
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_SASL_PLUGIN),
		     "listener %s: saslPlugin needs an authentication service, which rpcrouterd "
		     "cannot use yet",
		     addr);
	/* Ignoring it would merge the tenants' address spaces. */
	if (get_bool(e, CTL_LISTENER_MULTI_TENANT))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_MULTI_TENANT),
		     "listener %s: multiTenant (an address space per vhost) is not implemented yet",
		     addr);
	if (get_bool(e, CTL_LISTENER_HTTP))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_HTTP),
		     "listener %s: http (HTTP and WebSockets) is not served yet", addr);
}

/* Whether a listener names the sslProfile `name`. */
static bool ssl_profile_used(const struct ctl_config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->n_listeners; i++)
		if (cfg->listeners[i].ssl_profile &&
		    strcmp(cfg->listeners[i].ssl_profile, name) == 0)
			return true;
	return false;
}

/* Sections rpcrouterd reads but does not act on yet: one warning per
 * section name, at its first section, never one per section. */
static void warn_not_implemented(struct ctl_config *cfg)
{
	static const struct {
		enum ctl_entity_type type;
		const char *why;
	} todo[] = {
	    {CTL_ENT_CONNECTOR, " (connectors come with the router mesh)"},
	    {CTL_ENT_LINK_ROUTE, ""},
	    {CTL_ENT_AUTO_LINK, ""},
	    {CTL_ENT_EXCHANGE, ""},
	    {CTL_ENT_BINDING, ""},
	    {CTL_ENT_SSL_PROFILE, ""},
	    {CTL_ENT_AUTH_SERVICE_PLUGIN, ""},
	    {CTL_ENT_VHOST, ""},
	    {CTL_ENT_VHOST_USER_GROUP_SETTINGS, ""},
	    {CTL_ENT_CONSOLE, ""},
	};
	bool done[sizeof(todo) / sizeof(todo[0])] = {false};
	for (size_t i = 0; i < cfg->n_entities; i++) {
		const struct ctl_entity *e = &cfg->entities[i];
		size_t k = 0;
		while (k < sizeof(todo) / sizeof(todo[0]) && todo[k].type != e->type)
			k++;
		if (k == sizeof(todo) / sizeof(todo[0]) || done[k])
			continue;
		size_t n = 0;
		unsigned line = 0;
		for (size_t j = i; j < cfg->n_entities; j++) {
			const struct ctl_entity *o = &cfg->entities[j];
			/* A used profile already stopped start-up at its listener. */
			if (o->type != e->type ||
			    (o->type == CTL_ENT_SSL_PROFILE &&
			     ssl_profile_used(cfg, o->values[CTL_SSL_PROFILE_NAME])))
				continue;
			if (!n++)
				line = o->section->line;
		}
		if (!n)
			continue;
		done[k] = true;
		warn(cfg, line, "%s: not implemented yet%s, ignored (%zu section%s)", e->def->name,
		     todo[k].why, n, n == 1 ? "" : "s");
	}
}

/* --- loading ------------------------------------------------------------------ */

static void reset(struct ctl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

void ctl_config_free(struct ctl_config *cfg)
{
	for (size_t i = 0; i < cfg->n_entities; i++) {
		free(cfg->entities[i].values);
		free(cfg->entities[i].lines);
	}
	free(cfg->entities);
	free(cfg->listeners);
	free(cfg->connectors);
	free(cfg->addresses);
	free(cfg->logs);
	free(cfg->dataplane.cpus);
	free(cfg->dataplane.dpdk.ports_buf);
	ctl_conf_free(&cfg->conf);
	ctl_diag_free(&cfg->diag);
	free(cfg->file_owned);
	reset(cfg);
}

static void set_defaults(struct ctl_config *cfg)
{
	cfg->router.mode = "standalone";
	cfg->router.sasl_config_name = "qdrouterd";
	cfg->router.default_distribution = CTL_DIST_BALANCED;
	cfg->dataplane.driver = CTL_DRIVER_SOCKET;
	cfg->dataplane.control_socket = DEFAULT_CONTROL_SOCKET;
	cfg->dataplane.limits = (struct ctl_limits){
	    .max_connections = DEFAULT_MAX_CONNECTIONS,
	    .max_message_size = DEFAULT_MAX_MESSAGE_SIZE,
	    .max_sessions = DEFAULT_MAX_SESSIONS,
	    .max_links = DEFAULT_MAX_LINKS,
	    .max_conn_buffered = DEFAULT_MAX_CONN_BUFFERED,
	    .handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_SECONDS * 1000u,
	    .link_capacity = DEFAULT_LINK_CAPACITY,
	    .session_window = DEFAULT_SESSION_WINDOW,
	    .max_frame_size = DEFAULT_MAX_FRAME_SIZE,
	    .idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_SECONDS * 1000u,
	};
}

/* workers: dataplane workers, else router workerThreads capped at the
 * online CPUs (puppet-qdr writes the host's CPU count, meant for
 * qdrouterd's threads; more poll loops than CPUs only compete), else 1. */
static void resolve_workers(struct ctl_config *cfg)
{
	if (cfg->dataplane.workers)
		return;
	cfg->dataplane.workers = 1;
	unsigned threads = cfg->router.worker_threads;
	if (!threads)
		return;
	unsigned ncpu = online_cpus();
	if (threads > ncpu) {
		const struct ctl_entity *r = NULL;
		for (size_t i = 0; i < cfg->n_entities && !r; i++)
			if (cfg->entities[i].type == CTL_ENT_ROUTER)
				r = &cfg->entities[i];
		warn(cfg, r ? ctl_entity_line(r, CTL_ROUTER_WORKER_THREADS) : 0,
		     "router: workerThreads %u is more than the %u online CPU%s: %u worker%s "
		     "(dataplane workers overrides)",
		     threads, ncpu, ncpu == 1 ? "" : "s", ncpu, ncpu == 1 ? "" : "s");
		threads = ncpu;
	}
	cfg->dataplane.workers = threads;
}

static enum rr_err load(struct ctl_config *cfg, const char *text, size_t len)
{
	enum rr_err err = ctl_conf_parse(&cfg->conf, cfg->file, text, len, &cfg->diag);
	if (err != RR_OK)
		return err;

	size_t n = cfg->conf.n_sections;
	cfg->entities = calloc(n ? n : 1, sizeof(*cfg->entities));
	cfg->listeners = calloc(n ? n : 1, sizeof(*cfg->listeners));
	cfg->connectors = calloc(n ? n : 1, sizeof(*cfg->connectors));
	cfg->addresses = calloc(n ? n : 1, sizeof(*cfg->addresses));
	cfg->logs = calloc(n ? n : 1, sizeof(*cfg->logs));
	if (!cfg->entities || !cfg->listeners || !cfg->connectors || !cfg->addresses || !cfg->logs)
		return RR_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		check_section(cfg, &cfg->conf.sections[i]);
	if (cfg->diag.n_errors)
		return cfg->diag.first_error;

	set_defaults(cfg);
	/* Router-wide settings first: listeners, addresses and logs build on them. */
	uint64_t policy_conn = 0, policy_msg = 0;
	for (size_t i = 0; i < cfg->n_entities; i++) {
		const struct ctl_entity *e = &cfg->entities[i];
		if (e->type == CTL_ENT_ROUTER)
			load_router(cfg, e);
		else if (e->type == CTL_ENT_POLICY)
			load_policy(cfg, e, &policy_conn, &policy_msg);
		else if (e->type == CTL_ENT_DATAPLANE)
			load_dataplane(cfg, e);
	}
	struct ctl_limits *g = &cfg->dataplane.limits;
	const struct ctl_entity *dp = NULL;
	for (size_t i = 0; i < cfg->n_entities && !dp; i++)
		if (cfg->entities[i].type == CTL_ENT_DATAPLANE)
			dp = &cfg->entities[i];
	/* The smaller of the dataplane's and the policy's, each when given. */
	if (policy_conn && (!dp || !ctl_config_given(dp, CTL_DATAPLANE_MAX_CONNECTIONS) ||
			    policy_conn < g->max_connections))
		g->max_connections =
		    policy_conn > MAX_COUNT_LIMIT ? MAX_COUNT_LIMIT : (uint32_t)policy_conn;
	if (policy_msg && (!dp || !ctl_config_given(dp, CTL_DATAPLANE_MAX_MESSAGE_SIZE) ||
			   policy_msg < g->max_message_size))
		g->max_message_size = policy_msg;
	if (cfg->diag.n_errors)
		return cfg->diag.first_error;

	for (size_t i = 0; i < cfg->n_entities; i++) {
		const struct ctl_entity *e = &cfg->entities[i];
		switch (e->type) {
		case CTL_ENT_LISTENER: load_listener(cfg, e); break;
		case CTL_ENT_CONNECTOR: load_connector(cfg, e); break;
		case CTL_ENT_ADDRESS: load_address(cfg, e); break;
		case CTL_ENT_LINK_ROUTE:
			(void)check_prefix_pattern(cfg, e, CTL_LINK_ROUTE_PREFIX,
						   CTL_LINK_ROUTE_PATTERN);
			break;
		default: break;
		}
	}
	load_logs(cfg);
	resolve_workers(cfg);
	if (cfg->diag.n_errors)
		return cfg->diag.first_error;

	for (size_t i = 0; i < cfg->n_listeners; i++)
		check_supported(cfg, &cfg->listeners[i]);
	if (cfg->dataplane.driver == CTL_DRIVER_DPDK && ctl_config_have_driver(CTL_DRIVER_DPDK))
		ctl_config_check_dpdk(cfg);
	warn_not_implemented(cfg);
	return cfg->diag.n_errors ? cfg->diag.first_error : RR_OK;
}

enum rr_err ctl_config_load_text(struct ctl_config *cfg, const char *name, const char *text,
				 size_t len)
{
	reset(cfg);
	cfg->file_owned = strdup(name);
	if (!cfg->file_owned)
		return RR_E_NOMEM;
	cfg->file = cfg->file_owned;
	return load(cfg, text, len);
}

enum rr_err ctl_config_load_default(struct ctl_config *cfg)
{
	return ctl_config_load_text(cfg, CTL_CONFIG_DEFAULT_NAME, ctl_config_default_text,
				    strlen(ctl_config_default_text));
}

enum rr_err ctl_config_load_file(struct ctl_config *cfg, const char *path)
{
	reset(cfg);
	cfg->file_owned = strdup(path);
	if (!cfg->file_owned)
		return RR_E_NOMEM;
	cfg->file = cfg->file_owned;

	FILE *f = fopen(path, "rb");
	if (!f) {
		fail(cfg, RR_E_IO, 0, "cannot open: %s", strerror(errno));
		return RR_E_IO;
	}
	char *text = malloc(CTL_CONFIG_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return RR_E_NOMEM;
	}
	size_t len = fread(text, 1, CTL_CONFIG_MAX_BYTES + 1, f);
	int read_error = ferror(f) ? errno : 0;
	fclose(f);
	enum rr_err err;
	if (read_error) {
		fail(cfg, RR_E_IO, 0, "cannot read: %s", strerror(read_error));
		err = RR_E_IO;
	} else if (len > CTL_CONFIG_MAX_BYTES) {
		fail(cfg, RR_E_CONFIG_SYNTAX, 0, "larger than %u MiB: not a configuration file",
		     CTL_CONFIG_MAX_BYTES >> 20);
		err = RR_E_CONFIG_SYNTAX;
	} else {
		err = load(cfg, text, len);
	}
	free(text);
	return err;
}

/* --- summary ------------------------------------------------------------------ */

const char *ctl_endpoint_sasl_offer(const struct ctl_config *cfg, const struct ctl_endpoint *ep)
{
	if (ep->sasl_mechanisms)
		return ep->sasl_mechanisms;
	return cfg->router.sasl_config_dir ? NULL : "ANONYMOUS";
}

/* snprintf's count: the length the whole text needs. */
static int describe(const struct ctl_config *cfg, const struct ctl_endpoint *ep, char *buf,
		    size_t size)
{
	char addr[300]; /* a host name is at most 253 bytes (ctl_addr_check_host) */
	const char *role = strcmp(ep->role, "normal") == 0 ? "amqp" : ep->role;
	const char *offer = ctl_endpoint_sasl_offer(cfg, ep);
	if (offer)
		return snprintf(buf, size, "%s (%s, %s driver, SASL %s)",
				ctl_addr_format(ep->host, ep->port, addr, sizeof(addr)), role,
				ctl_driver_name(cfg->dataplane.driver), offer);
	return snprintf(buf, size, "%s (%s, %s driver, SASL as %s/%s.conf allows)",
			ctl_addr_format(ep->host, ep->port, addr, sizeof(addr)), role,
			ctl_driver_name(cfg->dataplane.driver), cfg->router.sasl_config_dir,
			cfg->router.sasl_config_name);
}

const char *ctl_endpoint_describe(const struct ctl_config *cfg, const struct ctl_endpoint *ep,
				  char *buf, size_t size)
{
	(void)describe(cfg, ep, buf, size);
	return buf;
}

/* One "would listen on" / "would connect to" line, whole (saslMechanisms
 * and saslConfigDir have no length limit: a fixed buffer would cut them). */
static void print_endpoint(const struct ctl_config *cfg, const struct ctl_endpoint *ep,
			   const char *prefix, const char *what, FILE *out)
{
	char small[512];
	int n = describe(cfg, ep, small, sizeof(small));
	char *buf = n >= 0 && (size_t)n >= sizeof(small) ? malloc((size_t)n + 1) : NULL;
	if (buf)
		(void)describe(cfg, ep, buf, (size_t)n + 1);
	fprintf(out, "%s%s %s\n", prefix, what, buf ? buf : small);
	free(buf);
}

void ctl_config_print_summary(const struct ctl_config *cfg, const char *prefix, FILE *out)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		print_endpoint(cfg, &cfg->listeners[i], prefix, "would listen on", out);
	for (size_t i = 0; i < cfg->n_connectors; i++)
		print_endpoint(cfg, &cfg->connectors[i], prefix, "would connect to", out);
	if (cfg->n_listeners == 0 && cfg->n_connectors == 0)
		fprintf(out, "%sno listener and no connector configured\n", prefix);
	fprintf(out, "%srouter %s%s%s(%s): %zu address, %zu linkRoute, %zu autoLink sections\n",
		prefix, cfg->router.id ? "'" : "", cfg->router.id ? cfg->router.id : "",
		cfg->router.id ? "' " : "", cfg->router.mode,
		ctl_config_count(cfg, CTL_ENT_ADDRESS), ctl_config_count(cfg, CTL_ENT_LINK_ROUTE),
		ctl_config_count(cfg, CTL_ENT_AUTO_LINK));
	fprintf(out, "%sdataplane: %s driver, %u worker%s, %s\n", prefix,
		ctl_driver_name(cfg->dataplane.driver), cfg->dataplane.workers,
		cfg->dataplane.workers == 1 ? "" : "s",
		cfg->dataplane.hugepages ? "hugepages" : "no hugepages");
}
