/* SPDX-License-Identifier: MIT */
/*
 * Every device type, one line each: its static const struct device_ops.
 * Listed in connect order; disconnect and destroy go in the reverse order.
 * A new type is one line here plus its own files (and meson.build).
 * Included by device.c only, with DEVICE_TYPE defined (no include guard).
 */
DEVICE_TYPE(vbd_device_ops)      /* blkdev.c: one per `disk` key (virtual block device) */
DEVICE_TYPE(vif_device_ops)      /* netdev.c: one per `vif` key (virtual network interface) */
DEVICE_TYPE(pci_device_ops)      /* pcidev.c: one per `pci` key (a PCI function through VFIO) */
DEVICE_TYPE(bench_device_ops)    /* bench_hooks.c: domains started by `xenith bench` */
DEVICE_TYPE(loopback_device_ops) /* loopback.c: XENITH_TEST_HOOKS=1 domains (evtchn tests) */
