/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to dataplane/route: the two fields of a table that route_pub
 * keeps (its publication epoch and its place on the retired list). */
#ifndef RPCROUTER_ROUTE_INTERNAL_H
#define RPCROUTER_ROUTE_INTERNAL_H

#include "route_table.h"

uint64_t *route_table_pub_epoch(struct route_table *t);
struct route_table **route_table_pub_next(struct route_table *t);

#endif
