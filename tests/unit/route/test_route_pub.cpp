// Publication of tables to workers (QSBR): deterministic steps, then real
// threads (run under ASan: build-*-asan, -Dsanitize=true).
#include "route_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace
{

const uint8_t *B(const char *s)
{
	return reinterpret_cast<const uint8_t *>(s);
}

// A master whose address "cur" has exactly one destination, link == the
// version of the next snapshot, so a reader can check a table is intact.
struct versioned {
	route_rules *rules = route_rules_new(ROUTE_BALANCED);
	route_master *m = route_master_new(rules);
	uint32_t next = 1;
	route_table *make()
	{
		if (next > 1)
			route_master_remove(m, B("cur"), 3, 0, next - 1);
		route_dest d{};
		d.worker = 0;
		d.link = next;
		route_master_add(m, B("cur"), 3, &d);
		next++;
		return route_master_snapshot(m);
	}
	~versioned()
	{
		route_master_free(m);
		route_rules_free(rules);
	}
};

bool intact(const route_table *t)
{
	const route_entry *e = route_table_lookup(t, B("cur"), 3);
	return e && e->n_dests == 1 && e->dests[0].link == route_table_version(t);
}

} // namespace

TEST(RoutePub, ReclaimWaitsForOnlineWorkers)
{
	versioned v;
	route_pub *p = route_pub_new(2, v.make());
	ASSERT_NE(p, nullptr);
	// Both workers offline: nothing to wait for.
	route_pub_publish(p, v.make());
	EXPECT_EQ(route_pub_retired(p), 1u);
	EXPECT_EQ(route_pub_reclaim(p), 1u);
	EXPECT_EQ(route_pub_retired(p), 0u);

	// Worker 0 holds version 2.
	const route_table *w0 = route_pub_acquire(p, 0);
	ASSERT_NE(w0, nullptr);
	EXPECT_EQ(route_table_version(w0), 2u);
	route_pub_publish(p, v.make());	     // 3
	route_pub_publish(p, v.make());	     // 4
	EXPECT_EQ(route_pub_reclaim(p), 0u); // 2 and 3 retired, worker 0 may read 2
	EXPECT_TRUE(intact(w0));
	// Acquiring again is the quiescent point: 2 and 3 may go.
	w0 = route_pub_acquire(p, 0);
	EXPECT_EQ(route_table_version(w0), 4u);
	EXPECT_EQ(route_pub_reclaim(p), 2u);
	EXPECT_EQ(route_pub_retired(p), 0u);

	// Worker 1 comes online: until its first acquire it may read anything
	// current, so nothing retired after that is freed.
	route_pub_online(p, 1);
	route_pub_publish(p, v.make()); // 5
	EXPECT_EQ(route_pub_reclaim(p), 0u);
	w0 = route_pub_acquire(p, 0);
	EXPECT_EQ(route_pub_reclaim(p), 0u); // worker 1 still reports 0
	const route_table *w1 = route_pub_acquire(p, 1);
	EXPECT_EQ(route_table_version(w1), 5u);
	EXPECT_EQ(route_pub_reclaim(p), 1u);

	// Worker 1 goes offline (blocks): it is not waited for any more.
	route_pub_offline(p, 1);
	route_pub_publish(p, v.make()); // 6
	w0 = route_pub_acquire(p, 0);
	EXPECT_EQ(route_pub_reclaim(p), 1u);
	// Acquire while offline implies online.
	w1 = route_pub_acquire(p, 1);
	EXPECT_EQ(route_table_version(w1), 6u);
	route_pub_publish(p, v.make()); // 7
	w0 = route_pub_acquire(p, 0);
	EXPECT_EQ(route_pub_reclaim(p), 0u); // worker 1 holds 6
	EXPECT_TRUE(intact(w1));
	w1 = route_pub_acquire(p, 1);
	EXPECT_EQ(route_pub_reclaim(p), 1u);
	EXPECT_TRUE(intact(w0));
	EXPECT_TRUE(intact(w1));
	route_pub_free(p); // frees 7
}

TEST(RoutePub, StartsEmpty)
{
	versioned v;
	route_pub *p = route_pub_new(1, nullptr);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(route_pub_acquire(p, 0), nullptr);
	route_pub_publish(p, v.make());
	EXPECT_EQ(route_pub_reclaim(p), 0u);
	const route_table *t = route_pub_acquire(p, 0);
	ASSERT_NE(t, nullptr);
	EXPECT_TRUE(intact(t));
	EXPECT_EQ(route_pub_new(0, nullptr), nullptr);
	route_pub_free(p);
}

// Workers acquire in a bounded loop and read the whole table they hold;
// control publishes N versions and reclaims as it goes. Under ASan a table
// freed while a worker may read it is a heap-use-after-free report; without
// it, `intact` still catches a reused table. Versions seen by a worker never
// go backwards.
//
// Control starts publishing only once every worker has read a table, and
// stops the workers only once every worker has read the last version: 3000
// publications take a few milliseconds, and on a loaded machine the workers
// could otherwise not be scheduled before they were told to stop (no reads
// at all: the test checked nothing and failed its reads > 0). Both waits
// are bounded by the deadline.
TEST(RoutePub, ThreadsNeverReadAFreedTable)
{
	const unsigned W = 3;
	const uint32_t N = 3000;
	versioned v;
	route_pub *p = route_pub_new(W, v.make());
	ASSERT_NE(p, nullptr);
	std::atomic<bool> stop{false};
	std::atomic<unsigned> bad{0}, backwards{0}, started{0};
	std::atomic<uint64_t> reads{0};
	std::atomic<uint64_t> last_seen[W] = {};
	std::atomic<uint64_t> reads_of[W] = {};
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	auto before_deadline = [&] { return std::chrono::steady_clock::now() < deadline; };

	std::vector<std::thread> threads;
	for (unsigned w = 0; w < W; w++) {
		threads.emplace_back([&, w] {
			uint64_t last = 0, n = 0;
			// Bounded in count and in time, whatever the scheduler does.
			for (uint64_t it = 0;
			     it < 1000000000 && !stop.load(std::memory_order_relaxed); it++) {
				const route_table *t = route_pub_acquire(p, w);
				uint64_t ver = route_table_version(t);
				if (ver < last)
					backwards++;
				last = ver;
				// Read it several times across the "poll iteration".
				for (int k = 0; k < 4; k++)
					if (!intact(t))
						bad++;
				n++;
				if (n == 1)
					started++;
				last_seen[w].store(ver, std::memory_order_relaxed);
				// Worker 1 blocks now and then (epoll_wait).
				if (w == 1 && it % 64 == 0) {
					route_pub_offline(p, w);
					std::this_thread::yield();
					route_pub_online(p, w);
				}
				if ((it & 1023) == 0 && !before_deadline())
					break;
			}
			route_pub_offline(p, w);
			reads += n;
			reads_of[w] = n;
		});
	}
	while (started.load() < W && before_deadline())
		std::this_thread::yield();
	const bool all_started = started.load() == W;
	size_t freed = 0;
	uint64_t final_version = 0;
	for (uint32_t i = 0; i < N; i++) {
		route_table *t = v.make();
		if (t == nullptr)
			break; // checked below, after the join
		final_version = route_table_version(t);
		route_pub_publish(p, t);
		freed += route_pub_reclaim(p);
		if (i % 16 == 0)
			std::this_thread::yield();
	}
	// Every worker reads the last version before it is told to stop.
	auto all_final = [&] {
		for (unsigned w = 0; w < W; w++)
			if (last_seen[w].load(std::memory_order_relaxed) != final_version)
				return false;
		return true;
	};
	while (!all_final() && before_deadline()) {
		freed += route_pub_reclaim(p);
		std::this_thread::yield();
	}
	stop = true;
	for (auto &t : threads)
		t.join();
	EXPECT_TRUE(all_started) << "the workers did not all start within the deadline";
	EXPECT_EQ(final_version, N + 1u); // the initial table is version 1
	for (unsigned w = 0; w < W; w++) {
		EXPECT_GT(reads_of[w].load(), 0u) << "worker " << w;
		EXPECT_EQ(last_seen[w].load(), final_version) << "worker " << w;
	}
	// Every worker passed (and went offline): all but the current go.
	freed += route_pub_reclaim(p);
	EXPECT_EQ(route_pub_retired(p), 0u);
	EXPECT_EQ(freed, static_cast<size_t>(N));
	EXPECT_EQ(bad.load(), 0u);
	EXPECT_EQ(backwards.load(), 0u);
	EXPECT_GT(reads.load(), 0u);
	route_pub_free(p);
}
