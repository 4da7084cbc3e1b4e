// The codec's top-level decoders with one shape, (cursor, diag) -> result,
// for tests that feed the same bytes to several of them.
#pragma once

#include "amqp_frame.h"
#include "amqp_message.h"
#include "amqp_route.h"

inline enum rr_err dec_perf(struct amqp_cursor *c, struct amqp_diag *d)
{
	struct amqp_performative p;
	return amqp_performative_decode(c, &p, d);
}

inline enum rr_err dec_sasl(struct amqp_cursor *c, struct amqp_diag *d)
{
	struct amqp_sasl_frame s;
	return amqp_sasl_frame_decode(c, &s, d);
}

inline enum rr_err dec_msg(struct amqp_cursor *c, struct amqp_diag *d)
{
	struct amqp_message_view m;
	return amqp_message_scan(c, &m, d);
}

inline enum rr_err dec_route(struct amqp_cursor *c, struct amqp_diag *d)
{
	struct amqp_route_info r;
	return amqp_route_scan(c, &r, d);
}
