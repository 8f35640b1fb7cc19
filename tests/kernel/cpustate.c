/* cpustate.c - /init for t_cpu_state.sh: reports the CPU state user space sees (CR4.OSXSAVE
 * through CPUID, XCR0, the kernel's cpuinfo flags) and reboots. Printing at all proves that the
 * kernel can copy from user memory (SMAP handled) and that user space runs. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>

static int has_flag(const char *flags, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = flags; (p = strstr(p, name)); p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

int main(void)
{
	unsigned int a, b, c, d;
	static char line[8192];

	__cpuid(1, a, b, c, d);
	printf("cpustate: osxsave %u\n", (c >> 27) & 1);
	if ((c >> 27) & 1) {
		unsigned int lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		printf("cpustate: xcr0 %#x\n", lo);
	}
	mkdir("/proc", 0755);
	if (mount("proc", "/proc", "proc", 0, NULL) == 0) {
		FILE *f = fopen("/proc/cpuinfo", "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags", 5)) {
				const char *names[] = { "erms", "avx", "xsave", "smap", "umip" };
				for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
					printf("cpustate: flag %s %d\n", names[i], has_flag(line, names[i]));
				break;
			}
	}
	printf("cpustate: done\n");
	fflush(stdout);
	reboot(RB_AUTOBOOT);
	return 0;
}
