#!/usr/bin/env python3
"""What an expert who joined through caasd's join bridge received, against what the camera sent.

usage: rtp_splice.py CAMERA.pcap EXPERT.pcap OUT.h264

Both captures hold the RTP of one H.264 stream (UDP over IPv4, Ethernet or Linux "any"
captures). Prints one JSON object:
  packets          RTP packets the expert got
  ssrcs            distinct SSRCs among them (one: the splice is invisible)
  seq_gaps         sequence steps other than +1 (0: continuous numbering)
  ts_backwards     timestamps that went back up to the first camera packet (after it, the
                   camera's own order, B-frames and all)
  bridge_packets   packets before the first one whose payload is the camera's
  spliced_at_kf    whether that first camera packet starts a keyframe's access unit (SPS, PPS,
                   or an IDR slice, alone or first in a STAP-A)
  camera_after     packets from the splice on
  identical_after  of those, how many carry the camera's payload, in the camera's order
And writes the expert's stream, depacketized (single NAL, STAP-A, FU-A), as Annex-B to OUT.h264
for a decoder to check.
"""
import json
import struct
import sys


def packets(path):
    """(udp payload) of every UDP/IPv4 packet in a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet
            eth = 14
            etype = struct.unpack("!H", frame[12:14])[0]
        elif linktype == 113:  # Linux cooked (tcpdump -i any)
            eth = 16
            etype = struct.unpack("!H", frame[14:16])[0]
        elif linktype == 276:  # Linux cooked v2
            eth = 20
            etype = struct.unpack("!H", frame[0:2])[0]
        else:
            raise SystemExit("unknown link type %d" % linktype)
        if etype != 0x0800:
            continue
        ip = frame[eth:]
        if len(ip) < 20 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        yield ip[ihl + 8:]


def rtp(buf):
    """(seq, ts, ssrc, marker, payload), or None for what is not RTP version 2."""
    if len(buf) < 12 or buf[0] >> 6 != 2 or 200 <= buf[1] <= 206:
        return None
    cc = buf[0] & 0x0F
    hl = 12 + 4 * cc
    if buf[0] & 0x10:
        ext_len = struct.unpack("!H", buf[hl + 2:hl + 4])[0]
        hl += 4 + 4 * ext_len
    end = len(buf) - (buf[-1] if buf[0] & 0x20 else 0)
    seq, ts, ssrc = struct.unpack("!HII", buf[2:12])
    return seq, ts, ssrc, bool(buf[1] & 0x80), bytes(buf[hl:end])


def starts_keyframe(payload):
    t = payload[0] & 0x1F
    if t == 24 and len(payload) > 3:  # STAP-A: its first NAL unit
        t = payload[3] & 0x1F
    if t == 28 and len(payload) > 1:  # FU-A: the start of an IDR slice
        return (payload[1] & 0x80) != 0 and (payload[1] & 0x1F) == 5
    return t in (5, 7, 8)


def annexb(payloads):
    out = bytearray()
    for p in payloads:
        t = p[0] & 0x1F
        if 1 <= t <= 23:
            out += b"\0\0\0\1" + p
        elif t == 24:
            i = 1
            while i + 2 <= len(p):
                n = struct.unpack("!H", p[i:i + 2])[0]
                out += b"\0\0\0\1" + p[i + 2:i + 2 + n]
                i += 2 + n
        elif t == 28 and len(p) > 2:
            if p[1] & 0x80:
                out += b"\0\0\0\1" + bytes([(p[0] & 0xE0) | (p[1] & 0x1F)])
            out += p[2:]
    return bytes(out)


def main():
    cam = [r for r in (rtp(b) for b in packets(sys.argv[1])) if r]
    exp = [r for r in (rtp(b) for b in packets(sys.argv[2])) if r]
    cam_index = {}
    for i, r in enumerate(cam):
        cam_index.setdefault(r[4], i)
    first = next((i for i, r in enumerate(exp) if r[4] in cam_index), None)
    identical = 0
    if first is not None:
        j = cam_index[exp[first][4]]
        for r in exp[first:]:
            if j < len(cam) and r[4] == cam[j][4]:
                identical += 1
            j += 1
    seq_gaps = sum(1 for a, b in zip(exp, exp[1:]) if (b[0] - a[0]) & 0xFFFF != 1)
    upto = exp[:first + 1] if first is not None else exp
    ts_back = sum(1 for a, b in zip(upto, upto[1:]) if 0x80000000 < (b[1] - a[1]) & 0xFFFFFFFF)
    with open(sys.argv[3], "wb") as f:
        f.write(annexb(r[4] for r in exp))
    print(json.dumps({
        "packets": len(exp),
        "camera_packets": len(cam),
        "ssrcs": len({r[2] for r in exp}),
        "seq_gaps": seq_gaps,
        "ts_backwards": ts_back,
        "bridge_packets": first if first is not None else len(exp),
        "spliced_at_kf": first is not None and starts_keyframe(exp[first][4]),
        "camera_after": len(exp) - first if first is not None else 0,
        "identical_after": identical,
    }))


if __name__ == "__main__":
    main()
