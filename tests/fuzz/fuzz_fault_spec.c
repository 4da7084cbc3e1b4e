/* libFuzzer target: the dpdk driver's fault-injection spec parser
 * (drivers/dpdk/drv_dpdk_fault.c, drv_dpdk_fault_parse: the
 * dpdkFaultInjection config value), and the injector the parsed spec sets
 * up, on plain heap buffers (the file needs no DPDK: packets are opaque
 * pointers behind callbacks).
 *
 * Input: one byte choosing the error buffer's size (0, 1, 13, 20, 256),
 * then the spec up to the first NUL (copied into a block of exactly its
 * length + 1), then, after that NUL, one byte per burst for the injector:
 *   b & 7        packets in the burst (each a fresh malloc'd packet;
 *                every 5th is empty, so corrupt can refuse)
 *   (b >> 3) & 7 time passes before the burst: {0, 1 us, 100 us, 1 ms,
 *                2 ms, 10 ms, 1 s, 0}[...]
 *   b >> 6       out room beyond the minimum: 0, 1, 3, 16 slots
 *
 * Checks:
 *  - failure: the message is NUL-terminated in the buffer and starts with
 *    "fault spec: " when the buffer holds that; *out is not relied on;
 *  - success: probabilities in [0,1]; delay > 0 has a time; the reorder
 *    hold > 0; any == some probability > 0; a canonical spec written from
 *    the result parses to the same values (bit for bit);
 *  - the injector: every packet it emits is live and emitted once per
 *    burst; what comes in (plus duplicates) equals what goes out plus
 *    drops plus what is held, after every burst; the held count stays
 *    within the delay queue and the reorder slot; flush empties it (or,
 *    first op byte's bit 3, fini frees what is held); every packet is
 *    freed exactly once in the end (LeakSanitizer: none left).
 * Seeds: corpus/fault_spec (valid and invalid specs by hand). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_dpdk_fault.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A packet: its length, a live flag and the burst it was last emitted in
 * (to see a packet emitted twice in one burst). */
struct fs_pkt {
	uint32_t magic;
	bool live;
	unsigned last_burst;
	size_t len;
	uint8_t bytes[8];
};

#define FS_MAGIC    0x46535054u
#define FS_MAX_PKTS 4096

struct fs_ctx {
	struct fs_pkt *all[FS_MAX_PKTS]; /* every packet made, to free in the end */
	size_t n_all;
	size_t live;
};

static struct fs_pkt *fs_pkt_new(struct fs_ctx *x, size_t len)
{
	if (x->n_all == FS_MAX_PKTS)
		return NULL;
	struct fs_pkt *p = calloc(1, sizeof(*p));
	FUZZ_INVARIANT(p != NULL, "out of memory");
	p->magic = FS_MAGIC;
	p->live = true;
	p->last_burst = UINT32_MAX;
	p->len = len;
	x->all[x->n_all++] = p;
	x->live++;
	return p;
}

static void *fs_clone(void *ctx, void *pkt)
{
	struct fs_ctx *x = ctx;
	struct fs_pkt *p = pkt;
	FUZZ_INVARIANT(p->magic == FS_MAGIC && p->live, "clone of a dead packet");
	struct fs_pkt *c = fs_pkt_new(x, p->len);
	if (c != NULL)
		memcpy(c->bytes, p->bytes, sizeof(c->bytes));
	return c; /* NULL: the "pool" is empty, as an mbuf pool can be */
}

static void fs_free(void *ctx, void *pkt)
{
	struct fs_ctx *x = ctx;
	struct fs_pkt *p = pkt;
	FUZZ_INVARIANT(p->magic == FS_MAGIC && p->live, "free of a dead packet");
	p->live = false;
	x->live--;
}

static int fs_corrupt(void *ctx, void *pkt, uint64_t rnd)
{
	(void)ctx;
	struct fs_pkt *p = pkt;
	FUZZ_INVARIANT(p->magic == FS_MAGIC && p->live, "corrupt of a dead packet");
	if (p->len == 0)
		return -1;
	p->bytes[rnd % p->len] ^= (uint8_t)((rnd >> 32) | 1);
	return 0;
}

static uint64_t fs_emitted(const struct drv_dpdk_fault *f)
{
	return f->cnt.out;
}

/* in + dup == out + drop + held, and out counts what apply/flush wrote. */
static void fs_check_balance(const struct drv_dpdk_fault *f)
{
	FUZZ_INVARIANT(f->cnt.in + f->cnt.dup == f->cnt.out + f->cnt.drop + drv_dpdk_fault_held(f),
		 "packets in + duplicates != out + dropped + held");
	FUZZ_INVARIANT(f->q_len <= f->q_cap, "the delay queue holds more than its capacity");
}

/* Consume what apply or flush wrote: each live, once in this burst. */
static void fs_take(struct fs_ctx *x, void **out, unsigned k, unsigned burst)
{
	for (unsigned i = 0; i < k; i++) {
		struct fs_pkt *p = out[i];
		FUZZ_INVARIANT(p != NULL, "a NULL packet emitted");
		FUZZ_INVARIANT(p->magic == FS_MAGIC && p->live, "a dead packet emitted");
		FUZZ_INVARIANT(p->last_burst != burst, "a packet emitted twice in one burst");
		p->last_burst = burst;
		fs_free(x, p);
	}
}

static void fs_run(const struct drv_dpdk_fault_spec *spec, const uint8_t *ops, size_t nops)
{
	static const uint64_t steps[8] = {0,	   1000,     100000,	 1000000,
					  2000000, 10000000, 1000000000, 0};
	static const unsigned extra[4] = {0, 1, 3, 16};
	struct fs_ctx *x = calloc(1, sizeof(*x));
	FUZZ_INVARIANT(x != NULL, "out of memory");
	struct drv_dpdk_fault_ops fops = {fs_clone, fs_free, fs_corrupt};
	struct drv_dpdk_fault f;
	unsigned delay_cap = 1 + (nops ? ops[0] % 8 : 0);
	int rc = drv_dpdk_fault_init(&f, spec, &fops, x, delay_cap);
	FUZZ_INVARIANT(rc == 0, "init refused a spec the parser accepted");
	uint64_t now = 1000000000;
	void *in[8], *out[2 * 8 + 1 + 16];
	unsigned burst = 0;
	for (size_t i = 0; i < nops && i < 512; i++, burst++) {
		uint8_t b = ops[i];
		unsigned n = b & 7;
		now += steps[(b >> 3) & 7];
		unsigned cap = drv_dpdk_fault_out_min(n) + extra[b >> 6];
		unsigned made = 0;
		for (unsigned j = 0; j < n; j++) {
			struct fs_pkt *p =
			    fs_pkt_new(x, (x->n_all % 5) == 4 ? 0 : 1 + x->n_all % 8);
			if (p == NULL)
				break;
			in[made++] = p;
		}
		uint64_t before = fs_emitted(&f);
		unsigned k = drv_dpdk_fault_apply(&f, in, made, out, cap, now);
		FUZZ_INVARIANT(k <= cap, "apply wrote past out_cap");
		FUZZ_INVARIANT(fs_emitted(&f) - before == k, "out counter != what apply returned");
		fs_take(x, out, k, burst);
		fs_check_balance(&f);
		FUZZ_INVARIANT(drv_dpdk_fault_held(&f) <= delay_cap + 1,
			 "more held than the queue and the slot");
		if (spec->reorder == 0)
			FUZZ_INVARIANT(f.held == NULL, "a packet held without reorder");
		if (spec->delay == 0)
			FUZZ_INVARIANT(f.q_len == 0, "a packet delayed without delay");
	}
	/* Flush in small steps: everything leaves, in at most held + 1 calls;
	 * or (first op byte's bit 3) leave what is held to fini, which frees
	 * it. */
	if (!(nops && (ops[0] & 8))) {
		unsigned held = drv_dpdk_fault_held(&f);
		for (unsigned i = 0; i <= held && drv_dpdk_fault_held(&f) > 0; i++, burst++) {
			unsigned k = drv_dpdk_fault_flush(&f, out, 1);
			FUZZ_INVARIANT(k == 1, "flush of a non-empty injector wrote nothing");
			fs_take(x, out, k, burst);
			fs_check_balance(&f);
		}
		FUZZ_INVARIANT(drv_dpdk_fault_held(&f) == 0, "flush left packets held");
	}
	drv_dpdk_fault_fini(&f);
	FUZZ_INVARIANT(x->live == 0, "packets neither emitted nor freed");
	for (size_t i = 0; i < x->n_all; i++)
		free(x->all[i]);
	free(x);
}

/* A spec that says what *s says, in the canonical form (every key; times
 * in ns; a delay time only when there is one, as "delay=0" is valid). */
static void fs_write(const struct drv_dpdk_fault_spec *s, char *buf, size_t len)
{
	char dtime[32] = "";
	if (s->delay_ns)
		snprintf(dtime, sizeof(dtime), ":%lluns", (unsigned long long)s->delay_ns);
	snprintf(buf, len,
		 "drop=%.17g,dup=%.17g,corrupt=%.17g,reorder=%.17g:%lluns,delay=%.17g%s,seed=%llu",
		 s->drop, s->dup, s->corrupt, s->reorder, (unsigned long long)s->reorder_max_ns,
		 s->delay, dtime, (unsigned long long)s->seed);
}

static void fs_check_same(const struct drv_dpdk_fault_spec *a, const struct drv_dpdk_fault_spec *b)
{
	FUZZ_INVARIANT(memcmp(&a->drop, &b->drop, sizeof(double)) == 0 &&
		     memcmp(&a->dup, &b->dup, sizeof(double)) == 0 &&
		     memcmp(&a->reorder, &b->reorder, sizeof(double)) == 0 &&
		     memcmp(&a->delay, &b->delay, sizeof(double)) == 0 &&
		     memcmp(&a->corrupt, &b->corrupt, sizeof(double)) == 0,
		 "round trip changed a probability");
	FUZZ_INVARIANT(a->delay_ns == b->delay_ns && a->reorder_max_ns == b->reorder_max_ns &&
		     a->seed == b->seed && a->any == b->any,
		 "round trip changed a time, the seed or any");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t errlens[] = {256, 0, 1, 13, 20};
	size_t errlen = 256;
	if (size > 0) {
		errlen = errlens[data[0] % (sizeof(errlens) / sizeof(errlens[0]))];
		data++;
		size--;
	}
	const uint8_t *nul = memchr(data, '\0', size);
	size_t slen = nul ? (size_t)(nul - data) : size;
	const uint8_t *ops = nul ? nul + 1 : data + size;
	size_t nops = nul ? size - slen - 1 : 0;

	char *spec = malloc(slen + 1);
	FUZZ_INVARIANT(spec != NULL, "out of memory");
	memcpy(spec, data, slen);
	spec[slen] = '\0';
	char *err = errlen ? malloc(errlen) : NULL;
	if (err)
		memset(err, 'X', errlen);

	struct drv_dpdk_fault_spec s;
	memset(&s, 0xA5, sizeof(s));
	/* an empty input: a NULL spec (the config without the key) */
	int rc = drv_dpdk_fault_parse(size == 0 ? NULL : spec, &s, err, errlen);
	if (rc != 0) {
		FUZZ_INVARIANT(rc == -1, "parse returned neither 0 nor -1");
		if (err) {
			FUZZ_INVARIANT(memchr(err, '\0', errlen) != NULL, "the error is not terminated");
			if (errlen > 12)
				FUZZ_INVARIANT(strncmp(err, "fault spec: ", 12) == 0,
					 "the error does not start with \"fault spec: \"");
			if (errlen == 256)
				FUZZ_INVARIANT(strlen(err) > 15, "a failure without a reason");
		}
	} else {
		if (err)
			FUZZ_INVARIANT(err[0] == '\0', "success left an error message");
		const double p[5] = {s.drop, s.dup, s.reorder, s.delay, s.corrupt};
		bool some = false;
		for (int i = 0; i < 5; i++) {
			FUZZ_INVARIANT(p[i] >= 0.0 && p[i] <= 1.0, "a probability outside [0,1]");
			some |= p[i] > 0;
		}
		FUZZ_INVARIANT((s.any != 0) == some, "any does not say whether a probability is > 0");
		FUZZ_INVARIANT(s.delay == 0 || s.delay_ns > 0, "delay without a time");
		FUZZ_INVARIANT(s.reorder_max_ns > 0, "a zero reorder hold");
		char canon[512];
		fs_write(&s, canon, sizeof(canon));
		struct drv_dpdk_fault_spec s2;
		char e2[256];
		int rc2 = drv_dpdk_fault_parse(canon, &s2, e2, sizeof(e2));
		if (rc2 != 0)
			fprintf(stderr, "fuzz_fault_spec: \"%s\" -> \"%s\": %s\n", spec, canon, e2);
		FUZZ_INVARIANT(rc2 == 0, "the canonical form of an accepted spec is refused");
		fs_check_same(&s, &s2);
		fs_run(&s, ops, nops);
	}
	free(err);
	free(spec);
	return 0;
}
