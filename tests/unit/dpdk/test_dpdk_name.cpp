// A dpdkPorts entry's ethdev name (drivers/dpdk/drv_dpdk_name.h): what
// port_setup looks the port up by after the EAL probed it.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "drv_dpdk_name.h"
}

namespace {

std::string name_of(const char *spec, size_t n = 64)
{
	char out[64];
	memset(out, 'x', sizeof(out));
	drv_dpdk_port_name(spec, out, n);
	return out;
}

TEST(DpdkPortName, VdevIsTheTextBeforeTheDevargs)
{
	EXPECT_EQ(name_of("net_memif0,role=server,socket=/tmp/m.sock"), "net_memif0");
	EXPECT_EQ(name_of("net_tap1"), "net_tap1");
	EXPECT_EQ(name_of("net_af_packet0,iface=veth0,qpairs=2"), "net_af_packet0");
}

TEST(DpdkPortName, PciAddressInEitherFormIsTheBusDeviceName)
{
	// the EAL's -a takes both; the PCI bus names the ethdev with a domain
	EXPECT_EQ(name_of("0000:3b:00.0"), "0000:3b:00.0");
	EXPECT_EQ(name_of("3b:00.0"), "0000:3b:00.0");
	EXPECT_EQ(name_of("3b:00.1,txq_inline=64"), "0000:3b:00.1");
	EXPECT_EQ(name_of("0001:AF:1f.7"), "0001:af:1f.7");
}

TEST(DpdkPortName, NotAPciAddressIsKeptAsWritten)
{
	// a bad function number, trailing text, another bus's name: the
	// lookup then fails with the name the user wrote
	EXPECT_EQ(name_of("3b:00.9x"), "3b:00.9x");
	EXPECT_EQ(name_of("3b:00"), "3b:00");
	EXPECT_EQ(name_of("mlx5_core.sf.2,foo=1"), "mlx5_core.sf.2");
	EXPECT_EQ(name_of(""), "");
}

TEST(DpdkPortName, OutputIsBoundedAndTerminated)
{
	EXPECT_EQ(name_of("net_memif0,role=server", 5), "net_");
	EXPECT_EQ(name_of("3b:00.0", 8), "0000:3b");
	char one[1] = {'x'};
	drv_dpdk_port_name("net_tap0", one, 1);
	EXPECT_EQ(one[0], '\0');
}

} // namespace
