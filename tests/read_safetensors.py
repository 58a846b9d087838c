#!/usr/bin/python3
"""Independent safetensors reader (json + struct only).
usage: read_safetensors.py FILE.safetensors OUT.json
writes {"metadata": {...}, "tensors": {name: {"dtype", "shape", "data": [...]}}}"""
import json, struct, sys

if len(sys.argv) != 3:
    sys.exit("usage: read_safetensors.py FILE.safetensors OUT.json")
raw = open(sys.argv[1], "rb").read()
if len(raw) < 8:
    sys.exit("%s: file shorter than the 8-byte header length" % sys.argv[1])
(hlen,) = struct.unpack("<Q", raw[:8])
if hlen > len(raw) - 8:
    sys.exit("%s: header length %d exceeds the file (%d bytes)" % (sys.argv[1], hlen, len(raw)))
header = json.loads(raw[8:8 + hlen].decode("utf-8"))
data = raw[8 + hlen:]
fmt = {"F32": ("<f", 4), "F16": ("<e", 2), "U8": ("B", 1), "I8": ("b", 1)}
out = {"metadata": header.pop("__metadata__", {}), "tensors": {}}
for name, t in header.items():
    if t["dtype"] not in fmt:
        sys.exit("%s: tensor %s: unsupported dtype %s" % (sys.argv[1], name, t["dtype"]))
    code, size = fmt[t["dtype"]]
    b, e = t["data_offsets"]
    if not 0 <= b <= e <= len(data) or (e - b) % size:
        sys.exit("%s: tensor %s: bad data_offsets %r" % (sys.argv[1], name, [b, e]))
    vals = [v[0] for v in struct.iter_unpack(code, data[b:e])]
    out["tensors"][name] = {"dtype": t["dtype"], "shape": t["shape"], "data": vals}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False)
