/* libFuzzer target: a SASL frame body (AMQP 1.0 part 5.3) ->
 * amqp_sasl_frame_decode, with the same differential checks as
 * fuzz_performative: chained vs contiguous, and re-encode/decode.
 * Input: split header (fuzz_common.h), then the frame body. */
#include "fuzz_common.h"

#include <string.h>

static enum rr_err fuzz_decode(const struct fuzz_chain *ch, struct amqp_sasl_frame *s)
{
	struct amqp_cursor c;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	amqp_cur_init(&c, ch->segs, ch->nsegs);
	memset(s, 0xbe, sizeof *s);
	enum rr_err e = amqp_sasl_frame_decode(&c, s, &d);
	if (e != RR_OK) {
		char msg[256];
		FUZZ_CHECK(e > RR_END && rr_err_condition(e) != NULL, "error %s", rr_errname(e));
		FUZZ_CHECK(d.err == e, "diag not set for %s", rr_errname(e));
		amqp_diag_format(&d, msg, sizeof msg);
		return e;
	}
	FUZZ_CHECK(amqp_sasl_desc(s->code) != NULL, "code 0x%llx", (unsigned long long)s->code);
	FUZZ_CHECK(amqp_cur_left(&c) == 0, "bytes left after a SASL frame");
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chain ch, flat;
	struct amqp_sasl_frame s, t;
	uint8_t hint = size ? data[0] : 0;

	fuzz_chain_make(&ch, data, size);
	fuzz_chain_flatten(&flat, &ch);
	enum rr_err e = fuzz_decode(&ch, &s);
	enum rr_err e2 = fuzz_decode(&flat, &t);
	FUZZ_CHECK(e == e2, "chain gave %s, contiguous gave %s", rr_errname(e), rr_errname(e2));
	if (e == RR_OK) {
		const struct amqp_composite_desc *desc = amqp_sasl_desc(s.code);
		FUZZ_CHECK(s.code == t.code, "chain and contiguous differ");
		fuzz_composite_check_equal(desc, &s.u, &t.u);
		if (s.code == AMQP_DESC_SASL_MECHANISMS)
			(void)fuzz_walk_value(&s.u.mechanisms.sasl_server_mechanisms, 0, 4);
		fuzz_composite_roundtrip(desc, &s.u, hint);
	}
	fuzz_chain_free(&flat);
	fuzz_chain_free(&ch);
	return 0;
}
