/* bootclock.c - a workload whose first action is to read the kernel's boot clock.
 *
 * Built static by tests/init/t_init_vm.sh and put in the test container
 * root; prints "bootclock MS" (CLOCK_BOOTTIME, the clock printk and init's
 * trace use), so the time from the kernel starting /init to the workload's
 * first instructions can be read off one boot.
 */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	printf("bootclock %.3f\n", (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6);
	return 0;
}
