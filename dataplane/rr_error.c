#include "rr_error.h"

#include <stddef.h>

struct rr_err_info {
	const char *name;
	const char *condition;
	const char *message;
};

static const struct rr_err_info rr_err_table[RR_ERR_COUNT] = {
#define RR_ERR(name, cond, msg) [RR_##name] = {#name, cond, msg},
#include "errors.def"
#undef RR_ERR
};

static const struct rr_err_info *rr_err_lookup(enum rr_err e)
{
	if ((unsigned)e >= RR_ERR_COUNT)
		return NULL;
	return &rr_err_table[e];
}

const char *rr_strerror(enum rr_err e)
{
	const struct rr_err_info *i = rr_err_lookup(e);
	return i ? i->message : "unknown error";
}

const char *rr_errname(enum rr_err e)
{
	const struct rr_err_info *i = rr_err_lookup(e);
	return i ? i->name : "UNKNOWN";
}

const char *rr_err_condition(enum rr_err e)
{
	const struct rr_err_info *i = rr_err_lookup(e);
	return i ? i->condition : NULL;
}
