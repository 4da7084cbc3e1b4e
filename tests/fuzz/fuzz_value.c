/* libFuzzer target: amqp_decode_value on a segment chain, then a recursive
 * walk of every compound with amqp_iter (bounded depth), re-encoding every
 * cleanly walked value from its fields and decoding it again.
 * Input: split header (fuzz_common.h), then a sequence of encoded values. */
#include "fuzz_common.h"

#include <string.h>

#define FUZZ_VALUE_MAX_DEPTH 32
#define FUZZ_VALUE_MAX_VALUES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chain ch;
	struct amqp_cursor c;

	fuzz_chain_make(&ch, data, size);
	amqp_cur_init(&c, ch.segs, ch.nsegs);
	FUZZ_CHECK(amqp_cur_left(&c) == ch.len, "cursor over %zu bytes", ch.len);

	for (int i = 0; i < FUZZ_VALUE_MAX_VALUES && amqp_cur_left(&c) > 0; i++) {
		struct amqp_value v;
		struct amqp_diag d = {RR_OK, 0, NULL, NULL};
		const struct amqp_cursor start = c;
		uint64_t before = amqp_cur_left(&c);

		memset(&v, 0xbe, sizeof v);
		enum rr_err e = amqp_decode_value(&c, &v, &d);
		if (e != RR_OK) {
			char msg[256];
			FUZZ_CHECK(e > RR_END, "error code %d", (int)e);
			FUZZ_CHECK(amqp_cur_left(&c) == before, "cursor moved on error");
			FUZZ_CHECK(rr_err_condition(e) != NULL, "decode error %s has no condition",
				   rr_errname(e));
			FUZZ_CHECK(d.err == e, "diag not set");
			amqp_diag_format(&d, msg, sizeof msg);
			break;
		}
		FUZZ_CHECK(amqp_cur_left(&c) < before, "decode consumed nothing");
		FUZZ_CHECK(v.raw.len == before - amqp_cur_left(&c), "raw view %u bytes, consumed %llu",
			   v.raw.len, (unsigned long long)(before - amqp_cur_left(&c)));
		FUZZ_CHECK(v.type < AMQP_TYPE_COUNT, "type %u", v.type);

		/* Every strict prefix of a value is truncated, never another value. */
		if (i == 0) {
			struct amqp_cursor p = start, sub;
			struct amqp_value pv;
			amqp_cur_split(&p, v.raw.len - 1, &sub);
			e = amqp_decode_value(&sub, &pv, NULL);
			FUZZ_CHECK(e == RR_E_TRUNCATED, "prefix of %u bytes gave %s", v.raw.len - 1,
				   rr_errname(e));
		}
		(void)fuzz_walk_value(&v, 0, FUZZ_VALUE_MAX_DEPTH);
	}
	fuzz_chain_free(&ch);
	return 0;
}
