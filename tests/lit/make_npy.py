"""Writes and prints small .npy files for the lit tests, without numpy.

  make_npy.py write OUT f4|i4 SHAPE VALUES    SHAPE like 2x3 (or 'scalar'),
                                             VALUES 'ramp', 'ones' or a,b,c
  make_npy.py bad OUT fortran|dtype|truncated|magic|header
  make_npy.py print FILE                     prints the shape and values
"""
import struct
import sys


def header(descr, shape, fortran=False):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    text = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False", dims)
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def write(out, dtype, shape_text, values_text):
    shape = [] if shape_text == "scalar" else [int(d) for d in shape_text.split("x")]
    n = count(shape)
    if values_text == "ramp":
        # Small distinct values in [-1, 1], deterministic.
        values = [((k * 37) % 101) / 50.0 - 1.0 for k in range(n)]
    elif values_text == "ones":
        values = [1.0] * n
    else:
        values = [float(x) for x in values_text.split(",")]
        assert len(values) == n, "need %d values" % n
    fmt = "<%d%s" % (n, "f" if dtype == "f4" else "i")
    data = struct.pack(fmt, *[(v if dtype == "f4" else int(v)) for v in values])
    with open(out, "wb") as f:
        f.write(header("<" + dtype, shape) + data)


def bad(out, kind):
    data = struct.pack("<4f", 1, 2, 3, 4)
    if kind == "fortran":
        blob = header("<f4", [2, 2], fortran=True) + data
    elif kind == "dtype":
        blob = header("<f8", [2, 2]) + data + data
    elif kind == "truncated":
        blob = header("<f4", [2, 2]) + data[:10]
    elif kind == "magic":
        blob = b"NOTNUMPY" + data
    else:  # header
        blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", 12) + b"{'descr': <f"
    with open(out, "wb") as f:
        f.write(blob)


def show(path):
    blob = open(path, "rb").read()
    hlen = struct.unpack("<H", blob[8:10])[0]
    head = blob[10:10 + hlen].decode()
    shape = head[head.index("(") + 1:head.index(")")]
    dims = [int(d) for d in shape.replace(",", " ").split()]
    n = count(dims)
    values = struct.unpack("<%df" % n, blob[10 + hlen:10 + hlen + 4 * n])
    print("shape", "x".join(str(d) for d in dims))
    print("values", " ".join("%.5f" % v for v in values))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "write":
        write(*sys.argv[2:6])
    elif cmd == "bad":
        bad(*sys.argv[2:4])
    else:
        show(sys.argv[2])
