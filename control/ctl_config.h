/* rpcrouterd's configuration: a qdrouterd.conf (or the embedded default)
 * parsed (ctl_conf), checked against qdrouterd's schema (ctl_schema), and
 * turned into what the router uses: the router, dataplane, listener,
 * connector, address and log settings, with every limit resolved.
 *
 * Loading reports every problem to cfg->diag with its file and line:
 *   - syntax errors                          RR_E_CONFIG_SYNTAX
 *   - invalid values, missing required ones  RR_E_CONFIG_VALUE
 *   - settings this build cannot honour      RR_E_CONFIG_UNSUPPORTED
 *     (whatever would weaken security if ignored: a listener asking for
 *     TLS, a SASL mechanism rpcrouterd cannot serve, PLAIN or
 *     authenticatePeer without a SASL configuration to check passwords,
 *     vhost policies; rpcrouterd refuses to start rather than serve it
 *     insecurely)
 *   - warnings: unknown sections and attributes, deprecated spellings,
 *     repeated attributes, sections not implemented yet (once per section
 *     name) (they never fail a load).
 *
 * Control thread only. All strings in the structs below are borrowed from
 * the ctl_config that holds them and live until ctl_config_free. */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_conf.h"
#include "ctl_diag.h"
#include "ctl_schema.h"
#include "rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The name the embedded default is reported under in messages. */
#define CTL_CONFIG_DEFAULT_NAME "<embedded default>"

/* The embedded default configuration (control/rpcrouterd.conf), NUL-terminated. */
extern const char ctl_config_default_text[];

/* One known section, checked against the schema. */
struct ctl_entity {
	enum ctl_entity_type type;
	const struct ctl_entity_def *def;	/* &ctl_schema_entities[type] */
	const struct ctl_conf_section *section; /* borrowed from ctl_config.conf */
	const char **values; /* owned array of def->n_attrs: each NULL (not given) or
			      * borrowed (the value's text in conf, or a schema enum tag) */
	unsigned *lines;     /* owned array of def->n_attrs: line of each given value */
};

/* The value of attribute `attr` (an enum ctl_attr_<section>), or its schema
 * default, or NULL when neither. */
const char *ctl_entity_get(const struct ctl_entity *e, unsigned attr);

/* Line of the attribute when given, else the line of the section. */
unsigned ctl_entity_line(const struct ctl_entity *e, unsigned attr);

enum ctl_driver {
	CTL_DRIVER_SOCKET,
	CTL_DRIVER_DPDK,
};

/* Address distribution (qdrouter.json router.config.address). qdrouterd's
 * fourth one, "unavailable", is refused at load (not implemented yet). */
enum ctl_distribution {
	CTL_DIST_CLOSEST,
	CTL_DIST_BALANCED,
	CTL_DIST_MULTICAST,
};

const char *ctl_distribution_name(enum ctl_distribution d);

/* Log levels, lowest first, as qdrouterd's (qdrouter.json log.enable). */
enum ctl_log_level {
	CTL_LEVEL_TRACE,
	CTL_LEVEL_DEBUG,
	CTL_LEVEL_INFO,
	CTL_LEVEL_NOTICE,
	CTL_LEVEL_WARNING,
	CTL_LEVEL_ERROR,
	CTL_LEVEL_CRITICAL,
	CTL_LEVEL_COUNT
};

/* struct ctl_log.levels bits. */
#define CTL_LOG_TRACE	 (1u << CTL_LEVEL_TRACE)
#define CTL_LOG_DEBUG	 (1u << CTL_LEVEL_DEBUG)
#define CTL_LOG_INFO	 (1u << CTL_LEVEL_INFO)
#define CTL_LOG_NOTICE	 (1u << CTL_LEVEL_NOTICE)
#define CTL_LOG_WARNING	 (1u << CTL_LEVEL_WARNING)
#define CTL_LOG_ERROR	 (1u << CTL_LEVEL_ERROR)
#define CTL_LOG_CRITICAL (1u << CTL_LEVEL_CRITICAL)
#define CTL_LOG_NONE	 0u
#define CTL_LOG_ALL	 ((1u << CTL_LEVEL_COUNT) - 1u)
/* "info+": info and above (qdrouterd's default). */
#define CTL_LOG_INFO_UP (CTL_LOG_ALL & ~(CTL_LOG_INFO - 1u))

/* "trace", "debug", ... "critical". */
const char *ctl_log_level_name(enum ctl_log_level level);

/* A log enable string into a levels mask, as qdrouterd: "none", or a
 * comma-separated list of levels (any case), each with an optional '+' for
 * "this level and above": "trace,debug,warning+" is trace, debug, warning,
 * error, critical. On error, the offending item is copied to bad (may be
 * NULL) and *mask is untouched. */
enum rr_err ctl_log_parse_levels(const char *text, unsigned *mask, char *bad, size_t bad_size);

/* The longest router id (bytes): the router keeps it in 128-byte buffers
 * (ctl_router.c, dp_worker.h) and builds addresses from it. */
#define CTL_ROUTER_ID_MAX 127

struct ctl_router {
	const char *mode;	      /* "standalone", "interior" or "edge" */
	const char *id;		      /* NULL when not given; at most CTL_ROUTER_ID_MAX bytes */
	unsigned worker_threads;      /* as given; 0 when not given */
	const char *sasl_config_dir;  /* saslConfigDir (old spelling saslConfigPath); NULL:
				       * no SASL configuration, listeners offer ANONYMOUS only */
	const char *sasl_config_name; /* saslConfigName, default "qdrouterd" (Cyrus reads
				       * <dir>/<name>.conf) */
	enum ctl_distribution default_distribution; /* defaultDistribution, default balanced */
	bool timestamps_in_utc; /* timestampsInUTC: log timestamps in UTC, not local time */
};

/* Limits of one connection, resolved per listener (or connector): the
 * listener's own attributes overlaid on the global values in
 * ctl_dataplane.limits. Every field is > 0 unless said otherwise. */
struct ctl_limits {
	uint32_t max_connections;      /* whole router: dataplane maxConnections, and policy
					* maxConnections when given (the smaller); default 65535 */
	uint64_t max_message_size;     /* bytes: dataplane maxMessageSize, and policy
					* maxMessageSize when given and not 0 (the smaller);
					* default 32 MiB */
	uint32_t max_sessions;	       /* per connection: listener maxSessions (0 there: default),
					* default 32768, at most 65536; announce channel-max =
					* max_sessions - 1 (AMQP 1.0 part 2.7.1) */
	uint32_t max_links;	       /* per connection: dataplane maxLinksPerConnection,
					* default 1024 */
	uint64_t max_conn_buffered;    /* bytes buffered for one connection before it is a slow
					* peer: dataplane maxConnectionBufferBytes, default 64 MiB */
	uint32_t handshake_timeout_ms; /* header, SASL and Open: listener
					* initialHandshakeTimeoutSeconds when not 0, else
					* dataplane handshakeTimeoutSeconds (default 10 s) */
	uint32_t link_capacity;	       /* credit per incoming link: listener linkCapacity (0 there:
					* default), default 250 as qdrouterd */
	uint32_t session_window;       /* incoming-window in frames: listener maxSessionFrames (0
					* there: default), default 5000; lowered so that
					* window x max_frame_size <= 2^31-1, as qdrouterd */
	uint32_t max_frame_size;       /* listener maxFrameSize, default 16384, >= 512 */
	uint32_t idle_timeout_ms; /* listener idleTimeoutSeconds x 1000, default 16000; 0: none.
				   * Announce half of it (as qdrouterd), close the connection
				   * when nothing arrives for the whole of it. */
};

/* The dpdk driver's settings (dataplane dpdk* attributes; docs/config.md). */
#define CTL_DPDK_MAX_PORTS 8 /* as DRV_DPDK_MAX_PORTS */
/* Value lengths (bytes, without the NUL) the loader refuses past, rather
 * than cut (docs/config.md): */
#define CTL_DPDK_MAX_EAL  4000 /* dpdkEal (the driver splits it in a 4096-byte buffer) */
#define CTL_DPDK_MAX_SPEC 500  /* one dpdkPorts entry (the EAL's "--vdev=SPEC", 512 bytes) */
#define CTL_DPDK_MAX_LIST 1023 /* dpdkAddress, dpdkGateway: all their entries */

/* One entry of dpdkPorts with its dpdkAddress and dpdkGateway entries. */
struct ctl_dpdk_port {
	const char *spec;   /* vdev spec or PCI address (in ctl_dpdk.ports_buf) */
	uint32_t addr;	    /* host order */
	uint8_t prefix_len; /* 1-32 */
	uint32_t gateway;   /* 0: none */
};

struct ctl_dpdk {
	const char *eal;	  /* dpdkEal: EAL arguments, space-separated; NULL: not given */
	const char *ports;	  /* dpdkPorts as given: port specs separated by ';'; NULL: not
				   * given */
	uint32_t addr;		  /* dpdkAddress (the first port's), host order; 0: not given */
	uint8_t prefix_len;	  /* its prefix length, 1-32 */
	uint32_t gateway;	  /* dpdkGateway (the first port's), host order; 0: none */
	/* every port, in dpdkPorts order (n_ports 0: dpdkPorts not given or
	 * invalid); port[0] repeats ports/addr/prefix_len/gateway with one */
	unsigned n_ports;
	struct ctl_dpdk_port port[CTL_DPDK_MAX_PORTS];
	char *ports_buf; /* owned: the specs, split */
	uint32_t idle_backoff_us; /* dpdkIdleBackoffUs: sleep after empty polls; 0: busy poll */
	uint32_t mtu;		  /* dpdkMtu: every port's IP MTU, 576-9000 (default 1500) */
	const char *fault;	  /* dpdkFaultInjection spec; NULL: none */
	unsigned line;		  /* of the dataplane section (0: none), for start-up errors */
};

struct ctl_dataplane {
	enum ctl_driver driver;
	unsigned driver_line; /* line of `driver` (0: not given, or --driver) */
	unsigned workers; /* 1-256 */
	bool hugepages;
	unsigned *cpus; /* owned: the "cpus" list in order (may repeat); worker i is pinned
			 * to cpus[i % n_cpus]; NULL (n_cpus 0): workers are not pinned */
	size_t n_cpus;
	struct ctl_limits limits;   /* global values, the defaults of every listener */
	const char *control_socket; /* unix socket rpcrouter-ctl talks to; default
				     * "/run/rpcrouterd/rpcrouterd.sock" */
	struct ctl_dpdk dpdk;
};

/* An `address` section. */
struct ctl_address {
	const char *prefix; /* exactly one of prefix / pattern is non-NULL */
	const char *pattern;
	enum ctl_distribution distribution; /* default: router defaultDistribution */
	unsigned line;			    /* line of the section */
};

/* A `log` section, resolved: what it does not give comes from the DEFAULT
 * section, or from qdrouterd's defaults (info+, stderr, timestamps on, no
 * source) when there is none. */
struct ctl_log {
	const char *module; /* "DEFAULT", "SERVER", "ROUTER", "AUTHSERVICE", ... as qdrouterd;
			     * DEFAULT applies to every module without a section of its own */
	unsigned levels;    /* CTL_LOG_* bits */
	const char *output; /* outputFile (old spelling output): NULL: stderr; "stderr",
			     * "stdout", "syslog", or a file path */
	bool timestamp;	    /* includeTimestamp (old spelling timestamp) */
	bool source;	    /* includeSource (old spelling source) */
	unsigned line;	    /* line of the section */
};

/* A listener or a connector. */
struct ctl_endpoint {
	const struct ctl_entity *entity;
	const char *host;	       /* "" (listener: every interface) or a name or literal */
	uint16_t port;		       /* listener: 0 lets the kernel choose */
	const char *role;	       /* normal, inter-router, route-container, edge */
	const char *sasl_mechanisms;   /* as given, NULL when not given */
	const char *ssl_profile;       /* NULL when not given */
	bool authenticate_peer;	       /* listener */
	bool require_ssl;	       /* listener */
	bool require_encryption;       /* listener */
	uint32_t max_frame_size;       /* bytes, >= 512 (the same as limits.max_frame_size) */
	uint32_t idle_timeout_seconds; /* limits.idle_timeout_ms / 1000 */
	struct ctl_limits limits;
	unsigned line; /* line of the section */
};

struct ctl_config {
	const char *file;     /* name used in messages: the path, or CTL_CONFIG_DEFAULT_NAME */
	char *file_owned;     /* owned copy behind `file` */
	struct ctl_conf conf; /* the parsed text */
	struct ctl_entity *entities; /* owned: every known section, in file order */
	size_t n_entities;
	struct ctl_router router;
	struct ctl_dataplane dataplane;
	struct ctl_endpoint *listeners; /* owned, in file order */
	size_t n_listeners;
	struct ctl_endpoint *connectors; /* owned, in file order */
	size_t n_connectors;
	struct ctl_address *addresses; /* owned, in file order */
	size_t n_addresses;
	struct ctl_log *logs; /* owned, in file order (a module given twice: the later) */
	size_t n_logs;
	struct ctl_diag diag; /* every warning and error of the load */
};

/* Load from text / from a file / the embedded default into `cfg` (any
 * contents: it is reset first). `name` is what messages call the text.
 * Returns RR_OK, or the first error (also in cfg->diag, with the others).
 * Whatever it returns, release with ctl_config_free. */
enum rr_err ctl_config_load_text(struct ctl_config *cfg, const char *name, const char *text,
				 size_t len);
enum rr_err ctl_config_load_file(struct ctl_config *cfg, const char *path);
enum rr_err ctl_config_load_default(struct ctl_config *cfg);

void ctl_config_free(struct ctl_config *cfg);

/* Number of sections of the given type. */
size_t ctl_config_count(const struct ctl_config *cfg, enum ctl_entity_type type);

/* Whether this build has the driver. */
bool ctl_config_have_driver(enum ctl_driver d);
const char *ctl_driver_name(enum ctl_driver d);

/* rpcrouterd --driver: use driver d whatever the file says, and check what
 * that driver needs (the dpdk driver: dpdkEal, dpdkPorts, dpdkAddress, and
 * listener hosts it can serve), reporting to cfg->diag with file:line.
 * Loading a file that asks for the dpdk driver runs the same checks. */
enum rr_err ctl_config_set_driver(struct ctl_config *cfg, enum ctl_driver d);

/* The SASL mechanisms a listener offers: its saslMechanisms as given;
 * unset, "ANONYMOUS" without a router SASL configuration, or NULL with one
 * (then Cyrus SASL's configuration decides, <dir>/<name>.conf). */
const char *ctl_endpoint_sasl_offer(const struct ctl_config *cfg, const struct ctl_endpoint *ep);

/* "127.0.0.1:5672 (amqp, socket driver, SASL ANONYMOUS)" into buf. */
const char *ctl_endpoint_describe(const struct ctl_config *cfg, const struct ctl_endpoint *ep,
				  char *buf, size_t size);

/* What rpcrouterd prints on start at this stage, each line prefixed with
 * `prefix` (e.g. "rpcrouterd 0.1.0: "): one line per listener and
 * connector, the router and the dataplane. */
void ctl_config_print_summary(const struct ctl_config *cfg, const char *prefix, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
