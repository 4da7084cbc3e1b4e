// ctl_config: what the router core uses: resolved limits, worker count and
// CPU list, addresses, the SASL rules, and the sections not implemented yet.
#include <gtest/gtest.h>

#include <sched.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "ctl_config.h"
#include "ctl_test_util.h"

namespace {

using lines = std::vector<std::string>;

unsigned online_cpus()
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1u;
}

// "0-1,3": the CPUs this process may run on, as the loader prints them.
std::string allowed_cpus()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return "?";
	std::string out;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		int last = c;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
			last++;
		out += (out.empty() ? "" : ",") + std::to_string(c);
		if (last != c)
			out += "-" + std::to_string(last);
		c = last;
	}
	return out;
}

int first_allowed_cpu()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return -1;
}

TEST(CtlLimits, DefaultsWithoutADataplaneSection)
{
	loaded_config c("listener {\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	const struct ctl_limits &g = c.cfg.dataplane.limits;
	EXPECT_EQ(g.max_connections, 65535u);
	EXPECT_EQ(g.max_message_size, 32ull << 20);
	EXPECT_EQ(g.max_sessions, 32768u);
	EXPECT_EQ(g.max_links, 1024u);
	EXPECT_EQ(g.max_conn_buffered, 64ull << 20);
	EXPECT_EQ(g.handshake_timeout_ms, 10000u);
	EXPECT_EQ(g.link_capacity, 250u);
	EXPECT_EQ(g.session_window, 5000u);
	EXPECT_EQ(g.max_frame_size, 16384u);
	EXPECT_EQ(g.idle_timeout_ms, 16000u);
	ASSERT_EQ(c.cfg.n_listeners, 1u);
	const struct ctl_limits &l = c.cfg.listeners[0].limits;
	EXPECT_EQ(memcmp(&l, &g, sizeof(l)), 0);
	EXPECT_STREQ(c.cfg.dataplane.control_socket, "/run/rpcrouterd/rpcrouterd.sock");
	EXPECT_EQ(c.cfg.router.default_distribution, CTL_DIST_BALANCED);
	EXPECT_STREQ(c.cfg.router.sasl_config_name, "qdrouterd");
	EXPECT_FALSE(c.cfg.router.timestamps_in_utc);
}

TEST(CtlLimits, OverridesGlobalAndPerListener)
{
	loaded_config c("dataplane {\n"
			"  maxConnections: 100\n"
			"  maxMessageSize: 1048576\n"
			"  maxLinksPerConnection: 16\n"
			"  maxConnectionBufferBytes: 65536\n"
			"  handshakeTimeoutSeconds: 3\n"
			"  controlSocket: /tmp/rr.sock\n"
			"}\n"
			"listener {\n"
			"  maxSessions: 10\n"
			"  maxSessionFrames: 100\n"
			"  linkCapacity: 20\n"
			"  initialHandshakeTimeoutSeconds: 7\n"
			"  maxFrameSize: 4096\n"
			"  idleTimeoutSeconds: 30\n"
			"}\n"
			"listener {\n"
			"  port: 5673\n"
			"  maxSessions: 0\n"
			"  maxSessionFrames: 0\n"
			"  linkCapacity: 0\n"
			"  initialHandshakeTimeoutSeconds: 0\n"
			"  idleTimeoutSeconds: 0\n"
			"}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	EXPECT_EQ(c.diags(), lines{});
	EXPECT_STREQ(c.cfg.dataplane.control_socket, "/tmp/rr.sock");
	ASSERT_EQ(c.cfg.n_listeners, 2u);
	const struct ctl_limits &a = c.cfg.listeners[0].limits;
	EXPECT_EQ(a.max_connections, 100u);
	EXPECT_EQ(a.max_message_size, 1048576u);
	EXPECT_EQ(a.max_links, 16u);
	EXPECT_EQ(a.max_conn_buffered, 65536u);
	EXPECT_EQ(a.max_sessions, 10u);
	EXPECT_EQ(a.session_window, 100u);
	EXPECT_EQ(a.link_capacity, 20u);
	EXPECT_EQ(a.handshake_timeout_ms, 7000u);
	EXPECT_EQ(a.max_frame_size, 4096u);
	EXPECT_EQ(c.cfg.listeners[0].max_frame_size, 4096u);
	EXPECT_EQ(a.idle_timeout_ms, 30000u);
	// 0 selects the default (as qdrouterd); the handshake falls back to the dataplane's.
	const struct ctl_limits &b = c.cfg.listeners[1].limits;
	EXPECT_EQ(b.max_connections, 100u);
	EXPECT_EQ(b.max_sessions, 32768u);
	EXPECT_EQ(b.session_window, 5000u);
	EXPECT_EQ(b.link_capacity, 250u);
	EXPECT_EQ(b.handshake_timeout_ms, 3000u);
	EXPECT_EQ(b.idle_timeout_ms, 0u); // no idle timeout
	EXPECT_EQ(b.max_frame_size, 16384u);
}

TEST(CtlLimits, SessionWindowStaysWithin2GiBAsQdrouterd)
{
	// 2^31-1 / 1 MiB = 2047 frames; silent when the window is the default.
	loaded_config c("listener {\n  maxFrameSize: 1048576\n}\n"
			"listener {\n  port: 1\n  maxFrameSize: 1048576\n  maxSessionFrames: 3000\n}\n"
			"listener {\n  port: 2\n  maxFrameSize: 1048576\n  maxSessionFrames: 2047\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(), lines{"t.conf:7: warning: listener: maxSessionFrames 3000 x "
				   "maxFrameSize 1048576 exceeds 2^31-1 bytes: using 2047 frames"});
	ASSERT_EQ(c.cfg.n_listeners, 3u);
	EXPECT_EQ(c.cfg.listeners[0].limits.session_window, 2047u);
	EXPECT_EQ(c.cfg.listeners[1].limits.session_window, 2047u);
	EXPECT_EQ(c.cfg.listeners[2].limits.session_window, 2047u);
}

TEST(CtlLimits, PolicyLimitsTheSmallerWins)
{
	{
		loaded_config c("policy {\n  maxConnections: 7\n  maxMessageSize: 1000\n}\n");
		ASSERT_EQ(c.err, RR_OK);
		EXPECT_EQ(c.cfg.dataplane.limits.max_connections, 7u);
		EXPECT_EQ(c.cfg.dataplane.limits.max_message_size, 1000u);
	}
	{
		loaded_config c("policy {\n  maxConnections: 50\n  maxMessageSize: 5000\n}\n"
				"dataplane {\n  maxConnections: 100\n  maxMessageSize: 4000\n}\n"
				"listener {\n}\n");
		ASSERT_EQ(c.err, RR_OK);
		EXPECT_EQ(c.cfg.dataplane.limits.max_connections, 50u);
		EXPECT_EQ(c.cfg.dataplane.limits.max_message_size, 4000u);
		ASSERT_EQ(c.cfg.n_listeners, 1u);
		EXPECT_EQ(c.cfg.listeners[0].limits.max_connections, 50u);
		EXPECT_EQ(c.cfg.listeners[0].limits.max_message_size, 4000u);
	}
	{
		// maxMessageSize 0 is qdrouterd's "no limit": ours applies.
		loaded_config c("policy {\n  maxConnections: 0\n  maxMessageSize: 0\n  "
				"enableVhostPolicy: false\n  policyDir: /etc/qpid-dispatch/policies\n}\n");
		ASSERT_EQ(c.err, RR_OK);
		EXPECT_EQ(c.diags(), lines{});
		EXPECT_EQ(c.cfg.dataplane.limits.max_connections, 65535u);
		EXPECT_EQ(c.cfg.dataplane.limits.max_message_size, 32ull << 20);
	}
}

TEST(CtlLimits, WorkerThreadsCappedAtOnlineCpus)
{
	unsigned n = online_cpus();
	{
		loaded_config c("router {\n  workerThreads: 1\n}\n");
		ASSERT_EQ(c.err, RR_OK);
		EXPECT_EQ(c.diags(), lines{});
		EXPECT_EQ(c.cfg.dataplane.workers, 1u);
	}
	if (n >= 256)
		GTEST_SKIP() << "machine has 256 CPUs or more";
	loaded_config c("router {\n  workerThreads: 256\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	std::string s = n == 1 ? "" : "s";
	EXPECT_EQ(c.diags(), lines{"t.conf:2: warning: router: workerThreads 256 is more than the " +
				   std::to_string(n) + " online CPU" + s + ": " + std::to_string(n) +
				   " worker" + s + " (dataplane workers overrides)"});
	EXPECT_EQ(c.cfg.router.worker_threads, 256u);
	EXPECT_EQ(c.cfg.dataplane.workers, n);
	// dataplane workers is taken as given, with a warning.
	loaded_config d("router {\n  workerThreads: 256\n}\ndataplane {\n  workers: 256\n}\n");
	ASSERT_EQ(d.err, RR_OK);
	EXPECT_EQ(d.diags(), lines{"t.conf:5: warning: dataplane: workers 256 is more than the " +
				   std::to_string(n) + " online CPU" + s + ": workers share CPUs"});
	EXPECT_EQ(d.cfg.dataplane.workers, 256u);
}

TEST(CtlLimits, CpuList)
{
	int cpu = first_allowed_cpu();
	ASSERT_GE(cpu, 0);
	std::string c0 = std::to_string(cpu);
	loaded_config c("dataplane {\n  workers: 1\n  cpus: " + c0 + ", " + c0 + "-" + c0 + "\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	EXPECT_EQ(c.diags(), lines{});
	ASSERT_EQ(c.cfg.dataplane.n_cpus, 2u);
	EXPECT_EQ(c.cfg.dataplane.cpus[0], (unsigned)cpu);
	EXPECT_EQ(c.cfg.dataplane.cpus[1], (unsigned)cpu);

	// Ranges expand in order; CPUs this process may not use are a warning.
	loaded_config d("dataplane {\n  cpus: 1000,3-5,1001\n}\n");
	ASSERT_EQ(d.err, RR_OK);
	cpu_set_t set;
	CPU_ZERO(&set);
	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	std::string missing;
	for (unsigned x : {1000u, 3u, 4u, 5u, 1001u})
		if (!CPU_ISSET(x, &set))
			missing += (missing.empty() ? "" : ", ") + std::to_string(x);
	EXPECT_EQ(d.diags(), lines{"t.conf:2: warning: dataplane: cpus: not among the CPUs this "
				   "process may run on (" +
				   allowed_cpus() + "): " + missing});
	ASSERT_EQ(d.cfg.dataplane.n_cpus, 5u);
	const unsigned want[] = {1000, 3, 4, 5, 1001};
	for (size_t i = 0; i < 5; i++)
		EXPECT_EQ(d.cfg.dataplane.cpus[i], want[i]) << i;
}

TEST(CtlLimits, AddressDistributionDefaultsToTheRouters)
{
	loaded_config c("address {\n  prefix: a\n}\n"
			"router {\n  defaultDistribution: closest\n}\n"
			"address {\n  pattern: b.*\n  distribution: multicast\n}\n"
			"address {\n  pattern: a\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(), lines{});
	EXPECT_EQ(c.cfg.router.default_distribution, CTL_DIST_CLOSEST);
	ASSERT_EQ(c.cfg.n_addresses, 3u);
	EXPECT_STREQ(c.cfg.addresses[0].prefix, "a");
	EXPECT_EQ(c.cfg.addresses[0].distribution, CTL_DIST_CLOSEST); // router's, not schema's
	EXPECT_EQ(c.cfg.addresses[0].line, 1u);
	EXPECT_STREQ(c.cfg.addresses[1].pattern, "b.*");
	EXPECT_EQ(c.cfg.addresses[1].distribution, CTL_DIST_MULTICAST);
	EXPECT_STREQ(c.cfg.addresses[2].pattern, "a"); // a pattern may equal a prefix
	EXPECT_EQ(c.cfg.addresses[2].line, 11u);
	EXPECT_STREQ(ctl_distribution_name(CTL_DIST_BALANCED), "balanced");

	loaded_config d("address {\n  prefix: a\n}\n");
	ASSERT_EQ(d.cfg.n_addresses, 1u);
	EXPECT_EQ(d.cfg.addresses[0].distribution, CTL_DIST_BALANCED);
}

TEST(CtlLimits, AddressAttributesNotImplementedWarn)
{
	loaded_config c("address {\n  prefix: a\n  waypoint: yes\n  priority: 3\n}\n"
			"address {\n  prefix: b\n  waypoint: no\n  enableFallback: false\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(),
		  (lines{"t.conf:3: warning: address: 'waypoint' is not implemented yet (ignored)",
			 "t.conf:4: warning: address: 'priority' is not implemented yet (ignored)"}));
	EXPECT_EQ(c.cfg.n_addresses, 2u);
}

TEST(CtlLimits, SaslWithAConfigDir)
{
	loaded_config c("router {\n  saslConfigDir: /etc/sasl2\n  saslConfigName: rpc\n}\n"
			"listener {\n  host: 127.0.0.1\n  saslMechanisms: PLAIN ANONYMOUS\n}\n"
			"listener {\n  host: 127.0.0.1\n  port: 1\n  authenticatePeer: yes\n  "
			"saslMechanisms: PLAIN\n}\n"
			"listener {\n  host: 127.0.0.1\n  port: 2\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	EXPECT_EQ(c.diags(), lines{});
	EXPECT_STREQ(c.cfg.router.sasl_config_dir, "/etc/sasl2");
	EXPECT_STREQ(c.cfg.router.sasl_config_name, "rpc");
	ASSERT_EQ(c.cfg.n_listeners, 3u);
	EXPECT_TRUE(c.cfg.listeners[1].authenticate_peer);
	EXPECT_STREQ(ctl_endpoint_sasl_offer(&c.cfg, &c.cfg.listeners[0]), "PLAIN ANONYMOUS");
	EXPECT_EQ(ctl_endpoint_sasl_offer(&c.cfg, &c.cfg.listeners[2]), nullptr);
	EXPECT_EQ(summary_text(c.cfg, ""),
		  "would listen on 127.0.0.1:5672 (amqp, socket driver, SASL PLAIN ANONYMOUS)\n"
		  "would listen on 127.0.0.1:1 (amqp, socket driver, SASL PLAIN)\n"
		  "would listen on 127.0.0.1:2 (amqp, socket driver, SASL as "
		  "/etc/sasl2/rpc.conf allows)\n"
		  "router (standalone): 0 address, 0 linkRoute, 0 autoLink sections\n"
		  "dataplane: socket driver, 1 worker, no hugepages\n");
}

TEST(CtlLimits, AuthenticatePeerWithOnlyAnonymousWarns)
{
	loaded_config c("router {\n  saslConfigDir: /etc/sasl2\n}\n"
			"listener {\n  authenticatePeer: yes\n  saslMechanisms: ANONYMOUS\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(), lines{"t.conf:6: warning: listener *:5672: authenticatePeer with only "
				   "ANONYMOUS offered: no client can authenticate"});
}

TEST(CtlLimits, ConnectorsAreIgnoredWithOneWarning)
{
	// Not served, so their TLS and credentials weaken nothing: a warning only.
	loaded_config c("connector {\n  host: peer\n  sslProfile: p\n}\n"
			"connector {\n  host: peer2\n  saslUsername: u\n  saslPassword: secret\n  "
			"saslMechanisms: PLAIN\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(), lines{"t.conf:1: warning: connector: not implemented yet (connectors "
				   "come with the router mesh), ignored (2 sections)"});
	EXPECT_EQ(c.cfg.n_connectors, 2u);
}

TEST(CtlLimits, NotImplementedWarnsOncePerSectionName)
{
	loaded_config c("linkRoute {\n  prefix: a\n  direction: in\n}\n"
			"sslProfile {\n  name: one\n}\n"
			"linkRoute {\n  prefix: a\n  direction: out\n}\n"
			"sslProfile {\n  name: two\n}\n"
			"linkRoute {\n  pattern: b.#\n  direction: in\n}\n"
			"vhostUserGroupSettings {\n  users: u\n  remoteHosts: *\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(),
		  (lines{"t.conf:1: warning: linkRoute: not implemented yet, ignored (3 sections)",
			 "t.conf:5: warning: sslProfile: not implemented yet, ignored (2 sections)",
			 "t.conf:19: warning: vhostUserGroupSettings: not implemented yet, ignored "
			 "(1 section)"}));
}

TEST(CtlLimits, UsedSslProfileIsAnErrorNotAWarning)
{
	loaded_config c("sslProfile {\n  name: used\n}\n"
			"sslProfile {\n  name: spare\n}\n"
			"listener {\n  sslProfile: used\n}\n");
	EXPECT_EQ(c.err, RR_E_CONFIG_UNSUPPORTED);
	EXPECT_EQ(c.diags(),
		  (lines{"t.conf:8: error: listener *:5672: sslProfile 'used' asks for TLS, which "
			 "rpcrouterd cannot serve yet",
			 "t.conf:4: warning: sslProfile: not implemented yet, ignored (1 section)"}));
}

struct bad_case {
	const char *name;
	std::string text;
	enum rr_err err;
	lines messages;
};

void PrintTo(const bad_case &c, std::ostream *os)
{
	*os << c.name;
}

class CtlLimitsError : public ::testing::TestWithParam<bad_case> {};

TEST_P(CtlLimitsError, ReportsFileLine)
{
	const bad_case &e = GetParam();
	loaded_config c(e.text);
	EXPECT_EQ(c.err, e.err) << rr_errname(c.err);
	EXPECT_EQ(c.diags(), e.messages);
}

const std::string long_path = "/" + std::string(107, 'x');

const bad_case bad_values[] = {
	{"workers_0", "dataplane {\n  workers: 0\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: workers 0 is out of range (1-256)"}},
	{"max_connections_0", "dataplane {\n  maxConnections: 0\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: maxConnections 0 is out of range (1-16777216)"}},
	{"max_message_size_negative", "dataplane {\n  maxMessageSize: -1\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: maxMessageSize -1 is out of range (1-1099511627776)"}},
	{"max_links_0", "dataplane {\n  maxLinksPerConnection: 0\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: maxLinksPerConnection 0 is out of range (1-16777216)"}},
	{"buffer_small", "dataplane {\n  maxConnectionBufferBytes: 100\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: maxConnectionBufferBytes 100 is out of range "
	  "(512-1099511627776)"}},
	{"handshake_0", "dataplane {\n  handshakeTimeoutSeconds: 0\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: handshakeTimeoutSeconds 0 is out of range (1-4294967)"}},
	{"control_socket_long", "dataplane {\n  controlSocket: " + long_path + "\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: controlSocket '" + long_path.substr(0, 80) +
	  "...' is longer than a unix socket path can be (107 bytes)"}},
	{"max_sessions", "listener {\n  maxSessions: 65537\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: maxSessions 65537 is out of range (0-65536, AMQP 1.0 part "
	  "2.7.1)"}},
	{"session_frames_negative", "listener {\n  maxSessionFrames: -1\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: maxSessionFrames -1 is out of range (0-4294967295)"}},
	{"link_capacity_negative", "listener {\n  linkCapacity: -5\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: linkCapacity -5 is out of range (0-4294967295)"}},
	{"initial_handshake_negative", "listener {\n  initialHandshakeTimeoutSeconds: -1\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: initialHandshakeTimeoutSeconds -1 is out of range "
	  "(0-4294967)"}},
	{"policy_negative", "policy {\n  maxConnections: -1\n  maxMessageSize: -2\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: policy: maxConnections -1 is out of range (0-4294967295)",
	  "t.conf:3: error: policy: maxMessageSize -2 is out of range (0-1099511627776)"}},
	{"cpus_words", "dataplane {\n  cpus: a-b\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus 'a-b': 'a-b' is not a CPU number or range (e.g. cpus: "
	  "1,3-5)"}},
	{"cpus_backwards", "dataplane {\n  cpus: 1,5-3\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus '1,5-3': range 5-3 goes backwards"}},
	{"cpus_empty_item", "dataplane {\n  cpus: 1,,2\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus '1,,2': '' is not a CPU number or range (e.g. cpus: "
	  "1,3-5)"}},
	{"cpus_empty", "dataplane {\n  cpus: \"\"\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus '': '' is not a CPU number or range (e.g. cpus: "
	  "1,3-5)"}},
	{"cpus_negative", "dataplane {\n  cpus: -1\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus '-1': '-1' is not a CPU number or range (e.g. cpus: "
	  "1,3-5)"}},
	{"cpus_open_range", "dataplane {\n  cpus: 2-\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus '2-': '2-' is not a CPU number or range (e.g. cpus: "
	  "1,3-5)"}},
	{"cpus_too_high", "dataplane {\n  cpus: 0-2000\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: cpus '0-2000': CPU 2000 is out of range (0-1023)"}},
	{"address_duplicate_prefix", "address {\n  prefix: a\n}\naddress {\n  prefix: a\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:5: error: address: prefix 'a' is already configured (line 1)"}},
	{"address_duplicate_pattern", "address {\n  pattern: a.#\n}\naddress {\n  pattern: a.#\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:5: error: address: pattern 'a.#' is already configured (line 1)"}},
	{"sasl_config_name_path", "router {\n  saslConfigName: /etc/x\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: router: saslConfigName '/etc/x' is a name, not a path (the directory "
	  "is saslConfigDir)"}},
	{"sasl_config_name_empty", "router {\n  saslConfigName: \"\"\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: router: saslConfigName is empty"}},
};
INSTANTIATE_TEST_SUITE_P(Values, CtlLimitsError, ::testing::ValuesIn(bad_values),
			 [](const ::testing::TestParamInfo<bad_case> &i) { return i.param.name; });

} // namespace
