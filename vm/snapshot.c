/* snapshot.c - pre-booted VMs in the cache; see snapshot.h. */
#include "../common/o2v.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "../common/clock.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../rootfs/hash.h"
#include "qmp.h"
#include "snapshot.h"

#define SCHEME		"oci2vm snapshot 2\n" /* a new layout or protocol: a new key */
#define META_MAX	8192
#define QMP_TIMEOUT_MS	30000
#define MIGRATE_POLL_US 1000
#define FDNAME		"o2v-snapshot"
/* The RAM travels as its file, never in the saved state (QEMU 7.2 takes this capability
 * only over QMP, on both sides). */
#define IGNORE_SHARED                                                                              \
	"{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"               \
	"[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}"

/* The files of a snapshot, in meta's order; meta and uses come with them. */
enum { F_STATE, F_INITRD, F_RAM, F_COUNT };
static const char *const file_names[F_COUNT] = {"state", "initrd", "ram"};
static const char *const all_files[] = {"state", "initrd", "ram", "meta", "uses"};

/* ---- the key ---- */

/* "input PATH SIZE SECONDS NANOSECONDS" of a file the snapshot depends on. */
static int put_identity(FILE *f, const char *path)
{
	struct stat st;

	if (!path || strchr(path, '\n') || strchr(path, ' ') || stat(path, &st) < 0)
		return -EINVAL;
	fprintf(f, "input %s %" PRIu64 " %" PRId64 " %ld\n", path, (uint64_t)st.st_size,
		(int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return 0;
}

/* QEMU's argv with everything that belongs to one run rather than to the shape replaced
 * by placeholders; the argv builder then names every shape-defining flag itself. */
static int put_shape(FILE *f, const struct o2v_vm_spec *spec)
{
	struct o2v_vm_spec c = *spec;
	struct o2v_vm_volume vols[64];
	_cleanup_strv_ char **argv = NULL;
	struct o2v_error err;

	if (spec->r.n_volumes > ARRAY_SIZE(vols))
		return -E2BIG;
	for (size_t i = 0; i < spec->r.n_volumes; i++)
		vols[i] = (struct o2v_vm_volume){.host = "V", .model = O2V_9P_MAPPED_XATTR};
	c.r.volumes = vols;
	c.r.kernel = "K";
	c.r.initrd = "I";
	c.r.disk = spec->r.disk ? "D" : NULL;
	c.r.disk_format = NULL;
	c.r.disk_snapshot = false;
	c.r.net = spec->r.net || spec->r.n_ports; /* hostfwd rules are not saved */
	c.r.ports = NULL;
	c.r.n_ports = 0;
	c.r.incoming = NULL;
	c.r.qemu_args = NULL;
	c.console_sock = "C";
	c.serial_sock = spec->serial_sock ? "S" : NULL;
	c.status_sock = "T";
	c.control_path = "L";
	c.stdout_sock = spec->stdout_sock ? "O" : NULL;
	c.stderr_sock = spec->stderr_sock ? "E" : NULL;
	c.exec_sock = spec->exec_sock ? "X" : NULL;
	c.qmp_sock = NULL;
	c.ram_file = "M";
	c.ram_shared = false;
	if (o2v_qemu_argv(&c, &argv, &err) < 0)
		return -EINVAL;
	for (char **a = argv; *a; a++)
		fprintf(f, "arg %s\n", *a);
	return 0;
}

/* The identities (meta's part, for prune) and the key over them and the shape. */
static int make_key(struct o2v_snapshot *s, const struct o2v_vm_spec *spec, char *const *inputs)
{
	char initrd_hash[O2V_SHA256_HEX], key[O2V_SHA256_HEX];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s->identity, &len);
	int r = 0;

	if (!f)
		return -ENOMEM;
	if (put_identity(f, spec->qemu) < 0 || put_identity(f, spec->r.kernel) < 0)
		r = -EINVAL;
	for (char *const *i = inputs; i && *i && r == 0; i++)
		r = put_identity(f, *i);
	if (fclose(f) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	if (o2v_sha256_file(spec->r.initrd, initrd_hash, NULL) < 0)
		return -EINVAL;
	if (!(f = open_memstream(&text, &len)))
		return -ENOMEM;
	fputs(SCHEME, f);
	fputs(s->identity, f);
	fprintf(f, "initrd %s\n", initrd_hash);
	r = put_shape(f, spec);
	if (fclose(f) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	struct o2v_sha256 *h = o2v_sha256_new();
	if (!h)
		return -ENOMEM;
	o2v_sha256_update(h, text, len);
	o2v_sha256_final(h, key);
	key[32] = '\0'; /* 128 bits name a shape well enough, and keep paths short */
	s->key = strdup(key);
	return s->key ? 0 : -ENOMEM;
}

/* ---- meta and checks ---- */

struct meta {
	uint64_t size[F_COUNT];
	int64_t sec[F_COUNT], nsec[F_COUNT];
	char sha256[O2V_SHA256_HEX]; /* hash_snapshot() */
};

static int read_meta(int dfd, struct meta *m, char **ret_text)
{
	_cleanup_close_ int fd = openat(dfd, "meta", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[META_MAX + 1];
	const char *p = buf;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM;
	if ((n = read(fd, buf, META_MAX)) <= 0)
		return -EBADMSG;
	buf[n] = '\0';
	for (int i = 0; i < F_COUNT; i++) {
		char name[16];
		int used = 0;
		if (sscanf(p, "file %15s %" SCNu64 " %" SCNd64 " %" SCNd64 "\n%n", name,
			   &m->size[i], &m->sec[i], &m->nsec[i], &used) != 4 ||
		    !used || strcmp(name, file_names[i]))
			return -EBADMSG;
		p += used;
	}
	if (sscanf(p, "sha256 %64[0-9a-f]\n", m->sha256) != 1)
		return -EBADMSG;
	if (ret_text && !(*ret_text = strdup(buf)))
		return -ENOMEM;
	return 0;
}

/* name in dfd, opened if it is ours, private, and of the size and mtime meta says: the fd,
 * or why not (a sentence in why). */
static int open_checked(int dfd, const char *name, uint64_t size, int64_t sec, int64_t nsec,
			char *why, size_t why_size)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		snprintf(why, why_size, "its %s is missing", name);
		return -ENOENT;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		snprintf(why, why_size, "its %s is not a private file of this user", name);
	else if ((uint64_t)st.st_size != size)
		snprintf(why, why_size, "its %s has %" PRIu64 " bytes, not %" PRIu64, name,
			 (uint64_t)st.st_size, size);
	else if (st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec)
		snprintf(why, why_size, "its %s was modified after it was saved", name);
	else
		return fd;
	close(fd);
	return -EBADMSG;
}

/* RESTORE if s->dir holds a valid snapshot; 0 when there is none, -EBADMSG (why says
 * what) when there is a damaged one. */
static int try_restore(struct o2v_snapshot *s, char *why, size_t why_size)
{
	_cleanup_close_ int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct meta m;
	int fd = -1, r;

	if (dfd < 0)
		return 0;
	if ((r = read_meta(dfd, &m, NULL)) < 0) {
		snprintf(why, why_size, "its meta file is %s",
			 r == -ENOENT ? "missing" : "unreadable or not private");
		return -EBADMSG;
	}
	for (int i = F_COUNT - 1; i >= 0; i--) {
		if ((fd = open_checked(dfd, file_names[i], m.size[i], m.sec[i], m.nsec[i], why,
				       why_size)) < 0)
			return -EBADMSG;
		if (i != F_STATE)
			close(fd);
	}
	free(s->initrd);
	free(s->ram);
	s->initrd = s->ram = NULL;
	if (asprintf(&s->initrd, "%s/initrd", s->dir) < 0 ||
	    asprintf(&s->ram, "%s/ram", s->dir) < 0) {
		close(fd);
		return 0;
	}
	o2v_closep(&s->state_fd);
	s->state_fd = fd;
	s->mode = O2V_SNAPSHOT_RESTORE;
	/* The hit counter; its mtime is the last use (eviction order). A read-only cache
	 * still restores. */
	_cleanup_close_ int ufd =
	    openat(dfd, "uses", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ufd >= 0 && write(ufd, "+", 1) < 0)
		s->uses_unrecorded = true;
	return 1;
}

/* A snapshot directory (or one being made): its known files, then itself. */
static void remove_dir(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(all_files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, all_files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int take_lock(struct o2v_snapshot *s)
{
	_cleanup_free_ char *path = NULL;

	if (s->lock_fd >= 0)
		return 0;
	if (asprintf(&path, "%s/%s.lock", s->root, s->key) < 0)
		return -ENOMEM;
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return -errno;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		o2v_closep(&s->lock_fd);
		return -e;
	}
	return 0;
}

/* MAKE: a fresh ROOT/.make-KEY-PID for the VM's RAM file and saved state. */
static int begin_make(struct o2v_snapshot *s)
{
	free(s->make_dir);
	free(s->make_ram);
	s->make_ram = NULL;
	if (asprintf(&s->make_dir, "%s/.make-%s-%d", s->root, s->key, (int)getpid()) < 0) {
		s->make_dir = NULL;
		return -ENOMEM;
	}
	remove_dir(s->make_dir);
	if (mkdir(s->make_dir, 0700) < 0)
		return -errno;
	if (asprintf(&s->make_ram, "%s/ram", s->make_dir) < 0) {
		s->make_ram = NULL;
		return -ENOMEM;
	}
	/* Private from the start: QEMU sizes the file it finds, and would create it 0644. */
	int fd = open(s->make_ram, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	s->mode = O2V_SNAPSHOT_MAKE;
	return 0;
}

void o2v_snapshot_prepare(struct o2v_snapshot *s, const char *root, const struct o2v_vm_spec *spec,
			  char *const *inputs, char *warning, size_t warning_size)
{
	char why[256] = "";
	struct o2v_error err;
	int r;

	*s = (struct o2v_snapshot){.lock_fd = -1, .state_fd = -1};
	warning[0] = '\0';
	if (!(s->root = strdup(root)) || !(s->template_initrd = strdup(spec->r.initrd)))
		return;
	if ((r = make_key(s, spec, inputs)) < 0) {
		snprintf(
		    warning, warning_size,
		    "no snapshot for this VM: its QEMU, kernel or init cannot be identified (%s)",
		    strerror(-r));
		return;
	}
	if (asprintf(&s->dir, "%s/%s", root, s->key) < 0) {
		s->dir = NULL;
		return;
	}
	if ((r = try_restore(s, why, sizeof(why))) > 0)
		return;
	bool damaged = r < 0;
	if ((r = o2v_mkdir_p(root, 0700, &err)) < 0 || (r = take_lock(s)) < 0) {
		if (r == -EWOULDBLOCK)
			return; /* another run is making it: boot cold this once */
		snprintf(warning, warning_size,
			 "snapshots are off: cannot write in '%s' (%s); booting cold", root,
			 strerror(-r));
		return;
	}
	/* Made by another run while we waited for the lock? */
	why[0] = '\0';
	if ((r = try_restore(s, why, sizeof(why))) > 0) {
		o2v_closep(&s->lock_fd);
		return;
	}
	if (damaged || r < 0) {
		snprintf(warning, warning_size,
			 "the snapshot of this VM's shape is damaged (%s): booting cold and saving "
			 "a new one",
			 why);
		remove_dir(s->dir);
	}
	if ((r = begin_make(s)) < 0) {
		snprintf(warning, warning_size,
			 "snapshots are off: cannot write in '%s' (%s); booting cold", root,
			 strerror(-r));
		s->mode = O2V_SNAPSHOT_NONE;
		o2v_closep(&s->lock_fd);
	}
}

bool o2v_snapshot_reload(struct o2v_snapshot *s)
{
	char why[256];

	s->mode = O2V_SNAPSHOT_NONE;
	return s->dir && try_restore(s, why, sizeof(why)) > 0;
}

void o2v_snapshot_discard(struct o2v_snapshot *s, bool remake)
{
	o2v_closep(&s->state_fd);
	s->mode = O2V_SNAPSHOT_NONE;
	if (!s->dir || take_lock(s) < 0)
		return;
	remove_dir(s->dir);
	if (!remake || begin_make(s) < 0) {
		s->mode = O2V_SNAPSHOT_NONE;
		o2v_closep(&s->lock_fd);
	}
}

/* ---- saving ---- */

/* Save the running VM into fd; the VM then ends (quit: its RAM file is the snapshot's
 * and must not change), or goes on if the save failed. */
static int migrate(const char *qmp_sock, int fd, bool *quit, struct o2v_error *err)
{
	struct o2v_qmp q = {.fd = -1};
	int r;

	*quit = false;
	if ((r = o2v_qmp_open(&q, qmp_sock, QMP_TIMEOUT_MS, err)) < 0)
		return r;
	unlink(qmp_sock); /* ours alone: nobody else reaches this VM's monitor */
	r = o2v_qmp_call(&q, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"" FDNAME "\"}}",
			 fd, NULL, err);
	if (r == 0)
		r = o2v_qmp_call(&q, IGNORE_SHARED, -1, NULL, err);
	if (r == 0)
		r = o2v_qmp_call(
		    &q, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:" FDNAME "\"}}", -1,
		    NULL, err);
	while (r == 0) {
		json_object *info = NULL, *status = NULL;
		if ((r = o2v_qmp_call(&q, "{\"execute\":\"query-migrate\"}", -1, &info, err)) < 0)
			break;
		const char *st = json_object_object_get_ex(info, "status", &status)
				     ? json_object_get_string(status)
				     : "";
		bool done = !strcmp(st, "completed"),
		     failed = !strcmp(st, "failed") || !strcmp(st, "cancelled");
		json_object_put(info);
		if (done)
			break;
		if (failed)
			r = o2v_error_set(err, -EIO, "QEMU could not save the VM");
		else
			usleep(MIGRATE_POLL_US);
	}
	struct o2v_error ignored;
	if (r == 0) {
		/* QEMU may be gone before its answer: the supervisor sees it exit. */
		o2v_qmp_call(&q, "{\"execute\":\"quit\"}", -1, NULL, &ignored);
		*quit = true;
	} else {
		o2v_qmp_call(&q, "{\"execute\":\"cont\"}", -1, NULL, &ignored);
	}
	o2v_qmp_close(&q);
	return r;
}

/* sha256 over the state file, then over ram's data extents (offset, length, bytes):
 * ram is a sparse file the size of the VM's memory with ~25 MB of data. */
static int hash_snapshot(const char *dir, char hex[O2V_SHA256_HEX])
{
	struct o2v_sha256 *h = o2v_sha256_new();
	char path[PATH_MAX], *buf = malloc(1 << 16);
	int r = 0;

	if (!h || !buf) {
		o2v_sha256_free(h);
		free(buf);
		return -ENOMEM;
	}
	for (int i = 0; i < 2 && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, i ? "ram" : "state");
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		off_t data = 0, hole;
		if (fd < 0) {
			r = -errno;
			break;
		}
		while ((data = lseek(fd, data, SEEK_DATA)) >= 0) {
			if ((hole = lseek(fd, data, SEEK_HOLE)) < 0) {
				r = -errno;
				break;
			}
			uint64_t span[2] = {(uint64_t)data, (uint64_t)(hole - data)};
			o2v_sha256_update(h, span, sizeof(span));
			for (off_t at = data; at < hole && r == 0;) {
				size_t want =
				    hole - at < (1 << 16) ? (size_t)(hole - at) : (1 << 16);
				ssize_t n = pread(fd, buf, want, at);
				if (n <= 0)
					r = n < 0 ? -errno : -EIO;
				else
					o2v_sha256_update(h, buf, (size_t)n), at += n;
			}
			data = hole;
		}
		if (r == 0 && errno != ENXIO)
			r = -errno;
	}
	free(buf);
	if (r < 0) {
		o2v_sha256_free(h);
		return r;
	}
	o2v_sha256_final(h, hex);
	return 0;
}

static int copy_file(const char *from, int to_fd)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;
	int r;

	if (in < 0)
		return -errno;
	while ((n = O2V_RETRY(read(in, buf, sizeof(buf)))) > 0)
		if ((r = o2v_write_all(to_fd, buf, (size_t)n)) < 0)
			return r;
	return n < 0 ? -errno : 0;
}

static uint64_t dir_bytes(const char *dir, int64_t *last_use)
{
	uint64_t total = 0;
	char path[PATH_MAX];
	struct stat st;

	*last_use = 0;
	for (size_t i = 0; i < ARRAY_SIZE(all_files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, all_files[i]);
		if (lstat(path, &st) == 0) {
			total += (uint64_t)st.st_blocks * 512; /* ram is sparse */
			if (st.st_mtim.tv_sec > *last_use)
				*last_use = st.st_mtim.tv_sec;
		}
	}
	return total;
}

static uint64_t cap_bytes(void)
{
	const char *v = getenv(O2V_SNAPSHOT_CAP_ENV);
	char *end;
	unsigned long long mb;

	if (!v || !*v)
		return O2V_SNAPSHOT_CAP_DEFAULT;
	errno = 0;
	mb = strtoull(v, &end, 10);
	return errno || *end ? O2V_SNAPSHOT_CAP_DEFAULT : (uint64_t)mb << 20;
}

/* Over the cap: the least recently used go, never keep's. */
static void evict(const char *root, const char *keep)
{
	uint64_t cap = cap_bytes();

	for (;;) {
		DIR *d = opendir(root);
		struct dirent *de;
		uint64_t total = 0;
		int64_t oldest = INT64_MAX;
		char victim[NAME_MAX + 1] = "", dir[PATH_MAX];

		if (!d)
			return;
		while ((de = readdir(d))) {
			int64_t used;
			if (de->d_name[0] == '.' || de->d_type != DT_DIR)
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
			total += dir_bytes(dir, &used);
			if (strcmp(de->d_name, keep) && used < oldest) {
				oldest = used;
				snprintf(victim, sizeof(victim), "%s", de->d_name);
			}
		}
		closedir(d);
		if (total <= cap || !victim[0])
			return;
		snprintf(dir, sizeof(dir), "%s/%s", root, victim);
		remove_dir(dir);
	}
}

/* The made files under their key: meta (sizes, mtimes, hash, identities), then the rename.
 */
static int publish(struct o2v_snapshot *s, struct o2v_error *err)
{
	char path[PATH_MAX], hash[O2V_SHA256_HEX];
	struct stat st[F_COUNT];
	FILE *f;
	int r, fd;

	for (int i = 0; i < F_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", s->make_dir, file_names[i]);
		if (stat(path, &st[i]) < 0)
			return o2v_error_sys(err, -errno, "'%s'", path);
	}
	if (st[F_STATE].st_size == 0)
		return o2v_error_set(err, -EIO, "QEMU saved nothing");
	if ((r = hash_snapshot(s->make_dir, hash)) < 0)
		return o2v_error_sys(err, r, "hash the snapshot");
	snprintf(path, sizeof(path), "%s/meta", s->make_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    !(f = fdopen(fd, "w"))) {
		r = o2v_error_sys(err, -errno, "write '%s'", path);
		if (fd >= 0)
			close(fd);
		return r;
	}
	for (int i = 0; i < F_COUNT; i++)
		fprintf(f, "file %s %" PRIu64 " %" PRId64 " %ld\n", file_names[i],
			(uint64_t)st[i].st_size, (int64_t)st[i].st_mtim.tv_sec,
			st[i].st_mtim.tv_nsec);
	fprintf(f, "sha256 %s\n%s", hash, s->identity);
	if (fclose(f) != 0)
		return o2v_error_sys(err, -EIO, "write '%s'", path);
	remove_dir(s->dir); /* a damaged one we replace */
	if (rename(s->make_dir, s->dir) < 0)
		return o2v_error_sys(err, -errno, "publish the snapshot '%s'", s->dir);
	evict(s->root, s->key);
	return 0;
}

int o2v_snapshot_save(struct o2v_snapshot *s, const char *qmp_sock, bool *ended,
		      struct o2v_error *err)
{
	char path[PATH_MAX];
	_cleanup_close_ int ifd = -1, fd = -1;
	int r;

	*ended = false;
	if (s->mode != O2V_SNAPSHOT_MAKE)
		return 0;
	snprintf(path, sizeof(path), "%s/initrd", s->make_dir);
	ifd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ifd < 0 || (r = copy_file(s->template_initrd, ifd)) < 0) {
		r = o2v_error_sys(err, ifd < 0 ? -errno : r, "keep the initrd with the snapshot");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/state", s->make_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		r = o2v_error_sys(err, -errno, "create '%s'", path);
		goto out;
	}
	if ((r = migrate(qmp_sock, fd, ended, err)) == 0)
		r = publish(s, err);
out:
	/* published (renamed away), or failed: what is left of the making goes */
	remove_dir(s->make_dir);
	s->mode = O2V_SNAPSHOT_NONE;
	o2v_closep(&s->lock_fd);
	return r;
}

/* The virtual size of the drive "root" (the root disk, qemu_argv.c); 0: there is none. */
static int root_disk_size(struct o2v_qmp *q, uint64_t *ret, struct o2v_error *err)
{
	json_object *list = NULL;
	int r;

	*ret = 0;
	if ((r = o2v_qmp_call(q, "{\"execute\":\"query-block\"}", -1, &list, err)) < 0)
		return r;
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *b = json_object_array_get_idx(list, i), *dev, *ins, *img, *size;
		const char *name = json_object_object_get_ex(b, "device", &dev)
				       ? json_object_get_string(dev)
				       : NULL;
		if (name && !strcmp(name, "root") &&
		    json_object_object_get_ex(b, "inserted", &ins) &&
		    json_object_object_get_ex(ins, "image", &img) &&
		    json_object_object_get_ex(img, "virtual-size", &size))
			*ret = (uint64_t)json_object_get_int64(size);
	}
	json_object_put(list);
	return 0;
}

int o2v_snapshot_incoming(const struct o2v_snapshot *s, const char *qmp_sock,
			  uint64_t *disk_sectors, struct o2v_error *err)
{
	struct o2v_qmp q = {.fd = -1};
	char cmd[160];
	uint64_t size = 0;
	int r;

	*disk_sectors = 0;
	if ((r = o2v_qmp_open(&q, qmp_sock, QMP_TIMEOUT_MS, err)) < 0)
		return r;
	unlink(qmp_sock); /* ours alone: nobody else reaches this VM's monitor */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:%d\"}}",
		 s->state_fd);
	if ((r = o2v_qmp_call(&q, IGNORE_SHARED, -1, NULL, err)) == 0)
		r = o2v_qmp_call(&q, cmd, -1, NULL, err);
	/* Loaded and running: "resize" the root disk to its own size, so that the guest's
	 * driver learns the size of this disk rather than the saved one's (resume.c). */
	if (r == 0)
		r = o2v_qmp_wait_event(&q, "RESUME", err);
	if (r == 0)
		r = root_disk_size(&q, &size, err);
	if (r == 0 && size) {
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"root\","
			 "\"size\":%" PRIu64 "}}",
			 size);
		if ((r = o2v_qmp_call(&q, cmd, -1, NULL, err)) == 0)
			*disk_sectors = size / 512;
	}
	o2v_qmp_close(&q);
	return r;
}

void o2v_snapshot_release(struct o2v_snapshot *s)
{
	if (s->make_dir)
		remove_dir(s->make_dir);
	o2v_closep(&s->state_fd);
	o2v_closep(&s->lock_fd);
	free(s->root);
	free(s->key);
	free(s->dir);
	free(s->identity);
	free(s->initrd);
	free(s->ram);
	free(s->template_initrd);
	free(s->make_dir);
	free(s->make_ram);
	*s = (struct o2v_snapshot){.lock_fd = -1, .state_fd = -1};
}

/* ---- prune ---- */

/* Every "input PATH SIZE S NS" line of meta still describes its file. */
static bool inputs_unchanged(const char *meta)
{
	for (const char *l = meta; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char path[PATH_MAX];
		uint64_t size;
		int64_t sec, nsec;
		struct stat st;
		if (strncmp(l, "input ", 6))
			continue;
		if (sscanf(l, "input %4095s %" SCNu64 " %" SCNd64 " %" SCNd64, path, &size, &sec,
			   &nsec) != 4 ||
		    stat(path, &st) < 0 || (uint64_t)st.st_size != size ||
		    st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec)
			return false;
	}
	return true;
}

static bool still_good(const char *dir)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	char hash[O2V_SHA256_HEX], why[256];
	struct meta m;

	if (dfd < 0 || read_meta(dfd, &m, &text) < 0 || !inputs_unchanged(text))
		return false;
	for (int i = 0; i < F_COUNT; i++) {
		int fd = open_checked(dfd, file_names[i], m.size[i], m.sec[i], m.nsec[i], why,
				      sizeof(why));
		if (fd < 0)
			return false;
		close(fd);
	}
	return hash_snapshot(dir, hash) == 0 && !strcmp(hash, m.sha256);
}

int o2v_snapshot_prune(const char *root, bool all, unsigned *removed, uint64_t *freed,
		       struct o2v_error *err)
{
	DIR *d = opendir(root);
	struct dirent *de;

	*removed = 0;
	*freed = 0;
	if (!d)
		return errno == ENOENT ? 0 : o2v_error_sys(err, -errno, "open '%s'", root);
	while ((de = readdir(d))) {
		char path[PATH_MAX], key[33] = "", lock[PATH_MAX];
		int64_t used;
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if (de->d_name[0] != '.') {
			if (!all && still_good(path))
				continue;
		} else if (sscanf(de->d_name, ".make-%32[0-9a-f]", key) == 1) {
			/* a save that was cut off: its maker holds the key's lock while alive */
			snprintf(lock, sizeof(lock), "%s/%s.lock", root, key);
			_cleanup_close_ int lfd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
			if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0)
				continue;
		} else {
			continue;
		}
		*freed += dir_bytes(path, &used);
		remove_dir(path);
		if (de->d_name[0] != '.')
			(*removed)++;
	}
	closedir(d);
	return 0;
}
