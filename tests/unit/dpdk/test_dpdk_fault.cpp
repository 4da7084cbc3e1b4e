// Fault injection (drivers/dpdk/drv_dpdk_fault.h) over plain test packets:
// spec parsing and its errors, rates within statistical bounds over 100k
// packets with a fixed seed, conservation (nothing lost beyond the drops),
// duplicates are copies, reordered and delayed packets all come out.
#include <gtest/gtest.h>

#include <errno.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "drv_dpdk_fault.h"

namespace
{

struct tpkt {
	uint32_t id; // the original's sequence number (copies keep it)
	bool copy;   // made by clone
	uint8_t data[32];
};

void fill(tpkt *p)
{
	for (size_t i = 0; i < sizeof p->data; i++)
		p->data[i] = uint8_t(p->id * 31 + i);
}

// the driver side: owns every packet, counts what the callbacks did
struct pool {
	std::set<tpkt *> live;
	int frees = 0, clones = 0, corrupts = 0;
	bool clone_fails = false;
	~pool()
	{
		for (tpkt *p : live)
			delete p;
	}
	tpkt *make(uint32_t id)
	{
		tpkt *p = new tpkt{};
		p->id = id;
		fill(p);
		live.insert(p);
		return p;
	}
	void release(tpkt *p)
	{
		EXPECT_EQ(live.erase(p), 1u) << "free of a packet not live";
		delete p;
	}
};

void *cb_clone(void *ctx, void *pkt)
{
	auto *pl = static_cast<pool *>(ctx);
	if (pl->clone_fails)
		return nullptr;
	auto *src = static_cast<tpkt *>(pkt);
	EXPECT_EQ(pl->live.count(src), 1u);
	tpkt *c = new tpkt(*src);
	c->copy = true;
	pl->live.insert(c);
	pl->clones++;
	return c;
}

void cb_free(void *ctx, void *pkt)
{
	auto *pl = static_cast<pool *>(ctx);
	pl->frees++;
	pl->release(static_cast<tpkt *>(pkt));
}

int cb_corrupt(void *ctx, void *pkt, uint64_t rnd)
{
	auto *pl = static_cast<pool *>(ctx);
	auto *p = static_cast<tpkt *>(pkt);
	p->data[rnd % sizeof p->data] ^= uint8_t((rnd >> 32) | 1);
	pl->corrupts++;
	return 0;
}

const drv_dpdk_fault_ops test_ops = {cb_clone, cb_free, cb_corrupt};

drv_dpdk_fault_spec parse_ok(const char *spec)
{
	drv_dpdk_fault_spec s{};
	char err[256] = "";
	EXPECT_EQ(drv_dpdk_fault_parse(spec, &s, err, sizeof err), 0) << spec << ": " << err;
	return s;
}

std::string parse_err(const char *spec)
{
	drv_dpdk_fault_spec s{};
	s.seed = 777;
	char err[256] = "";
	EXPECT_EQ(drv_dpdk_fault_parse(spec, &s, err, sizeof err), -1) << spec;
	EXPECT_EQ(s.seed, 777u) << "output changed on error: " << spec;
	return err;
}

// Runs count packets through f in bursts of up to 32 at 1 us per burst,
// then idles (n = 0) until nothing is held; returns what came out in order.
std::vector<tpkt *> run(drv_dpdk_fault &f, pool &pl, uint32_t count, uint64_t *now_io = nullptr)
{
	std::vector<tpkt *> outv;
	uint64_t now = now_io ? *now_io : 1000000;
	void *in[32];
	void *out[256];
	uint32_t id = 0;
	while (id < count) {
		unsigned n = 0;
		unsigned want = 1 + (id * 7) % 32;
		while (n < want && id < count)
			in[n++] = pl.make(id++);
		unsigned k = drv_dpdk_fault_apply(&f, in, n, out, 256, now);
		for (unsigned i = 0; i < k; i++)
			outv.push_back(static_cast<tpkt *>(out[i]));
		now += 1000;
	}
	for (int i = 0; i < 100000 && drv_dpdk_fault_held(&f) > 0; i++) {
		unsigned k = drv_dpdk_fault_apply(&f, nullptr, 0, out, 256, now);
		for (unsigned j = 0; j < k; j++)
			outv.push_back(static_cast<tpkt *>(out[j]));
		now += 10000;
	}
	EXPECT_EQ(drv_dpdk_fault_held(&f), 0u);
	if (now_io)
		*now_io = now;
	return outv;
}

// binomial bound: |x - np| <= 6 sd (+1 for tiny np)
void expect_rate(uint64_t got, uint64_t n, double p, const char *what)
{
	double mean = double(n) * p;
	double sd = std::sqrt(double(n) * p * (1 - p));
	EXPECT_NEAR(double(got), mean, 6 * sd + 1) << what;
}

} // namespace

// ---- parsing ----

TEST(DpdkFaultParse, FullSpec)
{
	auto s = parse_ok("drop=0.01,dup=0.02,reorder=0.03,delay=0.04:200us,corrupt=0.001,seed=42");
	EXPECT_DOUBLE_EQ(s.drop, 0.01);
	EXPECT_DOUBLE_EQ(s.dup, 0.02);
	EXPECT_DOUBLE_EQ(s.reorder, 0.03);
	EXPECT_DOUBLE_EQ(s.delay, 0.04);
	EXPECT_EQ(s.delay_ns, 200000u);
	EXPECT_DOUBLE_EQ(s.corrupt, 0.001);
	EXPECT_EQ(s.seed, 42u);
	EXPECT_EQ(s.reorder_max_ns, DRV_DPDK_FAULT_REORDER_MAX_NS_DEFAULT);
	EXPECT_EQ(s.any, 1);
}

// "decimal or 0x hex", as the error message says: a leading zero is decimal
TEST(DpdkFaultParse, SeedDecimalOrHex)
{
	EXPECT_EQ(parse_ok("seed=010").seed, 10u);
	EXPECT_EQ(parse_ok("seed=08").seed, 8u);
	EXPECT_EQ(parse_ok("seed=0x10").seed, 16u);
	EXPECT_EQ(parse_ok("seed=0XfF").seed, 255u);
	EXPECT_EQ(parse_ok("seed=18446744073709551615").seed, UINT64_MAX);
	const char *why = "seed must be an unsigned 64-bit integer (decimal or 0x hex)";
	for (const char *bad : {"seed=0x", "seed=0x-1", "seed=0x+1", "seed=18446744073709551616",
				"seed=0x1g", "seed=1.5"})
		EXPECT_EQ(parse_err(bad), std::string("fault spec: '") + bad + "': " + why) << bad;
}

TEST(DpdkFaultParse, DefaultsUnitsAndSpaces)
{
	for (const char *e : {"", "   "}) {
		auto s = parse_ok(e);
		EXPECT_EQ(s.any, 0);
		EXPECT_EQ(s.seed, 1u);
		EXPECT_EQ(s.drop, 0.0);
		EXPECT_EQ(s.reorder_max_ns, DRV_DPDK_FAULT_REORDER_MAX_NS_DEFAULT);
	}
	drv_dpdk_fault_spec n{};
	EXPECT_EQ(drv_dpdk_fault_parse(nullptr, &n, nullptr, 0), 0);
	EXPECT_EQ(n.any, 0);
	EXPECT_EQ(parse_ok("delay=1:7ns").delay_ns, 7u);
	EXPECT_EQ(parse_ok("delay=1:7us").delay_ns, 7000u);
	EXPECT_EQ(parse_ok("delay=1:7ms").delay_ns, 7000000u);
	EXPECT_EQ(parse_ok("delay=1:7s").delay_ns, 7000000000u);
	EXPECT_EQ(parse_ok("reorder=0.5:250us").reorder_max_ns, 250000u);
	EXPECT_EQ(parse_ok("seed=0x2a").seed, 42u);
	EXPECT_EQ(parse_ok("seed=18446744073709551615").seed, UINT64_MAX);
	auto s = parse_ok(" drop=1 , dup=0 ");
	EXPECT_EQ(s.drop, 1.0);
	EXPECT_EQ(s.any, 1);
	// a zero delay needs no time; a zero everything is "no fault"
	s = parse_ok("delay=0,drop=0,seed=3");
	EXPECT_EQ(s.any, 0);
	EXPECT_EQ(s.seed, 3u);
	EXPECT_EQ(parse_ok("corrupt=1e-3").corrupt, 0.001);
}

TEST(DpdkFaultParse, ErrorsNamePrecisely)
{
	EXPECT_EQ(parse_err("drop=1.5"),
		  "fault spec: 'drop=1.5': probability must be a number in [0,1]");
	EXPECT_EQ(parse_err("drop=-0.1"),
		  "fault spec: 'drop=-0.1': probability must be a number in [0,1]");
	EXPECT_EQ(parse_err("dup=abc"),
		  "fault spec: 'dup=abc': probability must be a number in [0,1]");
	EXPECT_EQ(parse_err("dup=nan"),
		  "fault spec: 'dup=nan': probability must be a number in [0,1]");
	EXPECT_EQ(parse_err("dup=0x1p-3"),
		  "fault spec: 'dup=0x1p-3': probability must be a number in [0,1]");
	EXPECT_EQ(parse_err("dup="), "fault spec: 'dup=': probability must be a number in [0,1]");
	EXPECT_EQ(parse_err("dup=0.1x"),
		  "fault spec: 'dup=0.1x': probability must be a number in [0,1]");
	EXPECT_EQ(
	    parse_err("drop=0.1,foo=1"),
	    "fault spec: 'foo=1': unknown key (known: drop, dup, reorder, delay, corrupt, seed)");
	EXPECT_EQ(parse_err("Drop=0.1"), "fault spec: 'Drop=0.1': unknown key (known: drop, dup, "
					 "reorder, delay, corrupt, seed)");
	EXPECT_EQ(parse_err("drop"), "fault spec: 'drop': expected key=value");
	EXPECT_EQ(parse_err("drop=0.1,drop=0.2"), "fault spec: 'drop=0.2': drop given twice");
	EXPECT_EQ(parse_err(",drop=0.1"),
		  "fault spec: '': empty item (two commas, or a comma at an end)");
	EXPECT_EQ(parse_err("drop=0.1,"),
		  "fault spec: '': empty item (two commas, or a comma at an end)");
	EXPECT_EQ(parse_err("drop=0.1,,dup=0.1"),
		  "fault spec: '': empty item (two commas, or a comma at an end)");
	EXPECT_EQ(parse_err("delay=0.01"),
		  "fault spec: 'delay=0.01': delay needs a time: delay=P:T, e.g. delay=0.01:200us");
	const char *time_msg =
	    "time must be a positive integer with a unit ns, us, ms or s, e.g. 200us";
	EXPECT_EQ(parse_err("delay=0.01:200"),
		  std::string("fault spec: 'delay=0.01:200': ") + time_msg);
	EXPECT_EQ(parse_err("delay=0.01:0us"),
		  std::string("fault spec: 'delay=0.01:0us': ") + time_msg);
	EXPECT_EQ(parse_err("delay=0.01:us"),
		  std::string("fault spec: 'delay=0.01:us': ") + time_msg);
	EXPECT_EQ(parse_err("delay=0.01:1.5ms"),
		  std::string("fault spec: 'delay=0.01:1.5ms': ") + time_msg);
	EXPECT_EQ(parse_err("delay=0.01:200min"),
		  std::string("fault spec: 'delay=0.01:200min': ") + time_msg);
	EXPECT_EQ(parse_err("delay=0.01:99999999999999999999ns"),
		  std::string("fault spec: 'delay=0.01:99999999999999999999ns': ") + time_msg);
	EXPECT_EQ(parse_err("delay=0.01:18446744074s"),
		  std::string("fault spec: 'delay=0.01:18446744074s': ") + time_msg);
	EXPECT_EQ(parse_err("reorder=0.1:5"),
		  std::string("fault spec: 'reorder=0.1:5': ") + time_msg);
	EXPECT_EQ(
	    parse_err("drop=0.1:5us"),
	    "fault spec: 'drop=0.1:5us': drop takes no time (only delay=P:T and reorder=P[:T] do)");
	const char *seed_msg = "seed must be an unsigned 64-bit integer (decimal or 0x hex)";
	EXPECT_EQ(parse_err("seed=-1"), std::string("fault spec: 'seed=-1': ") + seed_msg);
	EXPECT_EQ(parse_err("seed=12a"), std::string("fault spec: 'seed=12a': ") + seed_msg);
	EXPECT_EQ(parse_err("seed=18446744073709551616"),
		  std::string("fault spec: 'seed=18446744073709551616': ") + seed_msg);
	EXPECT_EQ(parse_err("seed="), std::string("fault spec: 'seed=': ") + seed_msg);
	// a short or absent error buffer is not overrun
	drv_dpdk_fault_spec s{};
	char tiny[8];
	memset(tiny, 'x', sizeof tiny);
	EXPECT_EQ(drv_dpdk_fault_parse("bogus=1", &s, tiny, sizeof tiny), -1);
	EXPECT_STREQ(tiny, "fault s");
	EXPECT_EQ(drv_dpdk_fault_parse("bogus=1", &s, nullptr, 0), -1);
}

// ---- init ----

TEST(DpdkFault, InitChecksOps)
{
	drv_dpdk_fault f;
	pool pl;
	auto s = parse_ok("dup=0.1,corrupt=0.1,delay=0.1:10us");
	drv_dpdk_fault_ops no_clone = {nullptr, cb_free, cb_corrupt};
	drv_dpdk_fault_ops no_corrupt = {cb_clone, cb_free, nullptr};
	drv_dpdk_fault_ops no_free = {cb_clone, nullptr, cb_corrupt};
	EXPECT_EQ(drv_dpdk_fault_init(&f, &s, &no_clone, &pl, 16), -EINVAL);
	EXPECT_EQ(drv_dpdk_fault_init(&f, &s, &no_corrupt, &pl, 16), -EINVAL);
	EXPECT_EQ(drv_dpdk_fault_init(&f, &s, &no_free, &pl, 16), -EINVAL);
	EXPECT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 0), -EINVAL);
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 16), 0);
	drv_dpdk_fault_fini(&f);
	// a drop-only spec needs only free
	auto d = parse_ok("drop=0.5");
	drv_dpdk_fault_ops free_only = {nullptr, cb_free, nullptr};
	ASSERT_EQ(drv_dpdk_fault_init(&f, &d, &free_only, &pl, 0), 0);
	drv_dpdk_fault_fini(&f);
}

// ---- behaviour ----

TEST(DpdkFault, NoFaultPassesEverythingInOrder)
{
	pool pl;
	drv_dpdk_fault f;
	auto s = parse_ok("");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 0), 0);
	auto out = run(f, pl, 10000);
	ASSERT_EQ(out.size(), 10000u);
	for (uint32_t i = 0; i < out.size(); i++)
		ASSERT_EQ(out[i]->id, i);
	EXPECT_EQ(f.cnt.in, 10000u);
	EXPECT_EQ(f.cnt.out, 10000u);
	drv_dpdk_fault_fini(&f);
}

namespace
{
struct tally {
	std::map<uint32_t, int> orig, copies;
	size_t inversions = 0; // packets emitted after a higher-numbered original
};

tally check_conservation(const std::vector<tpkt *> &out, pool &pl, const drv_dpdk_fault &f,
			 uint32_t count)
{
	tally t;
	uint32_t max_seen = 0;
	bool any = false;
	for (tpkt *p : out) {
		EXPECT_EQ(pl.live.count(p), 1u) << "emitted packet is not live";
		(p->copy ? t.copies : t.orig)[p->id]++;
		if (any && p->id < max_seen)
			t.inversions++;
		if (!any || p->id > max_seen)
			max_seen = p->id;
		any = true;
	}
	// every original comes out exactly once or was dropped
	uint64_t dropped = 0;
	for (uint32_t id = 0; id < count; id++) {
		auto it = t.orig.find(id);
		if (it == t.orig.end())
			dropped++;
		else
			EXPECT_EQ(it->second, 1) << "original " << id << " emitted twice";
	}
	EXPECT_EQ(dropped, f.cnt.drop);
	EXPECT_EQ(uint64_t(pl.frees), f.cnt.drop);
	// a copy only of an emitted original, at most one each
	uint64_t ncopies = 0;
	for (auto &c : t.copies) {
		EXPECT_EQ(c.second, 1) << "packet " << c.first;
		EXPECT_EQ(t.orig.count(c.first), 1u) << "copy of a dropped packet " << c.first;
		ncopies += uint64_t(c.second);
	}
	EXPECT_EQ(ncopies, f.cnt.dup);
	EXPECT_EQ(uint64_t(pl.clones), f.cnt.dup);
	EXPECT_EQ(out.size(), count - f.cnt.drop + f.cnt.dup);
	EXPECT_EQ(f.cnt.out, out.size());
	EXPECT_EQ(f.cnt.in, count);
	EXPECT_EQ(pl.live.size(), out.size());
	return t;
}
} // namespace

TEST(DpdkFault, RatesAndConservationOver100kPackets)
{
	const uint32_t N = 100000;
	pool pl;
	drv_dpdk_fault f;
	auto s = parse_ok("drop=0.01,dup=0.01,reorder=0.01,delay=0.01:200us,corrupt=0.001,seed=42");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 512), 0);
	auto out = run(f, pl, N);
	tally t = check_conservation(out, pl, f, N);
	expect_rate(f.cnt.drop, N, 0.01, "drop");
	// the later faults see only what was not dropped
	uint64_t kept = N - f.cnt.drop;
	expect_rate(f.cnt.dup, kept, 0.01, "dup");
	expect_rate(f.cnt.corrupt, kept, 0.001, "corrupt");
	expect_rate(f.cnt.reorder + f.cnt.reorder_timeout, kept, 0.01, "reorder");
	expect_rate(f.cnt.delay + f.cnt.delay_full, kept, 0.0099, "delay");
	EXPECT_EQ(f.cnt.delay_full, 0u);
	EXPECT_EQ(f.cnt.dup_fail, 0u);
	EXPECT_EQ(uint64_t(pl.corrupts), f.cnt.corrupt);
	// the traffic never pauses 1 ms here, so holds end by being overtaken
	// (but the last one, in run()'s idle tail)
	EXPECT_LE(f.cnt.reorder_timeout, 1u);
	// out of order: only held and delayed packets can come out after a
	// later one; nearly all of them do (not those overtaken only by older
	// delayed ones, or delayed at the end of the stream)
	uint64_t late = f.cnt.reorder + f.cnt.reorder_timeout + f.cnt.delay;
	EXPECT_LE(t.inversions, late);
	EXPECT_GE(double(t.inversions), 0.95 * double(late));
	// copies are byte-identical to their original (which may be corrupted:
	// corruption comes first); an uncorrupted packet has its pattern
	std::map<uint32_t, tpkt *> by_id;
	for (tpkt *p : out)
		if (!p->copy)
			by_id[p->id] = p;
	uint64_t corrupted = 0;
	for (tpkt *p : out) {
		if (p->copy) {
			ASSERT_EQ(memcmp(p->data, by_id[p->id]->data, sizeof p->data), 0) << p->id;
			continue;
		}
		tpkt ref{};
		ref.id = p->id;
		fill(&ref);
		int diff = 0;
		for (size_t i = 0; i < sizeof p->data; i++)
			diff += p->data[i] != ref.data[i];
		EXPECT_LE(diff, 1) << "corrupt changes one byte";
		corrupted += diff;
	}
	EXPECT_EQ(corrupted, f.cnt.corrupt);
	drv_dpdk_fault_fini(&f);
}

TEST(DpdkFault, EachKindAloneAtTenPercent)
{
	const uint32_t N = 100000;
	struct {
		const char *spec;
		uint64_t drv_dpdk_fault_counters::*c;
	} kinds[] = {
	    {"drop=0.1,seed=7", &drv_dpdk_fault_counters::drop},
	    {"dup=0.1,seed=7", &drv_dpdk_fault_counters::dup},
	    {"corrupt=0.1,seed=7", &drv_dpdk_fault_counters::corrupt},
	    {"delay=0.1:50us,seed=7", &drv_dpdk_fault_counters::delay},
	};
	for (auto &k : kinds) {
		pool pl;
		drv_dpdk_fault f;
		auto s = parse_ok(k.spec);
		ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 4096), 0);
		auto out = run(f, pl, N);
		check_conservation(out, pl, f, N);
		expect_rate(f.cnt.*k.c, N, 0.1, k.spec);
		drv_dpdk_fault_fini(&f);
	}
	// reorder: a packet is held only when the slot is free (p(1-p) per
	// packet on a steady stream: 0.1 held -> the next one releases it)
	pool pl;
	drv_dpdk_fault f;
	auto s = parse_ok("reorder=0.1,seed=7");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 0), 0);
	auto out = run(f, pl, N);
	tally t = check_conservation(out, pl, f, N);
	double p_hold = 0.1 / 1.1; // stationary: held w.p. 0.1 when the slot is free
	expect_rate(f.cnt.reorder, N, p_hold, "reorder");
	EXPECT_EQ(t.inversions, f.cnt.reorder);
	drv_dpdk_fault_fini(&f);
}

TEST(DpdkFault, SameSeedSameRunOtherSeedOtherRun)
{
	auto trace = [](const char *spec) {
		pool pl;
		drv_dpdk_fault f;
		auto s = parse_ok(spec);
		EXPECT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 512), 0);
		std::vector<std::pair<uint32_t, bool>> v;
		for (tpkt *p : run(f, pl, 20000))
			v.emplace_back(p->id, p->copy);
		drv_dpdk_fault_fini(&f);
		return v;
	};
	auto a = trace("drop=0.05,dup=0.05,reorder=0.05,delay=0.05:10us,seed=5");
	auto b = trace("drop=0.05,dup=0.05,reorder=0.05,delay=0.05:10us,seed=5");
	auto c = trace("drop=0.05,dup=0.05,reorder=0.05,delay=0.05:10us,seed=6");
	EXPECT_EQ(a, b);
	EXPECT_NE(a, c);
}

TEST(DpdkFault, ReorderReleasesAfterTheNextPacketOrAfterMaxHold)
{
	pool pl;
	drv_dpdk_fault f;
	auto s = parse_ok("reorder=1:100us");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 0), 0);
	void *in[3] = {pl.make(0), pl.make(1), pl.make(2)};
	void *out[16];
	// 0 is held, 1 passes (slot taken) and releases 0, 2 is held
	unsigned k = drv_dpdk_fault_apply(&f, in, 3, out, 16, 1000);
	ASSERT_EQ(k, 2u);
	EXPECT_EQ(static_cast<tpkt *>(out[0])->id, 1u);
	EXPECT_EQ(static_cast<tpkt *>(out[1])->id, 0u);
	EXPECT_EQ(drv_dpdk_fault_held(&f), 1u);
	EXPECT_EQ(f.cnt.reorder, 1u);
	// nothing behind it: released once the max hold has passed, not before
	EXPECT_EQ(drv_dpdk_fault_apply(&f, nullptr, 0, out, 16, 1000 + 99999), 0u);
	ASSERT_EQ(drv_dpdk_fault_apply(&f, nullptr, 0, out, 16, 1000 + 100000), 1u);
	EXPECT_EQ(static_cast<tpkt *>(out[0])->id, 2u);
	EXPECT_EQ(f.cnt.reorder_timeout, 1u);
	EXPECT_EQ(drv_dpdk_fault_held(&f), 0u);
	for (void *p : {out[0]})
		pl.release(static_cast<tpkt *>(p));
	drv_dpdk_fault_fini(&f);
}

TEST(DpdkFault, DelayHoldsForTheTimeInOrderAndTheQueueIsBounded)
{
	pool pl;
	drv_dpdk_fault f;
	auto s = parse_ok("delay=1:200us");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 4), 0);
	void *in[10];
	for (uint32_t i = 0; i < 10; i++)
		in[i] = pl.make(i);
	void *out[32];
	// 4 fit in the queue, the other 6 pass at once
	unsigned k = drv_dpdk_fault_apply(&f, in, 10, out, 32, 5000);
	ASSERT_EQ(k, 6u);
	for (unsigned i = 0; i < 6; i++)
		EXPECT_EQ(static_cast<tpkt *>(out[i])->id, 4 + i);
	EXPECT_EQ(f.cnt.delay, 4u);
	EXPECT_EQ(f.cnt.delay_full, 6u);
	EXPECT_EQ(drv_dpdk_fault_apply(&f, nullptr, 0, out, 32, 5000 + 199999), 0u);
	// due: released in order, as many as the room beyond the burst's
	// reserve (2n+1) allows; the rest wait for the next call
	tpkt *p = pl.make(100);
	void *one[1] = {p};
	k = drv_dpdk_fault_apply(&f, one, 1, out, drv_dpdk_fault_out_min(1) + 2, 5000 + 200000);
	// two released, then 100 itself is delayed (the queue has room again)
	ASSERT_EQ(k, 2u);
	EXPECT_EQ(static_cast<tpkt *>(out[0])->id, 0u);
	EXPECT_EQ(static_cast<tpkt *>(out[1])->id, 1u);
	EXPECT_EQ(drv_dpdk_fault_held(&f), 3u);
	k = drv_dpdk_fault_apply(&f, nullptr, 0, out, 32, 5000 + 200000);
	ASSERT_EQ(k, 2u);
	EXPECT_EQ(static_cast<tpkt *>(out[0])->id, 2u);
	EXPECT_EQ(static_cast<tpkt *>(out[1])->id, 3u);
	// out smaller than the reserve: nothing consumed
	void *two[2] = {pl.make(200), pl.make(201)};
	EXPECT_EQ(drv_dpdk_fault_apply(&f, two, 2, out, 4, 5000 + 200000), 0u);
	EXPECT_EQ(f.cnt.in, 11u);
	// flush emits what is held regardless of time
	EXPECT_EQ(drv_dpdk_fault_flush(&f, out, 32), 1u);
	EXPECT_EQ(static_cast<tpkt *>(out[0])->id, 100u);
	EXPECT_EQ(drv_dpdk_fault_held(&f), 0u);
	drv_dpdk_fault_fini(&f);
}

TEST(DpdkFault, FiniFreesWhatIsHeld)
{
	pool pl;
	drv_dpdk_fault f;
	auto s = parse_ok("reorder=1,delay=1:1s");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 8), 0);
	void *in[4] = {pl.make(0), pl.make(1), pl.make(2), pl.make(3)};
	void *out[16];
	// 0 held for reorder, 1..3 delayed
	EXPECT_EQ(drv_dpdk_fault_apply(&f, in, 4, out, 16, 0), 0u);
	EXPECT_EQ(drv_dpdk_fault_held(&f), 4u);
	drv_dpdk_fault_fini(&f);
	EXPECT_EQ(pl.frees, 4);
	EXPECT_TRUE(pl.live.empty());
}

TEST(DpdkFault, CloneFailureIsCountedNotFatal)
{
	pool pl;
	pl.clone_fails = true;
	drv_dpdk_fault f;
	auto s = parse_ok("dup=1");
	ASSERT_EQ(drv_dpdk_fault_init(&f, &s, &test_ops, &pl, 0), 0);
	auto out = run(f, pl, 100);
	EXPECT_EQ(out.size(), 100u);
	EXPECT_EQ(f.cnt.dup, 0u);
	EXPECT_EQ(f.cnt.dup_fail, 100u);
	drv_dpdk_fault_fini(&f);
}

TEST(DpdkFault, CountersListNamesEveryField)
{
	// the X-macro list and the struct agree (what the driver exports)
	std::vector<std::string> names;
#define X(name, desc) names.push_back(#name);
	DRV_DPDK_FAULT_COUNTERS(X)
#undef X
	EXPECT_EQ(names.size() * sizeof(uint64_t), sizeof(drv_dpdk_fault_counters));
	EXPECT_EQ(names.front(), "in");
}
