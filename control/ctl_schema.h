/* The configuration schema: which sections and attributes rpcrouterd knows,
 * their types, defaults and old spellings, and the value parsers of those
 * types.
 *
 * The tables are generated at build time (control/gen/ctl_schema_gen.py)
 * from qdrouterd's own schema, ../shared/reference/qdrouterd-1.19/
 * qdrouter.json, plus rpcrouter's sections (ctl_schema_rpcrouter.json), so
 * a qdrouterd.conf is checked against exactly the attributes qdrouterd
 * knows. Read-only, no state: any thread. */
#ifndef CTL_SCHEMA_H
#define CTL_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "rr_error.h"
#include "ctl_schema_gen.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ctl_attr_type {
	CTL_T_STRING,  /* any text */
	CTL_T_PATH,    /* a file or directory name: non-empty text */
	CTL_T_INTEGER, /* decimal, optional sign, fits int64_t */
	CTL_T_BOOLEAN, /* yes/no, true/false, on/off (any case), as qdrouterd */
	CTL_T_ENUM,    /* one of tags[], or its index, as qdrouterd */
	CTL_T_MAP,     /* a { ... } block (schema types map and properties) */
};

/* ctl_attr_def.flags */
#define CTL_A_REQUIRED	 0x1u /* the section is invalid without it */
#define CTL_A_DEPRECATED 0x2u /* accepted with a warning, no replacement */
#define CTL_A_STATUS	 0x4u /* a statistic or status: read-only, not a setting */
#define CTL_A_SECRET	 0x8u /* never print its value (passwords) */

struct ctl_attr_def {
	const char *name;	     /* camelCase, as in qdrouter.json */
	const char *deprecated_name; /* older spelling still accepted, or NULL */
	enum ctl_attr_type type;
	const char *const *tags;   /* CTL_T_ENUM: NULL-terminated tags; else NULL */
	const char *default_value; /* as text; NULL when there is none */
	unsigned flags;		   /* CTL_A_* */
};

/* ctl_entity_def.flags */
#define CTL_E_SINGLETON	 0x1u /* at most one section of this kind */
#define CTL_E_DEPRECATED 0x2u
#define CTL_E_RPCROUTER	 0x4u /* rpcrouter's own section, not qdrouterd's */

struct ctl_entity_def {
	const char *name; /* section name in a configuration file: "address" */
	const char
	    *long_name; /* management type: "org.apache.qpid.dispatch.router.config.address" */
	const struct ctl_attr_def *attrs; /* indexed by enum ctl_attr_<name> */
	unsigned n_attrs;
	unsigned flags; /* CTL_E_* */
};

/* Indexed by enum ctl_entity_type. */
extern const struct ctl_entity_def ctl_schema_entities[CTL_ENT_COUNT];

/* The section named `name` (already camelCased, see ctl_conf_normalize_name),
 * or NULL. */
const struct ctl_entity_def *ctl_schema_find_entity(const char *name);

/* Index of the attribute `name` in `e`, matching its name or, when
 * `*deprecated_spelling` is set on return, its deprecated name; -1 when
 * unknown. `deprecated_spelling` may be NULL. */
int ctl_schema_find_attr(const struct ctl_entity_def *e, const char *name,
			 bool *deprecated_spelling);

/* Value parsers. Each returns RR_OK or RR_E_CONFIG_VALUE and writes *out
 * only on success. */
enum rr_err ctl_value_integer(const char *text, int64_t *out);
enum rr_err ctl_value_boolean(const char *text, bool *out);
/* The tag `text` names (or indexes): a pointer into a->tags. */
enum rr_err ctl_value_enum(const struct ctl_attr_def *a, const char *text, const char **out);

/* "standalone, interior, edge": a's tags joined for messages, into buf. */
const char *ctl_attr_tags_text(const struct ctl_attr_def *a, char *buf, unsigned size);

#ifdef __cplusplus
}
#endif
#endif
