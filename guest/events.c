// SPDX-License-Identifier: MIT
/* Event channels, guest side of the two-level scheme in xenith/shared_info.h. */
#include "hypercall.h"
#include "minios.h"

int evtchn_bind_virq(unsigned virq, unsigned vcpu)
{
	struct evtchn_bind_virq b = { .virq = virq, .vcpu = vcpu };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &b);

	return r < 0 ? (int)r : (int)b.port;
}

/* Clears the per-vCPU summary first, so a later event sets it again. */
void evtchn_clear_upcall(unsigned vcpu)
{
	struct xenith_vcpu_info *vi = &shared_info->vcpu_info[vcpu];

	__atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
	__atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
}

bool evtchn_test_and_clear(uint32_t port)
{
	uint64_t bit = 1ull << (port % 64);

	return __atomic_fetch_and(&shared_info->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit;
}

int evtchn_alloc_unbound(uint16_t remote_dom)
{
	struct evtchn_alloc_unbound a = { .dom = XENITH_DOMID_SELF, .remote_dom = remote_dom };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a);

	return r < 0 ? (int)r : (int)a.port;
}

int evtchn_status(uint32_t port, struct evtchn_status *st)
{
	*st = (struct evtchn_status){ .dom = XENITH_DOMID_SELF, .port = port };
	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_status, st);
}

int evtchn_send(uint32_t port)
{
	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_send, &(struct evtchn_send){ port });
}

int evtchn_close(uint32_t port)
{
	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_close, &(struct evtchn_close){ port });
}

void evtchn_unmask(uint32_t port)
{
	struct evtchn_unmask u = { .port = port };

	__atomic_fetch_and(&shared_info->evtchn_mask[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
	HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &u);
}

int evtchn_bind_vcpu(uint32_t port, unsigned vcpu)
{
	struct evtchn_bind_vcpu b = { .port = port, .vcpu = vcpu };

	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, &b);
}
