/* SPDX-License-Identifier: MIT */
/*
 * The `blk` program's options and its fio-shaped results (blk.c), shared
 * with the same load on a passed-through NVMe function (blk_nvme.c): one
 * job syntax and one "blk-json:" line, whichever device serves it.
 */
#ifndef MINIOS_BLKJOB_H
#define MINIOS_BLKJOB_H

#include "minios.h"
#include "blkhist.h"

struct blk_opts {
	char rw[16];
	unsigned long bs, iodepth, size, runtime_ms, disk, blocks, seed, hold, spin_us, discard, batch, numjobs, persistent, spread, pause_ms;
	unsigned long number_ios, stop_on_error, mailbox;
	unsigned long pci, irq; /* pci=I: the load on the domain's PCI function I (blk_nvme.c), irq=0 polls it */
	bool spin_auto, on_pci;
};

/* rw=: read, write, randread, randwrite or randrw; false (said) otherwise. */
bool blk_rw_parse(const char *rw, bool *rnd, bool *rd, bool *wr);
/* `blk run ... pci=I` (blk_nvme.c): 0, 1 when an I/O failed, 2 for bad options, 3 when the device is not usable. */
int blk_run_nvme(const struct blk_opts *o, unsigned pci, bool irq);

/* "NAME":{io_bytes, total_ios, iops, bw, clat_ns{mean, percentile{50, 99, 99.9}}} over ns, as fio's JSON. */
void blk_print_dir(const char *name, const struct blk_dir_stats *st, const uint32_t *h, uint64_t ns);

#endif
