/* fuzz.h - helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * FUZZ_CHECK(cond, fmt, ...) reports a broken invariant and aborts, which libFuzzer
 * records as a crash (the input is saved). struct fuzz_in hands out pieces of the input:
 * fixed-size integers from its end, and NUL-terminated strings (cut at a separator byte)
 * from its start, so mutating one piece leaves the others mostly in place.
 * Nothing here keeps state between runs.
 */
#ifndef O2V_FUZZ_H
#define O2V_FUZZ_H

#include "../../common/o2v.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "../../common/fsutil.h"

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant '%s' broken: ", __FILE__, __LINE__,      \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* Integer from the input's end (0 when exhausted). */
static inline uint64_t fuzz_u64(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++)
		v = v << 8 | in->p[--in->n];
	return v;
}

static inline bool fuzz_bool(struct fuzz_in *in)
{
	return fuzz_u64(in, 1) & 1;
}

/* The next piece up to (not including) sep, or all the rest; a new NUL-terminated string
 * (len in *ret_len; it may contain NULs when sep is not 0). Never NULL (aborts on ENOMEM). */
static inline char *fuzz_str(struct fuzz_in *in, uint8_t sep, size_t *ret_len)
{
	const uint8_t *e = memchr(in->p, sep, in->n);
	size_t len = e ? (size_t)(e - in->p) : in->n;
	char *s = malloc(len + 1);

	FUZZ_CHECK(s, "out of memory");
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len + (e ? 1 : 0);
	in->n -= len + (e ? 1 : 0);
	if (ret_len)
		*ret_len = len;
	return s;
}

/* All of the rest as a NUL-terminated string. */
static inline char *fuzz_rest(struct fuzz_in *in, size_t *ret_len)
{
	char *s = malloc(in->n + 1);

	FUZZ_CHECK(s, "out of memory");
	memcpy(s, in->p, in->n);
	s[in->n] = '\0';
	if (ret_len)
		*ret_len = in->n;
	in->p += in->n;
	in->n = 0;
	return s;
}

/* A copy of data with a NUL appended. */
static inline char *fuzz_dup(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};

	return fuzz_rest(&in, NULL);
}

/* True when every byte of s is printable ASCII (what messages may show). */
static inline bool fuzz_no_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* A private directory for a harness's files, made once per process:
 * $TMPDIR (else /dev/shm, else /tmp)/o2v-fuzz-NAME.PID.XXXXXX. A process that crashed
 * cannot remove its own: directories of dead processes are removed here. */
static inline void fuzz_private_dir(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");
	char prefix[64];
	struct dirent *de;

	if (!base || !*base || strlen(base) > 150 || access(base, W_OK) < 0)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(prefix, sizeof(prefix), "o2v-fuzz-%s.", name);
	DIR *d = opendir(base);
	while (d && (de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		long pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (*end == '.' && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			char stale[512];
			snprintf(stale, sizeof(stale), "%s/%s", base, de->d_name);
			o2v_rm_rf(stale, NULL);
		}
	}
	if (d)
		closedir(d);
	snprintf(buf, size, "%s/%s%ld.XXXXXX", base, prefix, (long)getpid());
	FUZZ_CHECK(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

#endif
