// ctl_schema (generated from qdrouter.json) and its value parsers; ctl_addr.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "ctl_addr.h"
#include "ctl_schema.h"

namespace {

TEST(CtlSchema, SectionsFromQdrouterJson)
{
	const char *names[] = {"router", "listener", "connector", "address", "log", "sslProfile",
			       "linkRoute", "autoLink", "authServicePlugin", "policy", "vhost",
			       "exchange", "binding", "dataplane"};
	for (const char *n : names) {
		const struct ctl_entity_def *e = ctl_schema_find_entity(n);
		ASSERT_NE(e, nullptr) << n;
		EXPECT_STREQ(e->name, n);
	}
	EXPECT_EQ(ctl_schema_find_entity("connection"), nullptr); // operational, not config
	EXPECT_EQ(ctl_schema_find_entity("router.config.address"), nullptr);
	EXPECT_EQ(ctl_schema_find_entity("fixedAddress"), nullptr);
	EXPECT_STREQ(ctl_schema_entities[CTL_ENT_ADDRESS].long_name,
		     "org.apache.qpid.dispatch.router.config.address");
	EXPECT_STREQ(ctl_schema_entities[CTL_ENT_DATAPLANE].long_name, "dataplane");
	EXPECT_TRUE(ctl_schema_entities[CTL_ENT_ROUTER].flags & CTL_E_SINGLETON);
	EXPECT_TRUE(ctl_schema_entities[CTL_ENT_DATAPLANE].flags & CTL_E_RPCROUTER);
	EXPECT_FALSE(ctl_schema_entities[CTL_ENT_LISTENER].flags & CTL_E_SINGLETON);
}

TEST(CtlSchema, ListenerAttributes)
{
	const struct ctl_entity_def *l = &ctl_schema_entities[CTL_ENT_LISTENER];
	const struct ctl_attr_def *port = &l->attrs[CTL_LISTENER_PORT];
	EXPECT_STREQ(port->name, "port");
	EXPECT_STREQ(port->default_value, "amqp");
	EXPECT_EQ(port->type, CTL_T_STRING);
	const struct ctl_attr_def *role = &l->attrs[CTL_LISTENER_ROLE];
	EXPECT_EQ(role->type, CTL_T_ENUM);
	EXPECT_STREQ(role->tags[0], "normal");
	EXPECT_STREQ(role->tags[1], "inter-router");
	EXPECT_STREQ(role->default_value, "normal");
	EXPECT_EQ(l->attrs[CTL_LISTENER_AUTHENTICATE_PEER].type, CTL_T_BOOLEAN);
	EXPECT_STREQ(l->attrs[CTL_LISTENER_AUTHENTICATE_PEER].default_value, "false");
	EXPECT_EQ(l->attrs[CTL_LISTENER_OPEN_PROPERTIES].type, CTL_T_MAP);
	EXPECT_EQ(l->attrs[CTL_LISTENER_MAX_FRAME_SIZE].type, CTL_T_INTEGER);
	EXPECT_STREQ(l->attrs[CTL_LISTENER_MAX_FRAME_SIZE].default_value, "16384");

	bool old = true;
	EXPECT_EQ(ctl_schema_find_attr(l, "saslMechanisms", &old), CTL_LISTENER_SASL_MECHANISMS);
	EXPECT_FALSE(old);
	EXPECT_EQ(ctl_schema_find_attr(l, "protocolFamily", &old),
		  CTL_LISTENER_SOCKET_ADDRESS_FAMILY);
	EXPECT_TRUE(old);
	EXPECT_EQ(ctl_schema_find_attr(l, "name", nullptr), CTL_LISTENER_NAME);
	EXPECT_EQ(ctl_schema_find_attr(l, "identity", nullptr), -1);
	EXPECT_EQ(ctl_schema_find_attr(l, "type", nullptr), -1);
	EXPECT_EQ(ctl_schema_find_attr(l, "addr", nullptr), -1);
}

TEST(CtlSchema, Flags)
{
	const struct ctl_entity_def *r = &ctl_schema_entities[CTL_ENT_ROUTER];
	EXPECT_TRUE(r->attrs[CTL_ROUTER_ADDR_COUNT].flags & CTL_A_STATUS);
	EXPECT_FALSE(r->attrs[CTL_ROUTER_MODE].flags & CTL_A_STATUS);
	EXPECT_TRUE(ctl_schema_entities[CTL_ENT_LOG].attrs[CTL_LOG_MODULE].flags & CTL_A_REQUIRED);
	const struct ctl_entity_def *c = &ctl_schema_entities[CTL_ENT_CONNECTOR];
	EXPECT_TRUE(c->attrs[CTL_CONNECTOR_SASL_PASSWORD].flags & CTL_A_SECRET);
	EXPECT_FALSE(c->attrs[CTL_CONNECTOR_SASL_USERNAME].flags & CTL_A_SECRET);
	const struct ctl_entity_def *s = &ctl_schema_entities[CTL_ENT_SSL_PROFILE];
	EXPECT_TRUE(s->attrs[CTL_SSL_PROFILE_PASSWORD_FILE].flags & CTL_A_DEPRECATED);
	EXPECT_STREQ(s->attrs[CTL_SSL_PROFILE_CA_CERT_FILE].deprecated_name, "certDb");
}

TEST(CtlValue, Integer)
{
	int64_t v = 7;
	EXPECT_EQ(ctl_value_integer("0", &v), RR_OK);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(ctl_value_integer("-12", &v), RR_OK);
	EXPECT_EQ(v, -12);
	EXPECT_EQ(ctl_value_integer("+9223372036854775807", &v), RR_OK);
	EXPECT_EQ(v, INT64_MAX);
	v = 7;
	for (const char *bad : {"", "-", "+", "1.5", "0x10", " 1", "1 ", "9223372036854775808", "1e3"}) {
		EXPECT_EQ(ctl_value_integer(bad, &v), RR_E_CONFIG_VALUE) << bad;
		EXPECT_EQ(v, 7) << bad;
	}
}

TEST(CtlValue, Boolean)
{
	for (const char *t : {"yes", "true", "on", "YES", "True", "oN"}) {
		bool b = false;
		EXPECT_EQ(ctl_value_boolean(t, &b), RR_OK) << t;
		EXPECT_TRUE(b) << t;
	}
	for (const char *f : {"no", "false", "off", "NO", "False"}) {
		bool b = true;
		EXPECT_EQ(ctl_value_boolean(f, &b), RR_OK) << f;
		EXPECT_FALSE(b) << f;
	}
	for (const char *bad : {"1", "0", "", "y", "yess", "enabled"}) {
		bool b = true;
		EXPECT_EQ(ctl_value_boolean(bad, &b), RR_E_CONFIG_VALUE) << bad;
		EXPECT_TRUE(b) << bad;
	}
}

TEST(CtlValue, Enum)
{
	const struct ctl_attr_def *mode = &ctl_schema_entities[CTL_ENT_ROUTER].attrs[CTL_ROUTER_MODE];
	const char *tag = nullptr;
	EXPECT_EQ(ctl_value_enum(mode, "edge", &tag), RR_OK);
	EXPECT_STREQ(tag, "edge");
	EXPECT_EQ(ctl_value_enum(mode, "0", &tag), RR_OK);
	EXPECT_STREQ(tag, "standalone");
	tag = nullptr;
	EXPECT_EQ(ctl_value_enum(mode, "Edge", &tag), RR_E_CONFIG_VALUE);
	EXPECT_EQ(ctl_value_enum(mode, "-1", &tag), RR_E_CONFIG_VALUE);
	EXPECT_EQ(ctl_value_enum(mode, "3", &tag), RR_E_CONFIG_VALUE);
	EXPECT_EQ(tag, nullptr);
	const struct ctl_attr_def *port =
		&ctl_schema_entities[CTL_ENT_LISTENER].attrs[CTL_LISTENER_PORT];
	EXPECT_EQ(ctl_value_enum(port, "amqp", &tag), RR_E_CONFIG_VALUE); // not an enum
	char buf[64];
	EXPECT_STREQ(ctl_attr_tags_text(mode, buf, sizeof(buf)), "standalone, interior, edge");
	EXPECT_STREQ(ctl_attr_tags_text(mode, buf, 12), "standalone");
}

TEST(CtlAddr, Port)
{
	uint16_t p = 1;
	EXPECT_EQ(ctl_addr_parse_port("amqp", &p), RR_OK);
	EXPECT_EQ(p, 5672);
	EXPECT_EQ(ctl_addr_parse_port("amqps", &p), RR_OK);
	EXPECT_EQ(p, 5671);
	EXPECT_EQ(ctl_addr_parse_port("0", &p), RR_OK);
	EXPECT_EQ(p, 0);
	EXPECT_EQ(ctl_addr_parse_port("65535", &p), RR_OK);
	EXPECT_EQ(p, 65535);
	EXPECT_EQ(ctl_addr_parse_port("031459", &p), RR_OK);
	EXPECT_EQ(p, 31459);
	p = 1;
	for (const char *bad : {"65536", "99999999999", "", "-1", "12a", "a b", "no-such-svc-xyz"}) {
		EXPECT_EQ(ctl_addr_parse_port(bad, &p), RR_E_CONFIG_VALUE) << bad;
		EXPECT_EQ(p, 1) << bad;
	}
}

TEST(CtlAddr, Host)
{
	for (const char *ok : {"", "0.0.0.0", "127.0.0.1", "::", "::1", "fe80::1",
			       "2001:db8::5:1", "localhost", "controller-0.internalapi.localdomain",
			       "a_b.example.", "x"}) {
		EXPECT_EQ(ctl_addr_check_host(ok), RR_OK) << ok;
	}
	std::string long_label(64, 'a');
	for (const char *bad : {"1.2.3", "1.2.3.4.5", "256.0.0.1", "[::1]", ":::", "a b", "-a",
				"a-", "a..b", ".a", "a/b", "h\xc3\xa9", long_label.c_str()}) {
		EXPECT_EQ(ctl_addr_check_host(bad), RR_E_CONFIG_VALUE) << bad;
	}
}

TEST(CtlAddr, Format)
{
	char buf[64];
	EXPECT_STREQ(ctl_addr_format("127.0.0.1", 5672, buf, sizeof(buf)), "127.0.0.1:5672");
	EXPECT_STREQ(ctl_addr_format("::1", 1, buf, sizeof(buf)), "[::1]:1");
	EXPECT_STREQ(ctl_addr_format("", 5672, buf, sizeof(buf)), "*:5672");
	EXPECT_STREQ(ctl_addr_format("host", 0, buf, sizeof(buf)), "host:0");
	EXPECT_STREQ(ctl_addr_format("controller", 31460, buf, 8), "control");
}

} // namespace
