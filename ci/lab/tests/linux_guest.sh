#!/bin/sh
# Lab test (inside the lab machine, busybox sh): an unmodified Linux kernel
# (Debian's, the lab's own) boots as a nested Xenith guest through the Linux
# boot protocol to an initramfs that prints a line and powers off; Xenith
# reports the power-off, a reboot and bad input.  Output: TAP.
# lab-limit: 720  (init kills this script after 720 s: 3 boots of at most 3
# tries of --timeout 60 each, plus the refused one, is about 570 s at worst)
. "$(dirname "$0")/../tap.sh"

X=/xenith/xenith
G=/xenith/linux-guest
# boot (tap.sh): a nested boot, tried again when it hangs before its init runs.

# 1. Boot to the initramfs and power off: exit status 0, the init's line on the console.
boot lx1 ""
show /tmp/lx1.out
show /tmp/lx1.err
result "$rc" "Linux boots and powers off: xenith exit status $rc, $secs s under emulation"
grep -q "xenith-linux-guest: init ran on Linux $(uname -r) with 1 CPU" /tmp/lx1.out
result $? "the guest's init printed its line through the 8250 console"
grep -q "powered off, exit code 0" /tmp/lx1.err
result $? "xenith reports the ACPI power-off"

# 2. Two vCPUs: the application processor comes up through INIT/SIPI.
boot lx2 "" --vcpus 2
grep -q "with 2 CPU(s)" /tmp/lx2.out
r=$?
[ $r -eq 0 ] || { show /tmp/lx2.out; show /tmp/lx2.err; }
result $r "two vCPUs: the guest sees 2 CPUs (status $rc, $secs s)"

# 3. A reboot request with on_reboot = destroy: status 69.
boot lx3 "xenith_action=reboot" --on-reboot destroy
[ "$rc" = 69 ] && grep -q "xenith-linux-guest: init ran" /tmp/lx3.out
r=$?
[ $r -eq 0 ] || { show /tmp/lx3.out; show /tmp/lx3.err; }
result $r "guest reboot with on_reboot=destroy ends with status 69 (got $rc)"

# 4. Too little memory for the kernel: refused before anything runs, saying how much.
$X run --kernel $G/vmlinuz -m 8 > /tmp/lx4.out 2> /tmp/lx4.err
rc=$?
[ "$rc" = 65 ] && grep -q "too small for this kernel" /tmp/lx4.err && grep -q "give it at least" /tmp/lx4.err
r=$?
[ $r -eq 0 ] && show /tmp/lx4.err
result $r "memory too small for the kernel is refused with the size it needs (status $rc)"

tap_done
