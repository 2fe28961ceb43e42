#!/bin/sh
# Lab test (busybox sh): NVMe virtualization management by `xenith pci
# nvme-online`.  QEMU's SR-IOV NVMe starts with every flexible queue and
# interrupt on the PF and its secondary controllers offline; after
# nvme-online PF 2 the secondaries of VFs 1 and 2 are online with 2 queues
# and 1 interrupt each, and VF 1 on the host's nvme driver comes up as a live
# controller that sees the shared namespace.  nvme-offline takes them back.
# Output: TAP.
. "$(dirname "$0")/../tap.sh"

X=/xenith/xenith
need_nvme_pf
P=/sys/bus/pci/devices/$pf
drv=$(basename "$(readlink -f "$P/driver" 2>/dev/null)")
check "the PF $pf is on the nvme driver (driver: ${drv:-none})" [ "$drv" = nvme ]

# The state before: a secondary controller per possible VF, all offline.
"$X" pci nvme "$pf" --json >/tmp/nvme0.json 2>/tmp/nvme.err
rc=$?
before=$(cat /tmp/nvme0.json)
echo "#   before: $before"
nsec=$(tr '{' '\n' </tmp/nvme0.json | grep -c '"vf":')
noff=$(tr '{' '\n' </tmp/nvme0.json | grep -c '"online":false')
[ "$rc" = 0 ] && [ "$nsec" = "$(cat "$P/sriov_totalvfs")" ] && [ "$noff" = "$nsec" ]
result $? "xenith pci nvme $pf: $(cat "$P/sriov_totalvfs") secondary controllers, all offline (found $nsec, $noff offline, exit $rc)"
[ "$rc" = 0 ] || show /tmp/nvme.err

# nvme-online: the PF gives up its flexible resources, 2 VFs are enabled, their secondaries go online.
"$X" pci nvme-online "$pf" 2 >/tmp/online.out 2>&1
rc=$?
result $rc "xenith pci nvme-online $pf 2 (exit $rc)"
show /tmp/online.out
check "2 VFs enabled, without a driver probed (sriov_numvfs $(cat "$P/sriov_numvfs"), autoprobe $(cat "$P/sriov_drivers_autoprobe"))" \
	[ "$(cat "$P/sriov_numvfs")" = 2 ] && [ "$(cat "$P/sriov_drivers_autoprobe")" = 0 ]
"$X" pci nvme "$pf" --json >/tmp/nvme1.json 2>/tmp/nvme.err
vf1=$(basename "$(readlink -f "$P/virtfn0")")
for n in 1 2; do
	e=$(tr '{' '\n' </tmp/nvme1.json | grep "\"vf\":$n,")
	bdf=$(basename "$(readlink -f "$P/virtfn$((n - 1))")")
	case "$e" in
	*"\"bdf\":\"$bdf\",\"online\":true,\"vq\":2,\"vi\":1"*) ok "VF $n ($bdf): online with 2 queues and 1 interrupt" ;;
	*) notok "VF $n ($bdf): online with 2 queues and 1 interrupt"; echo "#   $e"; show /tmp/nvme.err ;;
	esac
done
case "$(cat /tmp/nvme1.json)" in
*'"vq":{"flexible":8,"secondaries":4,"primary":0,'*) ok "the PF holds no flexible queue; 4 are on VFs" ;;
*) notok "the PF holds no flexible queue; 4 are on VFs"; echo "#   before: $before"; echo "#   after:  $(cat /tmp/nvme1.json)" ;;
esac

# Run twice: nothing to do, nothing changed.
"$X" pci nvme-online "$pf" 2 >/tmp/online2.out 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "online already" /tmp/online2.out && ! grep -q releasing /tmp/online2.out
result $? "nvme-online again: both VFs left as they are (exit $rc)"
[ "$rc" = 0 ] || show /tmp/online2.out

# A VF's secondary controller serves its host driver: VF 1 on nvme becomes a
# live controller with the shared namespace (Linux's multipath makes it a
# path, nvmeXcYn1, of the PF's nvme0n1).
echo nvme >"/sys/bus/pci/devices/$vf1/driver_override"
echo "$vf1" >/sys/bus/pci/drivers_probe 2>/dev/null
ctl=
for i in $(seq 1 50); do
	ctl=$(ls "/sys/bus/pci/devices/$vf1/nvme" 2>/dev/null | head -n1)
	[ -n "$ctl" ] && [ "$(cat "/sys/class/nvme/$ctl/state" 2>/dev/null)" = live ] && break
	sleep 0.2
done
st=$(cat "/sys/class/nvme/$ctl/state" 2>/dev/null)
check "VF 1 ($vf1) on nvme: controller ${ctl:-none} is ${st:-absent}" [ "$st" = live ]
# The namespace scan runs after the controller is live (asynchronously: a
# loaded lab host was seen live with no path yet): wait for it, up to 10 s.
for i in $(seq 1 50); do
	paths=$(ls -d /sys/class/nvme/"$ctl"/nvme*c*n1 2>/dev/null | wc -l)
	[ "$paths" -ge 1 ] && break
	sleep 0.2
done
check "VF 1's controller sees namespace 1 ($paths path)" [ "$paths" = 1 ]
echo "$vf1" >"/sys/bus/pci/devices/$vf1/driver/unbind" 2>/dev/null
echo >"/sys/bus/pci/devices/$vf1/driver_override"

# nvme-offline: every secondary offline, nothing assigned.
"$X" pci nvme-offline "$pf" >/tmp/offline.out 2>&1
rc=$?
"$X" pci nvme "$pf" --json >/tmp/nvme2.json 2>/tmp/nvme.err
non=$(tr '{' '\n' </tmp/nvme2.json | grep -c '"online":true')
nres=$(tr '{' '\n' </tmp/nvme2.json | grep '"vf":' | grep -vc '"vq":0,"vi":0')
[ "$rc" = 0 ] && [ "$non" = 0 ] && [ "$nres" = 0 ]
result $? "xenith pci nvme-offline $pf: none online, none holding resources (exit $rc, $non online, $nres holding)"
[ "$rc" = 0 ] || show /tmp/offline.out
"$X" pci sriov "$pf" 0 >/tmp/sriov.out 2>&1 || show /tmp/sriov.out

tap_done
