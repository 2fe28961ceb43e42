#!/bin/sh
# Links the DPDK archives named into OUT, one relocatable object (ld -r).
# The vdev drivers register through constructors that nothing refers to:
# as one object, all of them are linked as soon as anything in it is
# referenced (port_dpdk.c refers to one symbol), with no --whole-archive
# flag for meson to repeat or reorder, however many dependencies lead to
# it.  Usage: dpdk_pmds.sh OUT LIBDIR NAME...
set -eu
out=$1 libdir=$2
shift 2
libs=
for n in "$@"; do
	libs="$libs $libdir/librte_$n.a"
done
# shellcheck disable=SC2086 # one word per archive
exec ld -r -o "$out" --whole-archive $libs --no-whole-archive
