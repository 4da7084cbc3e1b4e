// ctl_log and the log sections: level strings, DEFAULT inheritance, the line
// format, file outputs (temporary files), reopen after rotation.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "ctl_config.h"
#include "ctl_log.h"
#include "ctl_test_util.h"

// POSIX extended regular expressions (regex.h): std::regex trips gcc 12's
// -Wmaybe-uninitialized inside libstdc++ under -fsanitize with -Werror.
static bool re_find(const std::string &s, const std::string &pattern, bool whole = true)
{
	regex_t re;
	std::string p = whole ? "^(" + pattern + ")$" : pattern;
	if (regcomp(&re, p.c_str(), REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	bool ok = regexec(&re, s.c_str(), 0, nullptr, 0) == 0;
	regfree(&re);
	return ok;
}

namespace {

using lines = std::vector<std::string>;

TEST(CtlLogLevels, Parse)
{
	const struct {
		const char *text;
		unsigned mask;
	} good[] = {
		{"info+", CTL_LOG_INFO | CTL_LOG_NOTICE | CTL_LOG_WARNING | CTL_LOG_ERROR |
				  CTL_LOG_CRITICAL},
		{"trace,debug,warning+", CTL_LOG_TRACE | CTL_LOG_DEBUG | CTL_LOG_WARNING |
					     CTL_LOG_ERROR | CTL_LOG_CRITICAL},
		{"trace+", CTL_LOG_ALL},
		{"critical+", CTL_LOG_CRITICAL},
		{"critical", CTL_LOG_CRITICAL},
		{"notice", CTL_LOG_NOTICE},
		{"Debug, ERROR", CTL_LOG_DEBUG | CTL_LOG_ERROR},
		{"none", CTL_LOG_NONE},
		{"NONE", CTL_LOG_NONE},
	};
	for (const auto &g : good) {
		unsigned mask = 0xdead;
		EXPECT_EQ(ctl_log_parse_levels(g.text, &mask, nullptr, 0), RR_OK) << g.text;
		EXPECT_EQ(mask, g.mask) << g.text;
	}
	EXPECT_EQ(CTL_LOG_INFO_UP, good[0].mask);
	const struct {
		const char *text, *bad;
	} bad[] = {{"loud", "loud"}, {"info,,debug", ""}, {"", ""}, {"info++", "info++"},
		   {"none,info", "none"}, {"+", "+"}};
	for (const auto &b : bad) {
		unsigned mask = 0xdead;
		char item[80] = "unset";
		EXPECT_EQ(ctl_log_parse_levels(b.text, &mask, item, sizeof(item)), RR_E_CONFIG_VALUE)
			<< b.text;
		EXPECT_STREQ(item, b.bad) << b.text;
		EXPECT_EQ(mask, 0xdeadu) << b.text; // untouched
	}
	EXPECT_STREQ(ctl_log_level_name(CTL_LEVEL_WARNING), "warning");
	EXPECT_STREQ(ctl_log_level_name(CTL_LEVEL_CRITICAL), "critical");
}

TEST(CtlLogSections, ModulesInheritFromDefault)
{
	loaded_config c("log {\n  module: SERVER\n  enable: trace+\n}\n"
			"log {\n  module: DEFAULT\n  enable: debug+\n  includeTimestamp: false\n"
			"  outputFile: /tmp/x.log\n}\n"
			"log {\n  module: ROUTER\n  source: yes\n  output: stdout\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	EXPECT_EQ(c.diags(),
		  (lines{"t.conf:13: warning: log: 'source' is deprecated, use 'includeSource'",
			 "t.conf:14: warning: log: 'output' is deprecated, use 'outputFile'"}));
	ASSERT_EQ(c.cfg.n_logs, 3u);
	const struct ctl_log &server = c.cfg.logs[0], &def = c.cfg.logs[1], &router = c.cfg.logs[2];
	EXPECT_STREQ(server.module, "SERVER");
	EXPECT_EQ(server.levels, CTL_LOG_ALL);
	EXPECT_STREQ(server.output, "/tmp/x.log"); // DEFAULT's, though DEFAULT comes later
	EXPECT_FALSE(server.timestamp);
	EXPECT_FALSE(server.source);
	EXPECT_EQ(server.line, 1u);
	EXPECT_STREQ(def.module, "DEFAULT");
	EXPECT_EQ(def.levels, CTL_LOG_ALL & ~CTL_LOG_TRACE);
	EXPECT_STREQ(router.module, "ROUTER");
	EXPECT_EQ(router.levels, CTL_LOG_ALL & ~CTL_LOG_TRACE);
	EXPECT_STREQ(router.output, "stdout");
	EXPECT_TRUE(router.source);
	EXPECT_FALSE(router.timestamp);
}

TEST(CtlLogSections, QdrouterdDefaults)
{
	loaded_config c("log {\n  module: DEFAULT\n}\nlog {\n  module: POLICY\n  enable: none\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	ASSERT_EQ(c.cfg.n_logs, 2u);
	EXPECT_EQ(c.cfg.logs[0].levels, CTL_LOG_INFO_UP);
	EXPECT_EQ(c.cfg.logs[0].output, nullptr); // stderr
	EXPECT_TRUE(c.cfg.logs[0].timestamp);
	EXPECT_FALSE(c.cfg.logs[0].source);
	EXPECT_EQ(c.cfg.logs[1].levels, CTL_LOG_NONE);
}

TEST(CtlLogSections, ModuleGivenTwiceTheLaterWins)
{
	loaded_config c("log {\n  module: SERVER\n  enable: error+\n}\n"
			"log {\n  module: SERVER\n  enable: debug\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	EXPECT_EQ(c.diags(), lines{"t.conf:5: warning: log: module SERVER is configured again "
				   "(first at line 1); this section is used"});
	ASSERT_EQ(c.cfg.n_logs, 1u);
	EXPECT_EQ(c.cfg.logs[0].levels, CTL_LOG_DEBUG);
	EXPECT_EQ(c.cfg.logs[0].line, 5u);
}

TEST(CtlLogSections, UnknownModuleIsAnError)
{
	loaded_config c("log {\n  module: NOSUCH\n}\n");
	EXPECT_EQ(c.err, RR_E_CONFIG_VALUE);
	ASSERT_EQ(c.diags().size(), 1u);
	EXPECT_EQ(c.diags()[0].rfind("t.conf:2: error: log: module: 'NOSUCH' is not one of: ROUTER, ",
				     0),
		  0u)
		<< c.diags()[0];
}

TEST(CtlLogFormat, Exact)
{
	char buf[256];
	struct timespec ts = {0, 123456789};
	size_t n = ctl_log_format(buf, sizeof(buf), &ts, true, "SERVER", CTL_LEVEL_INFO,
				  "Accepted connection", nullptr, 0);
	EXPECT_STREQ(buf, "1970-01-01 00:00:00.123456 +0000 SERVER (info) Accepted connection");
	EXPECT_EQ(n, strlen(buf));
	ctl_log_format(buf, sizeof(buf), nullptr, true, "ROUTER", CTL_LEVEL_WARNING, "x",
		       "ctl_link.c", 42);
	EXPECT_STREQ(buf, "ROUTER (warning) x (ctl_link.c:42)");
	struct timespec later = {1796110401, 999999999}; // 2026-12-01 07:33:21 UTC
	ctl_log_format(buf, sizeof(buf), &later, true, "AUTHSERVICE", CTL_LEVEL_CRITICAL, "t",
		       nullptr, 0);
	EXPECT_STREQ(buf, "2026-12-01 07:33:21.999999 +0000 AUTHSERVICE (critical) t");
	// Cut to the buffer, the length it would have had returned.
	char small[10];
	n = ctl_log_format(small, sizeof(small), nullptr, true, "SERVER", CTL_LEVEL_DEBUG,
			   "hello", nullptr, 0);
	EXPECT_STREQ(small, "SERVER (d");
	EXPECT_EQ(n, strlen("SERVER (debug) hello"));
}

std::string slurp(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream s;
	s << f.rdbuf();
	return s.str();
}

std::vector<std::string> split_lines(const std::string &s)
{
	std::vector<std::string> out;
	std::stringstream in(s);
	std::string l;
	while (std::getline(in, l))
		out.push_back(l);
	return out;
}

// A temporary directory, removed with its files on scope exit.
struct temp_dir {
	std::string path;
	temp_dir()
	{
		char t[] = "/tmp/ctl_log_test.XXXXXX";
		const char *p = mkdtemp(t);
		path = p ? p : "";
	}
	~temp_dir()
	{
		for (const char *f : {"/a.log", "/a.log.1", "/b.log"})
			unlink((path + f).c_str());
		rmdir(path.c_str());
	}
};

class CtlLogFiles : public ::testing::Test {
      protected:
	void TearDown() override { ctl_log_close(); }
};

TEST_F(CtlLogFiles, LevelsOutputsAndFormat)
{
	temp_dir d;
	ASSERT_FALSE(d.path.empty());
	std::string a = d.path + "/a.log", b = d.path + "/b.log";
	loaded_config c("router {\n  timestampsInUTC: yes\n}\n"
			"log {\n  module: DEFAULT\n  enable: info+\n  outputFile: " + a + "\n}\n"
			"log {\n  module: SERVER\n  enable: trace,error+\n  outputFile: " + b + "\n}\n"
			"log {\n  module: ROUTER\n  includeSource: true\n  includeTimestamp: no\n}\n"
			"log {\n  module: POLICY\n  enable: none\n}\n");
	ASSERT_EQ(c.err, RR_OK) << ::testing::PrintToString(c.diags());
	char err[256] = "unset";
	ASSERT_EQ(ctl_log_configure(&c.cfg, err, sizeof(err)), RR_OK) << err;
	EXPECT_STREQ(err, "");

	EXPECT_TRUE(ctl_log_enabled("SERVER", CTL_LEVEL_TRACE));
	EXPECT_FALSE(ctl_log_enabled("SERVER", CTL_LEVEL_DEBUG));
	EXPECT_FALSE(ctl_log_enabled("SERVER", CTL_LEVEL_WARNING));
	EXPECT_TRUE(ctl_log_enabled("SERVER", CTL_LEVEL_CRITICAL));
	EXPECT_TRUE(ctl_log_enabled("AGENT", CTL_LEVEL_INFO)); // no section: DEFAULT's
	EXPECT_FALSE(ctl_log_enabled("AGENT", CTL_LEVEL_DEBUG));
	EXPECT_FALSE(ctl_log_enabled("POLICY", CTL_LEVEL_CRITICAL));

	ctl_log("SERVER", CTL_LEVEL_TRACE, "frame %d", 7);
	ctl_log("SERVER", CTL_LEVEL_INFO, "not logged");
	ctl_log("AGENT", CTL_LEVEL_NOTICE, "to a.log\n");
	ctl_log("AGENT", CTL_LEVEL_DEBUG, "not logged");
	ctl_log("POLICY", CTL_LEVEL_CRITICAL, "not logged");
	CTL_LOG("ROUTER", CTL_LEVEL_WARNING, "peer said %s", "bad\nline\x1b[31m");
	ctl_log("DATAPLANE", CTL_LEVEL_ERROR, "a module qdrouterd does not know: DEFAULT's");

	const std::string ts = "[0-9]{4}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\\.[0-9]{6} \\+0000 ";
	lines la = split_lines(slurp(a)), lb = split_lines(slurp(b));
	ASSERT_EQ(lb.size(), 1u) << slurp(b);
	EXPECT_TRUE(re_find(lb[0], std::string(
		"[0-9]{4}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\\.[0-9]{6} \\+0000 SERVER \\(trace\\) frame 7")))
		<< lb[0];
	ASSERT_EQ(la.size(), 3u) << slurp(a);
	EXPECT_TRUE(re_find(la[0], std::string(
		"[0-9]{4}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\\.[0-9]{6} \\+0000 AGENT \\(notice\\) to a.log")))
		<< la[0];
	// No timestamp, the source, control bytes replaced: one message, one line.
	EXPECT_TRUE(re_find(la[1], std::string("ROUTER \\(warning\\) peer said bad\\?line\\?\\[31m "
				  "\\(.*test_ctl_log\\.cpp:[0-9]+\\)")))
		<< la[1];
	EXPECT_TRUE(re_find(la[2], ts, false)) << la[2];
	EXPECT_NE(la[2].find(" DATAPLANE (error) a module"), std::string::npos) << la[2];
}

TEST_F(CtlLogFiles, ReopenAfterRotation)
{
	temp_dir d;
	ASSERT_FALSE(d.path.empty());
	std::string a = d.path + "/a.log";
	loaded_config c("log {\n  module: DEFAULT\n  includeTimestamp: off\n  outputFile: " + a +
			"\n}\n");
	ASSERT_EQ(c.err, RR_OK);
	char err[256];
	ASSERT_EQ(ctl_log_configure(&c.cfg, err, sizeof(err)), RR_OK) << err;
	ctl_log("SERVER", CTL_LEVEL_INFO, "before");
	ASSERT_EQ(rename(a.c_str(), (a + ".1").c_str()), 0);
	ctl_log("SERVER", CTL_LEVEL_INFO, "still the old file");
	ctl_log_reopen();
	ctl_log("SERVER", CTL_LEVEL_INFO, "after");
	EXPECT_EQ(slurp(a + ".1"), "SERVER (info) before\nSERVER (info) still the old file\n");
	EXPECT_EQ(slurp(a), "SERVER (info) after\n");
}

TEST_F(CtlLogFiles, FailedConfigureKeepsThePreviousSetUp)
{
	temp_dir d;
	ASSERT_FALSE(d.path.empty());
	std::string a = d.path + "/a.log";
	loaded_config good("log {\n  module: DEFAULT\n  includeTimestamp: off\n  outputFile: " +
			   a + "\n}\n");
	char err[256];
	ASSERT_EQ(ctl_log_configure(&good.cfg, err, sizeof(err)), RR_OK) << err;
	loaded_config bad("log {\n  module: DEFAULT\n  enable: trace+\n  outputFile: " + d.path +
			  "/no/such/dir.log\n}\n");
	ASSERT_EQ(bad.err, RR_OK);
	EXPECT_EQ(ctl_log_configure(&bad.cfg, err, sizeof(err)), RR_E_IO);
	EXPECT_EQ(std::string(err), "log: outputFile " + d.path +
					    "/no/such/dir.log: cannot open: No such file or directory");
	EXPECT_FALSE(ctl_log_enabled("SERVER", CTL_LEVEL_TRACE)); // still info+
	ctl_log("SERVER", CTL_LEVEL_INFO, "kept");
	EXPECT_EQ(slurp(a), "SERVER (info) kept\n");
}

TEST_F(CtlLogFiles, DefaultBeforeConfigureAndAfterClose)
{
	ctl_log_close();
	EXPECT_TRUE(ctl_log_enabled("SERVER", CTL_LEVEL_INFO));
	EXPECT_FALSE(ctl_log_enabled("SERVER", CTL_LEVEL_DEBUG));
	loaded_config c("log {\n  module: DEFAULT\n  enable: trace+\n  outputFile: stdout\n}\n");
	char err[256];
	ASSERT_EQ(ctl_log_configure(&c.cfg, err, sizeof(err)), RR_OK) << err;
	EXPECT_TRUE(ctl_log_enabled("SERVER", CTL_LEVEL_DEBUG));
	ctl_log_close();
	EXPECT_FALSE(ctl_log_enabled("SERVER", CTL_LEVEL_DEBUG));
	EXPECT_TRUE(ctl_log_enabled("SERVER", CTL_LEVEL_ERROR));
	// What goes to stderr, captured.
	testing::internal::CaptureStderr();
	ctl_log("SERVER", CTL_LEVEL_WARNING, "to stderr");
	std::string out = testing::internal::GetCapturedStderr();
	EXPECT_TRUE(re_find(out, std::string("[0-9]{4}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\\."
						      "[0-9]{6} [+-][0-9]{4} SERVER \\(warning\\) to "
						      "stderr\n")))
		<< out;
}

} // namespace
