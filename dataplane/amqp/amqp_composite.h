/* Composite types (AMQP 1.0 part 1.4): described lists whose fields are
 * decoded and encoded by one table-driven engine. The tables (field order,
 * types, defaults, mandatory flags, descriptors) and the C structs are
 * generated at build time from the spec XML files in ../shared/reference/amqp-1.0/ by
 * gen/amqp_gen.py into amqp_spec_gen.[ch]; nothing here names a field. */
#ifndef AMQP_COMPOSITE_H
#define AMQP_COMPOSITE_H

#include "amqp_encode.h"
#include "amqp_value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a field is stored in its generated C struct. */
enum amqp_field_kind {
	AMQP_FK_BOOL,      /* bool */
	AMQP_FK_UBYTE,     /* uint8_t */
	AMQP_FK_USHORT,    /* uint16_t */
	AMQP_FK_UINT,      /* uint32_t */
	AMQP_FK_ULONG,     /* uint64_t */
	AMQP_FK_TIMESTAMP, /* int64_t, ms since the epoch */
	AMQP_FK_BYTES,     /* struct amqp_bytes: string, symbol or binary */
	AMQP_FK_VALUE,     /* struct amqp_value: '*', map, multiple="true" */
	AMQP_FK_COMPOSITE, /* the generated struct of a nested composite */
};

struct amqp_composite_desc;

struct amqp_field_desc {
	const char *name;         /* as in the XML: "delivery-tag" */
	const char *spec_type;    /* as in the XML: "delivery-tag", "*" */
	const char *requires;     /* archetype for '*' fields, or NULL */
	const char *default_text; /* the XML default attribute, or NULL */
	uint64_t default_u;       /* numeric/boolean default, choices resolved */
	const char *default_sym;  /* symbol default (e.g. "session-end"), or NULL */
	uint16_t offset;          /* offsetof the field in the C struct */
	uint8_t kind;             /* enum amqp_field_kind */
	uint8_t prim;             /* enum amqp_type the spec type resolves to;
				     AMQP_TYPE_INVALID for '*' */
	bool mandatory;
	bool multiple;
	const struct amqp_composite_desc *composite; /* FK_COMPOSITE only */
	/* '*' fields with requires="A": the plain types (bitmask of enum
	 * amqp_type) and the composite descriptors that provide A in the
	 * spec; none of either: any value. */
	uint32_t req_types;
	const uint64_t *req_codes;
	uint8_t n_req_codes;
};

struct amqp_composite_desc {
	const char *name;     /* "transfer" */
	const char *symbol;   /* "amqp:transfer:list" */
	uint64_t code;        /* 0x14 */
	const char *provides; /* "frame", "section", ... or NULL */
	const char *xml;      /* which spec file: "transport" */
	uint32_t size;        /* sizeof the generated struct */
	uint8_t nfields;
	const struct amqp_field_desc *fields;
	const void *defaults; /* a struct holding every field's default */
	/* Generated straight-line decoder of the list elements when they are
	 * contiguous; AMQP_TRY_SLOW-style fallback to the table engine. */
	enum rr_err (*decode_flat)(const struct amqp_value *v, void *out, struct amqp_diag *d);
};

/* Every generated struct starts with this bitmask: bit i set when field i
 * was present and not null. Absent fields hold their spec default. */
typedef uint32_t amqp_present_t;

/* Decode the described list at the cursor into out (a generated struct
 * matching desc); the descriptor must be desc's (numeric or symbolic). */
enum rr_err amqp_composite_decode(const struct amqp_composite_desc *desc, struct amqp_cursor *c,
				  void *out, struct amqp_diag *d);

/* The same, from an already decoded value (a field, or an array element). */
enum rr_err amqp_composite_decode_value(const struct amqp_composite_desc *desc,
					const struct amqp_value *v, void *out, struct amqp_diag *d);

/* The same, when the caller has already matched v's descriptor with desc
 * (a dispatch on it): the generated straight-line decoder runs directly
 * when the list's bytes are contiguous. */
static inline enum rr_err amqp_composite_decode_matched(const struct amqp_composite_desc *desc,
							 const struct amqp_value *v, void *out,
							 struct amqp_diag *d)
{
	enum rr_err e = AMQP_TRY_SLOW;
	if (AMQP_LIKELY(v->type == AMQP_TYPE_LIST && v->described == 1 &&
			amqp_bytes_contiguous(&v->bytes)))
		e = desc->decode_flat(v, out, d);
	return e == AMQP_TRY_SLOW ? amqp_composite_decode_value(desc, v, out, d) : e;
}

/* Does v (not null) meet the archetype a '*' field requires (part 1.4,
 * requires=): e.g. an address is a string, a delivery-state one of the
 * delivery-state composites? True when the spec names no provider. */
bool amqp_field_requires_ok(const struct amqp_field_desc *f, const struct amqp_value *v);

/* Encode in (a generated struct) as a described list: descriptor, then the
 * fields up to the last present one (trailing nulls omitted, part 1.4);
 * mandatory fields are always written. */
void amqp_composite_encode(const struct amqp_composite_desc *desc, const void *in,
			   struct amqp_wbuf *w);

/* Fill out with every field's default and present = 0. */
void amqp_composite_init(const struct amqp_composite_desc *desc, void *out);

/* All composite types of the spec, and a lookup by descriptor code. */
extern const struct amqp_composite_desc *const amqp_composites[];
extern const size_t amqp_composites_count;
const struct amqp_composite_desc *amqp_composite_by_code(uint64_t code);

#ifdef __cplusplus
}
#endif
#endif
