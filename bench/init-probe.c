/* The workload of bench/init. Its first act writes a line into the kernel log, which the
 * kernel stamps with the same clock as its own "Run /init as init process" (logged just
 * before it executes oci2vm's init); it then reads the log back and prints both stamps, so
 * the time from the kernel handing over to /init until this program runs is measured on the
 * kernel's own clock, with nothing added by the host. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

#define MARK "bench-probe: first instruction"

/* The timestamp of the last log line containing what, or -1. */
static double stamp_of(const char *log, const char *what)
{
	double t = -1;

	for (const char *p = log; (p = strstr(p, what)); p++) {
		const char *line = p;
		while (line > log && line[-1] != '\n')
			line--;
		const char *open = strchr(line, '[');
		if (open && open < p)
			t = strtod(open + 1, NULL);
	}
	return t;
}

int main(void)
{
	static char log[1 << 17];
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, MARK "\n", sizeof(MARK)) < 0) {
		perror("bench-probe: /dev/kmsg");
		return 1;
	}
	close(fd);
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	if (n < 0) {
		perror("bench-probe: klogctl");
		return 1;
	}
	log[n] = '\0';
	double handover = stamp_of(log, "Run /init as init process");
	double first = stamp_of(log, MARK);
	if (handover < 0 || first < 0) {
		fprintf(stderr, "bench-probe: stamps not found in the kernel log\n");
		return 1;
	}
	printf("bench-probe: handover %.6f first %.6f init_to_workload_ms %.3f\n", handover, first,
	       (first - handover) * 1e3);
	return 0;
}
