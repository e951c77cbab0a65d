"""IQ encode and decode-accumulate in plain NumPy, for `marina bench` (numpy.encode.*, numpy.decode.*).

The same operation as marina's IQ (SPEC B.3): r = float32(||a||_2), one bit per coordinate,
bit = [u_j < (a_j + r) / (2r)] with u_j uniform from NumPy's default generator (PCG64), packed
least-significant bit first; decoding adds +r for a 1 and -r for a 0 into a float64 sum, for n
payloads. Written the way a NumPy user would, vectorised, no Python loop over coordinates.
Usage: python3 iq_numpy.py D N RUNS; prints one JSON line of per-run seconds.
"""
import json
import sys
import time

import numpy as np


def encode(a, rng):
    r = float(np.float32(np.sqrt(np.dot(a, a))))
    u = rng.random(a.shape[0])
    bits = u < (a + r) * (1.0 / (2.0 * r))
    return r, np.packbits(bits, bitorder="little")


def decode_into(total, r, packed):
    bits = np.unpackbits(packed, count=total.shape[0], bitorder="little")
    total += np.where(bits, r, -r)


def main():
    d, n, runs = int(float(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(1)
    a = rng.standard_normal(d)
    encode(a, rng)  # warm-up
    enc = []
    for _ in range(runs):
        t0 = time.perf_counter()
        encode(a, rng)
        enc.append(time.perf_counter() - t0)
    payloads = [encode(a, np.random.default_rng(100 + i)) for i in range(n)]
    total = np.zeros(d)
    for r, p in payloads:  # warm-up
        decode_into(total, r, p)
    dec = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for r, p in payloads:
            decode_into(total, r, p)
        dec.append(time.perf_counter() - t0)
    print(json.dumps({"numpy": np.__version__, "encode": enc, "decode": dec}))


if __name__ == "__main__":
    main()
