/* qemu_argv.c - QEMU's command line for an oci2vm microVM; see qemu.h and docs/vm-contract.md.
 *
 * Why these flags (measured with bench/boot under TCG on the 2-core Debian 12 machines):
 *  -M microvm      no PCI bus, no firmware tables to build or parse; devices are virtio-mmio
 *                  slots listed on the kernel command line (auto-kernel-cmdline).
 *  x-option-roms=off   no linuxboot/PVH option ROM: the PVH vmlinux is entered directly.
 *  acpi=off        the kernel has no ACPI; CPUs come from the MP table instead.
 *  rtc=on          the kernel reads the wall clock from the CMOS at boot (no RTC driver, so
 *                  no 1 s update-interrupt wait); with rtc=off the guest has no time of day.
 *  pic, pit        left on: under TCG there is no TSC-deadline timer and no way to learn the
 *                  local APIC timer's rate without the PIT, and without the PIC the kernel
 *                  cannot route the PIT's interrupt (pit=off panics, pic=off hangs at boot).
 *  isa-serial=off  unless verbose: the 8250 probe then finds no UART immediately.
 *  -nodefaults -no-user-config   no default NIC, monitor, serial or config file to set up.
 *  -cpu max,-erms  (TCG) every feature TCG emulates: images built for x86-64-v2 (SSE4.2,
 *                  POPCNT) run, RDRAND seeds the guest's RNG early. -cpu host under KVM.
 *                  Minus ERMS: TCG runs "rep movsb/stosb" one byte per step, so with ERMS
 *                  advertised the kernel's memset, clear_page, copy_to/from_user and glibc's
 *                  large memcpy/memset move a byte per step instead of 8 (rep movsq/stosq)
 *                  or 32 (AVX2): 2.4 million steps fewer in a boot (3% of QEMU's host
 *                  instructions, callgrind); in a guest, reading 50 MB of /dev/zero takes
 *                  0.2 s instead of 0.54 s, of a tmpfs file 0.70 s instead of 0.89 s.
 *  thread=multi    (TCG) one host thread per vCPU; with -smp 1 it costs nothing measurable.
 *  tb-size=32      (TCG) the translated-code cache, 1 GiB by default, fills up and stays
 *                  resident: ~55 MB of a redis VM's ~193 MB RSS after a benchmark (~163 MB
 *                  with 32 MiB). 32 MiB holds what a boot translates (boot median 633 ms
 *                  either way, 21 runs); 16 or 24 MiB flush it during boot (+8-11%).
 *                  Guest RAM stays anonymous (transparent huge pages): a memfd backend in
 *                  4 KiB pages saves ~7 MB but its page faults cost ~6% of the boot.
 *  -no-reboot + reboot=t   the guest's reboot (init's exit path) or panic (panic=-1) makes
 *                  the vCPU triple-fault and QEMU exit instead of restarting or halting.
 */
#include "../common/o2v.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "../common/muxproto.h"
#include "../common/strv.h"
#include "qemu.h"

/* A growing argv; the first allocation failure sticks and is reported once at the end. */
struct argv_builder {
	char **v;
	size_t n, cap;
	bool oom;
};

static void argv_push_owned(struct argv_builder *b, char *s)
{
	if (!s || b->oom) {
		free(s);
		b->oom = true;
		return;
	}
	if (b->n + 2 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		char **nv = realloc(b->v, ncap * sizeof(*nv));
		if (!nv) {
			free(s);
			b->oom = true;
			return;
		}
		b->v = nv;
		b->cap = ncap;
	}
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

static void argv_push(struct argv_builder *b, const char *s)
{
	argv_push_owned(b, strdup(s));
}

O2V_PRINTF(2, 3) static void argv_pushf(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	argv_push_owned(b, s);
}

/* QEMU splits option values at ',' and reads ",," as a literal comma: a path containing a
 * comma would otherwise inject options. Returns a malloc'ed copy (NULL on OOM). */
static char *qemu_escape(const char *s)
{
	size_t extra = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		extra += *p == ',';
	if (!(out = malloc(strlen(s) + extra + 1)))
		return NULL;
	for (o = out; *s; s++) {
		*o++ = *s;
		if (*s == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/* "-opt value" for values that are fixed strings or plain file names. */
static void opt_pair(struct argv_builder *b, const char *opt, const char *value)
{
	argv_push(b, opt);
	argv_push(b, value);
}

/* "-opt PREFIX<escaped path>SUFFIX": a user-controlled path inside a QEMU option list. */
static void opt_path(struct argv_builder *b, const char *opt, const char *prefix, const char *path,
		     const char *suffix)
{
	_cleanup_free_ char *esc = qemu_escape(path);

	argv_push(b, opt);
	if (!esc) {
		b->oom = true;
		return;
	}
	argv_pushf(b, "%s%s%s", prefix, esc, suffix);
}

void o2v_vm_spec_init(struct o2v_vm_spec *spec)
{
	*spec = (struct o2v_vm_spec){
	    .r = {.memory_mib = O2V_MEMORY_DEFAULT_MIB, .cpus = 1, .accel = O2V_ACCEL_TCG},
	};
}

char *o2v_qemu_cmdline(const struct o2v_vm_spec *spec)
{
	char tcg[128] = "";
	char *s;

	/* Under TCG the PIT-based calibrations (TSC, delay loop, local APIC timer) take about
	 * 0.3 s and fail under load, leaving a 10 ms jiffies clock. Given the TSC rate the
	 * kernel skips the first two. tsc=reliable: the guest's TSC is the host's invariant TSC,
	 * while the jiffies the clocksource watchdog would compare it with lose ticks whenever
	 * the host deschedules QEMU, wrongly demoting the TSC. no_timer_check skips the IO-APIC
	 * timer test. With one vCPU, nolapic_timer skips the APIC timer calibration (~0.2 s)
	 * and the PIT drives the tick with high-resolution timers intact; with more vCPUs the
	 * other CPUs would fall back to 10 ms timers, so they pay for the calibration instead.
	 * KVM has kvmclock and the TSC-deadline timer and needs none of this.
	 * percpu_alloc=page: the default first per-CPU chunk is a 2 MiB block per CPU, zeroed
	 * and mostly given back at boot (~4 ms under TCG); page mode maps only the ~40 pages
	 * used. */
	if (spec->r.accel == O2V_ACCEL_TCG) {
		if (spec->tsc_khz)
			snprintf(tcg, sizeof(tcg), " tsc_early_khz=%lu tsc=reliable",
				 spec->tsc_khz);
		strcat(tcg,
		       spec->r.cpus <= 1 ? " nolapic_timer no_timer_check" : " no_timer_check");
		strcat(tcg, " percpu_alloc=page");
	}
	/* noreplace-smp: with one vCPU the kernel would rewrite every LOCK prefix at boot, and
	 * self-modifying code is slow under TCG (~0.1-0.25 s); the prefixes cost next to nothing.
	 * rcupdate.rcu_expedited=1: moving the workload into its cgroup (bootstrap-init/
	 * confine.c) waits for an RCU grace period, ~30 ms under TCG; an expedited one is a
	 * few IPIs to a handful of vCPUs (measured: `run --rm busybox true` 0.446 -> 0.399 s).
	 */
	if (asprintf(
		&s,
		"console=hvc0 %s reboot=t panic=-1 noreplace-smp rcupdate.rcu_expedited=1%s%s%s",
		spec->r.verbose ? "earlyprintk=serial,ttyS0,115200 ignore_loglevel" : "quiet", tcg,
		spec->r.append && *spec->r.append ? " " : "",
		spec->r.append ? spec->r.append : "") < 0)
		return NULL;
	return s;
}

static bool uses_vhost_user(const struct o2v_vm_spec *spec)
{
	for (size_t i = 0; i < spec->r.n_volumes; i++)
		if (spec->r.volumes[i].vhost_user)
			return true;
	return false;
}

static void push_machine(struct argv_builder *b, const struct o2v_vm_spec *spec)
{
	argv_push(b, "-M");
	argv_pushf(b, "microvm,x-option-roms=off,isa-serial=%s,rtc=on,acpi=off",
		   spec->r.verbose ? "on" : "off");
	if (spec->r.accel == O2V_ACCEL_KVM) {
		opt_pair(b, "-accel", "kvm");
		opt_pair(b, "-cpu", "host");
	} else {
		opt_pair(b, "-accel", "tcg,thread=multi,tb-size=32");
		opt_pair(b, "-cpu", "max,-erms");
	}
	argv_push(b, "-m");
	argv_pushf(b, "%" PRIu64 "M", spec->r.memory_mib);
	if (!spec->ram_file && uses_vhost_user(spec)) {
		argv_push(b, "-object");
		argv_pushf(b, "memory-backend-memfd,id=ram,share=on,size=%" PRIu64 "M",
			   spec->r.memory_mib);
		opt_pair(b, "-machine", "memory-backend=ram");
		/* vhost-user (libvhost-user in virtiofsd) speaks only virtio 1.0: modern
		 * virtio-mmio, which QEMU's microvm gives only when asked */
		opt_pair(b, "-global", "virtio-mmio.force-legacy=false");
	} else if (spec->ram_file) {
		char suffix[96];
		snprintf(suffix, sizeof(suffix), ",share=%s,size=%" PRIu64 "M",
			 spec->ram_shared ? "on" : "off", spec->r.memory_mib);
		opt_path(b, "-object", "memory-backend-file,id=ram,mem-path=", spec->ram_file,
			 suffix);
		opt_pair(b, "-machine", "memory-backend=ram");
	}
	argv_push(b, "-smp");
	argv_pushf(b, "%u", spec->r.cpus ? spec->r.cpus : 1);
	argv_push(b, "-no-reboot");
	argv_push(b, "-nodefaults");
	argv_push(b, "-no-user-config");
	opt_pair(b, "-display", "none");
	/* QEMU parses what the guest sends (virtio rings, 9p, the network): confine it with
	 * seccomp. It never needs to exec (so snapshots come in as descriptors, "fd:N", never
	 * "exec:"), gain privileges, change its scheduling or use obsolete system calls. */
	opt_pair(b, "-sandbox", O2V_QEMU_SANDBOX);
}

static void push_console(struct argv_builder *b, const struct o2v_vm_spec *spec)
{
	/* Only as many ports as are used: the guest driver sets up two virtqueues for each
	 * possible port (QEMU's default of 31 makes 64), ~30 ms of probing under TCG. */
	argv_push(b, "-device");
	argv_pushf(b, "virtio-serial-device,max_ports=%d",
		   3 + (spec->stdout_sock ? 2 : 0) + (spec->exec_sock ? 1 : 0));
	opt_path(b, "-chardev", "socket,id=con,path=", spec->console_sock, ",server=on,wait=on");
	opt_pair(b, "-device", "virtconsole,chardev=con");
	if (spec->r.verbose) {
		/* The serial port carries early printk until the console takes over. */
		opt_path(b, "-chardev", "socket,id=ser,path=", spec->serial_sock,
			 ",server=on,wait=on");
		opt_pair(b, "-serial", "chardev:ser");
	}
	/* A socket the supervisor reads as it comes, never a file the guest could grow. */
	opt_path(b, "-chardev", "socket,id=st,path=", spec->status_sock, ",server=on,wait=on");
	opt_pair(b, "-device", "virtserialport,chardev=st,name=" O2V_PORT_STATUS);
	opt_path(b, "-chardev", "socket,id=ctl,path=", spec->control_path, ",server=on,wait=off");
	opt_pair(b, "-device", "virtserialport,chardev=ctl,name=" O2V_PORT_CONTROL);
	/* Last, so the ports before them keep their numbers (status 1, control 2). */
	if (spec->stdout_sock) {
		opt_path(b, "-chardev", "socket,id=out,path=", spec->stdout_sock,
			 ",server=on,wait=on");
		opt_pair(b, "-device", "virtserialport,chardev=out,name=" O2V_PORT_STDOUT);
		opt_path(b, "-chardev", "socket,id=err,path=", spec->stderr_sock,
			 ",server=on,wait=on");
		opt_pair(b, "-device", "virtserialport,chardev=err,name=" O2V_PORT_STDERR);
	}
	if (spec->exec_sock) {
		opt_path(b, "-chardev", "socket,id=exec,path=", spec->exec_sock,
			 ",server=on,wait=on");
		opt_pair(b, "-device", "virtserialport,chardev=exec,name=" O2V_PORT_EXEC);
	}
	if (spec->qmp_sock) {
		opt_path(b, "-chardev", "socket,id=qmp,path=", spec->qmp_sock,
			 ",server=on,wait=off");
		opt_pair(b, "-mon", "chardev=qmp,mode=control");
	}
}

static const char *model_name(enum o2v_9p_model m)
{
	switch (m) {
	case O2V_9P_MAPPED_FILE:
		return "mapped-file";
	case O2V_9P_PASSTHROUGH:
		return "passthrough";
	case O2V_9P_AUTO: /* resolved by the launch (volumes.c); mapped-xattr if not */
	case O2V_9P_MAPPED_XATTR:
		break;
	}
	return "mapped-xattr";
}

static void push_storage(struct argv_builder *b, const struct o2v_vm_spec *spec)
{
	if (spec->r.disk) {
		char suffix[64];

		/* snapshot=on: QEMU keeps the guest's writes in an unlinked temporary
		 * overlay, so a cached image stays byte-identical and nothing is left
		 * behind even if QEMU is killed. */
		snprintf(suffix, sizeof(suffix), ",format=%s,if=none%s",
			 spec->r.disk_format ? spec->r.disk_format : "raw",
			 spec->r.disk_snapshot ? ",snapshot=on" : "");
		opt_path(b, "-drive", "id=root,file=", spec->r.disk, suffix);
		opt_pair(b, "-device", "virtio-blk-device,drive=root");
	}
	for (size_t i = 0; i < spec->r.n_volumes; i++) {
		const struct o2v_vm_volume *v = &spec->r.volumes[i];
		char prefix[64], tag[O2V_VOLUME_TAG_MAX];

		char suffix[64];
		o2v_proto_volume_tag(i, tag);
		if (v->vhost_user) {
			snprintf(prefix, sizeof(prefix), "socket,id=v%zu,path=", i);
			opt_path(b, "-chardev", prefix, v->vhost_user, "");
			argv_push(b, "-device");
			argv_pushf(b, "vhost-user-fs-device,chardev=v%zu,tag=%s", i, tag);
			continue;
		}
		snprintf(prefix, sizeof(prefix), "local,id=v%zu,path=", i);
		/* remap: a share that crosses host mounts (an OCI runtime's binds) keeps inode
		 * numbers unique in the guest */
		snprintf(suffix, sizeof(suffix), ",security_model=%s,multidevs=remap%s",
			 model_name(v->model),
			 v->readonly ? ",readonly=on" : "");
		opt_path(b, "-fsdev", prefix, v->host, suffix);
		argv_push(b, "-device");
		argv_pushf(b, "virtio-9p-device,fsdev=v%zu,mount_tag=%s", i, tag);
	}
}

static void push_net(struct argv_builder *b, const struct o2v_vm_spec *spec)
{
	char *netdev;
	size_t len;
	FILE *f;

	if (!spec->r.net && !spec->r.n_ports)
		return;
	if (!(f = open_memstream(&netdev, &len))) {
		b->oom = true;
		return;
	}
	fputs("user,id=n0", f);
	for (size_t i = 0; i < spec->r.n_ports; i++) {
		const struct o2v_port *p = &spec->r.ports[i];

		fprintf(f, ",hostfwd=%s:%s:%u-:%u", p->udp ? "udp" : "tcp", p->bind, p->host,
			p->guest);
	}
	if (fclose(f) != 0) {
		free(netdev);
		b->oom = true;
		return;
	}
	argv_push(b, "-netdev");
	argv_push_owned(b, netdev);
	argv_push(b, "-device");
	argv_push(b, "virtio-net-device,netdev=n0");
}

static int check_spec(const struct o2v_vm_spec *spec, struct o2v_error *err)
{
	if (!spec->r.kernel || !spec->r.initrd)
		return o2v_error_set(err, -EINVAL, "a VM needs a kernel and an initrd");
	if (spec->r.accel != O2V_ACCEL_KVM && spec->r.accel != O2V_ACCEL_TCG)
		return o2v_error_set(err, -EINVAL, "resolve the accelerator before building argv");
	if (spec->r.disk_format && strcmp(spec->r.disk_format, "raw") &&
	    strcmp(spec->r.disk_format, "qcow2"))
		return o2v_error_set(err, -EINVAL, "disk format '%s': expected raw or qcow2",
				     spec->r.disk_format);
	if (!spec->console_sock || !spec->status_sock || !spec->control_path)
		return o2v_error_set(err, -EINVAL, "a VM needs console, status and control paths");
	if (spec->r.verbose && !spec->serial_sock)
		return o2v_error_set(err, -EINVAL, "a verbose VM needs a serial socket");
	if (!spec->stdout_sock != !spec->stderr_sock)
		return o2v_error_set(err, -EINVAL, "stdout and stderr ports go together");
	for (size_t i = 0; i < spec->r.n_ports; i++)
		/* The bind address goes into QEMU's option string verbatim. */
		if (strpbrk(spec->r.ports[i].bind, ",:"))
			return o2v_error_set(err, -EINVAL,
					     "port bind address '%s': QEMU's user network takes an "
					     "IPv4 address",
					     spec->r.ports[i].bind);
	return 0;
}

int o2v_qemu_argv(const struct o2v_vm_spec *spec, char ***ret_argv, struct o2v_error *err)
{
	struct argv_builder b = {0};
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	int r;

	if ((r = check_spec(spec, err)) < 0)
		return r;

	argv_push(&b, spec->qemu ? spec->qemu : O2V_QEMU_BINARY);
	push_machine(&b, spec);
	/* -kernel/-initrd are file names, not option lists: no comma escaping. */
	opt_pair(&b, "-kernel", spec->r.kernel);
	opt_pair(&b, "-initrd", spec->r.initrd);
	argv_push(&b, "-append");
	argv_push_owned(&b, o2v_qemu_cmdline(spec));
	push_console(&b, spec);
	push_storage(&b, spec);
	push_net(&b, spec);
	/* Seeds the guest's RNG so getrandom() in the workload never waits. */
	opt_pair(&b, "-device", "virtio-rng-device");
	if (spec->r.incoming)
		opt_pair(&b, "-incoming", spec->r.incoming);
	for (char *const *a = spec->r.qemu_args; a && *a; a++)
		argv_push(&b, *a);

	if (b.oom) {
		o2v_strv_free(b.v);
		return o2v_error_set(err, -ENOMEM, "build qemu command line: out of memory");
	}
	*ret_argv = b.v;
	return 0;
}
