/* health.c - the healthcheck monitor; see health.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#include "../common/clock.h"
#include "../common/fsutil.h"
#include "../common/muxproto.h"
#include "../common/strv.h"
#include "../vm/vm.h"
#include "health.h"

#define DEFAULT_MS	(30 * 1000) /* Docker's interval and timeout */
#define DEFAULT_RETRIES 3

static uint64_t ns_to_ms(int64_t ns)
{
	return ns > 0 ? (uint64_t)(ns + 999999) / 1000000 : 0;
}

static int push(char ***v, const char *s, struct o2v_error *err)
{
	return o2v_strv_push(v, s) < 0 ? o2v_error_sys(err, -ENOMEM, "healthcheck") : 0;
}

int o2v_health_resolve(const struct o2v_image_config *img, const struct o2v_run_opts *o,
		       struct o2v_health *ret, struct o2v_error *err)
{
	char *const *test = img->health_test;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (o->no_healthcheck)
		return 0;
	/* --health-cmd and CMD-SHELL run in a shell, CMD as given; NONE or nothing: none */
	const char *shell = o->health_cmd				       ? o->health_cmd
			    : test && test[0] && !strcmp(test[0], "CMD-SHELL") ? test[1]
									       : NULL;
	if (shell) {
		if ((r = push(&ret->argv, "/bin/sh", err)) < 0 ||
		    (r = push(&ret->argv, "-c", err)) < 0 || (r = push(&ret->argv, shell, err)) < 0)
			return r;
	} else if (test && test[0] && !strcmp(test[0], "CMD") && test[1]) {
		for (size_t i = 1; test[i]; i++)
			if ((r = push(&ret->argv, test[i], err)) < 0)
				return r;
	} else {
		return 0;
	}
	ret->interval_ms = o->health_interval_ms  ? o->health_interval_ms
			   : img->health_interval ? ns_to_ms(img->health_interval)
						  : DEFAULT_MS;
	ret->timeout_ms = o->health_timeout_ms	? o->health_timeout_ms
			  : img->health_timeout ? ns_to_ms(img->health_timeout)
						: DEFAULT_MS;
	ret->start_period_ms =
	    o->health_start_ms ? o->health_start_ms : ns_to_ms(img->health_start_period);
	ret->retries = o->health_retries	 ? o->health_retries
		       : img->health_retries > 0 ? (unsigned)img->health_retries
						 : DEFAULT_RETRIES;
	return 0;
}

void o2v_health_release(struct o2v_health *h)
{
	o2v_strv_free(h->argv);
	h->argv = NULL;
}

static void write_status(const struct o2v_vm *vm, const char *status, unsigned failing)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_HEALTH);
	char text[96];
	int n = snprintf(text, sizeof(text), "%s %u\n", status, failing);

	if (path)
		o2v_write_file_atomic(path, text, (size_t)n, 0600, NULL);
}

/* One check: 0 passed, else failed (an exit status != 0, a timeout, no exec). */
static int check(const struct o2v_vm *vm, const struct o2v_health *h, int devnull)
{
	struct o2v_mux_exec req = {0};
	struct o2v_exec_io io = {.in_fd = -1,
				 .out_fd = devnull,
				 .err_fd = devnull,
				 .timeout_ms =
				     h->timeout_ms > INT32_MAX ? INT32_MAX : (int)h->timeout_ms};
	struct o2v_exec_result res;
	struct o2v_error err;
	size_t n = 0;

	for (; h->argv[n] && n < O2V_MUX_ARGS_MAX; n++)
		req.argv[n] = h->argv[n];
	if (o2v_vm_exec(vm->dir, &req, &io, &res, &err) < 0)
		return -1;
	return res.code;
}

O2V_NORETURN static void monitor(const struct o2v_vm *vm, const struct o2v_health *h)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int64_t t0 = o2v_now_ms();
	unsigned failing = 0;
	const char *status = "starting";

	write_status(vm, status, 0);
	for (;;) {
		usleep(
		    (useconds_t)(h->interval_ms > 3600000 ? 3600000000u : h->interval_ms * 1000));
		if (check(vm, h, devnull) == 0) {
			status = "healthy";
			failing = 0;
		} else if ((uint64_t)(o2v_now_ms() - t0) >= h->start_period_ms ||
			   strcmp(status, "starting")) {
			/* within the start period, failures do not count */
			if (++failing >= h->retries)
				status = "unhealthy";
		}
		write_status(vm, status, failing);
	}
}

pid_t o2v_health_start(const struct o2v_vm *vm, const struct o2v_health *h)
{
	pid_t parent = getpid(), pid;

	if (!h->argv)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* None of the supervisor's descriptors: its VM lock above all, or the VM would look
	 * running for as long as we do. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	signal(SIGINT, SIG_IGN); /* the terminal's Ctrl-C is the supervisor's to handle */
	monitor(vm, h);
}

void o2v_health_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
}

void o2v_health_status(const struct o2v_vm *vm, char *buf, size_t len)
{
	_cleanup_free_ char *path = o2v_vm_path(vm, O2V_VM_HEALTH), *text = NULL;

	buf[0] = '\0';
	if (!path || o2v_read_file(path, 96, &text, NULL, NULL) < 0)
		return;
	if (!strncmp(text, "healthy", 7))
		snprintf(buf, len, "healthy");
	else if (!strncmp(text, "unhealthy", 9))
		snprintf(buf, len, "unhealthy");
	else if (!strncmp(text, "starting", 8))
		snprintf(buf, len, "health: starting");
}
