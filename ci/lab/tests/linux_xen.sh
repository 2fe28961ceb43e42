#!/bin/sh
# Lab test (inside the lab machine, busybox sh): Debian's unmodified kernel
# as a Xen HVM guest (xen_hvm = 1, hv/xenhvm.h).  What works here: Linux
# finds Xen through Xenith's CPUID leaves and reads the version.  What the
# lab cannot do: its KVM (Debian's 6.1, no CONFIG_KVM_XEN) answers the
# guest's Xen hypercalls itself.  This Linux (6.1.119 and later, XSA-466)
# makes them with vmmcall instead of through the hypercall page, so the
# first one that matters (XENMEM_add_to_physmap of shared_info) gets KVM's
# -ENOSYS (-1000) and Linux stops with a BUG.  The test checks that
# diagnosis, line by line, and shows the rest as skips with that reason.
# Output: TAP.
# lab-limit: 240  (one boot of at most 60 s, plus the refused one)
. "$(dirname "$0")/../tap.sh"

X=/xenith/xenith
G=/xenith/linux-guest

# xen_hvm = 1 with a PV guest is refused, naming the key.
$X run --xen-hvm -m 16 > /tmp/xh3.out 2> /tmp/xh3.err
rc=$?
[ "$rc" = 65 ] && grep -q "xen_hvm = 1" /tmp/xh3.err
r=$?
show /tmp/xh3.err
result $r "xen_hvm = 1 with a Xenith PV guest is refused (status $rc)"

# earlyprintk: Linux stops before its console is up, so only the early console shows it.
$X run -n xh1 --kernel $G/vmlinuz --initrd $G/initrd.gz -m 256 --timeout 40 --xen-hvm --on-reboot destroy \
	--cmdline "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" > /tmp/xh1.out 2> /tmp/xh1.err
rc=$?
show /tmp/xh1.err
grep -i -e xen -e "cut here" -e BUG -e "RAX:" -e "RIP:" /tmp/xh1.out | sed 's/^/#   /'
check "Linux finds Xen by Xenith's CPUID leaves: 'Hypervisor detected: Xen HVM'" \
	grep -q "Hypervisor detected: Xen HVM" /tmp/xh1.out
check "Linux reads the version from CPUID: 'Xen version 4.17.'" grep -q "Xen version 4\.17\." /tmp/xh1.out
if ! grep -q "this host's KVM cannot send Xen hypercalls to Xenith (no KVM_CAP_XEN_HVM" /tmp/xh1.err; then
	# A lab kernel with CONFIG_KVM_XEN would forward them; Debian's does not, and the
	# end-to-end checks for that case (shared_info, vcpu_info, IPIs) are not written.
	skip "Linux's Xen hypercalls served end to end" "this lab's KVM forwards Xen hypercalls (KVM_CAP_XEN_HVM), for which this test has no checks yet"
	tap_done
	exit
fi
ok "xenith says this KVM cannot send Xen hypercalls to it, and why"
if grep -q "which Xenith does not serve" /tmp/xh1.err; then
	notok "no Xen hypercall reached xenith (this KVM keeps them), yet xenith logged one"
else
	ok "no Xen hypercall reached xenith: this KVM keeps them"
fi
# The BUG in xen_hvm_init_shared_info with RAX = -1000: KVM's own -KVM_ENOSYS for the vmmcall.
grep -q "kernel BUG at arch/x86/xen/enlighten_hvm.c" /tmp/xh1.out &&
	grep -q "RIP: .*xen_hvm_init_shared_info" /tmp/xh1.out && grep -q "RAX: fffffffffffffc18" /tmp/xh1.out
result $? "Linux's XENMEM_add_to_physmap got KVM's -ENOSYS (RAX fffffffffffffc18 = -1000) in xen_hvm_init_shared_info (xenith status $rc)"
why="the lab's KVM (Debian 6.1, no CONFIG_KVM_XEN) answers Linux's vmmcall hypercalls itself; Xenith serves them where KVM has KVM_CAP_XEN_HVM, or from kernels that call through the hypercall page"
skip "shared_info, vcpu_info and the per-vCPU upcall vector registered by Linux" "$why"
skip "IPIs of two vCPUs as event channels" "$why"

tap_done
