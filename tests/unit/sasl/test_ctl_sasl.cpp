// ctl_sasl: Cyrus SASL behind proton's sasl_plugin.h, server side.
//
// Everything real: Cyrus (libsasl2 and the plugins of libsasl2-modules), a
// sasldb made by saslpasswd2 in a temporary directory, a server transport
// set up by ctl_sasl_server_setup and either proton's own client SASL
// (PLAIN, ANONYMOUS) or a hand-written client that sends raw SASL frames
// (AMQP 1.0 part 5.3) to try what proton's client would never send. Bytes
// are pumped between the two in memory, as the control thread does.
#include <gtest/gtest.h>

#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/sasl.h>
#include <proton/transport.h>

#include <sasl/sasl.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ctl_sasl.h"
#include "sasl/sasl_test_paths.h"

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<unsigned char>;

const char REALM[] = "rr-test";

// A temporary Cyrus configuration directory with a sasldb.
struct sasl_dir {
	std::string path;
	std::string db;
	sasl_dir()
	{
		char tmpl[] = "/tmp/ctl_sasl_test.XXXXXX";
		const char *p = mkdtemp(tmpl);
		if (p)
			path = p;
		db = path + "/test.sasldb";
	}
	~sasl_dir()
	{
		std::error_code ec;
		if (!path.empty())
			fs::remove_all(path, ec);
	}
	// <name>.conf with the TripleO shape, mech_list as given ("" = none).
	void write_conf(const std::string &name, const std::string &mech_list) const
	{
		std::ofstream f(path + "/" + name + ".conf");
		f << "pwcheck_method: auxprop\n"
		  << "auxprop_plugin: sasldb\n"
		  << "sasldb_path: " << db << "\n";
		if (!mech_list.empty())
			f << "mech_list: " << mech_list << "\n";
	}
	// saslpasswd2 -c -p -f DB -u REALM user, password on stdin.
	int add_user(const std::string &user, const std::string &pass,
		     const std::string &realm = REALM) const
	{
		std::string cmd = std::string(SASL_TEST_SASLPASSWD2) + " -c -p -f '" + db +
				  "' -u '" + realm + "' '" + user + "'";
		FILE *f = popen(cmd.c_str(), "w");
		if (!f)
			return -1;
		fputs(pass.c_str(), f);
		int st = pclose(f);
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
};

// ---------------------------------------------------------------------
// SASL frames on the wire (AMQP 1.0 part 5.3): just enough to read what
// the server sends and to write what a client may send.

struct frame {
	unsigned char type;
	uint64_t descriptor;
	bytes body; // after the descriptor
};

// Split the server's output after the 8-byte SASL protocol header.
std::vector<frame> split_frames(const bytes &out, std::string *header)
{
	std::vector<frame> v;
	if (out.size() < 8)
		return v;
	if (header)
		header->assign(out.begin(), out.begin() + 8);
	size_t at = 8;
	while (at + 8 <= out.size()) {
		uint32_t size = (uint32_t)out[at] << 24 | (uint32_t)out[at + 1] << 16 |
				(uint32_t)out[at + 2] << 8 | out[at + 3];
		if (size < 8 || at + size > out.size())
			break;
		size_t doff = out[at + 4] * 4u;
		frame f;
		f.type = out[at + 5];
		f.descriptor = 0;
		size_t b = at + doff;
		// descriptor: 0x00 then smallulong 0x53 xx
		if (b + 3 <= at + size && out[b] == 0x00 && out[b + 1] == 0x53) {
			f.descriptor = out[b + 2];
			f.body.assign(out.begin() + b + 3, out.begin() + at + size);
		}
		v.push_back(f);
		at += size;
	}
	return v;
}

// The symbols of a sasl-mechanisms body: list8/list32, first field a symbol
// or an array of symbols (proton writes an array).
std::vector<std::string> mechanisms_of(const frame &f)
{
	std::vector<std::string> out;
	const bytes &b = f.body;
	size_t i = 0;
	if (b.empty())
		return out;
	if (b[0] == 0xc0)
		i = 3; // list8: size, count
	else if (b[0] == 0xd0)
		i = 9; // list32
	else if (b[0] == 0x45)
		return out; // list0
	if (i >= b.size())
		return out;
	auto sym = [&](unsigned char code, size_t &j) -> std::string {
		size_t len;
		if (code == 0xa3) {
			len = b.at(j);
			j += 1;
		} else {
			len = (size_t)b.at(j) << 24 | (size_t)b.at(j + 1) << 16 |
			      (size_t)b.at(j + 2) << 8 | b.at(j + 3);
			j += 4;
		}
		std::string s(b.begin() + j, b.begin() + j + len);
		j += len;
		return s;
	};
	unsigned char c = b[i++];
	if (c == 0xa3 || c == 0xb3) {
		out.push_back(sym(c, i));
	} else if (c == 0xe0 || c == 0xf0) {
		size_t count;
		if (c == 0xe0) {
			count = b.at(i + 1);
			i += 2;
		} else {
			count = (size_t)b.at(i + 4) << 24 | (size_t)b.at(i + 5) << 16 |
				(size_t)b.at(i + 6) << 8 | b.at(i + 7);
			i += 8;
		}
		unsigned char ec = b.at(i++);
		for (size_t k = 0; k < count; k++)
			out.push_back(sym(ec, i));
	}
	return out;
}

// The code of a sasl-outcome body, or -1.
int outcome_of(const frame &f)
{
	if (f.descriptor != 0x44 || f.body.size() < 4)
		return -1;
	size_t i = f.body[0] == 0xc0 ? 3 : f.body[0] == 0xd0 ? 9 : 0;
	if (i == 0 || i + 1 >= f.body.size() || f.body[i] != 0x50)
		return -1;
	return f.body[i + 1];
}

bytes sasl_frame(unsigned char desc, const bytes &fields, unsigned char count)
{
	bytes body = {0x00, 0x53, desc, 0xc0, (unsigned char)(fields.size() + 1), count};
	body.insert(body.end(), fields.begin(), fields.end());
	uint32_t size = (uint32_t)(8 + body.size());
	bytes fr = {(unsigned char)(size >> 24), (unsigned char)(size >> 16),
		    (unsigned char)(size >> 8), (unsigned char)size, 2, 1, 0, 0};
	fr.insert(fr.end(), body.begin(), body.end());
	return fr;
}

// sasl-init (5.3.3.2): mechanism, optional initial-response.
bytes sasl_init(const std::string &mech, const std::string *resp)
{
	bytes f = {0xa3, (unsigned char)mech.size()};
	f.insert(f.end(), mech.begin(), mech.end());
	if (resp) {
		f.push_back(0xa0);
		f.push_back((unsigned char)resp->size());
		f.insert(f.end(), resp->begin(), resp->end());
	}
	return sasl_frame(0x41, f, resp ? 2 : 1);
}

// sasl-response (5.3.3.4).
bytes sasl_response(const std::string &resp)
{
	bytes f = {0xa0, (unsigned char)resp.size()};
	f.insert(f.end(), resp.begin(), resp.end());
	return sasl_frame(0x43, f, 1);
}

// The binary field of a sasl-challenge body.
std::string challenge_of(const frame &f)
{
	const bytes &b = f.body;
	if (f.descriptor != 0x42 || b.size() < 5 || b[0] != 0xc0 || b[3] != 0xa0)
		return "";
	size_t len = b[4];
	return std::string(b.begin() + 5, b.begin() + 5 + std::min(len, b.size() - 5));
}

const bytes SASL_HEADER = {'A', 'M', 'Q', 'P', 3, 1, 0, 0};

// ---------------------------------------------------------------------
// A server transport set up by ctl_sasl_server_setup, in a connection driver
// as the control thread runs it.

struct server {
	pn_connection_driver_t d;
	enum rr_err setup_rc;
	explicit server(const ctl_sasl_server &s)
	{
		pn_transport_t *t = pn_transport();
		pn_transport_set_server(t);
		setup_rc = ctl_sasl_server_setup(t, &s);
		pn_connection_driver_init(&d, pn_connection(), t);
		pn_connection_driver_bind(&d);
	}
	~server() { pn_connection_driver_destroy(&d); }
	server(const server &) = delete;
	server &operator=(const server &) = delete;

	void feed(const bytes &in)
	{
		size_t at = 0;
		for (int i = 0; i < 64 && at < in.size(); i++) {
			pn_rwbytes_t rb = pn_connection_driver_read_buffer(&d);
			if (rb.size == 0)
				break;
			size_t n = std::min(rb.size, in.size() - at);
			memcpy(rb.start, in.data() + at, n);
			pn_connection_driver_read_done(&d, n);
			at += n;
		}
		drain_events();
	}
	bytes take_output()
	{
		bytes out;
		for (int i = 0; i < 64; i++) {
			pn_bytes_t wb = pn_connection_driver_write_buffer(&d);
			if (wb.size == 0)
				break;
			out.insert(out.end(), wb.start, wb.start + wb.size);
			pn_connection_driver_write_done(&d, wb.size);
		}
		drain_events();
		return out;
	}
	void drain_events()
	{
		for (int i = 0; i < 1000 && pn_connection_driver_next_event(&d); i++) {
		}
	}
	pn_sasl_outcome_t outcome() { return pn_sasl_outcome(pn_sasl(d.transport)); }
	std::string user()
	{
		const char *u = pn_sasl_get_user(pn_sasl(d.transport));
		return u ? u : "";
	}
	std::string mech()
	{
		const char *m = pn_sasl_get_mech(pn_sasl(d.transport));
		return m ? m : "";
	}
	bool remote_open() { return pn_connection_state(d.connection) & PN_REMOTE_ACTIVE; }
};

// Proton's own client SASL (default_sasl.c: ANONYMOUS and PLAIN).
struct client {
	pn_connection_driver_t d;
	client(const char *user, const char *pass, const char *mechs)
	{
		pn_connection_t *c = pn_connection();
		// Read by proton when the transport is bound.
		if (user)
			pn_connection_set_user(c, user);
		if (pass)
			pn_connection_set_password(c, pass);
		pn_transport_t *t = pn_transport();
		pn_sasl_t *s = pn_sasl(t);
		if (mechs)
			pn_sasl_allowed_mechs(s, mechs);
		pn_sasl_set_allow_insecure_mechs(s, true);
		pn_connection_driver_init(&d, c, t);
		pn_connection_driver_bind(&d); // before any bytes: user/password
		pn_connection_open(c);
	}
	~client() { pn_connection_driver_destroy(&d); }
	client(const client &) = delete;
	client &operator=(const client &) = delete;
	pn_sasl_outcome_t outcome() { return pn_sasl_outcome(pn_sasl(d.transport)); }
};

bool move_bytes(pn_connection_driver_t *from, pn_connection_driver_t *to)
{
	pn_bytes_t wb = pn_connection_driver_write_buffer(from);
	if (wb.size) {
		pn_rwbytes_t rb = pn_connection_driver_read_buffer(to);
		size_t n = std::min(wb.size, rb.size);
		if (n) {
			memcpy(rb.start, wb.start, n);
			pn_connection_driver_read_done(to, n);
			pn_connection_driver_write_done(from, n);
			return true;
		}
	}
	if (pn_connection_driver_write_closed(from) && !pn_connection_driver_read_closed(to)) {
		pn_connection_driver_read_close(to);
		return true;
	}
	return false;
}

// Pump until neither side has anything to say (bounded).
void pump(client &c, server &s)
{
	for (int i = 0; i < 500; i++) {
		bool moved = move_bytes(&c.d, &s.d);
		moved |= move_bytes(&s.d, &c.d);
		for (int k = 0; k < 1000 && pn_connection_driver_next_event(&c.d); k++) {
		}
		s.drain_events();
		if (!moved)
			return;
	}
	ADD_FAILURE() << "pump did not settle in 500 rounds";
}

std::set<std::string> words(const std::string &s)
{
	std::set<std::string> w;
	std::istringstream in(s);
	std::string x;
	while (in >> x)
		w.insert(x);
	return w;
}

// The offer a fresh server transport puts on the wire, and the outcome it
// sends for a raw sasl-init.
struct raw_result {
	std::vector<std::string> offer;
	int outcome = -2;
	std::string header;
	bool closed = false;
};

raw_result raw_init(const ctl_sasl_server &cfg, const std::string &mech, const std::string *resp)
{
	raw_result r;
	server s(cfg);
	bytes in = SASL_HEADER;
	bytes init = sasl_init(mech, resp);
	in.insert(in.end(), init.begin(), init.end());
	s.feed(in);
	bytes out = s.take_output();
	std::vector<frame> fr = split_frames(out, &r.header);
	for (const frame &f : fr) {
		if (f.descriptor == 0x40)
			r.offer = mechanisms_of(f);
		if (f.descriptor == 0x44)
			r.outcome = outcome_of(f);
	}
	r.closed = pn_connection_driver_write_closed(&s.d);
	return r;
}

std::vector<std::string> wire_offer(const ctl_sasl_server &cfg)
{
	server s(cfg);
	s.feed(SASL_HEADER);
	bytes out = s.take_output();
	for (const frame &f : split_frames(out, nullptr))
		if (f.descriptor == 0x40)
			return mechanisms_of(f);
	return {"<no sasl-mechanisms frame>"};
}

// ---------------------------------------------------------------------
// Fixture: a TripleO-like Cyrus configuration, initialised per test.

class SaslCyrus : public ::testing::Test
{
protected:
	sasl_dir dir;
	ctl_sasl_server cfg{};
	unsigned live_before = 0;

	void init(const std::string &mech_list, const char *name = "qdrouterd")
	{
		ASSERT_FALSE(dir.path.empty());
		dir.write_conf(name, mech_list);
		ASSERT_EQ(dir.add_user("alice", "secret"), 0);
		ASSERT_EQ(dir.add_user("bob", "hunter2"), 0);
		char err[512];
		ASSERT_EQ(ctl_sasl_global_init(dir.path.c_str(), name, err, sizeof err), RR_OK)
			<< err;
		cfg = ctl_sasl_server{};
		cfg.config_dir = dir.path.c_str();
		cfg.config_name = name;
		live_before = ctl_sasl_live_conns();
	}
	void TearDown() override
	{
		EXPECT_EQ(ctl_sasl_live_conns(), live_before) << "a Cyrus context was not freed";
		ctl_sasl_global_fini();
	}
};

TEST_F(SaslCyrus, PlainRightPasswordAuthenticates)
{
	init("PLAIN ANONYMOUS");
	cfg.authenticate_peer = true;
	{
		server s(cfg);
		ASSERT_EQ(s.setup_rc, RR_OK);
		EXPECT_EQ(ctl_sasl_live_conns(), live_before + 1);
		client c("alice@rr-test", "secret", "PLAIN");
		pump(c, s);
		EXPECT_EQ(s.outcome(), PN_SASL_OK);
		EXPECT_EQ(c.outcome(), PN_SASL_OK);
		EXPECT_EQ(s.user(), "alice@rr-test");
		EXPECT_EQ(s.mech(), "PLAIN");
		EXPECT_TRUE(s.remote_open()) << "the client's Open did not reach the server";
		EXPECT_EQ(ctl_sasl_failure(s.d.transport), nullptr);
	}
	EXPECT_EQ(ctl_sasl_live_conns(), live_before);
}

TEST_F(SaslCyrus, PlainWrongPasswordGetsAuthOutcome)
{
	init("PLAIN ANONYMOUS");
	cfg.authenticate_peer = true;
	server s(cfg);
	client c("alice@rr-test", "wrong", "PLAIN");
	pump(c, s);
	EXPECT_EQ(s.outcome(), PN_SASL_AUTH);
	EXPECT_EQ(c.outcome(), PN_SASL_AUTH) << "the client did not receive outcome auth (1)";
	EXPECT_FALSE(s.remote_open());
	EXPECT_TRUE(pn_connection_driver_write_closed(&s.d));
	ASSERT_NE(ctl_sasl_failure(s.d.transport), nullptr);
	EXPECT_NE(std::string(ctl_sasl_failure(s.d.transport)), "");
}

TEST_F(SaslCyrus, WrongPasswordOnTheWireIsOutcomeAuth)
{
	init("PLAIN ANONYMOUS");
	std::string resp = std::string("\0alice@rr-test\0nope", 19);
	raw_result r = raw_init(cfg, "PLAIN", &resp);
	EXPECT_EQ(r.header, std::string((const char *)SASL_HEADER.data(), 8));
	EXPECT_EQ(r.outcome, 1);
	EXPECT_TRUE(r.closed);
	std::string good = std::string("\0alice@rr-test\0secret", 21);
	EXPECT_EQ(raw_init(cfg, "PLAIN", &good).outcome, 0);
}

TEST_F(SaslCyrus, UnknownUserGetsAuthOutcome)
{
	init("PLAIN ANONYMOUS");
	server s(cfg);
	client c("mallory@rr-test", "secret", "PLAIN");
	pump(c, s);
	EXPECT_EQ(s.outcome(), PN_SASL_AUTH);
	EXPECT_EQ(c.outcome(), PN_SASL_AUTH);
	EXPECT_FALSE(s.remote_open());
}

TEST_F(SaslCyrus, OtherUsersPasswordIsRefused)
{
	init("PLAIN ANONYMOUS");
	server s(cfg);
	client c("alice@rr-test", "hunter2", "PLAIN");
	pump(c, s);
	EXPECT_EQ(s.outcome(), PN_SASL_AUTH);
}

TEST_F(SaslCyrus, HostnameIsTheDefaultRealm)
{
	init("PLAIN");
	ASSERT_EQ(dir.add_user("carol", "pw3", "node1.example"), 0);
	cfg.hostname = "node1.example";
	server s(cfg);
	client c("carol", "pw3", "PLAIN");
	pump(c, s);
	EXPECT_EQ(s.outcome(), PN_SASL_OK);
	EXPECT_EQ(s.user(), "carol"); // as given: the realm is implied
	// Without the realm and another default realm, carol is unknown.
	cfg.hostname = "other.example";
	server s2(cfg);
	client c2("carol", "pw3", "PLAIN");
	pump(c2, s2);
	EXPECT_EQ(s2.outcome(), PN_SASL_AUTH);
}

TEST_F(SaslCyrus, AnonymousAllowedWithoutAuthenticatePeer)
{
	init("PLAIN ANONYMOUS");
	server s(cfg);
	client c(nullptr, nullptr, "ANONYMOUS");
	pump(c, s);
	EXPECT_EQ(s.outcome(), PN_SASL_OK);
	EXPECT_EQ(s.mech(), "ANONYMOUS");
	EXPECT_EQ(s.user(), "anonymous");
	EXPECT_TRUE(s.remote_open());
	// An ANONYMOUS init with no initial-response (older clients) works too.
	EXPECT_EQ(raw_init(cfg, "ANONYMOUS", nullptr).outcome, 0);
}

TEST_F(SaslCyrus, AnonymousRefusedWithAuthenticatePeer)
{
	init("PLAIN ANONYMOUS");
	cfg.authenticate_peer = true;
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"PLAIN"});
	{
		server s(cfg);
		client c(nullptr, nullptr, "ANONYMOUS");
		pump(c, s);
		EXPECT_NE(s.outcome(), PN_SASL_OK);
		EXPECT_NE(c.outcome(), PN_SASL_OK);
		EXPECT_FALSE(s.remote_open());
	}
	// A client that sends ANONYMOUS anyway gets outcome auth.
	std::string trace = "x";
	raw_result r = raw_init(cfg, "ANONYMOUS", &trace);
	EXPECT_EQ(r.outcome, 1);
}

TEST_F(SaslCyrus, ClientSkippingSaslIsRefusedWithAuthenticatePeer)
{
	init("PLAIN ANONYMOUS");
	cfg.authenticate_peer = true;
	server s(cfg);
	const bytes amqp = {'A', 'M', 'Q', 'P', 0, 1, 0, 0};
	s.feed(amqp);
	s.take_output();
	EXPECT_FALSE(s.remote_open());
	EXPECT_TRUE(pn_connection_driver_write_closed(&s.d));
	pn_condition_t *cond = pn_transport_condition(s.d.transport);
	ASSERT_TRUE(pn_condition_is_set(cond));
	EXPECT_STREQ(pn_condition_get_name(cond), "amqp:connection:policy-error");
}

TEST_F(SaslCyrus, ClientSkippingSaslIsLetInWithoutAuthenticatePeer)
{
	init("PLAIN ANONYMOUS");
	server s(cfg);
	const bytes amqp = {'A', 'M', 'Q', 'P', 0, 1, 0, 0};
	s.feed(amqp);
	bytes out = s.take_output();
	// The server answers with the AMQP header, not SASL, and stays open.
	ASSERT_GE(out.size(), 8u);
	EXPECT_EQ(bytes(out.begin(), out.begin() + 8), amqp);
	EXPECT_FALSE(pn_connection_driver_write_closed(&s.d));
	EXPECT_FALSE(pn_condition_is_set(pn_transport_condition(s.d.transport)));
}

TEST_F(SaslCyrus, SaslMechanismsRestrictsTheOffer)
{
	init("PLAIN ANONYMOUS");
	cfg.mechanisms = "PLAIN";
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"PLAIN"});
	std::string trace = "x";
	EXPECT_EQ(raw_init(cfg, "ANONYMOUS", &trace).outcome, 1);
	cfg.mechanisms = "ANONYMOUS";
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"ANONYMOUS"});
	std::string good = std::string("\0alice@rr-test\0secret", 21);
	EXPECT_EQ(raw_init(cfg, "PLAIN", &good).outcome, 1)
		<< "a right password over a mechanism not offered must still be refused";
	cfg.mechanisms = nullptr;
	std::vector<std::string> all = wire_offer(cfg);
	EXPECT_EQ(std::set<std::string>(all.begin(), all.end()),
		  (std::set<std::string>{"PLAIN", "ANONYMOUS"}));
}

TEST_F(SaslCyrus, MechListInTheConfigRestrictsTheOffer)
{
	init("ANONYMOUS");
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"ANONYMOUS"});
	std::string good = std::string("\0alice@rr-test\0secret", 21);
	EXPECT_EQ(raw_init(cfg, "PLAIN", &good).outcome, 1);
}

TEST_F(SaslCyrus, NoPlaintextRefusesPlainUnlessEncrypted)
{
	init("PLAIN ANONYMOUS");
	cfg.no_plaintext = true;
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"ANONYMOUS"});
	cfg.encrypted = true;
	std::vector<std::string> all = wire_offer(cfg);
	EXPECT_EQ(std::set<std::string>(all.begin(), all.end()),
		  (std::set<std::string>{"PLAIN", "ANONYMOUS"}));
}

// CRAM-MD5 is server-first: exercises the challenge/response path with
// Cyrus's own client plugin computing the response.
TEST_F(SaslCyrus, ChallengeResponseMechanism)
{
	init("CRAM-MD5 PLAIN");
	ASSERT_EQ(sasl_client_init(nullptr), SASL_OK);
	struct creds {
		static int simple(void *ctx, int id, const char **result, unsigned *len)
		{
			(void)ctx;
			if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
				return SASL_FAIL;
			*result = "bob@rr-test";
			if (len)
				*len = (unsigned)strlen(*result);
			return SASL_OK;
		}
		static int pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
		{
			(void)conn, (void)id;
			*psecret = (sasl_secret_t *)ctx;
			return SASL_OK;
		}
	};
	alignas(sasl_secret_t) unsigned char secret_buf[sizeof(sasl_secret_t) + 16] = {};
	sasl_secret_t *secret = (sasl_secret_t *)secret_buf;
	secret->len = 7;
	memcpy(secret->data, "hunter2", 7);
	sasl_callback_t cbs[] = {
		{SASL_CB_AUTHNAME, (int (*)(void))(void (*)(void))creds::simple, nullptr},
		{SASL_CB_USER, (int (*)(void))(void (*)(void))creds::simple, nullptr},
		{SASL_CB_PASS, (int (*)(void))(void (*)(void))creds::pass, secret},
		{SASL_CB_LIST_END, nullptr, nullptr},
	};
	sasl_conn_t *cc = nullptr;
	ASSERT_EQ(sasl_client_new("amqp", "localhost", nullptr, nullptr, cbs, 0, &cc), SASL_OK);
	const char *out = nullptr, *mech = nullptr;
	unsigned outlen = 0;
	ASSERT_EQ(sasl_client_start(cc, "CRAM-MD5", nullptr, &out, &outlen, &mech), SASL_CONTINUE);
	{
		server s(cfg);
		bytes in = SASL_HEADER;
		bytes init = sasl_init("CRAM-MD5", nullptr);
		in.insert(in.end(), init.begin(), init.end());
		s.feed(in);
		std::vector<frame> fr = split_frames(s.take_output(), nullptr);
		ASSERT_EQ(fr.size(), 2u);
		ASSERT_EQ(fr[1].descriptor, 0x42u) << "no sasl-challenge";
		std::string ch = challenge_of(fr[1]);
		ASSERT_FALSE(ch.empty());
		ASSERT_EQ(sasl_client_step(cc, ch.data(), (unsigned)ch.size(), nullptr, &out, &outlen),
			  SASL_OK);
		s.feed(sasl_response(std::string(out, outlen)));
		bytes out2 = s.take_output();
		// No header this time, frames only: put one in front to split.
		bytes with_header = SASL_HEADER;
		with_header.insert(with_header.end(), out2.begin(), out2.end());
		std::vector<frame> fr2 = split_frames(with_header, nullptr);
		ASSERT_EQ(fr2.size(), 1u);
		EXPECT_EQ(outcome_of(fr2[0]), 0);
		EXPECT_EQ(s.outcome(), PN_SASL_OK);
		EXPECT_EQ(s.mech(), "CRAM-MD5");
		EXPECT_EQ(s.user(), "bob@rr-test");
	}
	sasl_dispose(&cc);
	sasl_client_done();
}

TEST_F(SaslCyrus, ContextFreedWithoutAnyBytes)
{
	init("PLAIN ANONYMOUS");
	for (int i = 0; i < 3; i++) {
		pn_transport_t *t = pn_transport();
		pn_transport_set_server(t);
		ASSERT_EQ(ctl_sasl_server_setup(t, &cfg), RR_OK);
		EXPECT_EQ(ctl_sasl_live_conns(), live_before + 1);
		pn_transport_free(t);
		EXPECT_EQ(ctl_sasl_live_conns(), live_before);
	}
}

TEST_F(SaslCyrus, ContextFreedMidExchange)
{
	init("CRAM-MD5 PLAIN");
	{
		// Cut after the challenge: Cyrus holds per-step state.
		server s(cfg);
		bytes in = SASL_HEADER;
		bytes init = sasl_init("CRAM-MD5", nullptr);
		in.insert(in.end(), init.begin(), init.end());
		s.feed(in);
		EXPECT_FALSE(s.take_output().empty());
		EXPECT_EQ(ctl_sasl_live_conns(), live_before + 1);
	}
	EXPECT_EQ(ctl_sasl_live_conns(), live_before);
}

TEST_F(SaslCyrus, ServerMechsReportsOfferAndReasons)
{
	init("PLAIN ANONYMOUS");
	char buf[256], why[512];

	ASSERT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_EQ(words(buf), (std::set<std::string>{"PLAIN", "ANONYMOUS"}));
	EXPECT_STREQ(why, "");

	cfg.authenticate_peer = true;
	ASSERT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "PLAIN");

	// ANONYMOUS named with authenticatePeer: dropped with a note, as
	// qdrouterd (Cyrus NOANONYMOUS) does.
	cfg.mechanisms = "ANONYMOUS PLAIN";
	ASSERT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "PLAIN");
	EXPECT_NE(strstr(why, "ANONYMOUS"), nullptr) << why;

	cfg.mechanisms = "ANONYMOUS";
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_STREQ(buf, "");
	EXPECT_NE(strstr(why, "no SASL mechanism"), nullptr) << why;

	cfg.authenticate_peer = false;
	cfg.mechanisms = "PLAIN";
	cfg.no_plaintext = true;
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_NE(strstr(why, "in clear"), nullptr) << why;
	cfg.encrypted = true;
	EXPECT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "PLAIN");
	cfg.encrypted = false;
	cfg.no_plaintext = false;

	// Installed plugin, excluded by mech_list.
	cfg.mechanisms = "PLAIN CRAM-MD5";
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_NE(strstr(why, "CRAM-MD5"), nullptr) << why;
	EXPECT_NE(strstr(why, "mech_list"), nullptr) << why;

	// No plugin at all.
	cfg.mechanisms = "PLAIN X-NO-SUCH-MECH";
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_NE(strstr(why, "no X-NO-SUCH-MECH plugin"), nullptr) << why;

	// Case does not matter (RFC 4422 3.1 names; proton and Cyrus ignore it).
	cfg.mechanisms = "plain";
	EXPECT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "PLAIN");

	// Too small a buffer is an error, not a truncated list.
	cfg.mechanisms = nullptr;
	char small[6];
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, small, sizeof small, why, sizeof why));
	EXPECT_STREQ(small, "");

	// Another config dir than the one Cyrus has.
	cfg.config_dir = "/nonexistent";
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_NE(strstr(why, "not initialised"), nullptr) << why;
	server s(cfg);
	EXPECT_EQ(s.setup_rc, RR_E_CONFIG_VALUE);
}

TEST_F(SaslCyrus, InitTwice)
{
	init("PLAIN");
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init(dir.path.c_str(), "qdrouterd", err, sizeof err), RR_OK);
	EXPECT_EQ(ctl_sasl_global_init(dir.path.c_str(), "other", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "already initialised"), nullptr) << err;
}

TEST_F(SaslCyrus, OtherConfigName)
{
	init("ANONYMOUS", "rpcrouter-test");
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"ANONYMOUS"});
}

// ---------------------------------------------------------------------
// Without Cyrus: proton's built-in server behaviour, ANONYMOUS only.

TEST(SaslBuiltin, AnonymousOnly)
{
	ctl_sasl_server cfg{};
	unsigned before = ctl_sasl_live_conns();
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{"ANONYMOUS"});
	{
		server s(cfg);
		ASSERT_EQ(s.setup_rc, RR_OK);
		client c(nullptr, nullptr, "ANONYMOUS");
		pump(c, s);
		EXPECT_EQ(s.outcome(), PN_SASL_OK);
		EXPECT_EQ(s.user(), "anonymous");
		EXPECT_TRUE(s.remote_open());
	}
	{
		// A PLAIN client finds nothing it may use.
		server s(cfg);
		client c("alice", "secret", "PLAIN");
		pump(c, s);
		EXPECT_NE(s.outcome(), PN_SASL_OK);
		EXPECT_FALSE(s.remote_open());
	}
	std::string good = std::string("\0alice\0secret", 13);
	EXPECT_EQ(raw_init(cfg, "PLAIN", &good).outcome, 1);
	EXPECT_EQ(ctl_sasl_live_conns(), before);
}

TEST(SaslBuiltin, AuthenticatePeerOffersNothing)
{
	ctl_sasl_server cfg{};
	cfg.authenticate_peer = true;
	server s(cfg);
	EXPECT_EQ(s.setup_rc, RR_E_CONFIG_VALUE);
	EXPECT_EQ(wire_offer(cfg), std::vector<std::string>{});
	std::string trace = "x";
	EXPECT_EQ(raw_init(cfg, "ANONYMOUS", &trace).outcome, 1);
}

TEST(SaslBuiltin, ServerMechs)
{
	ctl_sasl_server cfg{};
	char buf[64], why[512];
	ASSERT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "ANONYMOUS");
	EXPECT_STREQ(why, "");

	cfg.mechanisms = "ANONYMOUS";
	ASSERT_TRUE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "ANONYMOUS");

	cfg.mechanisms = "PLAIN";
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_NE(strstr(why, "PLAIN"), nullptr) << why;
	EXPECT_NE(strstr(why, "saslConfigDir"), nullptr) << why;

	cfg.mechanisms = nullptr;
	cfg.authenticate_peer = true;
	EXPECT_FALSE(ctl_sasl_server_mechs(&cfg, buf, sizeof buf, why, sizeof why));
	EXPECT_NE(strstr(why, "authenticatePeer"), nullptr) << why;
	EXPECT_STREQ(buf, "");
}

// ---------------------------------------------------------------------
// ctl_sasl_global_init errors.

TEST(SaslGlobalInit, MissingDir)
{
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init("/nonexistent/sasl2", "qdrouterd", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "/nonexistent/sasl2"), nullptr) << err;
	EXPECT_NE(strstr(err, "No such file or directory"), nullptr) << err;
	ctl_sasl_global_fini();
}

TEST(SaslGlobalInit, MissingConf)
{
	sasl_dir d;
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init(d.path.c_str(), "qdrouterd", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "qdrouterd.conf"), nullptr) << err;
	ctl_sasl_global_fini();
	// The failed init left nothing behind: a good one works now.
	d.write_conf("qdrouterd", "PLAIN");
	EXPECT_EQ(ctl_sasl_global_init(d.path.c_str(), "qdrouterd", err, sizeof err), RR_OK)
		<< err;
	ctl_sasl_global_fini();
}

TEST(SaslGlobalInit, CyrusRefusesTheConf)
{
	sasl_dir d;
	std::ofstream(d.path + "/qdrouterd.conf") << "mech_list PLAIN\n"; // no ':'
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init(d.path.c_str(), "qdrouterd", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "qdrouterd.conf"), nullptr) << err;
	EXPECT_NE(strstr(err, "error when parsing configuration file"), nullptr) << err;
	ctl_sasl_global_fini();
	// Nothing left half-initialised: a good configuration works next.
	d.write_conf("qdrouterd", "PLAIN");
	EXPECT_EQ(ctl_sasl_global_init(d.path.c_str(), "qdrouterd", err, sizeof err), RR_OK)
		<< err;
	ctl_sasl_server s{};
	s.config_dir = d.path.c_str();
	char buf[64], why[256];
	EXPECT_TRUE(ctl_sasl_server_mechs(&s, buf, sizeof buf, why, sizeof why)) << why;
	EXPECT_STREQ(buf, "PLAIN");
	ctl_sasl_global_fini();
}

TEST(SaslGlobalInit, NotADirectory)
{
	sasl_dir d;
	std::string file = d.path + "/file";
	std::ofstream(file) << "x";
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init(file.c_str(), "qdrouterd", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "not a directory"), nullptr) << err;
	ctl_sasl_global_fini();
}

TEST(SaslGlobalInit, UnreadableConf)
{
	sasl_dir d;
	d.write_conf("qdrouterd", "PLAIN");
	ASSERT_EQ(chmod(d.path.c_str(), 0755), 0);
	ASSERT_EQ(chmod((d.path + "/qdrouterd.conf").c_str(), 0), 0);
	// root reads any file: check as an unprivileged user, in a child.
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		char err[512];
		enum rr_err rc = ctl_sasl_global_init(d.path.c_str(), "qdrouterd", err, sizeof err);
		bool ok = rc == RR_E_CONFIG_VALUE && strstr(err, "qdrouterd.conf") &&
			  strstr(err, "Permission denied");
		if (!ok)
			fprintf(stderr, "rc %d: %s\n", (int)rc, err);
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0) << "3: could not drop privileges; 1: wrong result";
}

TEST(SaslGlobalInit, ConfNotARegularFile)
{
	sasl_dir d;
	ASSERT_EQ(mkdir((d.path + "/qdrouterd.conf").c_str(), 0700), 0);
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init(d.path.c_str(), "qdrouterd", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "not a regular file"), nullptr) << err;
	ctl_sasl_global_fini();
}

TEST(SaslGlobalInit, NoDirIsBuiltin)
{
	char err[64] = "x";
	EXPECT_EQ(ctl_sasl_global_init(nullptr, nullptr, err, sizeof err), RR_OK);
	EXPECT_STREQ(err, "");
	ctl_sasl_global_fini();
}

TEST(SaslGlobalInit, BadName)
{
	sasl_dir d;
	char err[512];
	EXPECT_EQ(ctl_sasl_global_init(d.path.c_str(), "../etc/x", err, sizeof err),
		  RR_E_CONFIG_VALUE);
	EXPECT_NE(strstr(err, "not a file name"), nullptr) << err;
}

} // namespace
