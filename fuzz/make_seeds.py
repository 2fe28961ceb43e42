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
    "placement": b"""memory_backing = hugetlb
numa_node = 0
vcpus = 3
vcpu_pin = [ "2", "3-8,^5", "all,^0" ]
memory_backing = 'thp'
vcpu_pin = "0-1023"
""",
    "placement-errors": b"""vcpu_pin = [ "1-", "0,3-1", "^0" ]
numa_node = 1024
memory_backing = huge
""",
    "bad-list": b"""disk = [ "a.img", 'b.img' , ]
""",
    "vifs": b"""vif = [ "mac=00:16:3e:0a:bc:01,port=tap:xt0,mode=poll,queues=2,bridge=br0", 'port=pair:p1,mode=exit' ]
vif = "port=tap:xt1,netns=ns1,mac=02:00:00:00:00:07,queues=8"
vif = "port=pair:p1,mode=ioeventfd"
""",
    "vif-dpdk": b"""vif = [ "mac=00:16:3e:00:00:01,port=dpdk:[net_memif0,role=server,socket=/tmp/x.sock,mac=02:00:00:00:00:09],mode=poll,queues=2", "port=dpdk:net_ring0" ]
vif = "port=dpdk:[net_x0,list=[1,2]],mode=exit"
vif = "port=dpdk:[net_memif1,role=client"
vif = "port=dpdk:net_af_packet0,iface=veth1"
dpdk_hugepages = 1
dpdk_eal_args = "-m 256 --log-level=pmd.net.memif:debug"
""",
    "vif-errors": b"""vif = [ "port=tap:xt0,mac=01:00:5e:00:00:01", "port=tap:abcdefghijklmnop", "port=tap:x,netns=../a" ]
vif = "port=pair:p,bridge=br0,queues=9"
vif = "mac=00:16:3e:00:00:00:00"
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
    "xenstore": b'{"cmd":"xenstore"}\n',
    "xenstore-path": b'{"cmd":"xenstore","path":"/local/domain/\\u001b[7"}\n',
    "xenstore-write": b'{"cmd":"xenstore-write","path":"data/k","value":"v\\"\\\\\\n"}\n',
    "xenstore-write-no-value": b'{"cmd":"xenstore-write","path":"data/k"}\n',
    "xenstore-value": b'{"cmd":"xenstore","value":"x"}\n',
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
    write("control", "xenstore-fails", bytes([0x81]) + CONTROL["xenstore-path"])
    write("control", "xenstore-write-fails", bytes([0x81]) + CONTROL["xenstore-write"])
    write("control", "stats", bytes([0x80]) + b'{"cmd":"stats"}\n')
    write("control", "stats-fails", bytes([0x81]) + b'{"cmd":"stats"}\n')
    write("control", "prof", bytes([0x80]) + b'{"cmd":"prof","freq":250}\n')
    write("control", "prof-default", bytes([0x80]) + b'{"cmd":"prof"}\n')
    # without the descriptor SCM_RIGHTS would carry: refused before the domain
    write("control", "save", bytes([0x80]) + b'{"cmd":"save","keep":true}\n')
    write("control", "migrate", bytes([0x80]) + b'{"cmd":"migrate","downtime_ms":2.5,"max_rounds":4}\n')


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


# ---- hypercall (fuzz_hypercall.c): records of guest writes and calls ----
# The tables below follow fuzz_hypercall.c's `ops` and A_* lists, in order.
HC_OPS = ["console_io", "sched_op", "vcpu_op", "event_channel_op", "grant_table_op", "hvm_op",
          "xenith_config", "xenith_time", "xenith_guest_assert", "xenith_test", "xenith_discard",
          "xen_version", "xenith_bench_report", "op 0", "op 13", "op 63", "op 70", "op 72",
          "op 2^32-1", "event_channel_op+high", "xenith_test+high"]
(A_SMALL, A_ZERO, A_ONE, A_ARENA, A_ARENA_PAGE, A_START_INFO, A_PT, A_GDT, A_SHARED, A_CONSOLE,
 A_IMAGE, A_STACK, A_LAST, A_MEM_SIZE, A_2_63, A_U64_MAX, A_WRAP, A_PAGE_SIZE, A_HUGE, A_U32_MAX,
 A_U32_PLUS, A_NR_EVTCHN_M1, A_NR_EVTCHN, A_NR_VCPUS, A_ENTRY, A_PORT, A_REF, A_FRAME, A_NS,
 A_RAW, A_STORE) = range(31)
ARG_EXTRA = {A_SMALL: "B", A_ARENA: "H", A_ARENA_PAGE: "B", A_START_INFO: "B", A_PT: "H", A_GDT: "H",
             A_SHARED: "H", A_CONSOLE: "H", A_IMAGE: "H", A_STACK: "H", A_LAST: "B", A_WRAP: "H",
             A_U32_PLUS: "B", A_PORT: "B", A_REF: "H", A_FRAME: "B", A_NS: "B", A_RAW: "Q",
             A_STORE: "H"}
NS_1US, NS_100US, NS_1MS, NS_1S, NS_1H = 1, 2, 3, 4, 5   # indexes into `durations`
R_ARENA, R_LAST, R_SHARED, R_CONSOLE, R_STORE = range(5)
SELF = 0x7ff0
PAGE_OF = 4096


def arg(sel, v=None):
    if sel in ARG_EXTRA:
        return struct.pack("<B" + ARG_EXTRA[sel], sel, v)
    return struct.pack("<B", sel)


def small(v):
    return arg(A_SMALL, v)


def arena(off):
    return arg(A_ARENA, off)


def arena_frame(page):
    return arg(A_FRAME, page << 3)


def port(i=0):
    return arg(A_PORT, i)


def call(op, *args, vcpu=0):
    args = list(args) + [arg(A_ZERO)] * (5 - len(args))
    return struct.pack("<BBB", 2, vcpu, HC_OPS.index(op)) + b"".join(args)


def gwrite(off, data, region=R_ARENA):
    return struct.pack("<BBHB", 0, region, off, len(data)) + data


def gvalue(off, width, a, region=R_ARENA):
    return struct.pack("<BBHB", 1, region, off, {1: 0, 2: 1, 4: 2, 8: 3}[width]) + a


def evtchn(cmd, at):
    return call("event_channel_op", small(cmd), arena(at))


EV_BIND_VIRQ, EV_CLOSE, EV_SEND, EV_STATUS, EV_ALLOC, EV_BIND_VCPU, EV_UNMASK = 1, 3, 4, 5, 6, 8, 9


def alloc_unbound(at, remote=0):
    # struct evtchn_alloc_unbound: dom, remote_dom, port (out)
    return gwrite(at, struct.pack("<HHI", SELF, remote, 0)) + evtchn(EV_ALLOC, at)


def port_struct(cmd, at, which=0):
    # evtchn_send/close/unmask: one u32 port, an earlier call's
    return gvalue(at, 4, port(which)) + evtchn(cmd, at)


def poll(at, ports_at, nr, timeout, vcpu=0):
    # struct sched_poll: ports (pointer), nr_ports, pad, timeout_ns
    return (gvalue(at, 8, arena(ports_at)) + gwrite(at + 8, struct.pack("<II", nr, 0)) +
            gvalue(at + 16, 8, arg(A_NS, timeout) if timeout is not None else arg(A_ZERO)) +
            call("sched_op", small(3), arena(at), vcpu=vcpu))


def store_send():
    # event_channel_op send on port 2 (the store's), the port number at arena 0xf00
    return gwrite(0xf00, struct.pack("<I", 2)) + evtchn(EV_SEND, 0xf00)


XS_RING = 1024  # XENSTORE_RING_SIZE: req[] is at offset 0 of the page, req_prod at 2048 + 4


def xs_requests(reqs, start=0, length=None):
    # requests (type, req_id, payload) at req[start...] of the store's page (wrapping at the
    # ring's end, as the index is free-running), req_prod moved past them, a send
    data = b"".join(struct.pack("<IIII", t, rid, 0, len(p) if length is None else length) + p
                    for t, rid, p in reqs)
    out = b""
    off = 0
    while off < len(data):
        at = (start + off) % XS_RING
        n = min(200, len(data) - off, XS_RING - at)
        out += gwrite(at, data[off:off + n], region=R_STORE)
        off += n
    return out + gwrite(2052, struct.pack("<I", start + len(data)), region=R_STORE) + store_send()


def set_table(at, page, frames):
    # struct gnttab_xenith_set_table: gpa, nr_frames, pad; the table at arena page `page`
    return (gvalue(at, 8, arg(A_ARENA_PAGE, page)) + gwrite(at + 8, struct.pack("<II", frames, 0)) +
            call("grant_table_op", small(64), arena(at), small(1)))


def grant(table_page, ref, frame_arg, flags=1, domid=0):
    off = table_page * PAGE_OF + ref * 8
    return gwrite(off, struct.pack("<HH", flags, domid)) + gvalue(off + 4, 4, frame_arg)


def hypercall_seeds():
    # console_io: a line, too long, an unknown cmd, the last bytes of memory, a wrapping pointer
    write("hypercall", "console", gwrite(0, b"hello from the fuzzer\n") +
          call("console_io", small(0), small(22), arena(0)) +
          call("console_io", small(0), arg(A_RAW, 4097), arena(0)) +
          call("console_io", small(1), small(1), arena(0)) +
          call("console_io", small(0), small(8), arg(A_LAST, 3)) +
          call("console_io", small(0), small(16), arg(A_WRAP, 7)) +
          call("console_io", small(0), arg(A_ZERO), arg(A_MEM_SIZE)))
    # every event-channel command, on ports an earlier call returned
    ev = (alloc_unbound(0x100) + alloc_unbound(0x108, remote=7) +
          gwrite(0x110, struct.pack("<HHI", 5, 0, 0)) + evtchn(EV_ALLOC, 0x110) +
          gwrite(0x200, struct.pack("<HHIIIII", SELF, 0, 0, 0, 0, 0, 0)) + gvalue(0x204, 4, port(0)) +
          evtchn(EV_STATUS, 0x200) +
          gwrite(0x300, struct.pack("<III", 0, 1, 0)) + evtchn(EV_BIND_VIRQ, 0x300) +
          evtchn(EV_BIND_VIRQ, 0x300) +
          gwrite(0x310, struct.pack("<III", 7, 2, 0)) + evtchn(EV_BIND_VIRQ, 0x310) +
          gvalue(0x400, 4, port(1)) + gwrite(0x404, struct.pack("<I", 2)) + evtchn(EV_BIND_VCPU, 0x400) +
          port_struct(EV_SEND, 0x500, 1) + port_struct(EV_UNMASK, 0x508, 1) +
          gvalue(0x510, 4, small(1)) + evtchn(EV_SEND, 0x510) +
          gvalue(0x518, 4, arg(A_NR_EVTCHN)) + evtchn(EV_SEND, 0x518) +
          gvalue(0x520, 4, small(0)) + evtchn(EV_CLOSE, 0x520) +
          gvalue(0x528, 4, small(1)) + evtchn(EV_CLOSE, 0x528) +
          port_struct(EV_CLOSE, 0x530, 1) + port_struct(EV_CLOSE, 0x538, 1) +
          port_struct(EV_STATUS, 0x540, 0) + call("event_channel_op", small(2), arena(0x100)) +
          evtchn(EV_STATUS, 0x200))
    write("hypercall", "evtchn", ev)
    # the store: requests on its ring page (xs_wire.h), a send on its port (2) after each batch
    first = [(2, 1, b"name\0"), (4, 2, b"data/w\0tok\0"), (11, 3, b"data/w/x\0v"), (1, 4, b"\0"),
             (6, 5, b"\0"), (3, 6, b"data\0"), (14, 7, b"data/w\0n7\0r0\0"), (13, 8, b"data/w\0")]
    write("hypercall", "xenstore", xs_requests(first) + xs_requests(
        [(11, 9, b"/local/domain/0/x\0v"), (12, 10, b"data/d\0"), (7, 11, b"T\0"),
         (5, 12, b"data/w\0tok\0"), (99, 13, b"?"), (2, 14, b"\xff" * 40)],
        start=sum(16 + len(p) for _, _, p in first)))
    # a request whose length is past XENSTORE_PAYLOAD_MAX, then impossible indices: the ring is dead
    write("hypercall", "xenstore-bad", xs_requests([(2, 1, b"name\0")], length=5000) +
          gwrite(2052, struct.pack("<I", 0x10000), region=R_STORE) + store_send() +
          xs_requests([(2, 2, b"name\0")], start=0x40))
    # masked ports: the guest masks everything, a send, then unmask delivers it
    write("hypercall", "evtchn-masked", alloc_unbound(0x100) +
          gwrite(2176, b"\xff" * 16, region=R_SHARED) + port_struct(EV_SEND, 0x500) +
          gvalue(0x600, 4, port(0)) + poll(0x700, 0x600, 1, NS_100US) + port_struct(EV_UNMASK, 0x508) +
          call("sched_op", small(1)))
    # port exhaustion: more unbound ports than fit; then close one and take it again
    write("hypercall", "evtchn-exhaust", gwrite(0x100, struct.pack("<HHI", SELF, 0, 0)) +
          evtchn(EV_ALLOC, 0x100) * 60 + port_struct(EV_CLOSE, 0x500, 5) + evtchn(EV_ALLOC, 0x100))
    # sched_op: yield, block, poll with and without timeout, bad polls
    write("hypercall", "sched", call("sched_op", small(0)) + call("sched_op", small(1)) +
          call("sched_op", small(1), vcpu=1) + alloc_unbound(0x100) + gvalue(0x600, 4, port(0)) +
          poll(0x700, 0x600, 1, NS_1US) + poll(0x740, 0x600, 1, None) + poll(0x780, 0x600, 0, NS_100US) +
          poll(0x7c0, 0x600, 0, None) + poll(0x800, 0x600, 129, NS_1MS) +
          gvalue(0x604, 4, arg(A_NR_EVTCHN)) + poll(0x840, 0x600, 2, NS_1S) +
          call("sched_op", small(3), arg(A_LAST, 5)) + call("sched_op", small(9)))
    # shutdown with every reason (and a bad one, and a bad pointer); calls after the end
    for reason in (0, 1, 2, 3, 4, 5):
        write("hypercall", "shutdown-%d" % reason, gwrite(0, struct.pack("<II", reason, 7)) +
              call("sched_op", small(2), arg(A_WRAP, 2)) + call("sched_op", small(2), arena(0)) +
              call("vcpu_op", small(2), small(1), arg(A_ENTRY)) + call("sched_op", small(1)) +
              call("sched_op", small(2), arena(0)))
    # vcpu_op: up, is_up, down (only itself), bad ids and entry points, periodic timers
    write("hypercall", "vcpu", call("vcpu_op", small(2), small(1), arg(A_ENTRY)) +
          call("vcpu_op", small(2), small(1), arg(A_ENTRY), vcpu=2) +
          call("vcpu_op", small(4), small(1)) + call("vcpu_op", small(3), small(1)) +
          call("vcpu_op", small(3), small(1), vcpu=1) + call("vcpu_op", small(4), small(1), vcpu=2) +
          call("vcpu_op", small(2), small(2), arg(A_MEM_SIZE)) +
          call("vcpu_op", small(2), arg(A_NR_VCPUS), arg(A_ENTRY)) +
          call("vcpu_op", small(2), arg(A_U32_PLUS, 1), arg(A_ENTRY)) +
          call("vcpu_op", small(9), small(0)) + call("vcpu_op", small(4), arg(A_U64_MAX)))
    write("hypercall", "timer", gwrite(0x300, struct.pack("<III", 0, 0, 0)) + evtchn(EV_BIND_VIRQ, 0x300) +
          gvalue(0, 8, arg(A_NS, NS_100US)) + call("vcpu_op", small(6), small(0), arena(0)) +
          call("sched_op", small(1)) + call("sched_op", small(1)) +
          gvalue(0x600, 4, port(0)) + poll(0x700, 0x600, 1, NS_1S) +
          gvalue(8, 8, arg(A_NS, 0)) + call("vcpu_op", small(6), small(1), arena(8), vcpu=1) +
          call("vcpu_op", small(6), small(1), arena(8)) +
          gvalue(16, 8, arg(A_NS, NS_1H + 1)) + call("vcpu_op", small(6), small(1), arena(16), vcpu=1) +
          call("vcpu_op", small(7), small(0)) + call("vcpu_op", small(7), small(0), vcpu=1))
    # grant table: set it, grant pages, the VMM reads and writes through the grants
    gt = (set_table(0x700, 4, 1) + set_table(0x700, 4, 1) + set_table(0x710, 3, 33) +
          grant(4, 8, arena_frame(5)) + grant(4, 9, arena_frame(6), flags=5) +
          grant(4, 10, arena_frame(7), domid=3) + grant(4, 11, arg(A_FRAME, 6)) +
          grant(4, 12, arg(A_FRAME, 3)) +
          call("xenith_test", small(3), small(8), small(0), arg(A_PAGE_SIZE)) +
          call("xenith_test", small(2), small(8), small(16), small(100)) +
          call("xenith_test", small(3), small(9), small(0), small(4)) +
          call("xenith_test", small(2), small(9), small(0), small(4)) +
          call("xenith_test", small(2), small(10), small(0), small(4)) +
          call("xenith_test", small(2), small(11), small(0), small(4)) +
          call("xenith_test", small(3), small(12), small(0), small(64)) +
          call("xenith_test", small(2), small(3), small(0), small(4)) +
          call("xenith_test", small(2), arg(A_REF, 512), small(0), small(4)) +
          call("xenith_test", small(2), arg(A_U32_PLUS, 8), small(0), small(4)) +
          call("xenith_test", small(3), small(8), arg(A_PAGE_SIZE), small(1)) +
          call("xenith_test", small(3), small(8), small(1), arg(A_PAGE_SIZE)) +
          call("grant_table_op", small(1), arena(0x700), small(1)) +
          call("grant_table_op", small(64), arena(0x700), small(2)) +
          call("grant_table_op", small(64), arg(A_LAST, 4), small(1)))
    write("hypercall", "grant", gt)
    # the same grant reads and writes, echo, shmem echo and the loopback made as to a VMM
    # without XENITH_TEST_HOOKS (vcpu byte 3: vCPU 0, no hooks): each must answer -ENOSYS
    write("hypercall", "test-ops-without-hooks", set_table(0x700, 4, 1) +
          grant(4, 8, arena_frame(5)) + grant(4, 9, arena_frame(6), flags=5) +
          call("xenith_test", small(3), small(8), small(0), arg(A_PAGE_SIZE), vcpu=3) +
          call("xenith_test", small(2), small(8), small(16), small(100), vcpu=3) +
          call("xenith_test", small(0), small(0x34), vcpu=3) +
          call("xenith_test", small(1), arena(0), small(64), vcpu=3) +
          call("xenith_test", small(4), small(1), vcpu=3) +
          call("xenith_test", small(3), small(8), small(0), arg(A_PAGE_SIZE)))
    # the guest grants its own read-only boot pages (issue 10, finding 10)
    write("hypercall", "grant-boot-pages", set_table(0x700, 4, 1) +
          grant(4, 8, arg(A_FRAME, 1)) + grant(4, 9, arg(A_FRAME, 2)) + grant(4, 10, arg(A_FRAME, 3)) +
          call("xenith_test", small(3), small(8), small(0), small(16)) +
          call("xenith_test", small(3), small(9), small(0), small(16)) +
          call("xenith_test", small(3), small(10), small(0), small(16)))
    # output structs pointed at the read-only boot pages and at the end of memory
    write("hypercall", "outputs", alloc_unbound(0x100) +
          gwrite(0x300, struct.pack("<III", 0, 0, 0)) + evtchn(EV_BIND_VIRQ, 0x300) +
          call("event_channel_op", small(EV_STATUS), arg(A_START_INFO, 0)) +
          call("event_channel_op", small(EV_ALLOC), arg(A_PT, 0)) +
          call("xenith_config", small(1), small(0), arg(A_GDT, 0)) +
          call("xenith_config", small(1), small(0), arg(A_LAST, 23)) +
          call("xenith_config", small(1), small(0), arg(A_LAST, 22)) +
          call("event_channel_op", small(EV_ALLOC), arg(A_LAST, 7)) +
          call("event_channel_op", small(EV_ALLOC), arg(A_WRAP, 0)) +
          call("event_channel_op", small(EV_BIND_VIRQ), arg(A_2_63)))
    # disks as they were connected by the retired xenith_config (every call now -ENOSYS; the
    # ring and grants stay unused): a read request, a disconnect
    ring = 6 * PAGE_OF
    blk = (set_table(0x700, 4, 1) + grant(4, 8, arena_frame(6)) + grant(4, 9, arena_frame(7)) +
           grant(4, 10, arena_frame(8)) + grant(4, 11, arena_frame(9), flags=5) +
           alloc_unbound(0x100) + alloc_unbound(0x108) +
           call("xenith_config", small(1), small(0), arena(0x900)) +
           gwrite(ring, struct.pack("<IIII", 0, 1, 0, 1)) +
           gwrite(0x800, struct.pack("<I", 8)) + gvalue(0x804, 4, port(0)) +
           call("xenith_config", small(2), small(0), arena(0x800)) +
           call("xenith_config", small(2), small(0), arena(0x800)) +
           gwrite(ring + 64, req(OP_READ, 1, 0, [(10, 0, 7)])[:40]) +
           gwrite(ring, struct.pack("<I", 1)) + port_struct(EV_SEND, 0x500, 0) +
           gwrite(0x810, struct.pack("<II", 1, 9)) + gvalue(0x818, 4, port(1)) +
           gwrite(0x81c, struct.pack("<I", 1)) +
           call("xenith_config", small(4), small(0), arena(0x810)) +
           call("xenith_config", small(4), small(1), arena(0x810)) +
           gwrite(0x820, struct.pack("<IIII", 8, 9, 2, 0)) + call("xenith_config", small(4), small(0), arena(0x820)) +
           call("xenith_config", small(3), small(0)) + call("xenith_config", small(3), small(5)) +
           call("xenith_config", small(9), small(0)))
    write("hypercall", "disk", blk)
    # the same through the retired xenith_config (-ENOSYS): a request written, the port closed
    write("hypercall", "disk-write-close", set_table(0x700, 4, 1) + grant(4, 8, arena_frame(6)) +
          grant(4, 10, arena_frame(8)) + alloc_unbound(0x100) +
          gwrite(ring, struct.pack("<IIII", 1, 1, 0, 1)) +
          gwrite(ring + 64, req(OP_WRITE, 1, 8, [(10, 0, 7)])[:40]) +
          gwrite(0x800, struct.pack("<I", 8)) + gvalue(0x804, 4, port(0)) +
          call("xenith_config", small(2), small(0), arena(0x800)) +
          port_struct(EV_SEND, 0x500, 0) + port_struct(EV_CLOSE, 0x508, 0) +
          alloc_unbound(0x100) + call("xenith_config", small(3), small(0)))
    # Disks through the store, as guest/blkfront.c (and Xen's blkfront) connect them: see
    # vbd_seeds() below.
    vbd_seeds()
    # the event-channel loopback: a backend thread that answers every send
    write("hypercall", "loopback", alloc_unbound(0x100) +
          call("xenith_test", small(4), port(0)) + call("xenith_test", small(4), port(0)) +
          port_struct(EV_SEND, 0x500) + gvalue(0x600, 4, port(0)) + poll(0x700, 0x600, 1, None) +
          call("sched_op", small(1)) + port_struct(EV_STATUS, 0x540) + port_struct(EV_CLOSE, 0x508) +
          call("xenith_test", small(4), arg(A_U32_PLUS, 2)) + call("xenith_test", small(4), small(1)))
    # hvm_op: the callback vector (a CPL-3 guest has no IDT: EPERM), other domains, other params
    write("hypercall", "hvm", gwrite(0, struct.pack("<HHIQ", SELF, 0, 0, (2 << 56) | 0x40)) +
          call("hvm_op", small(0), arena(0)) +
          gwrite(16, struct.pack("<HHIQ", 5, 0, 0, 0)) + call("hvm_op", small(0), arena(16)) +
          gwrite(32, struct.pack("<HHIQ", SELF, 0, 3, 0)) + call("hvm_op", small(0), arena(32)) +
          call("hvm_op", small(1), arena(0)) + call("hvm_op", small(0), arg(A_LAST, 15)))
    # discard: a free page, a boot page, unaligned, huge, past the end
    write("hypercall", "discard", gwrite(10 * PAGE_OF, b"x" * 64) +
          call("xenith_discard", arg(A_ARENA_PAGE, 10), arg(A_PAGE_SIZE)) +
          call("xenith_discard", arg(A_START_INFO, 0), arg(A_PAGE_SIZE)) +
          call("xenith_discard", arena(1), arg(A_PAGE_SIZE)) +
          call("xenith_discard", arg(A_ARENA_PAGE, 0), arg(A_2_63)) +
          call("xenith_discard", arg(A_ARENA_PAGE, 0), arg(A_ZERO)) +
          call("xenith_discard", arg(A_MEM_SIZE), arg(A_PAGE_SIZE)))
    # GUEST_ASSERT: strings, one without a NUL before the end of memory
    write("hypercall", "assert", gwrite(0, b"main.c\0x == y\0why\0") +
          gwrite(4096 - 8, b"no-nul!!", region=R_LAST) +
          call("xenith_guest_assert", arena(0), small(42), arena(7), arena(14)) +
          call("xenith_guest_assert", arg(A_LAST, 7), small(1), arg(A_U64_MAX), arg(A_ZERO)))
    # the rest: time, version, echo, unknown ops and cmds, the bench ops without a bench
    write("hypercall", "misc", call("xenith_time") + call("xen_version", small(0)) +
          call("xen_version", small(1)) + call("xenith_test", small(0), arg(A_U64_MAX)) +
          call("xenith_test", small(0), arg(A_RAW, (1 << 64) - 22)) +
          call("xenith_test", small(1), arena(0), small(1)) + call("xenith_test", small(5), small(1)) +
          call("xenith_test", small(6)) + call("xenith_bench_report", small(0), small(0)) +
          call("op 0") + call("op 13") + call("op 63") + call("op 70") + call("op 72") +
          call("op 2^32-1") + call("xenith_test+high", small(0), small(5)) +
          call("event_channel_op+high", small(EV_ALLOC), arena(0x100)))


# ---- disks through xenstore (hv/vbd.h), in the hypercall target's layout ----
# The fuzz domain (fuzz_hypercall.c) is domain 1 with two disks: disk 0 (xvda, 51712) writable,
# two queues, persistent grants; disk 1 (xvdb, 51728) read-only, one queue, no persistent grants.
# A frontend grants its ring page to domain 0, allocates an unbound port for domain 0, writes its
# keys into device/vbd/ID/ (relative to its home, /local/domain/1) and then state 3
# (Initialised); the backend's watch connects the queues while the store processes that write,
# within the EVTCHNOP_send on the store's port.
XS_READ, XS_WRITE = 2, 11
XB_INITIALISING, XB_INITIALISED, XB_CONNECTED, XB_CLOSING, XB_CLOSED = 1, 3, 4, 5, 6


def vbd_dir(disk):
    return "device/vbd/%d" % ((202 << 8) | (disk << 4))


class Store:
    """The guest's side of the store's ring: where the next request goes, its req_ids."""

    def __init__(self):
        self.prod = 0
        self.rid = 0

    def writes(self, disk, kv):
        # XS_WRITE: "path\0" then the value, not NUL-terminated (Xen's wire format)
        reqs = []
        for key, value in kv:
            self.rid += 1
            reqs.append((XS_WRITE, self.rid, ("%s/%s" % (vbd_dir(disk), key)).encode() + b"\0" +
                         str(value).encode()))
        out = xs_requests(reqs, start=self.prod)
        self.prod += sum(16 + len(p) for _, _, p in reqs)
        return out

    def state(self, disk, st):
        return self.writes(disk, [("state", st)])

    def read_error(self, disk):
        # the backend's reason for a refusal (hv/vbd.h: error/<backend path>/error)
        self.rid += 1
        path = b"/local/domain/0/error/backend/vbd/1/%d/error\0" % ((202 << 8) | (disk << 4))
        out = xs_requests([(XS_READ, self.rid, path)], start=self.prod)
        self.prod += 16 + len(path)
        return out


def frontend_keys(refs, ports, persistent):
    # the keys blkfront_connect_rings writes, in its order; state last
    kv = [("multi-queue-num-queues", len(refs))]
    for q, (ref, p) in enumerate(zip(refs, ports)):
        pre = "" if len(refs) == 1 else "queue-%d/" % q
        kv += [(pre + "ring-ref", ref), (pre + "event-channel", p)]
    return kv + [("feature-persistent", 1 if persistent else 0), ("protocol", "x86_64-abi"),
                 ("state", XB_INITIALISED)]


def blk_req(op, rid, sector, segs=(), handle=0):
    b = struct.pack("<BBHIQQ", op, len(segs), handle, 0, rid, sector)
    for gref, first, last in segs:
        b += struct.pack("<IBBH", gref, first, last, 0)
    return b


def push(ring_page, start, reqs, which_port):
    # requests into the ring's slots, req_prod moved past them, a send on the queue's port, then
    # a poll on that port (at most 1 ms) for the backend's answer, as blkfront_wait blocks
    out = b""
    for i, r in enumerate(reqs):
        out += gwrite(ring_page * PAGE_OF + HDR + ((start + i) % 32) * SLOT, r)
    return (out + gwrite(ring_page * PAGE_OF, struct.pack("<I", start + len(reqs))) +
            port_struct(EV_SEND, 0x500, which_port) +
            gvalue(0x600, 4, port(which_port)) + poll(0x700, 0x600, 1, NS_1MS))


# Ports: alloc_unbound hands out the lowest free port; 0, 1 (console), 2 (store) are taken, so a
# fresh input's first two are 3 and 4 (the trace shows them).
FIRST_PORT = 3


def vbd_setup(rings):
    # grant table at arena page 4; ring pages at arena pages 6, 7 (refs 8, 9, writable);
    # data pages: ref 10 -> page 8 writable (reads land there), ref 11 -> page 9 read-only
    # (a write's source); one unbound port per ring
    out = set_table(0x700, 4, 1)
    for q in range(rings):
        out += grant(4, 8 + q, arena_frame(6 + q))
        out += gwrite((6 + q) * PAGE_OF, struct.pack("<IIII", 0, 1, 0, 1))  # blkif_sring_init
    out += grant(4, 10, arena_frame(8)) + grant(4, 11, arena_frame(9), flags=5)
    out += gwrite(9 * PAGE_OF, b"written by the fuzz seed " * 8)
    for q in range(rings):
        out += alloc_unbound(0x100 + 8 * q)
    return out


def vbd_seeds():
    # disk 0, one queue, persistent grants: connect, a read, a write, a flush, a discard,
    # then Closed (every queue disconnected), Initialising (offered again)
    st = Store()
    io = [blk_req(OP_READ, 1, 0, [(10, 0, 7)]), blk_req(OP_WRITE, 2, 8, [(11, 0, 7)]),
          blk_req(OP_FLUSH, 3, 0), discard(4, 16, 8)[:32]]
    write("hypercall", "vbd-connect", vbd_setup(1) +
          st.writes(0, frontend_keys([8], [FIRST_PORT], True)) + st.state(0, XB_CONNECTED) +
          push(6, 0, io, 0) + push(6, 4, [blk_req(OP_READ, 5, 8, [(10, 0, 0)])], 0) +
          st.state(0, XB_CLOSED) + st.state(0, XB_INITIALISING))
    # disk 0 with both of its queues, no persistent grants; requests on each, then Closing
    st = Store()
    write("hypercall", "vbd-connect-2q", vbd_setup(2) +
          st.writes(0, frontend_keys([8, 9], [FIRST_PORT, FIRST_PORT + 1], False)) +
          st.state(0, XB_CONNECTED) +
          push(6, 0, [blk_req(OP_READ, 1, 0, [(10, 0, 7)])], 0) +
          push(7, 0, [blk_req(OP_WRITE, 2, 0, [(11, 0, 3)])], 1) +
          st.state(0, XB_CLOSING) + st.state(0, XB_CLOSED))
    # disk 1 (read-only, one queue): a read, a write (refused), a discard; the guest closes
    # the port under the connected disk, then the frontend disconnects
    st = Store()
    write("hypercall", "vbd-connect-ro", vbd_setup(1) +
          st.writes(1, frontend_keys([8], [FIRST_PORT], False)) + st.state(1, XB_CONNECTED) +
          push(6, 0, [blk_req(OP_READ, 1, 0, [(10, 0, 7)], handle=1),
                      blk_req(OP_WRITE, 2, 0, [(11, 0, 7)], handle=1), discard(3, 0, 8)[:32]], 0) +
          port_struct(EV_CLOSE, 0x508, 0) + st.state(1, XB_CLOSED))
    # refused: ring-ref 11 is a read-only grant (then ref 600, past the table); the backend
    # goes to Closing with the reason in error/; the frontend closes, starts again, and
    # connects with the right ref
    st = Store()
    write("hypercall", "vbd-refused", vbd_setup(1) +
          st.writes(0, frontend_keys([11], [FIRST_PORT], True)) + st.read_error(0) +
          st.state(0, XB_CLOSED) + st.state(0, XB_INITIALISING) +
          st.writes(0, frontend_keys([600], [FIRST_PORT], True)) + st.read_error(0) +
          st.state(0, XB_CLOSED) + st.state(0, XB_INITIALISING) +
          st.writes(0, frontend_keys([8], [FIRST_PORT], True)) +
          push(6, 0, [blk_req(OP_READ, 1, 0, [(10, 0, 7)])], 0) + st.state(0, XB_CLOSED))


# ---- xenstore (fuzz_xenstore.c): knobs, [start], then guest and VMM steps ----
XS_WORDS = ["", "a", "a/b", "a/b/c", "data", "device/vbd/0/state", "/local/domain/1",
            "/local/domain/1/a", "/local/domain/2/x", "/backend", "/backend/vbd/1/0", "/vm",
            "/", "@releaseDomain", "@introduceDomain", "T", "F", "0", "1", "4096", "n1", "r1",
            "b1", "n0", "w2", "b2", "x1", "tok", "t2", "a//b", "x/", "bad path", "/local/domain/1/",
            "../a", "a@b"]
XS = dict(DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5, TX_START=6, TX_END=7,
          INTRODUCE=8, DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13, SET_PERMS=14, RESET_WATCHES=21,
          DIRECTORY_PART=22)
S_MSG, S_RAW, S_PUSH, S_KICK, S_READ, S_DOM0, S_BOGUS, S_POKE = range(8)
TX_LATEST = 128  # txsel: the last transaction id the store handed out


def xs_word(w):
    if w == "LONG":  # a path of XENSTORE_REL_PATH_MAX bytes
        return struct.pack("<BB", 255, 0)
    if isinstance(w, str) and w in XS_WORDS:
        return struct.pack("<B", XS_WORDS.index(w))
    w = w.encode() if isinstance(w, str) else w  # a raw string
    return struct.pack("<BB", 200, len(w)) + w


def xs_msg(op, words, tx=0, value=False):
    # mode: words (not 0 mod 4), bit 1: the last one without its NUL (a written value)
    mode = 1 | (2 if value else 0) | (len(words) - 1) * 4
    return struct.pack("<BBBB", S_MSG, XS[op] if isinstance(op, str) else op, tx, mode) + \
        b"".join(xs_word(w) for w in words)


def xs_raw_msg(op, payload):
    return struct.pack("<BBBBH", S_MSG, XS[op], 0, 0, len(payload)) + payload


def xs_push(n=0xffff):
    return struct.pack("<BH", S_PUSH, n)


def xs_kick():
    return struct.pack("<B", S_KICK)


def xs_read(n=0xffff):
    return struct.pack("<BH", S_READ, n)


def xs_dom0(op, sel):
    return struct.pack("<BBB", S_DOM0, op, sel)


def xs_rpc(*msgs):
    return b"".join(msgs) + xs_push() + xs_kick() + xs_read()


def xenstore_seeds():
    basic = xs_rpc(xs_msg("WRITE", ["a/b", "1"], value=True), xs_msg("READ", ["a/b"]),
                   xs_msg("DIRECTORY", ["a"]), xs_msg("MKDIR", ["data"])) + \
        xs_rpc(xs_msg("GET_PERMS", ["a"]), xs_msg("SET_PERMS", ["a", "n1", "w2"]),
               xs_msg("DIRECTORY_PART", ["/local/domain/1", "0"]), xs_msg("DOMAIN_PATH", ["1"])) + \
        xs_rpc(xs_msg("RM", ["a"]), xs_msg("READ", ["a/b"]), xs_msg("READ", ["bad path"]),
               xs_msg("INTRODUCE", ["1", "0", "4096"]), xs_msg(23, ["a"]), xs_msg(250, ["a"]))
    write("xenstore", "basic", struct.pack("<B", 0) + basic)
    watches = xs_rpc(xs_msg("WATCH", ["data", "tok"]), xs_msg("WATCH", ["/backend", "t2"]),
                     xs_msg("WATCH", ["@releaseDomain", "tok"])) + \
        xs_dom0(3, 0) + xs_dom0(0, 0) + xs_dom0(5, 1) + xs_dom0(1, 1) + xs_read() + \
        xs_rpc(xs_msg("WRITE", ["data", "x"], value=True)) + \
        xs_dom0(0, 9) + xs_dom0(4, 0) + xs_read() + \
        xs_rpc(xs_msg("UNWATCH", ["data", "tok"]), xs_msg("RESET_WATCHES", [""]))
    write("xenstore", "watches", struct.pack("<B", 0) + watches)
    # events piling up while the guest reads nothing, small quotas
    flood = xs_rpc(xs_msg("WATCH", ["/", "tok"]), xs_msg("WATCH", ["data", "t2"])) + \
        b"".join(xs_dom0(0, i) + xs_dom0(3, i) for i in (0, 2, 4)) + \
        b"".join(xs_dom0(0, (0, 2, 4)[i % 3]) for i in range(40)) + xs_kick() + xs_read(100) + \
        xs_kick() + \
        xs_read()
    write("xenstore", "flood", struct.pack("<B", 1) + flood)
    tx = xs_rpc(xs_msg("TX_START", [""])) + \
        xs_rpc(xs_msg("WRITE", ["a/b", "1"], tx=TX_LATEST, value=True),
               xs_msg("READ", ["a/b"], tx=TX_LATEST), xs_msg("RM", ["data"], tx=TX_LATEST),
               xs_msg("DIRECTORY", ["/local/domain/1"], tx=TX_LATEST),
               xs_msg("TX_END", ["T"], tx=TX_LATEST)) + \
        xs_rpc(xs_msg("TX_START", [""])) + \
        xs_rpc(xs_msg("WRITE", ["a/c", "2"], tx=TX_LATEST, value=True)) + xs_dom0(0, 4) + \
        xs_rpc(xs_msg("TX_END", ["T"], tx=TX_LATEST), xs_msg("TX_END", ["F"], tx=TX_LATEST))
    write("xenstore", "transaction", struct.pack("<B", 0) + tx)
    write("xenstore", "quotas", struct.pack("<B", 1) + b"".join(
        xs_rpc(xs_msg("WRITE", [w, "vvvvvvvv"], value=True)) for w in
        ["a", "a/b", "a/b/c", "data", "device/vbd/0/state", "x1", "t2", "tok", "n1", "n2", "n3",
         "n4"]) +
        xs_rpc(xs_msg("TX_START", [""]), xs_msg("TX_START", [""]), xs_msg("TX_START", [""])) +
        xs_rpc(*[xs_msg("WATCH", ["a", w]) for w in ["0", "1", "T", "F"]]))
    # a request longer than the ring, its long reply, a path at the length limit
    big = b"big\0" + b"v" * 2000
    write("xenstore", "long", struct.pack("<B", 0) + xs_raw_msg("WRITE", big) +
          xs_push() + xs_kick() + xs_push() + xs_kick() + xs_push() + xs_kick() + xs_read() +
          xs_rpc(xs_msg("READ", [b"big"])) + xs_kick() + xs_read() + xs_kick() + xs_read() +
          xs_rpc(xs_msg("WRITE", ["LONG", "1"], value=True)) + xs_push() + xs_kick() + xs_push() +
          xs_kick() + xs_read())
    # indices near 2^32 and not at a ring boundary: everything wraps
    write("xenstore", "wrap", struct.pack("<BI", 2, 0xfffffc00 - 7) + basic + watches)
    # protocol errors: an oversized header; impossible indices
    write("xenstore", "oversize", struct.pack("<B", 0) + xs_rpc(xs_msg("MKDIR", ["a"])) +
          struct.pack("<BBBBH", S_MSG, XS["READ"], 0, 0, 4097) + xs_push() + xs_kick() +
          xs_rpc(xs_msg("READ", ["a"])))
    write("xenstore", "bogus", struct.pack("<B", 0) + xs_rpc(xs_msg("MKDIR", ["a"])) +
          struct.pack("<BB", S_BOGUS, 1) + xs_kick() + xs_kick())
    write("xenstore", "bogus-rsp", struct.pack("<B", 0) + xs_msg("READ", ["a"]) + xs_push() +
          struct.pack("<BB", S_BOGUS, 2) + xs_kick() + xs_dom0(0, 0))


# ---- xs_restore (fuzz_xs_restore.c): a store and domain 1's connection as xs_save writes them ----
# (the format is at the top of io/xenstore_save.c; a load of these, saved again, gives these bytes)
XSR_R, XSR_W = 1, 2


def xsr_str(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<I", len(s)) + s


def xsr_node(path, gen, perms, value=b""):
    return xsr_str(path) + struct.pack("<QI", gen, len(perms)) + \
        b"".join(struct.pack("<IB", d, acc) for d, acc in perms) + struct.pack("<I", len(value)) + value


def xsr_msg(mtype, req_id, payload, event=False, done=0):
    data = struct.pack("<IIII", mtype, req_id, 0, len(payload)) + payload
    return struct.pack("<BII", int(event), done, len(data)) + data


def xs_restore_seeds():
    ro, guest = [(0, 0), (1, XSR_R)], [(1, 0)]
    # depth first, children in their order, as xs_save writes them
    nodes = [xsr_node("/", 0, [(0, 0)]),
             xsr_node("/local", 2, [(0, 0)]),
             xsr_node("/local/domain", 3, [(0, 0)]),
             xsr_node("/local/domain/1", 12, ro),
             xsr_node("/local/domain/1/name", 5, ro, b"web"),
             xsr_node("/local/domain/1/data", 11, guest),
             xsr_node("/local/domain/1/data/k", 10, guest, b"a\0b\0"),
             xsr_node("/local/domain/1/device", 7, ro),
             xsr_node("/local/domain/0", 16, [(0, 0)]),
             xsr_node("/local/domain/0/backend", 14, ro),
             xsr_node("/local/domain/0/backend/state", 15, [(0, 0), (1, XSR_R), (7, XSR_R | XSR_W)],
                      b"4"),
             xsr_node("/vm", 17, [(0, 0)]),
             xsr_node("/vm/u", 18, [(0, 0), (1, XSR_R)], b"")]
    tree = struct.pack("<IQI", 1, 20, len(nodes)) + b"".join(nodes)
    # a WRITE of "data/x" = "1" half read; two watch events queued, the first, longer than the
    # ring, partly written
    partial = struct.pack("<IIII", XS["WRITE"], 9, 0, 8) + b"data/"
    out = [xsr_msg(15, 0, b"data/" + b"k" * 1100 + b"\0t\0", event=True, done=600),
           xsr_msg(15, 0, b"/local/domain/1/device\0abs\0", event=True)]
    watches = [("/local/domain/1/data", "t", 1), ("/local/domain/1/device", "abs", 0),
               ("@releaseDomain", "rd", 0)]

    def conn(partial):
        return struct.pack("<BIBIII", 1, 1, 0, 0x1000, 0x2010, len(partial)) + partial + \
            struct.pack("<I", len(out)) + b"".join(out) + \
            struct.pack("<I", len(watches)) + b"".join(xsr_str(p) + xsr_str(t) + struct.pack("<B", r)
                                                       for p, t, r in watches) + \
            struct.pack("<III", 2, 3, 2) + struct.pack("<I", 4)
    write("xs_restore", "guest", tree + conn(partial))
    # no partial request: the target commits a restored transaction (EAGAIN)
    write("xs_restore", "transactions", tree + conn(b""))
    write("xs_restore", "no-connection", tree + b"\0")


# ---- netif (fuzz_netif.c) ----
N_TX_PUT, N_TX_PUSH, N_TX_PROD, N_RX_POST, N_RX_PROD, N_SEND, N_ROUND, N_POKE, N_PARSE = range(9)
TXF_CSUM_BLANK, TXF_MORE, TXF_EXTRA = 1, 4, 8
VIF_MAC = bytes([0x00, 0x16, 0x3e, 0x12, 0x34, 0x56])


def n_slot(gref, offset, flags, rid, size):
    return struct.pack("<IHHHH", gref, offset, flags, rid, size)


def n_extra(etype, flags=0, gso_size=0, gso_type=0):
    return struct.pack("<BBHBBH", etype, flags, gso_size, gso_type, 0, 0).ljust(12, b"\0")


def n_put(slots):
    return struct.pack("<BB", N_TX_PUT, len(slots) - 1) + b"".join(slots)


def n_post(bufs):
    return struct.pack("<BB", N_RX_POST, len(bufs) - 1) + b"".join(struct.pack("<HB", i, r) for i, r in bufs)


def n_send(frames):
    return struct.pack("<BB", N_SEND, len(frames) - 1) + b"".join(struct.pack("<HB", n - 1, p) for n, p in frames)


def n_poke(offset, data):
    return struct.pack("<BHB", N_POKE, offset, len(data)) + data


def n_input(grants, actions, start=None):
    b = struct.pack("<B", 0 if start is None else 1)
    if start is not None:
        b += struct.pack("<I", start)
    return b + bytes(grants) + b"".join(actions)


def n_udp_frame(payload):
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 1, 0, 64, 17, 0,
                     bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]))
    udp = struct.pack(">HHHH", 12345, 8080, 8 + len(payload), 0xdead)
    return bytes([2, 0, 0, 0, 0, 1]) + VIF_MAC + b"\x08\x00" + ip + udp + payload


def netif_seeds():
    rw = [1 | (i << 2) for i in range(24)]          # ref 10 + i: frame 12 + i, writable
    mixed = list(rw)
    mixed[2] = 0                                    # ref 12: not granted
    mixed[3] = 2 | (3 << 2)                         # ref 13: read-only
    mixed[4] = 3 | (4 << 2)                         # ref 14: another domain's
    mixed[5] = 1 | (63 << 2)                        # ref 15: outside guest memory
    mac_at = lambda page, off: n_poke(page * PAGE + off + 6, VIF_MAC)
    rnd = struct.pack("<B", N_ROUND)
    basic = [mac_at(0, 0), n_put([n_slot(10, 0, 0, 1, 60)]), struct.pack("<B", N_TX_PUSH), rnd,
             n_post([(7, 11), (8, 12)]), n_send([(60, 1), (1514, 2), (200, 3)]), rnd, rnd]
    write("netif", "basic", n_input(rw, basic))
    # fragments across pages, a GSO extra, a blank UDP checksum
    frame = n_udp_frame(bytes(range(200)))
    frags = [n_poke(1 * PAGE + 100, frame[:150]), n_poke(2 * PAGE, frame[150:]),
             n_put([n_slot(11, 100, TXF_MORE | TXF_EXTRA | TXF_CSUM_BLANK, 1, len(frame)),
                    n_extra(1, 0, 1448, 1), n_slot(12, 0, 0, 2, len(frame) - 150)]),
             struct.pack("<B", N_TX_PUSH), rnd]
    write("netif", "fragments", n_input(rw, frags))
    # hostile requests among good ones, buffers the backend may not write
    hostile = [mac_at(0, 0),
               n_put([n_slot(10, 0, 0, 1, 60),            # good
                      n_slot(12, 0, 0, 2, 60),            # not granted
                      n_slot(10, 4000, 0, 3, 200),        # past the page
                      n_slot(10, 0, 0, 4, 3000),          # oversize
                      n_slot(16, 0, 0, 5, 60),            # another source MAC
                      n_slot(10, 0, 0, 6, 10),            # too short
                      n_slot(10, 0, TXF_MORE, 7, 10), n_slot(10, 0, 0, 8, 100),  # fragments > size
                      n_slot(10, 0, TXF_EXTRA, 9, 60), n_extra(0)]),  # unknown extra type
               struct.pack("<B", N_TX_PUSH), rnd,
               n_post([(1, 13), (2, 14), (3, 15), (4, 10), (5, 255)]),
               n_send([(100, 1), (100, 2), (100, 3), (100, 4), (100, 5), (100, 6), (100, 7)]), rnd, rnd]
    write("netif", "hostile", n_input(mixed, hostile))
    # a 19-request chain; a packet published in part, then whole
    chain = [n_slot(10, 0, TXF_MORE, i, 1400 if i == 0 else 10) for i in range(19)] + [n_slot(10, 0, 0, 19, 10)]
    part = [mac_at(0, 0), n_put(chain), struct.pack("<B", N_TX_PUSH), rnd,
            n_put([n_slot(10, 0, TXF_MORE, 30, 100)]), struct.pack("<B", N_TX_PUSH), rnd,
            n_put([n_slot(11, 0, 0, 31, 40)]), struct.pack("<B", N_TX_PUSH), rnd]
    write("netif", "chains", n_input(rw, part))
    # indices about to wrap
    write("netif", "wrap", n_input(rw, basic * 3, start=0xffffffff - 3))
    # impossible indices on each ring
    write("netif", "tx-prod-jump", n_input(rw, basic[:3] + [struct.pack("<BI", N_TX_PROD, 1000), rnd]))
    write("netif", "rx-prod-jump", n_input(rw, basic[:4] + [struct.pack("<BI", N_RX_PROD, 0x80000000), rnd]))
    # no buffers posted: frames dropped; a full ring of one-slot packets
    flood = [mac_at(0, 0), n_send([(64, i) for i in range(8)]), rnd] + \
            [n_put([n_slot(10, 0, 0, i * 24 + k, 60) for k in range(24)]) for i in range(10)] + \
            [struct.pack("<B", N_TX_PUSH), rnd, rnd, rnd, rnd, rnd, rnd, rnd, rnd, rnd]
    write("netif", "flood", n_input(rw, flood))
    # the parser alone
    write("netif", "parse", n_input(rw, [struct.pack("<BB", N_PARSE, 3) + n_slot(10, 0, TXF_MORE | TXF_EXTRA, 1, 300) +
                                           n_extra(1, 0, 1448, 1) + n_slot(11, 0, 0, 2, 100),
                                           struct.pack("<BB", N_PARSE, 2) + n_slot(10, 4000, TXF_MORE, 1, 300) +
                                           n_slot(11, 0, 0, 2, 100)]))
# ---- netstack (fuzz_netstack.c) ----
NS_MAC = bytes([2, 0, 0, 0, 0, 0x0B])
NS_PEER = bytes([2, 0, 0, 0, 0, 0x0A])
NS_IP = bytes([10, 0, 0, 2])
NS_PEER_IP = bytes([10, 0, 0, 1])


def inet_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ns_ip(proto, payload, dst=NS_IP, flags_frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, flags_frag, 64, proto, 0, NS_PEER_IP, dst)
    h = h[:10] + struct.pack("!H", inet_csum(h)) + h[12:]
    return NS_MAC + NS_PEER + b"\x08\x00" + h + payload


def ns_udp(port, payload):
    u = struct.pack("!HHHH", 4000, port, 8 + len(payload), 0) + payload
    pseudo = NS_PEER_IP + NS_IP + struct.pack("!BBH", 0, 17, len(u))
    c = inet_csum(pseudo + u) or 0xFFFF
    return ns_ip(17, u[:6] + struct.pack("!H", c) + u[8:])


def ns_ping(seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq) + bytes(range(32))
    return ns_ip(1, icmp[:2] + struct.pack("!H", inet_csum(icmp)) + icmp[4:])


def ns_arp(op, tpa, dst=b"\xff" * 6):
    return dst + NS_PEER + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, NS_PEER, NS_PEER_IP,
                                                      b"\0" * 6, tpa)


def ns_rec(frame):
    return struct.pack("<H", len(frame)) + frame


def ns_app(seq):
    return struct.pack("<IQQ", 0x31424E58, seq, 0) + b"x" * 10


def netstack_seeds():
    write("netstack", "arp-ping", ns_rec(ns_arp(1, NS_IP)) + ns_rec(ns_ping(1)) + ns_rec(ns_ping(2)))
    write("netstack", "arp-other", ns_rec(ns_arp(1, bytes([10, 0, 0, 9]))) + ns_rec(ns_arp(2, NS_IP, NS_MAC)))
    write("netstack", "sink", b"".join(ns_rec(ns_udp(5001, ns_app(s))) for s in (0, 1, 3, 2, 2, 2000, 5)))
    write("netstack", "udp-other-port", ns_rec(ns_udp(9, b"hello")) + ns_rec(ns_udp(5001, b"no header")))
    write("netstack", "fragments", ns_rec(ns_ip(17, b"\0" * 16, flags_frag=0x2000)) +
          ns_rec(ns_ip(17, b"\0" * 16, flags_frag=0x0010)))
    big = ns_udp(5001, ns_app(7) + b"y" * 1400)
    write("netstack", "big-and-runts", ns_rec(big) + ns_rec(big[:13]) + ns_rec(big[:30]) + ns_rec(b"\0" * 4096))


# ---- vif (fuzz_vif.c) ----
G_RW, G_RO, G_OTHER, G_NONE, G_ALIAS, G_PROTECTED = range(6)
P_UNBOUND, P_VIRQ, P_NONE = range(3)
(K_TX, K_RX, K_EVT, K_EVT_TX, K_EVT_RX, K_NUM_QUEUES, K_RX_COPY, K_RX_NOTIFY, K_SG, K_GSO,
 K_NO_CSUM, K_STATE) = range(12)
VIF_FIXED = ["0", "1", "2", "3", "4", "5", "6"]  # the first of fuzz_vif.c's fixed_values
VIF_RAW = 8 + 6 + 18  # the value selector of raw bytes


def vif_ref(i):
    return i  # value selector: ref slot i's number


def vif_port(i):
    return 8 + i  # value selector: port slot i's number


def vif_num(text):
    return 8 + 6 + VIF_FIXED.index(text)


def vif_qkey(q, k):
    return 12 + 5 * q + k


def v_write(vif, key, value):
    return struct.pack("<BBBB", 0, vif, key, value)


def v_raw(vif, key, raw):
    return struct.pack("<BBBBB", 0, vif, key, VIF_RAW, len(raw)) + raw


def v_state(vif, st):
    return struct.pack("<BBB", 4, vif, st)


def v_rm(vif, what):
    return struct.pack("<BBB", 5, vif, what)


def v_txn(ops, commit=True):
    # ops: ("w", vif, key, value) or ("rm", vif, what)
    b = struct.pack("<BB", 6, len(ops) - 1)
    for o in ops:
        if o[0] == "w":
            b += struct.pack("<BBBB", 0, o[1], o[2], o[3])
        else:
            b += struct.pack("<BBB", 1, o[1], o[2])
    return b + struct.pack("<B", 1 if commit else 0)


def v_frontend(vif, queues, connected=True):
    # queues: (tx ref slot, rx ref slot, port slot, None or the split rx port slot)
    b = struct.pack("<BBB", 7, vif, len(queues) - 1)
    for tx, rx, p1, p2 in queues:
        b += struct.pack("<BBBB", tx, rx, p1, 0 if p2 is None else 2 * p2 + 1)
    return b + struct.pack("<B", 1 if connected else 0)


def v_restart(vif):
    return v_state(vif, 6) + v_state(vif, 1)


def vif_input(grants, ports, ops):
    return bytes(grants) + bytes(ports) + b"".join(ops)


def vif_seeds():
    rw = [G_RW] * 8
    unbound = [P_UNBOUND] * 6
    one = v_frontend(0, [(0, 1, 0, None)])
    two = v_frontend(1, [(2, 3, 1, 2), (4, 5, 3, 4)], connected=False)
    write("vif", "connect-close-again", vif_input(rw, unbound, [
        one, v_state(0, 5), v_state(0, 6), v_state(0, 1), one, two, v_state(1, 5), v_restart(1), two]))
    # vif 1's queue 1 names vif 0's TX page: refused; then its own pages.
    write("vif", "page-in-use", vif_input(rw, unbound, [
        one, v_frontend(1, [(2, 3, 1, 2), (0, 5, 3, 4)]), v_restart(1), two]))
    # ref 3 is ref 0's page under another ref; ref 4 read-only, 5 another domain's, 6 not granted,
    # 7 a page the guest maps read-only: each refused, then a good pair.
    grants = [G_RW, G_RW, G_RW, G_ALIAS, G_RO, G_OTHER, G_NONE, G_PROTECTED]
    ops = [v_frontend(0, [(0, 3, 0, None)])]
    for bad in (4, 5, 6, 7):
        ops += [v_restart(0), v_frontend(0, [(bad, 1, 0, None)])]
    ops += [v_restart(0), v_frontend(0, [(1, 2, 0, None)])]
    write("vif", "bad-grants", vif_input(grants, unbound, ops))
    # Port slot 1 is a VIRQ's, slot 2 nobody's; slot 0 taken by vif 0, then given again.
    ops = [one, v_frontend(1, [(2, 3, 1, None)]), v_restart(1), v_frontend(1, [(2, 3, 2, None)]),
           v_restart(1), v_frontend(1, [(2, 3, 0, None)]), v_restart(1), v_frontend(1, [(2, 3, 3, 3)]),
           v_restart(1), v_frontend(1, [(2, 3, 3, None)])]
    write("vif", "bad-ports", vif_input(rw, [P_UNBOUND, P_VIRQ, P_NONE, P_UNBOUND, P_UNBOUND, P_UNBOUND], ops))
    # Key by key, some in a transaction, with mistakes on the way.
    ops = [v_write(0, K_RX_COPY, vif_num("1")), v_raw(0, K_RX_NOTIFY, b"1\n"), v_state(0, 3),
           v_restart(0),
           v_txn([("w", 0, K_RX_NOTIFY, vif_num("1")), ("w", 0, K_TX, vif_ref(0)),
                  ("w", 0, K_RX, vif_ref(1))]),
           v_txn([("w", 0, K_EVT, vif_port(0)), ("w", 0, K_STATE, vif_num("4"))], commit=False),
           v_txn([("w", 0, K_EVT, vif_port(0)), ("w", 0, K_STATE, vif_num("4"))]),
           v_state(0, 5), v_rm(0, K_EVT), v_write(0, K_EVT_TX, vif_port(1)),
           v_write(0, K_EVT_RX, vif_port(2)), v_state(0, 1), v_state(0, 3),
           v_write(1, K_NUM_QUEUES, vif_num("2")), v_write(1, K_RX_COPY, vif_num("1")),
           v_write(1, K_RX_NOTIFY, vif_num("1")), v_write(1, vif_qkey(0, K_TX), vif_ref(2)),
           v_write(1, vif_qkey(0, K_RX), vif_ref(3)), v_write(1, vif_qkey(0, K_EVT), vif_port(3)),
           v_write(1, vif_qkey(1, K_TX), vif_ref(4)), v_write(1, vif_qkey(1, K_RX), vif_ref(5)),
           v_write(1, vif_qkey(1, K_EVT), vif_port(4)), v_state(1, 3), v_rm(1, 12 + 15 + 1),
           v_state(1, 6), v_rm(1, 12 + 15 + 3), v_state(1, 1)]
    write("vif", "key-by-key", vif_input(rw, unbound, ops))
# ---- switch (fuzz_switch.c) ----
SWP_MAGIC, SWP_HELLO, SWP_CONNECT, SWP_DISCONNECT, SWP_STATS, SWP_LIST, SWP_STOP = 0x31575358, 1, 2, 3, 4, 5, 6


def swp_hdr(t, length):
    return struct.pack("<IHHII", SWP_MAGIC, 1, t, length, 0)


def swp_hello(nq=1, mem=1 << 20, min_gpa=0x10000, mac=b"\x00\x16\x3e\x00\x00\x0a", name=b"d1"):
    body = struct.pack("<QQIIII", mem, min_gpa, 1, 0, 1, nq) + mac + b"\0\0" + name.ljust(64, b"\0")
    return swp_hdr(SWP_HELLO, 16 + len(body)) + body


def swp_connect(gpa=0x20000, frames=1, nq=1, refs=((8, 9),)):
    q = b"".join(struct.pack("<II", t, r) for t, r in refs).ljust(64, b"\0")
    return swp_hdr(SWP_CONNECT, 96) + struct.pack("<QII", gpa, frames, nq) + q


def sw_rec(pkt, kind=0, fdmode=0):
    return struct.pack("<BHB", kind, len(pkt), fdmode) + pkt


def switch_seeds():
    write("switch", "hello-connect-stats", sw_rec(swp_hello(), fdmode=1) + sw_rec(swp_connect()) +
          sw_rec(swp_hdr(SWP_STATS, 16)) + sw_rec(swp_hdr(SWP_DISCONNECT, 16)) + sw_rec(swp_hdr(SWP_LIST, 16)))
    write("switch", "hello-4q", sw_rec(swp_hello(nq=4), fdmode=1) + sw_rec(swp_connect(nq=4)))
    write("switch", "hello-unsealed", sw_rec(swp_hello(), fdmode=1 | 8))
    write("switch", "hello-devnull", sw_rec(swp_hello(), fdmode=3))
    write("switch", "hello-extra-fd", sw_rec(swp_hello(), fdmode=2))
    write("switch", "hello-twice", sw_rec(swp_hello(), fdmode=1) + sw_rec(swp_hello(), fdmode=1))
    write("switch", "connect-first", sw_rec(swp_connect()) + sw_rec(swp_hdr(SWP_STOP, 16)))
    write("switch", "bad-header", sw_rec(b"\0" * 16) + sw_rec(swp_hdr(99, 16)))
    write("switch", "forced", sw_rec(b"", kind=1 | 0x80, fdmode=1 | 0x30))


# ---- nvme (fuzz_nvme.c) ----
NV_SUBMIT, NV_REAP, NV_SYNC, NV_FLUSH, NV_FLUSH_SYNC, NV_SHUTDOWN = range(6)


def nv_header(knobs=0, mqes=1023, to=20, dstrd=0, mpsmin=0, mpsmax=4, ready_reads=3, qdepth=16, mdts=5, nn=1,
              lbads=9, ms=0, nlbaf=0, flbas=0, nsze=0):
    return struct.pack("<BHBBBBBBBBHBBI", knobs, mqes, to, dstrd | mpsmin << 4, mpsmax, ready_reads, qdepth - 2,
                       mdts, (nn - 1) & 0xFF, lbads - 9 if 9 <= lbads <= 12 else 128 + lbads, ms, nlbaf, flbas, nsze)


def nv_rw(op, write, lba, nblocks, off, any_align=False):
    return struct.pack("<BBIHH", op, (1 if write else 0) | (2 if any_align else 0), lba, nblocks - 1, off)


def nv_reap(n):
    return struct.pack("<BB", NV_REAP, n)


def nvme_seeds():
    io = (nv_rw(NV_SUBMIT, True, 0, 8, 0) + nv_rw(NV_SUBMIT, True, 8, 24, 4096) + nv_reap(7) +
          nv_rw(NV_SYNC, False, 0, 32, 8192) + nv_rw(NV_SYNC, True, 100, 512, 4) + bytes([NV_FLUSH]) + nv_reap(1) +
          bytes([NV_FLUSH_SYNC]))
    write("nvme", "honest-io", nv_header(mdts=0) + io + struct.pack("<BB", NV_SHUTDOWN, 6) + io)
    write("nvme", "tiny-queue-wide-stride", nv_header(mqes=3, dstrd=5, qdepth=32, lbads=12, nsze=512) +
          b"".join(nv_rw(NV_SUBMIT, i & 1, i, 1, i * 4096) for i in range(5)) + nv_reap(7) +
          b"".join(nv_rw(NV_SUBMIT, True, i, 2, i * 4096) + nv_reap(1) for i in range(9)))
    # bit7: every completion first takes a byte; five during bring-up, then one per command
    lie_cid = b"\x80\x00" + struct.pack("<H", 0x4000)
    write("nvme", "lying-completions", nv_header(knobs=0x80) + b"\0" * 5 +
          nv_rw(NV_SUBMIT, False, 0, 8, 0) + b"\0" + nv_rw(NV_SUBMIT, True, 0, 8, 0) + lie_cid + nv_reap(4) +
          nv_reap(4) + struct.pack("<BB", NV_SHUTDOWN, 6) + b"\0" * 5 +
          nv_rw(NV_SUBMIT, False, 0, 8, 0) + b"\x83\x01" + struct.pack("<H", 7) + nv_reap(4))
    # bit4: Identify patches (controller MDTS 3, namespace FLBAS 1 with LBA format 1 of 4 KiB)
    patches = [(1, 77, 3), (0, 26, 1), (0, 25, 1), (0, 130 + 4, 12)]
    write("nvme", "patched-identify", nv_header(knobs=0x10) + bytes([len(patches)]) +
          b"".join(struct.pack("<BHB", *p) for p in patches) + io)
    write("nvme", "never-ready", nv_header(knobs=0x01, to=2) + io)


# ---- nic_vf (fuzz_nic_vf.c) ----
NLMSG_ERROR, RTM_NEWLINK, RTM_SETLINK = 2, 16, 19
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO, IFLA_NUM_VF, IFLA_VFINFO_LIST, IFLA_INFO_KIND = 3, 4, 18, 21, 22, 1
IFLA_VF_INFO, IFLA_VF_MAC, IFLA_VF_VLAN, IFLA_VF_TX_RATE, IFLA_VF_SPOOFCHK = 1, 1, 2, 3, 4
IFLA_VF_LINK_STATE, IFLA_VF_TRUST, IFLA_VF_VLAN_LIST, IFLA_VF_VLAN_INFO, IFLA_VF_BROADCAST = 5, 9, 12, 1, 13
NLMSGERR_ATTR_MSG = 1


def nl_pad(b):
    return b + b"\0" * (-len(b) % 4)


def nl_attr(t, payload):
    return nl_pad(struct.pack("<HH", 4 + len(payload), t) + payload)


def nl_msg(t, flags, seq, body):
    return nl_pad(struct.pack("<IHHII", 16 + len(body), t, flags, seq, 0) + body)


def nl_ack(seq, error, text=None):
    body = struct.pack("<iIHHII", error, 40, RTM_SETLINK, 5, seq, 0)
    if text is not None:
        body += nl_attr(NLMSGERR_ATTR_MSG, text.encode() + b"\0")
    return nl_msg(NLMSG_ERROR, NLM_F_CAPPED | (NLM_F_ACK_TLVS if text is not None else 0), seq, body)


def nl_vf(vf, mac, vlan, qos, spoofchk, trust):
    attrs = (nl_attr(IFLA_VF_MAC, struct.pack("<I", vf) + mac + b"\0" * 26) +
             nl_attr(IFLA_VF_BROADCAST, b"\xff" * 32) +
             nl_attr(IFLA_VF_VLAN, struct.pack("<III", vf, vlan, qos)) +
             nl_attr(IFLA_VF_TX_RATE, struct.pack("<II", vf, 0)) +
             nl_attr(IFLA_VF_SPOOFCHK, struct.pack("<II", vf, spoofchk)) +
             nl_attr(IFLA_VF_LINK_STATE, struct.pack("<II", vf, 0)) +
             nl_attr(IFLA_VF_TRUST, struct.pack("<II", vf, trust)) +
             nl_attr(IFLA_VF_VLAN_LIST, nl_attr(IFLA_VF_VLAN_INFO, struct.pack("<IIIH", vf, vlan, qos, 0x0081))))
    return nl_attr(IFLA_VF_INFO, attrs)


def nl_link(seq, index, vfs=None, kind=None):
    body = struct.pack("<BBHiII", 0, 0, 1, index, 0, 0) + nl_attr(IFLA_IFNAME, b"enp3s0f0\0")
    body += nl_attr(IFLA_MTU, struct.pack("<I", 1500))
    if kind is not None:
        body += nl_attr(IFLA_LINKINFO, nl_attr(IFLA_INFO_KIND, kind))
    if vfs is not None:
        body += nl_attr(IFLA_NUM_VF, struct.pack("<I", len(vfs))) + nl_attr(IFLA_VFINFO_LIST, b"".join(vfs))
    return nl_msg(RTM_NEWLINK, 0, seq, body)


def nv_head(seq=5, ifindex=3, room=4, msgsize=64, fields=0xF, vf=1, mac=b"\x02\0\0\0\0\x07", vlan=100, qos=3,
            bits=3):
    return struct.pack("<IiBBBI", seq, ifindex, room, msgsize, fields, vf) + mac + struct.pack("<HBB", vlan, qos, bits)


def nic_vf_seeds():
    two = [nl_vf(0, b"\x02\0\0\0\0\x10", 100, 3, 1, 0), nl_vf(1, b"\0" * 6, 0, 0, 0xFFFFFFFF, 1)]
    write("nic_vf", "ack-ok", nv_head() + nl_ack(5, 0))
    write("nic_vf", "ack-eopnotsupp", nv_head() + nl_ack(4, -22, "not ours") + nl_ack(5, -95))
    write("nic_vf", "ack-extended", nv_head(msgsize=16) + nl_ack(5, -34, "Attribute failed policy validation"))
    write("nic_vf", "link-two-vfs", nv_head(room=1) + nl_link(5, 9, kind=b"veth") + nl_link(5, 3, vfs=two))
    write("nic_vf", "link-veth", nv_head(fields=0) + nl_link(5, 3, kind=b"veth"))
    write("nic_vf", "link-error", nv_head() + nl_ack(5, -19, "no such device"))


# ---- pcicfg (fuzz_pcicfg.c): a layout byte, then operations on the PCI bus ----
PC_SIZE = {1: 0, 2: 1, 4: 2, 3: 3}
MX_SIZE = {1: 0, 2: 1, 4: 2, 8: 3}


def pc_addr(reg, slot=1, fn=None, bus1=False, disable=False):
    sel = slot if slot in (0, 1, 2) else (3 | (4 if slot == 31 else 0))
    if fn is not None:
        sel |= 8 | (fn << 4)
    if bus1:
        sel |= 0x80
    return struct.pack("<BBBB", 0, reg, sel, 1 if disable else 0)


def pc_out(off, size, val):
    return struct.pack("<BBI", 1, off | PC_SIZE[size] << 3, val)


def pc_in(off, size):
    return struct.pack("<BB", 2, off | PC_SIZE[size] << 3)


def pc_cfg_w(reg, size, val, slot=1):
    return struct.pack("<BBBI", 3, reg, (slot - 1) | PC_SIZE[size] << 1, val)


def pc_cfg_r(reg, size, slot=1):
    return struct.pack("<BBB", 4, reg, (slot - 1) | PC_SIZE[size] << 1)


def pc_mx_w(rel, size, val, bar=0, fn=1, aligned=True):
    # rel: the offset from the start of the BAR's MSI-X pages
    sel = MX_SIZE[size] | (fn - 1) << 2 | bar << 3 | (0x80 if aligned else 0)
    return struct.pack("<BBHQ", 5, sel, rel, val)


def pc_mx_r(rel, size, bar=0, fn=1, aligned=True):
    sel = MX_SIZE[size] | (fn - 1) << 2 | bar << 3 | (0x80 if aligned else 0)
    return struct.pack("<BBH", 6, sel, rel)


def pc_reset(fn=1, remove=False):
    return struct.pack("<BB", 7, (fn - 1) | (2 if remove else 0))


def pc_probe(slot_bars, cap, slot=1):
    """Linux's type-1 probe and scan, then BAR sizing and the capability walk of one function."""
    b = [pc_out(3, 1, 0x01), pc_out(0, 4, 0x80000000), pc_in(0, 4)]
    for s in (0, 1, 2, 3, 31):
        b += [pc_addr(0x00, s), pc_in(4, 4), pc_addr(0x0c, s), pc_in(6, 1), pc_addr(0x08, s), pc_in(4, 4)]
    b += [pc_addr(0x00, 1, fn=1), pc_in(4, 4), pc_addr(0x00, 1, bus1=True), pc_in(4, 4),
          pc_addr(0x00, 1, disable=True), pc_in(4, 4), pc_in(6, 2), pc_in(7, 2), pc_in(5, 4)]
    b += [pc_cfg_w(0x04, 2, 0x0000, slot)]
    for reg, orig in slot_bars:
        b += [pc_cfg_r(reg, 4, slot), pc_cfg_w(reg, 4, 0xFFFFFFFF, slot), pc_cfg_r(reg, 4, slot),
              pc_cfg_w(reg, 4, orig, slot)]
    b += [pc_cfg_w(0x30, 4, 0xFFFFF800, slot), pc_cfg_r(0x30, 4, slot), pc_cfg_r(0x06, 2, slot),
          pc_cfg_r(0x34, 1, slot), pc_cfg_r(cap, 4, slot), pc_cfg_r(cap + 4, 4, slot), pc_cfg_r(cap + 8, 4, slot),
          pc_cfg_r(0x0e, 1, slot), pc_cfg_r(0x3d, 1, slot), pc_cfg_w(0x3c, 1, 0x0B, slot),
          pc_cfg_w(0x04, 2, 0x0006, slot), pc_cfg_r(0x04, 2, slot)]
    return b


def pc_msix_bringup(cap, table_rel, nvec, bar=0, slot=1):
    """Linux's msix_capability_init: enable with the function masked, program, unmask, then unmask the function."""
    b = [pc_cfg_w(cap + 2, 2, 0xC000, slot)]
    for v in range(nvec):
        e = table_rel + 16 * v
        b += [pc_mx_r(e + 12, 4, bar, slot), pc_mx_w(e, 4, 0xFEE00000 | v << 12, bar, slot),
              pc_mx_w(e + 4, 4, 0, bar, slot), pc_mx_w(e + 8, 4, 0x4020 + v, bar, slot),
              pc_mx_w(e + 12, 4, 0, bar, slot)]
    b += [pc_cfg_w(cap + 2, 2, 0x8000, slot), pc_cfg_r(cap + 2, 2, slot)]
    return b


def pcicfg_seeds():
    # layout 0, QEMU's NVMe VF: the table at BAR0 + 0x2000 (the pages' start), the PBA at + 0x3000
    nvme = pc_probe([(0x10, 0x10000004), (0x14, 0)], 0x70)
    nvme += pc_msix_bringup(0x70, 0, 4)
    nvme += [pc_mx_r(0x1000, 8), pc_mx_w(0x8, 4, 0x4031), pc_mx_w(0x1C, 4, 1), pc_mx_w(0x1C, 4, 0),
             pc_cfg_w(0x72, 2, 0xC000), pc_cfg_w(0x73, 1, 0x80), pc_mx_w(0x20, 8, 0x00000001FEE05000),
             pc_mx_w(0x28, 8, 0x4040), pc_mx_r(0x20, 8), pc_mx_r(0xA0, 4), pc_mx_r(0xAC, 4),
             pc_mx_w(0xAC, 4, 0), pc_mx_r(0x800, 4), pc_mx_r(0xC, 2), pc_mx_w(0xC, 2, 0),
             pc_mx_r(0x3FC, 4), pc_mx_r(0x400, 4), pc_cfg_w(0x10, 4, 0x20000000), pc_cfg_w(0x04, 4, 0x00100002),
             pc_cfg_w(0x72, 2, 0), pc_cfg_r(0x70, 4)]
    write("pcicfg", "nvme-probe-msix", b"\x00" + b"".join(nvme))
    write("pcicfg", "nvme-reset", b"\x00" + b"".join(pc_msix_bringup(0x70, 0, 8) + [pc_reset(1)] +
                                                      pc_msix_bringup(0x70, 0, 2) + [pc_reset(2), pc_reset(1)]))
    # slot 1 emptied while the guest drives it, slot 2 (layout 1) stays
    write("pcicfg", "nvme-removed", b"\x00" + b"".join(
        pc_msix_bringup(0x70, 0, 2) + [pc_cfg_w(0x04, 2, 0x0006), pc_reset(1, remove=True),
                                       pc_cfg_w(0x04, 2, 0x0000), pc_cfg_r(0x00, 4), pc_cfg_w(0x72, 2, 0),
                                       pc_addr(0x00, 1), pc_in(4, 4), pc_cfg_r(0x00, 4, slot=2)] +
        pc_msix_bringup(0x60, 0, 3, bar=2, slot=2) + [pc_reset(2, remove=True), pc_cfg_r(0x00, 4, slot=2)]))
    # layout 1: BAR2 (64-bit, the table at 0) and BAR4 (the PBA at 0x800); slot 2 is the NVMe VF
    l1 = pc_probe([(0x10, 0xC0000000), (0x18, 0x0000000C), (0x1C, 1), (0x20, 0xC0010008), (0x24, 0)], 0x60)
    l1 += pc_msix_bringup(0x60, 0, 3, bar=2)
    l1 += [pc_mx_r(0x800, 8, bar=4), pc_mx_r(0x30, 4, bar=2), pc_mx_r(0x0, 4, bar=0),
           pc_mx_w(0x8, 4, 0x4099, bar=2), pc_cfg_w(0x62, 2, 0x4000), pc_cfg_w(0x62, 2, 0)]
    l1 += pc_probe([(0x10, 0x10000004), (0x14, 0)], 0x70, slot=2)[-16:]
    l1 += pc_msix_bringup(0x70, 0, 2, slot=2)
    write("pcicfg", "layout1-probe-msix", b"\x01" + b"".join(l1))
    # fuzzed config spaces: one taken (7 entries, another ID), one refused (a bridge), one a capability loop
    patches = [(0x72, 6), (0x00, 0x86), (0x01, 0x80), (0x0E, 0x80)]
    write("pcicfg", "fuzzed-taken", b"\x02\x00" + bytes([len(patches)]) + b"".join(bytes(p) for p in patches) +
          b"".join(pc_probe([(0x10, 0x10000004), (0x14, 0)], 0x70) + pc_msix_bringup(0x70, 0, 7)))
    # MSI-X in the last place its 12 bytes fit (0xf4), PM pointing at it
    patches = [(0x41, 0xF4), (0xF4, 0x11), (0xF5, 0), (0xF6, 63), (0xF7, 0), (0xF8, 0), (0xF9, 0x20), (0xFC, 0),
               (0xFD, 0x30)]
    write("pcicfg", "fuzzed-msix-last-place", b"\x02\x00" + bytes([len(patches)]) +
          b"".join(bytes(p) for p in patches) + b"".join(pc_msix_bringup(0xF4, 0, 2)))
    write("pcicfg", "fuzzed-bridge", b"\x02\x00\x01\x0E\x01")
    write("pcicfg", "fuzzed-loop", b"\x02\x01\x01\x51\x50")
    write("pcicfg", "fuzzed-bigger-bars", b"\x02\x07\x00" +
          b"".join(pc_probe([(0x10, 0xC0000000), (0x18, 0x0000000C), (0x1C, 1)], 0x60)))


# ---- unwind (fuzz_unwind.c): registers, operations, then the guest's physical memory ----
UW_LONG, UW_OFF, UW_RAW = 0, 2, 3
UW_TRANSLATE, UW_READ, UW_UNWIND, UW_UNWIND_AT = range(4)
UW_CANON, UW_NEAR = 4, 8
UW_P_RW = 3
UW_PS = 0x80
UW_NX = 1 << 63
UW_TEXT = 0xFFFFFFFF81000000


def uw_op(kind, arg=0, length=0, addr=0):
    return struct.pack("<BBHQ", kind, arg, length, addr)


def uw_input(mode, cr3, rip, rsp, rbp, ops, mem, raw=None):
    head = bytes([mode]) + (struct.pack("<QQQ", *raw) if mode == UW_RAW else b"")
    head += struct.pack("<QQQQ", cr3, rip, rsp, rbp) + bytes([len(ops)]) + b"".join(ops)
    return head + bytes(mem)


def uw_put(mem, at, v):
    assert at + 8 <= len(mem)  # a slice past the end would grow the memory
    mem[at:at + 8] = struct.pack("<Q", v)


class UwStack:
    """Frames written through a map of virtual pages to physical ones."""

    def __init__(self, mem, pages):
        self.mem, self.pages = mem, pages

    def put(self, va, v):
        uw_put(self.mem, self.pages[va & ~(PAGE - 1)] + (va & (PAGE - 1)), v)

    def frames(self, chain):
        # chain: [(fp, ret)], innermost first; the last frame's saved rbp is 0
        for i, (fp, ret) in enumerate(chain):
            self.put(fp, chain[i + 1][0] if i + 1 < len(chain) else 0)
            self.put(fp + 8, ret)


def uw_4k():
    """PML4 at 0, PDPT at 0x1000, one page at 0x2000 that is both the PD (entry 511) and the PT;
    the stack's two virtual pages map to 0x4000 and then 0x3000 (apart, the wrong way round)."""
    mem = bytearray(5 * PAGE)
    uw_put(mem, 0x0000 + 8 * 255, 0x1000 | UW_P_RW)
    uw_put(mem, 0x1000 + 8 * 511, 0x2000 | UW_P_RW)
    uw_put(mem, 0x2000 + 8 * 511, 0x2000 | UW_P_RW)
    uw_put(mem, 0x2000 + 8 * 0x1E0, 0x4000 | UW_P_RW | UW_NX)
    uw_put(mem, 0x2000 + 8 * 0x1E1, 0x3000 | UW_P_RW | UW_NX)
    stack = 0x00007FFFFFFE0000
    return mem, stack, UwStack(mem, {stack: 0x4000, stack + PAGE: 0x3000})


def uw_2m():
    """The kernel's direct map: 0xffff888000000000 a 2 MiB page at 0 (PAT and NX set in its entry)."""
    mem = bytearray(5 * PAGE)
    uw_put(mem, 0x0000 + 8 * 0x111, 0x1000 | UW_P_RW)
    uw_put(mem, 0x1000, 0x2000 | UW_P_RW)
    uw_put(mem, 0x2000, 0 | UW_P_RW | UW_PS | 1 << 12 | UW_NX)
    base = 0xFFFF888000000000
    return mem, base, UwStack(mem, {base + a: a for a in range(0, 5 * PAGE, PAGE)})


def unwind_seeds():
    mem, s, st = uw_4k()
    st.frames([(s + 0xE10, UW_TEXT + 0x100), (s + 0xF00, UW_TEXT + 0x200), (s + 0xFF8, UW_TEXT + 0x300),
               (s + 0x1100, 0x00007F0000001234)])
    ops = [uw_op(UW_TRANSLATE, addr=s + 0x123), uw_op(UW_READ, length=32, addr=s + 0xFF0),
           uw_op(UW_UNWIND, 3), uw_op(UW_UNWIND_AT, 64, 0x40, s + 0xF00), uw_op(UW_TRANSLATE, addr=0x0000800000000000),
           uw_op(UW_READ, length=4200, addr=s + 0xFFF), uw_op(UW_TRANSLATE, addr=s + 0x2000),
           uw_op(UW_TRANSLATE | UW_CANON, addr=0x12347FFFFFFFF008), uw_op(UW_UNWIND_AT, 64, 0, s + 0xF04)]
    write("unwind", "4k-stack-across-pages", uw_input(UW_LONG, 0x0000 | 0x18, UW_TEXT, s + 0xE00, s + 0xE10, ops, mem))

    mem, b, st = uw_2m()
    st.frames([(b + 0x3F00, UW_TEXT + 0x10), (b + 0x3FF0, UW_TEXT + 0x20), (b + 0x4100, UW_TEXT + 0x30),
               (b + 0x4F00, UW_TEXT + 0x40)])
    ops = [uw_op(UW_TRANSLATE, addr=b + 0x4FFF), uw_op(UW_TRANSLATE, addr=b + 0x5000), uw_op(UW_UNWIND, 2),
           uw_op(UW_READ, length=16, addr=b + 0x4FF8), uw_op(UW_READ, length=16, addr=b + 0x4FF9),
           uw_op(UW_UNWIND_AT, 64, 0x10, b + 0x3FF0)]
    write("unwind", "2m-direct-map", uw_input(UW_LONG, 0x0000, UW_TEXT + 5, b + 0x3E00, b + 0x3F00, ops, mem))
    # the same tables with 5-level paging, then PAE paging outside long mode: not walked
    write("unwind", "la57", uw_input(UW_RAW, 0, UW_TEXT, b + 0x3E00, b + 0x3F00, ops, mem,
                                     raw=(0x80000011, 0x6A0 | 1 << 12, 0xD01)))
    write("unwind", "legacy-pae", uw_input(UW_RAW, 0, UW_TEXT, b + 0x3E00, b + 0x3F00, ops, mem,
                                           raw=(0x80000011, 0x6A0, 0)))
    # a loop of frames: A -> B -> C -> A
    st.frames([(b + 0x3F00, UW_TEXT + 0x10), (b + 0x3F80, UW_TEXT + 0x20), (b + 0x4000, UW_TEXT + 0x30)])
    st.put(b + 0x4000, b + 0x3F00)
    write("unwind", "frame-loop", uw_input(UW_LONG, 0, UW_TEXT, b + 0x3E00, b + 0x3F00, [uw_op(UW_UNWIND, 64)], mem))

    # a 1 GiB page: the kernel's text mapping at 0xffffffff80000000 over physical 0
    mem = bytearray(4 * PAGE)
    uw_put(mem, 0x0000 + 8 * 511, 0x1000 | UW_P_RW)
    uw_put(mem, 0x1000 + 8 * 510, 0 | UW_P_RW | UW_PS)
    k = 0xFFFFFFFF80000000
    st = UwStack(mem, {k + a: a for a in range(0, 4 * PAGE, PAGE)})
    st.frames([(k + 0x2F00, UW_TEXT + 0x1000), (k + 0x3000, UW_TEXT + 0x2000), (k + 0x3100, 0)])
    ops = [uw_op(UW_TRANSLATE, addr=k + 0x3FFF), uw_op(UW_TRANSLATE, addr=k + 0x4000),
           uw_op(UW_UNWIND_AT, 64, 0x100, k + 0x2F00)]
    write("unwind", "1g-page", uw_input(UW_LONG, 0x0000, UW_TEXT, k + 0x2E00, k + 0x2F00, ops, mem))

    # paging off: physical frames, memory of an odd size, reads near its end
    mem = bytearray(3 * PAGE - 4)
    st = UwStack(mem, {a: a for a in range(0, 3 * PAGE, PAGE)})
    st.frames([(0x1000, 0x100200), (0x1100, 0x100300), (0x2FE8, 0x100400)])
    ops = [uw_op(UW_READ | UW_NEAR, length=8, addr=3 * PAGE - 12), uw_op(UW_READ | UW_NEAR, length=8, addr=3 * PAGE - 11),
           uw_op(UW_TRANSLATE | UW_NEAR, addr=3 * PAGE - 5), uw_op(UW_UNWIND, 8)]
    write("unwind", "paging-off", uw_input(UW_OFF, 0, 0x100100, 0xF00, 0x1000, ops, mem))

    # hostile tables: CR3 at the last page of an odd-sized memory, entries out of memory, not present, cut short
    mem = bytearray(2 * PAGE + 0x7FC)
    uw_put(mem, 0x2000 + 8 * 0, 0x7FFFF000 | UW_P_RW)
    uw_put(mem, 0x2000 + 8 * 1, 0x1000 | 2)
    uw_put(mem, 0x2000 + 8 * 2, 0x2000 | UW_P_RW)
    mem[0x27F8:0x27FC] = struct.pack("<I", 0x2000 | UW_P_RW)  # PML4[255]: its first half, then memory ends
    ops = [uw_op(UW_TRANSLATE, addr=0), uw_op(UW_TRANSLATE, addr=1 << 39), uw_op(UW_TRANSLATE, addr=2 << 39),
           uw_op(UW_TRANSLATE, addr=(2 << 39) | (2 << 30) | (2 << 21) | (2 << 12)),
           uw_op(UW_TRANSLATE, addr=(2 << 39) | (0xFF << 30)), uw_op(UW_UNWIND_AT, 64, 0, (2 << 39) | 0x10)]
    write("unwind", "hostile-tables", uw_input(UW_LONG, 0x2000, UW_TEXT, 0, 0, ops, mem))


# ---- profile (fuzz_profile.c): a profile file as xenoprof/profile.h lays it out ----
XP_DOMAIN, XP_SYMBOL, XP_SAMPLE, XP_COUNTERS, XP_KVMSTAT, XP_NOTE, XP_DOMEND, XP_END = range(1, 9)
XP_GUEST, XP_HV, XP_IDLE, XP_BACKEND, XP_KVM = range(5)
XP_EXIT, XP_HCALL = 1, 2


def xp_detail(cls, n):
    return cls << 24 | n


def xp_pad(b):
    return b + bytes(-len(b) % 8)


def xp_rec(rtype, body):
    body = xp_pad(body)
    return struct.pack("<HHI", rtype, 0, 8 + len(body)) + body


def xp_header(host=b"seedhost", freq=997):
    return b"XENPROF\n" + struct.pack("<IIQII", 1, 64, 1700000000 * 10**9, freq, 0) + host.ljust(32, b"\0")


def xp_domain(dom, nr_vcpus, name, image, domid=1, kind=0):
    return xp_rec(XP_DOMAIN, struct.pack("<IIII", dom, domid, nr_vcpus, kind) + name.ljust(64, b"\0") +
                  image.ljust(256, b"\0"))


def xp_symbol(dom, addr, size, name):
    return xp_rec(XP_SYMBOL, struct.pack("<IIQQ", dom, 0, addr, size) + name + b"\0")


def xp_sample(dom, vcpu, where, ips, weight=1, detail=0, time_ns=1000):
    return xp_rec(XP_SAMPLE, struct.pack("<IHBBIIQ", dom, vcpu, where, len(ips), detail, weight, time_ns) +
                  b"".join(struct.pack("<Q", ip) for ip in ips))


def xp_counters(dom, vcpu, entries, guest_ns=0, idle_ns=0, lost=0):
    return xp_rec(XP_COUNTERS, struct.pack("<IHHQQQ", dom, vcpu, len(entries), guest_ns, idle_ns, lost) +
                  b"".join(struct.pack("<IIQQ", kind, 0, n, ns) for kind, n, ns in entries))


def xp_kvmstat(dom, vcpu, value, name):
    return xp_rec(XP_KVMSTAT, struct.pack("<IiQ", dom, vcpu, value) + name + b"\0")


def xp_note(dom, text, rtype=XP_NOTE):
    return xp_rec(rtype, struct.pack("<II", dom, 0) + text + b"\0")


def xp_end(records, duration_ns=2 * 10**9, lost=0):
    samples = sum(1 for r in records if struct.unpack_from("<H", r)[0] == XP_SAMPLE)
    return xp_rec(XP_END, struct.pack("<QQQ", duration_ns, samples, lost))


def xp_profile(records, **kw):
    return xp_header() + b"".join(records) + xp_end(records, **kw)


def profile_seeds():
    main, mid, leaf = 0x1000, 0x1100, 0x1200
    one = [xp_domain(0, 2, b"web", b"/images/web.elf"),
           xp_symbol(0, leaf, 0x100, b"leaf"), xp_symbol(0, main, 0x100, b"main"), xp_symbol(0, mid, 0x100, b"mid"),
           xp_sample(0, 0, XP_GUEST, [leaf + 0x10, mid + 0x50, main + 0x50], weight=60),
           xp_sample(0, 0, XP_GUEST, [mid + 0x60, main + 0x50], weight=30),
           xp_sample(0, 0, XP_GUEST, [main + 0x60], weight=10),
           xp_sample(0, 1, XP_HV, [main + 0x70], weight=20, detail=xp_detail(XP_EXIT, 2)),
           xp_sample(0, 1, XP_HV, [], weight=8, detail=xp_detail(XP_HCALL, 29)),
           xp_sample(0, 1, XP_IDLE, [], weight=12),
           xp_sample(0, 1, XP_GUEST, [0x5000, main + 0x90], weight=3),
           xp_note(0, b"backend thread 0: blk q0"),
           xp_sample(0, 0, XP_BACKEND, [0x7F0000001000, 0x7F0000002000], weight=15),
           xp_counters(0, 0, [(xp_detail(XP_EXIT, 2), 100, 2000000), (xp_detail(XP_HCALL, 29), 40, 1000000)],
                       guest_ns=1500000000, idle_ns=100000000, lost=1),
           xp_counters(0, 1, [(xp_detail(XP_EXIT, 6), 5, 4000000)]),
           xp_kvmstat(0, -1, 3, b"remote_tlb_flush"), xp_kvmstat(0, 0, 110, b"exits"),
           xp_note(0xFFFFFFFF, b"sampling by timer: perf events unavailable")]
    write("profile", "one-domain", xp_profile(one))
    two = one + [xp_domain(1, 1, b"db;x y", b"/boot/db kernel", domid=2, kind=1),
                 xp_symbol(1, 0x400000, 0x1000, b"do_query;v2 x"), xp_symbol(1, 0x402000, 0x1000, b"operator<&>\"'"),
                 xp_sample(1, 0, XP_GUEST, [0x400010], weight=7), xp_sample(1, 0, XP_GUEST, [0x402010], weight=4),
                 xp_symbol(1, 0xFFFFFFFF81000000, 0x1000, b"[k] vmx_vcpu_run"),
                 xp_sample(1, 0, XP_KVM, [0xFFFFFFFF81000010, 0xFFFFFFFF82000000], weight=2),
                 xp_note(1, b"db: shut down (poweroff)", XP_DOMEND)]
    write("profile", "two-domains", xp_profile(two))
    # recursion and an unknown record type (skipped)
    rec = [xp_domain(0, 1, b"r", b""), xp_symbol(0, 0x100, 0x100, b"recur"),
           xp_sample(0, 0, XP_GUEST, [0x110, 0x120, 0x130, 0x140], weight=5), xp_rec(99, b"future")]
    write("profile", "recursion-unknown-type", xp_profile(rec))
    whole = xp_profile(one)
    write("profile", "truncated", whole[:len(whole) - 20])
    write("profile", "no-end", xp_header() + b"".join(one))


# ---- xenhvm (fuzz_xenhvm.c) ----
XH_OPS = [17, 12, 24, 34, 32, 29, 20]  # xen_version, memory_op, vcpu_op, hvm_op, event_channel_op, sched_op, grant_table_op
XH_MEM = 16 * PAGE
XH_KMAP = 0xffffffff80000000


def xh_small(v):
    return struct.pack("<BB", 0, v)


def xh_direct(off):
    return struct.pack("<BH", 1, off)


def xh_kmap(off):
    return struct.pack("<BH", 2, off)


def xh_raw(v):
    return struct.pack("<BQ", 3, v)


def xh_call(op, a, b, c, vcpu=0):
    return struct.pack("<BBB", 1, vcpu, XH_OPS.index(op)) + a + b + c


def xh_write(off, data):
    return struct.pack("<BHB", 0, off, len(data)) + data


def xenhvm_seeds():
    arg = 0x8000  # a page above the page tables
    # Linux's boot: version, features, shared_info at frame 9, vcpu_info of vCPU 0 and 1, upcall vectors
    boot = xh_call(17, xh_small(0), xh_small(0), xh_small(0))
    boot += xh_write(arg, struct.pack("<II", 0, 0)) + xh_call(17, xh_small(6), xh_kmap(arg), xh_small(0))
    boot += xh_write(arg, struct.pack("<HHIQQ", 0x7FF0, 0, 0, 0, 9)) + xh_call(12, xh_small(7), xh_direct(arg), xh_small(0))
    for cpu in (0, 1):
        boot += xh_write(arg, struct.pack("<QII", 10, 0x100 + 64 * cpu, 0)) + xh_call(24, xh_small(10), xh_small(cpu), xh_kmap(arg))
        boot += xh_write(arg, struct.pack("<IB3x", cpu, 0xF3)) + xh_call(34, xh_small(23), xh_direct(arg), xh_small(0))
    write("xenhvm", "linux-boot", boot)
    # IPIs: bind one per vCPU, send, unmask, close; VIRQ_DEBUG on two vCPUs
    ipi = boot
    for cpu in (0, 1, 2):
        ipi += xh_write(arg, struct.pack("<II", cpu, 0)) + xh_call(32, xh_small(7), xh_direct(arg), xh_small(0))
    for cpu in (0, 1):
        ipi += xh_write(arg, struct.pack("<III", 1, cpu, 0)) + xh_call(32, xh_small(1), xh_kmap(arg), xh_small(0))
    ipi += xh_write(arg, struct.pack("<I", 3)) + xh_call(32, xh_small(4), xh_direct(arg), xh_small(0))
    ipi += xh_write(arg, struct.pack("<I", 4)) + xh_call(32, xh_small(9), xh_direct(arg), xh_small(0))
    ipi += xh_write(arg, struct.pack("<I", 3)) + xh_call(32, xh_small(3), xh_direct(arg), xh_small(0))
    write("xenhvm", "ipis", ipi)
    # a struct across a page boundary, params, the unserved, a non-canonical pointer
    odd = xh_write(arg + PAGE - 8, struct.pack("<HHIQ", 0x7FF0, 0, 1, 0)) + xh_call(34, xh_small(1), xh_direct(arg + PAGE - 8), xh_small(0))
    odd += xh_call(34, xh_small(9), xh_raw(0x0000800000000000), xh_small(0))
    odd += xh_call(20, xh_small(3), xh_direct(arg), xh_small(1))
    odd += xh_call(29, xh_small(3), xh_direct(arg), xh_small(0))
    odd += xh_call(17, xh_small(3), xh_kmap(XH_MEM - 100), xh_small(0))
    write("xenhvm", "odd", odd)


# ---- stream (fuzz_stream.c) ----
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def mig_record(rtype, body):
    pad = (8 - len(body) % 8) % 8
    return struct.pack("<IIII", rtype, len(body), crc32c(body), 0) + body + b"\0" * pad


def mig_stream(records, version=1):
    return b"XENITHMS" + struct.pack("<IIIIQ", version, 0x01020304, 32, 0, 0) + b"".join(records)


# ---- relocate (fuzz_relocate.c): records after DOMAIN and CONFIG, behind the target's own header ----
# The target's domain: 2 vCPUs, 4 MiB (1024 frames, a read-only bitmap of 16 words), one disk.
RELOC_FRAMES = 1024
EV_FREE, EV_RESERVED, EV_VIRQ, EV_CONSOLE, EV_UNBOUND, EV_BACKEND, EV_XENSTORE, EV_IPI = range(8)


def reloc_evtchn(extra=()):
    ports = {0: (EV_RESERVED, 0, 0, 0, 0), 1: (EV_CONSOLE, 0, 0, 0, 0), 2: (EV_XENSTORE, 0, 0, 0, 0)}
    virq = [0] * 8
    for port, kind, v, vcpu, remote in extra:
        ports[port] = (kind, v, vcpu, remote, 0)
        if kind == EV_VIRQ:
            virq[v] = port
    body = struct.pack("<I", 1024)
    for p in range(1024):
        kind, v, vcpu, remote, percpu = ports.get(p, (EV_FREE, 0, 0, 0, 0))
        body += struct.pack("<BBHHBB", kind, v, vcpu, remote, percpu, 0)
    return body + struct.pack("<I", 8) + b"".join(struct.pack("<i", x) for x in virq)


def relocate_seeds():
    ro = struct.pack("<Q", 16) + struct.pack("<Q", 0xff) + b"\0" * (15 * 8)
    pages = struct.pack("<II", 2, 0) + struct.pack("<QQ", 300, 301) + b"\x5a" * PAGE + b"\xa5" * PAGE
    ev = reloc_evtchn([(3, EV_VIRQ, 7, 0, 0), (4, EV_BACKEND, 0, 1, 0), (5, EV_UNBOUND, 0, 0, 0),
                       (6, EV_IPI, 0, 1, 0)])
    grant = struct.pack("<QI", 0, 0)
    timer = struct.pack("<I", 2) + struct.pack("<QQ", 10000000, 4000000) + struct.pack("<QQ", 0, 0)
    console = struct.pack("<I", 5) + b"half "
    end = mig_record(0, b"")
    tables = [mig_record(11, ro), mig_record(3, pages), mig_record(4, ev), mig_record(5, grant),
              mig_record(6, timer), mig_record(9, console)]
    write("relocate", "tables", b"".join(tables) + end)
    # a vCPU's record as a save writes it (the target has no KVM: refused at its first ioctl)
    vcpu = struct.pack("<IIQQQ", 1, 1, 0, 123456789, 1700000000000000000) + b"\0" * (144 + 312 + 64) + \
        struct.pack("<QI", 7, 1) + b"\0" * 4096 + struct.pack("<I", 0)
    write("relocate", "vcpu", mig_record(2, vcpu) + end)
    # the store as the xs_restore seeds have it (domain 1, the target's)
    xs = open(os.path.join(HERE, "corpus", "xs_restore", "seed-guest"), "rb").read()
    write("relocate", "xenstore", b"".join(tables) + mig_record(8, xs) + end)
    relocate_vif_seeds(ro, timer, console, xs, end)


# The target's vif (fuzz_relocate.c): two queues, this MAC; its record's format is hv/netdev.h's.
RELOC_VIF_MAC = bytes([0x00, 0x16, 0x3e, 0x0f, 0x00, 0x01])


def vif_record(state, queues):
    body = struct.pack("<HH", 1, len(queues)) + RELOC_VIF_MAC + struct.pack("<B", state) + struct.pack("<I", 0)
    for connected, flags, txe, rxe, txr, rxr, txc, rxc in queues:
        body += struct.pack("<BBIIIIIIII", connected, flags, txe, rxe, txr, rxr, txc, txc, rxc, rxc)
    name = b"vif0"
    return struct.pack("<I", len(name)) + name + body


def relocate_vif_seeds(ro, timer, console, xs, end):
    # A grant table at frame 1000 granting frames 1002..1005 (two queues' TX and RX rings, refs 8..11) to
    # domain 0, the rings as a frontend left them after 3 TX and 2 RX requests answered on queue 0.
    table = bytearray(PAGE)
    for i in range(4):
        struct.pack_into("<HHI", table, 8 * (8 + i), 1, 0, 1002 + i)  # flags GTF_permit_access, domid 0, frame
    rings = []
    for q, (tx, rx) in enumerate([(3, 2), (0, 0)]):
        t = bytearray(PAGE)
        struct.pack_into("<IIII", t, 0, tx, tx + 1, tx, tx + 1)  # req_prod, req_event, rsp_prod, rsp_event
        r = bytearray(PAGE)
        struct.pack_into("<IIII", r, 0, rx + 1, rx + 1, rx, rx + 1)  # one RX buffer posted past the last
        rings += [bytes(t), bytes(r)]
    frames = [1000, 1002, 1003, 1004, 1005]
    pages = struct.pack("<II", len(frames), 0) + b"".join(struct.pack("<Q", f) for f in frames) + \
        bytes(table) + b"".join(rings)
    ev = reloc_evtchn([(4, EV_BACKEND, 0, 0, 0), (7, EV_BACKEND, 0, 1, 0), (8, EV_BACKEND, 0, 0, 0)])
    grant = struct.pack("<QI", 1000 * PAGE, 1)
    head = [mig_record(11, ro), mig_record(3, pages), mig_record(4, ev), mig_record(5, grant),
            mig_record(6, timer), mig_record(9, console)]
    connected = vif_record(4, [(1, 0, 4, 4, 8, 9, 3, 2), (1, 0, 7, 8, 10, 11, 0, 0)])
    write("relocate", "vif-connected", b"".join(head) + mig_record(7, connected) + mig_record(8, xs) + end)
    waiting = vif_record(2, [(0, 0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0, 0)])
    write("relocate", "vif-waiting", b"".join(head) + mig_record(7, waiting) + end)


def stream_seeds():
    dom = struct.pack("<IIIIQQ", 1, 0, 2, 5, 16 * PAGE, 2000000) + b"web".ljust(64, b"\0")
    pages = struct.pack("<II", 2, 0) + struct.pack("<QQ", 3, 9) + b"\xa1" * PAGE + b"\xb2" * PAGE
    end = mig_record(0, b"")
    write("stream", "domain-pages", mig_stream([mig_record(1, dom), mig_record(3, pages), end]))
    write("stream", "optional-timer", mig_stream([mig_record(1, dom), mig_record(77 | 0x80000000, b"later"),
                                                  mig_record(6, b"timer"), end]))
    write("stream", "older-version", mig_stream([end], version=0))


if __name__ == "__main__":
    grant_seeds()
    blkif_seeds()
    netif_seeds()
    config_seeds()
    elf_seeds()
    text_seeds()
    console_seeds()
    control_seeds()
    bzimage_seeds()
    linuxpio_seeds()
    xenstore_seeds()
    xs_restore_seeds()
    hypercall_seeds()
    netstack_seeds()
    vif_seeds()
    switch_seeds()
    nvme_seeds()
    nic_vf_seeds()
    pcicfg_seeds()
    unwind_seeds()
    profile_seeds()
    xenhvm_seeds()
    stream_seeds()
    relocate_seeds()
