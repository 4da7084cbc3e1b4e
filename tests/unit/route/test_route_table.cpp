// Master address table and its immutable snapshots.
#include "route_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace
{

struct fixture {
	route_rules *rules;
	route_master *m;
	fixture()
	{
		rules = route_rules_new(ROUTE_BALANCED);
		char err[100];
		route_rules_add(rules, "openstack.org/om/rpc/unicast", false, ROUTE_CLOSEST, err,
				sizeof(err));
		route_rules_add(rules, "openstack.org/om/rpc/multicast", false, ROUTE_MULTICAST,
				err, sizeof(err));
		m = route_master_new(rules);
	}
	~fixture()
	{
		route_master_free(m);
		route_rules_free(rules);
	}
};

const uint8_t *B(const std::string &s)
{
	return reinterpret_cast<const uint8_t *>(s.data());
}

route_dest dest(uint16_t worker, uint32_t link, const uint32_t *outstanding = nullptr,
		uint32_t capacity = 0)
{
	route_dest d{};
	d.kind = ROUTE_DEST_LINK;
	d.worker = worker;
	d.link = link;
	d.outstanding = outstanding;
	d.capacity = capacity;
	return d;
}

uint32_t add(route_master *m, const std::string &a, uint16_t w, uint32_t l)
{
	route_dest d = dest(w, l);
	return route_master_add(m, B(a), a.size(), &d);
}

uint32_t rm(route_master *m, const std::string &a, uint16_t w, uint32_t l)
{
	return route_master_remove(m, B(a), a.size(), w, l);
}

const route_entry *look(const route_table *t, const std::string &a)
{
	return route_table_lookup(t, B(a), a.size());
}

} // namespace

TEST(RouteMaster, AddRemoveCounts)
{
	fixture f;
	const std::string a = "openstack.org/om/rpc/unicast/nova/compute/host1";
	EXPECT_EQ(route_master_count(f.m, B(a), a.size()), 0u);
	EXPECT_FALSE(route_master_exists(f.m, B(a), a.size()));
	EXPECT_EQ(add(f.m, a, 0, 10), 1u);
	EXPECT_EQ(add(f.m, a, 1, 11), 2u);
	EXPECT_EQ(add(f.m, a, 0, 12), 3u);
	// The same (worker, link) again: updated in place, not counted twice.
	EXPECT_EQ(add(f.m, a, 0, 10), 3u);
	// Same link handle on another worker is another destination.
	EXPECT_EQ(add(f.m, a, 2, 10), 4u);
	EXPECT_TRUE(route_master_exists(f.m, B(a), a.size()));
	EXPECT_EQ(route_master_size(f.m), 1u);
	EXPECT_EQ(rm(f.m, a, 1, 11), 3u);
	EXPECT_EQ(rm(f.m, a, 1, 11), 3u); // idempotent
	EXPECT_EQ(rm(f.m, a, 7, 10), 3u); // unknown worker
	EXPECT_EQ(rm(f.m, "nope", 0, 10), 0u);
	EXPECT_EQ(rm(f.m, a, 0, 10), 2u);
	EXPECT_EQ(rm(f.m, a, 2, 10), 1u);
	EXPECT_EQ(rm(f.m, a, 0, 12), 0u);
	EXPECT_FALSE(route_master_exists(f.m, B(a), a.size()));
	EXPECT_EQ(route_master_size(f.m), 0u);
	EXPECT_EQ(add(f.m, a, 3, 1), 1u); // back again after it left
}

TEST(RouteMaster, SameAddressUnderQdrouterdNormalization)
{
	fixture f;
	EXPECT_EQ(add(f.m, "amqp:/_topo/0/R/temp.abc", 0, 1), 1u);
	EXPECT_EQ(add(f.m, "_topo/0/R/temp.abc", 0, 2), 2u);
	EXPECT_EQ(add(f.m, "/_topo/0/R/temp.abc/", 0, 3), 3u);
	EXPECT_EQ(add(f.m, "amqp://host:5672/_topo/0/R/temp.abc", 0, 4), 4u);
	EXPECT_EQ(add(f.m, "_topo/0/R/temp.abd", 0, 5), 1u);
	EXPECT_EQ(route_master_size(f.m), 2u);
	route_table *t = route_master_snapshot(f.m);
	ASSERT_NE(t, nullptr);
	const route_entry *e = look(t, "amqp:/_topo/0/R/temp.abc");
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->n_dests, 4u);
	EXPECT_EQ(look(t, "_topo/0/R/temp.abc"), e);
	route_table_free(t);
}

TEST(RouteMaster, SnapshotContents)
{
	fixture f;
	const std::string uni = "openstack.org/om/rpc/unicast/nova/compute/h1";
	const std::string multi = "openstack.org/om/rpc/multicast/nova/compute";
	const std::string other = "openstack.org/om/rpc/anycast/nova/compute";
	uint32_t out = 5;
	route_dest d = dest(2, 100, &out, 7);
	route_master_add(f.m, B(multi), multi.size(), &d);
	add(f.m, multi, 0, 101);
	add(f.m, multi, 1, 102);
	add(f.m, multi, 0, 103);
	add(f.m, multi, 2, 104);
	add(f.m, multi, 1, 105);
	add(f.m, uni, 1, 200);
	add(f.m, other, 0, 300);
	EXPECT_TRUE(route_master_changed(f.m));
	route_table *t = route_master_snapshot(f.m);
	ASSERT_NE(t, nullptr);
	EXPECT_FALSE(route_master_changed(f.m));
	EXPECT_EQ(route_table_version(t), 1u);
	EXPECT_EQ(route_table_size(t), 3u);

	const route_entry *e = look(t, multi);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->dist, ROUTE_MULTICAST);
	ASSERT_EQ(e->n_dests, 6u);
	// Grouped by worker, insertion order within a worker.
	const uint32_t want_link[] = {101, 103, 102, 105, 100, 104};
	const uint16_t want_worker[] = {0, 0, 1, 1, 2, 2};
	for (unsigned i = 0; i < 6; i++) {
		EXPECT_EQ(e->dests[i].link, want_link[i]) << i;
		EXPECT_EQ(e->dests[i].worker, want_worker[i]) << i;
		EXPECT_EQ(e->dests[i].kind, ROUTE_DEST_LINK);
	}
	EXPECT_EQ(e->dests[4].outstanding, &out);
	EXPECT_EQ(e->dests[4].capacity, 7u);
	uint32_t b = 0, en = 0;
	route_entry_worker_range(e, 1, &b, &en);
	EXPECT_EQ(b, 2u);
	EXPECT_EQ(en, 4u);
	route_entry_worker_range(e, 2, &b, &en);
	EXPECT_EQ(b, 4u);
	EXPECT_EQ(en, 6u);
	route_entry_worker_range(e, 3, &b, &en);
	EXPECT_EQ(b, en);

	e = look(t, uni);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->dist, ROUTE_CLOSEST);
	EXPECT_EQ(e->n_dests, 1u);
	EXPECT_EQ(e->dests[0].link, 200u);
	e = look(t, other);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->dist, ROUTE_BALANCED); // the default
	route_entry_worker_range(e, 1, &b, &en);
	EXPECT_EQ(b, en);

	// Absent addresses.
	EXPECT_EQ(look(t, "openstack.org/om/rpc/unicast/nova/compute/h2"), nullptr);
	EXPECT_EQ(look(t, ""), nullptr);
	EXPECT_EQ(look(t, multi + "X"), nullptr);
	EXPECT_EQ(look(t, multi.substr(0, multi.size() - 1)), nullptr);
	// The distribution of an absent address still comes from the rules.
	const std::string absent = "openstack.org/om/rpc/multicast/x/y";
	EXPECT_EQ(route_table_dist(t, B(absent), absent.size()), ROUTE_MULTICAST);
	EXPECT_EQ(route_table_dist(t, B(uni), uni.size()), ROUTE_CLOSEST);
	EXPECT_EQ(route_table_dist(t, B(std::string("zz")), 2), ROUTE_BALANCED);
	route_table_free(t);

	// Nothing changed: still a new version when asked.
	t = route_master_snapshot(f.m);
	EXPECT_EQ(route_table_version(t), 2u);
	route_table_free(t);
	add(f.m, uni, 1, 201);
	EXPECT_TRUE(route_master_changed(f.m));
	t = route_master_snapshot(f.m);
	EXPECT_EQ(route_table_version(t), 3u);
	route_table_free(t);
}

TEST(RouteMaster, EmptySnapshot)
{
	fixture f;
	route_table *t = route_master_snapshot(f.m);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(route_table_size(t), 0u);
	EXPECT_EQ(look(t, "a"), nullptr);
	EXPECT_EQ(look(t, ""), nullptr);
	EXPECT_EQ(route_table_dist(t, B(std::string("openstack.org/om/rpc/unicast/x")), 30),
		  ROUTE_CLOSEST);
	route_table_free(t);
}

TEST(RouteMaster, SnapshotIsImmutable)
{
	fixture f;
	for (int i = 0; i < 50; i++)
		add(f.m, "addr" + std::to_string(i), static_cast<uint16_t>(i % 3), i);
	route_table *t1 = route_master_snapshot(f.m);
	ASSERT_NE(t1, nullptr);
	// Change everything in the master, then free it: t1 must not share a
	// byte with it (ASan would see a use after free).
	for (int i = 0; i < 50; i++)
		rm(f.m, "addr" + std::to_string(i), static_cast<uint16_t>(i % 3), i);
	for (int i = 0; i < 50; i++)
		add(f.m, "addr" + std::to_string(i), 9, 1000 + i);
	add(f.m, "new", 0, 1);
	route_table *t2 = route_master_snapshot(f.m);
	route_master_free(f.m);
	f.m = route_master_new(f.rules);

	EXPECT_EQ(route_table_size(t1), 50u);
	for (int i = 0; i < 50; i++) {
		const route_entry *e = look(t1, "addr" + std::to_string(i));
		ASSERT_NE(e, nullptr) << i;
		ASSERT_EQ(e->n_dests, 1u);
		EXPECT_EQ(e->dests[0].link, static_cast<uint32_t>(i));
		EXPECT_EQ(e->dests[0].worker, i % 3);
		const route_entry *e2 = look(t2, "addr" + std::to_string(i));
		ASSERT_NE(e2, nullptr);
		EXPECT_EQ(e2->dests[0].link, static_cast<uint32_t>(1000 + i));
	}
	EXPECT_EQ(look(t1, "new"), nullptr);
	EXPECT_NE(look(t2, "new"), nullptr);
	route_table_free(t1);
	route_table_free(t2);
}

TEST(RouteMaster, HundredThousandAddressesAndRebuild)
{
	fixture f;
	route_master_set_seed(f.m, 0x1234567890abcdefULL);
	const int N = 100000;
	auto name = [](int i) {
		return "openstack.org/om/rpc/unicast/ex/topic/" + std::to_string(i);
	};
	for (int i = 0; i < N; i++)
		ASSERT_EQ(add(f.m, name(i), static_cast<uint16_t>(i & 1), i), 1u);
	EXPECT_EQ(route_master_size(f.m), static_cast<size_t>(N));
	route_table *t = route_master_snapshot(f.m);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(route_table_size(t), static_cast<size_t>(N));
	for (int i = 0; i < N; i++) {
		const route_entry *e = look(t, name(i));
		ASSERT_NE(e, nullptr) << i;
		ASSERT_EQ(e->n_dests, 1u);
		ASSERT_EQ(e->dests[0].link, static_cast<uint32_t>(i));
		ASSERT_EQ(e->dist, ROUTE_CLOSEST);
	}
	for (int i = 0; i < N; i++)
		ASSERT_EQ(look(t, name(N + i)), nullptr);
	// Remove the even ones, add a second destination to the odd ones.
	for (int i = 0; i < N; i += 2)
		ASSERT_EQ(rm(f.m, name(i), 0, i), 0u);
	for (int i = 1; i < N; i += 2)
		ASSERT_EQ(add(f.m, name(i), 0, N + i), 2u);
	route_table *t2 = route_master_snapshot(f.m);
	ASSERT_NE(t2, nullptr);
	EXPECT_EQ(route_table_version(t2), 2u);
	EXPECT_EQ(route_table_size(t2), static_cast<size_t>(N / 2));
	for (int i = 0; i < N; i++) {
		const route_entry *e = look(t2, name(i));
		if (i % 2 == 0) {
			ASSERT_EQ(e, nullptr) << i;
			// The old snapshot still has it.
			ASSERT_NE(look(t, name(i)), nullptr) << i;
		} else {
			ASSERT_NE(e, nullptr) << i;
			ASSERT_EQ(e->n_dests, 2u);
			// Worker 0 first (grouped by worker).
			ASSERT_EQ(e->dests[0].link, static_cast<uint32_t>(N + i));
			ASSERT_EQ(e->dests[1].link, static_cast<uint32_t>(i));
		}
	}
	route_table_free(t);
	route_table_free(t2);
}

TEST(RouteMaster, HostileAddresses)
{
	fixture f;
	std::string big(65536, 'x');
	std::string big2 = big;
	big2[65535] = 'y';
	std::string nul1("a\0b", 3), nul2("a\0c", 3), nul3("a", 1), nul4("\0", 1);
	EXPECT_EQ(add(f.m, big, 0, 1), 1u);
	EXPECT_EQ(add(f.m, big2, 0, 2), 1u);
	EXPECT_EQ(add(f.m, "", 0, 3), 1u);
	EXPECT_EQ(add(f.m, nul1, 0, 4), 1u);
	EXPECT_EQ(add(f.m, nul2, 0, 5), 1u);
	EXPECT_EQ(add(f.m, nul3, 0, 6), 1u);
	EXPECT_EQ(add(f.m, nul4, 0, 7), 1u);
	EXPECT_EQ(route_master_size(f.m), 7u);
	route_table *t = route_master_snapshot(f.m);
	ASSERT_NE(t, nullptr);
	struct {
		std::string a;
		uint32_t link;
	} want[] = {{big, 1}, {big2, 2}, {"", 3}, {nul1, 4}, {nul2, 5}, {nul3, 6}, {nul4, 7}};
	for (auto &w : want) {
		const route_entry *e = look(t, w.a);
		ASSERT_NE(e, nullptr) << w.link;
		EXPECT_EQ(e->dests[0].link, w.link);
	}
	EXPECT_EQ(look(t, std::string("a\0", 2)), nullptr);
	EXPECT_EQ(look(t, big.substr(1)), nullptr);
	// "/" and "." reduce to the empty key (qdrouterd drops the trailing
	// separator), as "" does.
	const route_entry *e = look(t, "/");
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->dests[0].link, 3u);
	route_table_free(t);
	EXPECT_EQ(rm(f.m, big, 0, 1), 0u);
	EXPECT_EQ(rm(f.m, "", 0, 3), 0u);
	EXPECT_EQ(route_master_size(f.m), 5u);
}

TEST(RouteEntry, PickBalanced)
{
	uint32_t out[3] = {4, 2, 9};
	route_dest d[3] = {dest(0, 1, &out[0], 10), dest(1, 2, &out[1], 10),
			   dest(1, 3, &out[2], 10)};
	route_entry e{ROUTE_BALANCED, 3, d};
	EXPECT_EQ(route_entry_pick_balanced(&e, 0), 1u); // fewest outstanding
	EXPECT_EQ(route_entry_pick_balanced(&e, 2), 1u);
	// A receiver that never settles fills its capacity: the others get it
	// even with more outstanding.
	out[1] = 10;
	EXPECT_EQ(route_entry_pick_balanced(&e, 0), 0u);
	out[0] = 10;
	EXPECT_EQ(route_entry_pick_balanced(&e, 0), 2u);
	// All full: the fewest overall.
	out[2] = 12;
	EXPECT_EQ(route_entry_pick_balanced(&e, 0), 0u);
	EXPECT_EQ(route_entry_pick_balanced(&e, 2), 0u);
	// Ties rotate with the rotor.
	out[0] = out[1] = out[2] = 0;
	EXPECT_EQ(route_entry_pick_balanced(&e, 0), 0u);
	EXPECT_EQ(route_entry_pick_balanced(&e, 1), 1u);
	EXPECT_EQ(route_entry_pick_balanced(&e, 5), 2u);
	// NULL outstanding counts as 0; capacity 0 means no limit.
	route_dest d2[2] = {dest(0, 1, &out[0], 0), dest(0, 2, nullptr, 0)};
	out[0] = 1000000;
	route_entry e2{ROUTE_BALANCED, 2, d2};
	EXPECT_EQ(route_entry_pick_balanced(&e2, 0), 1u);
	out[0] = 0;
	EXPECT_EQ(route_entry_pick_balanced(&e2, 0), 0u);
}

TEST(RouteEntry, PickClosestRoundRobin)
{
	route_dest d[3] = {dest(0, 1), dest(0, 2), dest(1, 3)};
	route_entry e{ROUTE_CLOSEST, 3, d};
	std::vector<uint32_t> got;
	for (uint32_t r = 0; r < 6; r++)
		got.push_back(route_entry_pick_closest(&e, r));
	EXPECT_EQ(got, (std::vector<uint32_t>{0, 1, 2, 0, 1, 2}));
}
