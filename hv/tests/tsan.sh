#!/usr/bin/env bash
# unit tier: a test program built with clang -fsanitize=thread together with
# hv/, io/ and lib/ (the project itself builds with gcc), so that a read of
# domain state without its lock is a failure, not luck: ThreadSanitizer
# reports the race and the program exits 66.  Rebuilt when a source is newer.
# Without clang or its TSan runtime the test is skipped (exit 77).
#
# Usage: hv/tests/tsan.sh BUILD_DIR TEST    (TEST: hv/tests/test_TEST.c)
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1/tsan" && cd "$1/tsan" && pwd)
t=$2
clang=${CLANG:-clang}
bin=$out/test_$t

if ! command -v "$clang" >/dev/null; then
	echo "SKIP: $clang not found (Debian: apt-get install clang)"
	exit 77
fi
printf 'int main(void) { return 0; }\n' >"$out/probe.c"
if ! "$clang" -fsanitize=thread "$out/probe.c" -o "$out/probe" >"$out/probe.log" 2>&1 || ! "$out/probe"; then
	echo "SKIP: $clang cannot build or run -fsanitize=thread programs (see $out/probe.log)"
	exit 77
fi
# io/port_dpdk.c needs DPDK's flags and archives: this build takes its stub, port_dpdk_none.c
io_files=()
for f in "$src"/io/*.c; do
	[ "$f" = "$src/io/port_dpdk.c" ] || io_files+=("$f")
done
# and the profiler's parts the VMM samples with (hv/prof.c), and the relocation stream (hv/relocate.c)
# hv/gen_seccomp.c is the build-time program that writes BUILD_DIR/hv/confine_bpf.c (meson built it)
hv_files=()
for f in "$src"/hv/*.c; do
	[ "$f" = "$src/hv/gen_seccomp.c" ] || hv_files+=("$f")
done
hv_files+=("${out%/tsan}/hv/confine_bpf.c")
files=("${hv_files[@]}" "${io_files[@]}" "$src"/lib/*.c "$src"/sriov/*.c "$src"/iommu/*.c "$src/hv/tests/unbacked.c" "$src/hv/tests/test_$t.c"
	"$src"/xenoprof/unwind.c "$src"/xenoprof/kvmstats.c "$src"/xenoprof/profile.c "$src"/xenoprof/names.c "$src"/mig/stream.c)
if [ ! -x "$bin" ] || find "${files[@]}" "$src"/hv/*.h "$src"/io/*.h "$src"/lib/*.h "$src"/include/xenith/*.h "$src"/xenoprof/*.h "$src"/mig/*.h \
	"$0" -newer "$bin" | grep -q .; then
	"$clang" -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=thread -I"$src/include" -I"$src/lib" -I"$src/io" \
		-I"$src/hv" -I"$src/hv/tests" -I"$src/sriov" -I"$src/iommu" -I"$src/xenoprof" -I"$src/mig" "${files[@]}" -o "$bin.tmp" -lcmocka -luring -lseccomp -lpthread -lm \
		>"$out/$t.build.log" 2>&1 || { cat "$out/$t.build.log"; exit 1; }
	mv "$bin.tmp" "$bin"
fi
TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" exec "$bin"
