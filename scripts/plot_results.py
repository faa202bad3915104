#!/usr/bin/env python3
"""Result figures as PNG with numpy and shared/data/pngio.py only (no matplotlib).

    # PSNR vs fine-tune steps, one line per `n2sp eval --json --finetune-steps …` report
    python3 scripts/plot_results.py finetune OUT.png LABEL=report.json [LABEL=report.json …] [--anchor NAME=dB …]
    # before/after grid: rows of noisy | denoised | clean (from `n2sp eval --save-outputs DIR`)
    python3 scripts/plot_results.py grid OUT.png --noisy NOISY_PNG_DIR --denoised DIR --clean CLEAN_DIR NAME [NAME …]

Text uses a built-in 5x7 bitmap font (upper case, digits, a little punctuation).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
for candidate in (os.path.join(HERE, "..", "..", "shared", "data"), "/work/shared/data"):
    if os.path.exists(os.path.join(candidate, "pngio.py")):
        sys.path.insert(0, candidate)
        break
from pngio import read_png, write_png  # noqa: E402

# 5x7 glyphs: 7 rows of 5 bits each (MSB = left column).
FONT = {
    "0": [14, 17, 19, 21, 25, 17, 14], "1": [4, 12, 4, 4, 4, 4, 14], "2": [14, 17, 1, 2, 4, 8, 31],
    "3": [31, 2, 4, 2, 1, 17, 14], "4": [2, 6, 10, 18, 31, 2, 2], "5": [31, 16, 30, 1, 1, 17, 14],
    "6": [6, 8, 16, 30, 17, 17, 14], "7": [31, 1, 2, 4, 8, 8, 8], "8": [14, 17, 17, 14, 17, 17, 14],
    "9": [14, 17, 17, 15, 1, 2, 12],
    "A": [14, 17, 17, 31, 17, 17, 17], "B": [30, 17, 17, 30, 17, 17, 30], "C": [14, 17, 16, 16, 16, 17, 14],
    "D": [28, 18, 17, 17, 17, 18, 28], "E": [31, 16, 16, 30, 16, 16, 31], "F": [31, 16, 16, 30, 16, 16, 16],
    "G": [14, 17, 16, 23, 17, 17, 15], "H": [17, 17, 17, 31, 17, 17, 17], "I": [14, 4, 4, 4, 4, 4, 14],
    "J": [7, 2, 2, 2, 2, 18, 12], "K": [17, 18, 20, 24, 20, 18, 17], "L": [16, 16, 16, 16, 16, 16, 31],
    "M": [17, 27, 21, 21, 17, 17, 17], "N": [17, 17, 25, 21, 19, 17, 17], "O": [14, 17, 17, 17, 17, 17, 14],
    "P": [30, 17, 17, 30, 16, 16, 16], "Q": [14, 17, 17, 17, 21, 18, 13], "R": [30, 17, 17, 30, 20, 18, 17],
    "S": [15, 16, 16, 14, 1, 1, 30], "T": [31, 4, 4, 4, 4, 4, 4], "U": [17, 17, 17, 17, 17, 17, 14],
    "V": [17, 17, 17, 17, 17, 10, 4], "W": [17, 17, 17, 21, 21, 21, 10], "X": [17, 17, 10, 4, 10, 17, 17],
    "Y": [17, 17, 17, 10, 4, 4, 4], "Z": [31, 1, 2, 4, 8, 16, 31],
    " ": [0] * 7, ".": [0, 0, 0, 0, 0, 12, 12], "-": [0, 0, 0, 31, 0, 0, 0], "+": [0, 4, 4, 31, 4, 4, 0],
    "(": [2, 4, 8, 8, 8, 4, 2], ")": [8, 4, 2, 2, 2, 4, 8], ":": [0, 12, 12, 0, 12, 12, 0],
    "/": [1, 1, 2, 4, 8, 16, 16], "=": [0, 0, 31, 0, 31, 0, 0], ",": [0, 0, 0, 0, 12, 4, 8],
    "|": [4, 4, 4, 4, 4, 4, 4], "%": [24, 25, 2, 4, 8, 19, 3], "_": [0, 0, 0, 0, 0, 0, 31],
}


def text(img, x, y, s, color, scale=2):
    """Draws s with its top-left corner at (x, y); returns the width drawn."""
    cx = x
    for ch in s.upper():
        rows = FONT.get(ch, FONT[" "])
        for r, bits in enumerate(rows):
            for c in range(5):
                if bits & (1 << (4 - c)):
                    y0, x0 = y + r * scale, cx + c * scale
                    img[max(y0, 0):max(y0 + scale, 0), max(x0, 0):max(x0 + scale, 0)] = color
        cx += 6 * scale
    return cx - x


def text_width(s, scale=2):
    return len(s) * 6 * scale


def line(img, x0, y0, x1, y1, color, width=2):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    for t in np.linspace(0, 1, n):
        x, y = int(round(x0 + t * (x1 - x0))), int(round(y0 + t * (y1 - y0)))
        img[max(y - width // 2, 0):y + (width + 1) // 2, max(x - width // 2, 0):x + (width + 1) // 2] = color


def nice_ticks(lo, hi, count=6):
    span = hi - lo
    raw = span / count
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = np.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]


def finetune_plot(out, series, anchors, title):
    W, H = 900, 560
    L, R, T, B = 100, 230, 60, 80
    img = np.full((H, W, 3), 255, dtype=np.uint8)
    xs = [s for _, pts in series for s, _ in pts]
    ys = [p for _, pts in series for _, p in pts] + [v for _, v in anchors]
    x_lo, x_hi = 0, max(xs) if max(xs) > 0 else 1
    y_lo, y_hi = min(ys) - 0.1, max(ys) + 0.1
    px = lambda v: L + (v - x_lo) / (x_hi - x_lo) * (W - L - R)
    py = lambda v: H - B - (v - y_lo) / (y_hi - y_lo) * (H - T - B)
    grid, axis = (225, 225, 225), (0, 0, 0)
    for t in nice_ticks(y_lo, y_hi):
        line(img, L, py(t), W - R, py(t), grid, 1)
        label = f"{t:.2f}"
        text(img, L - 10 - text_width(label), int(py(t)) - 7, label, axis)
    for t in nice_ticks(x_lo, x_hi, 5):
        line(img, px(t), T, px(t), H - B, grid, 1)
        label = f"{t:g}"
        text(img, int(px(t)) - text_width(label) // 2, H - B + 10, label, axis)
    line(img, L, H - B, W - R, H - B, axis, 2)
    line(img, L, T, L, H - B, axis, 2)
    text(img, (L + W - R) // 2 - text_width("FINE-TUNE STEPS") // 2, H - B + 40, "FINE-TUNE STEPS", axis)
    text(img, 10, T - 22, "PSNR (DB)", axis)
    text(img, L, 8, title, axis)
    legend_y = T
    for k, (name, value) in enumerate(anchors):
        color = (120, 120, 120)
        for x in range(L, W - R, 12):
            line(img, x, py(value), min(x + 6, W - R), py(value), color, 1)
        text(img, W - R + 10, int(py(value)) - 7, f"{name} {value:.2f}", color)
    for k, (name, pts) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        pts = sorted(pts)
        for (a, pa), (b, pb) in zip(pts, pts[1:]):
            line(img, px(a), py(pa), px(b), py(pb), color, 3)
        for a, pa in pts:
            x, y = int(px(a)), int(py(pa))
            img[y - 4:y + 5, x - 4:x + 5] = color
        text(img, W - R + 10, H - B - 20 - 22 * k, name, color)
    write_png(out, img)


def load_gray(path_f32_or_png, shape=None):
    if path_f32_or_png.endswith(".f32"):
        return np.fromfile(path_f32_or_png, dtype="<f4").reshape(shape).astype(np.float64)
    return read_png(path_f32_or_png).astype(np.float64)


def grid_plot(out, noisy_dir, denoised_dir, clean_dir, names, crop=200):
    tiles = []
    header_h = 36
    for name in names:
        clean = load_gray(os.path.join(clean_dir, name + ".png"))
        # The shared/data layout: float32 (unclipped; its PSNR is the protocol's) when present, else the PNG.
        f32 = os.path.join(noisy_dir, "f32", name + ".f32")
        noisy = load_gray(f32, clean.shape) if os.path.exists(f32) else load_gray(os.path.join(noisy_dir, name + ".png"))
        den_png = os.path.join(denoised_dir, name + ".png")
        den = load_gray(den_png) if os.path.exists(den_png) else load_gray(os.path.join(denoised_dir, name + ".f32"), clean.shape)
        h, w = clean.shape
        t, l = (h - crop) // 2, (w - crop) // 2
        row = []
        for im in (noisy, den, clean):
            c = np.clip(np.floor(np.clip(im[t:t + crop, l:l + crop], 0, 255) + 0.5), 0, 255).astype(np.uint8)
            row.append(c)
        psnrs = [10 * np.log10(255 ** 2 / np.mean((im - clean) ** 2)) for im in (noisy, den)]
        tiles.append((name, row, psnrs))
    gap = 8
    W = 3 * crop + 4 * gap
    H = header_h + len(tiles) * (crop + 30 + gap) + gap
    img = np.full((H, W, 3), 255, dtype=np.uint8)
    for j, title in enumerate(("NOISY", "DENOISED", "CLEAN")):
        text(img, gap + j * (crop + gap) + crop // 2 - text_width(title) // 2, 10, title, (0, 0, 0))
    y = header_h
    for name, row, psnrs in tiles:
        for j, c in enumerate(row):
            x = gap + j * (crop + gap)
            img[y:y + crop, x:x + crop] = c[:, :, None]
        labels = [f"{name} {psnrs[0]:.2f} DB", f"{psnrs[1]:.2f} DB", "REFERENCE"]
        for j, lab in enumerate(labels):
            text(img, gap + j * (crop + gap), y + crop + 8, lab, (0, 0, 0))
        y += crop + 30 + gap
    write_png(out, img)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    kind, out, rest = argv[1], argv[2], argv[3:]
    if kind == "finetune":
        series, anchors, title = [], [], "BSD68 SIGMA 25: PSNR VS TRANSDUCTIVE FINE-TUNE STEPS"
        i = 0
        while i < len(rest):
            if rest[i] == "--anchor":
                name, value = rest[i + 1].rsplit("=", 1)
                anchors.append((name, float(value)))
                i += 2
            elif rest[i] == "--title":
                title = rest[i + 1]
                i += 2
            else:
                label, path = rest[i].split("=", 1)
                report = json.load(open(path))
                series.append((label, [(b["steps"], b["score"]["mean_psnr"]) for b in report["budgets"]]))
                i += 1
        finetune_plot(out, series, anchors, title)
    elif kind == "grid":
        opts, names, i = {}, [], 0
        while i < len(rest):
            if rest[i].startswith("--"):
                opts[rest[i][2:]] = rest[i + 1]
                i += 2
            else:
                names.append(rest[i])
                i += 1
        grid_plot(out, opts["noisy"], opts["denoised"], opts["clean"], names, int(opts.get("crop", 200)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
