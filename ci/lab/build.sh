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
	hv/tests/test_xenstore_boot; do
	cp "$build/$t" "$root/xenith/tests/"
	for lib in $(ldd "$build/$t" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
		cp -L "$lib" "$root$lib" 2>/dev/null || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
	done
done
cp "$here"/tests/* "$root/xenith/tests/"
# their TAP helpers, the xenith thread report, the CMocka skip fix (init runs the programs through it)
cp "$here/tap.sh" "$here/threads.sh" "$here/../../hv/tests/tap-skip.sh" "$root/xenith/"

# A Linux guest for the linux_guest test: Debian's kernel again, with an
# initramfs whose init prints a line and powers off (or reboots when the
# kernel command line says xenith_action=reboot).
lg=$root/xenith/linux-guest
groot=$out/guest-root
rm -rf "$groot" && mkdir -p "$lg" "$groot/bin" "$groot/proc"
cp "$out/vmlinuz" "$lg/vmlinuz"
cp /bin/busybox "$groot/bin/busybox"
ln -s busybox "$groot/bin/sh"
cat > "$groot/init" <<'INIT'
#!/bin/sh
export PATH=/bin
busybox mount -t proc proc /proc
echo "xenith-linux-guest: init ran on Linux $(busybox uname -r) with $(busybox grep -c ^processor /proc/cpuinfo) CPU(s), up $(busybox cut -d' ' -f1 /proc/uptime) s"
case "${xenith_action:-}" in
reboot) busybox reboot -f ;;
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
