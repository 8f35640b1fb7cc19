/* runtime.c - oci2vm-runtime: runc's command line, one microVM per container.
 *
 * The `oci2vm` binary run under the name `oci2vm-runtime` (an installed symlink, as crun is
 * `krun`) speaks the OCI runtime command line the way podman's conmon and containerd's runc
 * v2 shim call it:
 *
 *   create --bundle DIR --pid-file FILE ID   the VM boots with the bundle's rootfs as its
 *            root (9p, real ownership) and init holds the workload (docs/vm-contract.md,
 *            `hold`); create returns once init reports `held`. The pid file names the VM's
 *            supervisor, a child that create leaves behind: its parent (conmon, the shim,
 *            both sub-reapers) inherits it, it lives as long as the container, its stdio
 *            are create's (the container's), and it exits with the workload's status.
 *   start ID       `start` on the control port.
 *   state ID       JSON: ociVersion, id, status (created, running, stopped), pid, bundle,
 *                  annotations.
 *   kill ID SIG    the signal to the workload through init (a number or a name).
 *   exec --process FILE [--detach] [--pid-file FILE] ID   a process in the running VM
 *                  (its exec port, as `oci2vm exec`), relayed by a child that exits with
 *                  its status.
 *   delete [--force] ID, ps --format json ID, features, --version.
 *
 * State lives in ROOT/ID (--root; default /run/oci2vm-runtime, or
 * $XDG_RUNTIME_DIR/oci2vm-runtime for other users): the VM's own files (vm/layout.h) and
 * `record` (bundle, supervisor pid and start time, creation time), `started`, `exit`.
 * Errors go to stderr and, with --log FILE, to that file (--log-format json: runc's
 * {"level":"error","msg":...,"time":...} lines, which containerd shows the user).
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/fsutil.h"
#include "../common/muxproto.h"
#include "../common/paths.h"
#include "../common/runbuild.h"
#include "../common/strv.h"
#include "../registry/digest.h"
#include "../rootfs/initrd.h"
#include "../vm/host.h"
#include "../vm/layout.h"
#include "../vm/supervise.h"
#include "../vm/vm.h"
#include "assets.h"
#include "commands.h"
#include "rt_bundle.h"
#include "rt_cgroup.h"
#include "rt_hooks.h"
#include "rt_vm.h"
#include "values.h"

#ifndef O2V_VERSION
#define O2V_VERSION "0.0.0-unknown"
#endif
#define OCI_VERSION    "1.1.0"
#define ID_MAX	       1024
#define DELETE_WAIT_MS 10000
#define START_WAIT_MS  30000
#define HELD_WAIT_MS   60000
/* ROOT/HASH/execport.sock, the longest of the VM's socket paths, must fit sun_path. */
#define ROOT_MAX (108 - 1 - 32 - 1 - 13 - 1)

struct rt {
	char *root;
	const char *log;
	bool json;
};

/* ---- messages ---- */

O2V_PRINTF(2, 3) static int rt_fail(const struct rt *g, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "oci2vm-runtime: error: %s\n", msg);
	if (g && g->log) {
		FILE *f = fopen(g->log, "ae");
		char when[64];
		time_t now = time(NULL);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
		if (f && g->json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "level", json_object_new_string("error"));
			json_object_object_add(o, "msg", json_object_new_string(msg));
			json_object_object_add(o, "time", json_object_new_string(when));
			fprintf(f, "%s\n",
				json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else if (f) {
			/* logfmt, as runc writes it: a quoted value, so no config.json string
			 * can end the line or forge another */
			fprintf(f, "time=\"%s\" level=error msg=\"", when);
			for (const char *p = msg; *p; p++)
				fprintf(f, *p == '"' || *p == '\\' ? "\\%c"
					   : (unsigned char)*p < 0x20 ? "\\x%02x"
								      : "%c",
					(unsigned char)*p);
			fprintf(f, "\"\n");
		}
		if (f)
			fclose(f);
	}
	return 1;
}

/* ---- the state directory ---- */

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *p = id; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		      ('0' <= *p && *p <= '9') || strchr("_+-.", *p)))
			return false;
	return true;
}

struct record {
	char bundle[4096];
	pid_t pid;		  /* the supervisor */
	unsigned long long start; /* its start time (/proc/PID/stat), against pid reuse */
	long long created;
};

static int read_record(const char *dir, struct record *rec)
{
	_cleanup_free_ char *path = o2v_path_join(dir, "record"), *text = NULL;
	size_t len;

	memset(rec, 0, sizeof(*rec));
	if (!path || o2v_read_file(path, 8192, &text, &len, NULL) < 0)
		return -ENOENT;
	int pid = 0;
	if (sscanf(text, "bundle %4095[^\n]\npid %d %llu\ncreated %lld\n", rec->bundle, &pid,
		   &rec->start, &rec->created) != 4)
		return -EBADMSG;
	rec->pid = pid;
	return 0;
}

static unsigned long long proc_start(pid_t pid, char *state)
{
	char path[64], buf[1024];
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
	if (!p || sscanf(p + 2,
			 "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 state, &start) != 2)
		return 0;
	return start;
}

/* The supervisor runs (and is not a zombie waiting for its parent). */
static bool alive(const struct record *rec)
{
	char st = 0;

	return rec->pid > 0 && proc_start(rec->pid, &st) == rec->start && st != 'Z' && st != 'X';
}

/* A file of the state directory (annotations, hooks, cgroup), or NULL. */
static char *state_file(const char *dir, const char *name)
{
	_cleanup_free_ char *path = o2v_path_join(dir, name);
	char *text = NULL;
	size_t len;

	if (!path || o2v_read_file(path, 4 * 1024 * 1024, &text, &len, NULL) < 0)
		return NULL;
	return text;
}

static const char *status_of(const char *dir, const struct record *rec)
{
	_cleanup_free_ char *started = o2v_path_join(dir, "started"),
			    *held = o2v_path_join(dir, "held");

	_cleanup_free_ char *cg = state_file(dir, "cgroup");

	if (!alive(rec))
		return "stopped";
	if (cg && o2v_rt_cgroup_frozen(cg))
		return "paused";
	if (started && access(started, F_OK) == 0)
		return "running";
	return held && access(held, F_OK) == 0 ? "created" : "creating";
}

/* ROOT/HASH: the first 128 bits of the id's sha256, so the VM's socket paths fit sun_path
 * (108 bytes) for ids of any length (Docker's are 64 characters; see ROOT_MAX). */
static char *container_dir(const struct rt *g, const char *id)
{
	char digest[O2V_DIGEST_MAX], name[33];

	if (!id_ok(id) || o2v_digest_buf(id, strlen(id), NULL, digest, NULL) < 0)
		return NULL;
	snprintf(name, sizeof(name), "%s", o2v_digest_hex(digest));
	return o2v_path_join(g->root, name);
}

/* ID's directory and record, or an error as runc words it. */
static int load(const struct rt *g, const char *id, char **ret_dir, struct record *rec)
{
	_cleanup_free_ char *dir = container_dir(g, id);

	if (!dir)
		return rt_fail(g, "invalid container id '%s'", id);
	if (read_record(dir, rec) < 0)
		return rt_fail(g, "container '%s' does not exist", id);
	*ret_dir = TAKE_PTR(dir);
	return 0;
}


/* The runtime specification's state of a container, as JSON (state, and hooks' stdin). */
static char *state_text(const char *id, const char *dir, const struct record *rec,
			const char *status, bool pretty)
{
	_cleanup_free_ char *ann = state_file(dir, "annotations");
	json_object *o = json_object_new_object(), *a = ann ? json_tokener_parse(ann) : NULL;
	char *text;

	json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "pid",
			       json_object_new_int(strcmp(status, "stopped") ? rec->pid : 0));
	json_object_object_add(o, "bundle", json_object_new_string(rec->bundle));
	json_object_object_add(o, "annotations", a ? a : json_object_new_object());
	text = strdup(json_object_to_json_string_ext(o, pretty ? JSON_C_TO_STRING_PRETTY
							       : JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

/* The hooks of kind for container id; an error in err. */
static int hooks(const char *id, const char *dir, const struct record *rec, const char *status,
		 const char *kind, struct o2v_error *err)
{
	_cleanup_free_ char *h = state_file(dir, "hooks"), *state = NULL;

	if (!h)
		return 0;
	if (!(state = state_text(id, dir, rec, status, false)))
		return o2v_error_sys(err, -ENOMEM, "run the %s hooks", kind);
	return o2v_rt_hooks_run(h, kind, state, err);
}

/* ---- a terminal for the engine (--console-socket) ---- */

/* A pty whose master goes to the engine over the console socket (SCM_RIGHTS, as runc
 * sends it) and whose slave becomes the caller's controlling terminal: the VM's relay
 * (vm/relay.c) puts it in raw mode and follows its size (SIGWINCH when the engine resizes
 * the master). The slave, or a negative errno. */
static int console_setup(const char *socket_path, unsigned rows, unsigned cols,
			 struct o2v_error *err)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), sock = -1;
	char name[128] = "";
	int slave, r;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		return o2v_error_sys(err, -errno, "open a terminal for the container");
	if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return o2v_error_sys(err, -errno, "open '%s'", name);
	ioctl(slave, TIOCSWINSZ, &ws);
	if ((sock = o2v_unix_connect(socket_path)) < 0) {
		close(slave);
		return o2v_error_sys(err, sock, "connect to the console socket '%s'", socket_path);
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(slave);
		return o2v_error_sys(err, r, "send the terminal to '%s'", socket_path);
	}
	return slave;
}

/* In a child that relays a terminal (create's supervisor, exec's relay): a pty from
 * console_setup() whose slave becomes its stdio and controlling terminal. */
static int console_attach(const char *socket_path, unsigned rows, unsigned cols,
			  struct o2v_error *err)
{
	int slave = console_setup(socket_path, rows, cols, err);

	if (slave < 0)
		return slave;
	setsid();
	ioctl(slave, TIOCSCTTY, 0);
	for (int fd = 0; fd < 3; fd++)
		dup2(slave, fd);
	if (slave > 2)
		close(slave);
	return 0;
}

/* process.terminal and --console-socket come together (runc's rule); else release b. */
static int check_console(const struct rt *g, struct o2v_bundle *b, const char *console)
{
	if (b->terminal == !!console)
		return 0;
	bool terminal = b->terminal;
	o2v_bundle_release(b);
	return rt_fail(g, terminal ? "process.terminal needs --console-socket"
				   : "--console-socket without process.terminal");
}

/* The pid an engine waits on: a bare number (containerd's shim refuses a newline). */
static int write_pid_file(const char *path, pid_t pid, struct o2v_error *err)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%d", (int)pid);

	return path ? o2v_write_file_atomic(path, text, (size_t)n, 0644, err) : 0;
}

/* ---- create ---- */

static int save_state_file(const char *dir, const char *name, const char *text,
			   struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_path_join(dir, name);

	if (!path)
		return o2v_error_sys(err, -ENOMEM, "write '%s'", name);
	return o2v_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int write_record(const char *dir, const char *bundle, pid_t pid, unsigned long long start)
{
	_cleanup_free_ char *path = o2v_path_join(dir, "record"), *text = NULL;
	int n = asprintf(&text, "bundle %s\npid %d %llu\ncreated %lld\n", bundle, (int)pid, start,
			 (long long)time(NULL));

	if (!path || n < 0)
		return -ENOMEM;
	return o2v_write_file_atomic(path, text, (size_t)n, 0600, NULL);
}

/* The engine's cgroup, once the VM's processes are gone: QEMU and virtiofsd end just after
 * their supervisor (PR_SET_PDEATHSIG); whatever is still there is killed, as runc does. */
static void remove_cgroup(const char *dir)
{
	_cleanup_free_ char *cg = state_file(dir, "cgroup");

	for (int waited = 0; cg && !o2v_rt_cgroup_remove(cg) && waited < DELETE_WAIT_MS;
	     waited += 10) {
		o2v_rt_cgroup_kill(cg);
		usleep(10000);
	}
}

/* What the supervisor says on create's pipe: the byte want ('N', 'H'), or 'E' and why.
 * want 'H' reads to the end (the supervisor closes its end once held), for at most
 * HELD_WAIT_MS: a VM that hangs while booting must not hang the engine. */
static int hear(int fd, char want, struct o2v_error *err)
{
	int64_t deadline = o2v_now_ms() + HELD_WAIT_MS;
	char buf[O2V_ERROR_MAX];
	ssize_t n = 0, got = 0;

	while (got < (ssize_t)sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - o2v_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return o2v_error_set(err, -ETIMEDOUT, "the VM did not start within %d s",
					     HELD_WAIT_MS / 1000);
		/* 'N' is one byte and more follows later; 'E' and 'H' run to the end */
		size_t room = want == 'N' && !got ? 1 : sizeof(buf) - 1 - (size_t)got;
		if ((n = O2V_RETRY(read(fd, buf + got, room))) <= 0)
			break;
		got += n;
		if (want == 'N' && buf[0] == 'N')
			break;
	}
	buf[got] = '\0';
	if (got >= 1 && buf[0] == want)
		return 0;
	return o2v_error_set(err, -EIO, "the VM did not start: %s",
			     got > 1 && buf[0] == 'E' ? buf + 1 : "its supervisor ended");
}

static int rt_create(const struct rt *g, int argc, char **argv)
{
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"pid-file", required_argument, NULL, 'p'},
					     {"console-socket", required_argument, NULL, 'c'},
					     {"no-pivot", no_argument, NULL, 'P'},
					     {"no-new-keyring", no_argument, NULL, 'K'},
					     {"preserve-fds", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	const char *bundle_dir = ".", *pid_file = NULL, *console = NULL;
	_cleanup_free_ char *dir = NULL, *kernel = NULL, *init = NULL, *held = NULL;
	struct o2v_bundle b;
	struct o2v_error err = {0};
	int c, notify[2] = {-1, -1}, go[2] = {-1, -1}, r;
	pid_t pid = -1;

	/* a supervisor that dies while we write 'G' must be an error, not our death */
	signal(SIGPIPE, SIG_IGN);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
		if (c == 'b')
			bundle_dir = optarg;
		else if (c == 'p')
			pid_file = optarg;
		else if (c == 'c')
			console = optarg;
		else if (c == 'f' && strcmp(optarg, "0"))
			return rt_fail(g,
				       "create: --preserve-fds %s: file descriptors cannot be passed "
				       "into a VM",
				       optarg);
		else if (c == '?' || c == ':')
			return rt_fail(g, "create: bad option '%s'", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return rt_fail(g, "create: expected one container id");
	const char *id = argv[optind];
	if (!(dir = container_dir(g, id)))
		return rt_fail(g, "invalid container id '%s'", id);
	if ((r = o2v_bundle_load(&b, bundle_dir, &err)) < 0) {
		o2v_bundle_release(&b);
		return rt_fail(g, "%s", err.msg);
	}
	if (check_console(g, &b, console))
		return 1;
	if ((r = o2v_mkdir_p(g->root, 0700, &err)) < 0) {
		o2v_bundle_release(&b);
		return rt_fail(g, "%s", err.msg);
	}
	if (mkdir(dir, 0700) < 0) {
		o2v_bundle_release(&b);
		return errno == EEXIST ? rt_fail(g, "container '%s' already exists", id)
				       : rt_fail(g, "create '%s': %s", dir, strerror(errno));
	}
	if ((r = o2v_kernel_find(b.kernel, &kernel, &err)) < 0 ||
	    (r = o2v_find_init(&init, &err)) < 0 ||
	    (r = save_state_file(dir, "id", id, &err)) < 0 ||
	    (r = save_state_file(dir, "annotations", b.annotations, &err)) < 0 ||
	    (b.hooks && (r = save_state_file(dir, "hooks", b.hooks, &err)) < 0) ||
	    (b.cgroup && (r = save_state_file(dir, "cgroup", b.cgroup, &err)) < 0) ||
	    !(held = o2v_path_join(dir, "held")) || pipe2(notify, O_CLOEXEC) < 0 ||
	    pipe2(go, O_CLOEXEC) < 0) {
		if (!err.msg[0])
			o2v_error_sys(&err, -errno, "prepare the VM");
		goto fail;
	}
	if ((pid = fork()) < 0) {
		o2v_error_sys(&err, -errno, "fork the VM's supervisor");
		goto fail;
	}
	if (pid == 0) {
		close(notify[0]);
		close(go[1]);
		if (console && console_attach(console, b.rows, b.cols, &err) < 0) {
			o2v_write_all(notify[1], "E", 1);
			o2v_write_all(notify[1], err.msg, strlen(err.msg));
			_exit(125);
		}
		/* Nothing of the engine's but stdio (the shim leaks its socket as fd 3). */
		for (int i = 3; i < 1024; i++)
			if (i != notify[1] && i != go[0])
				close(i);
		struct o2v_rt_vm v = {.bundle = &b,
				      .dir = dir,
				      .kernel = kernel,
				      .init = init,
				      .notify = notify[1],
				      .go = go[0]};
		o2v_rt_vm_supervise(&v);
	}
	o2v_closep(&notify[1]);
	o2v_closep(&go[0]);
	if (hear(notify[0], 'N', &err) < 0)
		goto fail_supervisor;
	/* The supervisor is in the container's network namespace, the VM not yet made: the
	 * hooks of creation, in the specification's order (prestart is createRuntime's
	 * deprecated twin), with its pid, as runc runs them once its namespaces exist. Docker's
	 * prestart hook puts the container's interface into that namespace now. */
	char state;
	struct record rec = {.pid = pid, .start = proc_start(pid, &state)};
	snprintf(rec.bundle, sizeof(rec.bundle), "%s", b.dir);
	if (write_record(dir, b.dir, pid, rec.start) < 0) {
		o2v_error_sys(&err, -EIO, "write the container's record");
		goto fail_supervisor;
	}
	static const char *const create_hooks[] = {"prestart", "createRuntime", "createContainer"};
	for (size_t k = 0; k < ARRAY_SIZE(create_hooks); k++)
		if (hooks(id, dir, &rec, "creating", create_hooks[k], &err) < 0)
			goto fail_supervisor;
	if (o2v_write_all(go[1], "G", 1) < 0) {
		o2v_error_sys(&err, -EIO, "start the VM");
		goto fail_supervisor;
	}
	o2v_closep(&go[1]);
	if (hear(notify[0], 'H', &err) < 0)
		goto fail_supervisor;
	o2v_closep(&notify[0]);
	if (o2v_write_file_atomic(held, "", 0, 0600, &err) < 0 ||
	    write_pid_file(pid_file, pid, &err) < 0)
		goto fail_supervisor;
	o2v_bundle_release(&b);
	return 0;
fail_supervisor: /* QEMU dies with it (PR_SET_PDEATHSIG) */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	remove_cgroup(dir);
fail:
	o2v_closep(&notify[0]);
	o2v_closep(&notify[1]);
	o2v_closep(&go[0]);
	o2v_closep(&go[1]);
	o2v_bundle_release(&b);
	o2v_rm_rf(dir, NULL);
	return rt_fail(g, "%s", err.msg);
}

/* ---- the other commands ---- */

static int one_id(const struct rt *g, const char *cmd, int argc, char **argv, bool *force)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
					     {"all", no_argument, NULL, 'a'},
					     {"format", required_argument, NULL, 'F'},
					     {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+faF:", opts, NULL)) != -1) {
		if (c == 'f' && force)
			*force = true;
		else if (c == '?' || c == ':')
			return -rt_fail(g, "%s: bad option '%s'", cmd, argv[optind - 1]);
	}
	return optind < argc ? optind : -rt_fail(g, "%s: expected a container id", cmd);
}

static int rt_start(const struct rt *g, int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL;
	struct record rec;
	struct o2v_error err = {0};
	int i = one_id(g, "start", argc, argv, NULL);

	if (i < 0 || load(g, argv[i], &dir, &rec))
		return 1;
	if (strcmp(status_of(dir, &rec), "created"))
		return rt_fail(g, "container '%s' is not created (it is %s)", argv[i],
			       status_of(dir, &rec));
	if (hooks(argv[i], dir, &rec, "created", "startContainer", &err) < 0) {
		kill(rec.pid, SIGKILL); /* the specification: stop the container */
		return rt_fail(g, "%s", err.msg);
	}
	struct o2v_ctl_msg m = {.kind = O2V_CTL_START};
	if (o2v_vm_send(dir, &m, &err) < 0)
		return rt_fail(g, "%s", err.msg);
	/* As runc: start returns once the workload runs (an exec right after must find it
	 * running), or has already ended. */
	for (int waited = 0; waited < START_WAIT_MS; waited += 5) {
		if (strcmp(status_of(dir, &rec), "created")) {
			if (hooks(argv[i], dir, &rec, "running", "poststart", &err) < 0)
				fprintf(stderr, "oci2vm-runtime: warning: %s\n", err.msg);
			return 0;
		}
		usleep(5000);
	}
	return rt_fail(g, "container '%s' did not start within %d s", argv[i],
		       START_WAIT_MS / 1000);
}

/* pause ID, resume ID: freeze or thaw the VM's cgroup, as runc does the container's. */
static int rt_freeze(const struct rt *g, int argc, char **argv, bool freeze)
{
	const char *cmd = freeze ? "pause" : "resume";
	_cleanup_free_ char *dir = NULL, *cg = NULL;
	struct o2v_error err = {0};
	struct record rec;
	int i = one_id(g, cmd, argc, argv, NULL);

	if (i < 0 || load(g, argv[i], &dir, &rec))
		return 1;
	const char *status = status_of(dir, &rec);
	if (strcmp(status, freeze ? "running" : "paused") &&
	    (!freeze || strcmp(status, "created")))
		return rt_fail(g, "container '%s' is %s, not %s", argv[i], status,
			       freeze ? "running" : "paused");
	if (!(cg = state_file(dir, "cgroup")))
		return rt_fail(g, "container '%s' has no cgroup (config.json's linux.cgroupsPath) "
				  "to %s",
			       argv[i], cmd);
	if (o2v_rt_cgroup_freeze(cg, freeze, &err) < 0)
		return rt_fail(g, "%s", err.msg);
	return 0;
}

static int rt_state(const struct rt *g, int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL, *text = NULL;
	struct record rec;
	int i = one_id(g, "state", argc, argv, NULL);

	if (i < 0 || load(g, argv[i], &dir, &rec))
		return 1;
	if (!(text = state_text(argv[i], dir, &rec, status_of(dir, &rec), true)))
		return rt_fail(g, "out of memory");
	printf("%s\n", text);
	return 0;
}

static int rt_kill(const struct rt *g, int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL;
	struct record rec;
	struct o2v_error err = {0};
	int i = one_id(g, "kill", argc, argv, NULL), sig = SIGTERM;

	if (i < 0 || load(g, argv[i], &dir, &rec))
		return 1;
	if (i + 1 < argc && o2v_parse_signal(argv[i + 1], &sig, &err) < 0)
		return rt_fail(g, "%s", err.msg);
	if (!alive(&rec))
		/* runc's words: containerd's shim takes them as "already gone" */
		return rt_fail(g, "container not running: '%s'", argv[i]);
	_cleanup_free_ char *cg = state_file(dir, "cgroup");
	if (sig == SIGKILL && cg && o2v_rt_cgroup_frozen(cg)) {
		/* a frozen VM reads no control message: end it from outside, then thaw so
		 * the kill is delivered (as runc does) */
		kill(rec.pid, SIGKILL);
		o2v_rt_cgroup_freeze(cg, false, NULL);
		return 0;
	}
	struct o2v_ctl_msg m = {.kind = O2V_CTL_SIGNAL, .a = (uint64_t)sig};
	if (o2v_vm_send(dir, &m, &err) < 0) {
		/* init does not answer: KILL ends the VM from outside */
		if (sig == SIGKILL && kill(rec.pid, SIGKILL) == 0)
			return 0;
		return rt_fail(g, "%s", err.msg);
	}
	return 0;
}

static int rt_delete(const struct rt *g, int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL;
	struct record rec;
	bool force = false;
	int i = one_id(g, "delete", argc, argv, &force);

	if (i < 0)
		return 1;
	if (!(dir = container_dir(g, argv[i])))
		return rt_fail(g, "invalid container id '%s'", argv[i]);
	if (read_record(dir, &rec) < 0) {
		if (access(dir, F_OK) == 0) { /* a create that was cut off */
			remove_cgroup(dir);
			return o2v_rm_rf(dir, NULL) < 0;
		}
		return force ? 0 : rt_fail(g, "container '%s' does not exist", argv[i]);
	}
	if (alive(&rec)) {
		const char *status = status_of(dir, &rec);
		if (!force && strcmp(status, "created"))
			return rt_fail(g, "cannot delete container '%s' that is %s (use --force)",
				       argv[i], status);
		/* QEMU dies with its supervisor (PR_SET_PDEATHSIG); a frozen one only once
		 * thawed */
		_cleanup_free_ char *cg = state_file(dir, "cgroup");
		kill(rec.pid, SIGKILL);
		if (cg && o2v_rt_cgroup_frozen(cg))
			o2v_rt_cgroup_freeze(cg, false, NULL);
		for (int waited = 0; alive(&rec) && waited < DELETE_WAIT_MS; waited += 10)
			usleep(10000);
	}
	struct o2v_error err = {0};
	_cleanup_free_ char *h = state_file(dir, "hooks"),
			    *state = h ? state_text(argv[i], dir, &rec, "stopped", false) : NULL;
	remove_cgroup(dir);
	if (o2v_rm_rf(dir, &err) < 0)
		return rt_fail(g, "%s", err.msg);
	if (h && state && o2v_rt_hooks_run(h, "poststop", state, &err) < 0)
		fprintf(stderr, "oci2vm-runtime: warning: %s\n", err.msg);
	return 0;
}

/* exec --process FILE [--detach] [--pid-file FILE] ID: the process runs in the VM through
 * its exec port (vm/exec.c, as `oci2vm exec`); here a child of ours relays its stdio and
 * exits with its status, so the engine waits on that child (the pid file names it). */
static int rt_exec(const struct rt *g, int argc, char **argv)
{
	static const struct option opts[] = {{"process", required_argument, NULL, 'p'},
					     {"pid-file", required_argument, NULL, 'P'},
					     {"detach", no_argument, NULL, 'd'},
					     {"tty", no_argument, NULL, 't'},
					     {"console-socket", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	const char *process = NULL, *pid_file = NULL, *console = NULL;
	_cleanup_free_ char *dir = NULL;
	bool detach = false;
	struct o2v_bundle b;
	struct o2v_error err = {0};
	struct record rec;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:dt", opts, NULL)) != -1) {
		if (c == 'p')
			process = optarg;
		else if (c == 'P')
			pid_file = optarg;
		else if (c == 'd')
			detach = true;
		else if (c == 'c')
			console = optarg;
		else if (c == 't')
			; /* process.terminal says it */
		else
			return rt_fail(g, "exec: bad option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return rt_fail(g, "exec: expected a container id");
	if (load(g, argv[optind], &dir, &rec))
		return 1;
	if (strcmp(status_of(dir, &rec), "running"))
		return rt_fail(g, "container '%s' is not running", argv[optind]);
	if (!process)
		return rt_fail(g, "exec: --process FILE is required");
	if (o2v_bundle_load_process(&b, process, &err) < 0) {
		o2v_bundle_release(&b);
		return rt_fail(g, "%s", err.msg);
	}
	if (check_console(g, &b, console))
		return 1;
	struct o2v_mux_exec req = {.user = b.user,
				   .workdir = b.cwd,
				   .stdin_open = true,
				   .tty = b.terminal,
				   .rows = b.rows,
				   .cols = b.cols};
	for (size_t i = 0; b.args[i] && i < O2V_MUX_ARGS_MAX; i++)
		req.argv[i] = b.args[i];
	/* process.env is the whole environment: it replaces the container's entries */
	for (size_t i = 0; b.env && b.env[i] && i < O2V_MUX_ENV_MAX; i++)
		req.env[i] = b.env[i];
	pid_t pid = fork();
	if (pid < 0) {
		o2v_bundle_release(&b);
		return rt_fail(g, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		if (console && console_attach(console, b.rows, b.cols, &err) < 0) {
			fprintf(stderr, "oci2vm-runtime: error: %s\n", err.msg);
			_exit(125);
		}
		struct o2v_exec_io io = {
		    .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO};
		struct o2v_exec_result res;
		if (o2v_vm_exec(dir, &req, &io, &res, &err) < 0) {
			fprintf(stderr, "oci2vm-runtime: error: %s\n", err.msg);
			_exit(125);
		}
		if (res.message[0])
			fprintf(stderr, "oci2vm-runtime: %s\n", res.message);
		_exit(res.code);
	}
	o2v_bundle_release(&b);
	if (write_pid_file(pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return rt_fail(g, "%s", err.msg);
	}
	if (detach)
		return 0; /* the engine reaps it: a sub-reaper, it inherits it */
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The supervisor and QEMU (its child), as runc's `ps --format json` lists pids. */
static int rt_ps(const struct rt *g, int argc, char **argv)
{
	_cleanup_free_ char *dir = NULL;
	struct record rec;
	int i = one_id(g, "ps", argc, argv, NULL);

	if (i < 0 || load(g, argv[i], &dir, &rec))
		return 1;
	json_object *a = json_object_new_array();
	if (alive(&rec)) {
		char path[64], buf[4096];
		json_object_array_add(a, json_object_new_int(rec.pid));
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)rec.pid,
			 (int)rec.pid);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
			json_object_array_add(a, json_object_new_int(atoi(tok)));
	}
	printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return 0;
}

static int rt_features(void)
{
	printf("{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"%s\",\"hooks\":[\"prestart\","
	       "\"createRuntime\",\"createContainer\",\"startContainer\",\"poststart\","
	       "\"poststop\"],"
	       "\"mountOptions\":[\"bind\",\"rbind\",\"ro\",\"rw\"],"
	       "\"linux\":{\"namespaces\":[\"network\"],\"capabilities\":[]},"
	       "\"annotations\":{\"org.oci2vm.memory\":\"MiB\",\"org.oci2vm.cpus\":\"N\"}}\n",
	       OCI_VERSION);
	return 0;
}

/* ---- a pod's sandbox: runc's ----
 *
 * Kubernetes (containerd's CRI) starts a sandbox container per pod that only holds its
 * namespaces; the pod's containers join them. A VM for it would take the network
 * namespace's interface the application's VM needs (one VM per namespace), so the
 * sandbox runs as runc runs it, with runc's state under ROOT/runc, and every later
 * command for its id goes to runc too. */
#define SANDBOX_TYPE_CRI  "io.kubernetes.cri.container-type"
#define SANDBOX_TYPE_CRIO "io.kubernetes.cri-o.ContainerType"

static bool is_sandbox(const char *bundle_dir)
{
	_cleanup_free_ char *path = o2v_path_join(bundle_dir, "config.json"), *text = NULL;
	json_object *cfg, *ann, *v;
	size_t len;
	bool sandbox = false;

	if (!path || o2v_read_file(path, O2V_BUNDLE_CONFIG_MAX, &text, &len, NULL) < 0 ||
	    !(cfg = json_tokener_parse(text)))
		return false;
	/* podman's pods: an infra container whose one process is catatonit pausing (-P), or
	 * Kubernetes' pause image; nothing else runs there */
	json_object *proc, *args;
	if (json_object_object_get_ex(cfg, "process", &proc) &&
	    json_object_object_get_ex(proc, "args", &args) &&
	    json_object_is_type(args, json_type_array)) {
		size_t n = json_object_array_length(args);
		const char *a0 =
		    n ? json_object_get_string(json_object_array_get_idx(args, 0)) : "";
		const char *a1 =
		    n > 1 ? json_object_get_string(json_object_array_get_idx(args, 1)) : "";
		if ((n == 2 && a0 && a1 && !strcmp(a0, "/catatonit") && !strcmp(a1, "-P")) ||
		    (n == 1 && a0 && !strcmp(a0, "/pause")))
			sandbox = true;
	}
	if (json_object_object_get_ex(cfg, "annotations", &ann))
		for (const char *const *k =
			 (const char *const[]){SANDBOX_TYPE_CRI, SANDBOX_TYPE_CRIO, NULL};
		     *k; k++)
			if (json_object_object_get_ex(ann, *k, &v) &&
			    !strcmp(json_object_get_string(v) ?: "", "sandbox"))
				sandbox = true;
	json_object_put(cfg);
	return sandbox;
}

/* This command is runc's: a create of a sandbox, or anything for an id runc holds. */
static bool delegated(const struct rt *g, const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "create")) {
		const char *bundle = ".";
		for (int i = 1; i + 1 < argc; i++)
			if (!strcmp(argv[i], "--bundle") || !strcmp(argv[i], "-b"))
				bundle = argv[i + 1];
		for (int i = 1; i < argc; i++)
			if (!strncmp(argv[i], "--bundle=", 9))
				bundle = argv[i] + 9;
		return is_sandbox(bundle);
	}
	_cleanup_free_ char *runc_root = o2v_path_join(g->root, "runc");
	for (int i = 1; runc_root && i < argc; i++) {
		if (argv[i][0] == '-' || !id_ok(argv[i]))
			continue;
		_cleanup_free_ char *dir = o2v_path_join(runc_root, argv[i]);
		if (dir && access(dir, F_OK) == 0)
			return true;
	}
	return false;
}

static int delegate(const struct rt *g, int argc, char **argv)
{
	_cleanup_free_ char *runc = o2v_find_in_path("runc"),
			    *runc_root = o2v_path_join(g->root, "runc");
	char **args = calloc((size_t)argc + 8, sizeof(char *));
	int n = 0;

	if (!runc || !runc_root || !args) {
		free(args);
		return rt_fail(g, "a pod's sandbox container runs under runc, which is not "
				  "installed (apt-get install runc)");
	}
	args[n++] = runc;
	args[n++] = (char *)"--root";
	args[n++] = runc_root;
	if (g->log) {
		args[n++] = (char *)"--log";
		args[n++] = (char *)g->log;
		args[n++] = (char *)(g->json ? "--log-format=json" : "--log-format=text");
	}
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	execv(runc, args);
	int e = errno;
	free(args);
	return rt_fail(g, "run '%s': %s", runc, strerror(e));
}

/* /run/oci2vm-runtime for root; $XDG_RUNTIME_DIR/oci2vm-runtime for a user or a rootless
 * engine (root of its user namespace only, which cannot write /run). */
static int default_root(char **ret)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (o2v_rt_real_root() || !xdg || !*xdg)
		*ret = strdup(geteuid() == 0 ? "/run/oci2vm-runtime" : "/tmp/oci2vm-runtime");
	else
		*ret = o2v_path_join(xdg, "oci2vm-runtime");
	return *ret ? 0 : -ENOMEM;
}

int o2v_runtime_main(int argc, char **argv)
{
	static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
					     {"log", required_argument, NULL, 'l'},
					     {"log-format", required_argument, NULL, 'F'},
					     {"debug", no_argument, NULL, 'd'},
					     {"systemd-cgroup", no_argument, NULL, 's'},
					     {"rootless", optional_argument, NULL, 'R'},
					     {"version", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct rt g = {0};
	int c, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			free(g.root);
			g.root = strdup(optarg);
			break;
		case 'l':
			g.log = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return rt_fail(&g, "--log-format '%s': expected text or json",
					       optarg);
			g.json = !strcmp(optarg, "json");
			break;
		case 'v':
			printf("oci2vm-runtime version %s\nspec: %s\n", O2V_VERSION, OCI_VERSION);
			return 0;
		case 'h':
			printf("usage: oci2vm-runtime [--root DIR] [--log FILE] [--log-format "
			       "text|json] COMMAND [ARGS]\n\ncommands: create, start, state, kill, "
			       "delete, exec, ps, pause, resume, features\n");
			return 0;
		case 'd':
		case 's':
		case 'R':
			break; /* accepted */
		default:
			return rt_fail(&g, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!g.root && default_root(&g.root) < 0)
		return rt_fail(&g, "out of memory");
	if (strlen(g.root) > ROOT_MAX) {
		r = rt_fail(&g, "--root '%s' is too long: at most %d bytes, so the VM's socket "
				"paths fit",
			    g.root, ROOT_MAX);
		free(g.root);
		return r;
	}
	if (optind >= argc) {
		free(g.root);
		return rt_fail(NULL, "no command; see 'oci2vm-runtime --help'");
	}
	const char *cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (delegated(&g, cmd, argc, argv)) {
		r = delegate(&g, argc, argv);
		free(g.root);
		return r;
	}
	if (!strcmp(cmd, "create"))
		r = rt_create(&g, argc, argv);
	else if (!strcmp(cmd, "start"))
		r = rt_start(&g, argc, argv);
	else if (!strcmp(cmd, "state"))
		r = rt_state(&g, argc, argv);
	else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		r = rt_freeze(&g, argc, argv, cmd[0] == 'p');
	else if (!strcmp(cmd, "kill"))
		r = rt_kill(&g, argc, argv);
	else if (!strcmp(cmd, "delete"))
		r = rt_delete(&g, argc, argv);
	else if (!strcmp(cmd, "ps"))
		r = rt_ps(&g, argc, argv);
	else if (!strcmp(cmd, "exec"))
		r = rt_exec(&g, argc, argv);
	else if (!strcmp(cmd, "features"))
		r = rt_features();
	else
		r = rt_fail(&g, "'%s' is not supported by oci2vm-runtime", cmd);
	free(g.root);
	return r;
}
