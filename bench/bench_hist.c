/* bench_hist: see bench_hist.h for the layout (HdrHistogram's log-linear
 * scheme with a unit of 1 ns). */
#include "bench_hist.h"

#include <stdlib.h>
#include <string.h>

#define SUB_HALF_MAG 10 /* 1024 = half the 2048 sub-buckets */
#define SUB_HALF     (1u << SUB_HALF_MAG)
#define SUB_MASK     ((uint64_t)(2 * SUB_HALF) - 1)
/* Buckets until 2048 << (n - 1) exceeds 100 s: 2048 << 26 = 1.37e11. */
#define BUCKETS 27

size_t bench_hist_len(void)
{
	return (size_t)(BUCKETS + 1) * SUB_HALF;
}

bool bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof *h);
	h->counts = calloc(bench_hist_len(), sizeof *h->counts);
	h->min = UINT64_MAX;
	return h->counts != NULL;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h->counts, 0, bench_hist_len() * sizeof *h->counts);
	h->total = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
	h->clamped = 0;
}

static unsigned bucket_of(uint64_t v)
{
	/* The power of two above v, less the sub-bucket magnitude: values
	 * below 2048 land in bucket 0 (unit-wide sub-buckets). */
	return (unsigned)(64 - __builtin_clzll(v | SUB_MASK)) - (SUB_HALF_MAG + 1);
}

size_t bench_hist_index(uint64_t ns)
{
	if (ns > BENCH_HIST_MAX_NS)
		ns = BENCH_HIST_MAX_NS;
	unsigned b = bucket_of(ns);
	uint64_t sub = ns >> b; /* in [1024, 2048) for b > 0, [0, 2048) for b 0 */
	return ((size_t)(b + 1) << SUB_HALF_MAG) + (size_t)(sub - SUB_HALF);
}

uint64_t bench_hist_lowest(size_t index)
{
	size_t b = (index >> SUB_HALF_MAG);
	uint64_t sub = (index & (SUB_HALF - 1)) + SUB_HALF;
	if (b == 0) { /* the lower half of bucket 0: values 0..1023 */
		b = 1;
		sub -= SUB_HALF;
	}
	return sub << (b - 1);
}

uint64_t bench_hist_highest(size_t index)
{
	size_t b = index >> SUB_HALF_MAG;
	unsigned shift = b ? (unsigned)(b - 1) : 0;
	return bench_hist_lowest(index) + ((uint64_t)1 << shift) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t ns)
{
	if (ns > BENCH_HIST_MAX_NS)
		h->clamped++;
	h->counts[bench_hist_index(ns)]++;
	h->total++;
	h->sum += (double)ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	size_t n = bench_hist_len();
	for (size_t i = 0; i < n; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	dst->clamped += src->clamped;
	if (src->total) {
		if (src->min < dst->min)
			dst->min = src->min;
		if (src->max > dst->max)
			dst->max = src->max;
	}
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->total ? h->sum / (double)h->total : 0;
}

static uint64_t clamp_range(const struct bench_hist *h, uint64_t v)
{
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return v;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
	if (h->total == 0)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* nearest rank: the k-th smallest sample, k = ceil(q * total) */
	double kd = q * (double)h->total;
	uint64_t k = (uint64_t)kd;
	if ((double)k < kd)
		k++;
	if (k == 0)
		k = 1;
	uint64_t cum = 0;
	size_t n = bench_hist_len();
	for (size_t i = 0; i < n; i++) {
		cum += h->counts[i];
		if (cum >= k)
			return clamp_range(h, bench_hist_highest(i));
	}
	return h->max;
}

size_t bench_hist_cdf(const struct bench_hist *h, uint64_t *values, double *fractions, size_t max)
{
	if (h->total == 0 || max < 2)
		return 0;
	if (max > BENCH_HIST_CDF_MAX)
		max = BENCH_HIST_CDF_MAX;
	/* Quantiles: every percent, then the tail in decades (99.1 .. 99.9,
	 * 99.91 .. 99.99, 99.991 .. 99.999), then 1.0: 127 points at most,
	 * denser where a latency plot with a log tail axis needs them. */
	double qs[BENCH_HIST_CDF_MAX];
	size_t nq = 0;
	for (int i = 1; i <= 99; i++)
		qs[nq++] = i / 100.0;
	double step = 0.001;
	for (int d = 0; d < 3; d++, step /= 10)
		for (int i = 1; i <= 9; i++)
			qs[nq++] = 1.0 - 10 * step + i * step;
	size_t out = 0;
	values[out] = h->min;
	fractions[out] = 1.0 / (double)h->total; /* the smallest sample */
	out++;
	for (size_t i = 0; i < nq && out < max - 1; i++) {
		if (qs[i] <= fractions[out - 1] || qs[i] >= 1.0)
			continue;
		values[out] = bench_hist_quantile(h, qs[i]);
		fractions[out] = qs[i];
		out++;
	}
	if (fractions[out - 1] < 1.0) {
		values[out] = h->max;
		fractions[out] = 1.0;
		out++;
	}
	return out;
}
