/* SPDX-License-Identifier: MIT */
/*
 * Minimal ACPI tables for Linux guests: RSDP, XSDT, FADT (with FACS and a
 * DSDT that declares \_S5, and \_SB.PCI0 when the guest has a PCI bus),
 * MADT (local APICs and the KVM IOAPIC).
 * Power-off is the guest writing SLP_TYP=5 | SLP_EN to PM1a_CNT; reset is
 * the FADT reset register (port 0xcf9).
 */
#ifndef XENITH_HV_ACPI_H
#define XENITH_HV_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_PM1A_EVT_PORT 0x600   /* 4 bytes: PM1 status, PM1 enable */
#define ACPI_PM1A_CNT_PORT 0x604   /* 2 bytes */
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06
#define ACPI_SCI_IRQ 9
#define ACPI_SLP_TYP_S5 5          /* the value \_S5 declares */
#define ACPI_PM1_SLP_EN (1u << 13)
#define ACPI_PM1_SCI_EN (1u << 0)
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_LAPIC_ADDR 0xfee00000u

/*
 * Writes the tables into buf, which the guest sees at guest physical
 * address gpa; returns the bytes used (the RSDP is at gpa) or 0 when
 * size is too small.  pci_size not 0: the DSDT has a PCI host bridge
 * (PNP0A03) for bus 0, configuration ports 0xcf8-0xcff and the memory
 * window [pci_base, pci_base + pci_size).
 */
size_t acpi_build(uint8_t *buf, size_t size, uint64_t gpa, unsigned nr_vcpus, uint64_t pci_base,
		  uint64_t pci_size);

/*
 * The AML of \_SB.PCI0 (see acpi_build) into out (at least
 * ACPI_PCI0_AML_MAX bytes); returns its length.
 */
#define ACPI_PCI0_AML_MAX 128u
size_t acpi_pci0_aml(uint8_t *out, uint64_t base, uint64_t size);

/* Sum of bytes mod 256 (0 for a valid table). */
uint8_t acpi_checksum(const void *p, size_t len);

#endif
