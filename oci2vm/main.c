/* main.c - oci2vm's entry point and command table.
 *
 * Dispatch is table-driven (git's cmd_struct, systemd's verbs): one line per
 * subcommand. Unknown commands exit 2 with a one-line hint.
 */
#include "../common/o2v.h"

#include <getopt.h>
#include <locale.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pullopts.h"

#ifndef O2V_VERSION
#define O2V_VERSION "0.0.0-unknown"
#endif

/* In the order `oci2vm --help` lists them: the everyday commands first. */
static const struct o2v_command commands[] = {
	{ "run", cmd_run, "boot an image as a microVM (pull and build as needed)", cmd_run_usage,
	  false },
	{ "export", cmd_export, "write an image as a bootable cpio(.gz) or ext4 disk", cmd_export_usage, false },
	{ "pull", cmd_pull, "download an image into the cache",
	  "usage: oci2vm pull [OPTIONS] REF\n\n"
	  "REF: [HOST[:PORT]/]NAME[:TAG][@DIGEST], oci:DIR[:TAG], oci-archive:FILE[:TAG],\n"
	  "docker-archive:FILE[:REF]. The last line printed names the manifest digest.\n\n"
	  O2V_PULL_USAGE, false },
	{ "inspect", cmd_inspect, "print an image's config as JSON (no layer download)",
	  "usage: oci2vm inspect [OPTIONS] REF\n\n" O2V_PULL_USAGE, false },
	{ "images", cmd_images, "list the images in the cache",
	  "usage: oci2vm images [-q] [--no-trunc]\n\n"
	  "  -q, --quiet   print only the references\n"
	  "  --no-trunc    print whole digests\n", false },
	{ "rmi", cmd_rmi, "remove image tags from the cache",
	  "usage: oci2vm rmi REF...\n\nUntag; 'oci2vm prune' then frees the space.\n", false },
	{ "prune", cmd_prune, "delete cached blobs no image uses",
	  "usage: oci2vm prune [-q]\n", false },
	{ "ps", cmd_ps, "list running VMs (-a: also stopped ones)",
	  "usage: oci2vm ps [-a] [-q]\n\n"
	  "List VMs: id, name, image, status (uptime or exit code) and published ports.\n\n"
	  "  -a, --all     also list VMs that have stopped\n"
	  "  -q, --quiet   print only the ids\n",
	  false },
	{ "logs", cmd_logs, "print the console output of a detached VM",
	  "usage: oci2vm logs [-f] [-n N] [--since TIME] NAME|ID\n\n"
	  "Print the console output of a VM started with 'oci2vm run -d'.\n\n"
	  "  -f, --follow    keep printing new output until the VM stops\n"
	  "  -n, --tail N    only the last N lines (all: every line)\n"
	  "      --since TIME  only output from TIME on (to the second): 2026-01-02T13:23:37Z,\n"
	  "                  2026-01-02 (local time without a zone), a Unix time, or a\n"
	  "                  duration before now such as 10m or 1h30m\n",
	  false },
	{ "exec", cmd_exec, "run a command in a running VM",
	  "usage: oci2vm exec [OPTIONS] NAME|ID COMMAND [ARG...]\n\n"
	  "Run COMMAND in the running VM's container, as 'docker exec': its root, user,\n"
	  "working directory, environment, cgroup and capabilities; its exit status is\n"
	  "oci2vm's (126: not executable, 127: not found). Ending oci2vm ends it.\n\n"
	  "  -i, --interactive     keep stdin open and forward it\n"
	  "  -t, --tty             give the command a terminal\n"
	  "  -d, --detach          run it in the background (output discarded)\n"
	  "  -e, --env K=V | K     set a variable (K alone: take it from this environment)\n"
	  "  -u, --user USER[:GROUP]  run as this user (default: the container's)\n"
	  "  -w, --workdir DIR     working directory (default: the container's)\n",
	  false },
	{ "start", cmd_start, "start stopped containers again, with what they wrote",
	  "usage: oci2vm start NAME|ID...\n\n"
	  "Run a stopped container again in the background, with the command line it was\n"
	  "created with and the writes it made (kept until 'oci2vm rm').\n",
	  false },
	{ "restart", cmd_restart, "stop, then start containers",
	  "usage: oci2vm restart [-t SECONDS] NAME|ID...\n\n"
	  "  -t, --time SECONDS   how long to wait for the stop before killing (default 10)\n",
	  false },
	{ "cp", cmd_cp, "copy files between the host and a running container",
	  "usage: oci2vm cp SRC NAME:DEST | oci2vm cp NAME:SRC DEST\n\n"
	  "Copy a file or directory into or out of a running container, as 'docker cp':\n"
	  "into DEST when it is a directory, else as DEST. Needs tar in the image.\n",
	  false },
	{ "port", cmd_port, "list a container's published ports",
	  "usage: oci2vm port NAME|ID [PORT[/PROTO]]\n\n"
	  "Print each published port as 'PORT/PROTO -> HOST_IP:HOST_PORT' (docker port).\n",
	  false },
	{ "wait", cmd_wait, "wait until VMs stop and print their exit codes",
	  "usage: oci2vm wait NAME|ID...\n\n"
	  "Block until each VM has stopped, then print its exit code on a line of its own\n"
	  "(as 'docker wait'; a VM that was killed shows 137).\n",
	  false },
	{ "stop", cmd_stop, "stop VMs gracefully (SIGTERM, then kill)",
	  "usage: oci2vm stop [-t SECONDS] NAME|ID...\n\n"
	  "Ask the VM's init to stop the workload: SIGTERM, then SIGKILL after the VM's\n"
	  "stop timeout; the VM is killed if it has not ended after SECONDS (default 10)\n"
	  "plus a short margin.\n\n"
	  "  -t, --time SECONDS   how long to wait before killing the VM\n",
	  false },
	{ "kill", cmd_kill, "kill VMs now, or send a signal to the workload",
	  "usage: oci2vm kill [-s SIGNAL] NAME|ID...\n\n"
	  "Without -s, end the VM at once (no grace). With -s, deliver SIGNAL (a name\n"
	  "such as TERM or HUP, or a number) to the workload inside the VM.\n",
	  false },
	{ "rm", cmd_rm, "remove stopped VMs",
	  "usage: oci2vm rm [-f] NAME|ID...\n\n"
	  "Remove the state (logs, exit code) of stopped VMs.\n\n"
	  "  -f, --force   kill a running VM first\n",
	  false },
	{ "login", cmd_login, "log in to a registry (stores credentials like docker login)",
	  "usage: oci2vm login [-u USER] [--password-stdin | -p PASS]\n"
	  "                    [--insecure-registry HOST] [SERVER]\n\n"
	  "Check the credentials with the registry (default docker.io), then store them\n"
	  "in ~/.docker/config.json ($DOCKER_CONFIG), or with the configured credential\n"
	  "helper (credsStore/credHelpers), where docker and podman find them too.\n", false },
	{ "logout", cmd_logout, "remove the stored credentials of a registry",
	  "usage: oci2vm logout [SERVER]\n", false },
	{ "help", cmd_help, "show help for oci2vm or one command",
	  "usage: oci2vm help [COMMAND]\n", false },
	{ "version", cmd_version, "print the version", "usage: oci2vm version\n", false },
	{ "info", cmd_info, "show the kernel, init, QEMU and accelerator oci2vm will use",
	  "usage: oci2vm info\n\n"
	  "Print the kernel, guest init, QEMU and BusyBox a run would use and where each comes\n"
	  "from, which accelerator --accel auto picks and why, and the cache and runtime\n"
	  "directories. Exit status 1 when a part a run needs is missing.\n", false },
	{ "boot", cmd_boot, "boot an initramfs on the microVM kernel (plumbing)",
	  "usage: oci2vm boot [OPTIONS] INITRD\n\n"
	  "Boot INITRD (cpio or cpio.gz with an /init) in a QEMU microVM. The console is on\n"
	  "stdio; the exit status is the guest's 'exit N' status line, else 128+N when QEMU\n"
	  "was killed by signal N, else 125. SIGINT/SIGTERM send 'stop' to the guest, then\n"
	  "kill it after 5 s.\n\n"
	  "  --kernel FILE          kernel to boot (default: OCI2VM_KERNEL or 'make kernel')\n"
	  "  --accel auto|kvm|tcg   accelerator (auto: KVM only where it works)\n"
	  "  --memory SIZE          guest memory (default 512M)\n"
	  "  --cpus N               virtual CPUs (default 1)\n"
	  "  --append ARGS          extra kernel command line arguments\n"
	  "  --disk FILE            raw disk image as /dev/vda\n"
	  "  --net                  user-mode network (eth0)\n"
	  "  --volume HOST:GUEST[:ro]  share HOST over 9p (the i-th gets tag o2v_v<i>, which a\n"
	  "                         run config from 'runconfig -v HOST:GUEST' mounts at GUEST)\n"
	  "  -v, --verbose          show kernel messages (early ones via the serial port)\n",
	  true },
	{ "runconfig", cmd_runconfig, "print a guest run config (plumbing, for tests)",
	  "usage: oci2vm runconfig [--image-entrypoint A]... [--image-cmd A]... [--image-env K=V]...\n"
	  "       [--entrypoint X] [-e K[=V]]... [--env-file F] [-u USER] [-w DIR] [-h NAME]\n"
	  "       [--no-hostname] [--no-network] [--dns IP] [--add-host NAME:IP] [-v HOST:GUEST[:ro]]\n"
	  "       [-t] [-i] [--winsize RxC] [--stop-timeout S] [--verbose] [--shell] [--rootdisk DEV]\n"
	  "       [--hold] [-o FILE] [--] [ARGS...]\n",
	  true },
};

const struct o2v_command *o2v_command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_main_help(FILE *out)
{
	fprintf(out, "usage: oci2vm [--version] [--help] COMMAND [ARGS...]\n\n"
		     "Turn an OCI/Docker container image into a microVM and boot it.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!commands[i].hidden)
			fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'oci2vm help COMMAND' for a command's options.\n"
		     "Environment: OCI2VM_CACHE (cache directory), OCI2VM_KERNEL (kernel to boot).\n");
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_main_help(stdout);
		return O2V_EXIT_OK;
	}
	if (argc > 2)
		return o2v_cli_usage_error("help", "too many arguments");
	if (!o2v_command_find(argv[1])) {
		o2v_cli_error("unknown command '%s'; see 'oci2vm --help'", argv[1]);
		return O2V_EXIT_USAGE;
	}
	return o2v_cli_print_usage(argv[1]);
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return o2v_cli_usage_error("version", "takes no arguments");
	printf("oci2vm %s\n", O2V_VERSION);
	return O2V_EXIT_OK;
}

int main(int argc, char **argv)
{
	/* Commands report a bad option themselves, once (o2v_cli_bad_option()). */
	opterr = 0;
	/* Under this name (an installed symlink) the binary is an OCI runtime (runtime.c). */
	const char *base = strrchr(argv[0], '/');
	if (!strcmp(base ? base + 1 : argv[0], "oci2vm-runtime"))
		return o2v_runtime_main(argc, argv);
	/* UTF-8 file names in layers must survive libarchive's locale conversion. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");

	if (argc < 2) {
		print_main_help(stderr);
		return O2V_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		return cmd_help(1, argv + 1);
	if (!strcmp(name, "--version"))
		return cmd_version(1, argv + 1);

	const struct o2v_command *c = o2v_command_find(name);
	if (!c) {
		o2v_cli_error("unknown command '%s'; see 'oci2vm --help'", name);
		return O2V_EXIT_USAGE;
	}
	/* "oci2vm CMD --help" right after the command, before it parses anything;
	 * later --help words may belong to a container command and are left alone. */
	if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")))
		return o2v_cli_print_usage(name);
	return c->fn(argc - 1, argv + 1);
}
