// Address rules: qdrouterd 1.19 prefix/pattern matching (see
// dataplane/route/route_rules.c for the evidence and docs/addressing.md).
#include "route_table.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace
{

struct rules_deleter {
	void operator()(route_rules *r) const { route_rules_free(r); }
};
using rules_ptr = std::unique_ptr<route_rules, rules_deleter>;

rules_ptr make_rules(route_dist def = ROUTE_BALANCED)
{
	return rules_ptr(route_rules_new(def));
}

void add(route_rules *r, const char *text, bool pattern, route_dist d)
{
	char err[200] = "";
	ASSERT_EQ(route_rules_add(r, text, pattern, d, err, sizeof(err)), 0) << text << ": " << err;
}

std::string add_err(route_rules *r, const char *text, bool pattern)
{
	char err[200] = "";
	if (route_rules_add(r, text, pattern, ROUTE_CLOSEST, err, sizeof(err)) == 0)
		return "<accepted>";
	return err;
}

route_dist match(const route_rules *r, const std::string &a)
{
	return route_rules_match(r, reinterpret_cast<const uint8_t *>(a.data()), a.size());
}

std::string rule_of(const route_rules *r, const std::string &a)
{
	const char *p = nullptr;
	route_rules_match_rule(r, reinterpret_cast<const uint8_t *>(a.data()), a.size(), &p);
	return p ? p : "<default>";
}

std::string key_of(const std::string &a)
{
	size_t n = 0;
	const uint8_t *k =
	    route_addr_key(reinterpret_cast<const uint8_t *>(a.data()), a.size(), &n);
	return std::string(reinterpret_cast<const char *>(k), n);
}

// The nine prefixes TripleO / puppet-qdr write (tests/data/tripleo-qdrouterd.conf).
rules_ptr oslo_rules(route_dist def)
{
	rules_ptr r = make_rules(def);
	add(r.get(), "unicast", false, ROUTE_CLOSEST);
	add(r.get(), "exclusive", false, ROUTE_CLOSEST);
	add(r.get(), "broadcast", false, ROUTE_MULTICAST);
	add(r.get(), "openstack.org/om/rpc/multicast", false, ROUTE_MULTICAST);
	add(r.get(), "openstack.org/om/rpc/unicast", false, ROUTE_CLOSEST);
	add(r.get(), "openstack.org/om/rpc/anycast", false, ROUTE_BALANCED);
	add(r.get(), "openstack.org/om/notify/multicast", false, ROUTE_MULTICAST);
	add(r.get(), "openstack.org/om/notify/unicast", false, ROUTE_CLOSEST);
	add(r.get(), "openstack.org/om/notify/anycast", false, ROUTE_BALANCED);
	return r;
}

} // namespace

TEST(RouteRules, EveryOsloAddressForm)
{
	// The default is set to something no oslo prefix uses, so a miss shows.
	rules_ptr r = oslo_rules(ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicast/nova/compute/host1"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicast/vhost1/nova/compute/host1"),
		  ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/multicast/nova/compute"), ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/anycast/nova/compute"), ROUTE_BALANCED);
	EXPECT_EQ(match(r.get(), "openstack.org/om/notify/anycast/nova/notifications.info"),
		  ROUTE_BALANCED);
	EXPECT_EQ(match(r.get(), "openstack.org/om/notify/multicast/nova/notifications.info"),
		  ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/notify/unicast/nova/notifications.info"),
		  ROUTE_CLOSEST);
	// Legacy addressing.
	EXPECT_EQ(match(r.get(), "exclusive.nova.compute.host1"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "unicast.nova.compute"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "broadcast.nova.compute.all"), ROUTE_MULTICAST);
	// Dynamic reply addresses match no section: the default.
	EXPECT_EQ(match(r.get(), "amqp:/_topo/0/Router.A/temp.AbCdEf0123"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(rule_of(r.get(), "amqp:/_topo/0/Router.A/temp.AbCdEf0123"), "<default>");
	EXPECT_EQ(rule_of(r.get(), "openstack.org/om/rpc/anycast/nova/compute"),
		  "openstack/org/om/rpc/anycast/#");
}

TEST(RouteRules, DefaultDistribution)
{
	for (route_dist d : {ROUTE_CLOSEST, ROUTE_BALANCED, ROUTE_MULTICAST, ROUTE_UNAVAILABLE}) {
		rules_ptr r = oslo_rules(d);
		EXPECT_EQ(route_rules_default(r.get()), d);
		EXPECT_EQ(match(r.get(), "some/other/address"), d);
		EXPECT_EQ(match(r.get(), ""), d);
		EXPECT_EQ(match(r.get(), "unicast.x"), ROUTE_CLOSEST);
	}
	rules_ptr empty = make_rules(ROUTE_MULTICAST);
	EXPECT_EQ(match(empty.get(), "anything"), ROUTE_MULTICAST);
}

TEST(RouteRules, PrefixMatchesOnTokenBoundaries)
{
	rules_ptr r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "openstack.org/om/rpc/unicast", false, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicast"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicast/"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicast/x"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicast.x"), ROUTE_CLOSEST);
	// '.' and '/' are interchangeable separators.
	EXPECT_EQ(match(r.get(), "openstack/org.om.rpc.unicast"), ROUTE_CLOSEST);
	// Not a token boundary, or a shorter address.
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicastX"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/unicastX/y"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "xopenstack.org/om/rpc/unicast"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "openstack.org/om/rpc/Unicast"), ROUTE_UNAVAILABLE);
	// An empty token is a token: "a..b" is not "a.b".
	EXPECT_EQ(match(r.get(), "openstack.org/om//rpc/unicast"), ROUTE_UNAVAILABLE);
	// Scheme and host are not part of the address; leading separators skipped.
	EXPECT_EQ(match(r.get(), "amqp:/openstack.org/om/rpc/unicast/x"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "amqp://host:5672/openstack.org/om/rpc/unicast/x"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "/openstack.org/om/rpc/unicast"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "./openstack.org/om/rpc/unicast"), ROUTE_CLOSEST);

	// Legacy: "unicast" must not swallow "unicastfoo" nor "unicast_x".
	add(r.get(), "unicast", false, ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "unicast.nova.compute"), ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "unicastfoo.nova"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "unicast_x"), ROUTE_UNAVAILABLE);
}

TEST(RouteRules, PatternTableOfTheQdrouterdGuide)
{
	// docs/books/modules/user-guide/address-pattern-matching.adoc (1.19.0).
	rules_ptr r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "news/*", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/europe"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/usa"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "news/usa/sports"), ROUTE_UNAVAILABLE);

	r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "news/#", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/europe"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/usa/sports"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "europe"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "usa"), ROUTE_UNAVAILABLE);

	r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "news/europe/#", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/europe"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/europe/sports"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/europe/politics/fr"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/usa"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "europe"), ROUTE_UNAVAILABLE);

	r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "news/*/sports", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/europe/sports"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news/usa/sports"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "news"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "news/europe/fr/sports"), ROUTE_UNAVAILABLE);

	// "a*" is a literal token, not a wildcard.
	r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "a*.b", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "a*.b"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "ax.b"), ROUTE_UNAVAILABLE);
	// "#" alone matches everything, the empty address too.
	add(r.get(), "#", true, ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), ""), ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "x/y/z"), ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "a*.b"), ROUTE_CLOSEST);
}

TEST(RouteRules, PrecedenceLiteralThenStarThenGlob)
{
	rules_ptr r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "a.#", true, ROUTE_MULTICAST);
	add(r.get(), "a.*.c", true, ROUTE_BALANCED);
	add(r.get(), "a.b.c", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "a.b.c"), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), "a.x.c"), ROUTE_BALANCED);
	EXPECT_EQ(match(r.get(), "a.x.y"), ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "a"), ROUTE_MULTICAST);
	EXPECT_EQ(rule_of(r.get(), "a.x.c"), "a/*/c");

	// Decided at the first differing token, not by counting literals:
	// qdrouterd's search takes the literal "a" first, and "a.#" is there.
	rules_ptr q = make_rules(ROUTE_UNAVAILABLE);
	add(q.get(), "*.b.c", true, ROUTE_CLOSEST);
	add(q.get(), "a.#", true, ROUTE_MULTICAST);
	EXPECT_EQ(match(q.get(), "a.b.c"), ROUTE_MULTICAST);
	EXPECT_EQ(match(q.get(), "x.b.c"), ROUTE_CLOSEST);

	// The longer prefix wins.
	rules_ptr p = make_rules(ROUTE_UNAVAILABLE);
	add(p.get(), "a", false, ROUTE_CLOSEST);
	add(p.get(), "a/b", false, ROUTE_MULTICAST);
	EXPECT_EQ(match(p.get(), "a.b.c"), ROUTE_MULTICAST);
	EXPECT_EQ(match(p.get(), "a.b"), ROUTE_MULTICAST);
	EXPECT_EQ(match(p.get(), "a.c"), ROUTE_CLOSEST);
	EXPECT_EQ(match(p.get(), "a"), ROUTE_CLOSEST);

	// '#' takes as few tokens as it can: for "a.x.b.y.b", "a.#.b.#" (via the
	// first b) and "a.#.b.y.b" both match; the search reaches "a.#.b" after
	// one token and tries the literal "y" before the '#'.
	rules_ptr g = make_rules(ROUTE_UNAVAILABLE);
	add(g.get(), "a.#.b.#", true, ROUTE_MULTICAST);
	add(g.get(), "a.#.b.y.b", true, ROUTE_CLOSEST);
	EXPECT_EQ(match(g.get(), "a.x.b.y.b"), ROUTE_CLOSEST);
	EXPECT_EQ(match(g.get(), "a.x.b.z.b"), ROUTE_MULTICAST);
	// The node's own terminal before its children when tokens are used up.
	add(g.get(), "a", true, ROUTE_BALANCED);
	EXPECT_EQ(match(g.get(), "a"), ROUTE_BALANCED);
}

TEST(RouteRules, NormalizationAndDuplicates)
{
	rules_ptr r = make_rules(ROUTE_UNAVAILABLE);
	add(r.get(), "a.#.#.b", true, ROUTE_CLOSEST);
	EXPECT_EQ(rule_of(r.get(), "a.b"), "a/#/b");
	EXPECT_NE(add_err(r.get(), "a/#/b", true).find("duplicate pattern 'a/#/b'"),
		  std::string::npos);
	add(r.get(), "x.#.*", true, ROUTE_CLOSEST);
	EXPECT_EQ(rule_of(r.get(), "x.y"), "x/*/#");
	EXPECT_NE(add_err(r.get(), "x.*.#", true).find("duplicate"), std::string::npos);
	// "#.*" needs at least one token.
	EXPECT_EQ(match(r.get(), "x"), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), "x.y.z"), ROUTE_CLOSEST);

	// A prefix is the pattern "P/#"; leading and trailing separators go.
	add(r.get(), "p.q", false, ROUTE_CLOSEST);
	EXPECT_NE(add_err(r.get(), "p/q/#", true).find("duplicate"), std::string::npos);
	EXPECT_NE(add_err(r.get(), "/p/q/", false).find("duplicate"), std::string::npos);
	EXPECT_NE(add_err(r.get(), "..p.q..", false).find("duplicate"), std::string::npos);
	// But a pattern "p.q" is a different rule (exact match).
	add(r.get(), "p.q", true, ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "p.q"), ROUTE_MULTICAST);
	EXPECT_EQ(match(r.get(), "p.q.r"), ROUTE_CLOSEST);
}

TEST(RouteRules, InvalidRules)
{
	rules_ptr r = make_rules();
	EXPECT_NE(add_err(r.get(), "", false).find("non-empty"), std::string::npos);
	EXPECT_NE(add_err(r.get(), "", true).find("pattern"), std::string::npos);
	EXPECT_NE(add_err(r.get(), "././/", false).find("prefix invalid - no tokens"),
		  std::string::npos);
	EXPECT_NE(add_err(r.get(), "/", true).find("pattern invalid - no tokens"),
		  std::string::npos);
	std::string many;
	for (int i = 0; i < ROUTE_RULES_MAX_TOKENS + 1; i++)
		many += "t.";
	EXPECT_NE(add_err(r.get(), many.c_str(), true).find("too many tokens"), std::string::npos);
	// Exactly the limit for a pattern is fine; a prefix adds its '#'.
	std::string limit;
	for (int i = 0; i < ROUTE_RULES_MAX_TOKENS; i++)
		limit += "u.";
	EXPECT_EQ(add_err(r.get(), limit.c_str(), true), "<accepted>");
	EXPECT_NE(add_err(r.get(), limit.c_str(), false).find("too many tokens"),
		  std::string::npos);
	// The '#' node budget.
	int added = 0;
	std::string last;
	for (int i = 0; i < ROUTE_RULES_MAX_GLOBS + 5; i++) {
		std::string p = "g" + std::to_string(i) + ".#";
		last = add_err(r.get(), p.c_str(), true);
		if (last == "<accepted>")
			added++;
	}
	EXPECT_EQ(added, ROUTE_RULES_MAX_GLOBS);
	EXPECT_NE(last.find("too many '#'"), std::string::npos);
	// A refused rule left nothing behind that matches.
	EXPECT_EQ(match(r.get(), "g200.x"), ROUTE_BALANCED);
	EXPECT_EQ(match(r.get(), "g5.x"), ROUTE_CLOSEST);
	// A NULL err buffer is allowed.
	EXPECT_EQ(route_rules_add(r.get(), "", false, ROUTE_CLOSEST, nullptr, 0), -1);
}

TEST(RouteRules, AddressKey)
{
	EXPECT_EQ(key_of("foo"), "foo");
	EXPECT_EQ(key_of("amqp:/foo"), "foo");
	EXPECT_EQ(key_of("amqp://host/foo"), "foo");
	EXPECT_EQ(key_of("amqp://host:5672/foo/bar"), "foo/bar");
	EXPECT_EQ(key_of("//host/foo"), "foo");
	EXPECT_EQ(key_of("/foo"), "foo");
	EXPECT_EQ(key_of("foo/"), "foo");
	EXPECT_EQ(key_of("foo."), "foo");
	EXPECT_EQ(key_of("foo//"), "foo/");
	EXPECT_EQ(key_of("amqp:/_topo/0/Router.A/temp.xyz"), "_topo/0/Router.A/temp.xyz");
	// No node id: the address is relative and kept whole.
	EXPECT_EQ(key_of("amqp://host"), "amqp://host");
	EXPECT_EQ(key_of("a:b/c"), "a:b/c");
	EXPECT_EQ(key_of("x:y:/foo"), "foo");
	EXPECT_EQ(key_of("x:y://h/foo"), "foo");
	EXPECT_EQ(key_of("nova:compute"), "nova:compute");
	EXPECT_EQ(key_of("amqp:/"), "amqp:");
	EXPECT_EQ(key_of(""), "");
	EXPECT_EQ(key_of("/"), "");
	EXPECT_EQ(key_of(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(RouteRules, HostileAddresses)
{
	rules_ptr r = oslo_rules(ROUTE_UNAVAILABLE);
	// NUL is an ordinary byte of a token.
	EXPECT_EQ(match(r.get(), std::string("unicast\0.x", 10)), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(r.get(), std::string("unicast.a\0b", 11)), ROUTE_CLOSEST);
	EXPECT_EQ(match(r.get(), std::string("\0unicast.a", 10)), ROUTE_UNAVAILABLE);
	// 64 KiB: one long token, many tokens, many empty tokens.
	std::string big = "unicast." + std::string(65536 - 8, 'x');
	EXPECT_EQ(match(r.get(), big), ROUTE_CLOSEST);
	std::string toks;
	while (toks.size() < 65536)
		toks += "openstack.";
	EXPECT_EQ(match(r.get(), toks), ROUTE_UNAVAILABLE);
	std::string seps = "unicast" + std::string(65536 - 7, '.');
	EXPECT_EQ(match(r.get(), seps), ROUTE_CLOSEST);
	std::string only_seps(65536, '/');
	EXPECT_EQ(match(r.get(), only_seps), ROUTE_UNAVAILABLE);

	// Several '#' against a long address of repeated tokens: qdrouterd's
	// plain search is O(n^4) here; this one is linear per '#' node.
	rules_ptr g = make_rules(ROUTE_UNAVAILABLE);
	add(g.get(), "#.a.#.a.#.a.#.b", true, ROUTE_CLOSEST);
	add(g.get(), "#.a.#.a.#.c", true, ROUTE_MULTICAST);
	std::string as;
	for (int i = 0; i < 30000; i++)
		as += "a.";
	EXPECT_EQ(match(g.get(), as), ROUTE_UNAVAILABLE);
	EXPECT_EQ(match(g.get(), as + "b"), ROUTE_CLOSEST);
	EXPECT_EQ(match(g.get(), as + "c"), ROUTE_MULTICAST);
}

// ---- the oracle: qdrouterd's search, written out plainly -----------------
//
// A direct transcription of the precedence rules (trie, literal > '*' > '#',
// terminal-before-children at token nodes, '#' tries 0..n tokens then its
// terminal), without the failure memo, over token vectors. Random rules and
// addresses small enough for it must give the same first match as ours.
namespace
{

struct onode {
	std::map<std::string, std::unique_ptr<onode>> kids;
	std::unique_ptr<onode> star, glob;
	std::string pattern; // empty: not terminal
};

std::vector<std::string> split(const std::string &s)
{
	std::vector<std::string> out;
	size_t i = 0;
	while (i < s.size() && (s[i] == '.' || s[i] == '/'))
		i++;
	if (i == s.size())
		return out;
	std::string cur;
	for (; i < s.size(); i++) {
		if (s[i] == '.' || s[i] == '/') {
			out.push_back(cur);
			cur.clear();
		} else {
			cur += s[i];
		}
	}
	if (!(s.back() == '.' || s.back() == '/'))
		out.push_back(cur);
	return out;
}

const onode *o_children(const onode *n, const std::vector<std::string> &v, size_t i);

const onode *o_glob(const onode *n, const std::vector<std::string> &v, size_t i)
{
	for (; i < v.size(); i++)
		if (const onode *m = o_children(n, v, i))
			return m;
	return n->pattern.empty() ? nullptr : n;
}

const onode *o_children(const onode *n, const std::vector<std::string> &v, size_t i)
{
	if (i < v.size()) {
		auto it = n->kids.find(v[i]);
		if (it != n->kids.end()) {
			const onode *k = it->second.get();
			if (i + 1 == v.size() && !k->pattern.empty())
				return k;
			if (const onode *m = o_children(k, v, i + 1))
				return m;
		}
		if (n->star) {
			const onode *k = n->star.get();
			if (i + 1 == v.size() && !k->pattern.empty())
				return k;
			if (const onode *m = o_children(k, v, i + 1))
				return m;
		}
	}
	if (n->glob)
		return o_glob(n->glob.get(), v, i);
	return nullptr;
}

void o_add(onode *root, const std::vector<std::string> &toks, const std::string &name)
{
	onode *n = root;
	for (const std::string &t : toks) {
		std::unique_ptr<onode> *slot = t == "*"	  ? &n->star
					       : t == "#" ? &n->glob
							  : &n->kids[t];
		if (!*slot)
			slot->reset(new onode);
		n = slot->get();
	}
	n->pattern = name;
}

} // namespace

TEST(RouteRules, SameFirstMatchAsQdrouterdSearch)
{
	std::mt19937 rng(12345);
	const char *alphabet[] = {"a", "b", "c", "*", "#"};
	const char *addr_alphabet[] = {"a", "b", "c", "d"};
	int compared = 0, matched = 0;
	for (int round = 0; round < 300; round++) {
		rules_ptr r = make_rules(ROUTE_UNAVAILABLE);
		onode oracle;
		int n_rules = 1 + static_cast<int>(rng() % 6);
		for (int k = 0; k < n_rules; k++) {
			// Already-normalized random patterns ('#' followed only by a
			// literal or the end, no "#.#"), so the oracle needs no rewrite.
			std::vector<std::string> toks;
			int len = 1 + static_cast<int>(rng() % 5);
			for (int i = 0; i < len; i++) {
				std::string t = alphabet[rng() % 5];
				if (!toks.empty() && toks.back() == "#" && (t == "#" || t == "*"))
					t = "a";
				toks.push_back(t);
			}
			std::string text;
			for (size_t i = 0; i < toks.size(); i++)
				text += (i ? "." : "") + toks[i];
			char err[200];
			if (route_rules_add(r.get(), text.c_str(), true, ROUTE_CLOSEST, err,
					    sizeof(err)) != 0)
				continue; // a duplicate
			std::string name;
			for (size_t i = 0; i < toks.size(); i++)
				name += (i ? "/" : "") + toks[i];
			o_add(&oracle, toks, name);
		}
		for (int q = 0; q < 40; q++) {
			std::string a;
			int len = static_cast<int>(rng() % 7);
			for (int i = 0; i < len; i++)
				a += std::string(i ? "." : "") + addr_alphabet[rng() % 4];
			const onode *m = o_children(&oracle, split(a), 0);
			std::string want = m ? m->pattern : "<default>";
			EXPECT_EQ(rule_of(r.get(), a), want) << "address '" << a << "'";
			compared++;
			matched += m != nullptr;
		}
	}
	EXPECT_EQ(compared, 300 * 40);
	EXPECT_GT(matched, compared / 4); // the comparison is not vacuous
}

TEST(RouteRules, DistNames)
{
	route_dist d = ROUTE_CLOSEST;
	EXPECT_EQ(route_dist_parse("multicast", &d), 0);
	EXPECT_EQ(d, ROUTE_MULTICAST);
	EXPECT_EQ(route_dist_parse("balanced", &d), 0);
	EXPECT_EQ(d, ROUTE_BALANCED);
	EXPECT_EQ(route_dist_parse("closest", &d), 0);
	EXPECT_EQ(d, ROUTE_CLOSEST);
	EXPECT_EQ(route_dist_parse("unavailable", &d), 0);
	EXPECT_EQ(d, ROUTE_UNAVAILABLE);
	EXPECT_EQ(route_dist_parse("Closest", &d), -1);
	EXPECT_EQ(route_dist_parse(nullptr, &d), -1);
	EXPECT_STREQ(route_dist_name(ROUTE_BALANCED), "balanced");
}
