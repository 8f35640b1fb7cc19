/* test_qemu.c - QEMU argv builder, accelerator choice, kernel lookup. */
#include "../../common/o2v.h"

#include <fcntl.h>
#include <string.h>

#include "../../common/fsutil.h"
#include "../../vm/host.h"
#include "../../vm/qemu.h"
#include "tap.h"

static char *join_argv(char **argv)
{
	char *s;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	for (char **a = argv; *a; a++)
		fprintf(f, "%s%s", a == argv ? "" : "\n", *a);
	fclose(f);
	return s;
}

/* The fields every VM has, with short names so expected argv strings stay readable. */
static void base_spec(struct o2v_vm_spec *spec)
{
	o2v_vm_spec_init(spec);
	spec->r.kernel = "vmlinux";
	spec->r.initrd = "i.cpio";
	spec->console_sock = "c";
	spec->status_sock = "s";
	spec->control_path = "x";
}

static void test_argv_full(void)
{
	static const struct o2v_port ports[] = {
	    {.bind = "127.0.0.1", .host = 2229, .guest = 6379},
	    {.bind = "0.0.0.0", .host = 5353, .guest = 53, .udp = true},
	};
	static const struct o2v_vm_volume vols[] = {
	    {.host = "/srv/data"},
	    {.host = "/srv/a,b", .readonly = true, .model = O2V_9P_MAPPED_FILE},
	};
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL;

	base_spec(&spec);
	spec.qemu = "/usr/bin/qemu-system-x86_64";
	spec.r.disk = "/r/disk,1.img";
	spec.r.disk_format = "qcow2";
	spec.r.memory_mib = 1024;
	spec.r.cpus = 2;
	spec.r.accel = O2V_ACCEL_TCG;
	spec.tsc_khz = 2596061;
	spec.r.append = "oci2vm.debug=1";
	spec.r.ports = ports;
	spec.r.n_ports = ARRAY_SIZE(ports);
	spec.r.volumes = vols;
	spec.r.n_volumes = ARRAY_SIZE(vols);
	spec.stdout_sock = "o";
	spec.stderr_sock = "e";

	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), 0, "argv: full spec builds");
	_cleanup_free_ char *got = argv ? join_argv(argv) : NULL;
	TAP_IS_STR(
	    got,
	    "/usr/bin/qemu-system-x86_64\n"
	    "-M\nmicrovm,x-option-roms=off,isa-serial=off,rtc=on,acpi=off\n"
	    "-accel\ntcg,thread=multi,tb-size=32\n-cpu\nmax,-erms\n-m\n1024M\n-smp\n2\n"
	    "-no-reboot\n-nodefaults\n-no-user-config\n-display\nnone\n"
	    "-sandbox\non,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny\n"
	    "-kernel\nvmlinux\n-initrd\ni.cpio\n"
	    "-append\nconsole=hvc0 quiet reboot=t panic=-1 noreplace-smp rcupdate.rcu_expedited=1 "
	    "tsc_early_khz=2596061 "
	    "tsc=reliable no_timer_check percpu_alloc=page oci2vm.debug=1\n"
	    "-device\nvirtio-serial-device,max_ports=5\n"
	    "-chardev\nsocket,id=con,path=c,server=on,wait=on\n"
	    "-device\nvirtconsole,chardev=con\n"
	    "-chardev\nsocket,id=st,path=s,server=on,wait=on\n"
	    "-device\nvirtserialport,chardev=st,name=oci2vm.status\n"
	    "-chardev\nsocket,id=ctl,path=x,server=on,wait=off\n"
	    "-device\nvirtserialport,chardev=ctl,name=oci2vm.ctl\n"
	    "-chardev\nsocket,id=out,path=o,server=on,wait=on\n"
	    "-device\nvirtserialport,chardev=out,name=oci2vm.stdout\n"
	    "-chardev\nsocket,id=err,path=e,server=on,wait=on\n"
	    "-device\nvirtserialport,chardev=err,name=oci2vm.stderr\n"
	    "-drive\nid=root,file=/r/disk,,1.img,format=qcow2,if=none\n"
	    "-device\nvirtio-blk-device,drive=root\n"
	    "-fsdev\nlocal,id=v0,path=/srv/data,security_model=mapped-xattr,multidevs=remap\n"
	    "-device\nvirtio-9p-device,fsdev=v0,mount_tag=o2v_v0\n"
	    "-fsdev\nlocal,id=v1,path=/srv/a,,b,security_model=mapped-file,multidevs=remap,readonly=on\n"
	    "-device\nvirtio-9p-device,fsdev=v1,mount_tag=o2v_v1\n"
	    "-netdev\nuser,id=n0,hostfwd=tcp:127.0.0.1:2229-:6379,hostfwd=udp:0.0.0.0:5353-:53\n"
	    "-device\nvirtio-net-device,netdev=n0\n"
	    "-device\nvirtio-rng-device",
	    "argv: exact arguments for TCG, disk, volumes (commas escaped), ports");
}

/* One vCPU: nolapic_timer (see o2v_qemu_cmdline); the full test above has two. */
static void test_cmdline_tcg_one_cpu(void)
{
	struct o2v_vm_spec spec;

	o2v_vm_spec_init(&spec);
	spec.r.accel = O2V_ACCEL_TCG;
	_cleanup_free_ char *unknown_tsc = o2v_qemu_cmdline(&spec);
	TAP_IS_STR(unknown_tsc,
		   "console=hvc0 quiet reboot=t panic=-1 noreplace-smp rcupdate.rcu_expedited=1 "
		   "nolapic_timer no_timer_check "
		   "percpu_alloc=page",
		   "cmdline: TCG, one vCPU, TSC rate unknown: PIT tick, no TSC flags");
	spec.tsc_khz = 3000000;
	_cleanup_free_ char *known_tsc = o2v_qemu_cmdline(&spec);
	TAP_IS_STR(known_tsc,
		   "console=hvc0 quiet reboot=t panic=-1 noreplace-smp rcupdate.rcu_expedited=1 "
		   "tsc_early_khz=3000000 "
		   "tsc=reliable nolapic_timer no_timer_check percpu_alloc=page",
		   "cmdline: TCG, one vCPU, TSC rate known");
}

static void test_argv_minimal_kvm_verbose(void)
{
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL;

	base_spec(&spec);
	spec.r.accel = O2V_ACCEL_KVM;
	spec.r.verbose = true;
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), -EINVAL,
		   "argv: verbose without a serial socket refused");
	spec.serial_sock = "ser";

	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), 0, "argv: minimal spec builds");
	_cleanup_free_ char *got = argv ? join_argv(argv) : NULL;
	TAP_IS_STR(
	    got,
	    "qemu-system-x86_64\n"
	    "-M\nmicrovm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off\n"
	    "-accel\nkvm\n-cpu\nhost\n-m\n512M\n-smp\n1\n"
	    "-no-reboot\n-nodefaults\n-no-user-config\n-display\nnone\n"
	    "-sandbox\non,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny\n"
	    "-kernel\nvmlinux\n-initrd\ni.cpio\n"
	    "-append\nconsole=hvc0 earlyprintk=serial,ttyS0,115200 ignore_loglevel reboot=t "
	    "panic=-1 noreplace-smp rcupdate.rcu_expedited=1\n"
	    "-device\nvirtio-serial-device,max_ports=3\n"
	    "-chardev\nsocket,id=con,path=c,server=on,wait=on\n"
	    "-device\nvirtconsole,chardev=con\n"
	    "-chardev\nsocket,id=ser,path=ser,server=on,wait=on\n-serial\nchardev:ser\n"
	    "-chardev\nsocket,id=st,path=s,server=on,wait=on\n"
	    "-device\nvirtserialport,chardev=st,name=oci2vm.status\n"
	    "-chardev\nsocket,id=ctl,path=x,server=on,wait=off\n"
	    "-device\nvirtserialport,chardev=ctl,name=oci2vm.ctl\n"
	    "-device\nvirtio-rng-device",
	    "argv: KVM uses -cpu host; verbose gives the serial port a socket, drops quiet");
}

/* A saved VM resumed instead of booted, and arguments for descriptors passed to QEMU: both
 * come last, so every device keeps its place (the saved state names them in order). */
static void test_argv_incoming_and_extra(void)
{
	static char netdev[] = "-netdev", tap[] = "tap,id=t0,fd=5";
	char *const extra[] = {netdev, tap, NULL};
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL;

	base_spec(&spec);
	spec.r.incoming = "fd:7";
	spec.r.qemu_args = extra;
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), 0, "argv: incoming + extra builds");
	_cleanup_free_ char *got = argv ? join_argv(argv) : NULL;
	const char *tail = got ? strstr(got, "-device\nvirtio-rng-device\n") : NULL;
	TAP_IS_STR(tail, "-device\nvirtio-rng-device\n-incoming\nfd:7\n-netdev\ntap,id=t0,fd=5",
		   "argv: -incoming after the devices, then the extra arguments verbatim");
}

/* Snapshots (vm/snapshot.h): the RAM in a file, shared by the VM to be saved, private for a
 * restored one; the monitor on a socket QEMU does not wait for; a path with a comma kept
 * inside its option. */
static void test_argv_snapshot(void)
{
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL, **argv2 = NULL;

	base_spec(&spec);
	spec.ram_file = "/c/snap,x/ram";
	spec.ram_shared = true;
	spec.qmp_sock = "/s/qmp.sock";
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), 0, "argv: RAM in a file, a monitor");
	_cleanup_free_ char *got = argv ? join_argv(argv) : NULL;
	TAP_OK(got && strstr(got, "-m\n512M\n-object\nmemory-backend-file,id=ram,mem-path=/c/snap,,"
				  "x/ram,share=on,size=512M\n-machine\nmemory-backend=ram\n"),
	       "argv: the VM to be saved shares its RAM with the file (the comma doubled)");
	TAP_OK(got && strstr(got, "-chardev\nsocket,id=qmp,path=/s/qmp.sock,server=on,wait=off\n"
				  "-mon\nchardev=qmp,mode=control\n"),
	       "argv: QMP on a socket QEMU serves without waiting");
	spec.ram_shared = false;
	spec.qmp_sock = NULL;
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv2, &err), 0, "argv: a restored VM's RAM");
	_cleanup_free_ char *got2 = argv2 ? join_argv(argv2) : NULL;
	TAP_OK(got2 && strstr(got2, "share=off,size=512M\n") && !strstr(got2, "qmp"),
	       "argv: a restored VM maps the file privately (copy-on-write)");
}

static void test_argv_exec_port(void)
{
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL;

	base_spec(&spec);
	spec.exec_sock = "/s/execport.sock";
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), 0, "argv: with the exec port");
	_cleanup_free_ char *got = argv ? join_argv(argv) : NULL;
	TAP_OK(got && strstr(got, "virtio-serial-device,max_ports=4\n"),
	       "argv: one port more (max_ports=4 without stdio ports)");
	TAP_OK(got &&
		   strstr(got, "-chardev\nsocket,id=exec,path=/s/execport.sock,server=on,"
			       "wait=on\n-device\nvirtserialport,chardev=exec,name=oci2vm.exec\n"),
	       "argv: the exec port's socket, served and waited for, named oci2vm.exec");
}

/* virtio-fs: the volume's vhost-user socket, the guest's memory a shared memfd, and
 * modern virtio-mmio (libvhost-user refuses legacy devices). */
static void test_argv_virtiofs(void)
{
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL;
	struct o2v_vm_volume vols[] = {{.host = "/b/rootfs", .vhost_user = "/s/vfs.sock"},
				       {.host = "/s/binds", .model = O2V_9P_PASSTHROUGH}};

	base_spec(&spec);
	spec.r.volumes = vols;
	spec.r.n_volumes = ARRAY_SIZE(vols);
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), 0, "argv: a virtio-fs volume");
	_cleanup_free_ char *got = argv ? join_argv(argv) : NULL;
	TAP_OK(got && strstr(got, "-object\nmemory-backend-memfd,id=ram,share=on,size=512M\n"
				  "-machine\nmemory-backend=ram\n-global\n"
				  "virtio-mmio.force-legacy=false\n"),
	       "argv: shared memfd RAM and modern virtio-mmio");
	TAP_OK(got && strstr(got, "-chardev\nsocket,id=v0,path=/s/vfs.sock\n-device\n"
				  "vhost-user-fs-device,chardev=v0,tag=o2v_v0\n"),
	       "argv: the root's vhost-user-fs device on virtiofsd's socket");
	TAP_OK(got && strstr(got, "-fsdev\nlocal,id=v1,path=/s/binds,security_model=passthrough,"
				  "multidevs=remap\n-device\nvirtio-9p-device,fsdev=v1,"
				  "mount_tag=o2v_v1\n") &&
		   !strstr(got, "path=/b/rootfs"),
	       "argv: the other volume stays 9p; the root is not exported twice");
}

static void test_argv_rejects(void)
{
	struct o2v_vm_spec spec;
	struct o2v_error err = {0};
	char **argv = NULL;
	struct o2v_port v6 = {.bind = "::1", .host = 1, .guest = 2};

	base_spec(&spec);
	spec.r.accel = O2V_ACCEL_AUTO;
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), -EINVAL, "argv: unresolved accel refused");
	spec.r.accel = O2V_ACCEL_TCG;
	spec.r.disk = "d";
	spec.r.disk_format = "vmdk";
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), -EINVAL, "argv: unknown disk format refused");
	TAP_OK(strstr(err.msg, "'vmdk'"), "argv: message names the format (%s)", err.msg);
	spec.r.disk_format = "raw";
	spec.r.ports = &v6;
	spec.r.n_ports = 1;
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), -EINVAL,
		   "argv: bind address with ':' refused");
	spec.r.n_ports = 0;
	spec.stdout_sock = "o";
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), -EINVAL,
		   "argv: a stdout port without a stderr port refused");
	spec.stdout_sock = NULL;
	spec.r.kernel = NULL;
	TAP_IS_INT(o2v_qemu_argv(&spec, &argv, &err), -EINVAL, "argv: no kernel refused");
	TAP_OK(argv == NULL, "argv: nothing returned on failure");
}

static void test_accel(const char *dir)
{
	static const char amd[] = "processor\t: 0\nflags\t\t: fpu vme svm sse2\n\n";
	static const char intel[] = "processor\t: 0\nflags\t\t: fpu vmx\n";
	static const char none[] = "processor\t: 0\nflags\t\t: fpu svmx vmxx hypervisor\n"
				   "bugs\t\t: svm vmx\n";
	struct o2v_error err = {0};
	enum o2v_accel a = O2V_ACCEL_TCG;

	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_AUTO, true, amd), O2V_ACCEL_KVM, "accel: svm + kvm");
	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_AUTO, true, intel), O2V_ACCEL_KVM,
		   "accel: vmx + kvm");
	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_AUTO, true, none), O2V_ACCEL_TCG,
		   "accel: /dev/kvm without vmx/svm flags (nested) → tcg; other lines ignored");
	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_AUTO, false, amd), O2V_ACCEL_TCG,
		   "accel: flags but no usable /dev/kvm → tcg");
	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_AUTO, true, NULL), O2V_ACCEL_TCG,
		   "accel: unreadable cpuinfo → tcg");
	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_KVM, false, NULL), O2V_ACCEL_KVM,
		   "accel: explicit kvm is obeyed");
	TAP_IS_INT(o2v_accel_choose(O2V_ACCEL_TCG, true, amd), O2V_ACCEL_TCG,
		   "accel: explicit tcg is obeyed");
	TAP_OK(o2v_accel_resolve(O2V_ACCEL_AUTO) != O2V_ACCEL_AUTO, "accel: resolve picks one");
#if defined(__x86_64__)
	/* Sanity, not precision: any x86-64 TSC of this century runs between 0.5 and 10 GHz. */
	_cleanup_free_ char *rt = o2v_path_join(dir, "rt");
	_cleanup_free_ char *cache = o2v_path_join(rt, "host-tsc-khz");
	_cleanup_free_ char *boot_id = NULL;
	setenv("OCI2VM_RUNTIME_DIR", rt, 1);
	unsigned long khz = o2v_host_tsc_khz();
	TAP_OK(khz == 0 || (khz > 500000 && khz < 10000000), "accel: host TSC rate %lu kHz", khz);
	if (khz &&
	    o2v_read_file("/proc/sys/kernel/random/boot_id", 64, &boot_id, NULL, NULL) == 0) {
		boot_id[strcspn(boot_id, "\n")] = '\0';
		_cleanup_free_ char *cached = NULL;
		char line[128];
		snprintf(line, sizeof(line), "%s %lu\n", boot_id, khz);
		TAP_OK(o2v_read_file(cache, 128, &cached, NULL, NULL) == 0 && !strcmp(cached, line),
		       "accel: the measured rate is cached with this boot's id (%s)", cache);
		int n = snprintf(line, sizeof(line), "%s 1234567\n", boot_id);
		TAP_IS_INT(o2v_write_file_atomic(cache, line, (size_t)n, 0600, NULL), 0,
			   "accel: plant another rate for this boot");
		TAP_IS_INT((long)o2v_host_tsc_khz(), 1234567L,
			   "accel: this boot's cached rate is used");
		TAP_IS_INT(o2v_write_file_atomic(cache, "another-boot 1234567\n", 21, 0600, NULL),
			   0, "accel: a rate cached in another boot");
		khz = o2v_host_tsc_khz();
		TAP_OK(khz != 1234567 && khz > 500000, "accel: ... is measured again (%lu kHz)",
		       khz);
	}
	unsetenv("OCI2VM_RUNTIME_DIR");
#endif
	TAP_IS_INT(o2v_accel_parse("kvm", &a, &err), 0, "accel: parse kvm");
	TAP_IS_INT(a, O2V_ACCEL_KVM, "accel: parsed value");
	TAP_IS_INT(o2v_accel_parse("hvf", &a, &err), -EINVAL, "accel: unknown value refused");
	TAP_OK(strstr(err.msg, "'hvf'"), "accel: message names the value (%s)", err.msg);
}

static void test_kernel_find(const char *dir)
{
	struct o2v_error err = {0};
	char *path = NULL;
	_cleanup_free_ char *missing = o2v_path_join(dir, "no-such-vmlinux");
	_cleanup_free_ char *text = o2v_path_join(dir, "notes.txt");
	_cleanup_free_ char *elf = o2v_path_join(dir, "vmlinux");
	unsigned char hdr[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};

	hdr[18] = 62; /* EM_X86_64 */
	o2v_write_file_atomic(text, "not a kernel\n", 13, 0644, &err);
	o2v_write_file_atomic(elf, hdr, sizeof(hdr), 0644, &err);

	setenv("OCI2VM_KERNEL", missing, 1);
	TAP_IS_INT(o2v_kernel_find(NULL, &path, &err), -ENOENT,
		   "kernel: missing OCI2VM_KERNEL file");
	TAP_OK(strstr(err.msg, missing) && strstr(err.msg, "OCI2VM_KERNEL"),
	       "kernel: message names the variable and the path (%s)", err.msg);
	setenv("OCI2VM_KERNEL", text, 1);
	TAP_IS_INT(o2v_kernel_find(NULL, &path, &err), -EINVAL, "kernel: non-kernel file refused");
	TAP_OK(strstr(err.msg, text) && strstr(err.msg, "not a kernel"),
	       "kernel: message names the path (%s)", err.msg);
	setenv("OCI2VM_KERNEL", dir, 1);
	TAP_IS_INT(o2v_kernel_find(NULL, &path, &err), -EINVAL, "kernel: directory refused");
	_cleanup_free_ char *arm = o2v_path_join(dir, "Image");
	unsigned char arm_hdr[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
	arm_hdr[18] = 183; /* EM_AARCH64 */
	o2v_write_file_atomic(arm, arm_hdr, sizeof(arm_hdr), 0644, &err);
	setenv("OCI2VM_KERNEL", arm, 1);
	TAP_IS_INT(o2v_kernel_find(NULL, &path, &err), -EINVAL, "kernel: an arm64 ELF refused");
	TAP_OK(strstr(err.msg, arm) && strstr(err.msg, "another architecture"),
	       "kernel: ... saying it is for another architecture (%s)", err.msg);
	setenv("OCI2VM_KERNEL", elf, 1);
	TAP_IS_INT(o2v_kernel_find(NULL, &path, &err), 0, "kernel: x86-64 ELF accepted");
	TAP_IS_STR(path, elf, "kernel: OCI2VM_KERNEL path returned");
	free(path);
	path = NULL;

	/* --kernel wins over OCI2VM_KERNEL and is checked the same way. */
	TAP_IS_INT(o2v_kernel_find(text, &path, &err), -EINVAL, "kernel: bad --kernel refused");
	TAP_OK(strstr(err.msg, text) && strstr(err.msg, "--kernel"),
	       "kernel: message names --kernel and the path (%s)", err.msg);
	setenv("OCI2VM_KERNEL", text, 1);
	TAP_IS_INT(o2v_kernel_find(elf, &path, &err), 0,
		   "kernel: --kernel wins over OCI2VM_KERNEL");
	TAP_IS_STR(path, elf, "kernel: the --kernel path returned");
	free(path);
	path = NULL;

	/* No override and an empty cache: the message says how to get a kernel. */
	unsetenv("OCI2VM_KERNEL");
	setenv("OCI2VM_CACHE", dir, 1);
	TAP_IS_INT(o2v_kernel_find(NULL, &path, &err), -ENOENT, "kernel: none built");
	TAP_OK(strstr(err.msg, "make kernel"), "kernel: message says 'make kernel' (%s)", err.msg);
}

static void test_qemu_find(const char *dir)
{
	struct o2v_error err = {0};
	char *path = NULL;

	setenv("PATH", dir, 1);
	TAP_IS_INT(o2v_qemu_find(NULL, &path, &err), -ENOENT, "qemu: not in PATH");
	TAP_OK(strstr(err.msg, "qemu-system-x86'") || strstr(err.msg, "qemu-system-x86 "),
	       "qemu: message names the Debian package (%s)", err.msg);
}

int main(void)
{
	char dir[] = "/tmp/test_qemu.XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	test_argv_full();
	test_cmdline_tcg_one_cpu();
	test_argv_minimal_kvm_verbose();
	test_argv_rejects();
	test_argv_incoming_and_extra();
	test_argv_snapshot();
	test_argv_exec_port();
	test_argv_virtiofs();
	test_accel(dir);
	test_kernel_find(dir);
	test_qemu_find(dir);
	o2v_rm_rf(dir, NULL);
	return tap_done();
}
