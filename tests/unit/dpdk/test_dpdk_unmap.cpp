// The unmap guard's grace period (drivers/dpdk/drv_dpdk_unmap.h, ADR 0006):
// drv_dpdk_unmap_quiesce(), what the wrapped munmap() runs on the EAL
// interrupt thread, returns only once every online poller slot has passed a
// quiescent point after the call began, ignores offline slots, and gives up
// after the bound (wait_ms, set to 2 s here; DRV_DPDK_UNMAP_WAIT_MS by
// default) in total. Real threads; the order of events is checked with
// atomics (a sequence counter, the guard's own token), the
// sleeps only give a broken guard the time to show itself. No EAL: the
// guard's munmap() is not armed here, so every munmap of this process is a
// plain one (the interrupt-thread test needs the EAL; dpdk_memif_cycles
// covers it).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "drv_dpdk_unmap.h"

namespace
{

using clk = std::chrono::steady_clock;

// every wait of a test thread for another ends here at the latest, so a
// broken guard fails the test instead of hanging it
constexpr auto k_gate_limit = std::chrono::seconds(10);
// what the bound may be exceeded by on a loaded 2-core machine (the waiter
// sleeps 20 us at a time); well under a second bound per stuck slot
constexpr long k_slack_ms = 1500;
constexpr uint32_t k_wait_ms = 2000;

uint64_t guard_token()
{
	return __atomic_load_n(&drv_dpdk_unmap_g.token, __ATOMIC_SEQ_CST);
}

uint64_t guard_timeouts()
{
	return __atomic_load_n(&drv_dpdk_unmap_g.timeouts, __ATOMIC_SEQ_CST);
}

uint64_t guard_waits()
{
	return __atomic_load_n(&drv_dpdk_unmap_g.waits, __ATOMIC_SEQ_CST);
}

// spins (yielding) until pred() or k_gate_limit; pred()'s last value
template <typename P> bool wait_for(P pred)
{
	auto end = clk::now() + k_gate_limit;
	while (!pred()) {
		if (clk::now() > end)
			return false;
		std::this_thread::yield();
	}
	return true;
}

long ms_since(clk::time_point t0)
{
	return (long)std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0).count();
}

class DpdkUnmap : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		// the guard is a process global: every test starts with all slots
		// offline, as a process does
		for (unsigned i = 0; i < DRV_DPDK_UNMAP_SLOTS; i++)
			drv_dpdk_unmap_offline(i);
		// a shorter bound than the production one keeps the stuck-worker
		// cases short; the logic is the same
		drv_dpdk_unmap_g.wait_ms = k_wait_ms;
	}
	void TearDown() override { SetUp(); }
};

TEST_F(DpdkUnmap, OnlineRange)
{
	EXPECT_EQ(drv_dpdk_unmap_online(DRV_DPDK_UNMAP_SLOTS), -1);
	EXPECT_EQ(drv_dpdk_unmap_online(0), 0);
	EXPECT_NE(__atomic_load_n(&drv_dpdk_unmap_g.slot[0].seen, __ATOMIC_SEQ_CST),
		  (uint64_t)DRV_DPDK_UNMAP_OFFLINE);
	drv_dpdk_unmap_offline(0);
	EXPECT_EQ(__atomic_load_n(&drv_dpdk_unmap_g.slot[0].seen, __ATOMIC_SEQ_CST),
		  (uint64_t)DRV_DPDK_UNMAP_OFFLINE);
	drv_dpdk_unmap_offline(DRV_DPDK_UNMAP_SLOTS); // out of range: no effect, no crash
}

// No slot online (none registered, or registered then gone offline): the
// waiter waits for nobody; one it waited for would cost the whole bound.
TEST_F(DpdkUnmap, OfflineSlotsDoNotDelay)
{
	ASSERT_EQ(drv_dpdk_unmap_online(3), 0);
	drv_dpdk_unmap_offline(3);
	// a slot whose poller thread still runs but went offline (stopped
	// polling without exiting)
	std::atomic<bool> offline{false}, stop{false};
	std::thread parked([&] {
		drv_dpdk_unmap_online(7);
		drv_dpdk_unmap_quiescent(7);
		drv_dpdk_unmap_offline(7);
		offline.store(true);
		wait_for([&] { return stop.load(); });
	});
	ASSERT_TRUE(wait_for([&] { return offline.load(); }));
	uint64_t w0 = guard_waits(), to0 = guard_timeouts();
	auto t0 = clk::now();
	bool all = drv_dpdk_unmap_quiesce();
	long ms = ms_since(t0);
	stop.store(true);
	parked.join();
	EXPECT_TRUE(all);
	EXPECT_EQ(guard_waits(), w0 + 1);
	EXPECT_EQ(guard_timeouts(), to0);
	EXPECT_LT(ms, (long)k_wait_ms) << "waited for an offline slot";
}

// A worker inside a "burst" (between two quiescent points) holds the
// unmapping thread until it passes its next quiescent point; the event
// order is recorded with one sequence counter.
TEST_F(DpdkUnmap, WaitsForTheWorkersQuiescentPoint)
{
	std::atomic<uint64_t> seq{0};
	std::atomic<uint64_t> burst_end_seq{0}, return_seq{0};
	std::atomic<bool> in_burst{false}, release{false}, stop{false}, returned{false};
	std::atomic<bool> quiesce_result{false};
	bool gate_ok = true;

	std::thread worker([&] {
		drv_dpdk_unmap_online(0);
		drv_dpdk_unmap_quiescent(0);
		in_burst.store(true);
		// the burst lasts until the test lets it end
		if (!wait_for([&] { return release.load(); }))
			gate_ok = false;
		burst_end_seq.store(++seq);
		drv_dpdk_unmap_quiescent(0);
		// later loop iterations
		while (!stop.load()) {
			drv_dpdk_unmap_quiescent(0);
			std::this_thread::yield();
		}
		drv_dpdk_unmap_offline(0);
	});
	ASSERT_TRUE(wait_for([&] { return in_burst.load(); }));

	uint64_t tok0 = guard_token(), to0 = guard_timeouts();
	auto t0 = clk::now();
	std::thread unmapper([&] {
		quiesce_result.store(drv_dpdk_unmap_quiesce());
		return_seq.store(++seq);
		returned.store(true);
	});
	// the waiter is inside quiesce once it has published its token
	bool published = wait_for([&] { return guard_token() == tok0 + 1; });
	// a guard that does not wait returns within microseconds
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	bool returned_early = returned.load();
	release.store(true);
	bool returned_late = wait_for([&] { return returned.load(); });
	long ms = ms_since(t0);
	unmapper.join();
	stop.store(true);
	worker.join();

	ASSERT_TRUE(gate_ok);
	EXPECT_TRUE(published);
	EXPECT_FALSE(returned_early) << "returned while the worker was inside its burst";
	EXPECT_TRUE(returned_late);
	EXPECT_TRUE(quiesce_result.load());
	EXPECT_NE(burst_end_seq.load(), 0u);
	EXPECT_LT(burst_end_seq.load(), return_seq.load())
	    << "quiesce returned before the worker's burst ended";
	EXPECT_EQ(guard_timeouts(), to0);
	EXPECT_LT(ms, (long)k_wait_ms) << "the worker passed; the wait must end then";
}

// What the guard exists for, in a loop: the unmapping thread clears a
// "connected" flag (the PMD's ETH_MEMIF_FLAG_CONNECTED, a plain field read
// without ordering at the top of each burst), quiesces, and then no burst
// that saw the flag set may still be running. The worker polls freely (no
// gates); bounded in rounds and time.
TEST_F(DpdkUnmap, NoBurstThatSawTheFlagOutlivesQuiesce)
{
	std::atomic<bool> connected{false}, stop{false};
	std::atomic<int> in_connected_burst{0};
	std::atomic<uint64_t> bursts{0};
	volatile uint64_t sink = 0;

	std::thread worker([&] {
		drv_dpdk_unmap_online(1);
		while (!stop.load(std::memory_order_relaxed)) {
			drv_dpdk_unmap_quiescent(1);
			if (!connected.load(std::memory_order_relaxed))
				continue;
			in_connected_burst.store(1, std::memory_order_relaxed);
			for (int k = 0; k < 200; k++) // the burst's work
				sink = sink + (uint64_t)k;
			in_connected_burst.store(0, std::memory_order_relaxed);
			bursts.fetch_add(1, std::memory_order_relaxed);
		}
		drv_dpdk_unmap_offline(1);
	});

	uint64_t to0 = guard_timeouts();
	int rounds = 0, violations = 0, all_ok = 0;
	auto end = clk::now() + std::chrono::seconds(5);
	for (; rounds < 300 && clk::now() < end; rounds++) {
		uint64_t b0 = bursts.load();
		connected.store(true, std::memory_order_relaxed);
		// let the worker run bursts that saw the flag
		wait_for([&] { return bursts.load() > b0 + 2; });
		connected.store(false, std::memory_order_relaxed);
		all_ok += drv_dpdk_unmap_quiesce() ? 1 : 0;
		violations += in_connected_burst.load(std::memory_order_relaxed);
	}
	stop.store(true);
	worker.join();

	EXPECT_GT(rounds, 10);
	EXPECT_GT(bursts.load(), (uint64_t)rounds) << "the worker ran no bursts to race with";
	EXPECT_EQ(violations, 0);
	EXPECT_EQ(all_ok, rounds);
	EXPECT_EQ(guard_timeouts(), to0);
}

// A worker that goes offline while the waiter waits for it releases the
// waiter at once (a worker leaving the loop after its last burst).
TEST_F(DpdkUnmap, GoingOfflineReleasesTheWaiter)
{
	std::atomic<bool> in_burst{false}, release{false}, returned{false};
	std::atomic<bool> quiesce_result{false};
	std::atomic<uint64_t> seq{0}, offline_seq{0}, return_seq{0};
	std::thread worker([&] {
		drv_dpdk_unmap_online(2);
		drv_dpdk_unmap_quiescent(2);
		in_burst.store(true);
		wait_for([&] { return release.load(); });
		offline_seq.store(++seq);
		drv_dpdk_unmap_offline(2); // no quiescent point before it
	});
	ASSERT_TRUE(wait_for([&] { return in_burst.load(); }));
	uint64_t tok0 = guard_token();
	auto t0 = clk::now();
	std::thread unmapper([&] {
		quiesce_result.store(drv_dpdk_unmap_quiesce());
		return_seq.store(++seq);
		returned.store(true);
	});
	bool published = wait_for([&] { return guard_token() == tok0 + 1; });
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	bool returned_early = returned.load();
	release.store(true);
	worker.join();
	unmapper.join();
	long ms = ms_since(t0);

	EXPECT_TRUE(published);
	EXPECT_FALSE(returned_early);
	EXPECT_TRUE(quiesce_result.load());
	EXPECT_LT(offline_seq.load(), return_seq.load());
	EXPECT_LT(ms, (long)k_wait_ms);
}

// A worker that never reaches a quiescent point (preempted, stopped in a
// debugger) is waited for the bound (wait_ms) and no longer; with two
// such workers the bound is still the total, not one per slot.
void check_bound(const std::vector<unsigned> &stuck_slots)
{
	std::atomic<unsigned> parked{0};
	std::atomic<bool> release{false};
	std::vector<std::thread> workers;
	for (unsigned s : stuck_slots)
		workers.emplace_back([&, s] {
			drv_dpdk_unmap_online(s);
			drv_dpdk_unmap_quiescent(s);
			parked.fetch_add(1);
			wait_for([&] { return release.load(); });
			drv_dpdk_unmap_offline(s);
		});
	ASSERT_TRUE(wait_for([&] { return parked.load() == stuck_slots.size(); }));
	uint64_t to0 = guard_timeouts(), w0 = guard_waits();
	auto t0 = clk::now();
	bool all = drv_dpdk_unmap_quiesce();
	long ms = ms_since(t0);
	release.store(true);
	for (auto &w : workers)
		w.join();

	EXPECT_FALSE(all);
	EXPECT_EQ(guard_timeouts(), to0 + 1);
	EXPECT_EQ(guard_waits(), w0 + 1);
	EXPECT_GE(ms, (long)k_wait_ms) << "gave up before the bound";
	EXPECT_LT(ms, (long)k_wait_ms + k_slack_ms) << "the bound did not hold";
}

TEST_F(DpdkUnmap, BoundHoldsForAStuckWorker)
{
	check_bound({4});
}

TEST_F(DpdkUnmap, BoundIsTotalNotPerSlot)
{
	check_bound({5, 6, 63});
}

// After a timeout the guard works as before: the next quiesce with a
// polling worker succeeds.
TEST_F(DpdkUnmap, WorksAfterATimeout)
{
	check_bound({8});
	std::atomic<bool> stop{false}, started{false};
	std::thread worker([&] {
		drv_dpdk_unmap_online(8);
		started.store(true);
		while (!stop.load()) {
			drv_dpdk_unmap_quiescent(8);
			std::this_thread::yield();
		}
		drv_dpdk_unmap_offline(8);
	});
	ASSERT_TRUE(wait_for([&] { return started.load(); }));
	uint64_t to0 = guard_timeouts();
	bool all = drv_dpdk_unmap_quiesce();
	stop.store(true);
	worker.join();
	EXPECT_TRUE(all);
	EXPECT_EQ(guard_timeouts(), to0);
}

} // namespace
