/* Server-side SASL: Cyrus SASL (libsasl2) behind proton's sasl_plugin.h.
 *
 * Proton drives the SASL layer (frames, states, the outcome); this file is
 * the authenticator it calls: which mechanisms to offer (sasl-mechanisms,
 * AMQP 1.0 part 5.3.3.1), what to make of the client's sasl-init and
 * sasl-response (5.3.3.2, 5.3.3.4), and when to send a sasl-challenge or the
 * sasl-outcome (5.3.3.3, 5.3.3.5). Only server transports use it.
 *
 * Cyrus keeps process-wide state (the loaded plugins and the configuration
 * file of the application name), so the globals below are owned by the
 * control thread, set once at start-up and never touched by workers. */
#include "ctl_sasl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <proton/sasl.h>
#include <proton/sasl_plugin.h>

#include <sasl/sasl.h>

/* Proton's sasl-mechanisms encoder has room for 32 symbols (sasl.c,
 * PROTON-2122): never hand it more. */
#define CTL_SASL_MAX_MECHS 32

/* The external SSF Cyrus is told about when the connection is under TLS:
 * any value above 1 lifts SASL_SEC_NOPLAINTEXT (Cyrus server.c
 * mech_permitted); 128 stands for "a TLS cipher" until the TLS handshake
 * reports the real key length. */
#define CTL_SASL_TLS_SSF 128

/* The Cyrus service name, as proton uses it (and so qdrouterd): it selects
 * service-specific options and is part of DIGEST-MD5's digest-uri. */
static const char ctl_sasl_service[] = "amqp";

static const char ctl_sasl_default_name[] = "qdrouterd";

static struct {
	bool active;	    /* sasl_server_init succeeded */
	char *dir;	    /* owned: the config dir Cyrus was given */
	char *name;	    /* owned: the application (config) name */
	unsigned live;	    /* struct ctl_sasl_conn not yet freed */
	char last_log[256]; /* last error-level Cyrus message, for init errors */
	void (*log_fn)(void *ctx, int level, const char *msg);
	void *log_ctx;
} ctl_sasl_g;

/* Per-transport state: proton's impl_context. Owned by the transport,
 * freed by ctl_sasl_impl_free from pn_transport_free. Never NULL once set,
 * which is what makes proton call the free callback (pn_sasl_free calls
 * it only when the context is non-NULL). */
struct ctl_sasl_conn {
	sasl_conn_t *cyrus; /* owned */
	char *offer;	    /* owned: the mechanisms offered, space separated */
	char *failure;	    /* owned: Cyrus's detail of the last refusal, or NULL */
};

/* ------------------------------------------------------------------ */
/* Small helpers: space-separated mechanism lists. */

static void ctl_sasl_printf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ctl_sasl_printf(char *buf, size_t n, const char *fmt, ...)
{
	if (!buf || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* Next word of a space/tab separated list: *len bytes at the returned
 * pointer, or NULL at the end. *pos advances past it. */
static const char *ctl_sasl_next_word(const char **pos, size_t *len)
{
	const char *p = *pos;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		*pos = p;
		return NULL;
	}
	const char *w = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*len = (size_t)(p - w);
	*pos = p;
	return w;
}

/* SASL mechanism names are case-insensitive for matching (RFC 4422 3.1
 * names are upper case; proton and Cyrus both compare ignoring case). */
static bool ctl_sasl_list_has(const char *list, const char *w, size_t len)
{
	if (!list)
		return false;
	const char *pos = list;
	const char *x;
	size_t xl;
	while ((x = ctl_sasl_next_word(&pos, &xl)))
		if (xl == len && strncasecmp(x, w, len) == 0)
			return true;
	return false;
}

/* Append a word to buf (size n, NUL terminated); false if it does not fit. */
static bool ctl_sasl_append(char *buf, size_t n, const char *w, size_t len)
{
	size_t used = strlen(buf);
	size_t need = used + (used ? 1 : 0) + len + 1;
	if (need > n)
		return false;
	if (used)
		buf[used++] = ' ';
	memcpy(buf + used, w, len);
	buf[used + len] = '\0';
	return true;
}

/* ------------------------------------------------------------------ */
/* Cyrus callbacks (global: given to sasl_server_init). */

static int ctl_sasl_cb_confpath(void *context, char **path)
{
	(void)context;
	/* Cyrus only reads the string (the prototype is not const). */
	*path = ctl_sasl_g.dir;
	return ctl_sasl_g.dir ? SASL_OK : SASL_FAIL;
}

static int ctl_sasl_cb_log(void *context, int level, const char *message)
{
	(void)context;
	int ours;
	switch (level) {
	case SASL_LOG_ERR:
	case SASL_LOG_FAIL: ours = 0; break;
	case SASL_LOG_WARN: ours = 1; break;
	case SASL_LOG_NOTE: ours = 2; break;
	case SASL_LOG_DEBUG:
	case SASL_LOG_TRACE: ours = 3; break;
	default:
		/* SASL_LOG_PASS: traces that include passwords. */
		return SASL_OK;
	}
	if (!message)
		return SASL_OK;
	if (ours == 0)
		snprintf(ctl_sasl_g.last_log, sizeof ctl_sasl_g.last_log, "%s", message);
	if (ctl_sasl_g.log_fn)
		ctl_sasl_g.log_fn(ctl_sasl_g.log_ctx, ours, message);
	return SASL_OK;
}

/* Proxy policy: any authorization identity the client asks for is accepted,
 * as proton's Cyrus glue (and so qdrouterd) does. The router acts on the
 * authenticated identity (pn_sasl_get_user, SASL_AUTHUSER) only; the
 * authzid is informational (pn_sasl_get_authorization). */
static int ctl_sasl_cb_authorize(sasl_conn_t *conn, void *context, const char *requested_user,
				 unsigned rlen, const char *auth_identity, unsigned alen,
				 const char *def_realm, unsigned urlen, struct propctx *propctx)
{
	(void)conn, (void)context, (void)requested_user, (void)rlen;
	(void)auth_identity, (void)alen, (void)def_realm, (void)urlen, (void)propctx;
	return SASL_OK;
}

/* sasl_callback_t.proc is int (*)(void); void (*)(void) converts to and from
 * any function pointer type without -Wcast-function-type. */
#define CTL_SASL_PROC(f) ((int (*)(void))(void (*)(void))(f))

static const sasl_callback_t ctl_sasl_callbacks[] = {
    {SASL_CB_GETCONFPATH, CTL_SASL_PROC(ctl_sasl_cb_confpath), NULL},
    {SASL_CB_LOG, CTL_SASL_PROC(ctl_sasl_cb_log), NULL},
    {SASL_CB_PROXY_POLICY, CTL_SASL_PROC(ctl_sasl_cb_authorize), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* ------------------------------------------------------------------ */
/* Global init / fini. */

void ctl_sasl_set_log(void (*fn)(void *ctx, int level, const char *msg), void *ctx)
{
	ctl_sasl_g.log_fn = fn;
	ctl_sasl_g.log_ctx = ctx;
}

unsigned ctl_sasl_live_conns(void)
{
	return ctl_sasl_g.live;
}

static bool ctl_sasl_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

enum rr_err ctl_sasl_global_init(const char *config_dir, const char *config_name, char *err,
				 size_t errlen)
{
	if (!config_name)
		config_name = ctl_sasl_default_name;
	if (err && errlen)
		err[0] = '\0';
	if (ctl_sasl_g.active) {
		if (ctl_sasl_same(config_dir, ctl_sasl_g.dir) &&
		    ctl_sasl_same(config_name, ctl_sasl_g.name))
			return RR_OK;
		ctl_sasl_printf(err, errlen,
				"Cyrus SASL is already initialised with %s/%s.conf: one SASL "
				"configuration per process",
				ctl_sasl_g.dir, ctl_sasl_g.name);
		return RR_E_CONFIG_VALUE;
	}
	if (!config_dir)
		return RR_OK; /* proton's built-in SASL, nothing to set up */

	if (!*config_name || strchr(config_name, '/')) {
		ctl_sasl_printf(err, errlen, "saslConfigName '%s' is not a file name", config_name);
		return RR_E_CONFIG_VALUE;
	}
	/* Cyrus takes a colon-separated search path: one directory only. */
	if (!*config_dir || strchr(config_dir, ':')) {
		ctl_sasl_printf(err, errlen, "saslConfigDir '%s' is not a single directory",
				config_dir);
		return RR_E_CONFIG_VALUE;
	}
	struct stat st;
	if (stat(config_dir, &st) != 0) {
		ctl_sasl_printf(err, errlen, "saslConfigDir %s: %s", config_dir, strerror(errno));
		return RR_E_CONFIG_VALUE;
	}
	if (!S_ISDIR(st.st_mode)) {
		ctl_sasl_printf(err, errlen, "saslConfigDir %s: not a directory", config_dir);
		return RR_E_CONFIG_VALUE;
	}
	/* Cyrus silently falls back to its defaults (every installed
	 * mechanism, no sasldb path) when <name>.conf is absent: refuse that,
	 * the operator meant that file. */
	size_t plen = strlen(config_dir) + 1 + strlen(config_name) + sizeof ".conf";
	char *path = malloc(plen);
	if (!path) {
		ctl_sasl_printf(err, errlen, "out of memory");
		return RR_E_NOMEM;
	}
	snprintf(path, plen, "%s/%s.conf", config_dir, config_name);
	FILE *f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		ctl_sasl_printf(err, errlen,
				"SASL configuration %s (saslConfigDir/saslConfigName): %s", path,
				f ? "not a regular file" : strerror(errno));
		if (f)
			fclose(f);
		free(path);
		return RR_E_CONFIG_VALUE;
	}
	fclose(f);

	ctl_sasl_g.dir = strdup(config_dir);
	ctl_sasl_g.name = strdup(config_name);
	if (!ctl_sasl_g.dir || !ctl_sasl_g.name) {
		free(path);
		free(ctl_sasl_g.dir);
		free(ctl_sasl_g.name);
		ctl_sasl_g.dir = ctl_sasl_g.name = NULL;
		ctl_sasl_printf(err, errlen, "out of memory");
		return RR_E_NOMEM;
	}
	ctl_sasl_g.last_log[0] = '\0';
	int r = sasl_server_init(ctl_sasl_callbacks, ctl_sasl_g.name);
	if (r != SASL_OK) {
		ctl_sasl_printf(err, errlen, "Cyrus SASL initialisation with %s failed: %s%s%s",
				path, sasl_errstring(r, NULL, NULL),
				ctl_sasl_g.last_log[0] ? ": " : "", ctl_sasl_g.last_log);
		/* Cyrus undoes a failed init itself (server.c server_done). */
		free(path);
		free(ctl_sasl_g.dir);
		free(ctl_sasl_g.name);
		ctl_sasl_g.dir = ctl_sasl_g.name = NULL;
		return RR_E_CONFIG_VALUE;
	}
	free(path);
	ctl_sasl_g.active = true;
	return RR_OK;
}

void ctl_sasl_global_fini(void)
{
	if (ctl_sasl_g.active)
		sasl_server_done();
	ctl_sasl_g.active = false;
	free(ctl_sasl_g.dir);
	free(ctl_sasl_g.name);
	ctl_sasl_g.dir = ctl_sasl_g.name = NULL;
}

/* ------------------------------------------------------------------ */
/* Cyrus connection state and the offer. */

static unsigned ctl_sasl_secflags(const struct ctl_sasl_server *s)
{
	return (s->no_plaintext ? SASL_SEC_NOPLAINTEXT : 0u) |
	       (s->authenticate_peer ? SASL_SEC_NOANONYMOUS : 0u);
}

/* A Cyrus server connection with the given security flags. max_ssf 0: no
 * SASL security layer is ever negotiated, because after Open the byte
 * stream goes to a worker that frames AMQP directly (DESIGN.md, handoff);
 * DIGEST-MD5 and GSSAPI then run as authentication only. */
static int ctl_sasl_conn_new(const struct ctl_sasl_server *s, unsigned secflags, sasl_conn_t **out)
{
	sasl_conn_t *c = NULL;
	int r = sasl_server_new(ctl_sasl_service, s->hostname, NULL, NULL, NULL, NULL, 0, &c);
	if (r != SASL_OK) {
		if (c)
			sasl_dispose(&c);
		return r;
	}
	sasl_security_properties_t sp;
	memset(&sp, 0, sizeof sp);
	sp.security_flags = secflags;
	sp.min_ssf = 0;
	sp.max_ssf = 0;
	sp.maxbufsize = 0;
	r = sasl_setprop(c, SASL_SEC_PROPS, &sp);
	if (r == SASL_OK) {
		sasl_ssf_t ext = s->encrypted ? CTL_SASL_TLS_SSF : 0;
		r = sasl_setprop(c, SASL_SSF_EXTERNAL, &ext);
	}
	if (r != SASL_OK) {
		sasl_dispose(&c);
		return r;
	}
	*out = c;
	return SASL_OK;
}

/* Cyrus's list for connection c ("" when it offers nothing). The string
 * belongs to c. */
static const char *ctl_sasl_cyrus_list(sasl_conn_t *c)
{
	const char *res = NULL;
	unsigned len = 0;
	int count = 0;
	if (sasl_listmech(c, NULL, "", " ", "", &res, &len, &count) != SASL_OK || !res)
		return "";
	return res;
}

/* The offer of one connection: what Cyrus (or, without Cyrus, proton's
 * built-in server) offers under the listener's flags, restricted to
 * s->mechanisms when given, at most CTL_SASL_MAX_MECHS. */
static bool ctl_sasl_offer(const struct ctl_sasl_server *s, const char *avail, char *buf, size_t n)
{
	buf[0] = '\0';
	const char *pos = avail;
	const char *w;
	size_t len;
	size_t count = 0;
	while ((w = ctl_sasl_next_word(&pos, &len)) && count < CTL_SASL_MAX_MECHS) {
		if (s->mechanisms && !ctl_sasl_list_has(s->mechanisms, w, len))
			continue;
		if (!ctl_sasl_append(buf, n, w, len))
			return false;
		count++;
	}
	return true;
}

static const char *ctl_sasl_builtin_list(const struct ctl_sasl_server *s)
{
	/* What proton's built-in server (default_sasl.c) offers without its
	 * own TLS layer: ANONYMOUS. That server would accept ANONYMOUS even
	 * with require-auth, so the authenticatePeer filter is ours. */
	return s->authenticate_peer ? "" : "ANONYMOUS";
}

static bool ctl_sasl_mechs_builtin(const struct ctl_sasl_server *s, char *buf, size_t n, char *why,
				   size_t whyn)
{
	const char *pos = s->mechanisms ? s->mechanisms : "";
	const char *w;
	size_t len;
	while ((w = ctl_sasl_next_word(&pos, &len))) {
		if (len == 9 && strncasecmp(w, "ANONYMOUS", 9) == 0)
			continue;
		ctl_sasl_printf(why, whyn,
				"saslMechanisms names %.*s, but no SASL configuration is given "
				"(router saslConfigDir): without Cyrus SASL only ANONYMOUS can be "
				"served",
				(int)len, w);
		return false;
	}
	if (!ctl_sasl_offer(s, ctl_sasl_builtin_list(s), buf, n)) {
		ctl_sasl_printf(why, whyn, "mechanism list does not fit in %zu bytes", n);
		return false;
	}
	if (!buf[0]) {
		ctl_sasl_printf(
		    why, whyn,
		    "authenticatePeer requires authentication, but no SASL configuration "
		    "is given (router saslConfigDir): without Cyrus SASL only ANONYMOUS, "
		    "which authenticates nobody, can be served");
		return false;
	}
	if (s->mechanisms && s->authenticate_peer &&
	    ctl_sasl_list_has(s->mechanisms, "ANONYMOUS", 9))
		ctl_sasl_printf(why, whyn, "ANONYMOUS is not offered: authenticatePeer is set");
	return true;
}

static bool ctl_sasl_global_has(const char *w, size_t len)
{
	const char **all = sasl_global_listmech();
	for (size_t i = 0; all && all[i]; i++)
		if (strlen(all[i]) == len && strncasecmp(all[i], w, len) == 0)
			return true;
	return false;
}

static bool ctl_sasl_mechs_cyrus(const struct ctl_sasl_server *s, char *buf, size_t n, char *why,
				 size_t whyn)
{
	const char *name = s->config_name ? s->config_name : ctl_sasl_default_name;
	if (!ctl_sasl_g.active || !ctl_sasl_same(s->config_dir, ctl_sasl_g.dir) ||
	    !ctl_sasl_same(name, ctl_sasl_g.name)) {
		ctl_sasl_printf(why, whyn, "Cyrus SASL is not initialised with %s/%s.conf",
				s->config_dir, name);
		return false;
	}
	sasl_conn_t *strict = NULL, *relaxed = NULL;
	int r = ctl_sasl_conn_new(s, ctl_sasl_secflags(s), &strict);
	if (r == SASL_OK)
		r = ctl_sasl_conn_new(s, 0, &relaxed);
	if (r != SASL_OK) {
		ctl_sasl_printf(why, whyn, "Cyrus SASL cannot create a server connection: %s",
				sasl_errstring(r, NULL, NULL));
		if (strict)
			sasl_dispose(&strict);
		return false;
	}
	const char *avail = ctl_sasl_cyrus_list(strict);
	const char *any = ctl_sasl_cyrus_list(relaxed);
	bool ok = true;
	bool anon_dropped = false;

	const char *pos = s->mechanisms ? s->mechanisms : "";
	const char *w;
	size_t len;
	while (ok && (w = ctl_sasl_next_word(&pos, &len))) {
		if (ctl_sasl_list_has(avail, w, len))
			continue;
		if (len == 9 && strncasecmp(w, "ANONYMOUS", 9) == 0 && s->authenticate_peer &&
		    ctl_sasl_list_has(any, w, len)) {
			anon_dropped = true;
			continue;
		}
		ok = false;
		if (ctl_sasl_list_has(any, w, len))
			ctl_sasl_printf(
			    why, whyn,
			    "saslMechanisms names %.*s, which sends the password in clear, "
			    "and clear-text mechanisms are not allowed on an unencrypted "
			    "connection",
			    (int)len, w);
		else if (ctl_sasl_global_has(w, len))
			ctl_sasl_printf(
			    why, whyn,
			    "saslMechanisms names %.*s, which Cyrus SASL does not offer with "
			    "%s/%s.conf: excluded by its mech_list, or unusable (a "
			    "shared-secret mechanism needs users in the sasldb)",
			    (int)len, w, ctl_sasl_g.dir, ctl_sasl_g.name);
		else
			ctl_sasl_printf(
			    why, whyn,
			    "saslMechanisms names %.*s, but Cyrus SASL has no %.*s plugin "
			    "(Debian: libsasl2-modules provides PLAIN, ANONYMOUS, LOGIN, "
			    "CRAM-MD5, DIGEST-MD5, SCRAM, NTLM)",
			    (int)len, w, (int)len, w);
	}
	if (ok && !ctl_sasl_offer(s, avail, buf, n)) {
		ok = false;
		ctl_sasl_printf(why, whyn, "mechanism list does not fit in %zu bytes", n);
	}
	if (ok && !buf[0]) {
		ok = false;
		ctl_sasl_printf(
		    why, whyn,
		    "no SASL mechanism can be offered: Cyrus SASL with %s/%s.conf offers "
		    "'%s'%s%s",
		    ctl_sasl_g.dir, ctl_sasl_g.name, any,
		    s->authenticate_peer ? ", ANONYMOUS refused (authenticatePeer)" : "",
		    s->no_plaintext && !s->encrypted ? ", clear-text passwords refused" : "");
	}
	if (ok && anon_dropped)
		ctl_sasl_printf(why, whyn, "ANONYMOUS is not offered: authenticatePeer is set");
	sasl_dispose(&strict);
	sasl_dispose(&relaxed);
	return ok;
}

bool ctl_sasl_server_mechs(const struct ctl_sasl_server *s, char *buf, size_t n, char *why,
			   size_t whyn)
{
	if (why && whyn)
		why[0] = '\0';
	if (!buf || n == 0) {
		ctl_sasl_printf(why, whyn, "no room for the mechanism list");
		return false;
	}
	buf[0] = '\0';
	bool ok = s->config_dir ? ctl_sasl_mechs_cyrus(s, buf, n, why, whyn)
				: ctl_sasl_mechs_builtin(s, buf, n, why, whyn);
	if (!ok)
		buf[0] = '\0';
	return ok;
}

/* ------------------------------------------------------------------ */
/* The proton plugin. */

static struct ctl_sasl_conn *ctl_sasl_ctx(pn_transport_t *t)
{
	return (struct ctl_sasl_conn *)pnx_sasl_get_context(t);
}

static void ctl_sasl_impl_free(pn_transport_t *t)
{
	struct ctl_sasl_conn *c = ctl_sasl_ctx(t);
	if (!c)
		return;
	if (c->cyrus)
		sasl_dispose(&c->cyrus);
	free(c->offer);
	free(c->failure);
	free(c);
	ctl_sasl_g.live--;
	pnx_sasl_set_context(t, NULL);
}

static const char *ctl_sasl_impl_list(pn_transport_t *t)
{
	struct ctl_sasl_conn *c = ctl_sasl_ctx(t);
	return c ? c->offer : "";
}

static bool ctl_sasl_impl_init_server(pn_transport_t *t)
{
	/* The Cyrus connection exists since ctl_sasl_server_setup; all that is
	 * left is to send sasl-mechanisms (AMQP 1.0 5.3.2: the server speaks
	 * first). */
	pnx_sasl_set_desired_state(t, SASL_POSTED_MECHANISMS);
	return true;
}

static bool ctl_sasl_impl_init_client(pn_transport_t *t)
{
	(void)t;
	return false; /* server transports only */
}

static void ctl_sasl_impl_prepare_write(pn_transport_t *t)
{
	(void)t;
}

/* Refuse: record Cyrus's reason, set the transport condition (proton logs
 * it when SASL logging is on) and send sasl-outcome code auth (5.3.3.6). */
static void ctl_sasl_refuse(pn_transport_t *t, struct ctl_sasl_conn *c, const char *detail)
{
	free(c->failure);
	c->failure = strdup(detail ? detail : "authentication failed");
	pnx_sasl_error(t, c->failure ? c->failure : "authentication failed",
		       "amqp:unauthorized-access");
	pnx_sasl_set_failed(t);
	pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

static void ctl_sasl_result(pn_transport_t *t, struct ctl_sasl_conn *c, int r, const char *out,
			    unsigned outlen)
{
	switch (r) {
	case SASL_OK: {
		const void *authcid = NULL, *authzid = NULL;
		if (sasl_getprop(c->cyrus, SASL_AUTHUSER, &authcid) != SASL_OK || !authcid) {
			ctl_sasl_refuse(t, c, "Cyrus SASL reported success without a user");
			return;
		}
		if (sasl_getprop(c->cyrus, SASL_USERNAME, &authzid) != SASL_OK)
			authzid = NULL;
		/* Proton keeps the pointers: they live in c->cyrus, which is
		 * disposed of only when the transport is freed. */
		pnx_sasl_set_succeeded(t, (const char *)authcid, (const char *)authzid);
		/* A final server message (additional-data, 5.3.3.6), if any. */
		pnx_sasl_set_bytes_out(t, pn_bytes(outlen, outlen ? out : NULL));
		pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
		return;
	}
	case SASL_CONTINUE:
		pnx_sasl_set_bytes_out(t, pn_bytes(outlen, outlen ? out : NULL));
		pnx_sasl_set_desired_state(t, SASL_POSTED_CHALLENGE);
		return;
	default:
		pnx_sasl_set_bytes_out(t, pn_bytes(0, NULL));
		ctl_sasl_refuse(t, c, sasl_errdetail(c->cyrus));
		return;
	}
}

static void ctl_sasl_impl_process_init(pn_transport_t *t, const char *mech, const pn_bytes_t *recv)
{
	struct ctl_sasl_conn *c = ctl_sasl_ctx(t);
	if (!c) {
		pnx_sasl_set_failed(t);
		pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
		return;
	}
	/* Proton checks the client's choice against pn_sasl_allowed_mechs;
	 * check it against what was actually offered too (5.3.3.2: the
	 * mechanism must be one the server supports). */
	if (!mech || !ctl_sasl_list_has(c->offer, mech, strlen(mech))) {
		ctl_sasl_refuse(t, c, "client chose a mechanism that was not offered");
		return;
	}
	if (!c->cyrus) {
		/* No Cyrus: the offer is at most ANONYMOUS, answered as
		 * proton's built-in server does (RFC 4505: the trace string is
		 * not an identity). */
		pnx_sasl_set_succeeded(t, "anonymous", "anonymous");
		pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
		return;
	}
	const char *in = recv ? recv->start : NULL;
	unsigned inlen = recv ? (unsigned)recv->size : 0;
	char *copy = NULL;
	if (strcasecmp(mech, "ANONYMOUS") == 0 && !in) {
		/* The initial-response is optional in AMQP (5.3.3.2) and older
		 * clients omit it; Cyrus's ANONYMOUS would then answer with an
		 * empty challenge they do not expect. An empty trace string is
		 * what RFC 4505 allows. */
		in = "";
		inlen = 0;
	} else if (strcasecmp(mech, "CRAM-MD5") == 0) {
		/* Server-first (RFC 2195): Cyrus refuses client data here. */
		in = NULL;
		inlen = 0;
	} else if (in && inlen) {
		/* Some Cyrus plugins read the initial response as a C string
		 * (EXTERNAL): give them a NUL-terminated copy. */
		copy = malloc((size_t)inlen + 1);
		if (!copy) {
			ctl_sasl_refuse(t, c, "out of memory");
			return;
		}
		memcpy(copy, in, inlen);
		copy[inlen] = '\0';
		in = copy;
	}
	const char *out = NULL;
	unsigned outlen = 0;
	int r = sasl_server_start(c->cyrus, mech, in, inlen, &out, &outlen);
	free(copy);
	ctl_sasl_result(t, c, r, out, outlen);
}

static void ctl_sasl_impl_process_response(pn_transport_t *t, const pn_bytes_t *recv)
{
	struct ctl_sasl_conn *c = ctl_sasl_ctx(t);
	if (!c || !c->cyrus) {
		pnx_sasl_set_failed(t);
		pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
		return;
	}
	const char *out = NULL;
	unsigned outlen = 0;
	int r = sasl_server_step(c->cyrus, recv ? recv->start : NULL,
				 recv ? (unsigned)recv->size : 0, &out, &outlen);
	ctl_sasl_result(t, c, r, out, outlen);
}

static bool ctl_sasl_impl_process_mechanisms(pn_transport_t *t, const char *mechs)
{
	(void)t, (void)mechs;
	return false;
}

static void ctl_sasl_impl_process_challenge(pn_transport_t *t, const pn_bytes_t *recv)
{
	(void)t, (void)recv;
}

static void ctl_sasl_impl_process_outcome(pn_transport_t *t, const pn_bytes_t *recv)
{
	(void)t, (void)recv;
}

/* No SASL security layer (max_ssf 0 above): proton never encodes. */
static bool ctl_sasl_impl_can_encrypt(pn_transport_t *t)
{
	(void)t;
	return false;
}

static ssize_t ctl_sasl_impl_max_encrypt_size(pn_transport_t *t)
{
	(void)t;
	return 0;
}

static ssize_t ctl_sasl_impl_encode(pn_transport_t *t, pn_bytes_t in, pn_bytes_t *out)
{
	(void)t, (void)in, (void)out;
	return PN_ERR;
}

static ssize_t ctl_sasl_impl_decode(pn_transport_t *t, pn_bytes_t in, pn_bytes_t *out)
{
	(void)t, (void)in, (void)out;
	return PN_ERR;
}

static const pnx_sasl_implementation ctl_sasl_impl = {
    .free = ctl_sasl_impl_free,
    .list_mechanisms = ctl_sasl_impl_list,
    .init_server = ctl_sasl_impl_init_server,
    .init_client = ctl_sasl_impl_init_client,
    .prepare_write = ctl_sasl_impl_prepare_write,
    .process_init = ctl_sasl_impl_process_init,
    .process_response = ctl_sasl_impl_process_response,
    .process_mechanisms = ctl_sasl_impl_process_mechanisms,
    .process_challenge = ctl_sasl_impl_process_challenge,
    .process_outcome = ctl_sasl_impl_process_outcome,
    .can_encrypt = ctl_sasl_impl_can_encrypt,
    .max_encrypt_size = ctl_sasl_impl_max_encrypt_size,
    .encode = ctl_sasl_impl_encode,
    .decode = ctl_sasl_impl_decode,
};

const char *ctl_sasl_failure(pn_transport_t *t)
{
	/* Every transport ctl_sasl_server_setup touched has our context, and
	 * no other code here installs proton's: the cast is safe for those;
	 * for any other transport the context is NULL (proton's built-in
	 * server sets one only for EXTERNAL over proton's TLS, unused here). */
	struct ctl_sasl_conn *c = ctl_sasl_ctx(t);
	return c ? c->failure : NULL;
}

enum rr_err ctl_sasl_server_setup(pn_transport_t *t, const struct ctl_sasl_server *s)
{
	pn_sasl_t *sasl = pn_sasl(t);
	pn_transport_require_auth(t, s->authenticate_peer);
	/* Only read by proton's client side and by our flags: kept in step. */
	pn_sasl_set_allow_insecure_mechs(sasl, !s->no_plaintext || s->encrypted);

	struct ctl_sasl_conn *c = calloc(1, sizeof *c);
	if (!c) {
		pn_sasl_allowed_mechs(sasl, ""); /* "": proton offers and accepts nothing */
		return RR_E_NOMEM;
	}
	/* Installed first, so that every path below leaves a context that
	 * pn_transport_free will free. */
	ctl_sasl_g.live++;
	pnx_sasl_set_implementation(t, &ctl_sasl_impl, c);

	const char *avail;
	if (!s->config_dir) {
		avail = ctl_sasl_builtin_list(s);
	} else {
		const char *name = s->config_name ? s->config_name : ctl_sasl_default_name;
		if (!ctl_sasl_g.active || !ctl_sasl_same(s->config_dir, ctl_sasl_g.dir) ||
		    !ctl_sasl_same(name, ctl_sasl_g.name)) {
			c->failure =
			    strdup("Cyrus SASL is not initialised with this configuration");
			pn_sasl_allowed_mechs(sasl, "");
			return RR_E_CONFIG_VALUE;
		}
		int r = ctl_sasl_conn_new(s, ctl_sasl_secflags(s), &c->cyrus);
		if (r != SASL_OK) {
			c->failure = strdup(sasl_errstring(r, NULL, NULL));
			pn_sasl_allowed_mechs(sasl, "");
			return RR_E_CONFIG_VALUE;
		}
		avail = ctl_sasl_cyrus_list(c->cyrus);
	}
	size_t n = strlen(avail) + 1;
	c->offer = malloc(n);
	if (!c->offer) {
		pn_sasl_allowed_mechs(sasl, "");
		return RR_E_NOMEM;
	}
	if (!ctl_sasl_offer(s, avail, c->offer, n))
		c->offer[0] = '\0';
	pn_sasl_allowed_mechs(sasl, c->offer);
	return c->offer[0] ? RR_OK : RR_E_CONFIG_VALUE;
}
