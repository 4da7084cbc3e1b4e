/* AMQP 1.0 part 3.2: the message format, read lazily.
 *
 * amqp_message_scan() walks the sections of a complete message once: it
 * decodes the header and properties (small, and what a router routes on),
 * records the annotation and application-property maps as undecoded views,
 * and skips the body by its encoded sizes without reading it. Rewriting
 * annotations copies the untouched rest of the message as one view. */
#ifndef AMQP_MESSAGE_H
#define AMQP_MESSAGE_H

#include "amqp_spec_gen.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which sections a message has (bits of amqp_message_view.sections). */
enum amqp_section_bit {
	AMQP_SEC_HEADER = 1u << 0,
	AMQP_SEC_DELIVERY_ANNOTATIONS = 1u << 1,
	AMQP_SEC_MESSAGE_ANNOTATIONS = 1u << 2,
	AMQP_SEC_PROPERTIES = 1u << 3,
	AMQP_SEC_APPLICATION_PROPERTIES = 1u << 4,
	AMQP_SEC_BODY_DATA = 1u << 5,
	AMQP_SEC_BODY_SEQUENCE = 1u << 6,
	AMQP_SEC_BODY_VALUE = 1u << 7,
	AMQP_SEC_FOOTER = 1u << 8,
};
#define AMQP_SEC_BODY (AMQP_SEC_BODY_DATA | AMQP_SEC_BODY_SEQUENCE | AMQP_SEC_BODY_VALUE)

struct amqp_message_view {
	uint32_t sections; /* enum amqp_section_bit */
	/* Decoded; spec defaults when the section is absent. */
	struct amqp_header header;
	struct amqp_properties properties;
	/* Undecoded maps (type AMQP_TYPE_NULL when absent): walk them with
	 * amqp_iter or amqp_map_find. */
	struct amqp_value delivery_annotations;
	struct amqp_value message_annotations;
	struct amqp_value application_properties;
	struct amqp_value footer;
	/* The body: every body section, encoded, as one view; and how many
	 * sections it has (data and amqp-sequence may repeat). */
	struct amqp_bytes body;
	uint32_t body_sections;
	/* Everything after the message-annotations section (properties
	 * onwards), untouched: what a router copies when it rewrites the
	 * header or annotations. */
	struct amqp_bytes after_annotations;
	/* Raw header section, empty when absent. */
	struct amqp_bytes header_raw;
	struct amqp_bytes delivery_annotations_raw;
	uint64_t pos; /* absolute position of the message start */
	uint64_t len; /* encoded length of the whole message */
};

/* Scan a complete message (every section must be readable: for a
 * multi-frame transfer, a chain of the frames' payloads). Enforces the
 * section order of part 3.2 (header, delivery-annotations,
 * message-annotations, properties, application-properties, body, footer;
 * each at most once; a body of data sections, of amqp-sequence sections,
 * or one amqp-value). The cursor ends at the end of the message. */
enum rr_err amqp_message_scan(struct amqp_cursor *c, struct amqp_message_view *m,
			      struct amqp_diag *d);

/* One annotation to add or replace: a symbol key and its value already
 * encoded (e.g. with amqp_encode_* into a small buffer). */
struct amqp_annotation {
	const char *key;
	struct amqp_bytes value;
};

/* Write an annotations section (code: AMQP_DESC_MESSAGE_ANNOTATIONS,
 * AMQP_DESC_DELIVERY_ANNOTATIONS or AMQP_DESC_FOOTER): the entries of old
 * (may be absent: type NULL) whose keys are not in add, copied as encoded,
 * then the entries of add. */
enum rr_err amqp_encode_annotations(struct amqp_wbuf *w, uint64_t code, const struct amqp_value *old,
				    const struct amqp_annotation *add, size_t nadd,
				    struct amqp_diag *d);

/* Write an application-properties section (part 3.2.5): the same, with
 * string keys. */
enum rr_err amqp_encode_application_properties(struct amqp_wbuf *w, const struct amqp_value *old,
					       const struct amqp_annotation *add, size_t nadd,
					       struct amqp_diag *d);

/* Body sections. A data section (part 3.2.6) holding bytes; an
 * amqp-sequence section (3.2.7) holding a list value; an amqp-value section
 * (3.2.8) holding any value (decoded or built, see amqp_encode_value). The
 * header and properties sections are generated composites:
 * amqp_header_encode, amqp_properties_encode. */
void amqp_encode_data_section(struct amqp_wbuf *w, const struct amqp_bytes *bytes);
void amqp_encode_amqp_sequence_section(struct amqp_wbuf *w, const struct amqp_value *list);
void amqp_encode_amqp_value_section(struct amqp_wbuf *w, const struct amqp_value *v);

#ifdef __cplusplus
}
#endif
#endif
