/* libFuzzer target: the operator's configuration reader
 * (control/ctl_config.c, ctl_config_load_text: a qdrouterd-style config
 * text through ctl_conf's syntax, ctl_schema's checks and every section's
 * loader, the dpdk* attributes included), then what rpcrouterd does with
 * the result: --driver dpdk's checks (ctl_config_set_driver), the summary
 * (ctl_config_print_summary, ctl_endpoint_describe) and the messages
 * (ctl_diag_format, ctl_diag_print), then ctl_config_free.
 *
 * Input: the config text as is (the seeds are real configuration files),
 * copied into a block of exactly its length, not NUL-terminated, so
 * AddressSanitizer sees any read past its end.
 *
 * Checks (rejections are fine; a crash, leak, UB or a broken result is not):
 *  - the result is RR_OK exactly when no error was reported, else the first
 *    error's code, one of the config codes (or out of memory);
 *  - every message has its text, a line within the input (0: the whole
 *    file), the file name it was given; formatting it into small buffers
 *    stays within them and terminates them;
 *  - a load that succeeds gives values within their documented bounds
 *    (workers 1-256, dpdk ports <= 8 with prefix lengths 1-32, a frame size
 *    >= 512, every listener's host and role set);
 *  - ctl_config_free leaves the struct zeroed (LeakSanitizer: nothing left).
 * Seeds: corpus/config (control/rpcrouterd.conf, the qdrouterd sample,
 * configs the system tests write, invalid ones of check_config.sh). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FC_NAME "fuzz.conf"

static bool fc_config_code(enum rr_err e)
{
	return e == RR_E_CONFIG_SYNTAX || e == RR_E_CONFIG_VALUE || e == RR_E_CONFIG_UNSUPPORTED ||
	       e == RR_E_NOMEM;
}

/* Every message: text, line within the input, formatted into buffers of a
 * few sizes (a guard byte after each must stay untouched). */
static void fc_check_diag(const struct ctl_config *cfg, unsigned lines)
{
	static const size_t sizes[] = {1, 2, 17, 64, 1024};
	const struct ctl_diag *d = &cfg->diag;
	size_t errors = 0, warnings = 0;
	FUZZ_INVARIANT(d->n <= d->n_errors + d->n_warnings, "more messages than counted");
	for (size_t i = 0; i < d->n; i++) {
		const struct ctl_diag_entry *e = &d->v[i];
		FUZZ_INVARIANT(e->text != NULL, "a message without text");
		FUZZ_INVARIANT(e->line <= lines, "a message about a line past the input's end");
		FUZZ_INVARIANT(e->file != NULL && strcmp(e->file, FC_NAME) == 0,
			 "a message about another file");
		if (e->level == CTL_DIAG_ERROR) {
			errors++;
			FUZZ_INVARIANT(fc_config_code(e->code), "an error with a code not of the config");
		} else {
			warnings++;
			FUZZ_INVARIANT(e->code == RR_OK, "a warning with an error code");
		}
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			char *buf = malloc(sizes[k] + 1);
			FUZZ_INVARIANT(buf != NULL, "out of memory");
			buf[sizes[k]] = 0x5a;
			ctl_diag_format(e, buf, sizes[k]);
			FUZZ_INVARIANT(memchr(buf, '\0', sizes[k]) != NULL, "a message not terminated");
			FUZZ_INVARIANT(buf[sizes[k]] == 0x5a, "a message written past its buffer");
			free(buf);
		}
	}
	FUZZ_INVARIANT(errors <= d->n_errors && warnings <= d->n_warnings, "messages not counted");
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		ctl_diag_print(d, devnull);
		fclose(devnull);
	}
}

static void fc_check_endpoint(const struct ctl_config *cfg, const struct ctl_endpoint *ep)
{
	FUZZ_INVARIANT(ep->host != NULL && ep->role != NULL, "an endpoint without host or role");
	FUZZ_INVARIANT(ep->max_frame_size >= 512, "max-frame-size below 512 (AMQP 1.0 part 2.7.1)");
	FUZZ_INVARIANT(ep->limits.max_sessions >= 1 && ep->limits.max_sessions <= 65536,
		 "max sessions outside 1-65536");
	FUZZ_INVARIANT((uint64_t)ep->limits.session_window * ep->limits.max_frame_size <= INT32_MAX ||
		     ep->limits.session_window == 1,
		 "session window x frame size past 2^31-1");
	char small[24];
	memset(small, 0x5a, sizeof(small));
	ctl_endpoint_describe(cfg, ep, small, sizeof(small) - 1);
	FUZZ_INVARIANT(small[sizeof(small) - 1] == 0x5a, "describe wrote past its buffer");
	FUZZ_INVARIANT(memchr(small, '\0', sizeof(small) - 1) != NULL, "describe did not terminate");
}

/* What a successful load promises. */
static void fc_check_loaded(const struct ctl_config *cfg)
{
	const struct ctl_dataplane *dp = &cfg->dataplane;
	FUZZ_INVARIANT(dp->workers >= 1 && dp->workers <= 256, "workers outside 1-256");
	FUZZ_INVARIANT(dp->n_cpus == 0 || dp->cpus != NULL, "cpus counted but not kept");
	FUZZ_INVARIANT(dp->control_socket != NULL && strlen(dp->control_socket) <= 107,
		 "control socket missing or longer than sun_path");
	FUZZ_INVARIANT(dp->dpdk.n_ports <= CTL_DPDK_MAX_PORTS, "more dpdk ports than the maximum");
	FUZZ_INVARIANT(dp->dpdk.addr == 0 || (dp->dpdk.prefix_len >= 1 && dp->dpdk.prefix_len <= 32),
		 "dpdkAddress prefix outside 1-32");
	for (unsigned i = 0; i < dp->dpdk.n_ports; i++) {
		const struct ctl_dpdk_port *p = &dp->dpdk.port[i];
		FUZZ_INVARIANT(p->spec != NULL && p->spec[0] != '\0', "a dpdk port without a spec");
		FUZZ_INVARIANT(p->addr == 0 || (p->prefix_len >= 1 && p->prefix_len <= 32),
			 "a port's prefix outside 1-32");
	}
	FUZZ_INVARIANT(cfg->router.mode != NULL && cfg->router.sasl_config_name != NULL,
		 "router without mode or saslConfigName");
	for (size_t i = 0; i < cfg->n_listeners; i++)
		fc_check_endpoint(cfg, &cfg->listeners[i]);
	for (size_t i = 0; i < cfg->n_connectors; i++)
		fc_check_endpoint(cfg, &cfg->connectors[i]);
	for (size_t i = 0; i < cfg->n_addresses; i++)
		FUZZ_INVARIANT((cfg->addresses[i].prefix != NULL) != (cfg->addresses[i].pattern != NULL),
			 "an address with both or neither of prefix and pattern");
	for (size_t i = 0; i < cfg->n_logs; i++)
		FUZZ_INVARIANT(cfg->logs[i].module != NULL, "a log without a module");
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		ctl_config_print_summary(cfg, "fuzz: ", devnull);
		fclose(devnull);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	FUZZ_INVARIANT(text != NULL, "out of memory");
	if (size)
		memcpy(text, data, size);
	unsigned lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';

	struct ctl_config cfg;
	enum rr_err err = ctl_config_load_text(&cfg, FC_NAME, text, size);
	FUZZ_INVARIANT((err == RR_OK) == (cfg.diag.n_errors == 0), "result and errors disagree");
	FUZZ_INVARIANT(err == RR_OK || err == cfg.diag.first_error, "result is not the first error");
	fc_check_diag(&cfg, lines);
	if (err == RR_OK) {
		fc_check_loaded(&cfg);
		/* rpcrouterd --driver dpdk on the same file */
		if (cfg.dataplane.driver == CTL_DRIVER_SOCKET) {
			err = ctl_config_set_driver(&cfg, CTL_DRIVER_DPDK);
			FUZZ_INVARIANT((err == RR_OK) == (cfg.diag.n_errors == 0),
				 "--driver: result and errors disagree");
			fc_check_diag(&cfg, lines);
			if (err == RR_OK)
				fc_check_loaded(&cfg);
		}
	}
	ctl_config_free(&cfg);
	static const struct ctl_config zero;
	FUZZ_INVARIANT(memcmp(&cfg, &zero, sizeof(cfg)) == 0, "free left something behind");
	free(text);
	return 0;
}
