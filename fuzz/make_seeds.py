#!/usr/bin/env python3
# Writes the seed corpus fuzz/corpus/TARGET/seed-* : valid inputs in each
# target's layout (see the comment at the top of fuzz/fuzz_TARGET.c), so the
# fuzzer starts past the first checks.  Regression inputs (crashes found and
# fixed) live beside them as regress-* and are not touched here.
# Usage: fuzz/make_seeds.py
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 4096


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- grant (fuzz_grant.c) ----
GTF_PERMIT, GTF_RO, GTF_READING, GTF_WRITING = 1, 4, 8, 16
OP_MAP, OP_UNMAP, OP_COPY, OP_GUEST, OP_SET = range(5)


def entry(flags=0, domid=0, frame=0):
    return struct.pack("<HHI", flags, domid, frame)


def g_map(ref, write):
    return struct.pack("<BHB", OP_MAP, ref, 1 if write else 0)


def g_unmap(which):
    return struct.pack("<BB", OP_UNMAP, which)


def g_copy(copies):
    # copies: (to_guest, ref, offset, len); the count byte is 1 + v % 80
    b = struct.pack("<BB", OP_COPY, len(copies) - 1)
    for to_guest, ref, off, ln in copies:
        b += struct.pack("<BHHH", 1 if to_guest else 0, ref, off, ln)
    return b


def g_guest(ref, e):
    return struct.pack("<BH", OP_GUEST, ref) + e


def g_set(page, frames):
    return struct.pack("<BBB", OP_SET, page, frames)


def grant_input(pages, min_page, table_page, frames, entries, ops, knobs=0, tail=None, domid=None):
    b = struct.pack("<BB", knobs, pages - 1)
    if knobs & 1:
        b += struct.pack("<H", tail)
    if knobs & 2:
        b += struct.pack("<H", domid)
    b += struct.pack("<BBB", min_page, table_page, frames)
    b += struct.pack("<B", len(entries)) + b"".join(entries)
    return b + b"".join(ops)


def grant_entries(domid=0):
    e = [entry()] * 8                                  # refs 0-7: reserved
    e.append(entry(GTF_PERMIT, domid, 1))              # 8: read/write
    e.append(entry(GTF_PERMIT | GTF_RO, domid, 2))     # 9: read-only
    e.append(entry(GTF_PERMIT, 7, 3))                  # 10: another domain's
    e.append(entry(GTF_PERMIT, domid, 100))            # 11: frame outside memory
    e.append(entry(GTF_PERMIT, domid, 8))              # 12: the table's own page
    e.append(entry(2, domid, 4))                       # 13: not permit_access
    e.append(entry(GTF_PERMIT | GTF_READING, domid, 5))  # 14: the guest set a busy bit
    return e


def grant_seeds():
    ops = [g_map(8, False), g_map(8, True), g_map(9, False), g_map(9, True), g_map(10, False),
           g_map(11, False), g_map(13, False), g_map(14, False), g_map(3, False), g_map(600, False),
           g_unmap(0),
           g_copy([(True, 8, 0, 4096), (False, 9, 100, 200), (True, 9, 0, 1), (False, 8, 4000, 200)]),
           g_guest(8, entry(0, 0, 1)),                 # ungrant while mapped
           g_map(12, True), g_copy([(True, 12, 64, 16)]), g_guest(9, entry(GTF_PERMIT, 0, 6)),
           g_map(9, True), g_set(8, 1), g_unmap(1), g_unmap(0)]
    write("grant", "basic", grant_input(16, 4, 8, 1, grant_entries(), ops))
    # The first set fails (0 frames); the guest sets it later, over entries already there.
    write("grant", "late-set", grant_input(16, 4, 8, 0, grant_entries(),
                                           [g_map(8, False), g_set(8, 2), g_map(8, False),
                                            g_map(520, False), g_guest(520, entry(GTF_PERMIT, 0, 2)),
                                            g_map(520, True), g_unmap(0)]))
    # A batch longer than grant.c's 64.
    batch = [(i % 2 == 0, 8 + i % 3, (i * 64) % 4096, 64) for i in range(70)]
    write("grant", "long-batch", grant_input(16, 4, 8, 1, grant_entries(), [g_copy(batch)]))
    # The guest clears the in-use mark while the backend holds a map, then the backend maps again.
    write("grant", "guest-clears-mark", grant_input(16, 4, 8, 1, grant_entries(),
                                                    [g_map(8, False), g_guest(8, entry(GTF_PERMIT, 0, 1)),
                                                     g_map(8, False), g_map(8, True), g_unmap(0),
                                                     g_unmap(0), g_unmap(0)]))
    # A partial last page, a backend domid other than 0, a table in the last whole page.
    write("grant", "odd-memory", grant_input(12, 2, 11, 1, grant_entries(5),
                                             [g_map(8, True), g_map(11, False), g_unmap(0)],
                                             knobs=3, tail=100, domid=5))


# ---- blkif (fuzz_blkif.c) ----
OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD = 0, 1, 3, 5
A_PUBLISH, A_REQ_PROD, A_POKE, A_TAKE, A_RESPOND, A_CHECK = range(6)
SLOT = 112
HDR = 64


def req(op, rid, sector, segs=()):
    b = struct.pack("<BBHIQQ", op, len(segs), 0, 0, rid, sector)
    for gref, first, last in segs:
        b += struct.pack("<IBBH", gref, first, last, 0)
    return b.ljust(SLOT, b"\0")


def discard(rid, sector, n):
    return struct.pack("<BBHIQQQ", OP_DISCARD, 0, 0, 0, rid, sector, n).ljust(SLOT, b"\0")


def ring_page(start, reqs):
    page = bytearray(PAGE)
    struct.pack_into("<IIII", page, 0, (start + len(reqs)) & 0xffffffff, start + 1, start, start + 1)
    for i, r in enumerate(reqs):
        slot = ((start + i) & 31)
        page[HDR + slot * SLOT:HDR + (slot + 1) * SLOT] = r
    return bytes(page)


def poke(offset, data):
    return struct.pack("<BHB", A_POKE, offset, len(data)) + data


def blkif_input(knobs, disk, start, page, actions):
    b = struct.pack("<B", knobs)
    size = knobs & 3
    if size == 1:
        b += struct.pack("<B", disk)
    elif size == 2:
        b += struct.pack("<I", disk)
    elif size == 3:
        b += struct.pack("<Q", disk)
    if knobs & 8:
        b += struct.pack("<I", start)
    return b + page + b"".join(actions)


def blkif_seeds():
    reqs = [req(OP_READ, 1, 0, [(8, 0, 7), (9, 0, 3)]), req(OP_WRITE, 2, 100, [(10, 2, 5)]),
            req(OP_FLUSH, 3, 0), discard(4, 50, 10), req(9, 5, 0),
            req(OP_READ, 6, 2047, [(8, 7, 7)]), req(OP_READ, 7, 2047, [(8, 6, 7)]),
            req(OP_WRITE, 8, 0, [(8 + i, 0, 7) for i in range(11)])]
    later = req(OP_READ, 9, 8, [(20, 0, 0)])
    actions = [struct.pack("<BB", A_TAKE, 32), struct.pack("<BB", A_RESPOND, 4),
               struct.pack("<B", A_CHECK), struct.pack("<BB", A_RESPOND, 32),
               struct.pack("<B", A_CHECK),
               poke(HDR + (len(reqs) & 31) * SLOT, later), struct.pack("<Bb", A_PUBLISH, 1),
               struct.pack("<BB", A_TAKE, 1), struct.pack("<BB", A_RESPOND, 1),
               struct.pack("<B", A_CHECK)]
    write("blkif", "basic", blkif_input(2, 2048, 0, ring_page(0, reqs), actions))
    # Indices about to wrap around 32 bits.
    start = 0xfffffffd
    write("blkif", "wrap", blkif_input(2 | 8, 2048, start, ring_page(start, reqs), actions))
    # A read-only disk: writes and discards refused.
    write("blkif", "read-only", blkif_input(2 | 4, 2048, 0, ring_page(0, reqs), actions))
    # The largest disk there is: sector arithmetic at the top of 64 bits.
    top = (1 << 64) - 1
    big = [req(OP_READ, 1, top - 8, [(8, 0, 7)]), req(OP_READ, 2, top - 7, [(8, 0, 7)]),
           discard(3, top - 1, 1), discard(4, top, 1)]
    write("blkif", "huge-disk", blkif_input(3, top, 0, ring_page(0, big), actions))
    # The guest moves req_prod back behind what the backend took: the ring is broken.
    write("blkif", "req-prod-back", blkif_input(2, 2048, 0, ring_page(0, reqs),
                                                [struct.pack("<BB", A_TAKE, 32), struct.pack("<BB", A_RESPOND, 2),
                                                 struct.pack("<Bb", A_PUBLISH, -2),
                                                 struct.pack("<BB", A_TAKE, 32)]))
    # A full ring, then the guest claims one more than fits.
    full = [req(OP_READ, i, i, [(8, 0, 0)]) for i in range(32)]
    write("blkif", "full-ring", blkif_input(2, 4096, 0, ring_page(0, full),
                                            [struct.pack("<BB", A_TAKE, 32), struct.pack("<B", A_CHECK),
                                             struct.pack("<BB", A_RESPOND, 1),
                                             struct.pack("<BI", A_REQ_PROD, 34),
                                             struct.pack("<BB", A_TAKE, 32)]))


# ---- config (fuzz_config.c): a knob byte, then the text ----
CONFIGS = {
    "readme": b"""# web.cfg
name    = "web"
memory  = 64          # MiB (512M and 1G are accepted too)
vcpus   = 2
kernel  = "build/guest/minios"   # relative to this file's directory
cmdline = "smp"
on_crash = "preserve" # destroy | restart | preserve
timeout = 30          # seconds, then the domain is destroyed
""",
    "disks": b"""name = 'db-1'
memory = 1G
disk = [ "path=/var/lib/x.img,mode=ioeventfd,ro=0", "path=/dev/nvme0n1,mode=poll,queues=2" ]
disk = "disk.img"
disk = [ 'path=rel.img,mode=exit,direct=0,sqpoll=1' ]
on_poweroff = destroy
on_reboot = restart
""",
    "everything": b"""name="all.keys-1"
memory=512M
vcpus=64
kernel=/boot/guest
initrd='initrd.img'
ramdisk = "other.img"
cmdline = "blk rw=randread bs=4k iodepth=32 runtime=2000"
extra = "say \\"hi\\" \\\\ there"
guest_cpl = 0
console_log = console.log
timeout = 0.5
""",
    "errors": b"""vcpu = 2
""",
    "bad-list": b"""disk = [ "a.img", 'b.img' , ]
""",
}


def config_seeds():
    for name, text in CONFIGS.items():
        write("config", name, b"\x00" + text)
    write("config", "base-dir", b"\x01" + CONFIGS["disks"])
    write("config", "long-base-dir", b"\x02" + CONFIGS["disks"])
    write("config", "as-file", b"\x05" + CONFIGS["readme"])


# ---- elf (fuzz_elf.c): an ELF64 x86-64 executable ----
def elf_image(pad=0):
    ehdr_size, phdr_size, shdr_size = 64, 56, 64
    text_off, data_off, note_off, sym_off, str_off, shdr_off, size = (
        0x1000, 0x2000, 0x2800, 0x3000, 0x3100, 0x3200, 0x3200 + 3 * 64)
    b = bytearray(size)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0, 0, pad]) + bytes(6)  # ELF64, LSB, version 1; EI_PAD: the knobs
    b[0:16] = ident
    struct.pack_into("<HHIQQQIHHHHHH", b, 16, 2, 62, 1, 0x100000, ehdr_size, shdr_off, 0,
                     ehdr_size, phdr_size, 3, shdr_size, 3, 0)
    PT_LOAD, PT_NOTE, PF_X, PF_W, PF_R = 1, 4, 1, 2, 4
    phdrs = [(PT_LOAD, PF_R | PF_X, text_off, 0x100000, 0x100, 0x100),
             (PT_LOAD, PF_R | PF_W, data_off, 0x101000, 0x10, 0x2000),
             (PT_NOTE, PF_R, note_off, 0, 12 + 8 + 4, 0)]
    for i, (typ, flags, off, vaddr, filesz, memsz) in enumerate(phdrs):
        struct.pack_into("<IIQQQQQQ", b, ehdr_size + i * phdr_size, typ, flags, off, vaddr, vaddr,
                         filesz, memsz, 0x1000 if typ == PT_LOAD else 4)
    b[text_off:text_off + 0x100] = b"\x90" * 0x100
    b[data_off:data_off + 0x10] = b"\xaa" * 0x10
    # The Xenith ABI note: namesz 7 ("Xenith\0"), descsz 4, type 1, the ABI version.
    struct.pack_into("<III8sI", b, note_off, 7, 4, 1, b"Xenith\0", 1)
    strtab = b"\0_start\0crash_null_deref\0"
    STT_FUNC, STB_GLOBAL, STB_LOCAL = 2, 1, 0
    syms = [(0, 0, 0, 0), (1, STB_GLOBAL << 4 | STT_FUNC, 0x100000, 0x40),
            (8, STB_LOCAL << 4 | STT_FUNC, 0x100040, 0x20)]
    for i, (name, info, value, sz) in enumerate(syms):
        struct.pack_into("<IBBHQQ", b, sym_off + i * 24, name, info, 0, 1, value, sz)
    b[str_off:str_off + len(strtab)] = strtab
    SHT_SYMTAB, SHT_STRTAB = 2, 3
    shdrs = [(0, 0, 0, 0, 0, 0), (SHT_SYMTAB, sym_off, len(syms) * 24, 2, 1, 24),
             (SHT_STRTAB, str_off, len(strtab), 0, 0, 0)]
    for i, (typ, off, sz, link, info, entsize) in enumerate(shdrs):
        struct.pack_into("<IIQQQQIIQQ", b, shdr_off + i * shdr_size, 0, typ, 0, 0, off, sz, link,
                         info, 8, entsize)
    return bytes(b)


def elf_seeds():
    for pad, name in ((0, "image"), (1, "image-fresh-memory"), (2, "image-less-memory")):
        write("elf", name, elf_image(pad))


# ---- text (fuzz_text.c): a knob byte (bit 0: one line; the rest: a short buffer), then text ----
def text_seeds():
    texts = {
        "ascii": b"hello from minios: domain 'x' (id 1)\n\tindented\n",
        "escapes": b"\x1b[2J\x1b]0;title\x07 \x9b" b"31m \xc2\x9b" b"1m \x7f\r\n",
        "utf8": "café 5€ \u04db \U0001f600 \u00a0 \ufffd \U0010ffff\n".encode(),
        "ill-formed": b"\xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xf5\xff \xe2\x82",
        "assert": b"guest assertion failed at esc\x1b[31m.c:4242: x == \x1b[2J\x9b" b"31m\nxenith: fake",
    }
    for name, text in texts.items():
        write("text", name, b"\x00" + text)
    write("text", "one-line-short", b"\x15" + texts["assert"])


# ---- console (fuzz_console.c): a knob byte (bit 0: an old log, u16 size), then pieces (u8 length, bytes) ----
def console_pieces(texts):
    b = b""
    for t in texts:
        for i in range(0, len(t), 255):
            chunk = t[i:i + 255]
            b += bytes([len(chunk)]) + chunk
    return b


def console_seeds():
    line = b"line 0001 the quick brown fox jumps over the lazy dog\n"
    write("console", "lines", b"\x00" + console_pieces([line] * 150))
    write("console", "long-line", b"\x00" + console_pieces([b"a" * 3000 + b"\n"] * 4))
    write("console", "escapes-split", b"\x00" + console_pieces(
        [b"\x1b[2J caf\xc3", b"\xa9 \x9b" b"1m \xc2\x9b\r\n"] * 40) + b"\x00")
    write("console", "old-log", b"\x01" + struct.pack("<H", 7000) + console_pieces([line] * 60))


# ---- control (fuzz_control.c): a knob byte, then what a client sends ----
# knob bit 0: domain calls fail; bit 1: the console is full; bits 2-7: json_escape's room.
CONTROL = {
    "info": b'{"cmd":"info"}\n',
    "disks": b'{"cmd":"disks"}\n',
    "pause": b'{"cmd":"pause"}\n',
    "unpause": b' {"cmd" : "unpause"}\r\n',
    "shutdown": b'{"cmd":"shutdown","reason":"poweroff"}\n',
    "reboot": b'{"cmd":"shutdown","reason":"reboot"}\n',
    "destroy": b'{"cmd":"destroy"}\n',
    "console": b'{"cmd":"console"}\n',
    "unknown": b'{"cmd":"reboot","x":[1,2.5e3,true,false,null,{"y":"z"}]}\n',
    "bad-reason": b'{"cmd":"shutdown","reason":5}\n',
    "twice": b'{"cmd":"info","cmd":"destroy"}\n',
    "nul": b'{"cmd":"info"}\x00{"cmd":"destroy"}\n',
    "escapes": b'{"cmd":"\\u0064estroy","e":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u0000"}\n',
    "deep": b'{"cmd":"info","d":' + b"[" * 70 + b"]" * 70 + b"}\n",
    "no-newline": b'{"cmd":"info"}',
    "after-newline": b'{"cmd":"info"}\n{"cmd":"destroy"}\n',
    "longest": b'{"cmd":"info","p":"' + b"x" * (4096 - 21) + b'"}\n',
    "too-long": b'{"cmd":"info","p":"' + b"x" * (4097 - 21) + b'"}\n',
    "reply": b'{"ok":false,"error":"no \\"such\\" domain","id":7,"x":1e999}',
}


def control_seeds():
    for name, text in CONTROL.items():
        write("control", name, bytes([0x80]) + text)
    write("control", "pause-fails", bytes([0x81]) + CONTROL["pause"])
    write("control", "console-full", bytes([0x02]) + CONTROL["console"])


# ---- bzimage (fuzz_bzimage.c): sizes, then a bzImage ----
MiB = 1 << 20


def bzimage(setup_sects=1, payload=0x400, version=0x020F, jump=0x66, initrd_addr_max=0x7FFFFFFF,
            init_size=16 * MiB, cmdline_size=2047, pref_address=16 * MiB, relocatable=1,
            align=2 * MiB, kernel_version=b"6.1.0-seed (seed@example) #1 SMP", kv_at=0x300):
    setup = (setup_sects or 4) + 1
    b = bytearray(setup * 512 + payload)
    b[0x1F1] = setup_sects
    struct.pack_into("<H", b, 0x1FE, 0xAA55)
    b[0x200:0x202] = bytes([0xEB, jump])
    b[0x202:0x206] = b"HdrS"
    struct.pack_into("<HH", b, 0x206, version, 0)
    if kernel_version is not None:
        struct.pack_into("<H", b, 0x20E, kv_at - 0x200)
        b[kv_at:kv_at + len(kernel_version)] = kernel_version
    b[0x211] = 0x01                                  # LOADED_HIGH
    struct.pack_into("<IIBBH", b, 0x22C, initrd_addr_max, align, relocatable, 21, 0x7F)
    struct.pack_into("<I", b, 0x238, cmdline_size)
    struct.pack_into("<QI", b, 0x258, pref_address, init_size)
    for i in range(setup * 512, len(b)):
        b[i] = (i * 7 + 1) & 0xFF
    return bytes(b)


def bz_input(image, mem=256 * MiB, initrd=64 * 1024 + 17, cmdline=20, vcpus=0, tamper=None):
    knobs = 1 if tamper else 0
    b = struct.pack("<BIQHB", knobs, mem // PAGE, initrd, cmdline, vcpus)
    if tamper:
        b += struct.pack("<BQ", *tamper)
    return b + image


def bzimage_seeds():
    write("bzimage", "kernel", bz_input(bzimage()))
    write("bzimage", "no-initrd", bz_input(bzimage(), initrd=0, cmdline=0))
    write("bzimage", "small-memory-two-vcpus", bz_input(bzimage(), mem=64 * MiB, initrd=4096, vcpus=1))
    write("bzimage", "largest-memory", bz_input(bzimage(setup_sects=4), mem=3072 * MiB, initrd=3 * PAGE + 1))
    # Finding 1 of issue 10: no room below initrd_addr_max.
    write("bzimage", "tiny-initrd-addr-max", bz_input(bzimage(initrd_addr_max=0xFFF), initrd=MiB))
    write("bzimage", "initrd-at-the-limit", bz_input(bzimage(initrd_addr_max=32 * MiB + MiB - 1), initrd=MiB))
    # The version string runs to the end of the setup code.
    write("bzimage", "version-at-setup-end", bz_input(bzimage(kernel_version=b"1.2.3", kv_at=1024 - 5)))
    write("bzimage", "runs-at-64m", bz_input(bzimage(relocatable=0, pref_address=64 * MiB),
                                             mem=128 * MiB, initrd=128 * 1024))
    write("bzimage", "no-cmdline", bz_input(bzimage(cmdline_size=0), cmdline=0))
    write("bzimage", "longest-header", bz_input(bzimage(jump=0x7F, version=0x020C)))
    write("bzimage", "old-protocol", bz_input(bzimage(version=0x0206)))
    # The loader's own checks: a plan moved outside memory, a plan for other memory.
    write("bzimage", "tamper-initrd-gpa", bz_input(bzimage(), tamper=(0, 255 * MiB + 1)))
    write("bzimage", "tamper-mem-size", bz_input(bzimage(), tamper=(7, 512 * MiB)))


# ---- linuxpio (fuzz_linuxpio.c): a series of port exits ----
COM1, PM1 = 0x3F8, 0x600
SIZE = {1: 0, 2: 1, 4: 2, 8: 3}


def pio(port, size=1, data=None, count=1):
    ctl = SIZE[size] | (4 if data is None else 0) | ((count - 1) << 3)
    if COM1 <= port < COM1 + 8:
        sel = port - COM1
    elif PM1 <= port < PM1 + 8:
        sel = 64 + port - PM1
    else:
        sel = None
    b = struct.pack("<BB", ctl, sel) if sel is not None else struct.pack("<BBH", ctl, 0xC0, port)
    if data is not None:
        fmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}[size]
        vals = data if isinstance(data, (list, tuple)) else [data] * count
        b += b"".join(struct.pack(fmt, v) for v in vals)
    return b


def linuxpio_seeds():
    # Linux's 8250 driver: probe, set 115200 8n1, FIFOs, interrupts, then print.
    probe = [pio(COM1 + 1), pio(COM1 + 1, data=0), pio(COM1 + 4, data=0x1F), pio(COM1 + 6),
             pio(COM1 + 4, data=0x0B), pio(COM1 + 7, data=0xA5), pio(COM1 + 7)]
    setup = [pio(COM1 + 3, data=0x80), pio(COM1, data=1), pio(COM1 + 1, data=0), pio(COM1),
             pio(COM1 + 1), pio(COM1 + 3, data=0x03), pio(COM1 + 2, data=0xC7), pio(COM1 + 2),
             pio(COM1 + 4, data=0x0B), pio(COM1 + 1, data=0x02), pio(COM1 + 2), pio(COM1 + 2)]
    tx = [pio(COM1, data=list(b"hello\n"), count=6), pio(COM1 + 5), pio(COM1 + 2),
          pio(COM1 + 5, size=2, count=3), pio(COM1 + 1, data=0), pio(COM1, data=0x41)]
    write("linuxpio", "uart", b"".join(probe + setup + tx))
    # ACPI: read and clear status, enable, read control, then power off (S5 | SLP_EN).
    acpi = [pio(PM1, size=2), pio(PM1, size=2, data=0xFFFF), pio(PM1 + 2, size=2, data=0x0121),
            pio(PM1, size=4), pio(PM1 + 4, size=2), pio(PM1 + 4, size=2, data=1),
            pio(PM1 + 5), pio(PM1 + 4, size=4), pio(PM1, size=4, data=0x00010000)]
    write("linuxpio", "acpi-poweroff", b"".join(acpi + [pio(PM1 + 4, size=2, data=(5 << 10) | (1 << 13))]))
    # SLP_EN with another sleep type is not a power-off.
    write("linuxpio", "acpi-s3", b"".join(acpi + [pio(PM1 + 4, size=2, data=(3 << 10) | (1 << 13))]))
    write("linuxpio", "reset-cf9", b"".join([pio(0xCF9), pio(0xCF9, data=0x02), pio(0xCF9, data=0x06)]))
    write("linuxpio", "reset-kbd", b"".join([pio(0x64), pio(0x64, data=0xFE)]))
    # Nothing at other ports; accesses of a size KVM never gives.
    write("linuxpio", "others", b"".join([pio(0x80, data=0x12), pio(0x3F7, size=4, count=2),
                                          pio(0x606, size=2), pio(COM1, size=8, data=0x41),
                                          pio(PM1 + 4, size=8, data=(5 << 10) | (1 << 13))]))


if __name__ == "__main__":
    grant_seeds()
    blkif_seeds()
    config_seeds()
    elf_seeds()
    text_seeds()
    console_seeds()
    control_seeds()
    bzimage_seeds()
    linuxpio_seeds()
