/* Corpus replay without libFuzzer: calls LLVMFuzzerTestOneInput on every
 * file named on the command line, and on every regular file inside every
 * directory named there (sorted by name, not recursive). Linked with one
 * target's source in the normal build, so `meson test --suite fuzz-replay`
 * replays the committed corpus under gcc (and under ASan with
 * -Dsanitize=true). A finding aborts inside the target; an unreadable
 * input or an empty corpus fails the test. */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ASan's hook (a plain unused function in other builds): the options CI
 * runs the replays with (scripts/bootstrap.sh), whoever runs the binary;
 * strict_string_checks makes ASan check str* calls on the unterminated
 * fuzz input as CI does. ASAN_OPTIONS still wins. */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
	return "detect_leaks=1:strict_string_checks=1";
}

static int fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = (uint8_t *)malloc(cap);
	size_t n;
	while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nb = (uint8_t *)realloc(buf, cap * 2);
			if (nb == NULL)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (buf == NULL || err) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(buf);
		return -1;
	}
	/* An exact-size copy, so ASan sees reads past the input's end. */
	uint8_t *in = (uint8_t *)malloc(len ? len : 1);
	if (in == NULL) {
		free(buf);
		return -1;
	}
	memcpy(in, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(in, len);
	free(in);
	return 0;
}

static int fuzz_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int fuzz_replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			char **nn = (char **)realloc(names, cap * sizeof *names);
			if (nn == NULL)
				abort();
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL)
			abort();
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, fuzz_cmp_names);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(dir) + strlen(names[i]) + 2;
		char *path = (char *)malloc(plen);
		if (path == NULL)
			abort();
		snprintf(path, plen, "%s/%s", dir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (fuzz_replay_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (fuzz_replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (fuzz_replay_file(argv[i]) != 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	printf("replayed %zu inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return rc;
}
