#!/usr/bin/env bash
# tests/kvm/l1.sh - run a command one nesting level down, where KVM works although this
# machine has no vmx/svm (t_nested_kvm.sh uses it; runnable by hand too).
#
# L0 (this machine, no vmx/svm) runs L1 = the Debian cloud kernel under QEMU TCG with
# -cpu max, which emulates AMD SVM. L1 boots a busybox initramfs that loads kvm + kvm_amd,
# mounts L0's root file system read-only over virtio-fs, adds tmpfs for /var/tmp (TMPDIR),
# /run, /dev/shm and a devpts, and runs a command in a chroot of that root. By default the
# command is `oci2vm info` and `oci2vm boot --accel kvm` of a probe initramfs whose /init
# prints the L2 guest's clocksource (kvm-clock under KVM) and reports `exit 0` on the
# oci2vm status port (`exit 3` when the clocksource is not kvm-clock).
#
# usage: l1.sh [-M q35|microvm] [-k] [-v] [-q] [-- COMMAND...]
#   -M MACHINE   L1 machine type (default q35; also L1_MACHINE)
#   -k           keep the work directory (printed at the end)
#   -v           L1 kernel messages on the console (earlyprintk, ignore_loglevel)
#   -q           do not echo the L1 console while it runs (it is still in WORK/console.log)
#   COMMAND      run this instead (by bash in the chroot, cwd /, words quoted as given);
#                the script then exits with its status. $L1_SHARE in it is a directory
#                shared from L0 (read-only) that holds probe.cpio and vmlinux (oci2vm's
#                kernel); $OCI2VM is oci2vm's path.
# Environment: O2V_TOP (default /work/main), L1_KERNEL (default the newest
#   /boot/vmlinuz-*-cloud-amd64), L1_MEM (3G), L1_CPUS (2), L1_TIMEOUT (300 s),
#   OCI2VM_KERNEL (L2 kernel; default build/vmlinux, else `kernel/build.sh --path`),
#   L1_TSC_KHZ (L0's TSC rate; default from dmesg or /proc/cpuinfo), L1_APPEND (more L1
#   kernel arguments), TMPDIR (where the work directory goes; default /tmp).
# Exit: 0 pass, 1 fail, 77 skip (a prerequisite is missing).
# Output ends with "RESULT key=value" lines: l1_userspace_s, l1_wall_s, auto_accel,
#   inner_clocksource, inner_exit, cmd_exit.
set -u

O2V_TOP=${O2V_TOP:-/work/main}
MACHINE=${L1_MACHINE:-q35}
MEM=${L1_MEM:-3G}
CPUS=${L1_CPUS:-2}
TIMEOUT=${L1_TIMEOUT:-300}
QEMU=${QEMU:-qemu-system-x86_64}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
BUSYBOX=${BUSYBOX:-/bin/busybox}
KEEP=0
QUIET=0
VERBOSE=0
USER_CMD=()

while [ $# -gt 0 ]; do
	case $1 in
	-M) MACHINE=$2; shift 2 ;;
	-k) KEEP=1; shift ;;
	-q) QUIET=1; shift ;;
	-v) VERBOSE=1; shift ;;
	--) shift; USER_CMD=("$@"); break ;;
	*) echo "usage: $0 [-M q35|microvm] [-k] [-v] [-q] [-- COMMAND...]" >&2; exit 2 ;;
	esac
done

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- prerequisites -----------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (virtiofsd, mount namespace)"
command -v "$QEMU" >/dev/null || skip "$QEMU not installed (qemu-system-x86)"
[ -x "$VIRTIOFSD" ] || skip "$VIRTIOFSD missing (qemu-system-common 7.2; newer: package virtiofsd)"
[ -x "$BUSYBOX" ] || skip "$BUSYBOX missing (busybox-static)"
command -v cpio >/dev/null || skip "cpio not installed"
command -v modinfo >/dev/null || skip "modinfo missing (kmod)"
command -v unshare >/dev/null || skip "unshare missing (util-linux)"
case $MACHINE in q35 | microvm) ;; *) die "unknown machine '$MACHINE' (q35 or microvm)" ;; esac

if [ -z "${L1_KERNEL:-}" ]; then
	L1_KERNEL=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
	[ -n "$L1_KERNEL" ] || skip "no /boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64)"
fi
KVER=${L1_KERNEL##*/vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -d "$MODDIR" ] || skip "$MODDIR missing (modules of $L1_KERNEL)"

OCI2VM=$O2V_TOP/build/oci2vm
# The L2 kernel for oci2vm: build/vmlinux, else the cached `make kernel` build. Only the
# default test needs it (and oci2vm); a COMMAND gets it in $L1_SHARE/vmlinux when found.
if [ -z "${OCI2VM_KERNEL:-}" ]; then
	if [ -e "$O2V_TOP/build/vmlinux" ]; then
		OCI2VM_KERNEL=$O2V_TOP/build/vmlinux
	else
		OCI2VM_KERNEL=$("$O2V_TOP/kernel/build.sh" --path 2>/dev/null) || OCI2VM_KERNEL=
	fi
fi
if [ ${#USER_CMD[@]} -eq 0 ]; then
	[ -x "$OCI2VM" ] || skip "$OCI2VM not built"
	[ -n "$OCI2VM_KERNEL" ] || skip "no oci2vm kernel (build/vmlinux missing, 'make kernel' not run)"
	[ -f "$OCI2VM_KERNEL" ] || skip "oci2vm kernel $OCI2VM_KERNEL missing"
fi

# The work directory is shared into L1 (read-only, at the same path), so no odd characters.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nested-kvm.XXXXXX") || die "mktemp"
case $WORK in *[!A-Za-z0-9/._-]*) die "work directory '$WORK' has odd characters" ;; esac
VFSD_PID=
QEMU_PID=
cleanup() {
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	[ -n "$VFSD_PID" ] && kill "$VFSD_PID" 2>/dev/null
	wait 2>/dev/null
	if [ $KEEP = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the L1 initramfs: busybox, modules, /init ---------------------------------------------
L1ROOT=$WORK/l1root
mkdir -p "$L1ROOT/bin" "$L1ROOT/lib/modules" "$L1ROOT/proc" "$L1ROOT/sys" "$L1ROOT/dev" \
	"$L1ROOT/newroot" "$L1ROOT/share"
cp "$BUSYBOX" "$L1ROOT/bin/busybox"

# Modules in load order (dependencies first), from modinfo's "depends" (= modules.dep).
declare -A SEEN=()
MODLIST=()
add_module() {
	local name=$1 path dep
	[ -n "${SEEN[$name]:-}" ] && return 0
	SEEN[$name]=1
	path=$(modinfo -k "$KVER" -n "$name" 2>/dev/null) || die "module $name not in $MODDIR"
	[ "$path" = "(builtin)" ] && return 0
	for dep in $(modinfo -k "$KVER" -F depends "$name" | tr , ' '); do
		add_module "$dep"
	done
	local out=$L1ROOT/lib/modules/$name.ko
	case $path in
	*.ko) cp "$path" "$out" ;;
	*.ko.xz) xz -dc "$path" >"$out" ;;
	*.ko.zst) zstd -qdc "$path" >"$out" ;;
	*.ko.gz) gzip -dc "$path" >"$out" ;;
	*) die "module file $path: unknown format" ;;
	esac || die "copy $path"
	MODLIST+=("$name")
}
# virtio transports (PCI for q35, MMIO for microvm), virtio-fs, KVM.
for m in virtio_pci virtio_mmio virtiofs kvm kvm_amd; do add_module "$m"; done
printf '%s\n' "${MODLIST[@]}" >"$L1ROOT/modules.list"
echo "L1 modules: ${MODLIST[*]}"

cat >"$L1ROOT/share.conf" <<EOF
SHARE=$WORK
CMD_SHELL=$BASH
EOF

cat >"$L1ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "L1-USERSPACE uptime=$(cut -d' ' -f1 /proc/uptime)"
fail() { echo "L1-FAIL $*"; echo "L1-CMD-EXIT=125"; sync; reboot -f; sleep 10; }
. /share.conf
while read -r m; do
	insmod "/lib/modules/$m.ko" || echo "L1-WARN insmod $m failed"
done </modules.list
grep -qw svm /proc/cpuinfo && echo "L1-CPU svm=yes" || echo "L1-CPU svm=no"
echo "L1-CLOCKSOURCE=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
ip link set lo up # published ports of the VMs inside L1 listen on its loopback
if [ -c /dev/kvm ]; then echo "L1-KVM /dev/kvm present"; else fail "no /dev/kvm after loading kvm_amd"; fi
i=0
until mount -t virtiofs -o ro hostroot /newroot 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "mount -t virtiofs hostroot: $(mount -t virtiofs -o ro hostroot /newroot 2>&1)"
	sleep 0.1
done
echo "L1-MOUNTED uptime=$(cut -d' ' -f1 /proc/uptime)"
# Keep the share (under L0's /tmp) visible after the tmpfs mounts hide L0's /tmp.
mount --bind "/newroot$SHARE" /share
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
# L0's /tmp stays visible (read-only): a checkout or build directory may live there. What
# writes goes to /var/tmp (TMPDIR), /run and /dev/shm.
mount -t tmpfs -o mode=1777 tmpfs $R/var/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
mkdir -p "$R$SHARE"
mount --bind /share "$R$SHARE"
echo "L1-CHROOT uptime=$(cut -d' ' -f1 /proc/uptime)"
cd $R
env -i HOME=/root TERM=dumb L1_SHARE="$SHARE" TMPDIR=/var/tmp \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	chroot $R "$CMD_SHELL" "$SHARE/cmd.sh"
rc=$?
echo "L1-CMD-EXIT=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
reboot -f
EOF
chmod 755 "$L1ROOT/init"
(cd "$L1ROOT" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$WORK/l1.cpio" ||
	die "cpio of the L1 initramfs"

# --- what L1 runs ---------------------------------------------------------------------------
# Always built, so that a COMMAND can use them too: $L1_SHARE/probe.cpio, $L1_SHARE/vmlinux.
# L2: a busybox /init that prints its clocksource and reports on oci2vm's status port.
P=$WORK/probe
mkdir -p "$P/bin"
cp "$BUSYBOX" "$P/bin/busybox"
cat >"$P/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec </dev/console >/dev/console 2>&1
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
echo "INNER-CLOCKSOURCE=$cs"
echo "INNER-UPTIME=$(cut -d' ' -f1 /proc/uptime)"
echo "INNER-HYPERVISOR=$(dmesg | grep -m1 -o 'Hypervisor detected: .*')"
rc=0
[ "$cs" = kvm-clock ] || rc=3
for n in /sys/class/virtio-ports/*/name; do
	[ "$(cat "$n" 2>/dev/null)" = oci2vm.status ] || continue
	d=${n%/name}
	echo "exit $rc" >"/dev/${d##*/}"
done
reboot -f
EOF
chmod 755 "$P/init"
(cd "$P" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$WORK/probe.cpio" ||
	die "cpio of the probe initramfs"
# The kernel may live under L0's /tmp (hidden in L1 by a tmpfs): share a copy.
if [ -f "$OCI2VM_KERNEL" ]; then
	cp -L "$OCI2VM_KERNEL" "$WORK/vmlinux" || die "copy $OCI2VM_KERNEL"
fi
if [ ${#USER_CMD[@]} -gt 0 ]; then
	{
		echo "cd / || exit 125"
		echo "export OCI2VM=$OCI2VM"
		printf '%q ' "${USER_CMD[@]}"
		echo
	} >"$WORK/cmd.sh"
else
	cat >"$WORK/cmd.sh" <<EOF
cd / || exit 125
O=$OCI2VM
echo "== \$O info"
"\$O" info
echo "L1-INFO-EXIT=\$?"
# Read QEMU and its libraries into L1's page cache first: oci2vm's KVM check boots a test
# guest with a 5 s deadline, and its first QEMU start also pays for reads over virtio-fs.
qemu-system-x86_64 -version >/dev/null
echo "== \$O boot --accel kvm --kernel \$L1_SHARE/vmlinux \$L1_SHARE/probe.cpio"
t0=\$(date +%s.%N)
"\$O" boot --accel kvm --kernel "\$L1_SHARE/vmlinux" "\$L1_SHARE/probe.cpio" </dev/null
rc=\$?
t1=\$(date +%s.%N)
echo "L1-BOOT-EXIT=\$rc seconds=\$(awk -v a=\$t0 -v b=\$t1 'BEGIN{printf "%.2f", b-a}')"
exit \$rc
EOF
fi

# --- L0 root, read-only, over virtio-fs ----------------------------------------------------
# The C virtiofsd of QEMU 7.2 has no read-only option: run it in a private mount namespace
# where the shared tree is a read-only bind mount of /, so L1 cannot write to L0 whatever
# it mounts.
mkdir -p "$WORK/ro"
SOCK=$WORK/vfs.sock
unshare -m --propagation private sh -c '
	mount --bind / "$1" && mount -o remount,bind,ro "$1" || exit 1
	exec "$2" --socket-path="$3" -o source="$1" -o cache=always -o sandbox=namespace \
		-o log_level=warn
' virtiofsd "$WORK/ro" "$VIRTIOFSD" "$SOCK" 2>"$WORK/virtiofsd.log" &
VFSD_PID=$!
for ((i = 0; i < 100; i++)); do
	[ -S "$SOCK" ] && break
	kill -0 $VFSD_PID 2>/dev/null || die "virtiofsd exited: $(cat "$WORK/virtiofsd.log")"
	sleep 0.05
done
[ -S "$SOCK" ] || die "virtiofsd made no socket: $(cat "$WORK/virtiofsd.log")"

# --- L1 ---------------------------------------------------------------------------------------
# Under TCG the guest's TSC is L0's (invariant) TSC, but L1's calibration of it against the
# PIT fails when L0 is busy ("tsc: Unable to calibrate against PIT"); microvm has no HPET or
# ACPI PM timer to fall back on, and L1 then hangs right after "Marking TSC unstable" (4 of
# 6 microvm boots). So hand L1 the rate (as oci2vm does for its TCG guests) and keep the
# TSC as its clocksource; with 2 vCPUs the sync check would otherwise demote it too.
TSC_KHZ=${L1_TSC_KHZ:-}
if [ -z "$TSC_KHZ" ]; then
	mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p;
		s/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | tail -1)
	[ -n "$mhz" ] || ! grep -qw constant_tsc /proc/cpuinfo ||
		mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	[ -n "$mhz" ] && TSC_KHZ=$(awk -v m="$mhz" 'BEGIN { printf "%d", m * 1000 }')
fi
APPEND="console=ttyS0 reboot=t panic=-1 rdinit=/init no_timer_check"
[ -n "$TSC_KHZ" ] && APPEND+=" tsc_early_khz=$TSC_KHZ tsc=reliable"
if [ $VERBOSE = 1 ]; then
	APPEND+=" earlyprintk=serial,ttyS0,115200 ignore_loglevel"
else
	APPEND+=" quiet loglevel=4"
fi
APPEND+=${L1_APPEND:+ $L1_APPEND}
Q=("$QEMU" -nodefaults -no-user-config -display none -no-reboot
	-accel tcg,thread=multi -cpu max -smp "$CPUS" -m "$MEM"
	-object "memory-backend-memfd,id=mem,size=$MEM,share=on")
if [ "$MACHINE" = q35 ]; then
	Q+=(-M q35,memory-backend=mem
		-device "vhost-user-fs-pci,chardev=vfs,tag=hostroot")
else
	# virtio-mmio is legacy (version 1) by default in QEMU 7.2, which libvhost-user (virtiofsd)
	# refuses: "virtio legacy devices aren't supported by libvhost-user".
	Q+=(-M microvm,memory-backend=mem,rtc=on -global virtio-mmio.force-legacy=false
		-device "vhost-user-fs-device,chardev=vfs,tag=hostroot")
fi
Q+=(-chardev "socket,id=vfs,path=$SOCK" -serial stdio
	-kernel "$L1_KERNEL" -initrd "$WORK/l1.cpio" -append "$APPEND")
printf '%q ' "${Q[@]}" >"$WORK/qemu-cmdline.txt"
echo "L1 QEMU: $(cat "$WORK/qemu-cmdline.txt")"

LOG=$WORK/console.log
: >"$LOG"
T0=$(now)
T_USER=
coproc QC { exec timeout -k 5 "$TIMEOUT" "${Q[@]}" </dev/null 2>&1; }
QEMU_PID=$QC_PID
while IFS= read -r line <&"${QC[0]}"; do
	line=${line//$'\r'/}
	t=$(now)
	printf '%s\n' "$line" >>"$LOG"
	[ $QUIET = 1 ] || printf '[%6s] %s\n' "$(elapsed "$T0" "$t")" "$line"
	case $line in L1-USERSPACE*) T_USER=$(elapsed "$T0" "$t") ;; esac
done
wait "$QEMU_PID"
QRC=$?
QEMU_PID=
T1=$(now)
WALL=$(elapsed "$T0" "$T1")
[ $QRC = 124 ] && echo "FAIL: L1 timed out after $TIMEOUT s"

# --- verdict ---------------------------------------------------------------------------------
field() { grep -a -m1 -o "$1=[^ ]*" "$LOG" | head -1 | cut -d= -f2; }
CMD_RC=$(field L1-CMD-EXIT)
CS=$(field INNER-CLOCKSOURCE)
BOOT_RC=$(field L1-BOOT-EXIT)
AUTO=$(grep -a -m1 -o 'auto picks [a-z]*' "$LOG" | awk '{print $3}')
echo "RESULT machine=$MACHINE"
echo "RESULT qemu_exit=$QRC"
echo "RESULT l1_userspace_s=${T_USER:-none}"
echo "RESULT l1_wall_s=$WALL"
echo "RESULT cmd_exit=${CMD_RC:-none}"
grep -a 'L1-FAIL\|L1-WARN' "$LOG" | sed 's/^/RESULT problem: /'
if [ ${#USER_CMD[@]} -gt 0 ]; then
	[ -n "$CMD_RC" ] || die "L1 reported no exit status"
	exit "$CMD_RC"
fi
echo "RESULT auto_accel=${AUTO:-none}"
echo "RESULT inner_clocksource=${CS:-none}"
echo "RESULT inner_exit=${BOOT_RC:-none}"
ok=1
[ "$AUTO" = kvm ] || { echo "FAIL: oci2vm info in L1 does not pick kvm"; ok=0; }
[ "$CS" = kvm-clock ] || { echo "FAIL: inner clocksource '${CS:-none}', want kvm-clock"; ok=0; }
[ "$BOOT_RC" = 0 ] || { echo "FAIL: oci2vm boot --accel kvm exited ${BOOT_RC:-none}"; ok=0; }
grep -a -m1 'oci2vm: error:.*' "$LOG" | sed 's/^/FAIL: in L1: /'
grep -aq 'test guest did not boot within' "$LOG" &&
	echo "FAIL: (oci2vm's KVM check boots a test guest with a fixed deadline; in L1 that boot" \
		"is emulated by L0's TCG and takes 2-4 s, so a busy L0 can miss it)"
[ $ok = 1 ] && echo "PASS: KVM works in L1 (wall ${WALL}s)" && exit 0
exit 1
