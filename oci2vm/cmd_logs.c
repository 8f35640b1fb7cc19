/* cmd_logs.c - `oci2vm logs [-f] [-n|--tail N] NAME`: the console output of a VM.
 *
 * A detached VM's log is capped and rotated (vm/logfile.h): the rotated files are printed
 * oldest first, then the current one; with -f a rotation while following is noticed (the
 * name points to a new file) and the new file is followed from its start. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <getopt.h>
#include <string.h>

#include <sys/stat.h>

#include "../common/fsutil.h"
#include "../vm/logfile.h"
#include "cli.h"
#include "commands.h"
#include "vmcli.h"

/* Copy what fd holds from its current offset to stdout; false on a write error. */
static bool copy_available(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = O2V_RETRY(read(fd, buf, sizeof(buf)))) > 0)
		if (o2v_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return false;
	return true;
}

/* The rotated files PATH.N-1 .. PATH.1, oldest first, whole. */
static bool copy_rotated(const char *path)
{
	for (unsigned k = O2V_LOG_MAX_FILES - 1; k > 0; k--) {
		_cleanup_free_ char *name = o2v_logfile_name(path, k);
		_cleanup_close_ int fd = name ? open(name, O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0 && !copy_available(fd))
			return false;
	}
	return true;
}

/* --tail N: everything the log holds (rotated files first) into memory, the last n lines
 * out; fd is then at the end of the current file. */
static bool copy_tail(const char *path, int *fd, unsigned long n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok = f != NULL;
	char chunk[65536];
	ssize_t got;

	for (unsigned k = O2V_LOG_MAX_FILES - 1; ok && k > 0; k--) {
		_cleanup_free_ char *name = o2v_logfile_name(path, k);
		_cleanup_close_ int rfd = name ? open(name, O_RDONLY | O_CLOEXEC) : -1;
		while (rfd >= 0 && (got = O2V_RETRY(read(rfd, chunk, sizeof(chunk)))) > 0)
			fwrite(chunk, 1, (size_t)got, f);
	}
	while (ok && (got = O2V_RETRY(read(*fd, chunk, sizeof(chunk)))) > 0)
		fwrite(chunk, 1, (size_t)got, f);
	if (!f || fclose(f) != 0) {
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
	if (!copy_available(*fd))
		return false;
	int nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return true; /* between the rename and the new file: try again */
	close(*fd);
	*fd = nfd;
	return copy_available(*fd);
}

int cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"tail", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	bool follow = false, tail = false;
	unsigned long tail_n = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+:fn:", longopts, NULL)) != -1) {
		if (c == 'f') {
			follow = true;
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
	bool ok = tail ? copy_tail(path, &fd, tail_n) : copy_rotated(path) && copy_available(fd);
	/* Follow while the supervisor runs, then one last read for what it wrote last. */
	while (ok && follow && o2v_vm_is_running(&vm)) {
		usleep(100000);
		ok = copy_available(fd) && follow_rotation(path, &fd);
	}
	if (ok && follow)
		ok = copy_available(fd);
	o2v_vm_release(&vm);
	return ok ? O2V_EXIT_OK : O2V_EXIT_FAILURE;
}
