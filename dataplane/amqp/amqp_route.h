/* The router's per-transfer fast path over a message (AMQP 1.0 part 3.2).
 *
 * amqp_message_scan() decodes everything a message has into general
 * structs; a router forwarding a transfer needs a handful of values from
 * it. amqp_route_scan() reads exactly those — the header, the
 * message-annotations map (as a view, walked with amqp_ann_next), to,
 * reply-to, correlation-id, message-id, the expiry and creation times, and
 * the body's bounds — with the same validation as amqp_message_scan (every
 * section's order and type, every properties field's type, every length),
 * writing a small struct. Anything it does not handle inline (a message
 * that spans segments, a described or compound value where a scalar is
 * usual, an unknown section) is handed to amqp_message_scan, so both give
 * the same answer for every input; tests and the fuzzer check that. */
#ifndef AMQP_ROUTE_H
#define AMQP_ROUTE_H

#include "amqp_message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A field read without decoding it further: its type, its format code and,
 * for binary/string/symbol, its content; otherwise its whole encoding
 * (decode it with amqp_decode_value when needed). type AMQP_TYPE_NULL when
 * absent. */
struct amqp_ref {
	uint8_t type;
	uint8_t code;
	struct amqp_bytes bytes;
};

struct amqp_route_info {
	uint32_t sections;          /* enum amqp_section_bit */
	struct amqp_header header;  /* spec defaults when absent */
	/* message-annotations map elements (keys and values), walked with
	 * amqp_ann_iter; count 0 when absent. */
	struct amqp_bytes annotations;
	uint32_t annotations_count;
	uint64_t annotations_pos;
	/* properties (part 3.2.4) */
	struct amqp_ref message_id;
	struct amqp_ref to;
	struct amqp_ref reply_to;
	struct amqp_ref correlation_id;
	int64_t absolute_expiry_time; /* valid when has_absolute_expiry_time */
	int64_t creation_time;        /* valid when has_creation_time */
	bool has_absolute_expiry_time;
	bool has_creation_time;
	/* every body section, as one view; and everything after the
	 * message-annotations, untouched (what a rewrite copies) */
	struct amqp_bytes body;
	uint32_t body_sections;
	struct amqp_bytes after_annotations;
	uint64_t len; /* encoded length of the whole message */
};

/* Scan a complete message for routing. Same results and errors as
 * amqp_message_scan; the cursor ends at the end of the message. */
enum rr_err amqp_route_scan(struct amqp_cursor *c, struct amqp_route_info *r, struct amqp_diag *d);

/* Walk message annotations: keys (symbol or ulong, part 3.2.10) and values
 * as references. */
struct amqp_ann_iter {
	const uint8_t *p, *end; /* contiguous annotations: read in place */
	const uint8_t *start;
	uint32_t remaining;     /* keys and values left */
	bool general;           /* it is in use (a chain, or an unusual value) */
	uint64_t pos;           /* absolute position of start (diagnostics) */
	struct amqp_bytes rest; /* annotations when not contiguous */
	struct amqp_iter it;
};
void amqp_ann_iter_init(struct amqp_ann_iter *a, const struct amqp_route_info *r);
/* RR_OK with key and value set, RR_END after the last, or an error. */
enum rr_err amqp_ann_next(struct amqp_ann_iter *a, struct amqp_ref *key, struct amqp_ref *value,
			  struct amqp_diag *d);

/* A reference to a decoded value (for the fallback path and for users
 * holding an amqp_value). */
void amqp_ref_from_value(struct amqp_ref *ref, const struct amqp_value *v);

#ifdef __cplusplus
}
#endif
#endif
