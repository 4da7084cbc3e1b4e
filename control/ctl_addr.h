/* Host and port values of listener and connector sections: validation and
 * the "host:port" text used in messages. No resolution happens here: host
 * names are checked for form only (RFC 1123), service names are looked up
 * in a built-in table first (amqp, amqps), then in /etc/services. */
#ifndef CTL_ADDR_H
#define CTL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rr_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A port: a decimal number 0-65535 or a TCP service name ("amqp" = 5672,
 * "amqps" = 5671). RR_E_CONFIG_VALUE when it is neither; *out untouched. */
enum rr_err ctl_addr_parse_port(const char *text, uint16_t *out);

/* A host: "" (every interface), an IPv4 or IPv6 literal (no brackets) or a
 * host name. RR_E_CONFIG_VALUE otherwise. */
enum rr_err ctl_addr_check_host(const char *host);

/* "127.0.0.1:5672", "[::1]:5672" or, for host "", "*:5672", into buf. */
const char *ctl_addr_format(const char *host, uint16_t port, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
