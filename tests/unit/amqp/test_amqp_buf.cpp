// Segment chains: every read gives the same bytes whatever the split.
#include <gtest/gtest.h>

#include <vector>

#include "amqp_buf.h"
#include "chain_util.h"

TEST(AmqpBuf, ReadsAcrossEverySplit)
{
	std::vector<uint8_t> data(300);
	for (size_t i = 0; i < data.size(); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	for (size_t n : test_split_sizes()) {
		test_chain chain(data, n);
		struct amqp_cursor c;
		amqp_cur_init(&c, chain.segs(), chain.nsegs());
		ASSERT_EQ(amqp_cur_left(&c), data.size());
		EXPECT_EQ(amqp_cur_u8(&c), data[0]);
		EXPECT_EQ(amqp_cur_be16(&c), (data[1] << 8) | data[2]);
		uint32_t be32 = ((uint32_t)data[3] << 24) | (data[4] << 16) | (data[5] << 8) | data[6];
		EXPECT_EQ(amqp_cur_be32(&c), be32) << "split " << n;
		struct amqp_bytes b;
		amqp_cur_take(&c, 100, &b);
		EXPECT_TRUE(amqp_bytes_eq(&b, data.data() + 7, 100)) << "split " << n;
		EXPECT_FALSE(amqp_bytes_eq(&b, data.data() + 8, 100));
		EXPECT_TRUE(amqp_bytes_has_prefix(&b, data.data() + 7, 50));
		std::vector<uint8_t> out(100);
		EXPECT_EQ(amqp_bytes_copy(&b, out.data(), out.size()), 100u);
		EXPECT_EQ(0, memcmp(out.data(), data.data() + 7, 100));
		struct amqp_cursor sub;
		amqp_cur_split(&c, 50, &sub);
		EXPECT_EQ(amqp_cur_left(&sub), 50u);
		EXPECT_EQ(amqp_cur_pos(&sub), 107u);
		amqp_cur_skip(&sub, 49);
		EXPECT_EQ(amqp_cur_u8(&sub), data[156]);
		EXPECT_EQ(amqp_cur_left(&sub), 0u);
		EXPECT_EQ(amqp_cur_peek(&c), data[157]) << "split " << n;
		amqp_cur_skip(&c, data.size() - 158);
		EXPECT_EQ(amqp_cur_u8(&c), data.back());
		EXPECT_EQ(amqp_cur_left(&c), 0u);
	}
}

TEST(AmqpBuf, EmptySegmentsAreSkipped)
{
	const uint8_t a[] = {1, 2}, b[] = {3, 4, 5};
	struct amqp_seg segs[] = {{a, 0}, {a, 2}, {b, 0}, {b, 0}, {b, 3}, {a, 0}};
	struct amqp_cursor c;
	amqp_cur_init(&c, segs, 6);
	ASSERT_EQ(amqp_cur_left(&c), 5u);
	EXPECT_EQ(amqp_cur_be32(&c), 0x01020304u);
	EXPECT_EQ(amqp_cur_u8(&c), 5);
	EXPECT_EQ(amqp_cur_left(&c), 0u);
}
