/* The invariant check of the fuzz targets that need no AMQP headers
 * (fuzz_common.h's FUZZ_CHECK takes a format; this one a fixed text):
 * a failed check names itself and its place, then aborts, which libFuzzer
 * and the corpus replay both report as a finding. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_INVARIANT(cond, what)                                                                 \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", what, __FILE__,          \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
