/* libFuzzer target: the dpdk driver's readers of a dpdkPorts entry
 * (drivers/dpdk): drv_dpdk_port_name (the ethdev name the port is looked
 * up by: DPDK's PCI address parser behind it) and drv_dpdk_memif_bsize
 * (net_memif's bsize=, which sizes the port's mbufs). Config text from
 * the operator, so hostile input must give an answer, never a crash.
 *
 * Input: one byte choosing the name buffer's size (1, 2, 12, 13, 17, 64, 256),
 * then the entry up to the first NUL (copied into a block of exactly its
 * length + 1: ASan sees a read past it).
 *
 * Checks:
 *  - the name is NUL-terminated within its buffer, and is either the
 *    entry's text before its first comma (cut to the buffer) or, where
 *    that text is a PCI address, its bus name
 *    (DDDD:BB:DD.F, lower-case hex, as PCI_PRI_FMT writes it) cut to the buffer: the two agree on
 *    bus, device and function read back from it;
 *  - bsize is 2048 without a "bsize=" key, else the decimal value of the
 *    last such key found by scanning from the end (a second way to the
 *    same rule), clamped to 32 bits.
 * Seeds: corpus/dpdk_spec (by hand). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_dpdk_mtu.h"
#include "drv_dpdk_name.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_pci_name(const char *s)
{
	/* PCI_PRI_FMT: DDDD:BB:DD.F, the domain 4 to 8 digits (%.4x of 32
	 * bits), the function 1 or 2 (DPDK takes any 8-bit value there) */
	size_t dom = 0;
	while (dom < 9 && is_hex(s[dom]))
		dom++;
	if (dom < 4 || dom > 8)
		return false;
	static const char shape[] = ":xx:xx.x";
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !is_hex(s[dom + i]) : s[dom + i] != shape[i])
			return false;
	const char *fn = s + dom + sizeof(shape) - 2;
	return fn[1] == 0 || (is_hex(fn[1]) && fn[2] == 0);
}

static void check_name(const char *spec, size_t n)
{
	char *out = (char *)malloc(n);
	FUZZ_INVARIANT(out != NULL, "malloc");
	memset(out, 0x5a, n);
	drv_dpdk_port_name(spec, out, n);
	size_t len = strnlen(out, n);
	FUZZ_INVARIANT(len < n, "name NUL-terminated in its buffer");
	size_t head = strcspn(spec, ",");
	if (head > 255)
		head = 255; /* the function's own bound on the name */
	bool whole = strcspn(spec, ",") == head; /* the name was not cut */
	size_t cut = head < n - 1 ? head : n - 1;
	bool as_written = len == cut && memcmp(out, spec, cut) == 0;
	if (!as_written) {
		/* a PCI bus name: check it in full with a large buffer */
		char full[64];
		drv_dpdk_port_name(spec, full, sizeof(full));
		FUZZ_INVARIANT(is_pci_name(full), "a changed name is a PCI bus name");
		size_t flen = strlen(full);
		FUZZ_INVARIANT(len == (n - 1 < flen ? n - 1 : flen) && memcmp(out, full, len) == 0,
			 "the PCI name cut to the buffer");
		FUZZ_INVARIANT(strncmp(spec, "net_", 4) != 0, "vdev names are kept");
		if (!whole)
			goto done; /* the address read was the cut one */
		/* bus, device and function as written (after an optional
		 * domain), each field read by strtoul up to its delimiter as
		 * DPDK reads it (an empty field is 0, "0x" and a sign pass) */
		unsigned long v[4] = {0, 0, 0, 0};
		const char dlm_full[] = {':', ':', '.', ','}, dlm_short[] = {':', '.', ','};
		size_t colons = 0;
		for (const char *q = spec; *q && *q != ',' && *q != '.'; q++)
			colons += *q == ':';
		const char *dl = colons >= 2 ? dlm_full : dlm_short;
		size_t nf = colons >= 2 ? 4 : 3;
		const char *q = spec;
		for (size_t i = 0; i < nf; i++) {
			char *end;
			v[i] = strtoul(q, &end, 16);
			FUZZ_INVARIANT(i + 1 == nf ? (*end == 0 || *end == ',') : *end == dl[i],
				 "fields end at their delimiters");
			q = end + 1;
		}
		unsigned long dom = colons >= 2 ? v[0] : 0, *bdf = colons >= 2 ? v + 1 : v;
		unsigned fdom = 0, fb = 0, fd = 0, ff = 0;
		FUZZ_INVARIANT(sscanf(full, "%x:%x:%x.%x", &fdom, &fb, &fd, &ff) == 4, "reads back");
		FUZZ_INVARIANT(fdom == dom && fb == bdf[0] && fd == bdf[1] && ff == bdf[2],
			 "domain, bus, device, function");
	}
done:
	free(out);
}

static uint32_t bsize_by_hand(const char *spec)
{
	/* the last ",bsize=" wins: look for it from the end */
	size_t len = strlen(spec);
	for (size_t i = len; i-- > 0;) {
		if (spec[i] == ',' && strncmp(spec + i + 1, "bsize=", 6) == 0) {
			unsigned long v = strtoul(spec + i + 7, NULL, 10);
			return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		}
	}
	return 2048;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = {1, 2, 12, 13, 17, 64, 256};
	if (size < 1)
		return 0;
	size_t n = sizes[data[0] % (sizeof(sizes) / sizeof(sizes[0]))];
	data++;
	size--;
	const uint8_t *nul = (const uint8_t *)memchr(data, 0, size);
	size_t slen = nul ? (size_t)(nul - data) : size;
	char *spec = (char *)malloc(slen + 1);
	if (spec == NULL)
		return 0;
	memcpy(spec, data, slen);
	spec[slen] = 0;
	check_name(spec, n);
	FUZZ_INVARIANT(drv_dpdk_memif_bsize(spec) == bsize_by_hand(spec), "bsize: the last key, decimal");
	free(spec);
	return 0;
}
