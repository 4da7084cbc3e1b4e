/* The configuration file syntax of qdrouterd (qdrouterd.conf(5)), read into
 * sections of key/value pairs, each with its line. No schema here: that is
 * ctl_config's job.
 *
 *     # comment
 *     listener {                    # a section: "NAME {" on one line
 *         host: 0.0.0.0             # "KEY: VALUE"; the value runs to the end
 *         port: amqp                #   of the line, less a "# comment"
 *         sasl-mechanisms: ANONYMOUS   # keys and section names may use
 *         idle_timeout_seconds: 16     #   dashes or underscores: camelCased
 *         openProperties: {         # "KEY: {" ... "}": a block value kept
 *             "k": "v"              #   as text (JSON, as qdrouterd expects)
 *         }
 *     }                             # "}" alone closes the section
 *
 * As in qdrouterd 1.19: the values of pattern, bindingKey and hostname are
 * their first word, so they may contain '#'. Beyond qdrouterd, a value may
 * be quoted ("..." with \" \\ \n \t escapes, or '...'); quotes let any value
 * hold '#' or keep spaces at its ends. Lines end with LF or CRLF. */
#ifndef CTL_CONF_H
#define CTL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl_diag.h"
#include "rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ctl_conf_attr {
	char *key;     /* owned; camelCased: "saslMechanisms" for "sasl-mechanisms" */
	char *raw_key; /* owned; as written */
	char *value;   /* owned; unquoted text, or for a block its text from '{' to '}' */
	unsigned line; /* line of the key */
	bool block;    /* value is a { } block */
	bool quoted;   /* value was quoted */
};

struct ctl_conf_section {
	char *name;		     /* owned; camelCased section name */
	char *raw_name;		     /* owned; as written */
	unsigned line;		     /* line of "NAME {" */
	struct ctl_conf_attr *attrs; /* owned array, in file order */
	size_t n_attrs, cap_attrs;
};

struct ctl_conf {
	struct ctl_conf_section *sections; /* owned array, in file order */
	size_t n_sections, cap_sections;
};

/* Parse `len` bytes of `text` (need not be NUL-terminated) into `conf`
 * (zero-initialised by the caller). Syntax errors are reported to `diag`
 * with `file` (borrowed: must outlive diag) and their line, and parsing goes
 * on with the next line so that one run reports them all. Returns RR_OK,
 * RR_E_CONFIG_SYNTAX when there was any syntax error (conf then holds what
 * could be read), or RR_E_NOMEM. */
enum rr_err ctl_conf_parse(struct ctl_conf *conf, const char *file, const char *text, size_t len,
			   struct ctl_diag *diag);

void ctl_conf_free(struct ctl_conf *conf);

/* qdrouterd's camelCase of a section or attribute name: words split at
 * '-', '_', '.' or ' '; the first kept as is, the others capitalised (first
 * letter upper, the rest lower). "sasl-mechanisms" -> "saslMechanisms".
 * Returns a malloc'd string, NULL when out of memory. */
char *ctl_conf_normalize_name(const char *name, size_t len);

#ifdef __cplusplus
}
#endif
#endif
