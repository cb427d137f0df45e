#!/usr/bin/env python3
"""Writes the seed corpus of each harness (fuzz/corpus/<target>/seed-*): small programs that
reach every primitive's interesting paths, so a short CI run starts from deep states. The byte
formats are described at the top of each fuzz/<target>.cpp. Re-run after changing a format."""
import os, struct

here = os.path.dirname(os.path.abspath(__file__))

def write(target, name, data):
    d = os.path.join(here, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(bytes(data))

def steps(*pairs):
    return [b for p in pairs for b in p]

# ---- fuzz_model: 4 config bytes (sem value idx, bounded, cond kind, parties-1), (op, arg) pairs.
T0 = 2 << 2  # timeout index 2 (block, t = 0) in the argument's high bits for acquire steps
write('fuzz_model', 'locks', [0, 0, 0, 0] + steps(
    (0, T0 | 0), (4, 0), (2, 0), (5, 0),            # L: main acquires, helper blocks, release hands over
    (0, T0 | 1), (0, T0 | 1), (4, 1), (2, 1), (2, 1), (6, 1), (5, 1),  # R: recursion, handover
    (5, 1), (2, 0), (0, (6 << 2) | 0), (0, (5 << 2) | 0), (3, 0), (3, 0)))
write('fuzz_model', 'sem', [2, 1, 0, 0] + steps(
    (7, 2), (7, 2), (7, 5), (9, 0), (8, 0), (8, 0), (8, 0), (8, 0), (9, 1), (7, 6)))
write('fuzz_model', 'sem-max', [5, 0, 0, 0] + steps((8, 0), (7, 2), (8, 0), (8, 0)))
write('fuzz_model', 'event', [0, 0, 0, 0] + steps(
    (11, 3 | (5 << 2)), (12, 0), (10, 2), (11, 3), (12, 0), (10, 0), (11, 1), (11, 3 | (6 << 2))))
for kind in (0, 1, 2):
    write('fuzz_model', 'cond-%d' % kind, [0, 0, kind, 0] + steps(
        (13, 5), (4, 2), (4, 2), (16, 0), (0, T0 | 2), (15, 1), (2, 2),   # notify, then release
        (13, 5), (14, 0x45), (14, 0xc5), (15, 0x80), (16, 0), (0, T0 | 2), (15, 0), (15, 0x80), (3, 2),
        (5, 2), (5, 2)))
write('fuzz_model', 'barrier2', [0, 0, 0, 1] + steps(
    (18, 0), (17, 2 | 8), (18, 0), (17, 5 | 16), (19, 0), (18, 0), (19, 1), (17, 2), (19, 0)))
write('fuzz_model', 'barrier3', [0, 0, 0, 2] + steps((18, 0), (17, 4), (19, 0), (17, 2), (19, 1), (19, 0)))
write('fuzz_model', 'die', [0, 0, 0, 0] + steps((4, 1), (4, 1), (4, 2), (4, 0)) + [1])

# ---- fuzz_state: kind, the object's bytes, (op, arg) pairs; arg % 10 picks the timeout.
def state(name, kind, obj, ops):
    write('fuzz_state', name, [kind] + list(obj) + steps(*ops))
ops = [(0, 0), (0, 8), (1, 0), (1, 0), (0, 4), (2, 9), (0, 9), (1, 0)]
state('lock-zero', 0, b'\0' * 4, ops)
state('lock-waiters', 0, struct.pack('<I', 0x80000000 | 12345), ops)
state('rlock-zero', 1, b'\0' * 40, ops + [(0, 2), (1, 0), (1, 0)])
state('rlock-dead', 1, struct.pack('<II', 0xc0000000, 3) + b'\0' * 32, ops)
state('rlock-unlinked', 1, struct.pack('<III', 0x80000001, 1, 1) + b'\0' * 28, ops)
state('sem', 2, struct.pack('<II', 1, 3), [(0, 8), (0, 2), (1, 0), (1, 0), (1, 0), (0, 7)])
state('sem-waiters', 2, struct.pack('<II', 0x80000000, 0), [(0, 6), (1, 0), (0, 2)])
state('event', 3, struct.pack('<I', 6), [(2, 8), (0, 0), (2, 8), (1, 0), (3, 7)])
cond_ops = [(0, 2), (2, 6), (3, 0x86), (4, 3), (5, 0), (1, 0), (2, 8), (0, 9)]
state('cond-zero', 4, b'\0' * 128, cond_ops)
off = 64 - 0   # an external Lock at arena offset 64 (re-aimed by the harness anyway)
slot = struct.pack('<IIII', off, 0, off ^ 0x6d707363, 0)
cond = struct.pack('<IIII', 0, 0, 0, 1 << 16) + b'\0' * 8 + slot + b'\0' * 16
state('cond-lock', 4, cond + b'\0' * (128 - len(cond)), cond_ops)
cond = struct.pack('<IIII', 7, 3, 0x00020001, (2 << 16) | 1) + b'\0' * 8 + slot + b'\0' * 16
state('cond-rlock', 4, cond + b'\0' * (128 - len(cond)), cond_ops)
state('barrier', 5, struct.pack('<QII', 0, 2, 0), [(0, 6), (2, 0), (0, 0x46), (2, 1), (1, 8), (3, 0)])
state('barrier-full', 5, struct.pack('<QII', 3, 3, 0), [(0, 6), (2, 0), (0, 0x86)])

# ---- fuzz_schedule: config byte, then op bytes dealt round-robin (low nibble op, high nibble arg).
def sched(name, cfg, ops):
    write('fuzz_schedule', name, [cfg] + ops)
sched('locks', 0x01, [0x50, 0x50, 0x50, 0x2e, 0x3e, 0x1d, 0x01, 0x01, 0x01,
                      0x52, 0x52, 0x52, 0x52, 0x52, 0x52, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03])
sched('sem', 0x08, [0x54, 0x54, 0x54, 0x54, 0x2e, 0x2e, 0x05, 0x05, 0x54, 0x54])
sched('cond', 0x00, [0x59, 0x6a, 0x59, 0x0d, 0x59, 0x6a, 0x69, 0xca, 0x59, 0x1a, 0x59, 0xca])
sched('cond4', 0x02, [0x69, 0x69, 0x69, 0x0d, 0x6a, 0x0d, 0x0d, 0x0d, 0x2a, 0xca, 0xca, 0xca])
sched('barrier', 0x11, [0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x1c, 0x2c, 0x3c, 0x6b, 0x6b, 0x6b])
sched('barrier-fail', 0x12, [0x6b, 0xfb, 0x6b, 0x6b, 0x1c, 0x0c, 0x6b, 0x6b, 0x1c, 0x6b])
sched('event', 0x00, [0x58, 0x06, 0x58, 0x07, 0x58, 0x06, 0x68, 0x07])
sched('mixed', 0x1a, [0x50, 0x54, 0x59, 0x6b, 0x2e, 0x6a, 0x01, 0x05, 0x52, 0x58, 0x06, 0x03,
                      0x6b, 0x6a, 0x0d, 0x1c, 0x6b, 0x6b, 0x6a, 0x6a])

# ---- fuzz_capi: op bytes, each followed by its arguments (see step() in fuzz_capi.cpp).
def capi(name, data):
    write('fuzz_capi', name, data)
NAN = [0]; INF = [2]; ZERO = [4]; NEG = [6]; HUGE = [11]; MS = [9]
capi('lock', [1, 1, 0, 0, 0] + ZERO + [1, 1, 0, 0, 0] + MS + [2, 2, 22, 1, 0, 0, 0] + NAN +
     [1, 0, 0, 0, 0] + NAN + [22, 0xc1] + [1, 1, 0, 0, 0] + HUGE)
capi('rlock', [4, 1, 0, 0, 0] + ZERO + [4, 1, 0, 0, 0] + HUGE + [22, 5, 5, 5, 4, 1, 0, 0, 0] + NAN)
capi('sem', [6, 2, 8, 0, 0, 0, 0] + MS + [9, 9, 10, 7, 1, 9, 10] +
     [0x26, 0xfe, 0xff, 0xff, 0x7f, 9, 9, 10, 0x27, 0xff, 0xff, 0xff, 0xff])
capi('event', [11, 1, 12] + HUGE + [11, 2, 12] + MS + [12] + NAN + [22])
capi('cond', [14, 1, 0, 0, 0] + ZERO + [16] + MS + [0] + [17] + MS + [2] + [17] + MS + [0] +
     [18, 3, 0, 0, 0, 0x32, 15, 15, 16] + MS + [0] + [13, 0, 1, 1, 14, 1, 0, 0, 0] + ZERO +
     [16] + MS + [0, 15, 13, 0, 2, 2, 4, 1, 0, 0, 0] + ZERO + [16] + MS + [0, 5, 13, 0, 7, 1])
capi('barrier', [20] + ZERO + [0, 19, 2, 20] + MS + [1, 22, 0x35, 20] + ZERO + [2, 0x33, 0xff, 0xff, 0xff, 0xff, 20] + NEG + [0, 22])
capi('misc', [23, 0xff, 0xff, 0xff, 0xff, 23, 3, 0, 0, 0, 26, 5, 22 | 0xc0, 0xc1, 0xc2, 0xc4, 0xc5, 0xc8, 0xcb, 0xd0, 0xd3])
capi('region', [24, 6, 10, 64, 3, 200, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 200, 0, 0, 0, 0, 0, 0, 0, 0x80,
                10, 8, 4, 8, 7, 0, 100, 0, 0, 0, 0, 0, 0, 0, 25, 5, 10, 64, 4, 0x40, 0, 0, 0, 0, 0, 0, 0, 24, 7, 25, 8, 24, 0])
