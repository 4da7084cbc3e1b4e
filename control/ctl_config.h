/* rpcrouterd's configuration: a qdrouterd.conf (or the embedded default)
 * parsed (ctl_conf), checked against qdrouterd's schema (ctl_schema), and
 * turned into what the router uses: the router, dataplane, listener and
 * connector settings.
 *
 * Loading reports every problem to cfg->diag with its file and line:
 *   - syntax errors                          RR_E_CONFIG_SYNTAX
 *   - invalid values, missing required ones  RR_E_CONFIG_VALUE
 *   - settings this build cannot honour      RR_E_CONFIG_UNSUPPORTED
 *     (a listener asking for TLS or SASL authentication: rpcrouterd refuses
 *     to start rather than serve it insecurely)
 *   - warnings: unknown sections and attributes, deprecated spellings,
 *     repeated attributes (they never fail a load).
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

struct ctl_router {
	const char *mode;	 /* "standalone", "interior" or "edge" */
	const char *id;		 /* NULL when not given */
	unsigned worker_threads; /* 0 when not given */
};

struct ctl_dataplane {
	enum ctl_driver driver;
	unsigned workers; /* 1-256 */
	bool hugepages;
};

/* A listener or a connector. */
struct ctl_endpoint {
	const struct ctl_entity *entity;
	const char *host;	     /* "" (listener: every interface) or a name or literal */
	uint16_t port;		     /* listener: 0 lets the kernel choose */
	const char *role;	     /* normal, inter-router, route-container, edge */
	const char *sasl_mechanisms; /* as given, NULL when not given */
	const char *ssl_profile;     /* NULL when not given */
	bool authenticate_peer;	     /* listener */
	bool require_ssl;	     /* listener */
	bool require_encryption;     /* listener */
	uint32_t max_frame_size;     /* bytes, >= 512 */
	uint32_t idle_timeout_seconds;
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
