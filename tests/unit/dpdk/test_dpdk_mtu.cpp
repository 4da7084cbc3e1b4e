// dpdkMtu's plan (drivers/dpdk/drv_dpdk_mtu.h): what a port is asked for and
// the mbuf data room, from the device info the PMDs here report.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "drv_dpdk_mtu.h"
}

namespace {

// rte_mbuf_core.h's values, spelled out: the test checks the arithmetic
// against them rather than against itself
constexpr unsigned kHeadroom = 128;
constexpr unsigned kDefaultRoom = 2048;

// a NIC with 9.5 KB jumbo frames (i40e-like: its overhead in max_rx_pktlen)
drv_dpdk_mtu_port nic()
{
	return {"0000:3b:00.0", "net_i40e", 68, 9710, 9728, 0};
}
// DPDK 22.11.11's net_af_packet as seen here: no max_mtu of its own (the
// ethdev default 65535) and 1518-byte frames whatever framesz= says
// (net_tap reports 1522 the same way)
drv_dpdk_mtu_port afp()
{
	return {"net_af_packet0", "net_af_packet", 0, UINT16_MAX, 1518, 0};
}
// net_memif: a nominal 1518-byte frame limit and no mtu_set of its own
drv_dpdk_mtu_port memif()
{
	return {"net_memif0", "net_memif", 0, UINT16_MAX, 1518, 2048};
}

TEST(DpdkMtu, DataRoomHoldsTheLargestFrame)
{
	EXPECT_EQ(drv_dpdk_mtu_data_room(1500), kHeadroom + kDefaultRoom); // DPDK's default
	unsigned r = drv_dpdk_mtu_data_room(9000);
	EXPECT_GE(r - kHeadroom, 9000u + 14 + 4 + 4); // header, a VLAN tag, the FCS
	EXPECT_EQ((r - kHeadroom) % 64, 0u);
	EXPECT_LT(r - kHeadroom, 9000u + 14 + 4 + 4 + 64);
}

TEST(DpdkMtu, DefaultLeavesThePortAlone)
{
	drv_dpdk_mtu_plan p;
	char err[256] = "";
	drv_dpdk_mtu_port a = afp();
	ASSERT_EQ(drv_dpdk_mtu_decide(&a, 1500, &p, err, sizeof err), 0) << err;
	EXPECT_FALSE(p.set_port_mtu);
	EXPECT_EQ(p.mtu, 1500u);
}

TEST(DpdkMtu, JumboOnAPortThatTakesIt)
{
	drv_dpdk_mtu_plan p;
	char err[256] = "";
	drv_dpdk_mtu_port t = nic();
	ASSERT_EQ(drv_dpdk_mtu_decide(&t, 9000, &p, err, sizeof err), 0) << err;
	EXPECT_TRUE(p.set_port_mtu);
	EXPECT_EQ(p.mtu, 9000u);
	EXPECT_EQ(p.data_room, drv_dpdk_mtu_data_room(9000));
}

TEST(DpdkMtu, JumboRefusedWithThePortsLimits)
{
	drv_dpdk_mtu_plan p;
	char err[512] = "";
	drv_dpdk_mtu_port a = afp();
	ASSERT_EQ(drv_dpdk_mtu_decide(&a, 9000, &p, err, sizeof err), -1);
	std::string e(err);
	EXPECT_NE(e.find("net_af_packet0"), std::string::npos) << e;
	EXPECT_NE(e.find("9000"), std::string::npos) << e;
	EXPECT_NE(e.find("1518"), std::string::npos) << e; // the port's own limit
	EXPECT_NE(e.find("net_memif"), std::string::npos) << e; // what does take it
	// within max_mtu but not with the port's overhead in max_rx_pktlen
	drv_dpdk_mtu_port odd = {"p", "net_x", 0, 9000, 9010, 0};
	EXPECT_EQ(drv_dpdk_mtu_decide(&odd, 9000, &p, err, sizeof err), 0) << err;
	drv_dpdk_mtu_port tight = {"p", "net_x", 0, UINT16_MAX, 9000, 0};
	EXPECT_EQ(drv_dpdk_mtu_decide(&tight, 9000, &p, err, sizeof err), -1)
	    << "9000 + 18 bytes of overhead is more than a 9000-byte frame";
	drv_dpdk_mtu_port floor = {"p", "net_x", 1280, 9000, 9018, 0};
	EXPECT_EQ(drv_dpdk_mtu_decide(&floor, 1000, &p, err, sizeof err), -1);
	EXPECT_NE(std::string(err).find("1280"), std::string::npos) << err;
}

TEST(DpdkMtu, MemifHasNoMtuOfItsOwnButNeedsBuffersForAFrame)
{
	drv_dpdk_mtu_plan p;
	char err[512] = "";
	drv_dpdk_mtu_port m = memif();
	ASSERT_EQ(drv_dpdk_mtu_decide(&m, 1500, &p, err, sizeof err), 0) << err; // 1514 <= 2048
	// the default 2 KB buffers: a 9014-byte frame would span five
	ASSERT_EQ(drv_dpdk_mtu_decide(&m, 9000, &p, err, sizeof err), -1);
	EXPECT_NE(std::string(err).find("bsize=9014"), std::string::npos) << err;
	m.memif_bsize = 9013;
	EXPECT_EQ(drv_dpdk_mtu_decide(&m, 9000, &p, err, sizeof err), -1);
	m.memif_bsize = 9014;
	ASSERT_EQ(drv_dpdk_mtu_decide(&m, 9000, &p, err, sizeof err), 0) << err;
	EXPECT_FALSE(p.set_port_mtu); // configure would refuse 9000 against 1518
	EXPECT_EQ(p.data_room, drv_dpdk_mtu_data_room(9000));
}

TEST(DpdkMtu, MemifBsizeFromTheSpec)
{
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0,role=server,socket=/x"), 2048u);
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0,role=client,bsize=9216,socket=/x"), 9216u);
	// as the PMD reads it: decimal (010000 is ten thousand, 0x2400 is 0,
	// which the PMD refuses at probe), and the last bsize= wins
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0,bsize=010000"), 10000u);
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0,bsize=0x2400"), 0u);
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0,bsize=2048,rsize=7,bsize=9216"), 9216u);
	// a key that only ends in bsize is not it
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0,xbsize=9216"), 2048u);
	EXPECT_EQ(drv_dpdk_memif_bsize("net_memif0"), 2048u);
}

TEST(DpdkMtu, OutsideTheStacksRange)
{
	drv_dpdk_mtu_plan p;
	char err[256] = "";
	drv_dpdk_mtu_port t = nic();
	EXPECT_EQ(drv_dpdk_mtu_decide(&t, 575, &p, err, sizeof err), -1);
	EXPECT_EQ(drv_dpdk_mtu_decide(&t, 9001, &p, err, sizeof err), -1);
	EXPECT_NE(std::string(err).find("576-9000"), std::string::npos) << err;
	EXPECT_EQ(drv_dpdk_mtu_decide(&t, 576, &p, err, sizeof err), 0) << err;
}

// The stall threshold: 200 us, plus a poll's full bursts at 4 cycles a
// byte of Ethernet frame (MTU + 14), per port; 0 is the default MTU.
TEST(DpdkMtu, StallThresholdCoversAPollsFullBursts)
{
	const uint64_t hz = 2600000000u;
	const uint64_t base = hz / 5000u; // 200 us
	EXPECT_EQ(drv_dpdk_stall_tsc(hz, 1, 16, 1500), base + 16u * 1514u * 4u);
	EXPECT_EQ(drv_dpdk_stall_tsc(hz, 1, 16, 0), drv_dpdk_stall_tsc(hz, 1, 16, 1500));
	EXPECT_EQ(drv_dpdk_stall_tsc(hz, 1, 16, 9000), base + 16u * 9014u * 4u);
	EXPECT_EQ(drv_dpdk_stall_tsc(hz, 2, 16, 9000), base + 2u * 16u * 9014u * 4u);
	// a full jumbo poll measured here: ~960 transfers at ~350 cycles, ~130 us
	EXPECT_GT(drv_dpdk_stall_tsc(hz, 1, 16, 9000), 960u * 350u);
	EXPECT_GT(drv_dpdk_stall_tsc(hz, 2, 16, 9000), 2u * 960u * 350u);
}

} // namespace
