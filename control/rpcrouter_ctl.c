/* rpcrouter-ctl: talks to a running rpcrouterd over its local control
 * socket (dataplane controlSocket).
 *
 *   rpcrouter-ctl [--socket PATH] stats [--json]
 *
 * `stats --json` prints the router's counters as JSON (one object: per
 * worker counters and drops by reason, their totals, and control's own
 * counts); without --json, a table of the totals. Exit status: 0, 1 when
 * the router cannot be reached, 2 on a usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/rpcrouterd/rpcrouterd.sock"

static void usage(FILE *out)
{
	fprintf(out, "Usage: rpcrouter-ctl [--socket PATH] stats [--json]\n"
		     "\n"
		     "  -s, --socket PATH  the router's control socket (dataplane controlSocket;\n"
		     "                     default " DEFAULT_SOCKET ")\n"
		     "  stats              counters of every worker, drops by reason\n"
		     "      --json         as JSON (what scripts and tests read)\n");
}

static char *request(const char *path, const char *req)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rpcrouter-ctl: %s: path too long\n", path);
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("rpcrouter-ctl: cannot reach rpcrouterd");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* MSG_NOSIGNAL: control closes a connection that sent nothing within
	 * its wait (ctl_stats.c); a write after that is EPIPE, not SIGPIPE */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		close(fd);
		return (char *)calloc(1, 1); /* "" : try again */
	}
	size_t len = 0, cap = 65536;
	char *buf = (char *)malloc(cap);
	for (;;) {
		if (buf == NULL)
			break;
		if (len + 1 >= cap) {
			char *n = (char *)realloc(buf, cap * 2);
			if (n == NULL)
				break;
			buf = n;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf)
		buf[len] = 0;
	return buf;
}

/* Print the totals of a stats document as "name value" lines: a minimal
 * reader of our own JSON (flat "key": number pairs inside "totals"). */
static void print_table(const char *json)
{
	const char *t = strstr(json, "\"totals\"");
	if (t == NULL) {
		fputs(json, stdout);
		return;
	}
	const char *ctl = strstr(t, "\"control\"");
	for (const char *p = t; (p = strchr(p, '"')) != NULL && (ctl == NULL || p < ctl + 200);) {
		const char *e = strchr(p + 1, '"');
		if (e == NULL)
			break;
		const char *colon = e + 1;
		while (*colon == ' ')
			colon++;
		if (*colon == ':') {
			const char *v = colon + 1;
			while (*v == ' ')
				v++;
			if (*v >= '0' && *v <= '9')
				printf("%-28.*s %.*s\n", (int)(e - p - 1), p + 1,
				       (int)strspn(v, "0123456789"), v);
		}
		p = e + 1;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = getenv("RPCROUTER_CTL_SOCKET") ? getenv("RPCROUTER_CTL_SOCKET")
							   : DEFAULT_SOCKET;
	int json = 0, opt;
	while ((opt = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "stats") != 0) {
		usage(stderr);
		return 2;
	}
	/* An empty answer means control gave up waiting for our request (we
	 * were descheduled between connect and send on a busy machine): ask
	 * again, a few times. */
	char *out = NULL;
	for (int attempt = 0; attempt < 5; attempt++) {
		free(out);
		out = request(path, "stats\n");
		if (out == NULL || out[0] != 0)
			break;
		usleep(20000);
	}
	if (out == NULL)
		return 1;
	if (out[0] == 0) {
		fprintf(stderr, "rpcrouter-ctl: rpcrouterd gave no answer (5 tries)\n");
		free(out);
		return 1;
	}
	if (json)
		fputs(out, stdout);
	else
		print_table(out);
	free(out);
	return 0;
}
