// The configuration reader's limits: entry counts of the ';' lists of the
// dpdk* attributes (control/ctl_config_dpdk.c) reported as given, and
// values longer than what holds them refused with FILE:LINE rather than
// cut (dpdk*, router id), and the summary printed whole.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctl_test_util.h"

namespace
{

using lines = std::vector<std::string>;

// n entries "10.<i>.0.2/24" separated by ';'
std::string address_list(unsigned n)
{
	std::string s;
	for (unsigned i = 0; i < n; i++)
		s += (i ? ";10." : "10.") + std::to_string(10 + i) + ".0.2/24";
	return s;
}

bool has_line(const std::vector<std::string> &v, const std::string &want)
{
	for (const auto &l : v)
		if (l == want)
			return true;
	return false;
}

bool has_prefix(const std::vector<std::string> &v, const std::string &want)
{
	for (const auto &l : v)
		if (l.compare(0, want.size(), want) == 0)
			return true;
	return false;
}

TEST(CtlConfigDpdk, TooManyAddressesReportTheirCount)
{
	// the splitter stops at 8 + 1: the message must still say 12
	loaded_config c("dataplane {\n  dpdkPorts: net_tap0;net_tap1\n  dpdkAddress: " +
			address_list(12) + "\n}\n");
	EXPECT_EQ(c.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(c.diags(), "t.conf:3: error: dataplane: dpdkAddress has 12 entries "
					"for 2 ports (dpdkPorts): one address/prefix per port, in "
					"the same order, separated by ';'"))
	    << ::testing::PrintToString(c.diags());
	// 9, just past the splitter's cap
	loaded_config nine("dataplane {\n  dpdkPorts: net_tap0;net_tap1\n  dpdkAddress: " +
			   address_list(9) + "\n}\n");
	EXPECT_TRUE(has_prefix(nine.diags(), "t.conf:3: error: dataplane: dpdkAddress has 9 "
					     "entries for 2 ports"))
	    << ::testing::PrintToString(nine.diags());
}

// dpdkMtu: 1500 unless given; 576 (RFC 791) to 9000 (jumbo frames); outside
// that an error at FILE:LINE naming the range.
TEST(CtlConfigDpdk, MtuDefaultRangeAndErrors)
{
	loaded_config def("dataplane {\n  dpdkPorts: net_tap0\n}\n");
	EXPECT_EQ(def.cfg.dataplane.dpdk.mtu, 1500u) << ::testing::PrintToString(def.diags());
	loaded_config jumbo("dataplane {\n  dpdkPorts: net_tap0\n  dpdkMtu: 9000\n}\n");
	EXPECT_EQ(jumbo.err, RR_OK) << ::testing::PrintToString(jumbo.diags());
	EXPECT_EQ(jumbo.cfg.dataplane.dpdk.mtu, 9000u);
	loaded_config low("dataplane {\n  dpdkPorts: net_tap0\n  dpdkMtu: 576\n}\n");
	EXPECT_EQ(low.err, RR_OK) << ::testing::PrintToString(low.diags());
	EXPECT_EQ(low.cfg.dataplane.dpdk.mtu, 576u);
	for (const char *bad : {"9001", "575", "65535"}) {
		loaded_config c(std::string("dataplane {\n  dpdkPorts: net_tap0\n  dpdkMtu: ") + bad +
				"\n}\n");
		EXPECT_EQ(c.err, RR_E_CONFIG_VALUE) << bad;
		EXPECT_TRUE(has_line(c.diags(), std::string("t.conf:3: error: dataplane: dpdkMtu ") +
							bad + " is out of range (576-9000; an IP "
							      "MTU, jumbo frames up to 9000)"))
		    << ::testing::PrintToString(c.diags());
	}
}

TEST(CtlConfigDpdk, TooManyGatewaysReportTheirCount)
{
	// the gateway past the splitter's cap: not "names no gateway"
	loaded_config two("dataplane {\n  dpdkPorts: net_tap0;net_tap1\n"
			  "  dpdkAddress: 10.77.0.2/24;10.78.0.2/24\n"
			  "  dpdkGateway: ;;;;;;;;;;10.78.0.1\n}\n");
	EXPECT_EQ(two.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_prefix(two.diags(), "t.conf:4: error: dataplane: dpdkGateway has 11 "
					    "entries for 2 ports (dpdkPorts)"))
	    << ::testing::PrintToString(two.diags());
	loaded_config one("dataplane {\n  dpdkPorts: net_tap0\n  dpdkAddress: 10.77.0.2/24\n"
			  "  dpdkGateway: ;;;;;;;;;;;;10.77.0.1\n}\n");
	EXPECT_EQ(one.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_prefix(one.diags(), "t.conf:4: error: dataplane: dpdkGateway has 13 "
					    "entries for 1 port (dpdkPorts)"))
	    << ::testing::PrintToString(one.diags());
}

TEST(CtlConfigDpdk, TooManyPortsReportTheirCount)
{
	std::string ports;
	for (unsigned i = 0; i < 12; i++)
		ports += (i ? ";net_tap" : "net_tap") + std::to_string(i);
	loaded_config c("dataplane {\n  dpdkPorts: " + ports + "\n}\n");
	EXPECT_EQ(c.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(c.diags(), "t.conf:2: error: dataplane: dpdkPorts: more than 8 "
					"ports (12 entries separated by ';')"))
	    << ::testing::PrintToString(c.diags());
}

TEST(CtlConfigDpdk, AddressListLongerThanItsBufferIsRefused)
{
	// 1023 bytes that are valid ("10.77.0.2/000...024") load; one byte
	// more used to be cut back to those 1023 and accepted silently
	std::string value = "10.77.0.2/" + std::string(1011, '0') + "24";
	ASSERT_EQ(value.size(), size_t(CTL_DPDK_MAX_LIST));
	loaded_config fits("dataplane {\n  dpdkPorts: net_tap0\n  dpdkAddress: " + value + "\n}\n");
	EXPECT_EQ(fits.err, RR_OK) << ::testing::PrintToString(fits.diags());
	EXPECT_EQ(fits.cfg.dataplane.dpdk.addr, 0x0a4d0002u);
	EXPECT_EQ(fits.cfg.dataplane.dpdk.prefix_len, 24u);

	loaded_config cut("dataplane {\n  dpdkPorts: net_tap0\n  dpdkAddress: " + value + "x\n}\n");
	EXPECT_EQ(cut.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(cut.diags(), "t.conf:3: error: dataplane: dpdkAddress "
					  "'10.77.0.2/000000000000000000000000000000...' is 1024 "
					  "bytes long, longer than it can be (1023 bytes)"))
	    << ::testing::PrintToString(cut.diags());
	EXPECT_EQ(cut.cfg.dataplane.dpdk.addr, 0u);

	std::string gw = "10.77.0.1" + std::string(1020, ' ') + ";";
	loaded_config g("dataplane {\n  dpdkPorts: net_tap0\n  dpdkAddress: 10.77.0.2/24\n"
			"  dpdkGateway: \"" +
			gw + "\"\n}\n");
	EXPECT_EQ(g.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(g.diags(), "t.conf:4: error: dataplane: dpdkGateway '10.77.0.1" +
					    std::string(31, ' ') +
					    "...' is 1030 bytes long, longer than it can be (1023 "
					    "bytes)"))
	    << ::testing::PrintToString(g.diags());
}

TEST(CtlConfigDpdk, PortSpecLongerThanAnEalArgumentIsRefused)
{
	std::string spec = "net_tap0,iface=" + std::string(CTL_DPDK_MAX_SPEC - 15, 'a');
	ASSERT_EQ(spec.size(), size_t(CTL_DPDK_MAX_SPEC));
	loaded_config fits("dataplane {\n  dpdkPorts: net_tap1;" + spec + "\n}\n");
	EXPECT_EQ(fits.err, RR_OK) << ::testing::PrintToString(fits.diags());
	EXPECT_EQ(fits.cfg.dataplane.dpdk.n_ports, 2u);
	EXPECT_EQ(std::string(fits.cfg.dataplane.dpdk.port[1].spec), spec);

	loaded_config longer("dataplane {\n  dpdkPorts: net_tap1;" + spec + "b\n}\n");
	EXPECT_EQ(longer.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(longer.diags(),
			     "t.conf:2: error: dataplane: dpdkPorts: port 1 "
			     "('net_tap0,iface=aaaaaaaaaaaaaaaaaaaaaaaaa...') is 501 bytes long, "
			     "longer than a port spec can be (500 bytes)"))
	    << ::testing::PrintToString(longer.diags());
	EXPECT_EQ(longer.cfg.dataplane.dpdk.n_ports, 0u);
}

TEST(CtlConfigDpdk, EalLongerThanItsLimitIsRefused)
{
	std::string eal = "-l 0,1 --file-prefix " + std::string(CTL_DPDK_MAX_EAL - 21, 'p');
	ASSERT_EQ(eal.size(), size_t(CTL_DPDK_MAX_EAL));
	loaded_config fits("dataplane {\n  dpdkEal: " + eal + "\n}\n");
	EXPECT_EQ(fits.err, RR_OK) << ::testing::PrintToString(fits.diags());
	loaded_config longer("dataplane {\n  dpdkEal: " + eal + "p\n}\n");
	EXPECT_EQ(longer.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(longer.diags(), "t.conf:2: error: dataplane: dpdkEal is 4001 bytes "
					     "long, longer than 4000 bytes"))
	    << ::testing::PrintToString(longer.diags());
}

TEST(CtlConfigDpdk, HugepagesAndNoHugeWordByWord)
{
	// --driver dpdk's check finds --no-huge wherever it is, as a whole word
	const char *tail = "  dpdkPorts: net_tap0\n  dpdkAddress: 10.77.0.2/24\n}\n";
	loaded_config last(
	    std::string("dataplane {\n  hugepages: yes\n  dpdkEal: -l 0,1\t--no-huge") + tail);
	ASSERT_EQ(last.err, RR_OK) << ::testing::PrintToString(last.diags());
	EXPECT_EQ(ctl_config_set_driver(&last.cfg, CTL_DRIVER_DPDK),
		  ctl_config_have_driver(CTL_DRIVER_DPDK) ? RR_E_CONFIG_VALUE
							  : RR_E_CONFIG_UNSUPPORTED);
	if (ctl_config_have_driver(CTL_DRIVER_DPDK)) {
		EXPECT_TRUE(has_line(last.diags(),
				     "t.conf:1: error: dataplane: hugepages: yes, but "
				     "dpdkEal says --no-huge"))
		    << ::testing::PrintToString(last.diags());
	}
	loaded_config word(std::string("dataplane {\n  hugepages: yes\n  dpdkEal: --no-hugepages "
				       "-l 0,1 x--no-huge\n") +
			   tail);
	ASSERT_EQ(word.err, RR_OK) << ::testing::PrintToString(word.diags());
	EXPECT_EQ(ctl_config_set_driver(&word.cfg, CTL_DRIVER_DPDK),
		  ctl_config_have_driver(CTL_DRIVER_DPDK) ? RR_OK : RR_E_CONFIG_UNSUPPORTED)
	    << ::testing::PrintToString(word.diags());
}

TEST(CtlConfigReader, RouterIdLongerThanTheRouterKeepsIsRefused)
{
	// the router copies the id into 128-byte buffers: 128 bytes used to
	// start as a different (cut) id
	std::string id(CTL_ROUTER_ID_MAX, 'r');
	loaded_config fits("router {\n  id: " + id + "\n}\n");
	EXPECT_EQ(fits.err, RR_OK) << ::testing::PrintToString(fits.diags());
	EXPECT_EQ(std::string(fits.cfg.router.id), id);
	loaded_config longer("router {\n  mode: standalone\n  id: " + id + "s\n}\n");
	EXPECT_EQ(longer.err, RR_E_CONFIG_VALUE);
	EXPECT_TRUE(has_line(longer.diags(),
			     "t.conf:3: error: router: id "
			     "'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr...' is 128 bytes "
			     "long, longer than 127 bytes"))
	    << ::testing::PrintToString(longer.diags());
}

TEST(CtlConfigReader, SummaryPrintsLongValuesWhole)
{
	// a saslConfigDir longer than the summary's old 768-byte line
	std::string dir = "/etc/" + std::string(900, 'd');
	loaded_config c("router {\n  saslConfigDir: " + dir +
			"\n}\nlistener {\n  host: 127.0.0.1\n  port: 5672\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	std::string s = summary_text(c.cfg, "p: ");
	std::string want = "p: would listen on 127.0.0.1:5672 (amqp, socket driver, SASL as " +
			   dir + "/qdrouterd.conf allows)\n";
	EXPECT_EQ(s.compare(0, want.size(), want), 0) << s.substr(0, 200);
}

TEST(CtlConfigReader, CpuWarningListCutShortSaysSo)
{
	// CPUs this process may not run on, more than the message holds: the
	// list ends in ", ..." instead of stopping mid-way without a word
	loaded_config c("dataplane {\n  cpus: 900-1023\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	std::string w;
	for (const auto &l : c.diags())
		if (l.find("dataplane: cpus: not among") != std::string::npos)
			w = l;
	ASSERT_FALSE(w.empty()) << ::testing::PrintToString(c.diags());
	EXPECT_NE(w.find(": 900, 901, 902"), std::string::npos) << w;
	ASSERT_GE(w.size(), 5u);
	EXPECT_EQ(w.substr(w.size() - 5), ", ...") << w;
	EXPECT_EQ(w.find("1023"), std::string::npos) << w;
}

} // namespace

namespace
{

TEST(CtlConfigReader, DiagnosticsPrintLongMessagesWhole)
{
	// rpcrouterd prints the messages with ctl_diag_print: a long file name
	// and section name used to be cut at 1023 bytes
	std::string name = "/etc/" + std::string(700, 'c') + ".conf";
	std::string section(600, 's');
	loaded_config c(section + " {\n}\n", name.c_str());
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_NE(f, nullptr);
	ctl_diag_print(&c.cfg.diag, f);
	fclose(f);
	std::string out(buf, len);
	free(buf);
	EXPECT_EQ(out, name + ":1: warning: unknown section '" + section + "' (ignored)\n");
}

} // namespace

namespace
{

TEST(CtlConfigReader, LongSaslMechanismNameSaysItIsCut)
{
	std::string mech(70, 'M');
	loaded_config c("listener {\n  port: 5672\n  saslMechanisms: ANONYMOUS " + mech + "\n}\n");
	EXPECT_EQ(c.err, RR_E_CONFIG_UNSUPPORTED);
	EXPECT_TRUE(has_line(c.diags(), "t.conf:3: error: listener *:5672: SASL mechanism '" +
					    std::string(64, 'M') +
					    "...' is not supported yet (only ANONYMOUS and PLAIN)"))
	    << ::testing::PrintToString(c.diags());
}

} // namespace

namespace
{

TEST(CtlConfigDpdk, PrefixLengthIsDigitsOnly)
{
	for (const char *bad :
	     {"10.77.0.2/+24", "10.77.0.2/ 24", "\"10.77.0.2/\t24\"", "10.77.0.2/-24"}) {
		loaded_config c(std::string("dataplane {\n  dpdkAddress: ") + bad + "\n}\n");
		EXPECT_EQ(c.err, RR_E_CONFIG_VALUE) << bad;
		EXPECT_TRUE(has_prefix(c.diags(), "t.conf:2: error: dataplane: dpdkAddress '"))
		    << bad << ": " << ::testing::PrintToString(c.diags());
	}
	loaded_config good("dataplane {\n  dpdkAddress: 10.77.0.2/024\n}\n");
	EXPECT_EQ(good.err, RR_OK) << ::testing::PrintToString(good.diags());
	EXPECT_EQ(good.cfg.dataplane.dpdk.prefix_len, 24u);
}

} // namespace
