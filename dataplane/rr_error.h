/* rpcrouter error codes: one X-macro list (errors.def) -> enum + strings.
 *
 * Shared by every layer; depends on nothing but the C library, so the
 * protocol code in dataplane/amqp and dataplane/net may include it. */
#ifndef RR_ERROR_H
#define RR_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum rr_err {
#define RR_ERR(name, cond, msg) RR_##name,
#include "errors.def"
#undef RR_ERR
	RR_ERR_COUNT
};

/* Human-readable message; never NULL (unknown codes give "unknown error"). */
const char *rr_strerror(enum rr_err e);

/* Symbolic name without the RR_ prefix, e.g. "E_TRUNCATED"; never NULL. */
const char *rr_errname(enum rr_err e);

/* AMQP error condition to send for an error caused by a peer, e.g.
 * "amqp:decode-error"; NULL for local errors and non-errors. */
const char *rr_err_condition(enum rr_err e);

#ifdef __cplusplus
}
#endif
#endif
