// ctl_conf: the qdrouterd.conf syntax (sections, key: value, comments,
// blocks, quotes) and every syntax error with its exact file:line message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctl_conf.h"
#include "ctl_test_util.h"

namespace {

struct parsed {
	struct ctl_conf conf = {};
	struct ctl_diag diag = {};
	enum rr_err err;
	explicit parsed(const std::string &text, const char *file = "p.conf")
	{
		err = ctl_conf_parse(&conf, file, text.data(), text.size(), &diag);
	}
	~parsed()
	{
		ctl_conf_free(&conf);
		ctl_diag_free(&diag);
	}
	parsed(const parsed &) = delete;
	parsed &operator=(const parsed &) = delete;
	std::vector<std::string> diags() const { return diag_lines(diag); }
	const ctl_conf_attr &attr(size_t s, size_t a) const { return conf.sections[s].attrs[a]; }
};

std::string norm(const char *s)
{
	char *n = ctl_conf_normalize_name(s, strlen(s));
	std::string r = n ? n : "<NULL>";
	free(n);
	return r;
}

TEST(CtlConf, SectionsAttributesAndLines)
{
	parsed p("# comment\n"
		 "router {\n"
		 "    mode: standalone\n"
		 "}\n"
		 "\n"
		 "listener {\n"
		 "    host: 0.0.0.0\n"
		 "    port: amqp   # trailing comment\n"
		 "    saslMechanisms: ANONYMOUS PLAIN\n"
		 "}\n");
	ASSERT_EQ(p.err, RR_OK);
	EXPECT_EQ(p.diag.n, 0u);
	ASSERT_EQ(p.conf.n_sections, 2u);
	EXPECT_STREQ(p.conf.sections[0].name, "router");
	EXPECT_EQ(p.conf.sections[0].line, 2u);
	ASSERT_EQ(p.conf.sections[0].n_attrs, 1u);
	EXPECT_STREQ(p.attr(0, 0).key, "mode");
	EXPECT_STREQ(p.attr(0, 0).value, "standalone");
	EXPECT_EQ(p.attr(0, 0).line, 3u);
	EXPECT_STREQ(p.conf.sections[1].name, "listener");
	EXPECT_EQ(p.conf.sections[1].line, 6u);
	ASSERT_EQ(p.conf.sections[1].n_attrs, 3u);
	EXPECT_STREQ(p.attr(1, 1).key, "port");
	EXPECT_STREQ(p.attr(1, 1).value, "amqp");
	EXPECT_EQ(p.attr(1, 1).line, 8u);
	EXPECT_STREQ(p.attr(1, 2).value, "ANONYMOUS PLAIN");
	EXPECT_FALSE(p.attr(1, 2).quoted);
	EXPECT_FALSE(p.attr(1, 2).block);
}

TEST(CtlConf, DashesAndUnderscoresAreCamelCased)
{
	parsed p("ssl-profile {\n"
		 "  sasl-mechanisms: ANONYMOUS\n"
		 "  idle_timeout_seconds: 16\n"
		 "  authenticatePeer : no\n"
		 "}\n");
	ASSERT_EQ(p.err, RR_OK);
	EXPECT_STREQ(p.conf.sections[0].name, "sslProfile");
	EXPECT_STREQ(p.conf.sections[0].raw_name, "ssl-profile");
	EXPECT_STREQ(p.attr(0, 0).key, "saslMechanisms");
	EXPECT_STREQ(p.attr(0, 0).raw_key, "sasl-mechanisms");
	EXPECT_STREQ(p.attr(0, 1).key, "idleTimeoutSeconds");
	EXPECT_STREQ(p.attr(0, 2).key, "authenticatePeer");
	EXPECT_STREQ(p.attr(0, 2).value, "no");
}

TEST(CtlConf, NormalizeNameAsQdrouterd)
{
	EXPECT_EQ(norm("saslMechanisms"), "saslMechanisms");
	EXPECT_EQ(norm("sasl-mechanisms"), "saslMechanisms");
	EXPECT_EQ(norm("sasl_mechanisms"), "saslMechanisms");
	EXPECT_EQ(norm("link-route"), "linkRoute");
	// Python's str.capitalize(): the rest of each later word is lowered.
	EXPECT_EQ(norm("max-FRAME-size"), "maxFrameSize");
	EXPECT_EQ(norm("Max-frame"), "MaxFrame");
	EXPECT_EQ(norm("a--b"), "aB");
	EXPECT_EQ(norm(""), "");
}

TEST(CtlConf, CrlfAndBlanks)
{
	parsed p("router {\r\n\tmode:\tinterior\t\r\n}\r\n");
	ASSERT_EQ(p.err, RR_OK);
	EXPECT_STREQ(p.attr(0, 0).value, "interior");
	EXPECT_EQ(p.attr(0, 0).line, 2u);
}

TEST(CtlConf, FirstWordKeysKeepHash)
{
	// qdrouterd 1.19: pattern, bindingKey and hostname values are their
	// first word, '#' included; whatever follows is dropped.
	parsed p("address {\n"
		 "    pattern: a/#/b   ignored words\n"
		 "}\n"
		 "binding {\n"
		 "    bindingKey: x.#\n"
		 "}\n"
		 "vhost {\n"
		 "    hostname: $default # a comment\n"
		 "}\n"
		 "address {\n"
		 "    prefix: a#comment\n"
		 "}\n");
	ASSERT_EQ(p.err, RR_OK);
	EXPECT_STREQ(p.attr(0, 0).value, "a/#/b");
	EXPECT_STREQ(p.attr(1, 0).value, "x.#");
	EXPECT_STREQ(p.attr(2, 0).value, "$default");
	EXPECT_STREQ(p.attr(3, 0).value, "a");
}

TEST(CtlConf, QuotedValues)
{
	parsed p("log {\n"
		 "  outputFile: \"/var/log/a#b.log\"  # comment\n"
		 "  enable: '  info+ '\n"
		 "  module: \"tab\\there \\\"q\\\" \\\\ \\/\"\n"
		 "  x: \"\"\n"
		 "}\n");
	ASSERT_EQ(p.err, RR_OK) << ::testing::PrintToString(p.diags());
	EXPECT_STREQ(p.attr(0, 0).value, "/var/log/a#b.log");
	EXPECT_TRUE(p.attr(0, 0).quoted);
	EXPECT_STREQ(p.attr(0, 1).value, "  info+ ");
	EXPECT_STREQ(p.attr(0, 2).value, "tab\there \"q\" \\ /");
	EXPECT_STREQ(p.attr(0, 3).value, "");
}

TEST(CtlConf, BlockValues)
{
	parsed p("listener {\n"
		 "    openProperties: {\n"
		 "        \"product\": \"x}{\",\n"
		 "        # a comment line inside the block\n"
		 "        \"nested\": {\"a\": 1}\n"
		 "    }\n"
		 "    port: 1\n"
		 "    one: {\"a\": {}}\n"
		 "}\n");
	ASSERT_EQ(p.err, RR_OK) << ::testing::PrintToString(p.diags());
	ASSERT_EQ(p.conf.sections[0].n_attrs, 3u);
	EXPECT_TRUE(p.attr(0, 0).block);
	EXPECT_EQ(p.attr(0, 0).line, 2u);
	EXPECT_STREQ(p.attr(0, 0).value,
		     "{\n\"product\": \"x}{\",\n\"nested\": {\"a\": 1}\n}");
	EXPECT_STREQ(p.attr(0, 1).value, "1");
	EXPECT_TRUE(p.attr(0, 2).block);
	EXPECT_STREQ(p.attr(0, 2).value, "{\"a\": {}}");
}

TEST(CtlConf, EmptyInput)
{
	parsed p("");
	EXPECT_EQ(p.err, RR_OK);
	EXPECT_EQ(p.conf.n_sections, 0u);
	parsed q("\n# only comments\n   \n");
	EXPECT_EQ(q.err, RR_OK);
	EXPECT_EQ(q.conf.n_sections, 0u);
}

// One syntax error: its exact message.
struct syntax_case {
	const char *text;
	const char *message;
};

class CtlConfSyntax : public ::testing::TestWithParam<syntax_case> {};

TEST_P(CtlConfSyntax, ReportsFileLine)
{
	parsed p(GetParam().text);
	EXPECT_EQ(p.err, RR_E_CONFIG_SYNTAX);
	ASSERT_EQ(p.diag.n, 1u) << ::testing::PrintToString(p.diags());
	EXPECT_EQ(p.diags()[0], GetParam().message);
	EXPECT_EQ(p.diag.v[0].code, RR_E_CONFIG_SYNTAX);
	EXPECT_EQ(p.diag.v[0].level, CTL_DIAG_ERROR);
	EXPECT_EQ(p.diag.n_errors, 1u);
}

INSTANTIATE_TEST_SUITE_P(
	Errors, CtlConfSyntax,
	::testing::Values(
		syntax_case{"port: 5672\n",
			    "p.conf:1: error: 'port: ...' outside a section: attributes go "
			    "between 'NAME {' and '}'"},
		syntax_case{"listener {\n  port:\n}\n", "p.conf:2: error: 'port' has no value"},
		syntax_case{"listener {\n  port:   # nothing\n}\n",
			    "p.conf:2: error: 'port' has no value"},
		syntax_case{"\nlistener {\n  port: 1\n",
			    "p.conf:2: error: section 'listener' is not closed: missing '}'"},
		syntax_case{"}\n", "p.conf:1: error: '}' without an open section"},
		syntax_case{"router {\n}\n}\n", "p.conf:3: error: '}' without an open section"},
		syntax_case{"listener {\n  port: 1\nrouter {\n}\n",
			    "p.conf:3: error: section 'listener' (line 1) is not closed before "
			    "'router {': missing '}'"},
		syntax_case{"listener { port: 1\n}\n",
			    "p.conf:1: error: unexpected text after 'listener {': put each attribute "
			    "on a line of its own"},
		syntax_case{"listener\n{\n}\n",
			    "p.conf:1: error: expected 'listener {' ('{' on the same line as the "
			    "section name)"},
		syntax_case{"router {\n  mode standalone\n}\n",
			    "p.conf:2: error: expected 'NAME {', 'KEY: VALUE' or '}', found 'mode "
			    "standalone'"},
		syntax_case{"router {\n  = x\n}\n",
			    "p.conf:2: error: expected 'NAME {', 'KEY: VALUE' or '}', found '= x'"},
		syntax_case{"router {\n}}\n",
			    "p.conf:2: error: unexpected '}}': '}' goes on a line of its own"},
		syntax_case{"log {\n  outputFile: \"/var/log/x\n}\n",
			    "p.conf:2: error: quoted value has no closing \""},
		syntax_case{"log {\n  outputFile: 'x\n}\n",
			    "p.conf:2: error: quoted value has no closing '"},
		syntax_case{"log {\n  outputFile: \"a\\qb\"\n}\n",
			    "p.conf:2: error: unknown escape '\\q' in a quoted value (known: \\\" "
			    "\\\\ \\/ \\n \\t \\r)"},
		syntax_case{"log {\n  outputFile: \"a\" b # c\n}\n",
			    "p.conf:2: error: unexpected 'b ' after the quoted value of 'outputFile'"},
		syntax_case{"listener {\n  openProperties: {\n    \"a\": {\n}\n",
			    "p.conf:2: error: block of 'openProperties' is not closed: missing '}'"},
		syntax_case{"listener {\n  openProperties: {\n    \"a\": 1\n}\n",
			    "p.conf:1: error: section 'listener' is not closed: missing '}'"},
		syntax_case{"listener {\n  openProperties: {\n  } x\n}\n",
			    "p.conf:3: error: unexpected 'x' after the '}' closing 'openProperties'"}));

TEST(CtlConf, NulByteIsReported)
{
	std::string text("router {\n  mode: a\0b\n}\n", 23);
	parsed p(text);
	EXPECT_EQ(p.err, RR_E_CONFIG_SYNTAX);
	ASSERT_EQ(p.diag.n, 1u);
	EXPECT_EQ(p.diags()[0], "p.conf:2: error: NUL byte: not a text file");
	EXPECT_EQ(p.conf.n_sections, 0u);
}

TEST(CtlConf, ReportsEveryErrorInOneRun)
{
	parsed p("x: 1\n"
		 "router {\n"
		 "  mode standalone\n"
		 "  id: r1\n"
		 "}\n"
		 "}\n"
		 "listener {\n");
	EXPECT_EQ(p.err, RR_E_CONFIG_SYNTAX);
	std::vector<std::string> want = {
		"p.conf:1: error: 'x: ...' outside a section: attributes go between 'NAME {' and "
		"'}'",
		"p.conf:3: error: expected 'NAME {', 'KEY: VALUE' or '}', found 'mode standalone'",
		"p.conf:6: error: '}' without an open section",
		"p.conf:7: error: section 'listener' is not closed: missing '}'",
	};
	EXPECT_EQ(p.diags(), want);
	// What could be read is kept.
	ASSERT_EQ(p.conf.n_sections, 2u);
	ASSERT_EQ(p.conf.sections[0].n_attrs, 1u);
	EXPECT_STREQ(p.attr(0, 0).value, "r1");
}

} // namespace
