/* rt_bundle.c - an OCI bundle's config.json; see rt_bundle.h. */
#include "../common/o2v.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "../common/caps.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/ulimit.h"
#include "../vm/vm.h"
#include "rt_bundle.h"
#include "rt_cgroup.h"

#define LIST_MAX 4096

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* An array's length; 0 for anything else (a malformed config must not trip json-c's
 * assertions). */
static size_t array_len(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A JSON array of strings (key absent: NULL, fine) into a NULL-terminated copy. */
static int get_strv(json_object *o, const char *key, char ***ret, struct o2v_error *err)
{
	json_object *a = get(o, key);
	size_t n;

	*ret = NULL;
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) > LIST_MAX)
		return o2v_error_set(err, -EINVAL, "config.json: '%s' is not a list of strings",
				     key);
	if (!(*ret = calloc(n + 1, sizeof(char *))))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(a, i);
		if (!json_object_is_type(s, json_type_string))
			return o2v_error_set(err, -EINVAL, "config.json: '%s' holds a non-string",
					     key);
		if (!((*ret)[i] = strdup(json_object_get_string(s))))
			return o2v_error_sys(err, -ENOMEM, "read config.json");
	}
	return 0;
}

static bool has_option(char *const *opts, const char *want)
{
	for (; opts && *opts; opts++)
		if (!strcmp(*opts, want))
			return true;
	return false;
}

/* Mounts init makes itself (bootstrap-init/mounts.c) whatever the config says. */
static bool init_mounts(const char *dest)
{
	static const char *const own[] = {"/proc",    "/sys",	     "/dev",	      "/dev/pts",
					  "/dev/shm", "/dev/mqueue", "/sys/fs/cgroup"};

	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		if (!strcmp(dest, own[i]))
			return true;
	return false;
}

/* What a tmpfs in the guest takes: not propagation (the VM has one mount namespace per
 * container anyway), podman's tmpcopyup, or access-time flags (containerd's strictatime). */
static bool tmpfs_option(const char *o)
{
	static const char *const dropped[] = {
	    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
	    "runbindable", "tmpcopyup", "notmpcopyup", "bind", "rbind",
	    /* access-time policies: the guest's tmpfs keeps relatime */
	    "strictatime", "nostrictatime", "relatime", "norelatime", "atime", "noatime",
	    "diratime", "nodiratime"};

	for (size_t i = 0; i < ARRAY_SIZE(dropped); i++)
		if (!strcmp(o, dropped[i]))
			return false;
	return true;
}

/* A pod's containers join the sandbox's UTS namespace instead of naming a hostname (CRI):
 * the engine's /etc/hostname says it. Its first line, if it is a plain host name. */
static int hostname_from(const char *path, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (o2v_read_file(path, 4096, &text, &len, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	size_t n = strlen(text);
	if (!n || n > 64 || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789.-") != n)
		return 0;
	return (*ret = strdup(text)) ? 0 : -ENOMEM;
}

static int load_mounts(struct o2v_bundle *b, json_object *mounts, struct o2v_error *err)
{
	size_t n = mounts && json_object_is_type(mounts, json_type_array)
		       ? json_object_array_length(mounts)
		       : 0;

	if (n > LIST_MAX)
		return o2v_error_set(err, -E2BIG, "config.json: more than %d mounts", LIST_MAX);
	if (!(b->binds = calloc(n + 1, sizeof(*b->binds))) ||
	    !(b->tmpfs = calloc(n + 1, sizeof(char *))))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	size_t n_tmpfs = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *dest = get_str(m, "destination"), *type = get_str(m, "type"),
			   *src = get_str(m, "source");
		_cleanup_strv_ char **opts = NULL;
		struct stat st;
		int r;
		if (!dest || dest[0] != '/')
			return o2v_error_set(
			    err, -EINVAL, "config.json: mount %zu has no absolute destination", i);
		if ((r = get_strv(m, "options", &opts, err)) < 0)
			return r;
		bool bind = has_option(opts, "bind") || has_option(opts, "rbind") ||
			    (type && !strcmp(type, "bind"));
		if (bind) {
			if (!src || src[0] != '/' || stat(src, &st) < 0)
				return o2v_error_set(err, -ENOENT,
						     "config.json: bind mount source '%s' for '%s' "
						     "does not exist",
						     src ? src : "", dest);
			if (!strcmp(dest, "/dev/shm")) {
				/* the engine's shm (a tmpfs it made): init mounts one of the
				 * same size in the guest, where shared memory is memory */
				struct statvfs vfs;
				if (statvfs(src, &vfs) == 0)
					b->shm_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
				continue;
			}
			if (!strcmp(dest, "/etc/hostname") && !b->hostname &&
			    hostname_from(src, &b->hostname) < 0)
				return o2v_error_sys(err, -ENOMEM, "read config.json");
			if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
				/* a socket or a device node means nothing across the VM
				 * boundary (see the README) */
				b->n_skipped++;
				continue;
			}
			struct o2v_bundle_bind *bb = &b->binds[b->n_binds];
			if (!(bb->source = strdup(src)) || !(bb->dest = strdup(dest)))
				return o2v_error_sys(err, -ENOMEM, "read config.json");
			bb->readonly = has_option(opts, "ro");
			b->n_binds++;
		} else if (type && !strcmp(type, "tmpfs") && !strcmp(dest, "/dev/shm")) {
			for (size_t k = 0; opts && opts[k]; k++) {
				unsigned long long v;
				char unit = 0;
				if (sscanf(opts[k], "size=%llu%c", &v, &unit) >= 1)
					b->shm_size = v << (unit == 'k'	  ? 10
							    : unit == 'm' ? 20
							    : unit == 'g' ? 30
									  : 0);
			}
		} else if (type && !strcmp(type, "tmpfs") && !init_mounts(dest)) {
			_cleanup_free_ char *joined = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&joined, &len);
			if (!f)
				return o2v_error_sys(err, -ENOMEM, "read config.json");
			fputs(dest, f);
			for (size_t k = 0, kept = 0; opts && opts[k]; k++)
				if (tmpfs_option(opts[k]))
					fprintf(f, "%c%s", kept++ ? ',' : ':', opts[k]);
			if (fclose(f) != 0)
				return o2v_error_sys(err, -ENOMEM, "read config.json");
			b->tmpfs[n_tmpfs++] = TAKE_PTR(joined);
		}
		/* proc, sysfs, devpts, mqueue, cgroup and the /dev tmpfs: init's own */
	}
	return 0;
}

static int load_process(struct o2v_bundle *b, json_object *p, struct o2v_error *err)
{
	json_object *user = get(p, "user"), *capobj = get(p, "capabilities"),
		    *caps = get(capobj, "bounding"), *rl = get(p, "rlimits");
	int r;

	if (!p)
		return o2v_error_set(err, -EINVAL, "config.json: no 'process'");
	json_object *um = get(user, "umask"), *oom = get(p, "oomScoreAdj");
	if (um) {
		int64_t v = json_object_get_int64(um);
		if (!json_object_is_type(um, json_type_int) || v < 0 || v > 0777)
			return o2v_error_set(err, -EINVAL,
					     "config.json: 'process.user.umask' must be 0-0777");
		b->umask_set = true;
		b->umask = (unsigned)v;
	}
	if (oom) {
		int64_t v = json_object_get_int64(oom);
		if (!json_object_is_type(oom, json_type_int) || v < -1000 || v > 1000)
			return o2v_error_set(
			    err, -EINVAL, "config.json: 'process.oomScoreAdj' must be -1000..1000");
		b->oom_set = true;
		b->oom_score_adj = (int)v;
	}
	if ((r = get_strv(p, "args", &b->args, err)) < 0 ||
	    (r = get_strv(p, "env", &b->env, err)) < 0)
		return r;
	if (!b->args || !b->args[0])
		return o2v_error_set(err, -EINVAL, "config.json: 'process.args' is empty");
	const char *cwd = get_str(p, "cwd");
	if (!cwd || cwd[0] != '/')
		return o2v_error_set(err, -EINVAL, "config.json: 'process.cwd' must be absolute");
	if (!(b->cwd = strdup(cwd)))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	int un = snprintf(b->user, sizeof(b->user), "%" PRId64 ":%" PRId64,
			  json_object_get_int64(get(user, "uid")),
			  json_object_get_int64(get(user, "gid")));
	json_object *extra = get(user, "additionalGids");
	for (size_t i = 0; i < array_len(extra); i++) {
		int64_t g = json_object_get_int64(json_object_array_get_idx(extra, i));
		if (un > 0 && (size_t)un < sizeof(b->user))
			un += snprintf(b->user + un, sizeof(b->user) - (size_t)un, "%c%" PRId64,
				       i ? ',' : ':', g);
	}
	if (un < 0 || (size_t)un >= sizeof(b->user))
		return o2v_error_set(err, -E2BIG, "config.json: too many additionalGids");
	b->terminal = json_object_get_boolean(get(p, "terminal"));
	json_object *size = get(p, "consoleSize");
	int64_t rows = json_object_get_int64(get(size, "height")),
		cols = json_object_get_int64(get(size, "width"));
	b->rows = rows > 0 && rows <= 65535 ? (unsigned)rows : 24;
	b->cols = cols > 0 && cols <= 65535 ? (unsigned)cols : 80;
	b->no_new_privs = json_object_get_boolean(get(p, "noNewPrivileges"));
	/* capabilities without a bounding list (podman's --cap-drop all): none at all */
	b->caps_set = capobj != NULL;
	if (caps) {
		_cleanup_strv_ char **names = NULL;
		json_object *holder = json_object_new_object();
		json_object_object_add(holder, "b", json_object_get(caps));
		r = get_strv(holder, "b", &names, err);
		json_object_put(holder);
		if (r < 0)
			return r;
		for (char **c = names; c && *c; c++) {
			int cap = o2v_cap_from_name(*c);
			if (cap < 0)
				return o2v_error_set(err, -EINVAL,
						     "config.json: unknown capability '%s'", *c);
			b->caps |= O2V_CAP(cap);
		}
	}
	size_t n = array_len(rl);
	if (n > 64)
		return o2v_error_set(err, -E2BIG, "config.json: too many rlimits");
	if (!(b->ulimits = calloc(n + 1, sizeof(char *))))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(rl, i);
		const char *type = get_str(l, "type");
		char spec[96], name[32], line[80];
		struct o2v_ulimit u;
		size_t k = 0;
		if (!type || strncmp(type, "RLIMIT_", 7))
			return o2v_error_set(err, -EINVAL, "config.json: rlimit %zu has no type",
					     i);
		for (const char *t = type + 7; *t && k < sizeof(name) - 1; t++)
			name[k++] = (char)tolower((unsigned char)*t);
		name[k] = '\0';
		snprintf(spec, sizeof(spec), "%s=%" PRIu64 ":%" PRIu64, name,
			 (uint64_t)json_object_get_int64(get(l, "soft")),
			 (uint64_t)json_object_get_int64(get(l, "hard")));
		if ((r = o2v_ulimit_parse(spec, &u, err)) < 0)
			return o2v_error_prefix(err, "config.json: %s", type);
		o2v_ulimit_format_line(&u, line);
		if (!(b->ulimits[i] = strdup(line)))
			return o2v_error_sys(err, -ENOMEM, "read config.json");
	}
	return 0;
}

/* Memory and vCPUs: the engine's limits, unless our annotations say otherwise. */
/* A file QEMU may read as root on a user's word (a pod's annotation): an absolute path to
 * a regular file that, like every directory above it, belongs to root and is writable by
 * nobody else, so no user can put their own there (sudo's rule for secure paths). */
static int trusted_file(const char *path, const char *what, struct o2v_error *err)
{
	char copy[PATH_MAX];
	struct stat st;

	if (path[0] != '/' || strlen(path) >= sizeof(copy) || strstr(path, "/.."))
		return o2v_error_set(err, -EINVAL, "%s '%s': expected an absolute path", what, path);
	if (stat(path, &st) < 0)
		return o2v_error_sys(err, -errno, "%s '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return o2v_error_set(err, -EINVAL, "%s '%s': not a regular file", what, path);
	snprintf(copy, sizeof(copy), "%s", path);
	for (;;) { /* the file, then each directory above it up to "/" */
		const char *p = copy[0] ? copy : "/";
		if (stat(p, &st) < 0)
			return o2v_error_sys(err, -errno, "%s '%s'", what, path);
		if (st.st_uid != 0 || (st.st_mode & 022))
			return o2v_error_set(err, -EPERM,
					     "%s '%s': '%s' must belong to root and be writable by "
					     "nobody else",
					     what, path, p);
		if (!copy[0])
			return 0;
		*strrchr(copy, '/') = '\0';
	}
}

static int load_resources(struct o2v_bundle *b, json_object *cfg, struct o2v_error *err)
{
	json_object *res = get(get(cfg, "linux"), "resources");
	json_object *ann = get(cfg, "annotations");
	int64_t limit = json_object_get_int64(get(get(res, "memory"), "limit"));
	int64_t quota = json_object_get_int64(get(get(res, "cpu"), "quota"));
	int64_t period = json_object_get_int64(get(get(res, "cpu"), "period"));
	const char *mem = get_str(ann, "org.oci2vm.memory"),
		   *cpus = get_str(ann, "org.oci2vm.cpus");

	if (limit > 0)
		b->memory_mib = (uint64_t)limit >> 20;
	if (quota > 0 && period > 0) {
		b->cpus = (unsigned)((quota + period - 1) / period);
		b->cpu_quota = quota;
		b->cpu_period = (uint64_t)period;
	}
	const char *kernel = get_str(ann, "org.oci2vm.kernel");
	int r;
	if (kernel && (r = trusted_file(kernel, "annotation org.oci2vm.kernel", err)) < 0)
		return r;
	if (kernel && !(b->kernel = strdup(kernel)))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	const char *share = get_str(ann, "org.oci2vm.share");
	if (share && strcmp(share, "9p") && strcmp(share, "virtiofs"))
		return o2v_error_set(err, -EINVAL,
				     "annotation org.oci2vm.share '%s': expected 9p or virtiofs",
				     share);
	if (share && !(b->share = strdup(share)))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	const char *cg = get_str(get(cfg, "linux"), "cgroupsPath");
	char path[O2V_CGROUP_PATH_MAX];
	if (cg && *cg) {
		if (o2v_rt_cgroup_path(cg, path, err) < 0)
			return o2v_error_prefix(err, "config.json");
		if (!(b->cgroup = strdup(path)))
			return o2v_error_sys(err, -ENOMEM, "read config.json");
	}
	if (mem) {
		char *end;
		unsigned long long v = strtoull(mem, &end, 10);
		if (end == mem || *end)
			return o2v_error_set(
			    err, -EINVAL, "annotation org.oci2vm.memory '%s': expected MiB", mem);
		b->memory_mib = v;
	}
	if (cpus) {
		char *end;
		unsigned long v = strtoul(cpus, &end, 10);
		if (end == cpus || *end || v == 0 || v > O2V_CPUS_MAX)
			return o2v_error_set(err, -EINVAL,
					     "annotation org.oci2vm.cpus '%s': expected 1-%d", cpus,
					     O2V_CPUS_MAX);
		b->cpus = (unsigned)v;
	}
	if (b->memory_mib && b->memory_mib < O2V_MEMORY_MIN_MIB)
		b->memory_mib = O2V_MEMORY_MIN_MIB; /* the VM's floor (documented) */
	if (b->cpus > O2V_CPUS_MAX)
		b->cpus = O2V_CPUS_MAX;
	return 0;
}

int o2v_bundle_load(struct o2v_bundle *b, const char *dir, struct o2v_error *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	json_object *cfg = NULL;
	struct stat st;
	size_t len;
	int r;

	memset(b, 0, sizeof(*b));
	if (!(b->dir = realpath(dir, NULL)))
		return o2v_error_sys(err, -errno, "bundle '%s'", dir);
	if (!(path = o2v_path_join(b->dir, "config.json")))
		return o2v_error_sys(err, -ENOMEM, "read config.json");
	if ((r = o2v_read_file(path, O2V_BUNDLE_CONFIG_MAX, &text, &len, err)) < 0)
		return r;
	enum json_tokener_error jerr;
	if (!(cfg = json_tokener_parse_verbose(text, &jerr)) ||
	    !json_object_is_type(cfg, json_type_object)) {
		json_object_put(cfg);
		return o2v_error_set(err, -EINVAL, "'%s' is not a JSON object (%s)", path,
				     json_tokener_error_desc(jerr));
	}
	const char *version = get_str(cfg, "ociVersion");
	if (!version || (strncmp(version, "1.0.", 4) && strncmp(version, "1.1.", 4))) {
		r = o2v_error_set(
		    err, -EINVAL,
		    "config.json: ociVersion '%s' is not supported (1.0.x and 1.1.x are)",
		    version ? version : "");
		goto out;
	}
	const char *root = get_str(get(cfg, "root"), "path");
	if (!root || !*root) {
		r = o2v_error_set(err, -EINVAL, "config.json: no 'root.path'");
		goto out;
	}
	b->rootfs = root[0] == '/' ? strdup(root) : o2v_path_join(b->dir, root);
	if (!b->rootfs) {
		r = o2v_error_sys(err, -ENOMEM, "read config.json");
		goto out;
	}
	if (stat(b->rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = o2v_error_set(err, -ENOENT, "the bundle's rootfs '%s' is not a directory",
				  b->rootfs);
		goto out;
	}
	b->readonly = json_object_get_boolean(get(get(cfg, "root"), "readonly"));
	const char *host = get_str(cfg, "hostname");
	if (host && !(b->hostname = strdup(host))) {
		r = o2v_error_sys(err, -ENOMEM, "read config.json");
		goto out;
	}
	json_object *ann = get(cfg, "annotations");
	b->annotations =
	    strdup(ann ? json_object_to_json_string_ext(ann, JSON_C_TO_STRING_PLAIN) : "{}");
	json_object *hk = get(cfg, "hooks");
	if (hk &&
	    !(b->hooks = strdup(json_object_to_json_string_ext(hk, JSON_C_TO_STRING_PLAIN)))) {
		r = o2v_error_sys(err, -ENOMEM, "read config.json");
		goto out;
	}
	/* The guest masks Docker's /proc and /sys paths itself (what podman and Docker list);
	 * a config with neither list (--privileged, unmask=ALL) gets them all unmasked. */
	json_object *masked = get(get(cfg, "linux"), "maskedPaths"),
		    *ro = get(get(cfg, "linux"), "readonlyPaths");
	b->proc_unconfined = !array_len(masked) && !array_len(ro);
	json_object *ns = get(get(cfg, "linux"), "namespaces");
	for (size_t i = 0; i < array_len(ns); i++) {
		json_object *n = json_object_array_get_idx(ns, i);
		const char *type = get_str(n, "type"), *p = get_str(n, "path");
		if (type && !strcmp(type, "network") && p && *p) {
			if (stat(p, &st) < 0) {
				r = o2v_error_set(err, -ENOENT,
						  "the network namespace '%s' does not exist", p);
				goto out;
			}
			b->netns = strdup(p);
		} else if (type && !strcmp(type, "network")) {
			b->netns_new = true;
		}
	}
	if ((r = load_process(b, get(cfg, "process"), err)) < 0 ||
	    (r = load_mounts(b, get(cfg, "mounts"), err)) < 0 ||
	    (r = load_resources(b, cfg, err)) < 0)
		goto out;
	r = b->annotations ? 0 : o2v_error_sys(err, -ENOMEM, "read config.json");
out:
	json_object_put(cfg);
	return r;
}

int o2v_bundle_load_process(struct o2v_bundle *b, const char *file, struct o2v_error *err)
{
	_cleanup_free_ char *text = NULL;
	json_object *p;
	size_t len;
	int r;

	memset(b, 0, sizeof(*b));
	if ((r = o2v_read_file(file, O2V_BUNDLE_CONFIG_MAX, &text, &len, err)) < 0)
		return r;
	if (!(p = json_tokener_parse(text)) || !json_object_is_type(p, json_type_object)) {
		json_object_put(p);
		return o2v_error_set(err, -EINVAL, "'%s' is not a JSON object", file);
	}
	r = load_process(b, p, err);
	json_object_put(p);
	return r < 0 ? o2v_error_prefix(err, "'%s'", file) : 0;
}

void o2v_bundle_release(struct o2v_bundle *b)
{
	free(b->dir);
	free(b->rootfs);
	o2v_strv_free(b->args);
	o2v_strv_free(b->env);
	free(b->cwd);
	o2v_strv_free(b->ulimits);
	free(b->hostname);
	for (size_t i = 0; b->binds && i < b->n_binds; i++) {
		free(b->binds[i].source);
		free(b->binds[i].dest);
	}
	free(b->binds);
	o2v_strv_free(b->tmpfs);
	free(b->annotations);
	free(b->hooks);
	free(b->netns);
	free(b->cgroup);
	free(b->share);
	free(b->kernel);
	memset(b, 0, sizeof(*b));
}
