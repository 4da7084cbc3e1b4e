// Helpers shared by the control unit tests.
#ifndef CTL_TEST_UTIL_H
#define CTL_TEST_UTIL_H

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ctl_config.h"

// Every diagnostic of d as printed: "FILE:LINE: error: TEXT".
static inline std::vector<std::string> diag_lines(const struct ctl_diag &d)
{
	std::vector<std::string> out;
	for (size_t i = 0; i < d.n; i++) {
		// sized to the message: a long one is seen whole
		std::vector<char> buf(strlen(d.v[i].file) + strlen(d.v[i].text) + 40);
		out.push_back(ctl_diag_format(&d.v[i], buf.data(), buf.size()));
	}
	return out;
}

// A configuration loaded from text, freed on scope exit.
struct loaded_config {
	struct ctl_config cfg;
	enum rr_err err;
	explicit loaded_config(const std::string &text, const char *name = "t.conf")
	{
		err = ctl_config_load_text(&cfg, name, text.data(), text.size());
	}
	~loaded_config() { ctl_config_free(&cfg); }
	loaded_config(const loaded_config &) = delete;
	loaded_config &operator=(const loaded_config &) = delete;
	std::vector<std::string> diags() const { return diag_lines(cfg.diag); }
};

// What ctl_config_print_summary writes.
static inline std::string summary_text(const struct ctl_config &cfg, const char *prefix)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return "<open_memstream failed>";
	ctl_config_print_summary(&cfg, prefix, f);
	fclose(f);
	std::string s(buf, len);
	free(buf);
	return s;
}

#endif
