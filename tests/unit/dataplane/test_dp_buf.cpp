// dp_buf: reference-counted blocks, chains of slices, the output block.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

// dp_buf.h's flexible array member (struct dp_block) is not ISO C++:
// -Wpedantic (warning_level=3) rejects it in C++ (reported to the lead)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include "dp_buf.h"
#pragma GCC diagnostic pop

namespace {

struct pool {
	struct dp_block_pool p;
	uint64_t free0;
	pool() : p()
	{
		EXPECT_EQ(dp_block_pool_init(&p, 256, 0), 0);
		free0 = p.blocks_free;
	}
	~pool() { dp_block_pool_fini(&p); }
	// the pool's "current" output block holds a reference
	void drop_current()
	{
		if (p.out_cur) {
			dp_block_unref(&p, p.out_cur);
			p.out_cur = nullptr;
		}
	}
};

std::vector<uint8_t> contents(const struct dp_chain *c)
{
	std::vector<uint8_t> v(c->len);
	dp_chain_copy_out(c, 0, v.data(), c->len);
	return v;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed)
{
	std::vector<uint8_t> v(n);
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(seed + i * 7);
	return v;
}

// A chain of `n` slices of `each` bytes, every one in its own block.
void make_chain(struct dp_block_pool *p, struct dp_chain *c, const std::vector<uint8_t> &data,
		size_t each)
{
	dp_chain_init(c);
	for (size_t off = 0; off < data.size(); off += each) {
		size_t k = std::min(each, data.size() - off);
		struct dp_block *b = dp_block_get(p);
		ASSERT_NE(b, nullptr);
		memcpy(b->data + 3, data.data() + off, k); // not at offset 0
		b->used = (uint32_t)(3 + k);
		ASSERT_EQ(dp_chain_push(c, b, 3, (uint32_t)k), 0);
		dp_block_unref(p, b); // the chain's reference remains
	}
}

} // namespace

TEST(DpBuf, BlocksGoBackToThePool)
{
	pool t;
	EXPECT_EQ(t.p.blocks_total, 256u);
	struct dp_block *b = dp_block_get(&t.p);
	ASSERT_NE(b, nullptr);
	EXPECT_EQ(b->refs, 1u);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total - 1);
	dp_block_ref(b);
	dp_block_unref(&t.p, b);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total - 1) << "one reference left";
	dp_block_unref(&t.p, b);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
}

TEST(DpBuf, PoolLimit)
{
	struct dp_block_pool p;
	ASSERT_EQ(dp_block_pool_init(&p, 256, 256), 0);
	std::vector<struct dp_block *> got;
	for (int i = 0; i < 300; i++) {
		struct dp_block *b = dp_block_get(&p);
		if (b == nullptr)
			break;
		got.push_back(b);
	}
	EXPECT_EQ(got.size(), 256u) << "no growth past max_blocks";
	for (auto b : got)
		dp_block_unref(&p, b);
	EXPECT_EQ(p.blocks_free, 256u);
	dp_block_pool_fini(&p);
}

TEST(DpBuf, PushMergesAdjacentSlices)
{
	pool t;
	struct dp_chain c;
	dp_chain_init(&c);
	struct dp_block *b = dp_block_get(&t.p);
	ASSERT_EQ(dp_chain_push(&c, b, 0, 10), 0);
	ASSERT_EQ(dp_chain_push(&c, b, 10, 5), 0);
	EXPECT_EQ(c.n, 1u) << "contiguous bytes of one block extend the slice";
	EXPECT_EQ(b->refs, 2u) << "and take no new reference";
	ASSERT_EQ(dp_chain_push(&c, b, 20, 5), 0);
	EXPECT_EQ(c.n, 2u);
	EXPECT_EQ(b->refs, 3u);
	EXPECT_EQ(c.len, 20u);
	dp_block_unref(&t.p, b);
	dp_chain_clear(&t.p, &c);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
}

TEST(DpBuf, ConsumeAcrossSlices)
{
	for (size_t each : {1, 2, 3, 5, 7, 1460}) {
		SCOPED_TRACE(each);
		pool t;
		auto data = pattern(3000, 1);
		struct dp_chain c;
		make_chain(&t.p, &c, data, each);
		EXPECT_EQ(c.len, data.size());
		size_t gone = 0;
		for (size_t step : {0, 1, 4, 1459, 1, 500}) {
			dp_chain_consume(&t.p, &c, step);
			gone += step;
			ASSERT_EQ(c.len, data.size() - gone);
			EXPECT_EQ(contents(&c), std::vector<uint8_t>(data.begin() + gone, data.end()));
		}
		dp_chain_consume(&t.p, &c, c.len);
		EXPECT_EQ(c.len, 0u);
		EXPECT_EQ(c.n, 0u);
		dp_chain_clear(&t.p, &c);
		EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
	}
}

TEST(DpBuf, AppendRangeSharesBlocks)
{
	for (size_t each : {1, 2, 3, 5, 7, 1460}) {
		SCOPED_TRACE(each);
		pool t;
		auto data = pattern(2000, 9);
		struct dp_chain src, dst;
		make_chain(&t.p, &src, data, each);
		dp_chain_init(&dst);
		ASSERT_EQ(dp_chain_append_range(&dst, &src, 333, 1000), 0);
		EXPECT_EQ(contents(&dst),
			  std::vector<uint8_t>(data.begin() + 333, data.begin() + 1333));
		ASSERT_EQ(dp_chain_append_range(&dst, &src, 1999, 1), 0);
		EXPECT_EQ(dst.len, 1001u);
		EXPECT_NE(dp_chain_append_range(&dst, &src, 1500, 501), 0) << "past the end";
		dp_chain_clear(&t.p, &src);
		EXPECT_LT(t.p.blocks_free, t.p.blocks_total) << "dst still holds its blocks";
		dp_chain_clear(&t.p, &dst);
		EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
	}
}

TEST(DpBuf, SegsAndCopyOut)
{
	pool t;
	auto data = pattern(100, 3);
	struct dp_chain c;
	make_chain(&t.p, &c, data, 7);
	struct amqp_seg segs[32];
	EXPECT_EQ(dp_chain_segs(&c, segs, 10), -1) << "15 slices do not fit 10";
	int n = dp_chain_segs(&c, segs, 32);
	ASSERT_EQ(n, 15);
	std::vector<uint8_t> joined;
	for (int i = 0; i < n; i++)
		joined.insert(joined.end(), segs[i].data, segs[i].data + segs[i].len);
	EXPECT_EQ(joined, data);
	uint8_t mid[20];
	dp_chain_copy_out(&c, 40, mid, 20);
	EXPECT_EQ(std::vector<uint8_t>(mid, mid + 20),
		  std::vector<uint8_t>(data.begin() + 40, data.begin() + 60));
	dp_chain_clear(&t.p, &c);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
}

TEST(DpBuf, MoveLeavesSourceEmpty)
{
	pool t;
	auto a = pattern(30, 1), b = pattern(40, 2);
	struct dp_chain x, y;
	make_chain(&t.p, &x, a, 3);
	make_chain(&t.p, &y, b, 5);
	ASSERT_EQ(dp_chain_move(&x, &y), 0);
	EXPECT_EQ(y.len, 0u);
	EXPECT_EQ(y.n, 0u);
	auto both = a;
	both.insert(both.end(), b.begin(), b.end());
	EXPECT_EQ(contents(&x), both);
	dp_chain_clear(&t.p, &x);
	dp_chain_clear(&t.p, &y);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
}

TEST(DpBuf, OutputBlockReserveCommitAndCopy)
{
	pool t;
	struct dp_chain out;
	dp_chain_init(&out);
	uint8_t *w = dp_out_reserve(&t.p, 100);
	ASSERT_NE(w, nullptr);
	memcpy(w, "hello", 5);
	ASSERT_EQ(dp_out_commit(&t.p, &out, 5), 0);
	uint8_t *w2 = dp_out_reserve(&t.p, 100);
	EXPECT_EQ(w2, w + 5) << "the next encoding follows the last one, no padding";
	memcpy(w2, " you", 4);
	ASSERT_EQ(dp_out_commit(&t.p, &out, 4), 0);
	EXPECT_EQ(out.n, 1u) << "frames written one after another are one slice";
	EXPECT_EQ(contents(&out), (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'y', 'o', 'u'}));
	// a copy larger than a block spans blocks
	auto big = pattern(DP_BLOCK_DATA + 5000, 5);
	ASSERT_EQ(dp_chain_append_copy(&t.p, &out, big.data(), big.size()), 0);
	auto want = std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'y', 'o', 'u'};
	want.insert(want.end(), big.begin(), big.end());
	EXPECT_EQ(contents(&out), want);
	struct iovec iov[8];
	int n = dp_chain_iov(&out, iov, 8);
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	EXPECT_EQ(total, want.size());
	dp_chain_clear(&t.p, &out);
	t.drop_current();
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
}

TEST(DpBuf, ManySlicesSpillToTheHeapAndBack)
{
	pool t;
	auto data = pattern(1000, 4);
	struct dp_chain c;
	make_chain(&t.p, &c, data, 3); // 334 slices: past the inline ones
	EXPECT_GT(c.cap, (uint32_t)DP_CHAIN_INLINE);
	EXPECT_EQ(contents(&c), data);
	dp_chain_clear(&t.p, &c);
	EXPECT_EQ(c.s, c.inl);
	EXPECT_EQ(t.p.blocks_free, t.p.blocks_total);
}
