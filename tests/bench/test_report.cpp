// rpcrouter-bench report: the strict JSON reader and the renderer on the
// fixture result lines in tests/bench/fixtures (report_basic.jsonl: runs of
// every scenario for rpcrouterd, rabbitmq and direct, a repeated cell, a
// failed run, per-target addresses; report_na.jsonl: the n/a marks).
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_json_read.h"
#include "bench_report.h"

#ifndef REPORT_FIXTURES
#error REPORT_FIXTURES must name tests/bench/fixtures
#endif
#ifndef REPORT_PYTHON
#define REPORT_PYTHON "/usr/bin/python3"
#endif

namespace {

// ---- the JSON reader ----

struct Parsed {
	struct bench_json *v = nullptr;
	std::string err;
	int rc = -1;
	explicit Parsed(const std::string &text)
	{
		char buf[256];
		rc = bench_json_parse(text.data(), text.size(), &v, buf, sizeof(buf));
		err = buf;
	}
	~Parsed() { bench_json_free(v); }
	Parsed(const Parsed &) = delete;
	Parsed &operator=(const Parsed &) = delete;
};

TEST(BenchJsonRead, ParsesAResultShapedObject)
{
	Parsed p(" {\"schema\": 1, \"a\": {\"b\": [1, -2.5e1, true, false, null]},"
		 " \"s\": \"x\\ty\\u00e9\\ud83d\\ude00\\/\"} \n");
	ASSERT_EQ(p.rc, 0) << p.err;
	ASSERT_NE(p.v, nullptr);
	EXPECT_EQ(p.v->type, BENCH_JSON_OBJECT);
	EXPECT_EQ(bench_json_num(p.v, "schema", -1), 1);
	const struct bench_json *b = bench_json_path(p.v, "a.b");
	ASSERT_NE(b, nullptr);
	ASSERT_EQ(b->type, BENCH_JSON_ARRAY);
	ASSERT_EQ(b->len, 5u);
	EXPECT_EQ(b->items[1]->num, -25.0);
	EXPECT_EQ(b->items[2]->type, BENCH_JSON_TRUE);
	EXPECT_EQ(b->items[3]->type, BENCH_JSON_FALSE);
	EXPECT_EQ(b->items[4]->type, BENCH_JSON_NULL);
	// tab, U+00E9 as two bytes, U+1F600 from a surrogate pair as four, '/'
	EXPECT_STREQ(bench_json_str(p.v, "s", ""), "x\ty\xc3\xa9\xf0\x9f\x98\x80/");
	EXPECT_EQ(bench_json_get(p.v, "s")->len, 10u);
	EXPECT_EQ(bench_json_num(p.v, "missing", 7), 7);
	EXPECT_EQ(bench_json_num(p.v, "s", 7), 7); // not a number
	EXPECT_TRUE(bench_json_bool(p.v, "nothere", true));
}

TEST(BenchJsonRead, NumbersFollowTheGrammar)
{
	for (const char *ok : {"0", "-0", "1e308", "1E+2", "0.5", "-12.75e-3", "123456789012"}) {
		Parsed p(ok);
		EXPECT_EQ(p.rc, 0) << ok << ": " << p.err;
	}
	Parsed big("123456789012");
	ASSERT_EQ(big.rc, 0);
	EXPECT_EQ(big.v->num, 123456789012.0);
	for (const char *bad : {"01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity",
				"-Infinity", "1e400", "--1"}) {
		Parsed p(bad);
		EXPECT_NE(p.rc, 0) << bad;
		EXPECT_EQ(p.v, nullptr) << bad;
	}
}

TEST(BenchJsonRead, RefusesWhatRfc8259DoesNotAllow)
{
	const char *bad[] = {
		"",                       // no value
		"{\"a\": 1,}",            // trailing comma
		"[1, 2,]",                // trailing comma
		"{\"a\" 1}",              // no colon
		"{'a': 1}",               // single quotes
		"{\"a\": 1} x",           // text after the value
		"{\"a\": 1}{}",           // two values
		"// c\n{}",               // comments
		"{\"a\": 1, \"a\": 2}",   // duplicate key
		"\"tab\there\"",          // raw control character
		"\"\\x41\"",              // unknown escape
		"\"\\u12\"",              // short \u
		"\"\\ud800\"",            // lone high surrogate
		"\"\\ud800\\u0041\"",     // high surrogate, no low one
		"\"\\udc00\"",            // lone low surrogate
		"\"\\u0000\"",            // NUL (would cut the C string)
		"\"\xff\"",               // not UTF-8
		"\"\xc0\xaf\"",           // overlong '/'
		"\"\xed\xa0\x80\"",       // an encoded surrogate
		"\"\xe2\x82\"",           // truncated sequence
		"\"open",                 // unterminated
		"tru",                    // broken literal
		"[1 2]",                  // no comma
	};
	for (const char *b : bad) {
		Parsed p(b);
		EXPECT_NE(p.rc, 0) << "accepted: " << b;
		EXPECT_EQ(p.v, nullptr);
		EXPECT_EQ(p.err.rfind("offset ", 0), 0u) << p.err;
	}
}

TEST(BenchJsonRead, DepthIsCapped)
{
	std::string ok(BENCH_JSON_MAX_DEPTH, '['), deep(BENCH_JSON_MAX_DEPTH + 1, '[');
	ok += std::string(BENCH_JSON_MAX_DEPTH, ']');
	deep += std::string(BENCH_JSON_MAX_DEPTH + 1, ']');
	Parsed a(ok), b(deep);
	EXPECT_EQ(a.rc, 0) << a.err;
	EXPECT_NE(b.rc, 0);
	EXPECT_NE(b.err.find("nested deeper"), std::string::npos) << b.err;
}

TEST(BenchJsonRead, ErrorsNameTheOffset)
{
	Parsed p("{\"a\": [1, 2,, 3]}");
	ASSERT_NE(p.rc, 0);
	EXPECT_EQ(p.err.rfind("offset 12:", 0), 0u) << p.err;
}

// ---- the renderer ----

std::string slurp(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::vector<std::string> list_dir(const std::string &dir)
{
	std::vector<std::string> out;
	DIR *d = opendir(dir.c_str());
	if (!d)
		return out;
	while (struct dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			out.push_back(e->d_name);
	closedir(d);
	std::sort(out.begin(), out.end());
	return out;
}

int run_report(std::vector<std::string> args)
{
	args.insert(args.begin(), "report");
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(&a[0]);
	argv.push_back(nullptr);
	return bench_report_main((int)args.size(), argv.data());
}

int run_process(const std::vector<std::string> &args)
{
	pid_t pid = fork();
	if (pid == 0) {
		std::vector<char *> argv;
		for (auto &a : args)
			argv.push_back(const_cast<char *>(a.c_str()));
		argv.push_back(nullptr);
		execv(argv[0], argv.data());
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class Report : public ::testing::Test {
protected:
	std::string dir, md, img;
	const std::string basic = std::string(REPORT_FIXTURES) + "/report_basic.jsonl";
	const std::string na = std::string(REPORT_FIXTURES) + "/report_na.jsonl";

	void SetUp() override
	{
		char t[] = "/tmp/rr-report-test.XXXXXX";
		ASSERT_NE(mkdtemp(t), nullptr);
		dir = t;
		md = dir + "/perf.md";
		img = dir + "/img";
		ASSERT_EQ(mkdir(img.c_str(), 0755), 0);
	}
	void TearDown() override
	{
		for (const char *sub : {"/img", "/img2", ""}) {
			std::string d = dir + sub;
			for (auto &f : list_dir(d))
				unlink((d + "/" + f).c_str());
			rmdir(d.c_str());
		}
	}
	std::string render()
	{
		EXPECT_EQ(run_report({"--md", md, "--img-dir", img, "--title", "Side by side", basic,
				      na}),
			  0);
		return slurp(md);
	}
};

#define EXPECT_HAS(hay, needle)                                                                    \
	EXPECT_NE((hay).find(needle), std::string::npos) << "missing: " << (needle) << "\nin:\n"    \
							  << (hay)

TEST_F(Report, TableRowsSideBySide)
{
	std::string out = render();
	EXPECT_EQ(out.rfind("## Side by side\n", 0), 0u);
	// The three rpcrouterd runs of this row (1.0M, 1.2M, 1.15M) give
	// their median; RabbitMQ's /queue/ address does not split the row.
	EXPECT_HAS(out, "| body_size | metric | rpcrouterd | rabbitmq | direct |\n"
			"|---:|---|---:|---:|---:|\n"
			"| 100 | msg/s | 1,150,000 | 50,000 | 1,500,000 |\n"
			"|  | MB/s | 115.0 | 5.00 | 150.0 |\n"
			"|  | msg per router CPU-s | 3,400,000 | 49,995 | – |\n"
			"|  | lost | 0 | 10 | 0 |\n");
	EXPECT_HAS(out, "A cell with several successful runs gives their median.");
	// Rows sorted numerically (1000 before 10000), a row only rabbitmq
	// did not run is "–", a failed run says so.
	EXPECT_HAS(out, "| 1000 | msg/s | 800,000 | – | 1,000,000 |");
	EXPECT_HAS(out, "| 10000 | msg/s | 200,000 | failed | 300,000 |");
	EXPECT_HAS(out, "- failed: rabbitmq (report_basic.jsonl:7): connect: Connection refused");
	EXPECT_LT(out.find("| 1000 | msg/s"), out.find("| 10000 | msg/s"));
	// rpc latency and the parameters every row shares
	EXPECT_HAS(out, "|  | p99 µs | 25.3 | 400.0 | 11.1 |");
	EXPECT_HAS(out, "|  | p99.9 µs | 58.7 | 900.0 | 42.3 |");
	EXPECT_HAS(out, "Parameters of every row: body_size 100, senders 1, receivers 1");
	// connections: RSS per connection, no msg/s line
	EXPECT_HAS(out, "| router RSS/conn bytes | 8,192 | 102,400 | – |");
	size_t conn = out.find("### connections");
	ASSERT_NE(conn, std::string::npos);
	EXPECT_EQ(out.find("| msg/s", conn), std::string::npos);
	// scenarios in their fixed order
	EXPECT_LT(out.find("### throughput"), out.find("### rpc"));
	EXPECT_LT(out.find("### rpc"), out.find("### fanout"));
	EXPECT_LT(out.find("### fanout"), out.find("### connections"));
}

TEST_F(Report, MachineDescriptionFirst)
{
	std::string out = render();
	EXPECT_HAS(out, "**Machine**: Test CPU @ 2.0GHz, 2 cores, kernel 6.1.0-test, a virtual "
			"machine, host fixture.");
	EXPECT_HAS(out, "**Build**: rpcrouter-bench 0.1.0, git abc1234.");
	EXPECT_HAS(out, "**Runs**: 17 result lines (1 failed), 2026-12-01T10:01:00Z to "
			"2026-12-01T10:17:00Z");
	EXPECT_LT(out.find("**Machine**"), out.find("### "));
}

TEST_F(Report, NaCellsFromNaLines)
{
	std::string out = render();
	// the open-loop rpc row: n/a for rabbitmq by the params-matched mark
	EXPECT_HAS(out, "| 1000 | calls/s | 1,000 | n/a | – |");
	EXPECT_HAS(out, "- n/a: rabbitmq (rate 1000): fixture: open loop not run");
	// the closed-loop row is not covered by that mark: rabbitmq's result
	EXPECT_HAS(out, "| 0 | calls/s | 50,000 | 5,000 | 100,000 |");
	// a scenario-wide mark
	EXPECT_HAS(out, "| msg/s | 400,000 | n/a | – |");
	EXPECT_HAS(out, "- n/a: rabbitmq: fixture: no multicast in this setup");
	// without the n/a file the same cells are "not run"
	ASSERT_EQ(run_report({"--md", md, basic}), 0);
	std::string plain = slurp(md);
	EXPECT_EQ(plain.find("n/a: rabbitmq"), std::string::npos);
	EXPECT_HAS(plain, "| 1000 | calls/s | 1,000 | – | – |");
	EXPECT_HAS(plain, "| msg/s | 400,000 | – | – |");
}

TEST_F(Report, PlotsForTheDataPresent)
{
	std::string out = render();
	std::vector<std::string> files = list_dir(img);
	std::vector<std::string> want = {"rpc-latency-cdf-1.svg", "rpc-latency-cdf-2.svg",
					 "throughput-vs-body_size.svg"};
	EXPECT_EQ(files, want);
	// linked relative to the markdown's folder
	EXPECT_HAS(out, "](img/rpc-latency-cdf-1.svg)");
	EXPECT_HAS(out, "](img/throughput-vs-body_size.svg)");
	// no plot without --img-dir
	ASSERT_EQ(run_report({"--md", md, basic, na}), 0);
	EXPECT_EQ(slurp(md).find(".svg"), std::string::npos);
}

TEST_F(Report, SvgWellFormedWithLegendAndAxes)
{
	render();
	// python3's XML parser: well-formed, an <svg> root; the legend names
	// every target of the plot; one polyline per series; tick labels.
	const char *check = R"PY(
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
want = {"rpc-latency-cdf-1.svg": ["rpcrouterd", "rabbitmq", "direct"],
        "rpc-latency-cdf-2.svg": ["rpcrouterd"],
        "throughput-vs-body_size.svg": ["rpcrouterd", "rabbitmq", "direct"]}
for name, targets in want.items():
    root = ET.parse(sys.argv[1] + "/" + name).getroot()
    assert root.tag == ns + "svg", root.tag
    texts = [t.text for t in root.iter(ns + "text")]
    for t in targets:
        assert t in texts, (name, t, texts)
    lines = root.findall(ns + "polyline")
    assert len(lines) == len(targets), (name, len(lines))
    for pl in lines:
        pts = pl.get("points").split()
        assert len(pts) >= 1, name
        for p in pts:
            x, y = map(float, p.split(","))
            assert 0 <= x <= 720 and 0 <= y <= 440, (name, p)
    if "cdf" in name:
        assert "1.0" in texts and "0.0" in texts, texts
        assert any(t and t.startswith("latency") for t in texts)
    else:
        assert "100" in texts and "10k" in texts, texts
        assert any(t and t.startswith("body size") for t in texts)
print("ok")
)PY";
	std::string script = dir + "/check.py";
	{
		std::ofstream f(script);
		f << check;
	}
	EXPECT_EQ(run_process({REPORT_PYTHON, script, img}), 0);
	unlink(script.c_str());
}

TEST_F(Report, StableOutput)
{
	std::string first = render();
	std::vector<std::string> svgs;
	for (auto &f : list_dir(img))
		svgs.push_back(slurp(img + "/" + f));
	// a second run into another folder: byte-identical (the folder is the
	// same relative path, so the links match too)
	std::string img2 = dir + "/img2";
	ASSERT_EQ(mkdir(img2.c_str(), 0755), 0);
	std::string md2 = dir + "/perf2.md";
	ASSERT_EQ(run_report({"--md", md2, "--img-dir", img2, "--img-ref", "img", "--title",
			      "Side by side", basic, na}),
		  0);
	EXPECT_EQ(slurp(md2), first);
	std::vector<std::string> files = list_dir(img2);
	ASSERT_EQ(files.size(), svgs.size());
	for (size_t i = 0; i < files.size(); i++)
		EXPECT_EQ(slurp(img2 + "/" + files[i]), svgs[i]) << files[i];
	unlink(md2.c_str());
}

TEST_F(Report, BadInputAndUsage)
{
	std::string bad = dir + "/bad.jsonl";
	{
		std::ofstream f(bad);
		f << slurp(na) << "{\"schema\": 1, \"scenario\": \"rpc\",}\n";
	}
	testing::internal::CaptureStderr();
	EXPECT_EQ(run_report({"--md", md, bad}), 1);
	std::string err = testing::internal::GetCapturedStderr();
	EXPECT_HAS(err, "bad.jsonl:3: not JSON");
	{
		std::ofstream f(bad);
		f << "{\"schema\": 2, \"scenario\": \"rpc\"}\n";
	}
	testing::internal::CaptureStderr();
	EXPECT_EQ(run_report({"--md", md, bad}), 1);
	err = testing::internal::GetCapturedStderr();
	EXPECT_HAS(err, "bad.jsonl:1: not a schema 1 result line");
	testing::internal::CaptureStderr();
	EXPECT_EQ(run_report({"--md", md, dir + "/missing.jsonl"}), 1);
	EXPECT_EQ(run_report({}), 2);
	EXPECT_EQ(run_report({"--bogus", basic}), 2);
	EXPECT_EQ(run_report({basic, "--md"}), 2);
	testing::internal::GetCapturedStderr();
	unlink(bad.c_str());
	unlink(md.c_str());
}

} // namespace
