/* libFuzzer target: a connection's input stream. A protocol header
 * (part 2.2), then frames (part 2.3) parsed with a max-frame-size taken
 * from the input; each frame body decoded by its type: AMQP frames as a
 * performative, SASL frames as a SASL frame; a transfer's payload scanned as
 * a message. After a SASL outcome the stream continues with the next
 * protocol header, as on the wire (part 5.3.2).
 * Input: one max-frame-size selector byte, the split header
 * (fuzz_common.h), then the stream. */
#include "fuzz_common.h"

#include <string.h>

#define FUZZ_FRAME_MAX_FRAMES 256

static const uint32_t fuzz_max_frames[8] = {
	UINT32_MAX, AMQP_MIN_FRAME_SIZE, 4096, 65536, 1u << 20, 8, 16, 100,
};

static void fuzz_transfer_payload(struct amqp_cursor *payload)
{
	struct amqp_message_view m;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	uint64_t before = amqp_cur_left(payload);
	enum rr_err e = amqp_message_scan(payload, &m, &d);
	if (e != RR_OK) {
		FUZZ_CHECK(amqp_cur_left(payload) == before, "message scan moved on error");
		return;
	}
	FUZZ_CHECK(amqp_cur_left(payload) == 0 && m.len == before, "message scan length");
	if (m.message_annotations.type == AMQP_TYPE_MAP)
		(void)fuzz_walk_value(&m.message_annotations, 0, 4);
	(void)fuzz_bytes_touch(&m.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chain ch;
	struct amqp_cursor c;
	uint32_t max_frame = fuzz_max_frames[fuzz_take_u8(&data, &size) & 7];
	bool want_header = true;

	fuzz_chain_make(&ch, data, size);
	amqp_cur_init(&c, ch.segs, ch.nsegs);

	for (int i = 0; i < FUZZ_FRAME_MAX_FRAMES && amqp_cur_left(&c) > 0; i++) {
		uint64_t before = amqp_cur_left(&c);
		if (want_header) {
			enum amqp_proto_id id;
			enum rr_err e = amqp_proto_header_parse(&c, &id);
			if (e != RR_OK) {
				FUZZ_CHECK(amqp_cur_left(&c) == before, "header parse moved on error");
				FUZZ_CHECK(e != RR_NEED_MORE || before < AMQP_PROTO_HEADER_LEN,
					   "need more with %llu bytes", (unsigned long long)before);
				break;
			}
			FUZZ_CHECK(amqp_cur_left(&c) == before - AMQP_PROTO_HEADER_LEN, "header length");
			if (id == AMQP_PROTO_TLS)
				break; /* TLS records follow: not ours to parse */
			want_header = false;
			continue;
		}

		struct amqp_frame f;
		struct amqp_diag d = {RR_OK, 0, NULL, NULL};
		memset(&f, 0xbe, sizeof f);
		enum rr_err e = amqp_frame_parse(&c, max_frame, &f, &d);
		if (e != RR_OK) {
			FUZZ_CHECK(amqp_cur_left(&c) == before, "frame parse moved on error");
			if (e == RR_NEED_MORE)
				break;
			FUZZ_CHECK(e == RR_E_FRAME_TOO_SMALL || e == RR_E_FRAME_DOFF ||
					   e == RR_E_FRAME_TOO_LARGE,
				   "frame error %s", rr_errname(e));
			FUZZ_CHECK(rr_err_condition(e) != NULL && strcmp(rr_err_condition(e),
				   "amqp:connection:framing-error") == 0, "condition of %s", rr_errname(e));
			break;
		}
		FUZZ_CHECK(f.size >= AMQP_FRAME_HEADER_LEN && f.size <= max_frame, "size %u", f.size);
		FUZZ_CHECK(f.doff >= 2 && (uint32_t)f.doff * 4 <= f.size, "doff %u", f.doff);
		FUZZ_CHECK(amqp_cur_left(&c) == before - f.size, "frame consumed %llu of %u",
			   (unsigned long long)(before - amqp_cur_left(&c)), f.size);
		FUZZ_CHECK(f.ext_header.len == (uint32_t)f.doff * 4 - AMQP_FRAME_HEADER_LEN, "ext header");
		FUZZ_CHECK(amqp_cur_left(&f.body) == f.size - (uint32_t)f.doff * 4, "body length");
		(void)fuzz_bytes_touch(&f.ext_header);
		if (amqp_frame_is_empty(&f))
			continue; /* heartbeat */

		if (f.type == AMQP_FRAME_AMQP) {
			struct amqp_performative p;
			e = amqp_performative_decode(&f.body, &p, &d);
			if (e == RR_OK && p.code == AMQP_DESC_TRANSFER)
				fuzz_transfer_payload(&p.payload);
		} else if (f.type == AMQP_FRAME_SASL) {
			struct amqp_sasl_frame s;
			e = amqp_sasl_frame_decode(&f.body, &s, &d);
			if (e == RR_OK && s.code == AMQP_DESC_SASL_OUTCOME)
				want_header = true;
		}
		if (e != RR_OK) {
			char msg[256];
			FUZZ_CHECK(e > RR_END && rr_err_condition(e) != NULL, "error %s", rr_errname(e));
			amqp_diag_format(&d, msg, sizeof msg);
		}
	}
	fuzz_chain_free(&ch);
	return 0;
}
