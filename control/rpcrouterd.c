/* rpcrouterd: the router daemon.
 *
 * Loads its configuration (a qdrouterd.conf, or the embedded default),
 * sets up logging, starts the workers and runs the control thread until
 * SIGTERM or SIGINT (ctl_router.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "ctl_log.h"
#include "ctl_router.h"

#ifndef RR_VERSION
#error "RR_VERSION must be defined by the build"
#endif

enum {
	EXIT_CONFIG = 1, /* the configuration is invalid or cannot be served */
	EXIT_USAGE = 2,
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rpcrouterd [-c FILE] [--check]\n"
		"\n"
		"rpcrouter is a brokerless AMQP 1.0 router for RPC: it takes the place of\n"
		"qdrouterd as the RPC backend of OpenStack oslo.messaging, with the same\n"
		"configuration file syntax.\n"
		"\n"
		"  -c, --config FILE  read FILE (qdrouterd.conf syntax) instead of the embedded\n"
		"                     default: one listener on 127.0.0.1:5672 (SASL ANONYMOUS),\n"
		"                     socket driver, one worker, no hugepages\n"
		"      --driver NAME  use this I/O driver whatever the configuration says:\n"
		"                     socket (kernel TCP) or dpdk (needs the dataplane\n"
		"                     dpdkEal, dpdkPorts and dpdkAddress settings)\n"
		"      --check        check the configuration, print the result and exit\n"
		"  -h, --help         print this help and exit\n"
		"  -v, --version      print the version and exit\n"
		"\n"
		"rpcrouterd runs until SIGTERM or SIGINT: then it closes every connection\n"
		"with amqp:connection:forced, settles what is in flight (RELEASED, or\n"
		"MODIFIED delivery-failed when already forwarded) and exits 0. SIGHUP\n"
		"reopens log files. `rpcrouter-ctl stats` reads its counters.\n"
		"\n"
		"Exit status: 0 success, 1 configuration or start-up error (reported as\n"
		"FILE:LINE: ...), 2 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'C'},
	    {"driver", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_file = NULL;
	const char *driver = NULL;
	int check_only = 0, opt;

	while ((opt = getopt_long(argc, argv, "c:hv", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_file = optarg; break;
		case 'C': check_only = 1; break;
		case 'D':
			if (strcmp(optarg, "socket") != 0 && strcmp(optarg, "dpdk") != 0) {
				fprintf(stderr, "rpcrouterd: --driver '%s': socket or dpdk\nTry "
						"'rpcrouterd --help'.\n",
					optarg);
				return EXIT_USAGE;
			}
			driver = optarg;
			break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'v': printf("rpcrouterd " RR_VERSION "\n"); return EXIT_SUCCESS;
		default: fprintf(stderr, "Try 'rpcrouterd --help'.\n"); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rpcrouterd: unexpected argument '%s'\nTry 'rpcrouterd --help'.\n",
			argv[optind]);
		return EXIT_USAGE;
	}

	struct ctl_config cfg;
	enum rr_err err =
	    config_file ? ctl_config_load_file(&cfg, config_file) : ctl_config_load_default(&cfg);
	if (err == RR_OK && driver)
		err = ctl_config_set_driver(&cfg, strcmp(driver, "dpdk") == 0 ? CTL_DRIVER_DPDK
									  : CTL_DRIVER_SOCKET);
	fflush(stdout);
	ctl_diag_print(&cfg.diag, stderr);
	if (err != RR_OK) {
		fprintf(stderr, "rpcrouterd: %s: %zu error%s (%s): not starting\n", cfg.file,
			cfg.diag.n_errors, cfg.diag.n_errors == 1 ? "" : "s", rr_strerror(err));
		ctl_config_free(&cfg);
		return EXIT_CONFIG;
	}
	if (check_only) {
		printf("rpcrouterd " RR_VERSION ": %s: configuration OK (%zu sections, %zu "
		       "warning%s)\n",
		       cfg.file, cfg.conf.n_sections, cfg.diag.n_warnings,
		       cfg.diag.n_warnings == 1 ? "" : "s");
		ctl_config_print_summary(&cfg, "rpcrouterd " RR_VERSION ": ", stdout);
		ctl_config_free(&cfg);
		return EXIT_SUCCESS;
	}
	char lerr[256];
	if (ctl_log_configure(&cfg, lerr, sizeof(lerr)) != RR_OK) {
		fprintf(stderr, "rpcrouterd: %s: %s: not starting\n", cfg.file, lerr);
		ctl_config_free(&cfg);
		return EXIT_CONFIG;
	}
	ctl_log("SERVER", CTL_LEVEL_INFO, "rpcrouterd " RR_VERSION ": configuration %s", cfg.file);
	int status = ctl_router_run(&cfg, RR_VERSION);
	ctl_log_close();
	ctl_config_free(&cfg);
	return status;
}
