#!/usr/bin/env bash
# Installs the Debian packages Xenith needs to build and test. Safe to re-run.
set -euo pipefail

packages=(
	gcc libc6-dev make pkg-config  # compiler and the guest's freestanding build
	meson ninja-build              # build system
	libcmocka-dev                  # unit and kvm test tiers
	libsqlite3-dev zlib1g-dev      # the benchmark results index (linked statically)
	libjansson-dev                 # result documents (bench/result.c; linked statically, libjansson.a)
	libpq-dev postgresql           # the fleet's results index (xenith-fleet, dynamic) and the fleet tier's own server
	libmicrohttpd-dev prometheus   # xenith exporter's HTTP (xenith-fleet, dynamic); the fleet tier scrapes it with its own Prometheus
	liburing-dev                   # the block backend (io/blkback.c)
	libseccomp-dev                 # the VMM's system call filters, compiled at build time (hv/gen_seccomp.c)
	fio                            # native baseline of the blk benchmark suite
	iperf3 dpdk                    # reference lines of the net benchmark suite: iperf3 -u, dpdk-testpmd (bench/netref.c)
	chromium                       # the report test opens report.html headless (bench/tests/chromium_check.c)
	clang libclang-rt-dev          # the fuzz tier (fuzz/run.sh); clang only recommends libFuzzer's runtime
	qemu-system-x86 busybox-static cpio  # the lab tier (ci/lab/)
	dpdk-dev dpdk libnuma-dev libbsd-dev  # port=dpdk: (io/port_dpdk.c, meson -Ddpdk=auto): DPDK 22.11's static archives, and the libnuma/libbsd archives they need in the static VMM; dpdk for dpdk-testpmd
	libpfm4-dev                    # hardware event names for `xenith prof record -e` (xenoprof/hwevents.c; libpfm.a)
	libelf-dev                     # the VMM's symbols for its backend threads' samples (xenoprof/hostperf.c; libelf.a)
	acpica-tools                   # iasl disassembles a Linux guest's ACPI tables in test_linux_boot
	iproute2 iputils-ping          # the vif tests: ip (taps, bridges, netns) and a real ping (io/tests/test_port_tap.c, hv/tests/test_net.c)
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
