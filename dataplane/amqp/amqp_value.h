/* AMQP 1.0 type system (part 1): decoding one encoded value at a time.
 *
 * amqp_decode_value() reads a value's constructor (with an optional
 * descriptor), its fixed-width payload, or the size and count of a
 * variable/compound/array value, and records views of the bytes. It never
 * descends into a compound: maps, lists and arrays are skipped by their
 * size after the bounds and count checks, and walked later, only if
 * wanted, with struct amqp_iter. That is what makes message sections lazy
 * and decoding allocation-free and non-recursive. */
#ifndef AMQP_VALUE_H
#define AMQP_VALUE_H

#include "amqp_buf.h"
#include "../rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Primitive types (AMQP 1.0 part 1.6), whatever their width encoding. */
enum amqp_type {
	AMQP_TYPE_NULL = 0,
	AMQP_TYPE_BOOLEAN,
	AMQP_TYPE_UBYTE,
	AMQP_TYPE_USHORT,
	AMQP_TYPE_UINT,
	AMQP_TYPE_ULONG,
	AMQP_TYPE_BYTE,
	AMQP_TYPE_SHORT,
	AMQP_TYPE_INT,
	AMQP_TYPE_LONG,
	AMQP_TYPE_FLOAT,
	AMQP_TYPE_DOUBLE,
	AMQP_TYPE_DECIMAL32,
	AMQP_TYPE_DECIMAL64,
	AMQP_TYPE_DECIMAL128,
	AMQP_TYPE_CHAR,
	AMQP_TYPE_TIMESTAMP,
	AMQP_TYPE_UUID,
	AMQP_TYPE_BINARY,
	AMQP_TYPE_STRING,
	AMQP_TYPE_SYMBOL,
	AMQP_TYPE_LIST,
	AMQP_TYPE_MAP,
	AMQP_TYPE_ARRAY,
	AMQP_TYPE_COUNT,
	AMQP_TYPE_INVALID = 0xff
};

/* Format code categories (part 1.2): how many bytes follow the code. */
enum amqp_category {
	AMQP_CAT_INVALID = 0,
	AMQP_CAT_FIXED,    /* width bytes of value */
	AMQP_CAT_VARIABLE, /* size (width bytes) then size bytes */
	AMQP_CAT_COMPOUND, /* size, count, then elements */
	AMQP_CAT_ARRAY,    /* size, count, element constructor, elements */
};

/* What one format code means: filled from the encoding table that the
 * generator reads from types.xml (amqp_spec_gen.c). */
struct amqp_code_info {
	uint8_t type;     /* enum amqp_type; AMQP_TYPE_INVALID for reserved */
	uint8_t category; /* enum amqp_category */
	uint8_t width;    /* fixed: value bytes; others: size/count field bytes */
} __attribute__((aligned(4))); /* 4 bytes: one aligned load per lookup */
extern const struct amqp_code_info amqp_code_table[256];

/* The two descriptor forms (part 1.5): numeric descriptors carry their
 * code; symbolic ones are mapped to the code of the spec type of that name
 * when there is one (e.g. "amqp:open:list" -> 0x10), otherwise descriptor
 * is AMQP_DESC_UNKNOWN and sym_descriptor holds the symbol. */
#define AMQP_DESC_NONE UINT64_C(0xffffffffffffffff)
#define AMQP_DESC_UNKNOWN UINT64_C(0xfffffffffffffffe)

/* Described types may nest (part 1.2: a constructor may itself be
 * "0x00 descriptor constructor"); deeper nesting is refused. */
#define AMQP_MAX_DESCRIBED_DEPTH 8

/* Zero-width array elements (null, true, false, uint0, ulong0, list0)
 * take no bytes, so their count cannot be checked against the size (and
 * proton does write arrays of nulls that way); cap it so a 5-byte array
 * cannot claim 4 billion elements. (Arrays of such arrays could still
 * multiply: amqp_value_validate bounds its walk by the value's size.) */
#define AMQP_MAX_ZERO_WIDTH_ARRAY 65536

/* One decoded value. Fields other than those listed for its type are
 * unspecified. */
struct amqp_value {
	uint8_t type;      /* enum amqp_type */
	uint8_t code;      /* the format code as encoded, e.g. 0x43 for uint0 */
	uint8_t elem_type; /* arrays: element type */
	uint8_t elem_code; /* arrays: element format code */
	uint8_t described; /* descriptors before the constructor: 0, 1, or more
			      for a described value that is itself described */
	uint32_t count;    /* list/map: elements (a map counts keys and values);
			      array: elements */
	uint64_t descriptor;      /* AMQP_DESC_NONE when not described */
	uint64_t elem_descriptor; /* arrays of described elements, else NONE */
	struct amqp_bytes sym_descriptor; /* when descriptor == AMQP_DESC_UNKNOWN */
	struct amqp_bytes elem_sym_descriptor; /* arrays: when elem_descriptor ==
						  AMQP_DESC_UNKNOWN */
	union {
		bool b;            /* boolean */
		uint64_t u;        /* ubyte ushort uint ulong char decimal32/64 (raw bits) */
		int64_t i;         /* byte short int long timestamp */
		float f;           /* float */
		double d;          /* double */
		uint8_t b16[16];   /* uuid, decimal128 (raw, network order) */
	} u;
	/* binary/string/symbol: the content. list/map: the elements after the
	 * count. array: the elements after the element constructor. */
	struct amqp_bytes bytes;
	/* The whole encoding, descriptor included: forward or re-encode it
	 * untouched with amqp_encode_raw(). */
	struct amqp_bytes raw;
	uint64_t pos; /* absolute position of raw (diagnostics) */
};

/* A null value, as absent '*' and map fields hold. */
#define AMQP_VALUE_NULL_INIT                                                                       \
	{                                                                                          \
		.type = AMQP_TYPE_NULL, .code = 0x40, .described = 0, .descriptor = AMQP_DESC_NONE, \
		.elem_descriptor = AMQP_DESC_NONE                                                  \
	}

static inline void amqp_value_set_null(struct amqp_value *v)
{
	v->type = AMQP_TYPE_NULL;
	v->code = 0x40;
	v->described = 0;
	v->count = 0;
	v->descriptor = AMQP_DESC_NONE;
	v->elem_descriptor = AMQP_DESC_NONE;
	v->bytes = amqp_bytes_of(NULL, 0);
	v->raw = amqp_bytes_of(NULL, 0);
}

/* Where decoding failed, for logs and the description of the Close/End/
 * Detach error. All strings are static. */
struct amqp_diag {
	enum rr_err err;
	uint64_t pos;      /* absolute byte offset in the decoded input */
	const char *type;  /* composite or section being decoded, or NULL */
	const char *field; /* field name, or NULL */
};

/* Record an error in d (may be NULL) and return it. */
enum rr_err amqp_diag_set(struct amqp_diag *d, enum rr_err err, uint64_t pos, const char *type,
			  const char *field);

/* "decode-error: transfer.delivery-tag at byte 23: value runs past ..." */
size_t amqp_diag_format(const struct amqp_diag *d, char *buf, size_t cap);

/* Decode the value at the cursor and advance past it. On error the cursor
 * is left where the value started. (Inline fast path in amqp_flat.h; the
 * general path is amqp_decode_value_general.) */
static AMQP_INLINE enum rr_err amqp_decode_value(struct amqp_cursor *c, struct amqp_value *v,
					    struct amqp_diag *d);
enum rr_err amqp_decode_value_general(struct amqp_cursor *c, struct amqp_value *v,
				      struct amqp_diag *d);

/* Walk the elements of a list, map (keys and values alternate) or array. */
struct amqp_iter {
	struct amqp_cursor cur;
	uint32_t remaining;
	uint8_t elem_code; /* arrays: shared constructor; 0 for list/map */
	uint8_t elem_type;
	uint64_t elem_descriptor;
	struct amqp_bytes elem_sym_descriptor; /* when elem_descriptor == UNKNOWN */
};

/* Start iterating v's elements; v must be a list, map or array. */
enum rr_err amqp_iter_init(struct amqp_iter *it, const struct amqp_value *v, struct amqp_diag *d);

/* Next element: RR_OK with *out filled, RR_END after the last, or an
 * error. After RR_END, bytes left inside the compound are an error
 * (RR_E_BAD_COUNT), so a lying count is always detected. */
static AMQP_INLINE enum rr_err amqp_iter_next(struct amqp_iter *it, struct amqp_value *out,
					 struct amqp_diag *d);
enum rr_err amqp_iter_next_general(struct amqp_iter *it, struct amqp_value *out,
				   struct amqp_diag *d);

/* Check a list, map or array all the way down: every nested element
 * decodes, every count matches its bytes (amqp_decode_value only checks
 * the outer size and count). Iterative, nesting at most
 * AMQP_MAX_VALIDATE_DEPTH deep (RR_E_NESTING beyond); RR_OK for other
 * types. The work is linear in the value's size: a value may hold at most
 * 4 elements per byte, plus one full array of zero-width elements and 1024
 * more, in all (zero-width array elements take no bytes); RR_E_BAD_COUNT
 * beyond. */
#define AMQP_MAX_VALIDATE_DEPTH 32
enum rr_err amqp_value_validate(const struct amqp_value *v, struct amqp_diag *d);

/* Look up a map entry whose key is the symbol (or string) key. */
enum rr_err amqp_map_find(const struct amqp_value *map, const char *key, struct amqp_value *out,
			  struct amqp_diag *d);

/* Name of a type, e.g. "uint". */
const char *amqp_type_name(enum amqp_type t);

/* Map a symbolic descriptor to the numeric code of the spec type with that
 * name (generated from the XML), or AMQP_DESC_UNKNOWN. */
uint64_t amqp_descriptor_lookup(const struct amqp_bytes *sym);

#ifdef __cplusplus
}
#endif

/* The inlined contiguous fast path of amqp_decode_value. */
#include "amqp_flat.h"
#endif
