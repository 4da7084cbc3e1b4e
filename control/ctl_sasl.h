/* Server-side SASL for the control thread: Cyrus SASL (libsasl2) plugged
 * into proton-C through proton's sasl_plugin.h, because Debian's proton
 * (0.37) is built without Cyrus and its built-in server SASL serves only
 * ANONYMOUS (and EXTERNAL with proton's own TLS, which rpcrouterd does not
 * use). See docs/sasl.md for the policy (what is offered when) and the
 * qdrouterd 1.19 behaviour it reproduces.
 *
 * Thread: control thread only. Cyrus SASL keeps process-wide state
 * (plugins, the configuration file), so ctl_sasl_global_init runs once,
 * before any connection, and ctl_sasl_global_fini after the last
 * transport set up here has been freed. */
#ifndef CTL_SASL_H
#define CTL_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include <proton/transport.h>

#include "rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What one listener asks of SASL. Every pointer is borrowed: it must stay
 * valid for the call it is passed to (nothing is kept after it returns). */
struct ctl_sasl_server {
	/* router saslConfigDir (qdrouterd's deprecated saslConfigPath is
	 * mapped to it by the config loader); NULL: no Cyrus, proton's
	 * built-in SASL (ANONYMOUS only). When set it must be the directory
	 * ctl_sasl_global_init was given. */
	const char *config_dir;
	/* router saslConfigName, default "qdrouterd": Cyrus reads
	 * <config_dir>/<config_name>.conf (mech_list, sasldb_path,
	 * pwcheck_method...). NULL means "qdrouterd". */
	const char *config_name;
	/* listener saslMechanisms, space separated; NULL: all Cyrus offers
	 * (after the filters below). */
	const char *mechanisms;
	/* listener authenticatePeer: ANONYMOUS refused (Cyrus
	 * SASL_SEC_NOANONYMOUS), and a client that skips SASL is refused by
	 * proton (pn_transport_require_auth). */
	bool authenticate_peer;
	/* connection under TLS: false for now. When true, mechanisms that
	 * send a password in clear are allowed even with no_plaintext. */
	bool encrypted;
	/* Refuse mechanisms that send a password in clear (PLAIN, LOGIN) on
	 * an unencrypted connection (Cyrus SASL_SEC_NOPLAINTEXT). false (the
	 * zero value) is qdrouterd 1.19, which hardwires
	 * allowInsecureAuthentication to true: whether PLAIN is offered over
	 * plain TCP is then decided by the Cyrus configuration (mech_list)
	 * and saslMechanisms. No qdrouterd.conf attribute sets this. */
	bool no_plaintext;
	/* The server's fully qualified name for Cyrus: the default realm of a
	 * user name given without "@realm". NULL: Cyrus uses gethostname(),
	 * as qdrouterd does. Not the listen address. */
	const char *hostname;
};

/* Once per process, before any connection: sasl_server_init with the
 * config dir and name (Cyrus reads <config_dir>/<config_name>.conf,
 * config_name NULL meaning "qdrouterd"), or nothing when config_dir is
 * NULL. RR_E_CONFIG_VALUE with a clear message in err when the directory
 * or <name>.conf is missing or unreadable, when Cyrus fails, or when
 * called again without ctl_sasl_global_fini (with other arguments; the
 * same arguments again are RR_OK). err may be NULL. */
enum rr_err ctl_sasl_global_init(const char *config_dir, const char *config_name, char *err,
				 size_t errlen);

/* sasl_server_done. Call only after every transport set up with Cyrus has
 * been freed (ctl_sasl_live_conns() == 0). Harmless when not initialised. */
void ctl_sasl_global_fini(void);

/* Which mechanisms this listener will actually offer on a connection with
 * s->encrypted as given (space separated into buf), and false + reason in
 * why when it can serve none or a mechanism named in s->mechanisms cannot
 * be served (no such Cyrus plugin, excluded by mech_list, a clear-text
 * password refused by no_plaintext, no Cyrus configuration at all...).
 * One exception, as in qdrouterd: ANONYMOUS named in saslMechanisms with
 * authenticate_peer is just not offered; the result is still true and why
 * says so. On true, why is "" or such a note, for a warning. Called at
 * start-up so rpcrouterd refuses to start with a clear message. buf and
 * why are always NUL terminated when their size is not 0. */
bool ctl_sasl_server_mechs(const struct ctl_sasl_server *s, char *buf, size_t n, char *why,
			   size_t whyn);

/* Make transport t (a server transport, pn_transport_set_server already
 * called, before any bytes are processed) use Cyrus per s, with the
 * allowed mechanisms set (pn_sasl_allowed_mechs) and
 * pn_transport_require_auth per authenticate_peer. When s->config_dir is
 * NULL the same plugin serves what proton's built-in server would: only
 * ANONYMOUS, user "anonymous" (so ctl_sasl_failure and the authenticatePeer
 * filter work the same on both paths). The per-connection Cyrus state is freed by
 * pn_transport_free (so by pn_connection_driver_destroy), also when the
 * exchange never started or was cut short.
 *
 * After the exchange read pn_sasl_outcome(pn_sasl(t)) (PN_SASL_OK, or
 * PN_SASL_AUTH for a wrong password or an unknown user: that outcome is
 * sent to the client, then proton ends its output), pn_sasl_get_user (the
 * authenticated identity as Cyrus canonicalised it, e.g. "alice@REALM") and
 * pn_sasl_get_mech. Those strings live until t is freed.
 *
 * RR_E_CONFIG_VALUE when s->config_dir is set and Cyrus was not
 * initialised with it, when Cyrus cannot create the connection state, or
 * when the listener can offer no mechanism (the transport is then still set
 * to refuse every mechanism, so it is safe to run); RR_E_NOMEM. */
enum rr_err ctl_sasl_server_setup(pn_transport_t *t, const struct ctl_sasl_server *s);

/* Why Cyrus refused the last step on t (its sasl_errdetail, e.g.
 * "SASL(-13): user not found: ..."), for the authentication-failure log
 * line; NULL when nothing failed or t does not use Cyrus. Lives until t is
 * freed. Never sent to the client (the SASL outcome carries only a code). */
const char *ctl_sasl_failure(pn_transport_t *t);

/* Cyrus's own log messages (plugins, sasldb...) go here instead of syslog.
 * level: 0 error, 1 warning, 2 info, 3 debug. Messages Cyrus marks as
 * containing passwords are never passed on. fn NULL (the default): dropped.
 * Control thread only; ctx is borrowed until replaced. */
void ctl_sasl_set_log(void (*fn)(void *ctx, int level, const char *msg), void *ctx);

/* Per-connection Cyrus contexts allocated and not yet freed (tests, and
 * the leak report at shutdown). */
unsigned ctl_sasl_live_conns(void);

#ifdef __cplusplus
}
#endif
#endif
