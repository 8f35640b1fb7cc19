# tests/init/lib.sh - build test initramfs images for bootstrap-init and boot them.
#
#   . "$O2V_TOP/tests/init/lib.sh"
#   init_require_vm                      skip_all unless init, oci2vm, a kernel, QEMU, cpio
#                                        and busybox are there
#   init_find_kernel || skip_all "..."   sets KERNEL (OCI2VM_KERNEL, else the cached build)
#   init_base_root DIR                   a tiny container root: its own busybox + applets,
#                                        /etc/passwd and /etc/group with test users
#   init_cpio STAGE OUT                  cpio -o -H newc of STAGE (owner 0:0)
#   init_image OUT STAGE -- RUNCONFIG_ARGS...
#                                        /init, /bin/busybox (the shim), STAGE/app_root,
#                                        /.oci2vm/run.conf from `oci2vm runconfig`
#   vm_start INITRD [--net]              boot in the background; VM_OUT is the console file;
#                                        VM_APPEND adds kernel arguments, VM_STDIN is a
#                                        file fed to the console (default /dev/null),
#                                        VM_DISK a raw disk image (/dev/vda), VM_VOLUMES an
#                                        array of HOST_DIR:GUEST_DIR[:ro] 9p shares (as -v)
#   vm_wait_for REGEX [SECONDS]          wait until the console matches
#   vm_ctl BYTES                         one connection to the control socket, BYTES sent
#                                        as they are (Python escapes: 'signal 10\n')
#   vm_stop                              the host's stop request (control port "stop")
#   vm_wait                              wait for the end; sets BOOT_OUT, BOOT_RC, BOOT_STATUS
#   vm_not_ready NAME SKIPS              vm_wait, one failure, SKIPS skips
#   init_boot INITRD [--net]             vm_start + vm_wait
#
# Two ways to boot, chosen once by init_pick_boot: `oci2vm boot` (the real host side) when it
# boots a trivial image, else a QEMU command line of our own that follows docs/vm-contract.md
# with the machine options the current kernel needs (BOOT_MODE=own). In "own" mode the status
# port is a file we read (BOOT_STATUS) and "stop" is written to the control socket directly;
# `oci2vm boot` keeps both inside its run directory, so there BOOT_STATUS is empty and stop is
# its SIGTERM (which it turns into "stop" on the control socket).

INIT_BIN=${O2V_BUILD:?}/init
OCI2VM=${O2V_BUILD}/oci2vm
BUSYBOX=${BUSYBOX:-/bin/busybox}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-90}
BOOT_MODE=${BOOT_MODE:-}
QEMU=${QEMU:-qemu-system-x86_64}

init_require_vm() {
	[ -x "$INIT_BIN" ] && [ -s "$INIT_BIN" ] || skip_all "build/init not built (run make)"
	[ -x "$OCI2VM" ] || skip_all "build/oci2vm not built (run make)"
	init_find_kernel || skip_all "no kernel yet (make kernel, or set OCI2VM_KERNEL)"
	command -v "$QEMU" >/dev/null || skip_all "$QEMU not installed"
	command -v cpio >/dev/null || skip_all "cpio not installed"
	[ -x "$BUSYBOX" ] || skip_all "busybox-static not installed ($BUSYBOX)"
}

init_find_kernel() {
	if [ -n "${OCI2VM_KERNEL:-}" ] && [ -f "$OCI2VM_KERNEL" ]; then
		KERNEL=$OCI2VM_KERNEL
		return 0
	fi
	local key cache
	key=$("$O2V_TOP/kernel/build.sh" --key 2>/dev/null) || return 1
	if [ -n "${OCI2VM_CACHE:-}" ]; then
		cache=$OCI2VM_CACHE
	elif [ -n "${XDG_CACHE_HOME:-}" ]; then
		cache=$XDG_CACHE_HOME/oci2vm
	else
		cache=$HOME/.cache/oci2vm
	fi
	KERNEL=$cache/kernel/$key/vmlinux
	[ -f "$KERNEL" ]
}

# A container root the way an image has it: its own busybox and applet links
# (never the shim that init keeps at /bin/busybox outside), users and groups.
init_base_root() {
	local r=$1 a
	mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/run" "$r/home/app" "$r/root"
	chmod 1777 "$r/tmp"
	cp "$BUSYBOX" "$r/bin/busybox"
	for a in sh id ps cat echo sleep ls grep kill hostname ip true false env pwd mkdir \
		stat head tr wc printf test sed tty stty cut; do
		ln -sf busybox "$r/bin/$a"
	done
	cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:App:/home/app:/bin/sh
# a comment the image left behind
svc:x:2000:2000::/srv/svc:/bin/sh
EOF
	cat >"$r/etc/group" <<'EOF'
root:x:0:
app:x:1000:
wheel:x:10:app
audio:x:29:app,svc
svc:x:2000:
staff:x:50:
EOF
	printf 'nameserver 192.0.2.99\n' >"$r/etc/resolv.conf"
	printf '127.0.0.1 image-hosts\n' >"$r/etc/hosts"
}

init_cpio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$2"
}

init_image() {
	local out=$1 stage=$2
	shift 3
	mkdir -p "$stage/bin" "$stage/.oci2vm"
	cp "$INIT_BIN" "$stage/init"
	cp "$BUSYBOX" "$stage/bin/busybox"
	"$OCI2VM" runconfig -o "$stage/.oci2vm/run.conf" "$@" || return 1
	init_cpio "$stage" "$out"
}

_own_qemu_start() { # INITRD NET
	local net=() storage=() i=0 v host guest ro
	[ "$2" = 1 ] && net=(-netdev user,id=n0 -device virtio-net-device,netdev=n0)
	[ -n "${VM_DISK:-}" ] && storage+=(-drive "id=root,file=$VM_DISK,format=raw,if=none"
		-device virtio-blk-device,drive=root)
	for v in ${VM_VOLUMES[@]+"${VM_VOLUMES[@]}"}; do
		# HOST:GUEST[:ro] as oci2vm's -v; volume i has the tag o2v_v<i> (common/vmproto.h).
		IFS=: read -r host guest ro <<<"$v"
		storage+=(-fsdev "local,id=v$i,path=$host,security_model=none${ro:+,readonly=on}"
			-device "virtio-9p-device,fsdev=v$i,mount_tag=o2v_v$i")
		i=$((i + 1))
	done
	# The current kernel needs the PIT and PIC to get a timer (it stalls without them).
	"$QEMU" -M microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=off \
		-accel tcg,thread=multi -cpu max,-erms -m 256M -smp 1 \
		-no-reboot -nodefaults -no-user-config -display none \
		-kernel "$KERNEL" -initrd "$1" \
		-append "console=hvc0 quiet reboot=t panic=-1${VM_APPEND:+ $VM_APPEND}" \
		-device virtio-serial-device,max_ports=3 \
		-chardev stdio,id=con -device virtconsole,chardev=con \
		-chardev file,id=st,path="$VM_DIR/status" \
		-device virtserialport,chardev=st,name=oci2vm.status \
		-chardev socket,id=ctl,path="$VM_DIR/ctl.sock",server=on,wait=off \
		-device virtserialport,chardev=ctl,name=oci2vm.ctl \
		-device virtio-rng-device "${storage[@]}" "${net[@]}" <"${VM_STDIN:-/dev/null}" \
		>"$VM_OUT" \
		2>"$VM_DIR/qemu.err" &
	VM_PID=$!
}

vm_start() { # INITRD [--net]
	local net=0
	[ "${2:-}" = --net ] && net=1
	VM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/o2v-initvm.XXXXXX")
	VM_OUT=$VM_DIR/console
	if [ "$BOOT_MODE" = own ]; then
		_own_qemu_start "$1" "$net"
	else
		local args=(--accel tcg --kernel "$KERNEL") v
		[ "$net" = 1 ] && args+=(--net)
		[ -n "${VM_APPEND:-}" ] && args+=(--append "$VM_APPEND")
		[ -n "${VM_DISK:-}" ] && args+=(--disk "$VM_DISK")
		for v in ${VM_VOLUMES[@]+"${VM_VOLUMES[@]}"}; do args+=(--volume "$v"); done
		# TMPDIR puts oci2vm boot's run directory (and its ctl.sock) where vm_ctl finds it.
		TMPDIR=$VM_DIR "$OCI2VM" boot "${args[@]}" "$1" <"${VM_STDIN:-/dev/null}" \
			>"$VM_OUT" 2>&1 &
		VM_PID=$!
	fi
	VM_START=$(date +%s)
}

vm_wait_for() { # REGEX [SECONDS]
	local deadline=$(($(date +%s) + ${2:-$BOOT_TIMEOUT}))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		grep -qE "$1" "$VM_OUT" 2>/dev/null && return 0
		kill -0 "$VM_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

vm_ctl() { # BYTES
	local sock=$VM_DIR/ctl.sock
	[ "$BOOT_MODE" = own ] || sock=$(ls -d "$VM_DIR"/oci2vm-boot-*/ctl.sock 2>/dev/null | head -1)
	[ -S "$sock" ] || return 1
	python3 -c 'import codecs,socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(codecs.decode(sys.argv[2], "unicode_escape").encode("latin-1")); s.close()' "$sock" "$1"
}

vm_stop() {
	if [ "$BOOT_MODE" = own ]; then
		vm_ctl 'stop\n'
	else
		kill -TERM "$VM_PID"
	fi
}

# The workload never printed what the test waits for: end the VM, fail once, skip the rest.
vm_not_ready() { # NAME SKIPS
	local i
	vm_wait
	not_ok "$1: workload never became ready"
	diag "$BOOT_OUT"
	for ((i = 0; i < $2; i++)); do skip "$1: not tested"; done
}

vm_wait() {
	local left=$((BOOT_TIMEOUT - ($(date +%s) - VM_START)))
	[ "$left" -gt 0 ] || left=1
	# A VM that outlives the timeout is a failure of its own; kill it, never hang the suite.
	(sleep "$left" && kill -KILL "$VM_PID" 2>/dev/null) &
	local watchdog=$!
	wait "$VM_PID"
	BOOT_RC=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	BOOT_OUT=$(cat "$VM_OUT")
	BOOT_STATUS=$(cat "$VM_DIR/status" 2>/dev/null)
	if [ "$BOOT_MODE" = own ]; then
		# QEMU's own status is 0 for a guest reboot: the code is the status port's.
		local last
		last=$(printf '%s\n' "$BOOT_STATUS" | grep -E '^exit [0-9]+$' | tail -1)
		BOOT_RC=${last#exit }
		[ -n "$BOOT_RC" ] || BOOT_RC=125
	fi
	rm -rf "$VM_DIR"
}

init_boot() {
	vm_start "$@"
	vm_wait
}

# Use `oci2vm boot` if it can boot a trivial image with this kernel; else our own QEMU line.
init_pick_boot() { # STAGE_DIR (scratch)
	[ -n "$BOOT_MODE" ] && return 0
	local s=$1 old_timeout=$BOOT_TIMEOUT
	mkdir -p "$s/stage/app_root"
	init_base_root "$s/stage/app_root"
	init_image "$s/probe.cpio" "$s/stage" -- --no-network -- sh -c 'exit 3' || return 1
	BOOT_MODE=boot BOOT_TIMEOUT=20
	init_boot "$s/probe.cpio"
	BOOT_TIMEOUT=$old_timeout
	if [ "$BOOT_RC" = 3 ]; then
		BOOT_MODE=boot
		return 0
	fi
	BOOT_MODE=own
	PICK_REASON="oci2vm boot gave $BOOT_RC: $(printf '%s' "$BOOT_OUT" | tail -1 | cut -c1-200)"
}
