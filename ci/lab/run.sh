#!/usr/bin/env bash
# Boots the lab (QEMU TCG: AMD-V, intel-iommu, SR-IOV NVMe), runs the kvm
# test tier inside, prints the machine's console and exits with its result.
# Usage: ci/lab/run.sh [BUILD_DIR]   (default build; the lab goes to BUILD_DIR/lab)
# Not part of ci/test.sh yet: see the lab section of the README.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${1:-build}
lab=$build/lab
command -v qemu-system-x86_64 >/dev/null || { echo "lab: qemu-system-x86_64 is missing; run ci/setup.sh" >&2; exit 77; }
ci/lab/build.sh "$build" "$lab"
log=$lab/console.log
start=$(date +%s)
timeout "${XENITH_LAB_TIMEOUT:-1500}" qemu-system-x86_64 -accel tcg -machine q35,kernel-irqchip=split -cpu max \
	-m 2G -smp 2 -nographic -no-reboot -nic none \
	-kernel "$lab/vmlinuz" -initrd "$lab/initrd.gz" \
	-append "console=ttyS0 intel_iommu=on panic=-1 quiet" \
	-device intel-iommu,intremap=on,caching-mode=on \
	-device nvme-subsys,id=s0 \
	-device nvme,serial=xenith0,subsys=s0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=12,msix_qsize=12 \
	> "$log" 2>&1 || true
echo "lab: ran for $(( $(date +%s) - start )) s; console in $log"
grep -aE "^(lab:|ok |not ok |LAB-RESULT)" "$log" || true
result=$(grep -a "LAB-RESULT" "$log" | tail -n1)
case "$result" in
	*" 0 failed"*) exit 0 ;;
	"") echo "lab: the machine did not report a result (timeout or crash); see $log" >&2; exit 1 ;;
	*) exit 1 ;;
esac
