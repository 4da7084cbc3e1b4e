// bench_hist: the latency histogram's layout (3 significant digits from
// 1 ns to 100 s), quantiles by nearest rank, merging, and the CDF the
// result line carries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "bench_hist.h"

namespace {

struct Hist {
	bench_hist h;
	Hist() { EXPECT_TRUE(bench_hist_init(&h)); }
	~Hist() { bench_hist_free(&h); }
};

TEST(BenchHist, IndexRangesTileTheValuesInOrder)
{
	// every index's range starts one past the previous one's end
	size_t n = bench_hist_len();
	uint64_t expect_low = 0;
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(bench_hist_lowest(i), expect_low) << i;
		ASSERT_GE(bench_hist_highest(i), bench_hist_lowest(i));
		expect_low = bench_hist_highest(i) + 1;
	}
	EXPECT_GT(expect_low, BENCH_HIST_MAX_NS);
}

TEST(BenchHist, EveryValueInItsOwnRangeWithThreeDigits)
{
	std::mt19937_64 rng(7);
	for (int k = 0; k < 200000; k++) {
		// log-uniform over 1 ns .. 100 s
		double e = std::uniform_real_distribution<double>(0, 11)(rng);
		uint64_t v = (uint64_t)std::pow(10.0, e);
		size_t i = bench_hist_index(v);
		ASSERT_LE(bench_hist_lowest(i), v) << v;
		ASSERT_GE(bench_hist_highest(i), v) << v;
		// the range is at most 1/1000 of its values: 3 significant digits
		uint64_t width = bench_hist_highest(i) - bench_hist_lowest(i) + 1;
		ASSERT_LE((double)width, std::max(1.0, (double)v / 1000.0)) << v;
	}
	for (uint64_t v = 0; v < 4096; v++) // exact below 2048, width 2 above
		ASSERT_LE(bench_hist_highest(bench_hist_index(v)) - v, v < 2048 ? 0u : 1u) << v;
}

TEST(BenchHist, QuantilesAreNearestRank)
{
	Hist a;
	for (uint64_t v = 1; v <= 1000; v++)
		bench_hist_record(&a.h, v * 1000); // 1 us .. 1 ms
	EXPECT_EQ(a.h.total, 1000u);
	EXPECT_EQ(a.h.min, 1000u);
	EXPECT_EQ(a.h.max, 1000000u);
	// the 500th value is 500 us; the bucket's top is within 0.1 %
	uint64_t p50 = bench_hist_quantile(&a.h, 0.5);
	EXPECT_GE(p50, 500000u);
	EXPECT_LE(p50, 500500u);
	uint64_t p99 = bench_hist_quantile(&a.h, 0.99);
	EXPECT_GE(p99, 990000u);
	EXPECT_LE(p99, 991000u);
	EXPECT_EQ(bench_hist_quantile(&a.h, 1.0), 1000000u);
	EXPECT_EQ(bench_hist_quantile(&a.h, 0.0), 1000u);
	EXPECT_NEAR(bench_hist_mean(&a.h), 500500.0, 0.5);
}

TEST(BenchHist, OneOutlierIsTheMaxNotTheP99)
{
	Hist a;
	for (int i = 0; i < 999; i++)
		bench_hist_record(&a.h, 2000000); // 2 ms
	bench_hist_record(&a.h, 1500000000); // 1.5 s
	EXPECT_LE(bench_hist_quantile(&a.h, 0.99), 2002000u);
	EXPECT_EQ(bench_hist_quantile(&a.h, 0.999), bench_hist_quantile(&a.h, 0.99));
	EXPECT_EQ(a.h.max, 1500000000u);
	EXPECT_GE(bench_hist_quantile(&a.h, 0.9995), 1500000000u);
}

TEST(BenchHist, MergeEqualsRecordingEverything)
{
	Hist a, b, all;
	std::mt19937_64 rng(3);
	for (int k = 0; k < 50000; k++) {
		uint64_t v = rng() % 100000000;
		bench_hist_record(k % 2 ? &a.h : &b.h, v);
		bench_hist_record(&all.h, v);
	}
	bench_hist_merge(&a.h, &b.h);
	EXPECT_EQ(a.h.total, all.h.total);
	EXPECT_EQ(a.h.min, all.h.min);
	EXPECT_EQ(a.h.max, all.h.max);
	for (double q : {0.1, 0.5, 0.9, 0.99, 0.999})
		EXPECT_EQ(bench_hist_quantile(&a.h, q), bench_hist_quantile(&all.h, q)) << q;
	Hist empty;
	bench_hist_merge(&a.h, &empty.h); // an empty one changes nothing
	EXPECT_EQ(a.h.min, all.h.min);
}

TEST(BenchHist, ClampsAbove100s)
{
	Hist a;
	bench_hist_record(&a.h, 500ull * 1000000000ull);
	EXPECT_EQ(a.h.clamped, 1u);
	EXPECT_EQ(a.h.max, 500ull * 1000000000ull); // the exact max is kept
}

TEST(BenchHist, CdfIsBoundedAscendingAndEndsAtOne)
{
	Hist a;
	std::mt19937_64 rng(11);
	for (int k = 0; k < 100000; k++)
		bench_hist_record(&a.h, 1000 + rng() % 5000000);
	uint64_t v[BENCH_HIST_CDF_MAX];
	double f[BENCH_HIST_CDF_MAX];
	size_t n = bench_hist_cdf(&a.h, v, f, BENCH_HIST_CDF_MAX);
	ASSERT_GE(n, 100u);
	ASSERT_LE(n, (size_t)BENCH_HIST_CDF_MAX);
	for (size_t i = 1; i < n; i++) {
		EXPECT_GT(f[i], f[i - 1]) << i;
		EXPECT_GE(v[i], v[i - 1]) << i;
	}
	EXPECT_EQ(f[n - 1], 1.0);
	EXPECT_EQ(v[n - 1], a.h.max);
	EXPECT_EQ(v[0], a.h.min);
	// a smaller cap is honoured, still ending at 1.0
	size_t m = bench_hist_cdf(&a.h, v, f, 10);
	EXPECT_EQ(m, 10u);
	EXPECT_EQ(f[m - 1], 1.0);
	Hist empty;
	EXPECT_EQ(bench_hist_cdf(&empty.h, v, f, BENCH_HIST_CDF_MAX), 0u);
}

} // namespace
