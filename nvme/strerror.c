// SPDX-License-Identifier: MIT
/* Words for the driver's errors and for the device's completion status codes (nvme/drv.h). */
#include "drv.h"

static const char *const errors[] = {
	[NVME_OK] = "success",
	[NVME_EAGAIN] = "I/O queue full: reap completions, then submit again",
	[NVME_EINVAL] = "invalid argument (zero blocks, a buffer not dword-aligned, an MSI-X vector out of range)",
	[NVME_ERANGE] = "LBA range passes the end of namespace 1",
	[NVME_E2BIG] = "transfer larger than the controller's MDTS or the driver's PRP list (see nvme_max_blocks)",
	[NVME_EBUSY] = "synchronous command refused: asynchronous I/O is still in flight (reap it first)",
	[NVME_ENOTLIVE] = "controller not initialised, or shut down: call nvme_init",
	[NVME_EMEMSIZE] = "queue memory too small: give at least nvme_queue_mem_size(qdepth) bytes (ctrl.mem_needed)",
	[NVME_EMEMALIGN] = "queue memory not 4 KiB aligned (both its address and its IOVA must be)",
	[NVME_EQDEPTH] = "queue depth outside 2..NVME_MAX_QDEPTH, or the controller's CAP.MQES allows fewer than 2",
	[NVME_ENODEV] = "registers read all ones: the device is gone, or BAR0 is not mapped or not enabled",
	[NVME_ENOCSS] = "controller does not support the NVM command set (CAP.CSS)",
	[NVME_EPAGESIZE] = "controller does not support 4 KiB memory pages (CAP.MPSMIN/MPSMAX)",
	[NVME_EDISABLE] = "controller did not reset: CSTS.RDY stayed 1 for CAP.TO after CC.EN was cleared",
	[NVME_EREADY] = "controller did not become ready: CSTS.RDY stayed 0 for CAP.TO after CC.EN was set",
	[NVME_ECFS] = "controller fatal status (CSTS.CFS): it needs a reset",
	[NVME_ETIMEDOUT] = "command timed out: the controller is failed until nvme_init resets it",
	[NVME_ESTATUS] = "command failed with an error status (see nvme_last_status)",
	[NVME_EBADCID] = "device protocol error: a completion named a command id not in flight",
	[NVME_EBADSQHD] = "device protocol error: a completion's SQ head is past the end of the queue",
	[NVME_EBADSQID] = "device protocol error: a completion named another submission queue",
	[NVME_ENONS] = "controller has no namespaces (Identify Controller NN is 0)",
	[NVME_ENSSIZE] = "namespace 1 has size 0: it is inactive or not formatted",
	[NVME_ELBAF] = "namespace 1's FLBAS names an LBA format past NLBAF",
	[NVME_ELBADS] = "namespace 1's LBA size is not 512 B..4 KiB (LBADS 9..12): reformat it",
	[NVME_EMETA] = "namespace 1 is formatted with metadata, which the driver does not transfer: reformat it",
	[NVME_ESHUTDOWN] = "shutdown did not complete: CSTS.SHST never said so",
};
_Static_assert(sizeof(errors) / sizeof(errors[0]) == NVME_NR_ERRORS, "a string for every enum nvme_error");

const char *nvme_strerror(int code)
{
	unsigned i = code < 0 ? (unsigned)-code : (unsigned)code;

	return i < NVME_NR_ERRORS && errors[i] ? errors[i] : "unknown NVMe driver error";
}

const char *nvme_status_str(uint16_t status)
{
	uint8_t sc = NVME_STATUS_SC(status);

	switch (NVME_STATUS_SCT(status)) {
	case NVME_SCT_GENERIC:
		switch (sc) {
		case NVME_SC_SUCCESS: return "success";
		case NVME_SC_INVALID_OPCODE: return "invalid command opcode";
		case NVME_SC_INVALID_FIELD: return "invalid field in command";
		case NVME_SC_CID_CONFLICT: return "command id conflict";
		case NVME_SC_DATA_XFER_ERROR: return "data transfer error";
		case NVME_SC_POWER_LOSS_ABORT: return "aborted: power loss notification";
		case NVME_SC_INTERNAL: return "internal error";
		case NVME_SC_ABORT_REQ: return "aborted by request";
		case NVME_SC_ABORT_SQ_DELETED: return "aborted: SQ deleted";
		case NVME_SC_INVALID_NS: return "invalid namespace or format";
		case NVME_SC_CMD_SEQ_ERROR: return "command sequence error";
		case NVME_SC_INVALID_PRP_OFFSET: return "invalid PRP offset";
		case NVME_SC_LBA_RANGE: return "LBA out of range";
		case NVME_SC_CAP_EXCEEDED: return "capacity exceeded";
		case NVME_SC_NS_NOT_READY: return "namespace not ready";
		}
		return "generic error";
	case NVME_SCT_CMD_SPECIFIC:
		switch (sc) {
		case NVME_SC_CQ_INVALID: return "completion queue invalid";
		case NVME_SC_QID_INVALID: return "invalid queue identifier";
		case NVME_SC_QSIZE_INVALID: return "invalid queue size";
		case NVME_SC_INVALID_VECTOR: return "invalid interrupt vector";
		case NVME_SC_INVALID_QUEUE_DELETION: return "invalid queue deletion";
		}
		return "command specific error";
	case NVME_SCT_MEDIA:
		switch (sc) {
		case NVME_SC_WRITE_FAULT: return "write fault";
		case NVME_SC_READ_ERROR: return "unrecovered read error";
		}
		return "media or data integrity error";
	case NVME_SCT_PATH:
		return "path related error";
	case NVME_SCT_VENDOR:
		return "vendor specific error";
	}
	return "reserved status code type";
}
