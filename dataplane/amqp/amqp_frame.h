/* AMQP 1.0 part 2.2 (protocol headers) and 2.3 (frames), and the dispatch
 * of a frame body to its performative or SASL frame (part 2.7, part 5.3).
 *
 * Incremental: a parser given fewer bytes than it needs returns
 * RR_NEED_MORE and leaves the cursor where it was, so a caller can retry
 * when more bytes arrive. Nothing here allocates. */
#ifndef AMQP_FRAME_H
#define AMQP_FRAME_H

#include "amqp_spec_gen.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol ids of the 8-byte header "AMQP" id major minor revision. */
enum amqp_proto_id {
	AMQP_PROTO_AMQP = 0, /* part 2.2 */
	AMQP_PROTO_TLS = 2,  /* part 5.2 */
	AMQP_PROTO_SASL = 3, /* part 5.3 */
};
#define AMQP_PROTO_HEADER_LEN 8

/* Parse a protocol header: RR_OK with *id set; RR_NEED_MORE for a strict
 * prefix of a valid header; RR_E_PROTO_HEADER when the bytes cannot be an
 * AMQP header; RR_E_PROTO_VERSION for "AMQP" with an unknown id or a
 * version other than 1.0.0 (part 2.2: answer with our header and close). */
enum rr_err amqp_proto_header_parse(struct amqp_cursor *c, enum amqp_proto_id *id);
void amqp_proto_header_encode(struct amqp_wbuf *w, enum amqp_proto_id id);

/* Frame types (part 2.3.1 AMQP frames, part 5.3.1 SASL frames). */
enum amqp_frame_type {
	AMQP_FRAME_AMQP = 0x00,
	AMQP_FRAME_SASL = 0x01,
};
#define AMQP_FRAME_HEADER_LEN 8
/* part 2.7.1: max-frame-size may not be set below 512 (MIN-MAX-FRAME-SIZE,
 * generated from transport.xml). */
#define AMQP_MIN_FRAME_SIZE AMQP_MIN_MAX_FRAME_SIZE

struct amqp_frame {
	uint32_t size;        /* whole frame, header included */
	uint8_t doff;         /* data offset in 4-byte words, >= 2 */
	uint8_t type;         /* enum amqp_frame_type */
	uint16_t channel;     /* AMQP frames: channel; SASL: ignored (part 5.3.1) */
	struct amqp_bytes ext_header; /* doff*4 - 8 bytes, usually empty */
	struct amqp_cursor body;      /* the frame body; empty for heartbeats */
	uint64_t pos;         /* absolute position of the frame */
};

/* Parse one frame. RR_NEED_MORE (cursor untouched) until the whole frame
 * is readable; RR_E_FRAME_TOO_SMALL (size < 8), RR_E_FRAME_DOFF (doff < 2
 * or past the end), RR_E_FRAME_TOO_LARGE (size > max_frame: the value this
 * side announced in its Open, which the connection keeps at 512 or more,
 * part 2.7.1): Close with
 * amqp:connection:framing-error. On success the cursor is past the frame
 * and f->body covers its body, wherever the segments split it. */
enum rr_err amqp_frame_parse(struct amqp_cursor *c, uint32_t max_frame, struct amqp_frame *f,
			     struct amqp_diag *d);

/* Is this frame an empty (heartbeat) frame? (part 2.4.5) */
static inline bool amqp_frame_is_empty(const struct amqp_frame *f)
{
	return amqp_cur_left(&f->body) == 0;
}

/* Start a frame in w: reserve its 8-byte header. */
static inline uint8_t *amqp_frame_begin(struct amqp_wbuf *w)
{
	return amqp_wbuf_reserve(w, AMQP_FRAME_HEADER_LEN);
}
/* Finish a frame begun at hdr: fill in size, doff 2, type, channel. */
void amqp_frame_end(struct amqp_wbuf *w, uint8_t *hdr, enum amqp_frame_type type, uint16_t channel);

/* An empty frame, the idle-timeout heartbeat (part 2.4.5). */
void amqp_frame_encode_heartbeat(struct amqp_wbuf *w);

/* A decoded AMQP performative (part 2.7). payload covers the bytes after
 * the performative: a transfer's message data, empty for the others. */
struct amqp_performative {
	uint64_t code; /* AMQP_DESC_OPEN .. AMQP_DESC_CLOSE */
	union {
		struct amqp_open open;
		struct amqp_begin begin;
		struct amqp_attach attach;
		struct amqp_flow flow;
		struct amqp_transfer transfer;
		struct amqp_disposition disposition;
		struct amqp_detach detach;
		struct amqp_end end;
		struct amqp_close close;
	} u;
	struct amqp_cursor payload;
};

/* Decode the performative at the start of an AMQP frame body.
 * RR_E_UNKNOWN_PERFORMATIVE for a descriptor that is not one of the nine;
 * other decode errors as amqp_composite_decode (amqp:decode-error). Only
 * a transfer may carry a payload; bytes after any other performative are
 * RR_E_FRAME_TRAILING. */
enum rr_err amqp_performative_decode(struct amqp_cursor *body, struct amqp_performative *p,
				     struct amqp_diag *d);

/* A decoded SASL frame (part 5.3.3). */
struct amqp_sasl_frame {
	uint64_t code; /* AMQP_DESC_SASL_MECHANISMS .. AMQP_DESC_SASL_OUTCOME */
	union {
		struct amqp_sasl_mechanisms mechanisms;
		struct amqp_sasl_init init;
		struct amqp_sasl_challenge challenge;
		struct amqp_sasl_response response;
		struct amqp_sasl_outcome outcome;
	} u;
};
enum rr_err amqp_sasl_frame_decode(struct amqp_cursor *body, struct amqp_sasl_frame *s,
				   struct amqp_diag *d);

/* Descriptor -> composite table for performatives and SASL frames. */
const struct amqp_composite_desc *amqp_performative_desc(uint64_t code);
const struct amqp_composite_desc *amqp_sasl_desc(uint64_t code);

#ifdef __cplusplus
}
#endif
#endif
