/* console.c - the console's line settings and the workload's terminal.
 *
 * hvc0 is a tty: by default it echoes input, turns "\n" into "\r\n" and
 * makes ^C a SIGINT. It only carries bytes between the host and init, so the
 * line goes raw. With a terminal (-t) the workload gets a pty of the
 * container's devpts instance (its /dev/console, as Docker's): job control,
 * ^C and SIGWINCH work there, and its output reaches the host over the stdout
 * port, which holds the writer back instead of dropping what the host reads
 * late (QEMU drops console output while its socket is full).
 */
#include "init.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

void init_console_mode(bool terminal)
{
	struct termios t;

	if (terminal || tcgetattr(STDIN_FILENO, &t) < 0)
		return;
	cfmakeraw(&t);
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

int init_pty_open(const char *root, unsigned rows, unsigned cols, int *ret_slave,
		  unsigned *ret_index)
{
	char path[512];
	int unlock = 0, m, r;
	unsigned idx = 0;

	snprintf(path, sizeof(path), "%s/dev/pts/ptmx", root);
	if ((m = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &idx) < 0 ||
	    (*ret_slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		r = -errno;
		close(m);
		return r;
	}
	if (ret_index)
		*ret_index = idx;
	init_console_winsize(m, rows ? rows : 24, cols ? cols : 80);
	return m;
}

void init_console_winsize(int fd, unsigned rows, unsigned cols)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};

	if (rows && cols)
		ioctl(fd, TIOCSWINSZ, &ws);
}

int init_console_attach(const char *path, bool terminal, bool stdin_open, unsigned rows,
			unsigned cols, struct o2v_error *err)
{
	if (setsid() < 0)
		return o2v_error_sys(err, -errno, "start a session");
	if (!terminal) {
		if (stdin_open)
			return 0;
		/* Docker without -i: reading stdin ends at once instead of waiting on the console.
		 */
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			return o2v_error_sys(err, -errno, "open /dev/null as stdin");
		close(fd);
		return 0;
	}
	/* The device itself (hvc0, or the container's console node of it): the kernel's
	 * /dev/console (5:1) cannot be a controlling tty. */
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return o2v_error_sys(err, -errno, "open '%s'", path);
	if (ioctl(fd, TIOCSCTTY, 1) < 0) {
		int e = -errno;
		close(fd);
		return o2v_error_sys(err, e, "make '%s' the controlling terminal", path);
	}
	init_console_winsize(fd, rows, cols);
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0) {
			int e = -errno;
			close(fd);
			return o2v_error_sys(err, e, "attach the terminal");
		}
	close(fd);
	return 0;
}
