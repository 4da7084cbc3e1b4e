// net_csum.h: RFC 1071 sum, chains with odd lengths, RFC 1624 incremental
// update, the TCP pseudo-header.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net_csum.h"

// RFC 1071 section 3 example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2
// (folded), checksum = ~ddf2 = 220d.
TEST(NetCsum, Rfc1071Example)
{
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	struct net_csum c;
	net_csum_init(&c);
	net_csum_add(&c, b, sizeof b);
	EXPECT_EQ(net_csum_fold(c.sum), 0xddf2);
	EXPECT_EQ(net_csum_buf(b, sizeof b), 0x220d);
}

// A real IPv4 header (checksum field b861): verifying over it gives 0.
TEST(NetCsum, Ipv4HeaderVerifies)
{
	uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	EXPECT_EQ(net_csum_buf(h, sizeof h), 0);
	h[10] = h[11] = 0;
	EXPECT_EQ(net_csum_buf(h, sizeof h), 0xb861);
}

TEST(NetCsum, OddTrailingByte)
{
	const uint8_t b[] = {0x12, 0x34, 0x56};
	// 0x1234 + 0x5600 = 0x6834 -> ~ = 0x97cb
	EXPECT_EQ(net_csum_buf(b, sizeof b), 0x97cb);
}

// Any split of a random buffer into a chain gives the flat checksum.
TEST(NetCsum, ChainEqualsFlat)
{
	std::mt19937 rng(7);
	for (int iter = 0; iter < 200; iter++) {
		size_t n = rng() % 300;
		std::vector<uint8_t> v(n);
		for (auto &x : v)
			x = (uint8_t)rng();
		uint16_t flat = net_csum_buf(v.data(), n);
		const void *bufs[8];
		size_t lens[8];
		unsigned k = 0;
		size_t off = 0;
		while (off < n && k < 7) {
			size_t l = rng() % (n - off + 1);
			bufs[k] = v.data() + off;
			lens[k++] = l;
			off += l;
		}
		bufs[k] = v.data() + off;
		lens[k++] = n - off;
		EXPECT_EQ(net_csum_chain(bufs, lens, k), flat) << "iter " << iter;
	}
}

TEST(NetCsum, IncrementalEqualsRecompute)
{
	std::mt19937 rng(11);
	for (int iter = 0; iter < 500; iter++) {
		uint8_t h[20];
		for (auto &x : h)
			x = (uint8_t)rng();
		h[10] = h[11] = 0;
		uint16_t hc = net_csum_buf(h, sizeof h);
		net_put16(h + 10, hc);
		unsigned field = (rng() % 9) * 2;
		if (field == 10)
			field = 8;
		uint16_t old_w = net_get16(h + field);
		uint16_t new_w = (uint16_t)rng();
		net_put16(h + field, new_w);
		uint16_t inc = net_csum_update16(hc, old_w, new_w);
		h[10] = h[11] = 0;
		uint16_t full = net_csum_buf(h, sizeof h);
		// 0x0000 and 0xffff are the same one's-complement value.
		EXPECT_EQ(inc == 0xffff ? 0 : inc, full == 0xffff ? 0 : full) << "iter " << iter;
	}
	// A 32-bit field (an address) changing.
	uint8_t h[20] = {0x45, 0, 0, 0x28, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
	uint16_t hc = net_csum_buf(h, sizeof h);
	net_put32(h + 12, 0xc0a80101);
	uint16_t full = net_csum_buf(h, sizeof h);
	EXPECT_EQ(net_csum_update32(hc, 0x0a000001, 0xc0a80101), full);
}

// TCP over IPv4: pseudo-header + header + data with the computed field
// verifies to 0; the folded pseudo sum is what offload expects.
TEST(NetCsum, TcpPseudoHeader)
{
	uint8_t seg[24] = {0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
			   0, 0, 0, 0, 'a', 'b', 'c', 'd'};
	uint32_t src = 0x7f000001, dst = 0x7f000002;
	struct net_csum c;
	net_csum_init(&c);
	net_csum_pseudo4(&c, src, dst, 6, sizeof seg);
	net_csum_add(&c, seg, sizeof seg);
	uint16_t ck = net_csum_finish(&c);
	net_put16(seg + 16, ck);
	net_csum_init(&c);
	net_csum_pseudo4(&c, src, dst, 6, sizeof seg);
	net_csum_add(&c, seg, sizeof seg);
	EXPECT_EQ(net_csum_finish(&c), 0);
	// Offload convention: field = folded pseudo sum; adding the rest then
	// complementing equals the software checksum.
	uint8_t seg2[sizeof seg];
	memcpy(seg2, seg, sizeof seg);
	net_put16(seg2 + 16, 0);
	struct net_csum d;
	net_csum_init(&d);
	net_csum_add16(&d, net_csum_pseudo4_folded(src, dst, 6, sizeof seg));
	net_csum_add(&d, seg2, sizeof seg2);
	EXPECT_EQ(net_csum_finish(&d), ck);
}

// net_csum_add sums the bulk as native 32-bit words: against RFC 1071's
// word-by-word definition over random chains (odd lengths and offsets,
// all-zero and all-ones runs, where a one's complement sum has two
// representations), the folded sums and the parity are equal.
TEST(NetCsum, WideSumEqualsWordByWord)
{
	std::mt19937 rng(1071);
	std::vector<uint8_t> v(1700);
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = rng() % 1600;
		for (auto &x : v)
			x = (uint8_t)rng();
		if (iter % 3 == 0)
			std::fill(v.begin(), v.end(), 0);
		if (iter % 5 == 0)
			std::fill(v.begin(), v.end(), 0xff);
		size_t start = rng() % 4; // misaligned starts too
		uint64_t ref = 0;
		bool odd = false;
		struct net_csum c;
		net_csum_init(&c);
		size_t off = 0;
		while (off < n) {
			size_t l = rng() % 4 == 0 ? rng() % 6 : rng() % (n - off + 1);
			if (l > n - off)
				l = n - off;
			const uint8_t *p = v.data() + start + off;
			net_csum_add(&c, p, l);
			for (size_t i = 0; i < l; i++) {
				ref += odd ? p[i] : (uint64_t)p[i] << 8;
				odd = !odd;
			}
			off += l;
		}
		ASSERT_EQ(net_csum_fold(c.sum), net_csum_fold(ref)) << "iter " << iter << " n " << n;
		ASSERT_EQ(c.odd, odd) << "iter " << iter;
	}
}
