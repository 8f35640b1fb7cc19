/* rt_cgroup.c - the engine's cgroup for the VM; see rt_cgroup.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "rt_cgroup.h"

#define MOUNTS_MAX 32

/* "a-b-c.slice" lives at "a.slice/a-b.slice/a-b-c.slice" (systemd's nesting). */
static int slice_path(const char *slice, size_t n, char *out, size_t size)
{
	size_t len = 0;

	if (n < 7 || memcmp(slice + n - 6, ".slice", 6))
		return -EINVAL;
	if (n == 7 && !memcmp(slice, "-.slice", 7))
		return 0; /* the root slice */
	for (size_t i = 0; i <= n - 6; i++) {
		if (i < n - 6 && slice[i] != '-')
			continue;
		int w = snprintf(out + len, size - len, "/%.*s.slice", (int)i, slice);
		if (w < 0 || (size_t)w >= size - len)
			return -ENAMETOOLONG;
		len += (size_t)w;
	}
	return (int)len;
}

int o2v_rt_cgroup_path(const char *spec, char out[O2V_CGROUP_PATH_MAX], struct o2v_error *err)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (strstr(spec, "..") || strchr(spec, '\n'))
		return o2v_error_set(err, -EINVAL, "cgroupsPath '%s' is not a plain path", spec);
	if (!c1) {
		if (snprintf(out, O2V_CGROUP_PATH_MAX, "%s%s", spec[0] == '/' ? "" : "/", spec) >=
		    O2V_CGROUP_PATH_MAX)
			return o2v_error_set(err, -ENAMETOOLONG, "cgroupsPath '%s' is too long",
					     spec);
		return 0;
	}
	if (!c2 || strchr(c2 + 1, ':') || strchr(spec, '/'))
		return o2v_error_set(
		    err, -EINVAL, "cgroupsPath '%s': expected a path or SLICE:PREFIX:NAME", spec);
	int n = c1 == spec ? snprintf(out, O2V_CGROUP_PATH_MAX, "/system.slice")
			   : slice_path(spec, (size_t)(c1 - spec), out, O2V_CGROUP_PATH_MAX);
	if (n < 0 || (size_t)n >= O2V_CGROUP_PATH_MAX ||
	    snprintf(out + n, O2V_CGROUP_PATH_MAX - (size_t)n, "/%.*s%s%s.scope",
		     (int)(c2 - c1 - 1), c1 + 1, c2 > c1 + 1 ? "-" : "",
		     c2 + 1) >= (int)(O2V_CGROUP_PATH_MAX - (size_t)n))
		return o2v_error_set(err, -EINVAL, "cgroupsPath '%s': not a systemd slice", spec);
	return 0;
}

/* Every cgroup hierarchy's mount point (v1 ones and the v2 one), from mountinfo. */
static size_t hierarchies(char mounts[MOUNTS_MAX][256], bool v2[MOUNTS_MAX])
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t n = 0;

	while (f && n < MOUNTS_MAX && fgets(line, sizeof(line), f)) {
		char point[256], type[32];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", point) != 1 ||
		    sscanf(sep + 3, "%31s", type) != 1)
			continue;
		if (strcmp(type, "cgroup") && strcmp(type, "cgroup2"))
			continue;
		v2[n] = !strcmp(type, "cgroup2");
		snprintf(mounts[n++], 256, "%s", point);
	}
	if (f)
		fclose(f);
	return n;
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[O2V_CGROUP_PATH_MAX + 512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || o2v_write_all(fd, text, strlen(text)) < 0)
		return -errno;
	return 0;
}

/* A new v1 cpuset cgroup takes no process until it has CPUs and memory nodes: each level
 * below mount down to path gets its parent's, where empty (as runc does). */
static void cpuset_fill(const char *mount, const char *path)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char dir[O2V_CGROUP_PATH_MAX + 256], parent[sizeof(dir)];
	size_t len = strlen(mount);

	snprintf(parent, sizeof(parent), "%s", mount);
	for (const char *p = path; *p;) {
		const char *next = strchr(p + 1, '/');
		size_t n = next ? (size_t)(next - path) : strlen(path);
		snprintf(dir, sizeof(dir), "%.*s%.*s", (int)len, mount, (int)n, path);
		for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
			char own[4096] = "", up[4096] = "", file[sizeof(dir) + 32];
			snprintf(file, sizeof(file), "%s/%s", dir, files[k]);
			FILE *f = fopen(file, "re");
			if (!f)
				return; /* not a cpuset hierarchy */
			if (!fgets(own, sizeof(own), f))
				own[0] = '\0';
			fclose(f);
			snprintf(file, sizeof(file), "%s/%s", parent, files[k]);
			if (own[0] && own[0] != '\n')
				continue;
			if ((f = fopen(file, "re")) && fgets(up, sizeof(up), f))
				write_text(dir, files[k], up);
			if (f)
				fclose(f);
		}
		snprintf(parent, sizeof(parent), "%s", dir);
		p = next ? next : path + strlen(path);
	}
}

/* v2: the controllers the engine's tools read (cpu, memory, pids) enabled in the
 * cgroup.subtree_control of every ancestor of path (the mount and each '/' prefix), where
 * that ancestor offers them, as runc does. An ancestor holding processes refuses: then the
 * statistics are what they are. */
static void v2_enable(const char *mount, const char *path)
{
	static const char *const wanted[] = {"cpu", "memory", "pids"};
	char dir[O2V_CGROUP_PATH_MAX + 256], file[sizeof(dir) + 32];

	for (size_t pos = 0; path[pos]; pos++) {
		if (path[pos] != '/')
			continue;
		char offered[512] = " ";
		snprintf(dir, sizeof(dir), "%s%.*s", mount, (int)pos, path);
		snprintf(file, sizeof(file), "%s/cgroup.controllers", dir);
		FILE *f = fopen(file, "re");
		if (f && !fgets(offered + 1, sizeof(offered) - 2, f))
			offered[1] = '\0';
		if (f)
			fclose(f);
		offered[strcspn(offered, "\n")] = '\0';
		strcat(offered, " ");
		for (size_t k = 0; k < ARRAY_SIZE(wanted); k++) {
			char needle[16], word[16];
			snprintf(needle, sizeof(needle), " %s ", wanted[k]);
			snprintf(word, sizeof(word), "+%s", wanted[k]);
			if (strstr(offered, needle))
				write_text(dir, "cgroup.subtree_control", word);
		}
	}
}

int o2v_rt_cgroup_enter(const char *path, int64_t quota, uint64_t period, struct o2v_error *err)
{
	char mounts[MOUNTS_MAX][256], dir[O2V_CGROUP_PATH_MAX + 256], pid[24], text[64];
	bool v2[MOUNTS_MAX];
	size_t n = hierarchies(mounts, v2), joined = 0;
	int r;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (size_t i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s%s", mounts[i], path);
		if ((r = o2v_mkdir_p(dir, 0755, NULL)) < 0)
			continue; /* a hierarchy we may not write (a named one, read-only) */
		if (!v2[i])
			cpuset_fill(mounts[i], path);
		else
			v2_enable(mounts[i], path);
		if (quota > 0 && period > 0) {
			if (v2[i])
				snprintf(text, sizeof(text), "%" PRId64 " %" PRIu64, quota, period);
			if (v2[i])
				write_text(dir, "cpu.max", text);
			else if (snprintf(text, sizeof(text), "%" PRIu64, period) > 0 &&
				 write_text(dir, "cpu.cfs_period_us", text) == 0 &&
				 snprintf(text, sizeof(text), "%" PRId64, quota) > 0)
				write_text(dir, "cpu.cfs_quota_us", text);
		}
		if ((r = write_text(dir, "cgroup.procs", pid)) < 0)
			return o2v_error_sys(err, r, "join the cgroup '%s'", dir);
		joined++;
	}
	if (!joined && n)
		return o2v_error_set(err, -EACCES, "cannot create the cgroup '%s' in any hierarchy",
				     path);
	return 0;
}

void o2v_rt_cgroup_kill(const char *path)
{
	char mounts[MOUNTS_MAX][256], file[O2V_CGROUP_PATH_MAX + 512];
	bool v2[MOUNTS_MAX];
	size_t n = hierarchies(mounts, v2);

	for (size_t i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s%s/cgroup.procs", mounts[i], path);
		FILE *f = fopen(file, "re");
		int pid;
		while (f && fscanf(f, "%d", &pid) == 1)
			if (pid > 1 && pid != getpid())
				kill(pid, SIGKILL);
		if (f)
			fclose(f);
	}
}

bool o2v_rt_cgroup_remove(const char *path)
{
	char mounts[MOUNTS_MAX][256], dir[O2V_CGROUP_PATH_MAX + 256];
	bool v2[MOUNTS_MAX], gone = true;
	size_t n = hierarchies(mounts, v2);

	for (size_t i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s%s", mounts[i], path);
		if (rmdir(dir) < 0 && errno != ENOENT)
			gone = false;
	}
	return gone;
}

/* The freezer's directory for path: the v1 freezer hierarchy, else the v2 one. */
static bool freezer(const char *path, char *dir, size_t size, bool *v2_ret)
{
	char mounts[MOUNTS_MAX][256];
	bool v2[MOUNTS_MAX];
	size_t n = hierarchies(mounts, v2);

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			char probe[O2V_CGROUP_PATH_MAX + 512];
			snprintf(dir, size, "%s%s", mounts[i], path);
			snprintf(probe, sizeof(probe), "%s/%s", dir,
				 pass ? "cgroup.freeze" : "freezer.state");
			if ((pass == 1) == v2[i] && access(probe, F_OK) == 0) {
				*v2_ret = v2[i];
				return true;
			}
		}
	return false;
}

static bool read_is(const char *dir, const char *file, const char *want)
{
	char path[O2V_CGROUP_PATH_MAX + 512], buf[64] = "";

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return !strcmp(buf, want);
}

/* v2's cgroup.events has the line want ("frozen 1"). */
static bool events_say(const char *dir, const char *want)
{
	char path[O2V_CGROUP_PATH_MAX + 512], buf[512] = "";

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strcmp(l, want))
			return true;
	return false;
}

bool o2v_rt_cgroup_frozen(const char *path)
{
	char dir[O2V_CGROUP_PATH_MAX + 256];
	bool v2;

	if (!freezer(path, dir, sizeof(dir), &v2))
		return false;
	return v2 ? read_is(dir, "cgroup.freeze", "1") : read_is(dir, "freezer.state", "FROZEN");
}

int o2v_rt_cgroup_freeze(const char *path, bool freeze, struct o2v_error *err)
{
	char dir[O2V_CGROUP_PATH_MAX + 256];
	const char *file, *text, *done;
	bool v2;
	int r;

	if (!freezer(path, dir, sizeof(dir), &v2))
		return o2v_error_set(err, -ENOTSUP, "the cgroup '%s' has no freezer", path);
	file = v2 ? "cgroup.freeze" : "freezer.state";
	text = v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
	if ((r = write_text(dir, file, text)) < 0)
		return o2v_error_sys(err, r, "write %s of '%s'", file, dir);
	/* v1 says FREEZING until every task stopped; v2's cgroup.events says frozen 1 */
	done = v2 ? (freeze ? "frozen 1" : "frozen 0") : text;
	for (int i = 0; i < 1000; i++) {
		if (v2 ? events_say(dir, done) : read_is(dir, "freezer.state", done))
			return 0;
		usleep(1000);
	}
	return o2v_error_set(err, -ETIMEDOUT, "the cgroup '%s' did not %s within 1 s", path,
			     freeze ? "freeze" : "thaw");
}
