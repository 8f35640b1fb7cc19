/* cmd_logs.c - `oci2vm logs [-f] [-n|--tail N] [--since TIME] NAME`: the console output of
 * a VM. --since uses the log's time index (vm/logfile.h), as fine as a second.
 *
 * A detached VM's log is capped and rotated (vm/logfile.h): the rotated files are printed
 * oldest first, then the current one; with -f a rotation while following is noticed (the
 * name points to a new file) and the new file is followed from its start. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "../common/fsutil.h"
#include "../vm/logfile.h"
#include "cli.h"
#include "commands.h"
#include "values.h"
#include "vmcli.h"

/* Where printing starts: file k (the oldest rotated file there can be, unless --since
 * found a newer one) at offset off. */
struct start {
	unsigned k;
	uint64_t off;
};

/* Copy what fd holds from its current offset to out (stdout, or the --tail buffer); false
 * on a write error. */
static bool copy_available(int fd, FILE *out)
{
	char buf[65536];
	ssize_t n;

	while ((n = O2V_RETRY(read(fd, buf, sizeof(buf)))) > 0)
		if (out ? fwrite(buf, 1, (size_t)n, out) != (size_t)n
			: o2v_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return false;
	return true;
}

/* The rotated files PATH.N-1 .. PATH.1, oldest first, from start on; then the current file
 * (fd) from start on when start is in it, else whole. */
static bool copy_from(const char *path, int fd, struct start from, FILE *out)
{
	for (unsigned k = O2V_LOG_MAX_FILES - 1; k > 0; k--) {
		if (k > from.k)
			continue;
		_cleanup_free_ char *name = o2v_logfile_name(path, k);
		_cleanup_close_ int rfd = name ? open(name, O_RDONLY | O_CLOEXEC) : -1;
		if (rfd < 0)
			continue;
		if (k == from.k && lseek(rfd, (off_t)from.off, SEEK_SET) < 0)
			continue;
		if (!copy_available(rfd, out))
			return false;
	}
	if (from.k == 0 && lseek(fd, (off_t)from.off, SEEK_SET) < 0)
		return false;
	return copy_available(fd, out);
}

/* --tail N: everything from start on into memory, the last n lines out; fd is then at the
 * end of the current file. */
static bool copy_tail(const char *path, int fd, struct start from, unsigned long n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok = f && copy_from(path, fd, from, f);

	if (!f || fclose(f) != 0 || !ok) {
		free(buf);
		return false;
	}
	size_t start = len;
	/* a last line without its newline counts as a line */
	size_t end = len && buf[len - 1] == '\n' ? len - 1 : len;
	for (unsigned long lines = 0; start > 0 && lines < n;) {
		start--;
		if (buf[start] == '\n' && start < end && ++lines == n) {
			start++;
			break;
		}
	}
	if (n == 0)
		start = len;
	ok = o2v_write_all(STDOUT_FILENO, buf + start, len - start) == 0;
	free(buf);
	return ok;
}

/* The log was rotated under us: finish the old file (now PATH.1), go on with the new. */
static bool follow_rotation(const char *path, int *fd)
{
	struct stat now, ours;

	if (stat(path, &now) < 0 || fstat(*fd, &ours) < 0 || now.st_ino == ours.st_ino)
		return true;
	if (!copy_available(*fd, NULL))
		return false;
	int nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return true; /* between the rename and the new file: try again */
	close(*fd);
	*fd = nfd;
	return copy_available(*fd, NULL);
}

int cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"tail", required_argument, NULL, 'n'},
	    {"since", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	bool follow = false, tail = false;
	unsigned long tail_n = 0;
	const char *since = NULL;
	struct start from = {.k = O2V_LOG_MAX_FILES - 1};
	int c;

	while ((c = getopt_long(argc, argv, "+:fn:", longopts, NULL)) != -1) {
		if (c == 'f') {
			follow = true;
		} else if (c == 's') {
			since = optarg;
		} else if (c == 'n') {
			char *end;
			tail = strcmp(optarg, "all") != 0;
			tail_n = strtoul(optarg, &end, 10);
			if (tail && (!*optarg || *end || optarg[0] == '-'))
				return o2v_cli_usage_error("logs",
							   "--tail '%s': expected a number of "
							   "lines or all",
							   optarg);
		} else {
			return o2v_cli_option_usage("logs", c, argc, argv);
		}
	}
	if (optind + 1 != argc)
		return o2v_cli_usage_error("logs", "expected one VM name or id");
	int64_t since_sec = 0;
	struct o2v_error perr = {0};
	if (since && o2v_parse_since("--since", since, (int64_t)time(NULL), &since_sec, &perr) < 0)
		return o2v_cli_usage_error("logs", "%s", perr.msg);

	_cleanup_free_ char *rt = o2v_vmcli_runtime_dir();
	struct o2v_vm vm;
	int r;

	if (!rt)
		return O2V_EXIT_FAILURE;
	if ((r = o2v_vmcli_load(rt, argv[optind], &vm)) != 0)
		return r;
	_cleanup_free_ char *path = o2v_vm_path(&vm, O2V_VM_CONSOLE_LOG);
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		o2v_cli_error("VM '%s' has no log: only detached VMs (run -d) keep one", vm.name);
		o2v_vm_release(&vm);
		return O2V_EXIT_FAILURE;
	}
	bool ok = true;
	if (since && !o2v_logfile_since(path, since_sec, &from.k, &from.off))
		ok = lseek(fd, 0, SEEK_END) >= 0; /* nothing that recent: only what comes (-f) */
	else
		ok = tail ? copy_tail(path, fd, from, tail_n) : copy_from(path, fd, from, NULL);
	/* Follow while the supervisor runs, then one last read for what it wrote last. */
	while (ok && follow && o2v_vm_is_running(&vm)) {
		usleep(100000);
		ok = copy_available(fd, NULL) && follow_rotation(path, &fd);
	}
	if (ok && follow)
		ok = copy_available(fd, NULL);
	o2v_vm_release(&vm);
	return ok ? O2V_EXIT_OK : O2V_EXIT_FAILURE;
}
