#!/bin/sh
# Lab test (runs inside the lab machine, busybox sh): the IOMMU and the
# SR-IOV NVMe controller are there and usable, as the passthrough work needs.
# Expected values come from the QEMU command line (ci/lab/run.sh passes them
# as xenith_lab_* kernel parameters, which reach init's environment).
# Output: TAP.
. "$(dirname "$0")/../tap.sh"

want_vfs=${xenith_lab_vfs:?xenith_lab_vfs is not set (ci/lab/run.sh sets it)}

# 1. The IOMMU: a DMAR unit and IOMMU groups.
check "an IOMMU is registered (/sys/class/iommu)" [ -n "$(ls /sys/class/iommu 2>/dev/null)" ]
ngroups=$(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l)
check "IOMMU groups exist ($ngroups)" [ "$ngroups" -gt 0 ]

# 2. The NVMe physical function (class 0x010802) and its SR-IOV capability.
need_nvme_pf
ok "an NVMe controller with SR-IOV is present ($pf)"
pf=/sys/bus/pci/devices/$pf
check "the PF is in an IOMMU group" [ -e "$pf/iommu_group" ]
total=$(cat "$pf/sriov_totalvfs")
check "sriov_totalvfs is $want_vfs as configured (read $total)" [ "$total" = "$want_vfs" ]

# 3. Enable VFs without probing a driver on them (QEMU's VFs stay offline
#    until the PF assigns them queues, so the nvme driver would only time out):
#    `xenith pci sriov` writes sriov_drivers_autoprobe = 0 and sriov_numvfs.
X=/xenith/xenith
pfbdf=$(basename "$pf")
if "$X" pci sriov "$pfbdf" 2 >/tmp/pci-sriov.out 2>&1 && [ "$(cat "$pf/sriov_numvfs")" = 2 ] &&
	[ "$(cat "$pf/sriov_drivers_autoprobe")" = 0 ]; then
	ok "two VFs enabled by xenith pci sriov $pfbdf 2 (sriov_numvfs 2, autoprobe 0)"
else
	notok "two VFs enabled by xenith pci sriov $pfbdf 2 (sriov_numvfs 2, autoprobe 0)"
	show /tmp/pci-sriov.out
fi
nvf=$(ls -d "$pf"/virtfn* 2>/dev/null | wc -l)
check "two virtfn links appear (found $nvf)" [ "$nvf" = 2 ]
vf=$(readlink -f "$pf/virtfn0")
pfgroup=$(basename "$(readlink -f "$pf/iommu_group")")
vfgroup=$(basename "$(readlink -f "$vf/iommu_group" 2>/dev/null)")
[ -n "$vfgroup" ] && [ "$vfgroup" != "$pfgroup" ]
result $? "VF 0 has its own IOMMU group (${vfgroup:-none}, PF in $pfgroup)"
check "VF 0 points back to its PF" [ "$(readlink -f "$vf/physfn")" = "$(readlink -f "$pf")" ]

# 4. Hand VF 0 to vfio-pci: its group becomes a VFIO device node.
echo vfio-pci > "$vf/driver_override"
echo "$(basename "$vf")" > /sys/bus/pci/drivers_probe 2>/dev/null
drv=$(basename "$(readlink -f "$vf/driver" 2>/dev/null)")
check "VF 0 is bound to vfio-pci (driver: ${drv:-none})" [ "$drv" = vfio-pci ]
check "/dev/vfio/$vfgroup exists for VF 0's group" [ -c "/dev/vfio/$vfgroup" ]

# 4b. `xenith pci` reads the same tree: the VF assignable, the PF with its VFs,
#     and assignable-add hands VF 1 to vfio-pci (its own writes to sysfs).
#     (No assignable-remove here: it would probe nvme on an offline VF.)
vfbdf=$(basename "$vf") vf1bdf=$(basename "$(readlink -f "$pf/virtfn1")")
fnjson() { # fnjson BDF: that function's object from `xenith pci list --json`, one line
	"$X" pci list --json 2>/tmp/pci.err | tr '{' '\n' | grep "\"bdf\":\"$1\""
}
j=$(fnjson "$vfbdf")
case "$j" in
*'"driver":"vfio-pci"'*'"physfn":"'"$pfbdf"'"'*'"assignable":true'*) ok "xenith pci list: VF 0 ($vfbdf) on vfio-pci, VF of $pfbdf, assignable" ;;
*) notok "xenith pci list: VF 0 ($vfbdf) on vfio-pci, VF of $pfbdf, assignable"; echo "#   $j"; show /tmp/pci.err ;;
esac
j=$(fnjson "$pfbdf")
case "$j" in
*'"sriov_totalvfs":'"$want_vfs"',"sriov_numvfs":2,"vfs":2'*) ok "xenith pci list: PF $pfbdf with 2 of $want_vfs VFs" ;;
*) notok "xenith pci list: PF $pfbdf with 2 of $want_vfs VFs"; echo "#   $j" ;;
esac
if "$X" pci assignable-add "$vf1bdf" >/tmp/pci-add.out 2>&1; then
	drv=$(basename "$(readlink -f "/sys/bus/pci/devices/$vf1bdf/driver" 2>/dev/null)")
	j=$(fnjson "$vf1bdf")
	case "$drv $j" in
	'vfio-pci '*'"assignable":true'*) ok "xenith pci assignable-add $vf1bdf: bound to vfio-pci, listed assignable" ;;
	*) notok "xenith pci assignable-add $vf1bdf: bound to vfio-pci, listed assignable (driver ${drv:-none})"; echo "#   $j" ;;
	esac
else
	notok "xenith pci assignable-add $vf1bdf: bound to vfio-pci, listed assignable"
	show /tmp/pci-add.out
fi

# 5. A new count in place (the kernel takes one only from 0: xenith goes
#    through 0), then back: VFs disabled, the links gone.
"$X" pci sriov "$pfbdf" 3 >/tmp/pci-sriov.out 2>&1
rc=$?
nvf=$(ls -d "$pf"/virtfn* 2>/dev/null | wc -l)
[ "$rc" = 0 ] && [ "$nvf" = 3 ]
result $? "xenith pci sriov $pfbdf 3 from 2: three virtfn links (found $nvf, exit $rc)"
[ "$rc" = 0 ] || show /tmp/pci-sriov.out
"$X" pci sriov "$pfbdf" 0 >/tmp/pci-sriov.out 2>&1 || show /tmp/pci-sriov.out
nvf=$(ls -d "$pf"/virtfn* 2>/dev/null | wc -l)
check "VFs disabled again by xenith pci sriov $pfbdf 0 (virtfn links: $nvf)" [ "$nvf" = 0 ]

tap_done
