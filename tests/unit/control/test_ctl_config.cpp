// ctl_config: loading qdrouterd.conf files and the embedded default; every
// value, schema and "cannot serve yet" error with its exact file:line message.
#include <gtest/gtest.h>

#include <string>
#include <unistd.h>
#include <vector>

#include "control/ctl_test_paths.h"
#include "ctl_config.h"
#include "ctl_test_util.h"

namespace {

using lines = std::vector<std::string>;

TEST(CtlConfig, EmbeddedDefault)
{
	struct ctl_config cfg;
	ASSERT_EQ(ctl_config_load_default(&cfg), RR_OK);
	EXPECT_EQ(diag_lines(cfg.diag), lines{});
	EXPECT_STREQ(cfg.file, "<embedded default>");
	ASSERT_EQ(cfg.n_listeners, 1u);
	const struct ctl_endpoint &l = cfg.listeners[0];
	EXPECT_STREQ(l.host, "127.0.0.1");
	EXPECT_EQ(l.port, 5672);
	EXPECT_STREQ(l.role, "normal");
	EXPECT_STREQ(l.sasl_mechanisms, "ANONYMOUS");
	EXPECT_EQ(l.ssl_profile, nullptr);
	EXPECT_FALSE(l.authenticate_peer);
	EXPECT_FALSE(l.require_ssl);
	EXPECT_FALSE(l.require_encryption);
	EXPECT_EQ(l.max_frame_size, 16384u);
	EXPECT_EQ(l.idle_timeout_seconds, 16u);
	EXPECT_EQ(cfg.n_connectors, 0u);
	EXPECT_STREQ(cfg.router.mode, "standalone");
	EXPECT_EQ(cfg.dataplane.driver, CTL_DRIVER_SOCKET);
	EXPECT_EQ(cfg.dataplane.workers, 1u);
	EXPECT_FALSE(cfg.dataplane.hugepages);
	EXPECT_EQ(ctl_config_count(&cfg, CTL_ENT_ADDRESS), 9u);
	EXPECT_STREQ(ctl_endpoint_sasl_offer(&cfg, &l), "ANONYMOUS");
	EXPECT_EQ(cfg.router.sasl_config_dir, nullptr);
	// The oslo.messaging addresses, in file order, with their distributions.
	const struct {
		const char *prefix;
		enum ctl_distribution d;
	} oslo[] = {
		{"openstack.org/om/rpc/multicast", CTL_DIST_MULTICAST},
		{"openstack.org/om/rpc/unicast", CTL_DIST_CLOSEST},
		{"openstack.org/om/rpc/anycast", CTL_DIST_BALANCED},
		{"openstack.org/om/notify/multicast", CTL_DIST_MULTICAST},
		{"openstack.org/om/notify/unicast", CTL_DIST_CLOSEST},
		{"openstack.org/om/notify/anycast", CTL_DIST_BALANCED},
		{"unicast", CTL_DIST_CLOSEST},
		{"exclusive", CTL_DIST_CLOSEST},
		{"broadcast", CTL_DIST_MULTICAST},
	};
	ASSERT_EQ(cfg.n_addresses, 9u);
	for (size_t i = 0; i < 9; i++) {
		EXPECT_STREQ(cfg.addresses[i].prefix, oslo[i].prefix) << i;
		EXPECT_EQ(cfg.addresses[i].pattern, nullptr) << i;
		EXPECT_EQ(cfg.addresses[i].distribution, oslo[i].d) << i;
	}
	EXPECT_EQ(cfg.n_logs, 0u);
	EXPECT_EQ(cfg.dataplane.n_cpus, 0u);
	EXPECT_EQ(cfg.dataplane.cpus, nullptr);
	EXPECT_STREQ(cfg.dataplane.control_socket, "/run/rpcrouterd/rpcrouterd.sock");
	EXPECT_EQ(l.limits.max_connections, 65535u);
	EXPECT_EQ(l.limits.max_message_size, 32u << 20);
	EXPECT_EQ(l.limits.max_sessions, 32768u);
	EXPECT_EQ(l.limits.max_links, 1024u);
	EXPECT_EQ(l.limits.max_conn_buffered, 64u << 20);
	EXPECT_EQ(l.limits.handshake_timeout_ms, 10000u);
	EXPECT_EQ(l.limits.link_capacity, 250u);
	EXPECT_EQ(l.limits.session_window, 5000u);
	EXPECT_EQ(l.limits.max_frame_size, 16384u);
	EXPECT_EQ(l.limits.idle_timeout_ms, 16000u);
	EXPECT_EQ(summary_text(cfg, "> "),
		  "> would listen on 127.0.0.1:5672 (amqp, socket driver, SASL ANONYMOUS)\n"
		  "> router (standalone): 9 address, 0 linkRoute, 0 autoLink sections\n"
		  "> dataplane: socket driver, 1 worker, no hugepages\n");
	ctl_config_free(&cfg);
}

TEST(CtlConfig, DefaultsWithoutSections)
{
	loaded_config c("listener {\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	ASSERT_EQ(c.cfg.n_listeners, 1u);
	// qdrouter.json defaults: host "" (every interface), port amqp.
	EXPECT_STREQ(c.cfg.listeners[0].host, "");
	EXPECT_EQ(c.cfg.listeners[0].port, 5672);
	EXPECT_EQ(c.cfg.listeners[0].sasl_mechanisms, nullptr);
	EXPECT_STREQ(c.cfg.router.mode, "standalone");
	EXPECT_EQ(c.cfg.dataplane.driver, CTL_DRIVER_SOCKET);
	EXPECT_EQ(c.cfg.dataplane.workers, 1u);
	EXPECT_EQ(summary_text(c.cfg, ""),
		  "would listen on *:5672 (amqp, socket driver, SASL ANONYMOUS)\n"
		  "router (standalone): 0 address, 0 linkRoute, 0 autoLink sections\n"
		  "dataplane: socket driver, 1 worker, no hugepages\n");
}

TEST(CtlConfig, TripleoQdrouterdConfLoads)
{
	struct ctl_config cfg;
	const char *path = CTL_TEST_DATA_DIR "/tripleo-qdrouterd.conf";
	ASSERT_EQ(ctl_config_load_file(&cfg, path), RR_OK) << ::testing::PrintToString(
		diag_lines(cfg.diag));
	EXPECT_EQ(cfg.diag.n_errors, 0u);
	std::string p = path;
	// puppet-qdr's deprecated spellings are accepted, with qdrouterd's warning;
	// what is not implemented yet says so, once.
	lines want = {
		p + ":27: warning: router: 'debugDump' is deprecated, use 'debugDumpFile'",
		p + ":28: warning: router: 'saslConfigPath' is deprecated, use 'saslConfigDir'",
		p + ":115: warning: log: 'timestamp' is deprecated, use 'includeTimestamp'",
		p + ":116: warning: log: 'output' is deprecated, use 'outputFile'",
		p + ":24: warning: router: mode interior: the router mesh is not implemented yet; "
		    "routing as standalone",
		p + ":51: warning: listener 0.0.0.0:31460: role inter-router: the router mesh is "
		    "not implemented yet; its connections are served as role normal",
	};
	// puppet-qdr writes workerThreads: <ncpu of the controller>; capped here.
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ASSERT_GT(ncpu, 0);
	unsigned workers = ncpu < 8 ? (unsigned)ncpu : 8u;
	if (ncpu < 8)
		want.push_back(p + ":26: warning: router: workerThreads 8 is more than the " +
			       std::to_string(ncpu) + " online CPU" + (ncpu == 1 ? "" : "s") + ": " +
			       std::to_string(ncpu) + " worker" + (ncpu == 1 ? "" : "s") +
			       " (dataplane workers overrides)");
	want.push_back(p + ":54: warning: connector: not implemented yet (connectors come with the "
			   "router mesh), ignored (2 sections)");
	EXPECT_EQ(diag_lines(cfg.diag), want);
	EXPECT_STREQ(cfg.router.mode, "interior");
	EXPECT_STREQ(cfg.router.id, "Router.overcloud-controller-2.localdomain");
	EXPECT_EQ(cfg.router.worker_threads, 8u);
	EXPECT_EQ(cfg.dataplane.workers, workers); // from workerThreads: no dataplane section
	// saslConfigPath is the old spelling of saslConfigDir.
	EXPECT_STREQ(cfg.router.sasl_config_dir, "/etc/sasl2");
	EXPECT_STREQ(cfg.router.sasl_config_name, "qdrouterd");
	ASSERT_EQ(cfg.n_listeners, 2u);
	EXPECT_STREQ(ctl_endpoint_sasl_offer(&cfg, &cfg.listeners[0]), "ANONYMOUS");
	EXPECT_EQ(ctl_endpoint_sasl_offer(&cfg, &cfg.listeners[1]), nullptr); // Cyrus decides
	EXPECT_EQ(cfg.listeners[0].limits.idle_timeout_ms, 16000u);
	EXPECT_EQ(cfg.listeners[0].limits.max_frame_size, 16384u);
	ASSERT_EQ(cfg.n_addresses, 9u);
	EXPECT_STREQ(cfg.addresses[2].prefix, "broadcast");
	EXPECT_EQ(cfg.addresses[2].distribution, CTL_DIST_MULTICAST);
	EXPECT_EQ(cfg.addresses[2].line, 76u);
	ASSERT_EQ(cfg.n_logs, 1u);
	EXPECT_STREQ(cfg.logs[0].module, "DEFAULT");
	EXPECT_EQ(cfg.logs[0].levels, CTL_LOG_INFO | CTL_LOG_NOTICE | CTL_LOG_WARNING |
					  CTL_LOG_ERROR | CTL_LOG_CRITICAL);
	EXPECT_STREQ(cfg.logs[0].output, "/var/log/qdrouterd/qdrouterd.log");
	EXPECT_TRUE(cfg.logs[0].timestamp);
	EXPECT_FALSE(cfg.logs[0].source);
	EXPECT_STREQ(cfg.listeners[0].host, "0.0.0.0");
	EXPECT_EQ(cfg.listeners[0].port, 31459);
	EXPECT_STREQ(cfg.listeners[0].role, "normal");
	EXPECT_EQ(cfg.listeners[1].port, 31460);
	EXPECT_STREQ(cfg.listeners[1].role, "inter-router");
	ASSERT_EQ(cfg.n_connectors, 2u);
	EXPECT_STREQ(cfg.connectors[0].host, "overcloud-controller-0.internalapi.localdomain");
	EXPECT_EQ(cfg.connectors[0].port, 31460);
	EXPECT_STREQ(cfg.connectors[1].role, "inter-router");
	EXPECT_EQ(ctl_config_count(&cfg, CTL_ENT_ADDRESS), 9u);
	EXPECT_EQ(ctl_config_count(&cfg, CTL_ENT_LOG), 1u);
	// The log section keeps the value under its current name.
	const struct ctl_entity *log = nullptr;
	for (size_t i = 0; i < cfg.n_entities; i++)
		if (cfg.entities[i].type == CTL_ENT_LOG)
			log = &cfg.entities[i];
	ASSERT_NE(log, nullptr);
	EXPECT_STREQ(ctl_entity_get(log, CTL_LOG_OUTPUT_FILE), "/var/log/qdrouterd/qdrouterd.log");
	EXPECT_STREQ(ctl_entity_get(log, CTL_LOG_INCLUDE_TIMESTAMP), "true");
	EXPECT_EQ(ctl_entity_line(log, CTL_LOG_OUTPUT_FILE), 116u);
	ctl_config_free(&cfg);
}

TEST(CtlConfig, QdrouterdSampleLoadsClean)
{
	struct ctl_config cfg;
	ASSERT_EQ(ctl_config_load_file(&cfg, CTL_TEST_QDROUTERD_SAMPLE), RR_OK);
	EXPECT_EQ(diag_lines(cfg.diag), lines{});
	ASSERT_EQ(cfg.n_listeners, 1u);
	EXPECT_STREQ(cfg.listeners[0].host, "0.0.0.0");
	EXPECT_EQ(cfg.listeners[0].port, 5672); // "port: amqp"
	EXPECT_EQ(ctl_config_count(&cfg, CTL_ENT_ADDRESS), 5u);
	ctl_config_free(&cfg);
}

TEST(CtlConfig, MissingFile)
{
	struct ctl_config cfg;
	EXPECT_EQ(ctl_config_load_file(&cfg, "/nonexistent/rpcrouterd.conf"), RR_E_IO);
	EXPECT_EQ(diag_lines(cfg.diag),
		  lines{"/nonexistent/rpcrouterd.conf: error: cannot open: No such file or directory"});
	ctl_config_free(&cfg);
}

TEST(CtlConfig, DashedSpellingsAndAllSections)
{
	loaded_config c("router {\n"
			"  mode: edge\n"
			"  worker-threads: 3\n"
			"}\n"
			"ssl-profile {\n  name: p\n  cert-file: /c.pem\n}\n"
			"auth-service-plugin {\n  host: 127.0.0.1\n  port: 5671\n}\n"
			"listener {\n  host: ::1\n  port: 0\n  sasl-mechanisms: anonymous\n"
			"  idle-timeout-seconds: 0\n  max-frame-size: 512\n}\n"
			"connector {\n  host: peer\n  port: amqps\n  role: route-container\n}\n"
			"log {\n  module: ROUTER\n  enable: trace+,debug, info+\n}\n"
			"address {\n  pattern: a.*.#\n  distribution: balanced\n}\n"
			"link-route {\n  prefix: q\n  direction: in\n}\n"
			"auto-link {\n  address: q\n  direction: out\n}\n"
			"exchange {\n  address: e\n}\n"
			"binding {\n  exchangeName: e\n  nextHopAddress: n\n}\n"
			"policy {\n  maxConnections: 10\n}\n"
			"vhost {\n  hostname: example.com\n  groups: {\n    \"$default\": {}\n  }\n}\n"
			"dataplane {\n  workers: 1\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	// Every section not implemented yet: one warning each, at its first section.
	EXPECT_EQ(c.diags(),
		  (lines{"t.conf:2: warning: router: mode edge: the router mesh is not implemented "
			 "yet; routing as standalone",
			 "t.conf:5: warning: sslProfile: not implemented yet, ignored (1 section)",
			 "t.conf:9: warning: authServicePlugin: not implemented yet, ignored (1 "
			 "section)",
			 "t.conf:20: warning: connector: not implemented yet (connectors come with "
			 "the router mesh), ignored (1 section)",
			 "t.conf:33: warning: linkRoute: not implemented yet, ignored (1 section)",
			 "t.conf:37: warning: autoLink: not implemented yet, ignored (1 section)",
			 "t.conf:41: warning: exchange: not implemented yet, ignored (1 section)",
			 "t.conf:44: warning: binding: not implemented yet, ignored (1 section)",
			 "t.conf:51: warning: vhost: not implemented yet, ignored (1 section)"}));
	EXPECT_EQ(c.cfg.n_entities, 14u);
	EXPECT_STREQ(c.cfg.router.mode, "edge");
	EXPECT_EQ(c.cfg.router.worker_threads, 3u);
	EXPECT_EQ(c.cfg.dataplane.workers, 1u); // dataplane wins over workerThreads
	EXPECT_EQ(c.cfg.dataplane.limits.max_connections, 10u); // policy maxConnections
	ASSERT_EQ(c.cfg.n_logs, 1u);
	EXPECT_EQ(c.cfg.logs[0].levels, CTL_LOG_ALL); // trace+ covers everything
	ASSERT_EQ(c.cfg.n_addresses, 1u);
	EXPECT_STREQ(c.cfg.addresses[0].pattern, "a.*.#");
	EXPECT_EQ(c.cfg.addresses[0].prefix, nullptr);
	ASSERT_EQ(c.cfg.n_listeners, 1u);
	EXPECT_EQ(c.cfg.listeners[0].port, 0);
	EXPECT_EQ(c.cfg.listeners[0].max_frame_size, 512u);
	EXPECT_EQ(c.cfg.listeners[0].idle_timeout_seconds, 0u);
	ASSERT_EQ(c.cfg.n_connectors, 1u);
	EXPECT_EQ(c.cfg.connectors[0].port, 5671);
	EXPECT_EQ(summary_text(c.cfg, ""),
		  "would listen on [::1]:0 (amqp, socket driver, SASL anonymous)\n"
		  "would connect to peer:5671 (route-container, socket driver, SASL ANONYMOUS)\n"
		  "router (edge): 1 address, 1 linkRoute, 1 autoLink sections\n"
		  "dataplane: socket driver, 1 worker, no hugepages\n");
}

TEST(CtlConfig, EnumByIndexAsQdrouterd)
{
	loaded_config c("router {\n  mode: 1\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_STREQ(c.cfg.router.mode, "interior");
}

TEST(CtlConfig, Warnings)
{
	loaded_config c("fixedAddress {\n  prefix: /\n}\n"
			"listener {\n"
			"  addr: 0.0.0.0\n"
			"  port: 1\n"
			"  port: 2\n"
			"  protocolFamily: IPv4\n"
			"}\n"
			"router {\n  addrCount: 3\n}\n"
			"sslProfile {\n  passwordFile: /p\n}\n"
			"console {\n  proxy: p\n  home: h\n}\n"
			"dataplane {\n  hugepages: yes\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	EXPECT_EQ(c.diags(),
		  (lines{
			  "t.conf:1: warning: unknown section 'fixedAddress' (ignored)",
			  "t.conf:5: warning: listener: unknown attribute 'addr' (ignored)",
			  "t.conf:7: warning: listener: 'port' is given again (first at line 6); "
			  "this value is used",
			  "t.conf:8: warning: listener: 'protocolFamily' is deprecated, use "
			  "'socketAddressFamily'",
			  "t.conf:11: warning: router: 'addrCount' is a read-only status attribute, "
			  "not a setting (ignored)",
			  "t.conf:14: warning: sslProfile: 'passwordFile' is deprecated",
			  "t.conf:16: warning: section 'console' is deprecated",
			  "t.conf:21: warning: dataplane: hugepages apply to the dpdk driver only (the "
			  "socket driver ignores them)",
			  "t.conf:13: warning: sslProfile: not implemented yet, ignored (1 section)",
			  "t.conf:16: warning: console: not implemented yet, ignored (1 section)",
		  }));
	EXPECT_EQ(c.cfg.diag.n_warnings, 10u);
	EXPECT_EQ(c.cfg.diag.n_errors, 0u);
	ASSERT_EQ(c.cfg.n_listeners, 1u);
	EXPECT_EQ(c.cfg.listeners[0].port, 2);
	EXPECT_STREQ(c.cfg.listeners[0].host, ""); // 'addr' is not qdrouterd 1.19's
}

// One configuration, its error code and its exact messages.
struct error_case {
	const char *name;
	const char *text;
	enum rr_err err;
	std::vector<std::string> messages;
};

void PrintTo(const error_case &c, std::ostream *os)
{
	*os << c.name;
}

class CtlConfigError : public ::testing::TestWithParam<error_case> {};

TEST_P(CtlConfigError, ReportsFileLine)
{
	const error_case &e = GetParam();
	loaded_config c(e.text);
	EXPECT_EQ(c.err, e.err) << rr_errname(c.err);
	EXPECT_EQ(c.diags(), e.messages);
	size_t errors = 0;
	for (const std::string &m : e.messages)
		errors += m.find(": error: ") != std::string::npos;
	EXPECT_EQ(c.cfg.diag.n_errors, errors);
	EXPECT_EQ(c.cfg.diag.first_error, e.err);
}

const error_case value_errors[] = {
	{"port_range", "listener {\n  port: 70000\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: port 70000 is out of range (0-65535)"}},
	{"port_service", "listener {\n  port: nosuchservice\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: port 'nosuchservice' is neither a number nor a known "
	  "service name"}},
	{"port_negative", "listener {\n  port: -1\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: port '-1' is neither a number nor a known service name"}},
	{"connector_port0", "connector {\n  host: a\n  port: 0\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:3: error: connector: port 0 cannot be connected to"}},
	{"connector_host_empty", "connector {\n  host: \"\"\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: connector: host is empty"}},
	{"boolean", "listener {\n  authenticatePeer: maybe\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: authenticatePeer: 'maybe' is not a boolean (yes/no, "
	  "true/false, on/off)"}},
	{"boolean_dashed", "listener {\n  require-ssl: 1\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: require-ssl: '1' is not a boolean (yes/no, true/false, "
	  "on/off)"}},
	// a control byte of a quoted value is echoed escaped: one message, one line
	{"boolean_newline", "listener {\n  authenticatePeer: \"no\\nt3.conf:9: error: x\"\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: authenticatePeer: 'no\\x0at3.conf:9: error: x' is not a "
	  "boolean (yes/no, true/false, on/off)"}},
	{"integer", "listener {\n  maxFrameSize: 16k\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: maxFrameSize: '16k' is not an integer"}},
	{"integer_overflow", "listener {\n  cost: 99999999999999999999\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: cost: '99999999999999999999' is not an integer"}},
	{"enum", "router {\n  mode: star\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: router: mode: 'star' is not one of: standalone, interior, edge"}},
	{"enum_index", "router {\n  mode: 3\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: router: mode: '3' is not one of: standalone, interior, edge"}},
	{"max_frame_size", "listener {\n  maxFrameSize: 100\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: maxFrameSize 100 is out of range (512-4294967295, AMQP "
	  "1.0 part 2.7.1)"}},
	{"idle_timeout", "connector {\n  idleTimeoutSeconds: 4294968\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: connector: idleTimeoutSeconds 4294968 is out of range (0-4294967)"}},
	{"worker_threads", "router {\n  workerThreads: 0\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: router: workerThreads 0 is out of range (1-256)"}},
	{"workers", "dataplane {\n  workers: 257\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: dataplane: workers 257 is out of range (1-256)"}},
	{"host", "listener {\n  host: bad host\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: host 'bad host' is not an IP address or a host name"}},
	{"host_ipv4", "listener {\n  host: 10.0.0.256\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: host '10.0.0.256' is not an IP address or a host name"}},
	{"host_brackets", "listener {\n  host: [::1]\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: host '[::1]' is not an IP address or a host name"}},
	{"duplicate_listener", "listener {\n  host: 0.0.0.0\n}\nlistener {\n  host: 0.0.0.0\n  port: "
	 "5672\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:4: error: listener: 0.0.0.0:5672 is already a listener (line 1)"}},
	{"address_neither", "address {\n  distribution: closest\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:1: error: address: needs a prefix or a pattern"}},
	{"address_both", "address {\n  prefix: a\n  pattern: b\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:3: error: address: give either a prefix or a pattern, not both"}},
	{"link_route_neither", "linkRoute {\n  direction: in\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:1: error: linkRoute: needs a prefix or a pattern"}},
	{"required", "log {\n  enable: info+\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:1: error: log: missing required attribute 'module'"}},
	{"required_two", "autoLink {\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:1: error: autoLink: missing required attribute 'address'",
	  "t.conf:1: error: autoLink: missing required attribute 'direction'"}},
	{"log_enable", "log {\n  module: DEFAULT\n  enable: info+,loud\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:3: error: log: enable 'info+,loud': 'loud' is not a log level (trace, debug, "
	  "info, notice, warning, error, critical, each with an optional '+'; or none)"}},
	{"both_spellings", "listener {\n  trustedCerts: /a\n  trustedCertsFile: /b\n}\n",
	 RR_E_CONFIG_VALUE,
	 {"t.conf:2: warning: listener: 'trustedCerts' is deprecated, use 'trustedCertsFile'",
	  "t.conf:3: error: listener: both 'trustedCerts' and 'trustedCertsFile' are given (line "
	  "2): give only 'trustedCertsFile'"}},
	{"map_needs_block", "listener {\n  openProperties: x\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: 'openProperties' takes a { } block"}},
	{"block_not_map", "listener {\n  port: {\n  }\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: listener: 'port' takes a single value, not a { } block"}},
	{"empty_path", "router {\n  debugDumpFile: \"\"\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:2: error: router: debugDumpFile: empty path"}},
	{"singleton", "router {\n}\n\nrouter {\n}\n", RR_E_CONFIG_VALUE,
	 {"t.conf:4: error: a second 'router' section (the first is at line 1): there can be "
	  "only one"}},
	{"several", "listener {\n  port: x!\n  role: boss\n}\nrouter {\n  mode: 9\n}\n",
	 RR_E_CONFIG_VALUE,
	 // Schema errors of every section; the port is checked once those are fixed.
	 {"t.conf:3: error: listener: role: 'boss' is not one of: normal, inter-router, "
	  "route-container, edge",
	  "t.conf:6: error: router: mode: '9' is not one of: standalone, interior, edge"}},
	{"syntax", "router {\n  mode standalone\n}\n", RR_E_CONFIG_SYNTAX,
	 {"t.conf:2: error: expected 'NAME {', 'KEY: VALUE' or '}', found 'mode standalone'"}},
};
INSTANTIATE_TEST_SUITE_P(Values, CtlConfigError, ::testing::ValuesIn(value_errors),
			 [](const ::testing::TestParamInfo<error_case> &i) { return i.param.name; });

// Listeners rpcrouterd cannot serve securely yet stop start-up.
const error_case unsupported[] = {
	{"ssl_profile", "sslProfile {\n  name: tls\n}\nlistener {\n  port: 5671\n  sslProfile: tls\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:6: error: listener *:5671: sslProfile 'tls' asks for TLS, which rpcrouterd "
	  "cannot serve yet"}},
	{"require_ssl", "listener {\n  host: 0.0.0.0\n  requireSsl: yes\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:3: error: listener 0.0.0.0:5672: requireSsl asks for TLS, which rpcrouterd "
	  "cannot serve yet"}},
	{"require_encryption", "listener {\n  host: 0.0.0.0\n  requireEncryption: true\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:3: error: listener 0.0.0.0:5672: requireEncryption asks for TLS, which "
	  "rpcrouterd cannot serve yet"}},
	{"sasl_plain_without_sasl_config",
	 "listener {\n  host: ::\n  saslMechanisms: ANONYMOUS PLAIN\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:3: error: listener [::]:5672: SASL mechanism 'PLAIN' needs the router's "
	  "saslConfigDir (a Cyrus SASL configuration with the users): nothing could check the "
	  "password"}},
	{"sasl_external_needs_tls", "listener {\n  sasl-mechanisms: ANONYMOUS,EXTERNAL\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:2: error: listener *:5672: SASL mechanism 'EXTERNAL' takes the identity from a "
	  "TLS client certificate, and rpcrouterd cannot serve TLS yet"}},
	{"sasl_scram", "router {\n  saslConfigDir: /etc/sasl2\n}\nlistener {\n  saslMechanisms: "
	 "SCRAM-SHA-256 PLAIN\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:5: error: listener *:5672: SASL mechanism 'SCRAM-SHA-256' is not supported yet "
	  "(only ANONYMOUS and PLAIN)"}},
	{"sasl_gssapi_and_digest", "router {\n  saslConfigDir: /etc/sasl2\n}\nlistener {\n  "
	 "saslMechanisms: GSSAPI DIGEST-MD5\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:5: error: listener *:5672: SASL mechanism 'GSSAPI' is not supported yet (only "
	  "ANONYMOUS and PLAIN)",
	  "t.conf:5: error: listener *:5672: SASL mechanism 'DIGEST-MD5' is not supported yet (only "
	  "ANONYMOUS and PLAIN)"}},
	{"authenticate_peer_without_sasl_config", "listener {\n  authenticatePeer: on\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:2: error: listener *:5672: authenticatePeer needs the router's saslConfigDir (a "
	  "Cyrus SASL configuration with the users): nothing could authenticate a client"}},
	{"vhost_policy", "policy {\n  maxConnections: 5\n  enableVhostPolicy: true\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:3: error: policy: enableVhostPolicy asks for vhost policies (who may connect, "
	  "and their limits), which rpcrouterd cannot enforce yet"}},
	{"distribution_unavailable", "address {\n  prefix: a\n  distribution: unavailable\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:3: error: address: distribution 'unavailable' is not implemented yet (closest, "
	  "balanced and multicast are)"}},
	{"default_distribution_unavailable", "router {\n  defaultDistribution: unavailable\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:2: error: router: defaultDistribution 'unavailable' is not implemented yet "
	  "(closest, balanced and multicast are)"}},
	{"sasl_plugin", "listener {\n  saslPlugin: auth\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:2: error: listener *:5672: saslPlugin needs an authentication service, which "
	  "rpcrouterd cannot use yet"}},
	{"multi_tenant", "listener {\n  multiTenant: yes\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:2: error: listener *:5672: multiTenant (an address space per vhost) is not "
	  "implemented yet"}},
	{"http", "listener {\n  http: true\n}\n", RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:2: error: listener *:5672: http (HTTP and WebSockets) is not served yet"}},
	{"all_of_one_listener",
	 "listener {\n  host: 127.0.0.1\n  sslProfile: a\n  requireSsl: true\n  "
	 "requireEncryption: true\n  authenticatePeer: true\n  saslMechanisms: PLAIN\n}\n",
	 RR_E_CONFIG_UNSUPPORTED,
	 {"t.conf:3: error: listener 127.0.0.1:5672: sslProfile 'a' asks for TLS, which "
	  "rpcrouterd cannot serve yet",
	  "t.conf:4: error: listener 127.0.0.1:5672: requireSsl asks for TLS, which rpcrouterd "
	  "cannot serve yet",
	  "t.conf:5: error: listener 127.0.0.1:5672: requireEncryption asks for TLS, which "
	  "rpcrouterd cannot serve yet",
	  "t.conf:7: error: listener 127.0.0.1:5672: SASL mechanism 'PLAIN' needs the router's "
	  "saslConfigDir (a Cyrus SASL configuration with the users): nothing could check the "
	  "password",
	  "t.conf:6: error: listener 127.0.0.1:5672: authenticatePeer needs the router's "
	  "saslConfigDir (a Cyrus SASL configuration with the users): nothing could authenticate a "
	  "client"}},
};
INSTANTIATE_TEST_SUITE_P(Unsupported, CtlConfigError, ::testing::ValuesIn(unsupported),
			 [](const ::testing::TestParamInfo<error_case> &i) { return i.param.name; });

TEST(CtlConfig, SecureSettingsTurnedOffAreFine)
{
	loaded_config c("listener {\n  requireSsl: no\n  requireEncryption: false\n"
			"  authenticatePeer: off\n  saslMechanisms: anonymous\n  http: no\n"
			"  multiTenant: no\n}\n");
	EXPECT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(), lines{});
}

TEST(CtlConfig, DpdkDriverNeedsADpdkBuild)
{
	/* the dpdk driver needs its EAL arguments, a port and an address */
	loaded_config c("dataplane {\n  driver: dpdk\n  hugepages: yes\n  dpdkEal: -l 0,1\n"
			"  dpdkPorts: net_tap0\n  dpdkAddress: 10.77.0.2/24\n}\n");
	if (ctl_config_have_driver(CTL_DRIVER_DPDK)) {
		EXPECT_EQ(c.err, RR_OK);
		EXPECT_EQ(c.diags(), lines{});
		EXPECT_EQ(c.cfg.dataplane.driver, CTL_DRIVER_DPDK);
		EXPECT_TRUE(c.cfg.dataplane.hugepages);
	} else {
		EXPECT_EQ(c.err, RR_E_CONFIG_UNSUPPORTED);
		EXPECT_EQ(c.diags(),
			  lines{"t.conf:2: error: dataplane: driver 'dpdk': this rpcrouterd was built "
				"without it (DPDK not found; build with meson -Ddriver_dpdk=enabled)"});
	}
}

TEST(CtlConfig, DpdkSeveralPorts)
{
	/* dpdkPorts separated by ';' (a spec keeps its commas), an address per
	 * port in the same order, the one gateway on its own port */
	loaded_config c("dataplane {\n  dpdkPorts: net_tap0,iface=a;0000:3b:00.0\n"
			"  dpdkAddress: 10.77.0.2/24;10.78.0.2/16\n  dpdkGateway: ;10.78.0.1\n}\n");
	EXPECT_EQ(c.err, RR_OK);
	const struct ctl_dpdk &d = c.cfg.dataplane.dpdk;
	ASSERT_EQ(d.n_ports, 2u);
	EXPECT_STREQ(d.port[0].spec, "net_tap0,iface=a");
	EXPECT_STREQ(d.port[1].spec, "0000:3b:00.0");
	EXPECT_EQ(d.port[0].addr, 0x0a4d0002u);
	EXPECT_EQ(d.port[0].prefix_len, 24);
	EXPECT_EQ(d.port[0].gateway, 0u);
	EXPECT_EQ(d.port[1].addr, 0x0a4e0002u);
	EXPECT_EQ(d.port[1].prefix_len, 16);
	EXPECT_EQ(d.port[1].gateway, 0x0a4e0001u);
	/* the single-port fields are port 0's */
	EXPECT_EQ(d.addr, 0x0a4d0002u);
	EXPECT_EQ(d.gateway, 0u);
	/* one gateway for several ports: the port whose subnet holds it */
	loaded_config one("dataplane {\n  dpdkPorts: net_tap0;net_tap1\n"
			  "  dpdkAddress: 10.77.0.2/24;10.78.0.2/24\n  dpdkGateway: 10.77.0.1\n}\n");
	EXPECT_EQ(one.err, RR_OK);
	EXPECT_EQ(one.cfg.dataplane.dpdk.port[0].gateway, 0x0a4d0001u);
	EXPECT_EQ(one.cfg.dataplane.dpdk.port[1].gateway, 0u);
	EXPECT_EQ(one.cfg.dataplane.dpdk.gateway, 0x0a4d0001u);
	/* mismatched counts: the dpdkAddress line */
	loaded_config bad("dataplane {\n  dpdkPorts: net_tap0;net_tap1\n"
			  "  dpdkAddress: 10.77.0.2/24\n}\n");
	EXPECT_EQ(bad.err, RR_E_CONFIG_VALUE);
	EXPECT_EQ(bad.diags(),
		  (lines{"t.conf:3: error: dataplane: dpdkAddress has 1 entry for 2 ports (dpdkPorts): "
			"one address/prefix per port, in the same order, separated by ';'",
			"t.conf:2: warning: dataplane: dpdkPorts applies to the dpdk driver only "
			"(ignored)"}));
	/* one port: as before */
	loaded_config single("dataplane {\n  dpdkPorts: net_tap0,iface=x\n"
			     "  dpdkAddress: 10.77.0.2/24\n  dpdkGateway: 10.1.1.1\n}\n");
	EXPECT_EQ(single.err, RR_OK);
	EXPECT_EQ(single.cfg.dataplane.dpdk.n_ports, 1u);
	EXPECT_EQ(single.cfg.dataplane.dpdk.gateway, 0x0a010101u);
	EXPECT_EQ(single.cfg.dataplane.dpdk.port[0].gateway, 0x0a010101u);
}

TEST(CtlConfig, ReloadResetsEverything)
{
	struct ctl_config cfg;
	std::string bad = "listener {\n  port: 70000\n}\n";
	EXPECT_EQ(ctl_config_load_text(&cfg, "a", bad.data(), bad.size()), RR_E_CONFIG_VALUE);
	ctl_config_free(&cfg);
	EXPECT_EQ(cfg.diag.n, 0u);
	EXPECT_EQ(cfg.n_listeners, 0u);
	std::string good = "listener {\n  port: 7\n}\n";
	EXPECT_EQ(ctl_config_load_text(&cfg, "b", good.data(), good.size()), RR_OK);
	EXPECT_EQ(cfg.n_listeners, 1u);
	EXPECT_EQ(cfg.listeners[0].port, 7);
	ctl_config_free(&cfg);
}

} // namespace
