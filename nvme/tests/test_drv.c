// SPDX-License-Identifier: MIT
/*
 * unit: the NVMe driver core (nvme/drv.c) against the software controller
 * (sim.h).  Every test ends with no DMA outside the arena and no protocol
 * violation seen by the controller (teardown checks both).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drv.h"
#include "job.h"
#include "sim.h"

#define ARENA (2u << 20)
#define QMEM_OFF 0u
#define DATA_OFF (1u << 20) /* data buffers: the arena's second MiB */
#define NBLOCKS 4096u       /* 2 MiB of 512-byte blocks */
#define QD 32u

struct fx {
	struct sim s;
	struct nvme_ops ops;
	struct nvme_ctrl c;
	uint8_t *arena;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->arena = aligned_alloc(NVME_PAGE, ARENA);
	if (!f->arena || sim_init(&f->s, f->arena, ARENA, NBLOCKS, 9))
		return -1;
	memset(f->arena, 0, ARENA);
	f->ops = sim_ops_for(&f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unsigned stray = f->s.stray, violations = f->s.violations;

	if (stray)
		print_error("stray DMA: %s\n", f->s.stray_what);
	if (violations)
		print_error("protocol violation: %s\n", f->s.violation_what);
	sim_fini(&f->s);
	free(f->arena);
	free(f);
	assert_int_equal(stray, 0);
	assert_int_equal(violations, 0);
	return 0;
}

static struct nvme_dma qmem(struct fx *f)
{
	return sim_dma(&f->s, QMEM_OFF, NVME_QUEUE_MEM_SIZE(NVME_MAX_QDEPTH));
}

static int init(struct fx *f, unsigned qdepth)
{
	return nvme_init(&f->c, &f->ops, qmem(f), qdepth);
}

static uint8_t *data(struct fx *f, size_t off)
{
	return f->arena + DATA_OFF + off;
}

static uint64_t data_iova(struct fx *f, size_t off)
{
	return f->s.iova_base + DATA_OFF + off;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 9));
}

/* Writes nblocks at lba from data offset off, reads them back into another buffer and compares. */
static void write_read_back(struct fx *f, uint64_t lba, uint32_t nblocks, size_t off, unsigned seed)
{
	size_t len = (size_t)nblocks << 9, back = off + (512u << 10);

	fill(data(f, off), len, seed);
	assert_int_equal(nvme_rw_sync(&f->c, true, lba, nblocks, data_iova(f, off), NVME_CMD_TIMEOUT_NS), 0);
	assert_memory_equal(f->s.disk + (lba << 9), data(f, off), len);
	memset(data(f, back), 0xee, len);
	assert_int_equal(nvme_rw_sync(&f->c, false, lba, nblocks, data_iova(f, back), NVME_CMD_TIMEOUT_NS), 0);
	assert_memory_equal(data(f, back), data(f, off), len);
}

/* ---- bring-up ---- */

static void test_init_reads_identify_fields_and_programs_the_controller(void **state)
{
	struct fx *f = *state;

	f->s.mdts = 5;
	f->s.queues_granted = 3;
	assert_int_equal(init(f, QD), 0);
	assert_string_equal(nvme_serial(&f->c), "XSIM0001");
	assert_string_equal(nvme_model(&f->c), "Xenith NVMe model");
	assert_int_equal(f->c.mdts, 5);
	assert_int_equal(f->c.nn, 1);
	assert_int_equal(nvme_ns_blocks(&f->c), NBLOCKS);
	assert_int_equal(nvme_block_size(&f->c), 512);
	assert_int_equal(nvme_max_blocks(&f->c), (4096u << 5) / 512);
	assert_int_equal(nvme_qdepth(&f->c), QD);
	assert_int_equal(f->c.sq_granted, 3);
	assert_int_equal(f->c.cq_granted, 3);
	/* CC: NVM command set, 4 KiB pages, 64/16-byte entries, enabled */
	assert_int_equal(f->s.cc, NVME_CC_EN | NVME_CC_IOSQES(6) | NVME_CC_IOCQES(4));
	assert_int_equal(f->s.aqa, NVME_AQA(NVME_ADMIN_QDEPTH, NVME_ADMIN_QDEPTH));
	assert_int_equal(f->s.asq, f->s.iova_base + QMEM_OFF);
	assert_int_equal(f->s.acq, f->s.iova_base + QMEM_OFF + NVME_PAGE);
	/* the I/O pair: qdepth entries, polled */
	assert_int_equal(f->s.create_cq_cdw10, NVME_QUEUE_CDW10(1, QD));
	assert_int_equal(f->s.create_cq_cdw11, NVME_CQ_PC);
	assert_int_equal(f->s.create_sq_cdw11, NVME_SQ_PC | NVME_SQ_CQID(1));
	assert_true(f->s.sq[1].live && f->s.cq[1].live);
	assert_int_equal(f->s.sq[1].size, QD);
	assert_int_equal(nvme_failed(&f->c), 0);
}

static void test_init_with_a_vector_enables_the_cq_interrupt(void **state)
{
	struct fx *f = *state;

	assert_int_equal(nvme_init_irq(&f->c, &f->ops, qmem(f), QD, 3), 0);
	assert_int_equal(f->s.create_cq_cdw11, NVME_CQ_PC | NVME_CQ_IEN | NVME_CQ_IV(3));
	assert_true(f->s.cq[1].ien);
	assert_int_equal(f->s.cq[1].iv, 3);
	assert_int_equal(nvme_init_irq(&f->c, &f->ops, qmem(f), QD, 2048), -NVME_EINVAL);
}

static void test_init_waits_for_a_slow_controller_and_resets_an_enabled_one(void **state)
{
	struct fx *f = *state;

	f->s.ready_after_reads = 50;
	assert_int_equal(init(f, QD), 0);
	assert_true(f->s.relax_calls >= 50);
	write_read_back(f, 0, 8, 0, 1);
	/* again, on the enabled controller: reset first, then a fresh queue pair */
	assert_int_equal(init(f, QD), 0);
	assert_int_equal(f->s.enables, 2);
	write_read_back(f, 8, 8, 0, 2);
}

static void test_queue_memory_is_checked_and_the_size_needed_is_told(void **state)
{
	struct fx *f = *state;

	assert_int_equal(nvme_queue_mem_size(32), 36864);
	assert_int_equal(nvme_queue_mem_size(32), NVME_QUEUE_MEM_SIZE(32));
	assert_int_equal(nvme_queue_mem_size(1), 0);
	assert_int_equal(nvme_init(&f->c, &f->ops, sim_dma(&f->s, 0, 36864 - 1), 32), -NVME_EMEMSIZE);
	assert_int_equal(f->c.mem_needed, 36864);
	assert_int_equal(nvme_init(&f->c, &f->ops, sim_dma(&f->s, 512, 65536), 32), -NVME_EMEMALIGN);
	assert_int_equal(init(f, 1), -NVME_EQDEPTH);
	assert_int_equal(init(f, NVME_MAX_QDEPTH + 1), -NVME_EQDEPTH);
	assert_int_equal(f->s.enables, 0);
	assert_int_equal(nvme_init(&f->c, &f->ops, sim_dma(&f->s, 0, 36864), 32), 0);
}

static void test_unsupported_capabilities_are_refused(void **state)
{
	struct fx *f = *state;

	sim_set_cap(&f->s, 1023, 20, 0, 1, 4); /* 8 KiB minimum pages */
	assert_int_equal(init(f, QD), -NVME_EPAGESIZE);
	f->s.cap &= ~((uint64_t)0xff << 37);   /* no NVM command set */
	assert_int_equal(init(f, QD), -NVME_ENOCSS);
	sim_set_cap(&f->s, 0, 20, 0, 0, 4);    /* MQES 0: one entry per queue */
	assert_int_equal(init(f, QD), -NVME_EQDEPTH);
	f->s.gone = true;
	assert_int_equal(init(f, QD), -NVME_ENODEV);
	assert_int_equal(f->s.enables, 0);
}

static void test_a_tiny_mqes_bounds_the_queue(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[8];

	sim_set_cap(&f->s, 3, 20, 0, 0, 4); /* 4 entries */
	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_qdepth(&f->c), 4);
	assert_int_equal(f->s.sq[1].size, 4);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(nvme_submit_rw(&f->c, false, i, 1, data_iova(f, i * 512u), i), 0);
	assert_int_equal(nvme_submit_rw(&f->c, false, 3, 1, data_iova(f, 0), 3), -NVME_EAGAIN);
	assert_int_equal(nvme_reap(&f->c, d, 8), 3);
	assert_int_equal(nvme_submit_rw(&f->c, false, 3, 1, data_iova(f, 0), 3), 0);
	assert_int_equal(nvme_reap(&f->c, d, 8), 1);
	assert_int_equal(d[0].tag, 3);
}

static void test_a_wide_doorbell_stride_is_followed(void **state)
{
	struct fx *f = *state;

	sim_set_cap(&f->s, 1023, 20, 3, 0, 4); /* doorbells 32 bytes apart */
	assert_int_equal(init(f, QD), 0);
	write_read_back(f, 100, 24, 0, 3);
}

/* ---- data and PRPs ---- */

static void test_write_then_read_back_through_one_two_three_and_many_pages(void **state)
{
	struct fx *f = *state;
	const struct sim_xfer *x = &f->s.last_xfer;
	uint64_t buf = data_iova(f, 0);

	assert_int_equal(init(f, QD), 0);

	/* one page: PRP1 only */
	fill(data(f, 0), 4096, 1);
	assert_int_equal(nvme_rw_sync(&f->c, true, 0, 8, buf, NVME_CMD_TIMEOUT_NS), 0);
	assert_int_equal(x->prp1, buf);
	assert_int_equal(x->prp2, 0);
	assert_int_equal(x->npages, 1);
	write_read_back(f, 0, 8, 0, 1);

	/* two pages: PRP2 is the second page */
	assert_int_equal(nvme_rw_sync(&f->c, true, 16, 16, buf, NVME_CMD_TIMEOUT_NS), 0);
	assert_false(x->list);
	assert_int_equal(x->prp2, buf + 4096);
	assert_int_equal(x->npages, 2);
	write_read_back(f, 16, 16, 0, 2);

	/* three pages: PRP2 points to a list in the driver's queue memory */
	assert_int_equal(nvme_rw_sync(&f->c, true, 64, 24, buf, NVME_CMD_TIMEOUT_NS), 0);
	assert_true(x->list);
	assert_true(x->prp2 >= f->c.prp_iova && x->prp2 < f->c.prp_iova + QD * NVME_PRP_LIST_ENTRIES * 8u);
	assert_int_equal(x->npages, 3);
	assert_int_equal(x->page[1], buf + 4096);
	assert_int_equal(x->page[2], buf + 8192);
	write_read_back(f, 64, 24, 0, 3);

	/* the most a command takes: 64 pages, 63 list entries */
	assert_int_equal(nvme_max_blocks(&f->c), NVME_MAX_XFER_BYTES / 512);
	assert_int_equal(nvme_rw_sync(&f->c, true, 1024, 512, buf, NVME_CMD_TIMEOUT_NS), 0);
	assert_int_equal(x->npages, 64);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(x->page[i], buf + i * 4096ull);
	write_read_back(f, 1024, 512, 0, 4);
	assert_int_equal(nvme_rw_sync(&f->c, true, 1024, 513, buf, NVME_CMD_TIMEOUT_NS), -NVME_E2BIG);
}

static void test_a_buffer_with_an_offset_spans_one_more_page(void **state)
{
	struct fx *f = *state;
	const struct sim_xfer *x = &f->s.last_xfer;
	uint64_t buf = data_iova(f, 0);

	assert_int_equal(init(f, QD), 0);
	/* 4 KiB from offset 512: two pages, the second page-aligned */
	write_read_back(f, 0, 8, 512, 5);
	assert_int_equal(x->prp1, data_iova(f, 512u << 10) + 512);
	assert_int_equal(x->prp2, data_iova(f, 512u << 10) + 4096);
	assert_int_equal(nvme_rw_sync(&f->c, true, 0, 16, buf + 4, NVME_CMD_TIMEOUT_NS), 0);
	assert_true(x->list);
	assert_int_equal(x->npages, 3);
	assert_int_equal(x->page[0], buf + 4);
	assert_int_equal(x->page[2], buf + 8192);
	/* 256 KiB from a dword offset: 65 pages, the whole list */
	assert_int_equal(nvme_rw_sync(&f->c, true, 0, 512, buf + 4, NVME_CMD_TIMEOUT_NS), 0);
	assert_int_equal(x->npages, 65);
	assert_int_equal(nvme_rw_sync(&f->c, true, 0, 8, buf + 2, NVME_CMD_TIMEOUT_NS), -NVME_EINVAL);
}

static void test_mdts_bounds_the_transfer(void **state)
{
	struct fx *f = *state;

	f->s.mdts = 2; /* 16 KiB */
	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_max_blocks(&f->c), 32);
	write_read_back(f, 0, 32, 0, 6);
	assert_int_equal(nvme_submit_rw(&f->c, true, 0, 33, data_iova(f, 0), 0), -NVME_E2BIG);
	assert_int_equal(nvme_inflight(&f->c), 0);
}

static void test_bad_ranges_and_arguments_are_refused_before_submission(void **state)
{
	struct fx *f = *state;

	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_submit_rw(&f->c, false, NBLOCKS - 1, 2, data_iova(f, 0), 0), -NVME_ERANGE);
	assert_int_equal(nvme_submit_rw(&f->c, false, UINT64_MAX, 1, data_iova(f, 0), 0), -NVME_ERANGE);
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 0, data_iova(f, 0), 0), -NVME_EINVAL);
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, UINT64_MAX - 3, 0), -NVME_EINVAL);
	assert_int_equal(f->s.io_count[NVME_CMD_READ], 0);
	write_read_back(f, NBLOCKS - 1, 1, 0, 7);
}

static void test_flush_reaches_the_controller(void **state)
{
	struct fx *f = *state;
	struct nvme_done d;

	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_flush(&f->c, NVME_CMD_TIMEOUT_NS), 0);
	assert_int_equal(nvme_submit_flush(&f->c, 77), 0);
	assert_int_equal(nvme_reap(&f->c, &d, 1), 1);
	assert_int_equal(d.tag, 77);
	assert_int_equal(d.status, 0);
	assert_int_equal(f->s.io_count[NVME_CMD_FLUSH], 2);
}

/* ---- queueing ---- */

static void test_more_commands_than_the_queue_holds_wrap_the_phase(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[16];
	unsigned next = 0, done = 0, qd = 8;
	uint8_t seen[1024] = { 0 };

	assert_int_equal(init(f, qd), 0);
	/* 1000 one-block writes, each of its own LBA, in bursts until the queue is full */
	while (done < 1000) {
		int r;

		while (next < 1000) {
			fill(data(f, next * 512u), 512, next);
			r = nvme_submit_rw(&f->c, true, next, 1, data_iova(f, next * 512u), 5000 + next);
			if (r == -NVME_EAGAIN)
				break;
			assert_int_equal(r, 0);
			next++;
		}
		assert_int_equal(nvme_inflight(&f->c), next - done);
		assert_true(nvme_inflight(&f->c) <= qd - 1);
		r = nvme_reap(&f->c, d, 3); /* fewer than in flight: entries stay for the next call */
		assert_true(r > 0);
		for (int i = 0; i < r; i++) {
			assert_int_equal(d[i].status, 0);
			assert_true(d[i].tag >= 5000 && d[i].tag < 6000);
			assert_int_equal(seen[d[i].tag - 5000]++, 0);
		}
		done += (unsigned)r;
	}
	assert_int_equal(nvme_reap(&f->c, d, 16), 0);
	assert_true(f->s.cq[1].wraps >= 100);
	for (unsigned i = 0; i < 1000; i++) {
		uint8_t want[512];

		fill(want, 512, i);
		assert_memory_equal(f->s.disk + i * 512u, want, 512);
	}
}

static void test_sync_commands_refuse_while_io_is_in_flight(void **state)
{
	struct fx *f = *state;
	struct nvme_done d;

	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 1), 0);
	assert_int_equal(nvme_rw_sync(&f->c, false, 0, 1, data_iova(f, 0), NVME_CMD_TIMEOUT_NS), -NVME_EBUSY);
	assert_int_equal(nvme_flush(&f->c, NVME_CMD_TIMEOUT_NS), -NVME_EBUSY);
	assert_int_equal(nvme_reap(&f->c, &d, 1), 1);
	assert_int_equal(nvme_flush(&f->c, NVME_CMD_TIMEOUT_NS), 0);
}

/* ---- a broken or hostile controller ---- */

static void test_a_controller_that_never_gets_ready_times_out(void **state)
{
	struct fx *f = *state;

	f->s.never_ready = true;
	assert_int_equal(init(f, QD), -NVME_EREADY);
	/* CAP.TO is 20 (10 s); the driver gives TO + 1 units */
	assert_true(f->s.clock_ns >= 10500000000ull && f->s.clock_ns < 11000000000ull);
	assert_true(f->s.relax_calls > 0);
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 0), -NVME_ENOTLIVE);
}

static void test_a_controller_that_never_resets_times_out(void **state)
{
	struct fx *f = *state;

	assert_int_equal(init(f, QD), 0);
	f->s.never_disables = true;
	assert_int_equal(init(f, QD), -NVME_EDISABLE);
	assert_int_equal(f->s.enables, 1);
}

static void test_fatal_status_fails_init(void **state)
{
	struct fx *f = *state;

	f->s.cfs_on_enable = true;
	assert_int_equal(init(f, QD), -NVME_ECFS);
	assert_string_equal(nvme_strerror(-NVME_ECFS), "controller fatal status (CSTS.CFS): it needs a reset");
}

static void test_an_admin_error_status_fails_init_with_the_status_kept(void **state)
{
	struct fx *f = *state;

	f->s.fault = (struct sim_fault){ SIM_FAULT_STATUS, 0, NVME_ADMIN_CREATE_SQ,
					 NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QSIZE_INVALID), false };
	assert_int_equal(init(f, QD), -NVME_ESTATUS);
	assert_int_equal(nvme_last_status(&f->c), NVME_SCT_CMD_SPECIFIC << 8 | NVME_SC_QSIZE_INVALID);
	assert_int_equal(f->c.last_opcode, NVME_ADMIN_CREATE_SQ);
	assert_true(f->c.last_admin);
	assert_string_equal(nvme_status_str(nvme_last_status(&f->c)), "invalid queue size");
	/* a status is the command's failure, not the controller's */
	assert_int_equal(nvme_failed(&f->c), 0);
	assert_int_equal(init(f, QD), 0);
}

static void test_an_io_error_status_is_reported_and_the_queue_goes_on(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[4];

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_STATUS, 1, NVME_CMD_WRITE,
					 NVME_CQE_STATUS(NVME_SCT_MEDIA, NVME_SC_WRITE_FAULT), false };
	assert_int_equal(nvme_rw_sync(&f->c, true, 0, 8, data_iova(f, 0), NVME_CMD_TIMEOUT_NS), -NVME_ESTATUS);
	assert_int_equal(nvme_last_status(&f->c), NVME_SCT_MEDIA << 8 | NVME_SC_WRITE_FAULT);
	assert_string_equal(nvme_status_str(nvme_last_status(&f->c)), "write fault");
	assert_int_equal(f->c.last_opcode, NVME_CMD_WRITE);
	/* asynchronously: the status comes with the tag */
	f->s.fault = (struct sim_fault){ SIM_FAULT_STATUS, 1, NVME_CMD_READ,
					 NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE), false };
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 41), 0);
	assert_int_equal(nvme_submit_rw(&f->c, false, 1, 1, data_iova(f, 512), 42), 0);
	assert_int_equal(nvme_reap(&f->c, d, 4), 2);
	assert_int_equal(d[0].tag, 41);
	assert_int_equal(d[0].status, NVME_SC_LBA_RANGE);
	assert_int_equal(d[1].tag, 42);
	assert_int_equal(d[1].status, 0);
	assert_int_equal(nvme_failed(&f->c), 0);
	write_read_back(f, 0, 8, 0, 8);
}

static void test_a_completion_for_a_command_not_in_flight_fails_the_controller(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[4];

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_CID, 1, NVME_CMD_READ, 0, false };
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 1), 0);
	assert_int_equal(nvme_reap(&f->c, d, 4), -NVME_EBADCID);
	assert_int_equal(nvme_failed(&f->c), NVME_EBADCID);
	/* sticky until a reset */
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 2), -NVME_EBADCID);
	assert_int_equal(nvme_reap(&f->c, d, 4), -NVME_EBADCID);
	assert_int_equal(init(f, QD), 0);
	write_read_back(f, 0, 8, 0, 9);
	/* during bring-up */
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_CID, 0, NVME_ADMIN_IDENTIFY, 0, false };
	assert_int_equal(init(f, QD), -NVME_EBADCID);
}

static uint32_t duplicates;

static unsigned duplicate(void *ctx, uint16_t qid, struct nvme_cqe *cqe)
{
	(void)ctx;
	(void)cqe;
	return qid == 1 ? duplicates : 0;
}

static void test_a_duplicated_completion_fails_the_controller(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[4];

	assert_int_equal(init(f, QD), 0);
	duplicates = 1;
	f->s.hooks.complete = duplicate;
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 9), 0);
	/* the real completion comes first, then the copy names a command no longer in flight */
	assert_int_equal(nvme_reap(&f->c, d, 4), 1);
	assert_int_equal(d[0].tag, 9);
	assert_int_equal(nvme_reap(&f->c, d, 4), -NVME_EBADCID);
}

/* An SQ head no queue of this size has: a controller that is not making sense fails. */
static void test_an_sq_head_past_the_end_of_the_queue_fails_the_controller(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[4];

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_SQHD_HUGE, 1, NVME_CMD_WRITE, 0, false };
	assert_int_equal(nvme_submit_rw(&f->c, true, 0, 1, data_iova(f, 0), 1), 0);
	assert_int_equal(nvme_reap(&f->c, d, 4), -NVME_EBADSQHD);
	assert_int_equal(nvme_submit_flush(&f->c, 2), -NVME_EBADSQHD);
	f->s.fault = (struct sim_fault){ SIM_FAULT_SQHD_HUGE, 0, NVME_ADMIN_SET_FEATURES, 0, false };
	assert_int_equal(init(f, QD), -NVME_EBADSQHD);
}

/*
 * An SQ head past the tail, or one that does not pass the command it
 * completes (QEMU 7.2's VF posts those now and then): counted, not
 * believed, and the queue goes on.  The driver counts its slots, not
 * SQHD, to know the SQ has room: with SQHD never moving, more commands
 * than the queue holds still go through one after another (a driver that
 * trusted SQHD would find the queue full with nothing in flight).
 */
static void test_an_sq_head_outside_the_entries_submitted_is_counted_and_the_queue_goes_on(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[4];

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_SQHD, 1, NVME_CMD_WRITE, 0, false };
	assert_int_equal(nvme_submit_rw(&f->c, true, 0, 1, data_iova(f, 0), 1), 0);
	assert_int_equal(nvme_reap(&f->c, d, 4), 1);
	assert_int_equal(d[0].tag, 1);
	assert_int_equal(d[0].status, 0);
	assert_int_equal(nvme_sqhd_stale(&f->c), 1);
	assert_int_equal(nvme_failed(&f->c), 0);
	write_read_back(f, 8, 8, 0, 3);
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_SQHD, 0, NVME_ADMIN_SET_FEATURES, 0, false };
	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_sqhd_stale(&f->c), 1);
}

static void test_an_sq_head_that_never_passes_its_command_is_counted_and_the_queue_goes_on(void **state)
{
	struct fx *f = *state;
	struct nvme_done d[4];

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_SQHD_BEHIND, 1, NVME_CMD_READ, 0, true };
	for (unsigned i = 0; i < 3 * QD; i++) {
		assert_int_equal(nvme_submit_rw(&f->c, false, i % 64, 1, data_iova(f, 0), i), 0);
		assert_int_equal(nvme_reap(&f->c, d, 4), 1);
		assert_int_equal(d[0].tag, i);
		assert_int_equal(d[0].status, 0);
	}
	assert_int_equal(nvme_sqhd_stale(&f->c), 3 * QD);
	assert_int_equal(nvme_failed(&f->c), 0);
	/* and with the queue filled: all qdepth - 1 slots, each completion still stale */
	for (unsigned i = 0; i < QD - 1; i++)
		assert_int_equal(nvme_submit_rw(&f->c, false, i, 1, data_iova(f, 0), 100 + i), 0);
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 999), -NVME_EAGAIN);
	for (unsigned got = 0; got < QD - 1;) {
		int n = nvme_reap(&f->c, d, 4);

		assert_true(n > 0);
		got += (unsigned)n;
	}
	assert_int_equal(nvme_submit_rw(&f->c, false, 0, 1, data_iova(f, 0), 1000), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_SQHD_BEHIND, 0, NVME_ADMIN_IDENTIFY, 0, false };
	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_sqhd_stale(&f->c), 1);
}

static void test_a_completion_on_another_queue_fails_the_controller(void **state)
{
	struct fx *f = *state;

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_SQID, 1, NVME_CMD_FLUSH, 0, false };
	assert_int_equal(nvme_flush(&f->c, NVME_CMD_TIMEOUT_NS), -NVME_EBADSQID);
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_SQID, 0, NVME_ADMIN_CREATE_CQ, 0, false };
	assert_int_equal(init(f, QD), -NVME_EBADSQID);
}

static void test_a_command_never_completed_times_out(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_DROP, 1, NVME_CMD_READ, 0, false };
	t0 = f->s.clock_ns;
	assert_int_equal(nvme_rw_sync(&f->c, false, 0, 8, data_iova(f, 0), 2000000000ull), -NVME_ETIMEDOUT);
	assert_true(f->s.clock_ns - t0 >= 2000000000ull && f->s.clock_ns - t0 < 2100000000ull);
	/* its buffer may still be the device's: nothing more until a reset */
	assert_int_equal(nvme_submit_flush(&f->c, 1), -NVME_ETIMEDOUT);
	f->s.fault = (struct sim_fault){ SIM_FAULT_DROP, 0, NVME_ADMIN_IDENTIFY, 0, false };
	assert_int_equal(init(f, QD), -NVME_ETIMEDOUT);
}

static void test_namespaces_the_driver_cannot_use_are_refused(void **state)
{
	struct fx *f = *state;

	f->s.lbads = 8;
	assert_int_equal(init(f, QD), -NVME_ELBADS);
	f->s.lbads = 13;
	assert_int_equal(init(f, QD), -NVME_ELBADS);
	f->s.lbads = 12;
	f->s.ms = 8;
	assert_int_equal(init(f, QD), -NVME_EMETA);
	f->s.ms = 0;
	f->s.flbas = 2; /* NLBAF 0: only format 0 exists */
	assert_int_equal(init(f, QD), -NVME_ELBAF);
	f->s.flbas = 0;
	f->s.nsze = 0;
	assert_int_equal(init(f, QD), -NVME_ENSSIZE);
	f->s.nsze = NBLOCKS / 8;
	f->s.nn = 0;
	assert_int_equal(init(f, QD), -NVME_ENONS);
	f->s.nn = 1;
	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_block_size(&f->c), 4096);
	assert_int_equal(nvme_ns_blocks(&f->c), NBLOCKS / 8);
}

/* ---- shutdown ---- */

static void test_shutdown_deletes_the_queues_and_notifies(void **state)
{
	struct fx *f = *state;
	unsigned n;

	assert_int_equal(init(f, QD), 0);
	assert_int_equal(nvme_shutdown(&f->c), 0);
	n = f->s.admin_logged;
	assert_true(n >= 2);
	assert_int_equal(f->s.admin_log[n - 2], NVME_ADMIN_DELETE_SQ);
	assert_int_equal(f->s.admin_log[n - 1], NVME_ADMIN_DELETE_CQ);
	assert_false(f->s.sq[1].live || f->s.cq[1].live);
	assert_int_equal(f->s.shutdowns, 1);
	assert_int_equal(f->s.cc & NVME_CC_SHN_MASK, NVME_CC_SHN_NORMAL);
	assert_int_equal(nvme_submit_flush(&f->c, 1), -NVME_ENOTLIVE);
	/* and back up again */
	assert_int_equal(init(f, QD), 0);
	write_read_back(f, 0, 8, 0, 10);
}

static void test_a_shutdown_that_never_completes_times_out(void **state)
{
	struct fx *f = *state;

	assert_int_equal(init(f, QD), 0);
	f->s.never_shuts_down = true;
	assert_int_equal(nvme_shutdown(&f->c), -NVME_ESHUTDOWN);
	assert_true(f->s.clock_ns >= NVME_SHUTDOWN_MIN_NS);
}

static void test_a_failed_controller_is_still_shut_down(void **state)
{
	struct fx *f = *state;
	struct nvme_done d;

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_BAD_CID, 1, NVME_CMD_FLUSH, 0, false };
	assert_int_equal(nvme_submit_flush(&f->c, 1), 0);
	assert_int_equal(nvme_reap(&f->c, &d, 1), -NVME_EBADCID);
	assert_int_equal(nvme_shutdown(&f->c), 0);
	assert_int_equal(f->s.admin_count[NVME_ADMIN_DELETE_SQ], 0);
	assert_int_equal(f->s.shutdowns, 1);
}

/* ---- the fio-like job (job.h) ---- */

static void job_for(struct fx *f, struct nvme_job *j, bool rnd, bool rd, bool wr, unsigned iodepth)
{
	*j = (struct nvme_job){ .rnd = rnd, .rd = rd, .wr = wr, .blocks_per_io = 8, .iodepth = iodepth,
				.units = 64, .runtime_ns = 3600000000000ull, .seed = 5 };
	for (unsigned s = 0; s < iodepth; s++)
		j->buf_iova[s] = data_iova(f, s * 4096u);
}

static uint64_t hist_total(const uint32_t *h)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < BLK_NBUCKETS; b++)
		n += h[b];
	return n;
}

static unsigned wait_calls;

static void count_wait(void *ctx)
{
	(void)ctx;
	wait_calls++;
}

static void test_a_job_of_random_reads_does_number_ios_each_in_the_histogram(void **state)
{
	struct fx *f = *state;
	static struct nvme_job_result r;
	struct nvme_job j;

	assert_int_equal(init(f, QD), 0);
	job_for(f, &j, true, true, false, 8);
	j.number_ios = 200;
	assert_int_equal(nvme_job_run(&f->c, &j, &r), 0);
	assert_int_equal(r.issued, 200);
	assert_int_equal(r.st[0].ios, 200);
	assert_int_equal(r.st[0].bytes, 200u * 8 * 512);
	assert_int_equal(r.st[1].ios, 0);
	assert_int_equal(hist_total(r.hist[0]), 200);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.error, 0);
	assert_true(r.runtime_ns > 0);
	assert_int_equal(f->s.io_count[NVME_CMD_READ], 200);
	assert_int_equal(f->s.io_count[NVME_CMD_WRITE], 0);
	assert_int_equal(nvme_inflight(&f->c), 0);
}

static void test_a_sequential_job_walks_the_region_and_wraps(void **state)
{
	struct fx *f = *state;
	static struct nvme_job_result r;
	struct nvme_job j;

	assert_int_equal(init(f, QD), 0);
	job_for(f, &j, false, false, true, 1);
	j.units = 4;
	j.number_ios = 5; /* units 0, 1, 2, 3, then 0 again */
	fill(data(f, 0), 4096, 3);
	assert_int_equal(nvme_job_run(&f->c, &j, &r), 0);
	assert_int_equal(r.st[1].ios, 5);
	for (unsigned u = 0; u < 4; u++)
		assert_memory_equal(f->s.disk + u * 4096u, data(f, 0), 4096);
	assert_int_equal(f->s.disk[4 * 4096], 0); /* past the region: untouched */
}

static void test_a_mixed_job_both_reads_and_writes(void **state)
{
	struct fx *f = *state;
	static struct nvme_job_result r;
	struct nvme_job j;

	assert_int_equal(init(f, QD), 0);
	job_for(f, &j, true, true, true, 4);
	j.number_ios = 400;
	assert_int_equal(nvme_job_run(&f->c, &j, &r), 0);
	assert_int_equal(r.st[0].ios + r.st[1].ios, 400);
	assert_true(r.st[0].ios > 100 && r.st[1].ios > 100);
}

static void test_failed_ios_are_counted_and_stop_on_error_stops_issuing(void **state)
{
	struct fx *f = *state;
	static struct nvme_job_result r;
	struct nvme_job j;

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_STATUS, 1, NVME_CMD_READ,
					 NVME_CQE_STATUS(NVME_SCT_MEDIA, NVME_SC_WRITE_FAULT), true };
	job_for(f, &j, true, true, false, 4);
	j.number_ios = 50;
	assert_int_equal(nvme_job_run(&f->c, &j, &r), 1);
	assert_int_equal(r.errors, 50);
	assert_int_equal(r.st[0].ios, 0);
	assert_int_equal(r.first_status, NVME_SCT_MEDIA << 8 | NVME_SC_WRITE_FAULT);
	j.stop_on_error = true;
	assert_int_equal(nvme_job_run(&f->c, &j, &r), 1);
	assert_int_equal(r.issued, 4); /* what was in flight at the first error, and no more */
	assert_int_equal(r.errors, 4);
	assert_int_equal(nvme_failed(&f->c), 0);
}

static void test_a_job_whose_commands_never_complete_fails_at_the_stall_time(void **state)
{
	struct fx *f = *state;
	static struct nvme_job_result r;
	struct nvme_job j;
	uint64_t t0;

	assert_int_equal(init(f, QD), 0);
	f->s.fault = (struct sim_fault){ SIM_FAULT_DROP, 1, NVME_CMD_READ, 0, true };
	job_for(f, &j, true, true, false, 4);
	j.wait = count_wait;
	wait_calls = 0;
	t0 = f->s.clock_ns;
	assert_int_equal(nvme_job_run(&f->c, &j, &r), -NVME_ETIMEDOUT);
	assert_int_equal(r.error, -NVME_ETIMEDOUT);
	assert_int_equal(r.errors, 4); /* in flight: the device may still own their buffers */
	assert_true(f->s.clock_ns - t0 >= NVME_JOB_STALL_NS);
	assert_true(wait_calls > 0);
	assert_int_equal(r.waits, wait_calls);
}

static void test_bad_jobs_are_refused_before_any_io(void **state)
{
	struct fx *f = *state;
	static struct nvme_job_result r;
	struct nvme_job j;

	assert_int_equal(init(f, QD), 0);
	job_for(f, &j, true, true, false, 0);
	assert_int_equal(nvme_job_run(&f->c, &j, &r), -NVME_EINVAL);
	job_for(f, &j, true, true, false, QD); /* a queue of QD holds QD - 1 */
	assert_int_equal(nvme_job_run(&f->c, &j, &r), -NVME_EINVAL);
	job_for(f, &j, true, false, false, 1); /* neither reads nor writes */
	assert_int_equal(nvme_job_run(&f->c, &j, &r), -NVME_EINVAL);
	job_for(f, &j, true, true, false, 1);
	j.units = NBLOCKS / 8 + 1; /* past the namespace */
	assert_int_equal(nvme_job_run(&f->c, &j, &r), -NVME_EINVAL);
	job_for(f, &j, true, true, false, 1);
	j.blocks_per_io = nvme_max_blocks(&f->c) + 1;
	assert_int_equal(nvme_job_run(&f->c, &j, &r), -NVME_EINVAL);
	assert_int_equal(f->s.io_count[NVME_CMD_READ], 0);
}

/* blk's rw= and number words (include/blkhist.h), as the guest's blk and vfio-nvme-io read them. */
static void test_rw_modes_are_fios_five_and_nothing_else(void **state)
{
	bool rnd, rd, wr;

	(void)state;
	assert_true(blk_rw_mode("read", &rnd, &rd, &wr) && !rnd && rd && !wr);
	assert_true(blk_rw_mode("write", &rnd, &rd, &wr) && !rnd && !rd && wr);
	assert_true(blk_rw_mode("randread", &rnd, &rd, &wr) && rnd && rd && !wr);
	assert_true(blk_rw_mode("randwrite", &rnd, &rd, &wr) && rnd && !rd && wr);
	assert_true(blk_rw_mode("randrw", &rnd, &rd, &wr) && rnd && rd && wr);
	assert_false(blk_rw_mode("rand", &rnd, &rd, &wr));
	assert_false(blk_rw_mode("randreadx", &rnd, &rd, &wr));
	assert_false(blk_rw_mode("Read", &rnd, &rd, &wr));
	assert_false(blk_rw_mode("", &rnd, &rd, &wr));
	assert_false(rd || wr);
}

static void test_counts_take_k_and_m_and_refuse_anything_else(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_true(blk_parse_count("4096", 4, &v) && v == 4096);
	assert_true(blk_parse_count("4k", 2, &v) && v == 4096);
	assert_true(blk_parse_count("128K", 4, &v) && v == 131072);
	assert_true(blk_parse_count("64m", 3, &v) && v == 64ull << 20);
	assert_true(blk_parse_count("18446744073709551615", 20, &v) && v == UINT64_MAX);
	assert_true(blk_parse_count("12x", 2, &v) && v == 12); /* only len bytes are the word */
	v = 7;
	assert_false(blk_parse_count("12x", 3, &v));
	assert_false(blk_parse_count("4kk", 3, &v));
	assert_false(blk_parse_count("k", 1, &v));
	assert_false(blk_parse_count("", 0, &v));
	assert_false(blk_parse_count("-1", 2, &v));
	assert_false(blk_parse_count("18446744073709551616", 20, &v));
	assert_false(blk_parse_count("17592186044416m", 15, &v)); /* 2^44 MiB: past 2^64 */
	assert_int_equal(v, 7); /* untouched on refusal */
}

static void test_every_error_has_its_own_words(void **state)
{
	(void)state;
	for (int i = 0; i < NVME_NR_ERRORS; i++) {
		assert_non_null(nvme_strerror(-i));
		assert_string_equal(nvme_strerror(-i), nvme_strerror(i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(nvme_strerror(-i), nvme_strerror(-j));
	}
	assert_string_equal(nvme_strerror(-NVME_NR_ERRORS), "unknown NVMe driver error");
	assert_string_equal(nvme_status_str(0), "success");
	assert_string_equal(nvme_status_str(NVME_SCT_PATH << 8 | 1), "path related error");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_reads_identify_fields_and_programs_the_controller),
		T(test_init_with_a_vector_enables_the_cq_interrupt),
		T(test_init_waits_for_a_slow_controller_and_resets_an_enabled_one),
		T(test_queue_memory_is_checked_and_the_size_needed_is_told),
		T(test_unsupported_capabilities_are_refused),
		T(test_a_tiny_mqes_bounds_the_queue),
		T(test_a_wide_doorbell_stride_is_followed),
		T(test_write_then_read_back_through_one_two_three_and_many_pages),
		T(test_a_buffer_with_an_offset_spans_one_more_page),
		T(test_mdts_bounds_the_transfer),
		T(test_bad_ranges_and_arguments_are_refused_before_submission),
		T(test_flush_reaches_the_controller),
		T(test_more_commands_than_the_queue_holds_wrap_the_phase),
		T(test_sync_commands_refuse_while_io_is_in_flight),
		T(test_a_controller_that_never_gets_ready_times_out),
		T(test_a_controller_that_never_resets_times_out),
		T(test_fatal_status_fails_init),
		T(test_an_admin_error_status_fails_init_with_the_status_kept),
		T(test_an_io_error_status_is_reported_and_the_queue_goes_on),
		T(test_a_completion_for_a_command_not_in_flight_fails_the_controller),
		T(test_a_duplicated_completion_fails_the_controller),
		T(test_an_sq_head_past_the_end_of_the_queue_fails_the_controller),
		T(test_an_sq_head_outside_the_entries_submitted_is_counted_and_the_queue_goes_on),
		T(test_an_sq_head_that_never_passes_its_command_is_counted_and_the_queue_goes_on),
		T(test_a_completion_on_another_queue_fails_the_controller),
		T(test_a_command_never_completed_times_out),
		T(test_namespaces_the_driver_cannot_use_are_refused),
		T(test_shutdown_deletes_the_queues_and_notifies),
		T(test_a_shutdown_that_never_completes_times_out),
		T(test_a_failed_controller_is_still_shut_down),
		T(test_every_error_has_its_own_words),
		T(test_a_job_of_random_reads_does_number_ios_each_in_the_histogram),
		T(test_a_sequential_job_walks_the_region_and_wraps),
		T(test_a_mixed_job_both_reads_and_writes),
		T(test_failed_ios_are_counted_and_stop_on_error_stops_issuing),
		T(test_a_job_whose_commands_never_complete_fails_at_the_stall_time),
		T(test_bad_jobs_are_refused_before_any_io),
		T(test_rw_modes_are_fios_five_and_nothing_else),
		T(test_counts_take_k_and_m_and_refuse_anything_else),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
