/* The socket driver (kernel TCP, epoll): see drv_sock.c. */
#ifndef DRV_SOCK_H
#define DRV_SOCK_H

#include "dp_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const struct drv_ops drv_sock_ops;

#ifdef __cplusplus
}
#endif
#endif
