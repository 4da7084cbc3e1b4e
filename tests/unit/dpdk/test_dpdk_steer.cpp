// Software flow steering (drivers/dpdk/drv_dpdk_steer.h): the hash is
// DPDK's rte_softrss() and the Toeplitz function of the RSS spec, it is
// symmetric, it spreads flows evenly, and pick_sport lands on the wanted
// worker. No EAL: rte_softrss is an inline function over the caller's key
// (this executable never calls rte_eal_init, which shows it).
#include <gtest/gtest.h>

#include <errno.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "dpdk_softrss_oracle.h"
#include "drv_dpdk_steer.h"

namespace
{

// The Toeplitz hash written from the Microsoft RSS specification ("Verifying
// the RSS hash calculation"), bit by bit: for each set bit of the input
// (most significant first) XOR in the 32 key bits starting at that bit.
uint32_t toeplitz_ref(const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len)
{
	uint32_t result = 0;
	for (size_t bit = 0; bit < in_len * 8; bit++) {
		if (!(in[bit / 8] & (0x80u >> (bit % 8))))
			continue;
		uint32_t window = 0;
		for (size_t k = 0; k < 32; k++) {
			size_t kb = bit + k;
			uint32_t b = kb / 8 < key_len ? (key[kb / 8] >> (7 - kb % 8)) & 1u : 0u;
			window = (window << 1) | b;
		}
		result ^= window;
	}
	return result;
}

// the input as on the wire (RSS spec): src addr, dst addr, src port, dst port
uint32_t toeplitz_tuple(const uint8_t *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
			uint16_t dport)
{
	uint8_t in[12] = {uint8_t(saddr >> 24), uint8_t(saddr >> 16), uint8_t(saddr >> 8),
			  uint8_t(saddr),	uint8_t(daddr >> 24), uint8_t(daddr >> 16),
			  uint8_t(daddr >> 8),	uint8_t(daddr),	      uint8_t(sport >> 8),
			  uint8_t(sport),	uint8_t(dport >> 8),  uint8_t(dport)};
	return toeplitz_ref(key, DRV_DPDK_STEER_KEY_LEN, in, sizeof in);
}

uint32_t softrss_tuple(const uint8_t *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
		       uint16_t dport)
{
	return dpdk_oracle_softrss_v4(key, saddr, daddr, sport, dport);
}

constexpr uint32_t ipv4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (a << 24) | (b << 16) | (c << 8) | d;
}

struct steer_fixture : ::testing::Test {
	drv_dpdk_steer s{};
	std::mt19937_64 rng{20261201};
	uint32_t r32() { return uint32_t(rng()); }
	uint16_t r16() { return uint16_t(rng()); }
};

} // namespace

TEST_F(steer_fixture, InitRejectsBadSizes)
{
	EXPECT_EQ(drv_dpdk_steer_init(&s, 0, 128), -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_init(&s, DRV_DPDK_STEER_WORKERS_MAX + 1, 512), -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_init(&s, 2, 100), -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_init(&s, 2, 1024), -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_init(&s, 2, 32), -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_init(&s, 65, 64), -EINVAL);
	ASSERT_EQ(drv_dpdk_steer_init(&s, 3, 0), 0);
	EXPECT_EQ(s.reta_size, 128u);
	ASSERT_EQ(drv_dpdk_steer_init(&s, 4, 512), 0);
	EXPECT_EQ(s.reta_size, 512u);
	EXPECT_EQ(s.nworkers, 4u);
	for (unsigned i = 0; i < s.reta_size; i++)
		ASSERT_EQ(s.reta[i], i % 4) << i;
	for (unsigned i = 0; i < DRV_DPDK_STEER_KEY_LEN; i++)
		ASSERT_EQ(s.key[i], i % 2 ? 0x5a : 0x6d) << i;
}

TEST_F(steer_fixture, KeyFillForOtherKeySizes)
{
	ASSERT_EQ(drv_dpdk_steer_init(&s, 4, 128), 0);
	uint8_t k52[52 + 1];
	memset(k52, 0xee, sizeof k52);
	drv_dpdk_steer_key_fill(k52, 52);
	EXPECT_EQ(memcmp(k52, s.key, DRV_DPDK_STEER_KEY_LEN), 0);
	for (unsigned i = 0; i < 52; i++)
		ASSERT_EQ(k52[i], i % 2 ? 0x5a : 0x6d) << i;
	EXPECT_EQ(k52[52], 0xee) << "wrote past len";
	// the hash over the longer key is the same (the spec's function reads
	// 12 + 4 bytes of key for an IPv4 4-tuple)
	uint8_t in[12] = {10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0x16, 0x28};
	EXPECT_EQ(toeplitz_ref(k52, 52, in, sizeof in),
		  drv_dpdk_steer_hash(&s, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 40000, 5672));
}

// The layout of the tuple and the key's byte order are those of a NIC: the
// RSS spec's published IPv4 TCP verification vectors with its sample key.
TEST_F(steer_fixture, MatchesRssSpecVectorsWithTheSampleKey)
{
	static const uint8_t ms_key[DRV_DPDK_STEER_KEY_LEN] = {
	    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
	ASSERT_EQ(drv_dpdk_steer_init(&s, 1, 128), 0);
	memcpy(s.key, ms_key, sizeof ms_key);
	struct {
		uint32_t src, dst;
		uint16_t sport, dport;
		uint32_t hash;
	} v[] = {
	    {ipv4(66, 9, 149, 187), ipv4(161, 142, 100, 80), 2794, 1766, 0x51ccc178},
	    {ipv4(199, 92, 111, 2), ipv4(65, 69, 140, 83), 14230, 4739, 0xc626b0ea},
	    {ipv4(24, 19, 198, 95), ipv4(12, 22, 207, 184), 12898, 38024, 0x5c2b394a},
	    {ipv4(38, 27, 205, 30), ipv4(209, 142, 163, 6), 48228, 2217, 0xafc7327f},
	    {ipv4(153, 39, 163, 191), ipv4(202, 188, 127, 2), 44251, 1303, 0x10e828a2},
	};
	for (auto &t : v) {
		EXPECT_EQ(drv_dpdk_steer_hash(&s, t.src, t.dst, t.sport, t.dport), t.hash);
		EXPECT_EQ(toeplitz_tuple(ms_key, t.src, t.dst, t.sport, t.dport), t.hash);
		EXPECT_EQ(softrss_tuple(ms_key, t.src, t.dst, t.sport, t.dport), t.hash);
	}
}

TEST_F(steer_fixture, EqualsSoftrssAndTheSpecForRandomTuples)
{
	for (unsigned n : {1u, 2u, 3u, 4u}) {
		for (unsigned reta : {128u, 512u}) {
			ASSERT_EQ(drv_dpdk_steer_init(&s, n, reta), 0);
			for (int i = 0; i < 20000; i++) {
				uint32_t a = r32(), b = r32();
				uint16_t p = r16(), q = r16();
				uint32_t h = drv_dpdk_steer_hash(&s, a, b, p, q);
				ASSERT_EQ(h, softrss_tuple(s.key, a, b, p, q));
				if (i < 2000) {
					ASSERT_EQ(h, toeplitz_tuple(s.key, a, b, p, q));
				}
				ASSERT_EQ(drv_dpdk_steer_worker(&s, a, b, p, q),
					  s.reta[h & (reta - 1)]);
				ASSERT_EQ(drv_dpdk_steer_worker(&s, a, b, p, q), h % reta % n);
				ASSERT_EQ(drv_dpdk_steer_worker_of_hash(&s, h),
					  drv_dpdk_steer_worker(&s, a, b, p, q));
			}
		}
	}
}

TEST_F(steer_fixture, Symmetric)
{
	ASSERT_EQ(drv_dpdk_steer_init(&s, 4, 512), 0);
	for (int i = 0; i < 100000; i++) {
		uint32_t a = r32(), b = r32();
		uint16_t p = r16(), q = r16();
		ASSERT_EQ(drv_dpdk_steer_hash(&s, a, b, p, q), drv_dpdk_steer_hash(&s, b, a, q, p));
		ASSERT_EQ(drv_dpdk_steer_worker_l3(&s, a, b), drv_dpdk_steer_worker_l3(&s, b, a));
	}
	// and it is not symmetric by accident of the test: a key that is not
	// 16-bit periodic breaks it for most tuples
	s.key[3] ^= 0x01;
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint32_t a = r32(), b = r32();
		uint16_t p = r16(), q = r16();
		differ +=
		    drv_dpdk_steer_hash(&s, a, b, p, q) != drv_dpdk_steer_hash(&s, b, a, q, p);
	}
	EXPECT_GT(differ, 900);
}

namespace
{
// share of each worker over count flows produced by gen; each must be within
// tol (relative) of 1/n
template <class Gen> void expect_even(drv_dpdk_steer &s, unsigned n, int count, double tol, Gen gen)
{
	std::vector<int> per(n, 0);
	for (int i = 0; i < count; i++)
		per[gen(i)]++;
	double expect = double(count) / n;
	for (unsigned w = 0; w < n; w++)
		EXPECT_NEAR(per[w], expect, expect * tol)
		    << "worker " << w << " of " << n << " reta " << s.reta_size;
}
} // namespace

// random tuples: binomial, sd ~ sqrt(100000/4) = 158 -> 3% of 25000 is ~5 sd
TEST_F(steer_fixture, EvenSpreadOverRandomTuples)
{
	for (unsigned n : {2u, 4u}) {
		for (unsigned reta : {128u, 512u}) {
			ASSERT_EQ(drv_dpdk_steer_init(&s, n, reta), 0);
			expect_even(s, n, 100000, 0.03, [&](int) {
				return drv_dpdk_steer_worker(&s, r32(), r32(), r16(), r16());
			});
		}
	}
}

// what a router sees: one server address and port, a few clients, their
// ephemeral ports in sequence (Linux hands them out in steps of 1 or 2)
TEST_F(steer_fixture, EvenSpreadOverSequentialClientPorts)
{
	const uint32_t srv = ipv4(10, 77, 0, 2);
	for (unsigned n : {2u, 4u}) {
		ASSERT_EQ(drv_dpdk_steer_init(&s, n, 128), 0);
		for (unsigned step : {1u, 2u}) {
			for (uint32_t cli : {ipv4(10, 77, 0, 1), ipv4(192, 168, 1, 33)}) {
				expect_even(s, n, 16384, 0.02, [&](int i) {
					return drv_dpdk_steer_worker(
					    &s, cli, srv, uint16_t(32768 + step * unsigned(i)),
					    5672);
				});
			}
		}
	}
}

namespace
{
struct taken_ports {
	std::set<uint16_t> taken;
	int calls = 0;
};
int port_free_cb(void *arg, uint16_t sport)
{
	auto *t = static_cast<taken_ports *>(arg);
	t->calls++;
	return t->taken.count(sport) == 0;
}
} // namespace

TEST_F(steer_fixture, PickSportLandsOnTheWantedWorker)
{
	for (unsigned n : {1u, 2u, 3u, 4u}) {
		ASSERT_EQ(drv_dpdk_steer_init(&s, n, n == 3 ? 512 : 128), 0);
		for (int i = 0; i < 5000; i++) {
			uint32_t l = r32(), r = r32();
			uint16_t rport = r16();
			unsigned w = unsigned(rng() % n);
			uint16_t start = uint16_t(32768 + rng() % 28232);
			int p = drv_dpdk_steer_pick_sport(&s, l, r, rport, w, 32768, 60999, start,
							  nullptr, nullptr);
			ASSERT_GE(p, 32768);
			ASSERT_LE(p, 60999);
			// the connection's own packets and the replies both land on w
			ASSERT_EQ(drv_dpdk_steer_worker(&s, l, r, uint16_t(p), rport), w);
			ASSERT_EQ(drv_dpdk_steer_worker(&s, r, l, rport, uint16_t(p)), w);
			ASSERT_EQ(softrss_tuple(s.key, r, l, rport, uint16_t(p)) % s.reta_size % n,
				  w);
			// bounded: the first port from start that steers to w
			for (int q = start; q < p; q++)
				ASSERT_NE(drv_dpdk_steer_worker(&s, l, r, uint16_t(q), rport), w);
		}
	}
}

TEST_F(steer_fixture, PickSportSkipsTakenPortsAndWraps)
{
	ASSERT_EQ(drv_dpdk_steer_init(&s, 2, 128), 0);
	const uint32_t l = ipv4(10, 0, 0, 1), r = ipv4(10, 0, 0, 2);
	taken_ports t;
	// take every port the search would return, one after the other, until
	// the range is exhausted for worker 1: every returned port is new,
	// steers to 1, and the count equals the ports of the range that steer to 1
	int expect = 0;
	for (unsigned p = 40000; p <= 40199; p++)
		expect += drv_dpdk_steer_worker(&s, l, r, uint16_t(p), 5672) == 1;
	ASSERT_GT(expect, 60);
	ASSERT_LT(expect, 140);
	uint16_t cursor = 40150;
	int got = 0;
	for (;;) {
		int p = drv_dpdk_steer_pick_sport(&s, l, r, 5672, 1, 40000, 40199, cursor,
						  port_free_cb, &t);
		if (p < 0) {
			EXPECT_EQ(p, -EADDRNOTAVAIL);
			break;
		}
		ASSERT_EQ(drv_dpdk_steer_worker(&s, l, r, uint16_t(p), 5672), 1u);
		ASSERT_TRUE(t.taken.insert(uint16_t(p)).second) << "port " << p << " twice";
		cursor = uint16_t(p + 1);
		ASSERT_LE(++got, 200);
	}
	EXPECT_EQ(got, expect);
	// the search wrapped: ports below the first cursor were handed out too
	EXPECT_LT(*t.taken.begin(), 40150);
	// a start outside the range is clamped to lo
	int p = drv_dpdk_steer_pick_sport(&s, l, r, 5672, 0, 40000, 40199, 1, nullptr, nullptr);
	ASSERT_GE(p, 40000);
	for (int q = 40000; q < p; q++)
		EXPECT_NE(drv_dpdk_steer_worker(&s, l, r, uint16_t(q), 5672), 0u);
}

TEST_F(steer_fixture, PickSportErrors)
{
	ASSERT_EQ(drv_dpdk_steer_init(&s, 2, 128), 0);
	const uint32_t l = ipv4(10, 0, 0, 1), r = ipv4(10, 0, 0, 2);
	EXPECT_EQ(drv_dpdk_steer_pick_sport(&s, l, r, 5672, 2, 1024, 2047, 0, nullptr, nullptr),
		  -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_pick_sport(&s, l, r, 5672, 0, 2048, 2047, 0, nullptr, nullptr),
		  -EINVAL);
	EXPECT_EQ(drv_dpdk_steer_pick_sport(&s, l, r, 5672, 0, 0, 10, 0, nullptr, nullptr),
		  -EINVAL);
	// a one-port range whose port steers to the other worker
	uint16_t p = 50000;
	unsigned w = drv_dpdk_steer_worker(&s, l, r, p, 5672);
	EXPECT_EQ(drv_dpdk_steer_pick_sport(&s, l, r, 5672, 1 - w, p, p, p, nullptr, nullptr),
		  -EADDRNOTAVAIL);
	EXPECT_EQ(drv_dpdk_steer_pick_sport(&s, l, r, 5672, w, p, p, p, nullptr, nullptr), p);
	// the whole port space (lo 1, hi 65535) terminates
	taken_ports all;
	for (unsigned q = 1; q <= 65535; q++)
		all.taken.insert(uint16_t(q));
	EXPECT_EQ(drv_dpdk_steer_pick_sport(&s, l, r, 5672, 0, 1, 65535, 0, port_free_cb, &all),
		  -EADDRNOTAVAIL);
	EXPECT_GT(all.calls, 20000);
	EXPECT_LE(all.calls, 65535);
}
