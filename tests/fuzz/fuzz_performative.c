/* libFuzzer target: an AMQP frame body -> amqp_performative_decode.
 * Differential checks: the same bytes in one contiguous segment decode to
 * the same result; whatever decoded is re-encoded with the generated
 * encoders and decoded again to the same fields (and encoding is then a
 * fixed point). Any mismatch aborts.
 * Input: split header (fuzz_common.h), then the frame body. */
#include "fuzz_common.h"

#include <string.h>

static enum rr_err fuzz_decode(const struct amqp_seg *segs, size_t nsegs,
			       struct amqp_performative *p, uint64_t *left)
{
	struct amqp_cursor c;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	amqp_cur_init(&c, segs, nsegs);
	uint64_t before = amqp_cur_left(&c);
	memset(p, 0xbe, sizeof *p);
	enum rr_err e = amqp_performative_decode(&c, p, &d);
	fuzz_last_diag = d;
	*left = amqp_cur_left(&c);
	if (e != RR_OK) {
		char msg[256];
		FUZZ_CHECK(e > RR_END && rr_err_condition(e) != NULL, "error %s", rr_errname(e));
		FUZZ_CHECK(d.err == e, "diag not set for %s", rr_errname(e));
		amqp_diag_format(&d, msg, sizeof msg);
		return e;
	}
	FUZZ_CHECK(amqp_performative_desc(p->code) != NULL, "code 0x%llx",
		   (unsigned long long)p->code);
	FUZZ_CHECK(amqp_cur_left(&p->payload) == *left, "payload is not the rest of the body");
	FUZZ_CHECK(p->code == AMQP_DESC_TRANSFER || *left == 0, "payload after a non-transfer");
	FUZZ_CHECK(*left < before, "nothing consumed");
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chain ch, flat;
	struct amqp_performative p, q;
	uint64_t left_p, left_q;
	uint8_t hint = size ? data[0] : 0;

	fuzz_chain_make(&ch, data, size);
	enum rr_err e = fuzz_decode(ch.segs, ch.nsegs, &p, &left_p);
	const struct amqp_diag d1 = fuzz_last_diag;

	/* The same bytes as one segment. */
	fuzz_chain_flatten(&flat, &ch);
	enum rr_err e2 = fuzz_decode(flat.segs, flat.nsegs, &q, &left_q);
	FUZZ_CHECK(e == e2, "chain gave %s, contiguous gave %s", rr_errname(e), rr_errname(e2));
	if (e != RR_OK)
		fuzz_check_same_diag(&d1, &fuzz_last_diag);

	if (e == RR_OK) {
		const struct amqp_composite_desc *desc = amqp_performative_desc(p.code);
		FUZZ_CHECK(p.code == q.code && left_p == left_q, "chain and contiguous differ");
		fuzz_composite_check_equal(desc, &p.u, &q.u);
		if (left_p > 0) {
			struct amqp_bytes pl;
			amqp_cur_take(&p.payload, (uint32_t)left_p, &pl);
			(void)fuzz_bytes_touch(&pl);
		}
		fuzz_composite_roundtrip(desc, &p.u, hint);
	}
	fuzz_chain_free(&flat);
	fuzz_chain_free(&ch);
	return 0;
}
