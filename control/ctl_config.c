#include "ctl_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_addr.h"

/* Files larger than this are not configuration files. */
#define CTL_CONFIG_MAX_BYTES (16u << 20)

#define MAX_WORKERS		 256u
#define AMQP_MIN_MAX_FRAME_SIZE	 512u	  /* AMQP 1.0 part 2.7.1, open: max-frame-size */
#define MAX_IDLE_TIMEOUT_SECONDS 4294967u /* idle-time-out is a uint of milliseconds */

#define warn(cfg, line, ...)                                                                       \
	ctl_diag_add(&(cfg)->diag, CTL_DIAG_WARNING, RR_OK, (cfg)->file, (line), __VA_ARGS__)
#define fail(cfg, code, line, ...)                                                                 \
	ctl_diag_add(&(cfg)->diag, CTL_DIAG_ERROR, (code), (cfg)->file, (line), __VA_ARGS__)

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
	if (!e->values || !e->lines || !by_old_name) {
		free(e->values);
		free(e->lines);
		free(by_old_name);
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
		if (check_value(cfg, e, (unsigned)idx, a))
			by_old_name[idx] = old_name;
	}
	free(by_old_name);

	for (unsigned i = 0; i < def->n_attrs; i++) {
		const struct ctl_attr_def *ad = &def->attrs[i];
		if ((ad->flags & CTL_A_REQUIRED) && !e->values[i] && !ad->default_value)
			fail(cfg, RR_E_CONFIG_VALUE, s->line, "%s: missing required attribute '%s'",
			     def->name, ad->name);
	}
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

/* Integer attribute in [lo, hi] into *out; false on error (reported). */
static bool get_ranged(struct ctl_config *cfg, const struct ctl_entity *e, unsigned attr,
		       int64_t lo, int64_t hi, const char *why, uint32_t *out)
{
	int64_t v;
	if (!get_int(e, attr, &v))
		return true; /* not given, no default: *out keeps the caller's value */
	if (v < lo || v > hi) {
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, attr),
		     "%s: %s %lld is out of range (%lld-%lld%s)", e->def->name,
		     e->def->attrs[attr].name, (long long)v, (long long)lo, (long long)hi, why);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void load_router(struct ctl_config *cfg, const struct ctl_entity *e)
{
	uint32_t threads = 0;
	cfg->router.mode = ctl_entity_get(e, CTL_ROUTER_MODE);
	cfg->router.id = ctl_entity_get(e, CTL_ROUTER_ID);
	if (e->values[CTL_ROUTER_WORKER_THREADS] &&
	    get_ranged(cfg, e, CTL_ROUTER_WORKER_THREADS, 1, MAX_WORKERS, "", &threads))
		cfg->router.worker_threads = threads;
}

static void load_dataplane(struct ctl_config *cfg, const struct ctl_entity *e)
{
	const char *driver = ctl_entity_get(e, CTL_DATAPLANE_DRIVER);
	cfg->dataplane.driver = strcmp(driver, "dpdk") == 0 ? CTL_DRIVER_DPDK : CTL_DRIVER_SOCKET;
	if (!ctl_config_have_driver(cfg->dataplane.driver))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_DATAPLANE_DRIVER),
		     "dataplane: driver '%s': this rpcrouterd was built without it (DPDK not "
		     "found; build with meson -Ddriver_dpdk=enabled)",
		     driver);
	uint32_t workers = 0;
	if (e->values[CTL_DATAPLANE_WORKERS] &&
	    get_ranged(cfg, e, CTL_DATAPLANE_WORKERS, 1, MAX_WORKERS, "", &workers))
		cfg->dataplane.workers = workers;
	cfg->dataplane.hugepages = get_bool(e, CTL_DATAPLANE_HUGEPAGES);
	if (cfg->dataplane.hugepages && cfg->dataplane.driver == CTL_DRIVER_SOCKET)
		warn(cfg, ctl_entity_line(e, CTL_DATAPLANE_HUGEPAGES),
		     "dataplane: hugepages apply to the dpdk driver only (the socket driver "
		     "ignores them)");
}

/* The attribute indexes that listener and connector share. */
struct endpoint_attrs {
	unsigned host, port, role, sasl_mechanisms, ssl_profile, max_frame_size, idle_timeout;
};
static const struct endpoint_attrs listener_attrs = {
    CTL_LISTENER_HOST,
    CTL_LISTENER_PORT,
    CTL_LISTENER_ROLE,
    CTL_LISTENER_SASL_MECHANISMS,
    CTL_LISTENER_SSL_PROFILE,
    CTL_LISTENER_MAX_FRAME_SIZE,
    CTL_LISTENER_IDLE_TIMEOUT_SECONDS,
};
static const struct endpoint_attrs connector_attrs = {
    CTL_CONNECTOR_HOST,
    CTL_CONNECTOR_PORT,
    CTL_CONNECTOR_ROLE,
    CTL_CONNECTOR_SASL_MECHANISMS,
    CTL_CONNECTOR_SSL_PROFILE,
    CTL_CONNECTOR_MAX_FRAME_SIZE,
    CTL_CONNECTOR_IDLE_TIMEOUT_SECONDS,
};

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
	ep->max_frame_size = 16384;
	ok &= get_ranged(cfg, e, at->max_frame_size, AMQP_MIN_MAX_FRAME_SIZE, UINT32_MAX,
			 ", AMQP 1.0 part 2.7.1", &ep->max_frame_size);
	ep->idle_timeout_seconds = 16;
	ok &= get_ranged(cfg, e, at->idle_timeout, 0, MAX_IDLE_TIMEOUT_SECONDS, "",
			 &ep->idle_timeout_seconds);
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

/* address and linkRoute: a prefix or a pattern, not both (as qdrouterd). */
static void check_prefix_pattern(struct ctl_config *cfg, const struct ctl_entity *e,
				 unsigned prefix, unsigned pattern)
{
	bool has_prefix = e->values[prefix] != NULL, has_pattern = e->values[pattern] != NULL;
	if (has_prefix && has_pattern)
		fail(cfg, RR_E_CONFIG_VALUE, ctl_entity_line(e, pattern),
		     "%s: give either a prefix or a pattern, not both", e->def->name);
	else if (!has_prefix && !has_pattern)
		fail(cfg, RR_E_CONFIG_VALUE, e->section->line, "%s: needs a prefix or a pattern",
		     e->def->name);
}

/* log enable: "none", or levels with an optional '+', comma-separated. */
static void check_log_enable(struct ctl_config *cfg, const struct ctl_entity *e)
{
	static const char *const levels[] = {"trace",	"debug", "info",     "notice",
					     "warning", "error", "critical", NULL};
	const char *v = e->values[CTL_LOG_ENABLE];
	if (!v || strcmp(v, "none") == 0)
		return;
	const char *s = v;
	while (*s) {
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
		if (n && item[n - 1] == '+')
			n--;
		bool known = false;
		for (unsigned i = 0; levels[i] && !known; i++)
			known = strlen(levels[i]) == n && strncasecmp(item, levels[i], n) == 0;
		if (!known) {
			fail(
			    cfg, RR_E_CONFIG_VALUE, e->lines[CTL_LOG_ENABLE],
			    "log: enable '%.80s': '%.*s' is not a log level (trace, debug, info, "
			    "notice, warning, error, critical, each with an optional '+'; or none)",
			    v, (int)n, item);
			return;
		}
	}
}

/* --- what this build cannot serve ------------------------------------------- */

static bool is_anonymous_only(const char *mechs, char *bad, size_t size)
{
	if (!mechs)
		return true;
	const char *s = mechs;
	while (*s) {
		s += strspn(s, " ,\t");
		size_t n = strcspn(s, " ,\t");
		if (n && !(n == 9 && strncasecmp(s, "ANONYMOUS", 9) == 0)) {
			snprintf(bad, size, "%.*s", (int)(n < 64 ? n : 64), s);
			return false;
		}
		s += n;
	}
	return true;
}

static void check_supported(struct ctl_config *cfg, const struct ctl_endpoint *ep, bool listener)
{
	const struct ctl_entity *e = ep->entity;
	const char *what = listener ? "listener" : "connector";
	char addr[300], bad[80];
	ctl_addr_format(ep->host, ep->port, addr, sizeof(addr));

	if (ep->ssl_profile)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED,
		     ctl_entity_line(e, listener ? CTL_LISTENER_SSL_PROFILE
						 : CTL_CONNECTOR_SSL_PROFILE),
		     "%s %s: sslProfile '%.80s' asks for TLS, which rpcrouterd cannot serve yet",
		     what, addr, ep->ssl_profile);
	if (!is_anonymous_only(ep->sasl_mechanisms, bad, sizeof(bad)))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED,
		     ctl_entity_line(e, listener ? CTL_LISTENER_SASL_MECHANISMS
						 : CTL_CONNECTOR_SASL_MECHANISMS),
		     "%s %s: SASL mechanism '%s' is not supported yet (only ANONYMOUS)", what, addr,
		     bad);
	if (!listener) {
		if (e->values[CTL_CONNECTOR_SASL_USERNAME])
			fail(cfg, RR_E_CONFIG_UNSUPPORTED,
			     ctl_entity_line(e, CTL_CONNECTOR_SASL_USERNAME),
			     "connector %s: saslUsername needs SASL authentication, which "
			     "rpcrouterd cannot do yet (only ANONYMOUS)",
			     addr);
		return;
	}
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
	if (ep->authenticate_peer)
		fail(cfg, RR_E_CONFIG_UNSUPPORTED,
		     ctl_entity_line(e, CTL_LISTENER_AUTHENTICATE_PEER),
		     "listener %s: authenticatePeer needs SASL authentication, which rpcrouterd "
		     "cannot do yet (only ANONYMOUS)",
		     addr);
	if (e->values[CTL_LISTENER_SASL_PLUGIN])
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_SASL_PLUGIN),
		     "listener %s: saslPlugin needs an authentication service, which rpcrouterd "
		     "cannot use yet",
		     addr);
	if (get_bool(e, CTL_LISTENER_HTTP))
		fail(cfg, RR_E_CONFIG_UNSUPPORTED, ctl_entity_line(e, CTL_LISTENER_HTTP),
		     "listener %s: http (HTTP and WebSockets) is not served yet", addr);
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
	ctl_conf_free(&cfg->conf);
	ctl_diag_free(&cfg->diag);
	free(cfg->file_owned);
	reset(cfg);
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
	if (!cfg->entities || !cfg->listeners || !cfg->connectors)
		return RR_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		check_section(cfg, &cfg->conf.sections[i]);
	if (cfg->diag.n_errors)
		return cfg->diag.first_error;

	cfg->router.mode = "standalone";
	cfg->dataplane.driver = CTL_DRIVER_SOCKET;
	for (size_t i = 0; i < cfg->n_entities; i++) {
		const struct ctl_entity *e = &cfg->entities[i];
		switch (e->type) {
		case CTL_ENT_ROUTER: load_router(cfg, e); break;
		case CTL_ENT_DATAPLANE: load_dataplane(cfg, e); break;
		case CTL_ENT_LISTENER: load_listener(cfg, e); break;
		case CTL_ENT_CONNECTOR: load_connector(cfg, e); break;
		case CTL_ENT_ADDRESS:
			check_prefix_pattern(cfg, e, CTL_ADDRESS_PREFIX, CTL_ADDRESS_PATTERN);
			break;
		case CTL_ENT_LINK_ROUTE:
			check_prefix_pattern(cfg, e, CTL_LINK_ROUTE_PREFIX, CTL_LINK_ROUTE_PATTERN);
			break;
		case CTL_ENT_LOG: check_log_enable(cfg, e); break;
		default: break;
		}
	}
	if (!cfg->dataplane.workers)
		cfg->dataplane.workers =
		    cfg->router.worker_threads ? cfg->router.worker_threads : 1;
	if (cfg->diag.n_errors)
		return cfg->diag.first_error;

	for (size_t i = 0; i < cfg->n_listeners; i++)
		check_supported(cfg, &cfg->listeners[i], true);
	for (size_t i = 0; i < cfg->n_connectors; i++)
		check_supported(cfg, &cfg->connectors[i], false);
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

const char *ctl_endpoint_describe(const struct ctl_config *cfg, const struct ctl_endpoint *ep,
				  char *buf, size_t size)
{
	char addr[300];
	const char *role = strcmp(ep->role, "normal") == 0 ? "amqp" : ep->role;
	snprintf(buf, size, "%s (%s, %s driver, SASL ANONYMOUS)",
		 ctl_addr_format(ep->host, ep->port, addr, sizeof(addr)), role,
		 ctl_driver_name(cfg->dataplane.driver));
	return buf;
}

void ctl_config_print_summary(const struct ctl_config *cfg, const char *prefix, FILE *out)
{
	char buf[512];
	for (size_t i = 0; i < cfg->n_listeners; i++)
		fprintf(out, "%swould listen on %s\n", prefix,
			ctl_endpoint_describe(cfg, &cfg->listeners[i], buf, sizeof(buf)));
	for (size_t i = 0; i < cfg->n_connectors; i++)
		fprintf(out, "%swould connect to %s\n", prefix,
			ctl_endpoint_describe(cfg, &cfg->connectors[i], buf, sizeof(buf)));
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
