#!/usr/bin/python3
"""A hostile shared-memory member, written from docs/shared-memory.md alone (stdlib only).

It claims a session slot of a running jex-runtime's file, then breaks the ring's rules in one chosen
way, reports on stdout what the runtime answered, and finally behaves as asked (keeps heartbeating,
goes silent, exits without closing, or closes cleanly). The functional tests drive it; it never
uses the project's own ring code, so it also checks that the document is enough to write a peer.

usage: shm_hostile_peer.py PATH ACTION THEN [--bytes N] [--read-seconds S]
  ACTION  max-length | longer-than-ring | negative | garbage | oversized | bad-type | silent-claim | none
  THEN    hold | silent | exit | close

stdout lines: "CLAIMED <slot>", "WROTE <action>", "CLOSED code=<n> message=<text>" (if the runtime
sent SessionClosed in time), "READY <n>" at the end of the report; the process then behaves as THEN.
"""
import mmap
import os
import struct
import sys
import threading
import time

HEADER = 4096
SLOT_HEADER = 4096
RING0_CONTROL = 128
RING1_CONTROL = 512
TAIL, HEAD, CONSUMER_WAITING = 0, 128, 256
PADDING, WHOLE, FIRST, MIDDLE, LAST = 1, 2, 3, 4, 5


def now_ms():
    # CLOCK_MONOTONIC in milliseconds, the heartbeat clock of the document.
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000_000


def align8(n):
    return (n + 7) & ~7


class Peer:
    def __init__(self, path):
        self.path = path
        fd = os.open(path, os.O_RDWR)
        size = os.fstat(fd).st_size
        self.m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        os.close(fd)
        m = self.m
        if m[0:8] != b"JEXRING\0":
            raise SystemExit(f"{path}: bad magic")
        version, _, self.c0, self.c1, self.max_message, state = struct.unpack_from("<IIIIII", m, 8)
        if version != 2 or state != 1:
            raise SystemExit(f"{path}: layout version {version}, state {state}")
        self.slots = struct.unpack_from("<I", m, 40)[0]
        self.slot_size = struct.unpack_from("<Q", m, 48)[0]
        self.slot = None
        self.beating = True
        self.pid = os.getpid()

    def i32(self, off):
        return struct.unpack_from("<i", self.m, off)[0]

    def put_i32(self, off, v):
        struct.pack_into("<i", self.m, off, v)

    def i64(self, off):
        return struct.unpack_from("<q", self.m, off)[0]

    def put_i64(self, off, v):
        struct.pack_into("<q", self.m, off, v)

    def claim(self, attach=True):
        # The document's claim is a CAS of 0 -> pid; Python has no CAS on a mapping, so this is a
        # read-then-write. The tests start this peer alone and wait for CLAIMED before any other member.
        for k in range(self.slots):
            base = HEADER + k * self.slot_size
            if self.i32(base) == 0:
                self.put_i32(base, self.pid)
                self.base = base
                self.slot = k
                if attach:
                    self.put_i64(base + 8, now_ms())
                    self.put_i32(base + 4, 1)
                    threading.Thread(target=self.heartbeat, daemon=True).start()
                return k
        raise SystemExit("every slot is taken")

    def heartbeat(self):
        while True:
            time.sleep(0.25)
            if self.beating:
                self.put_i64(self.base + 8, now_ms())

    def fifo(self, ring, kind):
        return f"{self.path}.{self.slot}.r{ring}-{kind}"

    def ring(self, path):
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        try:
            os.write(fd, b"\x01")
        finally:
            os.close(fd)

    # ---- ring 0 (member -> runtime): this side is the producer ----
    def r0(self):
        return self.base + SLOT_HEADER

    def publish(self, position):
        control = self.base + RING0_CONTROL
        self.put_i64(control + TAIL, position)
        # The document's publisher clears the waiting flag by CAS before ringing; a plain store and an
        # unconditional ring only cost the runtime a spurious wake-up.
        self.put_i32(control + CONSUMER_WAITING, 0)
        self.ring(self.fifo(0, "data"))

    def raw_frame(self, index, length, ftype, payload=b""):
        data = self.r0()
        self.m[data + index + 8: data + index + 8 + len(payload)] = payload
        self.put_i32(data + index + 4, ftype)
        self.put_i32(data + index, length)  # the length last: it publishes the frame

    def write_message(self, payload, deadline):
        """Writes one message as the document's producer does (fragments of capacity/4 - 8), polling the head for space."""
        cap = self.c0
        chunk_max = cap // 4 - 8
        control = self.base + RING0_CONTROL
        chunks = [payload[i:i + chunk_max] for i in range(0, len(payload), chunk_max)] or [b""]
        position = getattr(self, "position", 0)
        for n, chunk in enumerate(chunks):
            ftype = WHOLE if len(chunks) == 1 else FIRST if n == 0 else LAST if n == len(chunks) - 1 else MIDDLE
            aligned = align8(8 + len(chunk))
            index = position & (cap - 1)
            to_end = cap - index
            need = aligned if aligned <= to_end else to_end + aligned
            while cap - (position - self.i64(control + HEAD)) < need:
                if time.monotonic() > deadline:
                    self.position = position
                    return False
                self.publish(position)
                time.sleep(0.002)
            if aligned > to_end:
                self.raw_frame(index, to_end, PADDING)
                position += to_end
                index = 0
            self.raw_frame(index, 8 + len(chunk), ftype, chunk)
            position += aligned
        self.position = position
        self.publish(position)
        return True

    # ---- ring 1 (runtime -> member): read what the runtime answered ----
    def read_closed(self, seconds):
        cap = self.c1
        data = self.base + SLOT_HEADER + self.c0
        position = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            index = position & (cap - 1)
            length = self.i32(data + index)
            if length == 0:
                time.sleep(0.01)
                continue
            ftype = self.i32(data + index + 4)
            if length < 8 or align8(length) > cap - index:
                print(f"BADFRAME length={length}", flush=True)
                return
            payload = bytes(self.m[data + index + 8: data + index + length])
            position += align8(length)
            if ftype == WHOLE and payload[:1] == b"\x42":  # RuntimeMessage field 8 (closed), length-delimited
                code, message = parse_closed(payload)
                print(f"CLOSED code={code} message={message}", flush=True)
                return
        print("NOCLOSED", flush=True)


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def parse_closed(payload):
    length, i = varint(payload, 1)
    body = payload[i:i + length]
    code, message, j = 0, "", 0
    while j < len(body):
        tag, j = varint(body, j)
        if tag == 0x08:
            code, j = varint(body, j)
        elif tag == 0x12:
            n, j = varint(body, j)
            message = body[j:j + n].decode("utf-8", "replace")
            j += n
        else:
            break
    return code, message.replace("\n", " ")


def main():
    args = sys.argv[1:]
    path, action, then = args[0], args[1], args[2]
    size = int(args[args.index("--bytes") + 1]) if "--bytes" in args else 20 << 20
    read_seconds = float(args[args.index("--read-seconds") + 1]) if "--read-seconds" in args else 5.0
    peer = Peer(path)
    slot = peer.claim(attach=action != "silent-claim")
    print(f"CLAIMED {slot}", flush=True)
    # Ring 1 is watched from the start: the runtime answers a violation at once, possibly while this
    # side is still blocked writing a large message into a ring the runtime stopped reading.
    reader = threading.Thread(target=peer.read_closed, args=(read_seconds + 15,), daemon=True)
    if action not in ("silent-claim", "none"):
        reader.start()

    if action == "max-length":
        peer.raw_frame(0, 0x7FFFFFFF, WHOLE, b"\x01" * 64)
    elif action == "longer-than-ring":
        peer.raw_frame(0, peer.c0 + 8, WHOLE, b"\x02" * 64)
    elif action == "negative":
        peer.raw_frame(0, -8, WHOLE, b"\x03" * 64)
    elif action == "bad-type":
        peer.raw_frame(0, 72, 77, b"\x04" * 64)
    elif action == "garbage":
        # A well-formed frame whose payload is not a MemberMessage.
        peer.write_message(b"\xff\xfe\xfd\xfc" * 16, time.monotonic() + 5)
    elif action == "oversized":
        # One well-framed message of --bytes bytes (a Batch field tag, then junk): never an Init.
        peer.write_message(b"\x1a" + b"\x00" * (size - 1), time.monotonic() + read_seconds)
    if action not in ("garbage", "oversized", "silent-claim", "none"):
        peer.publish(0)
    print(f"WROTE {action}", flush=True)
    if reader.is_alive():
        reader.join(read_seconds)
    print("REPORTED", flush=True)

    if then == "exit":
        os._exit(0)
    if then == "close":
        peer.beating = False
        peer.put_i32(peer.base + 4, 2)
        peer.ring(peer.fifo(0, "data"))
        peer.ring(peer.fifo(1, "space"))
        os._exit(0)
    if then == "silent":
        peer.beating = False
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
