#!/usr/bin/env python3
"""Independent SSIM reference (numpy only) for Tests/DenoiserTests/EvaluationQualityTests.swift.

Wang et al. 2004 / MATLAB ssim_index / skimage structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255): 11x11 Gaussian window (sigma 1.5, normalised), K1 0.01, K2 0.03,
mean over the windows fully inside the image. Written with an explicit 2-D window sum (no separable filter),
so it does not share the Swift implementation's structure.

    python3 scripts/ssim_reference.py NOISY.f32 H W CLEAN.png TOP LEFT HEIGHT WIDTH
"""
import sys
import numpy as np

sys.path.insert(0, "/work/shared/data")
from pngio import read_png  # noqa: E402


def ssim(x, y, data_range=255.0):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    r = np.arange(-5, 6)
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    h, w = x.shape
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i in range(h - 10):
        for j in range(w - 10):
            a = x[i:i + 11, j:j + 11]
            b = y[i:i + 11, j:j + 11]
            mx, my = (g * a).sum(), (g * b).sum()
            vx = (g * (a - mx) ** 2).sum()
            vy = (g * (b - my) ** 2).sum()
            cov = (g * (a - mx) * (b - my)).sum()
            vals.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


if __name__ == "__main__":
    f32, H, W, png, top, left, hh, ww = sys.argv[1:9]
    noisy = np.fromfile(f32, dtype="<f4").reshape(int(H), int(W))
    clean = read_png(png).astype(np.float64)
    t, l, hh, ww = int(top), int(left), int(hh), int(ww)
    print(repr(ssim(noisy[t:t + hh, l:l + ww], clean[t:t + hh, l:l + ww])))
    print(repr(ssim(clean[t:t + hh, l:l + ww], clean[t:t + hh, l:l + ww])))
