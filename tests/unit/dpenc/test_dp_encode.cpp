// The hand-written transfer and disposition encoders (dataplane/dp_encode.c)
// write exactly what the generated table engine writes for the same fields,
// and proton reads them back with the same values.
#include <gtest/gtest.h>
#include <proton/codec.h>

#include <cstring>
#include <vector>

#include "amqp_frame.h"
#include "dp_encode.h"

namespace {

std::vector<uint8_t> engine_transfer(uint32_t handle, bool first, uint32_t id,
				     const uint8_t *tag, uint32_t tag_len, uint32_t fmt, bool settled,
				     bool more)
{
	struct amqp_transfer t;
	amqp_transfer_init(&t);
	t.present = AMQP_TRANSFER_HAS_HANDLE;
	t.handle = handle;
	if (first) {
		t.present |= AMQP_TRANSFER_HAS_DELIVERY_ID | AMQP_TRANSFER_HAS_DELIVERY_TAG |
			     AMQP_TRANSFER_HAS_MESSAGE_FORMAT;
		t.delivery_id = id;
		t.delivery_tag = amqp_bytes_of(tag, tag_len);
		t.message_format = fmt;
		if (settled) {
			t.present |= AMQP_TRANSFER_HAS_SETTLED;
			t.settled = true;
		}
	}
	if (more) {
		t.present |= AMQP_TRANSFER_HAS_MORE;
		t.more = true;
	}
	std::vector<uint8_t> buf(256);
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf.data(), buf.size());
	amqp_transfer_encode(&w, &t);
	EXPECT_TRUE(amqp_wbuf_ok(&w));
	buf.resize(amqp_wbuf_len(&w));
	return buf;
}

std::vector<uint8_t> ours_transfer(uint32_t handle, bool first, uint32_t id, const uint8_t *tag,
				   uint32_t tag_len, uint32_t fmt, bool settled, bool more)
{
	std::vector<uint8_t> buf(256);
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf.data(), buf.size());
	dp_encode_transfer(&w, handle, first, id, tag, tag_len, fmt, settled, more);
	EXPECT_TRUE(amqp_wbuf_ok(&w));
	buf.resize(amqp_wbuf_len(&w));
	return buf;
}

// proton decodes the bytes as a described list with these values
void proton_check_transfer(const std::vector<uint8_t> &b, uint32_t handle, bool first, uint32_t id,
			   bool settled, bool more)
{
	pn_data_t *d = pn_data(0);
	ASSERT_EQ(pn_data_decode(d, (const char *)b.data(), b.size()), (ssize_t)b.size());
	pn_data_rewind(d);
	ASSERT_TRUE(pn_data_next(d));
	ASSERT_EQ(pn_data_type(d), PN_DESCRIBED);
	pn_data_enter(d);
	ASSERT_TRUE(pn_data_next(d));
	EXPECT_EQ(pn_data_get_ulong(d), 0x14u);
	ASSERT_TRUE(pn_data_next(d));
	ASSERT_EQ(pn_data_type(d), PN_LIST);
	pn_data_enter(d);
	ASSERT_TRUE(pn_data_next(d));
	EXPECT_EQ(pn_data_get_uint(d), handle);
	if (first) {
		ASSERT_TRUE(pn_data_next(d));
		EXPECT_EQ(pn_data_get_uint(d), id);
	}
	pn_data_exit(d);
	pn_data_exit(d);
	pn_data_free(d);
	// and our own decoder reads the same fields
	struct amqp_seg seg;
	struct amqp_cursor c;
	amqp_cur_init_flat(&c, &seg, b.data(), b.size());
	struct amqp_performative p;
	struct amqp_diag diag;
	memset(&diag, 0, sizeof(diag));
	ASSERT_EQ(amqp_performative_decode(&c, &p, &diag), RR_OK);
	ASSERT_EQ(p.code, AMQP_DESC_TRANSFER);
	EXPECT_EQ(p.u.transfer.handle, handle);
	if (first) {
		EXPECT_EQ(p.u.transfer.delivery_id, id);
	}
	EXPECT_EQ(p.u.transfer.settled, first && settled);
	EXPECT_EQ(p.u.transfer.more, more);
}

TEST(DpEncode, TransferSameBytesAsTheEngine)
{
	const uint32_t values[] = {0, 1, 255, 256, 65535, 0x7fffffffu, 0xffffffffu};
	const uint8_t tag[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	unsigned cases = 0;
	for (uint32_t h : values)
		for (uint32_t id : values)
			for (uint32_t tl : {0u, 1u, 8u, 32u})
				for (int bits = 0; bits < 8; bits++) {
					bool first = bits & 1, settled = bits & 2, more = bits & 4;
					uint32_t fmt = id ^ 5;
					auto a = engine_transfer(h, first, id, tag, tl, fmt, settled, more);
					auto b = ours_transfer(h, first, id, tag, tl, fmt, settled, more);
					ASSERT_EQ(a, b) << "handle " << h << " id " << id << " tag " << tl
							<< " bits " << bits;
					proton_check_transfer(b, h, first, id, settled, more);
					cases++;
				}
	EXPECT_EQ(cases, 7u * 7u * 4u * 8u);
}

// send_frames (dp_deliver.c) sizes a frame from the more = false encoding
// plus dp_encode_transfer_more_bytes: it must be exact
TEST(DpEncode, MoreBytesIsTheDifferenceOfTheTwoEncodings)
{
	const uint32_t values[] = {0, 1, 255, 256, 0xffffffffu};
	const uint8_t tag[32] = {9};
	unsigned cases = 0;
	for (uint32_t h : values)
		for (uint32_t id : values)
			for (uint32_t tl : {0u, 8u, 32u})
				for (int bits = 0; bits < 4; bits++) {
					bool first = bits & 1, settled = bits & 2;
					auto off = ours_transfer(h, first, id, tag, tl, 0, settled, false);
					auto on = ours_transfer(h, first, id, tag, tl, 0, settled, true);
					ASSERT_EQ(on.size() - off.size(),
						  dp_encode_transfer_more_bytes(first, settled))
					    << "handle " << h << " id " << id << " tag " << tl
					    << " bits " << bits;
					cases++;
				}
	EXPECT_EQ(cases, 5u * 5u * 3u * 4u);
}

TEST(DpEncode, DispositionSameBytesAsTheEngine)
{
	const uint8_t accepted[] = {0x00, 0x53, 0x24, 0x45};
	const uint8_t rejected[] = {0x00, 0x53, 0x25, 0xc0, 0x0b, 0x01, 0x00, 0x53, 0x1d, 0xc0,
				    0x05, 0x01, 0xa3, 0x02, 'x', 'y'};
	struct {
		const uint8_t *p;
		uint32_t n;
	} states[] = {{nullptr, 0}, {accepted, sizeof(accepted)}, {rejected, sizeof(rejected)}};
	for (uint32_t id : {0u, 7u, 300u, 0xffffffffu})
		for (int bits = 0; bits < 4; bits++)
			for (auto &st : states) {
				bool role = bits & 1, settled = bits & 2;
				struct amqp_disposition d;
				amqp_disposition_init(&d);
				d.present = AMQP_DISPOSITION_HAS_ROLE | AMQP_DISPOSITION_HAS_FIRST;
				d.role = role;
				d.first = id;
				if (settled) {
					d.present |= AMQP_DISPOSITION_HAS_SETTLED;
					d.settled = true;
				}
				if (st.n) {
					d.present |= AMQP_DISPOSITION_HAS_STATE;
					d.state.type = AMQP_TYPE_LIST;
					d.state.described = 1;
					d.state.raw = amqp_bytes_of(st.p, st.n);
				}
				std::vector<uint8_t> a(256), b(256);
				struct amqp_wbuf wa, wb;
				amqp_wbuf_init(&wa, a.data(), a.size());
				amqp_wbuf_init(&wb, b.data(), b.size());
				amqp_disposition_encode(&wa, &d);
				dp_encode_disposition(&wb, role, id, settled, st.p, st.n);
				ASSERT_TRUE(amqp_wbuf_ok(&wa) && amqp_wbuf_ok(&wb));
				a.resize(amqp_wbuf_len(&wa));
				b.resize(amqp_wbuf_len(&wb));
				ASSERT_EQ(a, b) << "id " << id << " bits " << bits << " state " << st.n;
			}
}

TEST(DpEncode, OverflowIsReported)
{
	uint8_t small[8];
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, small, sizeof(small));
	const uint8_t tag[8] = {0};
	dp_encode_transfer(&w, 1, true, 1, tag, 8, 0, false, false);
	EXPECT_FALSE(amqp_wbuf_ok(&w));
}

} // namespace
