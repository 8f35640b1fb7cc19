/* log.c - init's two voices: one-line console messages and status-port lines.
 *
 * Console lines go to stderr (the console) prefixed "oci2vm-init: ". The
 * status port carries the messages of common/vmproto.h for the host, which
 * parses that port line by line (docs/vm-contract.md).
 *
 * The status port is opened on first use (a line to write, or
 * init_status_open() once the workload runs): finding it is not needed to
 * start the workload, so it does not delay it.
 */
#include "init.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "../common/fsutil.h"

#define LOG_LINE_MAX		1024
#define STATUS_WRITE_TIMEOUT_MS 2000

bool init_verbose;
static int status_fd = -1;
static bool status_tried;

static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void vlog(const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;

	memcpy(line, "oci2vm-init: ", 13);
	vsnprintf(line + 13, sizeof(line) - 14, fmt, ap);
	one_line(line);
	n = strlen(line);
	line[n++] = '\n';
	o2v_write_all(STDERR_FILENO, line, n);
}

void init_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void init_debug(const char *fmt, ...)
{
	va_list ap;

	if (!init_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void init_status_open(void)
{
	if (status_tried)
		return;
	status_tried = true;
	init_mount_late(); /* the port's name is in /sys; on a failure path it may not be yet */
	status_fd = init_port_open(O2V_PORT_STATUS, O2V_PORT_STATUS_GUESS, O_WRONLY);
	if (status_fd < 0)
		init_debug("no '%s' port (%s): continuing without it", O2V_PORT_STATUS,
			   strerror(-status_fd));
}

/* The port is non-blocking so that a host that never connected cannot hang
 * init; a write that does not fit yet waits a bounded time. */
static void status_write(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(status_fd, buf, len);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = status_fd, .events = POLLOUT};
			if (poll(&p, 1, STATUS_WRITE_TIMEOUT_MS) > 0 && !(p.revents & POLLHUP))
				continue;
		}
		init_log("cannot write to the status port: %s", w < 0 ? strerror(errno) : "eof");
		close(status_fd);
		status_fd = -1;
		return;
	}
}

void init_status(const struct o2v_status_msg *msg)
{
	char line[O2V_STATUS_LINE_MAX + 1];
	int n;

	init_status_open();
	if (status_fd < 0 || (n = o2v_status_format(msg, line, sizeof(line))) < 0)
		return;
	status_write(line, (size_t)n);
}

double init_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Boot-time trace: stamps kept in memory and printed once at shutdown in
 * verbose mode, so measuring costs no console output on the way. */
#define TRACE_MAX 16
static struct {
	const char *what;
	double ms;
} trace[TRACE_MAX];
static size_t n_trace;

void init_trace(const char *what)
{
	if (n_trace < TRACE_MAX)
		trace[n_trace++] = (typeof(trace[0])){what, init_now_ms()};
}

void init_trace_dump(void)
{
	char line[LOG_LINE_MAX];
	size_t n = 0;

	for (size_t i = 0; i < n_trace && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%.2f", trace[i].what,
				      trace[i].ms);
	if (n_trace)
		init_debug("boot trace (CLOCK_BOOTTIME ms):%s", line);
}
