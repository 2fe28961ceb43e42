/* SPDX-License-Identifier: MIT */
/*
 * NVM Express definitions used by the driver (nvme/drv.c) and by its
 * software controller model (nvme/tests/sim.c): controller registers,
 * queue entries, opcodes, Identify data offsets and status codes, from the
 * NVMe base specification 1.4 / 2.0 (section numbers are 2.0's).
 *
 * Everything NVMe puts in memory is little-endian; the structs below are
 * used in place, so this header is for little-endian hosts only.
 * Freestanding: only <stdint.h>.
 */
#ifndef XENITH_NVME_H
#define XENITH_NVME_H

#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "NVMe structures are little-endian");

/* ---- controller registers (BAR0, section 3.1.3) ---- */
#define NVME_REG_CAP 0x00u   /* 64-bit: controller capabilities */
#define NVME_REG_VS 0x08u    /* version: major 31:16, minor 15:8, tertiary 7:0 */
#define NVME_REG_INTMS 0x0cu /* interrupt mask set (pin/MSI only) */
#define NVME_REG_INTMC 0x10u /* interrupt mask clear */
#define NVME_REG_CC 0x14u    /* controller configuration */
#define NVME_REG_CSTS 0x1cu  /* controller status */
#define NVME_REG_AQA 0x24u   /* admin queue attributes */
#define NVME_REG_ASQ 0x28u   /* 64-bit: admin SQ base */
#define NVME_REG_ACQ 0x30u   /* 64-bit: admin CQ base */
#define NVME_REG_DBS 0x1000u /* first doorbell */

/* CAP fields, on the 64-bit value */
#define NVME_CAP_MQES(cap) ((uint32_t)((cap) & 0xffff))          /* max entries per I/O queue, 0-based */
#define NVME_CAP_CQR(cap) ((uint32_t)((cap) >> 16) & 1)          /* queues must be physically contiguous */
#define NVME_CAP_TO(cap) ((uint32_t)((cap) >> 24) & 0xff)        /* ready timeout, 500 ms units */
#define NVME_CAP_DSTRD(cap) ((uint32_t)((cap) >> 32) & 0xf)      /* doorbell stride: 4 << DSTRD bytes */
#define NVME_CAP_CSS(cap) ((uint32_t)((cap) >> 37) & 0xff)       /* command sets supported */
#define NVME_CAP_MPSMIN(cap) ((uint32_t)((cap) >> 48) & 0xf)     /* min page size: 2^(12 + MPSMIN) */
#define NVME_CAP_MPSMAX(cap) ((uint32_t)((cap) >> 52) & 0xf)     /* max page size: 2^(12 + MPSMAX) */
#define NVME_CAP_CSS_NVM 0x01u                                   /* CSS bit 0: the NVM command set */
#define NVME_TO_UNIT_NS 500000000ull

/* CC fields */
#define NVME_CC_EN (1u << 0)
#define NVME_CC_CSS_NVM (0u << 4)
#define NVME_CC_MPS(mps) ((uint32_t)(mps) << 7)                 /* page size 2^(12 + MPS) */
#define NVME_CC_AMS_RR (0u << 11)                                /* round robin arbitration */
#define NVME_CC_SHN_MASK (3u << 14)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CC_SHN_ABRUPT (2u << 14)
#define NVME_CC_IOSQES(n) ((uint32_t)(n) << 16)                 /* I/O SQ entry size: 2^n bytes */
#define NVME_CC_IOCQES(n) ((uint32_t)(n) << 20)                 /* I/O CQ entry size: 2^n bytes */

/* CSTS fields */
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1)                                  /* controller fatal status */
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_NORMAL (0u << 2)
#define NVME_CSTS_SHST_OCCURRING (1u << 2)
#define NVME_CSTS_SHST_COMPLETE (2u << 2)

/* AQA: both sizes 0-based, 12 bits (at most 4096 entries) */
#define NVME_AQA(sq_entries, cq_entries) \
	((uint32_t)((sq_entries) - 1) | (uint32_t)((cq_entries) - 1) << 16)
#define NVME_ADMIN_QUEUE_MAX 4096u

/* Doorbells (section 3.1.3.x): SQ y tail at 2y strides past NVME_REG_DBS, CQ y head at 2y + 1. */
#define NVME_DB_SQ_TAIL(qid, dstrd) (NVME_REG_DBS + (2u * (qid)) * (4u << (dstrd)))
#define NVME_DB_CQ_HEAD(qid, dstrd) (NVME_REG_DBS + (2u * (qid) + 1u) * (4u << (dstrd)))

/* ---- queue entries (sections 4.2, 4.6) ---- */
#define NVME_SQES_LOG2 6u
#define NVME_CQES_LOG2 4u

struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;  /* FUSE 1:0, PSDT 7:6 (0: PRPs) */
	uint16_t cid;   /* command identifier, echoed in the CQE */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;  /* metadata pointer */
	uint64_t prp1;  /* data pointer: PRP entry 1 ... */
	uint64_t prp2;  /* ... and PRP entry 2 or a PRP list pointer */
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 1u << NVME_SQES_LOG2, "an SQ entry is 64 bytes");

struct nvme_cqe {
	uint32_t dw0;    /* command specific */
	uint32_t dw1;
	uint16_t sqhd;   /* the SQ head when the controller posted this */
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* phase tag in bit 0, then the status field */
};
_Static_assert(sizeof(struct nvme_cqe) == 1u << NVME_CQES_LOG2, "a CQ entry is 16 bytes");

/*
 * The 16-bit status word of a CQE: P 0, SC 8:1, SCT 11:9, CRD 13:12, M 14,
 * DNR 15.  The driver reports it without the phase bit as (SCT << 8) | SC.
 */
#define NVME_CQE_PHASE 1u
#define NVME_CQE_SC(st) ((uint8_t)((st) >> 1))
#define NVME_CQE_SCT(st) ((uint8_t)(((st) >> 9) & 7))
#define NVME_CQE_DNR(st) (((st) >> 15) & 1)
#define NVME_CQE_STATUS(sct, sc) ((uint16_t)((uint16_t)((sct) & 7) << 9 | (uint16_t)(sc) << 1))

/* Status code types */
#define NVME_SCT_GENERIC 0u
#define NVME_SCT_CMD_SPECIFIC 1u
#define NVME_SCT_MEDIA 2u
#define NVME_SCT_PATH 3u
#define NVME_SCT_VENDOR 7u

/* Generic command status (SCT 0) */
#define NVME_SC_SUCCESS 0x00u
#define NVME_SC_INVALID_OPCODE 0x01u
#define NVME_SC_INVALID_FIELD 0x02u
#define NVME_SC_CID_CONFLICT 0x03u
#define NVME_SC_DATA_XFER_ERROR 0x04u
#define NVME_SC_POWER_LOSS_ABORT 0x05u
#define NVME_SC_INTERNAL 0x06u
#define NVME_SC_ABORT_REQ 0x07u
#define NVME_SC_ABORT_SQ_DELETED 0x08u
#define NVME_SC_INVALID_NS 0x0bu
#define NVME_SC_CMD_SEQ_ERROR 0x0cu
#define NVME_SC_INVALID_PRP_OFFSET 0x13u
#define NVME_SC_LBA_RANGE 0x80u
#define NVME_SC_CAP_EXCEEDED 0x81u
#define NVME_SC_NS_NOT_READY 0x82u

/* Command specific status (SCT 1) of the queue commands */
#define NVME_SC_CQ_INVALID 0x00u
#define NVME_SC_QID_INVALID 0x01u
#define NVME_SC_QSIZE_INVALID 0x02u
#define NVME_SC_INVALID_VECTOR 0x08u
#define NVME_SC_INVALID_QUEUE_DELETION 0x0cu

/* Media and data integrity errors (SCT 2) */
#define NVME_SC_WRITE_FAULT 0x80u
#define NVME_SC_READ_ERROR 0x81u

/* ---- admin commands (section 5) ---- */
#define NVME_ADMIN_DELETE_SQ 0x00u
#define NVME_ADMIN_CREATE_SQ 0x01u
#define NVME_ADMIN_GET_LOG_PAGE 0x02u
#define NVME_ADMIN_DELETE_CQ 0x04u
#define NVME_ADMIN_CREATE_CQ 0x05u
#define NVME_ADMIN_IDENTIFY 0x06u
#define NVME_ADMIN_ABORT 0x08u
#define NVME_ADMIN_SET_FEATURES 0x09u
#define NVME_ADMIN_GET_FEATURES 0x0au

/* Create I/O CQ / SQ: CDW10 QSIZE (0-based) 31:16 | QID 15:0 */
#define NVME_QUEUE_CDW10(qid, entries) ((uint32_t)((entries) - 1) << 16 | (uint16_t)(qid))
/* Create I/O CQ CDW11: IV 31:16, IEN 1, PC 0 */
#define NVME_CQ_PC (1u << 0)
#define NVME_CQ_IEN (1u << 1)
#define NVME_CQ_IV(v) ((uint32_t)(v) << 16)
/* Create I/O SQ CDW11: CQID 31:16, QPRIO 2:1, PC 0 */
#define NVME_SQ_PC (1u << 0)
#define NVME_SQ_CQID(q) ((uint32_t)(q) << 16)

/* Set Features: FID in CDW10 7:0 */
#define NVME_FEAT_NUM_QUEUES 0x07u /* CDW11 and DW0: NCQR/NCQA 31:16, NSQR/NSQA 15:0, both 0-based */

/* Identify: CNS in CDW10 7:0 */
#define NVME_CNS_NS 0x00u          /* namespace data (NSID) */
#define NVME_CNS_CTRL 0x01u        /* controller data */
#define NVME_CNS_NS_ACTIVE 0x02u   /* active namespace ID list */
#define NVME_IDENTIFY_LEN 4096u

/* Identify Controller: byte offsets */
#define NVME_IDC_VID 0u       /* u16 PCI vendor */
#define NVME_IDC_SN 4u        /* 20 ASCII bytes, space padded */
#define NVME_IDC_SN_LEN 20u
#define NVME_IDC_MN 24u       /* 40 ASCII bytes */
#define NVME_IDC_MN_LEN 40u
#define NVME_IDC_FR 64u       /* 8 ASCII bytes */
#define NVME_IDC_FR_LEN 8u
#define NVME_IDC_MDTS 77u     /* u8 max transfer: 2^MDTS min pages, 0: no limit */
#define NVME_IDC_CNTLID 78u   /* u16 */
#define NVME_IDC_VER 80u      /* u32, as VS */
#define NVME_IDC_RTD3E 88u    /* u32 RTD3 entry latency, microseconds (0: not reported) */
#define NVME_IDC_SQES 512u    /* u8 required 3:0, max 7:4, log2 bytes */
#define NVME_IDC_CQES 513u
#define NVME_IDC_NN 516u      /* u32 number of namespaces (highest NSID) */
#define NVME_IDC_VWC 525u     /* u8 bit 0: a volatile write cache is present */

/* Identify Namespace (NVM command set): byte offsets */
#define NVME_IDNS_NSZE 0u     /* u64 size in logical blocks */
#define NVME_IDNS_NCAP 8u     /* u64 capacity */
#define NVME_IDNS_NLBAF 25u   /* u8 number of LBA formats, 0-based */
#define NVME_IDNS_FLBAS 26u   /* u8 format index 3:0 (and 6:5 as 5:4 in 2.0), extended LBA 4 */
#define NVME_IDNS_LBAF 128u   /* u32 per format: MS 15:0, LBADS 23:16, RP 25:24 */
#define NVME_IDNS_LBAF_MAX 64u
#define NVME_FLBAS_INDEX(f) ((unsigned)((f) & 0xf) | (unsigned)(((f) >> 5) & 3) << 4)
#define NVME_LBAF_MS(l) ((uint16_t)((l) & 0xffff))
#define NVME_LBAF_LBADS(l) ((uint8_t)((l) >> 16))

/* ---- NVM command set I/O commands ---- */
#define NVME_CMD_FLUSH 0x00u
#define NVME_CMD_WRITE 0x01u
#define NVME_CMD_READ 0x02u
/* Read/Write: CDW10-11 SLBA, CDW12 NLB (0-based) 15:0 */
#define NVME_RW_NLB_MAX 65536u

#endif
