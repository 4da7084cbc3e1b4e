#include "ctl_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

/* The AMQP ports (IANA; AMQP 1.0 part 5.2) do not depend on /etc/services. */
static const struct {
	const char *name;
	uint16_t port;
} known_services[] = {
    {"amqp", 5672},
    {"amqps", 5671},
};

enum rr_err ctl_addr_parse_port(const char *text, uint16_t *out)
{
	if (text[0] >= '0' && text[0] <= '9') {
		unsigned long v = 0;
		for (const char *c = text; *c; c++) {
			if (*c < '0' || *c > '9')
				return RR_E_CONFIG_VALUE;
			v = v * 10 + (unsigned long)(*c - '0');
			if (v > 65535)
				return RR_E_CONFIG_VALUE;
		}
		*out = (uint16_t)v;
		return RR_OK;
	}
	for (size_t i = 0; i < sizeof(known_services) / sizeof(known_services[0]); i++) {
		if (strcmp(text, known_services[i].name) == 0) {
			*out = known_services[i].port;
			return RR_OK;
		}
	}
	for (const char *c = text; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return RR_E_CONFIG_VALUE;
	}
	if (!text[0])
		return RR_E_CONFIG_VALUE;
	struct servent *se = getservbyname(text, "tcp");
	if (!se)
		return RR_E_CONFIG_VALUE;
	*out = ntohs((uint16_t)se->s_port);
	return RR_OK;
}

static bool is_dns_name(const char *host)
{
	size_t len = strlen(host), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return false;
		if (c == '-' && (label == 0 || i + 1 == len || host[i + 1] == '.'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

enum rr_err ctl_addr_check_host(const char *host)
{
	unsigned char buf[16];
	if (host[0] == '\0')
		return RR_OK;
	if (strchr(host, ':'))
		return inet_pton(AF_INET6, host, buf) == 1 ? RR_OK : RR_E_CONFIG_VALUE;
	if (strspn(host, "0123456789.") == strlen(host))
		return inet_pton(AF_INET, host, buf) == 1 ? RR_OK : RR_E_CONFIG_VALUE;
	return is_dns_name(host) ? RR_OK : RR_E_CONFIG_VALUE;
}

const char *ctl_addr_format(const char *host, uint16_t port, char *buf, size_t size)
{
	if (host[0] == '\0')
		snprintf(buf, size, "*:%u", port);
	else if (strchr(host, ':'))
		snprintf(buf, size, "[%s]:%u", host, port);
	else
		snprintf(buf, size, "%s:%u", host, port);
	return buf;
}
