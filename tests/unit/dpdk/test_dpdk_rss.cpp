// Hardware RSS or software steering (drv_dpdk_rss_decide in
// drivers/dpdk/drv_dpdk_steer.h): the decision from a port's capabilities
// (the rte_eth_dev_info fields it reads). No hardware here has RSS, so the
// capability sets of the ports below are written from their PMDs' dev_info
// (DPDK 22.11) and from docs/dpdk-notes.md section 4 for the vdevs.
#include <gtest/gtest.h>

#include "drv_dpdk_steer.h"

namespace
{

constexpr uint64_t TCP4 = DRV_DPDK_RSS_NONFRAG_IPV4_TCP;
constexpr uint64_t IP4 = DRV_DPDK_RSS_IPV4;
constexpr uint64_t UDP4 = 1ull << 5; // RTE_ETH_RSS_NONFRAG_IPV4_UDP
constexpr uint64_t TCP6 = 1ull << 10; // RTE_ETH_RSS_NONFRAG_IPV6_TCP

drv_dpdk_rss_caps caps(uint64_t hf, uint16_t reta, uint8_t key, uint16_t rxq, bool vdev = false)
{
	drv_dpdk_rss_caps c{};
	c.flow_type_rss_offloads = hf;
	c.reta_size = reta;
	c.hash_key_size = key;
	c.max_rx_queues = rxq;
	c.vdev = vdev;
	return c;
}

} // namespace

TEST(dpdk_rss, OneWorkerNeedsNoSteering)
{
	drv_dpdk_rss_plan p;
	auto c = caps(TCP4 | IP4, 128, 40, 64);
	EXPECT_EQ(drv_dpdk_rss_decide(&c, 1, &p), DRV_DPDK_RSS_ONE_QUEUE);
	EXPECT_EQ(p.mode, DRV_DPDK_RSS_ONE_QUEUE);
	EXPECT_EQ(p.rss_hf, 0u);
	ASSERT_NE(p.why, nullptr);
}

TEST(dpdk_rss, IntelClassNicGetsHardware)
{
	// ixgbe: 40-byte key, 128-entry RETA; i40e/ice: 52-byte key, 512 entries
	drv_dpdk_rss_plan p;
	auto ixgbe = caps(TCP4 | IP4 | UDP4 | TCP6, 128, 40, 128);
	ASSERT_EQ(drv_dpdk_rss_decide(&ixgbe, 2, &p), DRV_DPDK_RSS_HARDWARE);
	EXPECT_EQ(p.rss_hf, TCP4 | IP4); // only what steering needs, nothing of IPv6/UDP
	EXPECT_EQ(p.reta_size, 128);
	EXPECT_EQ(p.key_len, 40);
	auto i40e = caps(TCP4 | IP4 | UDP4, 512, 52, 320);
	ASSERT_EQ(drv_dpdk_rss_decide(&i40e, 8, &p), DRV_DPDK_RSS_HARDWARE);
	EXPECT_EQ(p.reta_size, 512);
	EXPECT_EQ(p.key_len, 52);
	// the RETA the plan names is one drv_dpdk_steer_init accepts, and its
	// entries are the workers: what the driver writes to the port
	drv_dpdk_steer s{};
	ASSERT_EQ(drv_dpdk_steer_init(&s, 8, p.reta_size), 0);
	for (unsigned i = 0; i < p.reta_size; i++)
		ASSERT_EQ(s.reta[i], i % 8) << i;
}

TEST(dpdk_rss, TcpWithoutPlainIpv4HashesTcpOnly)
{
	drv_dpdk_rss_plan p;
	auto c = caps(TCP4 | UDP4, 64, 40, 16);
	ASSERT_EQ(drv_dpdk_rss_decide(&c, 4, &p), DRV_DPDK_RSS_HARDWARE);
	EXPECT_EQ(p.rss_hf, TCP4);
	EXPECT_EQ(p.reta_size, 64);
}

TEST(dpdk_rss, VdevsGetSoftware)
{
	drv_dpdk_rss_plan p;
	// net_memif and net_af_packet: no RSS at all
	auto memif = caps(0, 0, 0, 255, true);
	EXPECT_EQ(drv_dpdk_rss_decide(&memif, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	EXPECT_EQ(p.rss_hf, 0u);
	EXPECT_EQ(p.reta_size, 128); // the software table
	auto afp = caps(0, 0, 0, 2, true);
	EXPECT_EQ(drv_dpdk_rss_decide(&afp, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	// net_tap advertises ipv4-tcp and a key, hashes nothing of it
	auto tap = caps(TCP4 | IP4 | UDP4 | TCP6, 128, 40, 16, true);
	EXPECT_EQ(drv_dpdk_rss_decide(&tap, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	// the same capabilities on a PCI port: hardware
	tap.vdev = false;
	EXPECT_EQ(drv_dpdk_rss_decide(&tap, 2, &p), DRV_DPDK_RSS_HARDWARE);
}

TEST(dpdk_rss, MissingPiecesGiveSoftware)
{
	drv_dpdk_rss_plan p;
	auto no_tcp = caps(IP4 | UDP4, 128, 40, 64); // hashes addresses only
	EXPECT_EQ(drv_dpdk_rss_decide(&no_tcp, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto no_key = caps(TCP4 | IP4, 128, 0, 64); // its own key only
	EXPECT_EQ(drv_dpdk_rss_decide(&no_key, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto short_key = caps(TCP4 | IP4, 128, 15, 64); // less than the 16 an IPv4 hash reads
	EXPECT_EQ(drv_dpdk_rss_decide(&short_key, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto key16 = caps(TCP4 | IP4, 128, 16, 64);
	EXPECT_EQ(drv_dpdk_rss_decide(&key16, 2, &p), DRV_DPDK_RSS_HARDWARE);
	auto no_reta = caps(TCP4 | IP4, 0, 40, 64);
	EXPECT_EQ(drv_dpdk_rss_decide(&no_reta, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto odd_reta = caps(TCP4 | IP4, 96, 40, 64); // not a power of two
	EXPECT_EQ(drv_dpdk_rss_decide(&odd_reta, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto small_reta = caps(TCP4 | IP4, 32, 40, 64);
	EXPECT_EQ(drv_dpdk_rss_decide(&small_reta, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto big_reta = caps(TCP4 | IP4, 1024, 40, 64); // above the steering's 512
	EXPECT_EQ(drv_dpdk_rss_decide(&big_reta, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	auto few_queues = caps(TCP4 | IP4, 128, 40, 2);
	EXPECT_EQ(drv_dpdk_rss_decide(&few_queues, 4, &p), DRV_DPDK_RSS_SOFTWARE);
	EXPECT_EQ(drv_dpdk_rss_decide(&few_queues, 2, &p), DRV_DPDK_RSS_HARDWARE);
	// software plans carry no hardware settings
	EXPECT_EQ(drv_dpdk_rss_decide(&no_tcp, 2, &p), DRV_DPDK_RSS_SOFTWARE);
	EXPECT_EQ(p.rss_hf, 0u);
	EXPECT_EQ(p.key_len, 0);
	EXPECT_EQ(p.reta_size, 128);
	ASSERT_NE(p.why, nullptr);
}

TEST(dpdk_rss, MoreWorkersThanRetaEntriesGiveSoftware)
{
	drv_dpdk_rss_plan p;
	auto c = caps(TCP4 | IP4, 64, 40, 128);
	EXPECT_EQ(drv_dpdk_rss_decide(&c, 64, &p), DRV_DPDK_RSS_HARDWARE);
	EXPECT_EQ(drv_dpdk_rss_decide(&c, 65, &p), DRV_DPDK_RSS_SOFTWARE);
}
