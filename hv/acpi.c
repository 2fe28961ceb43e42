// SPDX-License-Identifier: MIT
#include "acpi.h"

#include <string.h>

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return sum;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The 36-byte header every system description table starts with. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "XENITH", 6);
	memcpy(t + 16, "XENITHVM", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "XNTH", 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)-acpi_checksum(t, len);
}

/* Generic Address Structure: system I/O space. */
static void gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
	p[0] = 1; /* SystemIO */
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	put64(p + 4, port);
}

#define ALIGN(x, a) (((x) + (a) - 1) & ~(size_t)((a) - 1))

/* An AML PkgLength for body bytes after it (1 or 2 bytes: bodies here are under 4 KiB). */
static size_t pkglen(uint8_t *p, size_t body)
{
	if (body + 1 <= 0x3f) {
		p[0] = (uint8_t)(body + 1);
		return 1;
	}
	p[0] = (uint8_t)(0x40 | ((body + 2) & 0xf));
	p[1] = (uint8_t)((body + 2) >> 4);
	return 2;
}

/*
 * Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03")) Name (_UID, 0)
 *   Name (_CRS, ResourceTemplate () { WordBusNumber 0-0; IO 0xcf8, 8 ports;
 *   QWordMemory [base, base + size) }) } }
 */
size_t acpi_pci0_aml(uint8_t *out, uint64_t base, uint64_t size)
{
	static const uint8_t head[] = {
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03, /* EisaId ("PNP0A03") */
		0x08, '_', 'U', 'I', 'D', 0x00,
	};
	static const uint8_t bus_io[] = {
		/* Word Address Space Descriptor: bus numbers, producer, min and max fixed: 0 to 0, 1 bus */
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
		/* I/O port descriptor: 16-bit decode, 0xcf8, 8 ports */
		0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	};
	uint8_t crs[72], dev[ACPI_PCI0_AML_MAX], *q = crs;
	size_t n = 0, d = 0;

	memcpy(q, bus_io, sizeof(bus_io));
	q += sizeof(bus_io);
	/* QWord Address Space Descriptor: memory, producer, min and max fixed; read-write, non-cacheable */
	q[0] = 0x8a, q[1] = 0x2b, q[2] = 0x00, q[3] = 0x00, q[4] = 0x0c, q[5] = 0x01;
	put64(q + 6, 0);                /* granularity */
	put64(q + 14, base);            /* minimum */
	put64(q + 22, base + size - 1); /* maximum */
	put64(q + 30, 0);               /* translation */
	put64(q + 38, size);            /* length */
	q += 46;
	q[0] = 0x79, q[1] = 0x00;       /* end tag */
	q += 2;

	/* Device (PCI0) body */
	memcpy(dev + d, "PCI0", 4), d += 4;
	memcpy(dev + d, head, sizeof(head)), d += sizeof(head);
	memcpy(dev + d, "\x08_CRS", 5), d += 5;
	dev[d++] = 0x11;                                    /* BufferOp */
	d += pkglen(dev + d, 2 + sizeof(crs));
	dev[d++] = 0x0a, dev[d++] = (uint8_t)sizeof(crs);   /* BufferSize: BytePrefix */
	memcpy(dev + d, crs, sizeof(crs)), d += sizeof(crs);

	/* Scope (\_SB) { DeviceOp PkgLength body } */
	out[n++] = 0x10;
	n += pkglen(out + n, 5 + 2 + (d + 1 <= 0x3f ? 1 : 2) + d);
	memcpy(out + n, "\\_SB_", 5), n += 5;
	out[n++] = 0x5b, out[n++] = 0x82;
	n += pkglen(out + n, d);
	memcpy(out + n, dev, d), n += d;
	return n;
}

size_t acpi_build(uint8_t *buf, size_t size, uint64_t gpa, unsigned nr_vcpus, uint64_t pci_base,
		  uint64_t pci_size)
{
	/* \_S5 = Package { 5, 5, 0, 0 }: NameOp "_S5_" PackageOp PkgLength NumElements ... */
	static const uint8_t s5_aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
					  0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5, 0x00, 0x00 };
	size_t rsdp = 0, facs = 64, dsdt, fadt, madt, xsdt, end;
	uint8_t pci0[ACPI_PCI0_AML_MAX];
	size_t pci0_len = pci_size ? acpi_pci0_aml(pci0, pci_base, pci_size) : 0;
	uint32_t dsdt_len = 36 + sizeof(s5_aml) + (uint32_t)pci0_len, fadt_len = 276;
	uint32_t madt_len = 44 + 8 * nr_vcpus + 12 + 10, xsdt_len = 36 + 2 * 8;
	uint8_t *t;

	dsdt = facs + 64;
	fadt = ALIGN(dsdt + dsdt_len, 16);
	madt = ALIGN(fadt + fadt_len, 16);
	xsdt = ALIGN(madt + madt_len, 16);
	end = xsdt + xsdt_len;
	if (end > size || nr_vcpus == 0 || nr_vcpus > 254)
		return 0;
	memset(buf, 0, end);

	/* FACS: no checksum; 64-byte aligned. */
	t = buf + facs;
	memcpy(t, "FACS", 4);
	put32(t + 4, 64);
	t[32] = 2; /* version */

	t = buf + dsdt;
	header(t, "DSDT", dsdt_len, 2);
	memcpy(t + 36, s5_aml, sizeof(s5_aml));
	memcpy(t + 36 + sizeof(s5_aml), pci0, pci0_len);
	finish(t, dsdt_len);

	t = buf + fadt;
	header(t, "FACP", fadt_len, 6);
	put32(t + 36, (uint32_t)(gpa + facs));    /* FIRMWARE_CTRL */
	put32(t + 40, (uint32_t)(gpa + dsdt));    /* DSDT */
	put16(t + 46, ACPI_SCI_IRQ);              /* SCI_INT; SMI_CMD 0: always in ACPI mode */
	put32(t + 56, ACPI_PM1A_EVT_PORT);        /* PM1a_EVT_BLK */
	put32(t + 64, ACPI_PM1A_CNT_PORT);        /* PM1a_CNT_BLK */
	t[88] = 4;                                /* PM1_EVT_LEN */
	t[89] = 2;                                /* PM1_CNT_LEN */
	put16(t + 109, 1u << 2);                  /* IAPC_BOOT_ARCH: VGA not present; no 8042 */
	/* Flags: WBINVD, power and sleep buttons absent, RESET_REG_SUP. */
	put32(t + 112, (1u << 0) | (1u << 4) | (1u << 5) | (1u << 10));
	gas_io(t + 116, 8, 1, ACPI_RESET_PORT);   /* RESET_REG */
	t[128] = ACPI_RESET_VALUE;
	t[131] = 3;                               /* FADT minor version (6.3) */
	put64(t + 132, gpa + facs);               /* X_FIRMWARE_CTRL */
	put64(t + 140, gpa + dsdt);               /* X_DSDT */
	gas_io(t + 148, 32, 2, ACPI_PM1A_EVT_PORT); /* X_PM1a_EVT_BLK */
	gas_io(t + 172, 16, 2, ACPI_PM1A_CNT_PORT); /* X_PM1a_CNT_BLK */
	memcpy(t + 268, "XENITHVM", 8);           /* hypervisor vendor identity */
	finish(t, fadt_len);

	t = buf + madt;
	header(t, "APIC", madt_len, 4);
	put32(t + 36, ACPI_LAPIC_ADDR);
	put32(t + 40, 1);                         /* PCAT_COMPAT: there are 8259 PICs */
	{
		uint8_t *e = t + 44;

		for (unsigned i = 0; i < nr_vcpus; i++, e += 8) {
			e[0] = 0;             /* processor local APIC */
			e[1] = 8;
			e[2] = (uint8_t)i;    /* ACPI processor UID */
			e[3] = (uint8_t)i;    /* APIC ID = vCPU id */
			put32(e + 4, 1);      /* enabled */
		}
		e[0] = 1;                     /* I/O APIC */
		e[1] = 12;
		e[2] = (uint8_t)nr_vcpus;     /* an ID no CPU uses */
		put32(e + 4, ACPI_IOAPIC_ADDR);
		put32(e + 8, 0);              /* GSI base */
		e += 12;
		e[0] = 2;                     /* interrupt source override: the SCI */
		e[1] = 10;
		e[2] = 0;                     /* ISA */
		e[3] = ACPI_SCI_IRQ;
		put32(e + 4, ACPI_SCI_IRQ);
		put16(e + 8, 0x000d);         /* active high, level triggered */
	}
	finish(t, madt_len);

	t = buf + xsdt;
	header(t, "XSDT", xsdt_len, 1);
	put64(t + 36, gpa + fadt);
	put64(t + 44, gpa + madt);
	finish(t, xsdt_len);

	t = buf + rsdp;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "XENITH", 6);
	t[15] = 2;                                /* revision: ACPI 2.0+, XSDT */
	put32(t + 20, 36);                        /* length */
	put64(t + 24, gpa + xsdt);
	t[8] = (uint8_t)-acpi_checksum(t, 20);
	t[32] = (uint8_t)-acpi_checksum(t, 36);
	return end;
}
