#!/usr/bin/env python3
"""explain_page.py - `attntag explain`'s page as a browser shows it: headless
Chromium (Debian's chromium) loads the page the bundled model draws for one
sentence, and
  - its DOM, once parsed, holds one heat map per layer and head, and the
    table of tags, with no script in it;
  - its screenshot is neither blank nor broken: mostly white paper, and the
    heat maps' blues in many shades (the weights), where a page that failed
    to render its SVG would show one or two colours.
Skipped, saying so, where Chromium is not installed. Part of `make check`.

usage: tests/explain_page.py [ATTNTAG]      (from the repository root)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

SENTENCE = b"The committee approved the plan because it was cheap .\n"


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "./attntag")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("explain page: skipped: Chromium is not installed (apt-get install chromium)")
        return 0
    repo = os.getcwd()
    model = os.path.join(repo, "models", "en-ewt.safetensors")
    scratch = tempfile.mkdtemp(prefix="attntag-explain-")
    try:
        page = os.path.join(scratch, "page.html")
        r = subprocess.run([binary, "explain", "-m", model, "-o", page], input=SENTENCE,
                           capture_output=True)
        assert r.returncode == 0, r.stderr
        info = subprocess.run([binary, "info", model], capture_output=True, text=True).stdout
        cfg = json.loads(info.split("config: ", 1)[1].split("\nfigure: ")[0])
        want_maps = cfg["layers"] * cfg["heads"]
        flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--user-data-dir=" + os.path.join(scratch, "profile")]
        dom = subprocess.run(flags + ["--dump-dom", "file://" + page], capture_output=True,
                             text=True, timeout=120).stdout
        maps = dom.count('class="heatmap"')
        assert maps == want_maps, f"the DOM holds {maps} heat maps, expected {want_maps}"
        assert dom.count("<tr>") == SENTENCE.count(b" ") + 1 + 1, "the table of tags"
        assert "<script" not in dom
        shot = os.path.join(scratch, "page.png")
        subprocess.run(flags + ["--screenshot=" + shot, "--window-size=1400,2600",
                                "--hide-scrollbars", "file://" + page],
                       capture_output=True, timeout=120)
        assert os.path.getsize(shot) > 0, "no screenshot"
        width, height, rows = png_pixels(shot)
        pixels = [p for row in rows[::2] for p in row[::2]]
        white = sum(1 for p in pixels if min(p) >= 250) / len(pixels)
        blues = {p for p in pixels if p[2] > p[0] + 25 and p[2] > 90}
        blue_share = sum(1 for p in pixels if p[2] > p[0] + 25 and p[2] > 90) / len(pixels)
        assert white > 0.5, f"only {white:.0%} of the page is white paper"
        assert blue_share > 0.02, f"heat maps cover {blue_share:.1%} of the page"
        assert len(blues) > 40, f"the heat maps have {len(blues)} shades of blue"
        print(f"explain page: {maps} heat maps in Chromium's DOM; screenshot {width}x{height}: "
              f"{white:.0%} white, {blue_share:.1%} blue in {len(blues)} shades")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
