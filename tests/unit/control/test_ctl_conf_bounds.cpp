// ctl_conf_parse and ctl_config_load_text read exactly the `len` bytes they
// are given (ctl_conf.h: the text need not be NUL-terminated; rpcrouterd's
// ctl_config_load_file and fuzz_config both hand over a block with no NUL
// after it). Each input here sits at the very end of a mapped page with an
// inaccessible page after it, so any read past its end faults in every
// build; and under ASan this binary runs with strict_string_checks=1 (as
// scripts/bootstrap.sh runs CI), which reports a str*() call that is given
// the text, as strndup() was in dup_range: CI's clang tree reported a
// heap-buffer-overflow READ of 10 bytes in strndup on fuzz_config's first
// corpus input, "l {\no: \f E" (9 bytes; the interceptor checks
// strlen(s) + 1 bytes under strict_string_checks), and replays by hand,
// without that option, saw nothing. Every prefix of each input is parsed
// too, so every "ends here" path of the parser meets the end of the block.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "ctl_conf.h"
#include "ctl_config.h"
#include "ctl_test_util.h"

// ASan's hook (a plain unused function in other builds): the options CI
// runs the suites with, whoever runs this binary; ASAN_OPTIONS still wins
extern "C" const char *__asan_default_options(void);
extern "C" __attribute__((used)) const char *__asan_default_options(void)
{
	return "strict_string_checks=1";
}

namespace
{

// A copy of a text that ends where an inaccessible page begins.
class guarded_text
{
      public:
	explicit guarded_text(const std::string &s)
	{
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		size_t data_pages = (s.size() + page - 1) / page;
		len_ = (data_pages + 1) * page;
		void *m =
		    mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			base_ = nullptr;
			return;
		}
		base_ = static_cast<char *>(m);
		char *guard = base_ + data_pages * page;
		if (mprotect(guard, page, PROT_NONE) != 0) {
			munmap(base_, len_);
			base_ = nullptr;
			return;
		}
		data_ = guard - s.size();
		memcpy(data_, s.data(), s.size());
		size_ = s.size();
	}
	~guarded_text()
	{
		if (base_)
			munmap(base_, len_);
	}
	guarded_text(const guarded_text &) = delete;
	guarded_text &operator=(const guarded_text &) = delete;
	bool ok() const { return base_ != nullptr; }
	const char *data() const { return data_; }
	size_t size() const { return size_; }

      private:
	char *base_ = nullptr, *data_ = nullptr;
	size_t len_ = 0, size_ = 0;
};

struct parsed_at_end {
	struct ctl_conf conf = {};
	struct ctl_diag diag = {};
	enum rr_err err = RR_OK;
	explicit parsed_at_end(const std::string &text)
	{
		guarded_text g(text);
		EXPECT_TRUE(g.ok());
		if (g.ok())
			err = ctl_conf_parse(&conf, "b.conf", g.data(), g.size(), &diag);
	}
	~parsed_at_end()
	{
		ctl_conf_free(&conf);
		ctl_diag_free(&diag);
	}
	parsed_at_end(const parsed_at_end &) = delete;
	parsed_at_end &operator=(const parsed_at_end &) = delete;
	std::vector<std::string> diags() const { return diag_lines(diag); }
};

// Inputs that end inside every construct of the syntax.
const std::vector<std::string> k_inputs = {
    std::string("l {\no: \f E"), // fuzz_config's corpus input 0081d554...
    "router {",
    "router",
    "router\n{",
    "router\r\n{\r",
    "a { b",
    "a {\n k: \"v",
    "a {\n k: \"v\\",
    "a {\n k: \"v\\q\"",
    "a {\n k: 'v'  x",
    "a {\n k: \"v\" # c",
    "a {\n pattern: x#y",
    "a {\n hostname: 'h'",
    "a {\n k: {x {y}",
    "a {\n k: {x {\"}\"}} z",
    "a {\n k: v\r",
    "a {\n k:",
    "a {\n k: # only a comment",
    "a {\n}",
    "a {\n} x",
    "}",
    "#",
    "k: v",
    "a {\nb {\n}",
    std::string("a {\n k: v\0", 10),
};

TEST(CtlConfBounds, EveryPrefixAtTheEndOfAPage)
{
	size_t runs = 0;
	for (const std::string &in : k_inputs) {
		for (size_t k = 0; k <= in.size(); k++) {
			parsed_at_end p(in.substr(0, k));
			EXPECT_TRUE(p.err == RR_OK || p.err == RR_E_CONFIG_SYNTAX)
			    << "input '" << in.substr(0, k) << "': " << p.err;
			runs++;
		}
	}
	EXPECT_GT(runs, k_inputs.size());
}

// What the parser made of the inputs that end without a newline: the same
// as with one (the bytes read are the right ones, not merely in bounds).
TEST(CtlConfBounds, WhatIsReadAtTheEnd)
{
	{
		parsed_at_end p("l {\no: \f E");
		EXPECT_EQ(p.err, RR_E_CONFIG_SYNTAX);
		ASSERT_EQ(p.conf.n_sections, 1u);
		EXPECT_STREQ(p.conf.sections[0].raw_name, "l");
		ASSERT_EQ(p.conf.sections[0].n_attrs, 1u);
		EXPECT_STREQ(p.conf.sections[0].attrs[0].raw_key, "o");
		EXPECT_STREQ(p.conf.sections[0].attrs[0].value, "E");
		ASSERT_EQ(p.diags().size(), 1u);
		EXPECT_EQ(p.diags()[0], "b.conf:1: error: section 'l' is not closed: missing '}'");
	}
	{
		parsed_at_end p("router\n{");
		ASSERT_EQ(p.conf.n_sections, 1u);
		EXPECT_STREQ(p.conf.sections[0].raw_name, "router");
		EXPECT_EQ(p.conf.sections[0].line, 2u);
	}
	{
		parsed_at_end p("a {\n pattern: x#y");
		ASSERT_EQ(p.conf.n_sections, 1u);
		ASSERT_EQ(p.conf.sections[0].n_attrs, 1u);
		EXPECT_STREQ(p.conf.sections[0].attrs[0].value, "x#y");
	}
	{
		parsed_at_end p("a {\n k: v\r");
		ASSERT_EQ(p.conf.n_sections, 1u);
		ASSERT_EQ(p.conf.sections[0].n_attrs, 1u);
		EXPECT_STREQ(p.conf.sections[0].attrs[0].value, "v");
	}
	{
		parsed_at_end p("a {\n k: {x {\"}\"}} z");
		ASSERT_EQ(p.conf.n_sections, 1u);
		ASSERT_EQ(p.conf.sections[0].n_attrs, 1u);
		EXPECT_STREQ(p.conf.sections[0].attrs[0].value, "{x {\"}\"}}");
		EXPECT_TRUE(p.conf.sections[0].attrs[0].block);
	}
	{
		parsed_at_end p("a {\n k: \"v");
		EXPECT_EQ(p.err, RR_E_CONFIG_SYNTAX);
		ASSERT_GE(p.diags().size(), 1u);
		EXPECT_EQ(p.diags()[0], "b.conf:2: error: quoted value has no closing \"");
	}
	{
		parsed_at_end p(std::string("a {\n k: v\0", 10));
		EXPECT_EQ(p.err, RR_E_CONFIG_SYNTAX);
		ASSERT_EQ(p.diags().size(), 1u);
		EXPECT_EQ(p.diags()[0], "b.conf:2: error: NUL byte: not a text file");
	}
}

// The whole reader (ctl_config_load_text: parser, schema, loaders) on the
// built-in configuration with no newline and no NUL after its last byte,
// and on each of its prefixes that ends a line.
TEST(CtlConfBounds, LoaderOnTheDefaultConfigAtTheEndOfAPage)
{
	std::string text(ctl_config_default_text);
	while (!text.empty() && text.back() == '\n')
		text.pop_back();
	ASSERT_FALSE(text.empty());
	{
		guarded_text g(text);
		ASSERT_TRUE(g.ok());
		struct ctl_config cfg;
		enum rr_err err = ctl_config_load_text(&cfg, "d.conf", g.data(), g.size());
		EXPECT_EQ(err, RR_OK) << (cfg.diag.n ? cfg.diag.v[0].text : "");
		ctl_config_free(&cfg);
	}
	size_t runs = 0;
	for (size_t k = 0; k < text.size(); k++) {
		if (text[k] != '\n')
			continue;
		guarded_text g(text.substr(0, k));
		ASSERT_TRUE(g.ok());
		struct ctl_config cfg;
		enum rr_err err = ctl_config_load_text(&cfg, "d.conf", g.data(), g.size());
		EXPECT_EQ(err == RR_OK, cfg.diag.n_errors == 0);
		ctl_config_free(&cfg);
		runs++;
	}
	EXPECT_GT(runs, 0u);
}

} // namespace
