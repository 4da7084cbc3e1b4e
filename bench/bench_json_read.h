/*
 * bench_json_read: a small strict JSON reader (RFC 8259) for
 * rpcrouter-bench's result lines, read back by `rpcrouter-bench report`.
 *
 * Strict on purpose: a result file is machine-written, so anything outside
 * RFC 8259 (trailing commas, comments, leading zeros, NaN, unescaped
 * control characters, invalid UTF-8, lone surrogates) or a duplicate key
 * in one object (section 4 leaves its meaning open) is an error with its
 * byte offset, never a guess. Nesting is capped at BENCH_JSON_MAX_DEPTH.
 *
 * Values are a tree; object members keep their input order; strings are
 * NUL-terminated UTF-8 (an escaped U+0000 is refused, so the terminator is
 * never ambiguous).
 */
#ifndef BENCH_JSON_READ_H
#define BENCH_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_JSON_MAX_DEPTH 64

enum bench_json_type {
	BENCH_JSON_NULL,
	BENCH_JSON_FALSE,
	BENCH_JSON_TRUE,
	BENCH_JSON_NUMBER,
	BENCH_JSON_STRING,
	BENCH_JSON_ARRAY,
	BENCH_JSON_OBJECT,
};

struct bench_json {
	enum bench_json_type type;
	double num;		   /* NUMBER */
	char *str;		   /* STRING: NUL-terminated */
	size_t len;		   /* STRING: bytes; ARRAY/OBJECT: members */
	struct bench_json **items; /* ARRAY elements, OBJECT values */
	char **keys;		   /* OBJECT keys (items[i] belongs to keys[i]) */
};

/* Parse exactly one JSON value (whitespace around it allowed) from
 * text[0..len). On success *out owns the tree (bench_json_free) and 0 is
 * returned; on error -1, *out NULL and err holds "offset N: what". */
int bench_json_parse(const char *text, size_t len, struct bench_json **out, char *err,
		     size_t errlen);
void bench_json_free(struct bench_json *v);

/* Member of an object by key; NULL when v is not an object or has none. */
const struct bench_json *bench_json_get(const struct bench_json *v, const char *key);
/* Dotted path through objects: "results.latency_us.p50". */
const struct bench_json *bench_json_path(const struct bench_json *v, const char *path);
/* The number at path, or dflt when absent or not a number. */
double bench_json_num(const struct bench_json *v, const char *path, double dflt);
/* The string at path, or dflt when absent or not a string. */
const char *bench_json_str(const struct bench_json *v, const char *path, const char *dflt);
/* true/false at path; dflt when absent or another type. */
bool bench_json_bool(const struct bench_json *v, const char *path, bool dflt);

#ifdef __cplusplus
}
#endif
#endif
