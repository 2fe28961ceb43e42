#!/usr/bin/env bash
# Builds the lab: Debian's kernel (downloaded once and cached), an initramfs
# with busybox, the KVM/VFIO modules, the Xenith binaries and the test tiers
# that run inside.  Usage: ci/lab/build.sh BUILD_DIR OUT_DIR
set -euo pipefail

build=$(realpath "$1")
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
cache=${XENITH_LAB_CACHE:-$out/cache}
mkdir -p "$out" "$cache"

die() { echo "lab: $*" >&2; exit 1; }
for t in busybox cpio gzip objcopy apt-get dpkg-deb; do
	command -v "$t" >/dev/null || die "$t is missing; run ci/setup.sh"
done
[ -x /bin/busybox ] || die "busybox-static is missing; run ci/setup.sh"

# 1. The kernel: cached by package version; unpacked once.
resolve() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1; }
pkg=$(resolve)
if [ -z "$pkg" ]; then
	echo "lab: linux-image-amd64 is not in the package lists; running apt-get update"
	apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed: the lab needs Debian's linux-image-amd64 package"
	pkg=$(resolve)
fi
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a kernel package (apt-cache depends linux-image-amd64)"
kroot=$cache/$pkg
if [ ! -f "$kroot/.unpacked" ]; then
	echo "lab: fetching $pkg (once; cached in $cache)"
	rm -rf "$kroot" && mkdir -p "$kroot"
	(cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
	dpkg-deb -x "$cache/${pkg}"_*.deb "$kroot"
	rm -f "$cache/${pkg}"_*.deb
	touch "$kroot/.unpacked"
fi
kver=$(ls "$kroot/lib/modules" | head -n1)
cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"

# 2. The initramfs.
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,lib/modules,xenith/tests,lib64,lib/x86_64-linux-gnu}
cp /bin/busybox "$root/bin/busybox"
for a in sh mount insmod poweroff cat echo ls mkdir sleep dmesg grep find uname seq rm; do
	ln -sf busybox "$root/bin/$a"
done

# modules in dependency order (read from each .ko's .modinfo)
mods=$kroot/lib/modules/$kver/kernel
declare -A seen=()
order=()
modpath() { find "$mods" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" -o -name "$(echo "$1" | tr - _).ko" | head -n1; }
add_mod() {
	local name=$1 f deps d
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	f=$(modpath "$name")
	[ -n "$f" ] || die "module $name not found in $pkg"
	deps=$(objcopy -O binary -j .modinfo "$f" /dev/stdout 2>/dev/null | tr '\0' '\n' | sed -n 's/^depends=//p')
	for d in ${deps//,/ }; do add_mod "$d"; done
	order+=("$f")
}
for m in kvm kvm-amd vfio vfio_iommu_type1 vfio-pci nvme; do add_mod "$m"; done
: > "$root/lib/modules/order"
for f in "${order[@]}"; do
	cp "$f" "$root/lib/modules/"
	echo "$(basename "$f")" >> "$root/lib/modules/order"
done

# Xenith: the binaries and the kvm-tier test executables, with their shared libraries
cp "$build/tools/xenith" "$build/tools/xenith-bench" "$build/guest/minios" "$build/guest/minios-test" \
	"$build/iommu/tests/vfio-nvme-io" "$root/xenith/"
for t in hv/tests/test_domains hv/tests/test_config_boot hv/tests/test_blk hv/tests/test_confine \
	hv/tests/test_cli hv/tests/test_console_boot hv/tests/test_blkchurn hv/tests/test_hostile \
	hv/tests/test_xenstore_boot hv/tests/test_relocate hv/tests/test_migrate; do
	cp "$build/$t" "$root/xenith/tests/"
	for lib in $(ldd "$build/$t" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
		cp -L "$lib" "$root$lib" 2>/dev/null || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
	done
done
cp "$here"/tests/* "$root/xenith/tests/"
# their TAP helpers, the xenith thread report, the CMocka skip fix (init runs the programs through it)
cp "$here/tap.sh" "$here/threads.sh" "$here/../../hv/tests/tap-skip.sh" "$root/xenith/"

# A Linux guest for the linux_guest and vfio_nvme tests: Debian's kernel
# again, with an initramfs whose init prints a line and powers off (or
# reboots when the kernel command line says xenith_action=reboot).  With
# xenith_action=nvme it loads Linux's NVMe driver, reads 64 blocks at
# xenith_rd and writes 64 at xenith_wr on the first namespace of the
# passed-through function, and prints what it saw (PCI devices, digests,
# the driver's interrupt counts).
lg=$root/xenith/linux-guest
groot=$out/guest-root
rm -rf "$groot" && mkdir -p "$lg" "$groot/bin" "$groot/proc" "$groot/sys" "$groot/dev" "$groot/lib/modules"
cp "$out/vmlinuz" "$lg/vmlinuz"
cp /bin/busybox "$groot/bin/busybox"
ln -s busybox "$groot/bin/sh"
seen=()
order=()
add_mod nvme
for f in "${order[@]}"; do
	cp "$f" "$groot/lib/modules/"
	echo "$(basename "$f")" >> "$groot/lib/modules/order"
done
cat > "$groot/init" <<'INIT'
#!/bin/sh
export PATH=/bin
busybox mount -t proc proc /proc
echo "xenith-linux-guest: init ran on Linux $(busybox uname -r) with $(busybox grep -c ^processor /proc/cpuinfo) CPU(s), up $(busybox cut -d' ' -f1 /proc/uptime) s"
nvme() {
	busybox mount -t sysfs sys /sys
	busybox mount -t devtmpfs dev /dev
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d" ] && echo "xenith-linux-guest: pci ${d##*/} $(busybox cat $d/vendor):$(busybox cat $d/device) class $(busybox cat $d/class)"
	done
	for m in $(busybox cat /lib/modules/order); do busybox insmod /lib/modules/$m; done
	i=0
	while [ ! -b /dev/nvme0n1 ] && [ $i -lt 150 ]; do busybox sleep 0.2; i=$((i + 1)); done
	if [ ! -b /dev/nvme0n1 ]; then
		echo "xenith-linux-guest: no /dev/nvme0n1 after 30 s; the kernel's log:"
		busybox dmesg | busybox grep -i -e pci -e nvme -e msi | busybox tail -40
		return
	fi
	echo "xenith-linux-guest: nvme0n1 $(busybox cat /sys/block/nvme0n1/size) sectors"
	echo "xenith-linux-guest: read $(busybox dd if=/dev/nvme0n1 bs=512 skip=${xenith_rd:-0} count=64 2>/dev/null | busybox md5sum)"
	busybox yes "xenith-linux-guest wrote this through its own nvme driver" | busybox head -c 32768 |
		busybox dd of=/dev/nvme0n1 bs=512 seek=${xenith_wr:-64} count=64 conv=fsync 2>/dev/null
	echo "xenith-linux-guest: write status $?"
	busybox awk '/nvme/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i;
		print "xenith-linux-guest: irq", $NF, s, "type", $(i) }' /proc/interrupts
	busybox dmesg | busybox grep -i -e "nvme" -e "PNP0A03" -e "pci 0000:00:01" | busybox tail -20
}
case "${xenith_action:-}" in
reboot) busybox reboot -f ;;
# nvme: 3 s more before the power-off, so that vfio_nvme.sh's samples of
# `xenith devices` (every 0.5 s, each slow under emulation) see the routed vector
nvme) nvme; busybox sleep 3; busybox poweroff -f ;;
*) busybox poweroff -f ;;
esac
INIT
chmod +x "$groot/init"
(cd "$groot" && find . | cpio -o -H newc --quiet | gzip -1) > "$lg/initrd.gz"

cp "$here/init" "$root/init"
chmod +x "$root/init"
# An optional script to run instead of the test tiers (for investigating one case).
if [ -n "${XENITH_LAB_SCRIPT:-}" ]; then
	cp "$XENITH_LAB_SCRIPT" "$root/xenith/lab-script"
	chmod +x "$root/xenith/lab-script"
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
echo "lab: built $out/initrd.gz ($(du -h "$out/initrd.gz" | cut -f1)) with kernel $kver"
