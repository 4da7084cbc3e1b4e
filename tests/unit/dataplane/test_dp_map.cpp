// dp_map: u64 -> pointer, linear probing with backward-shift deletion.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>

#include "dp_map.h"

namespace {
void *as_val(uint64_t v) { return (void *)(uintptr_t)(v * 16 + 8); } // never NULL

// Every entry reachable from its home slot without crossing an empty slot
// (what backward-shift deletion must preserve).
bool probe_runs_intact(const struct dp_map *m)
{
	for (uint64_t i = 0; i <= m->mask; i++)
		if (m->slots[i].val && dp_map_get(m, m->slots[i].key) != m->slots[i].val)
			return false;
	return true;
}
} // namespace

TEST(DpMap, PutGetDel)
{
	struct dp_map m;
	ASSERT_EQ(dp_map_init(&m, 4), 0);
	EXPECT_EQ(m.mask + 1, 16u) << "at least 16 slots";
	EXPECT_EQ(dp_map_get(&m, 1), nullptr);
	EXPECT_EQ(dp_map_put(&m, 1, as_val(1)), 0);
	EXPECT_EQ(dp_map_put(&m, 2, as_val(2)), 0);
	EXPECT_EQ(dp_map_get(&m, 1), as_val(1));
	EXPECT_EQ(dp_map_get(&m, 2), as_val(2));
	EXPECT_EQ(dp_map_put(&m, 1, as_val(11)), 0) << "replace";
	EXPECT_EQ(m.n, 2u);
	EXPECT_EQ(dp_map_get(&m, 1), as_val(11));
	EXPECT_EQ(dp_map_del(&m, 1), as_val(11));
	EXPECT_EQ(dp_map_del(&m, 1), nullptr);
	EXPECT_EQ(dp_map_get(&m, 1), nullptr);
	EXPECT_EQ(m.n, 1u);
	dp_map_fini(&m);
}

TEST(DpMap, GrowsAtHalfLoad)
{
	struct dp_map m;
	ASSERT_EQ(dp_map_init(&m, 16), 0);
	for (uint64_t k = 0; k < 1000; k++) {
		ASSERT_EQ(dp_map_put(&m, k, as_val(k)), 0);
		ASSERT_LE(m.n * 2, m.mask + 1);
	}
	for (uint64_t k = 0; k < 1000; k++)
		ASSERT_EQ(dp_map_get(&m, k), as_val(k));
	dp_map_fini(&m);
}

// Random operations against std::unordered_map, with a small table so
// probe runs are long and wrap around the end (the cyclic cases of the
// backward shift).
TEST(DpMap, RandomOpsMatchUnorderedMap)
{
	for (uint64_t key_space : {24ull, 200ull, 1ull << 40}) {
		SCOPED_TRACE("keys below " + std::to_string(key_space));
		std::mt19937_64 rng(key_space);
		struct dp_map m;
		ASSERT_EQ(dp_map_init(&m, 16), 0);
		std::unordered_map<uint64_t, void *> ref;
		for (int op = 0; op < 200000; op++) {
			uint64_t k = rng() % key_space;
			switch (rng() % 3) {
			case 0:
				ASSERT_EQ(dp_map_put(&m, k, as_val(op)), 0);
				ref[k] = as_val(op);
				break;
			case 1: {
				auto it = ref.find(k);
				void *want = it == ref.end() ? nullptr : it->second;
				ASSERT_EQ(dp_map_del(&m, k), want) << "op " << op;
				if (it != ref.end())
					ref.erase(it);
				break;
			}
			default: {
				auto it = ref.find(k);
				ASSERT_EQ(dp_map_get(&m, k), it == ref.end() ? nullptr : it->second);
			}
			}
			ASSERT_EQ(m.n, ref.size());
			if (op % 1000 == 0) {
				ASSERT_TRUE(probe_runs_intact(&m)) << "op " << op;
			}
		}
		for (auto &kv : ref)
			ASSERT_EQ(dp_map_get(&m, kv.first), kv.second);
		dp_map_fini(&m);
	}
}

// The engine's deletion loop (dp_link_destroy) walks the slots and deletes
// as it goes, stepping back one slot after each delete: every matching
// entry must go, whatever the shifts moved.
TEST(DpMap, DeleteWhileWalkingSlots)
{
	std::mt19937_64 rng(7);
	for (int round = 0; round < 200; round++) {
		struct dp_map m;
		ASSERT_EQ(dp_map_init(&m, 16), 0);
		std::unordered_map<uint64_t, void *> keep;
		for (int i = 0; i < 7; i++) { // 7 of 16: long runs
			uint64_t k = rng() % 64;
			bool odd = rng() & 1;
			void *v = odd ? as_val(1) : as_val(2);
			ASSERT_EQ(dp_map_put(&m, k, v), 0);
			keep.erase(k);
			if (!odd)
				keep[k] = v;
		}
		for (uint64_t i = 0; i <= m.mask; i++) {
			if (m.slots[i].val != as_val(1))
				continue;
			dp_map_del(&m, m.slots[i].key);
			i--; // as dp_link_destroy: the shift may have moved one into slot i
		}
		ASSERT_EQ(m.n, keep.size());
		for (auto &kv : keep)
			ASSERT_EQ(dp_map_get(&m, kv.first), kv.second);
		dp_map_fini(&m);
	}
}
