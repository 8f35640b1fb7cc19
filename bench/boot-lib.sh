# bench/boot-lib.sh - the trivial-initramfs boot that bench/boot times and bench/tcg-profile
# profiles; sourced after setting $top (the tree) and $tmp (a scratch directory).
#
#   boot_setup                  $oci2vm, $ours (our kernel), $tmp/init.cpio (bench/boot-init.c
#                               as /init), $cmdline (what oci2vm passes the kernel, read back
#                               from a guest) and qemu_common (oci2vm's machine flags)
#   boot_ours [QEMU ARGS...]    boots $ours on $tmp/init.cpio with oci2vm's flags and console

boot_setup() {
	oci2vm=${O2V_BUILD:-$top/build}/oci2vm
	[ -x "$oci2vm" ] || { echo "bench: $oci2vm not built: run 'make'" >&2; exit 1; }
	ours=${OCI2VM_KERNEL:-$("$top/kernel/build.sh" --path)}
	mkdir -p "$tmp/root"
	musl-gcc -static -O2 -o "$tmp/root/init" "$top/bench/boot-init.c"
	(cd "$tmp/root" && echo init | cpio -o -H newc -R 0:0 --quiet) >"$tmp/init.cpio"

	# One oci2vm boot to learn the kernel command line it passes (minus what QEMU's microvm
	# adds and the console, which differs per kernel).
	"$oci2vm" boot --append "o2v.bench=1" "$tmp/init.cpio" >"$tmp/probe.out"
	cmdline=$(grep -a 'bench-init: cmdline' "$tmp/probe.out" | sed 's/^.*cmdline //' |
		tr ' ' '\n' | grep -v -e '^virtio_mmio.device=' -e '^console=' -e '^o2v.bench=1' -e '^$' |
		tr '\n' ' ')

	# oci2vm's own machine flags (vm/qemu_argv.c): the TCG code cache size matters (QEMU's
	# default of 1 GiB boots ~50 ms slower here than oci2vm's 32 MiB).
	qemu_common=(qemu-system-x86_64 -accel tcg,thread=multi,tb-size=32 -cpu max,-erms -m 512M
		-smp 1 -no-reboot -nodefaults -no-user-config -display none)
}

boot_ours() {
	"${qemu_common[@]}" "$@" \
		-M microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=off \
		-kernel "$ours" -initrd "$tmp/init.cpio" -append "console=hvc0 $cmdline" \
		-device virtio-serial-device,max_ports=1 -chardev stdio,id=con \
		-device virtconsole,chardev=con
}
