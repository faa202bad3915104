#!/usr/bin/env python3
"""TensorFlow-CPU baseline for n2spd's benchmarks (never part of the product or CI).

Builds the Noise2Same U-Net from /work/shared/spec/reference-model.md (§1: pre-activation residual blocks,
2×2/2 convolution downsampling, transposed-convolution upsampling, concat [upsampled, skip], BN + ReLU head,
1×1 out_conv) with tf.compat.v1 layers under the same variable scopes as the reference checkpoints, restores
the network variables BY NAME from a TF checkpoint (e.g. one written by `n2sp export-checkpoint`), and times

  infer: the bare network (batch 1, normalised N×N input, inference-mode batch norm);
  train: one Noise2Same step (masked + unmasked training-mode passes, loss rec + 2·sqrt(inv), Adam 4e-4,
         moving-average updates), random batch of B P×P patches with a 0.5 % stratified mask.

Timing: one warm-up run, then the median of --repeat runs (time.perf_counter around session.run).
Prints one JSON object (median_seconds, seconds, peak_rss_bytes, …). With --compare-input/--compare-output
(raw float32 files from `n2sp bench --write-input/--write-output`) it also reports TF vs ours.
"""
import argparse
import json
import os
import resource
import statistics
import time

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
tf1.disable_eager_execution()

BN_MOMENTUM, BN_EPSILON = 0.997, 1e-5


class Config:
    def __init__(self, filters=96, channels=1, depth=3, encoding=(1, 1, 0), bottom=1, decoding=(1, 1)):
        self.filters, self.channels, self.depth = filters, channels, depth
        self.encoding, self.bottom, self.decoding = encoding, bottom, decoding

    def width(self, level):  # level 1 = full resolution
        return self.filters * 2 ** (level - 1)


def batch_norm(x, training, name):
    return tf1.layers.batch_normalization(x, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, center=True, scale=True,
                                          training=training, fused=True, name=name)


def conv(x, filters, kernel, name, stride=1, bias=False):
    return tf1.layers.conv2d(x, filters, kernel, strides=stride, padding="same", use_bias=bias,
                             kernel_initializer=tf1.glorot_uniform_initializer(), name=name)


def res_block(x, filters, training, scope):
    """Pre-activation block (§1.3): shortcut = x, or conv1×1(relu(bn1(x))) when the width changes."""
    with tf1.variable_scope(scope):
        h = tf.nn.relu(batch_norm(x, training, "batch_norm_1"))
        shortcut = x if x.shape[-1] == filters else conv(h, filters, 1, "projection_shortcut")
        h = conv(h, filters, 3, "convolution_1")
        h = tf.nn.relu(batch_norm(h, training, "batch_norm_2"))
        h = conv(h, filters, 3, "convolution_2")
        return shortcut + h


def network(x, cfg, training):
    """§1.4, variable scope main_unet; reuse for the second pass of a training step."""
    with tf1.variable_scope("main_unet", reuse=tf1.AUTO_REUSE):
        skips = []
        h = x
        for level in range(1, cfg.depth + 1):
            if level == 1:
                h = conv(x, cfg.width(1), 3, "first_convolution")
            else:
                with tf1.variable_scope("encoding_block_%d/downsampling" % level):
                    h = conv(h, cfg.width(level), 2, "convolution", stride=2, bias=True)
            for i in range(cfg.encoding[level - 1]):
                h = res_block(h, cfg.width(level), training, "encoding_block_%d/res_%d" % (level, i))
            if level < cfg.depth:
                skips.append(h)
        with tf1.variable_scope("bottom_block"):
            for i in range(cfg.bottom):
                h = res_block(h, cfg.width(cfg.depth), training, "block_%d" % i)
        for level in range(cfg.depth - 1, 0, -1):
            with tf1.variable_scope("decoding_block_%d/upsampling" % level):
                h = tf1.layers.conv2d_transpose(h, cfg.width(level), 2, strides=2, padding="same", use_bias=True,
                                                kernel_initializer=tf1.glorot_uniform_initializer(),
                                                name="transposed_convolution")
            h = tf.concat([h, skips[level - 1]], axis=-1)  # upsampled first, skip second
            for i in range(cfg.decoding[level - 1]):
                h = res_block(h, cfg.width(level), training, "decoding_block_%d/res_%d" % (level, i))
        h = tf.nn.relu(batch_norm(h, training, "unet_out"))
        return conv(h, cfg.channels, 1, "out_conv")


def restore(session, checkpoint):
    """Network variables (kernels, biases, BN γ/β/moving stats) by name; optimizer state stays fresh."""
    names = {n for n, _ in tf.train.list_variables(checkpoint)}
    model_vars = [v for v in tf1.global_variables() if v.op.name.startswith("main_unet/") and "/Adam" not in v.op.name]
    missing = [v.op.name for v in model_vars if v.op.name not in names]
    if missing:
        raise SystemExit("checkpoint %s lacks %s" % (checkpoint, missing[:5]))
    tf1.train.Saver(var_list=model_vars).restore(session, checkpoint)
    return len(model_vars)


def timed(run, repeat):
    """Wall times of `repeat` runs after one warm-up, and the process CPU seconds per timed run."""
    run()  # warm-up (oneDNN primitive creation, graph rewrites)
    times = []
    cpu0 = time.process_time()
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times, (time.process_time() - cpu0) / repeat


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def stratified_mask(rng, batch, side, channels, box=14):
    m = np.zeros((batch, side, side, channels), np.float32)
    for n in range(batch):
        for c in range(channels):
            for by in range(0, side, box):
                for bx in range(0, side, box):
                    y, x = by + int(rng.random() * box), bx + int(rng.random() * box)
                    if y < side and x < side:
                        m[n, y, x, c] = 1
    return m


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["infer", "train"])
    p.add_argument("--checkpoint", help="TF checkpoint prefix (network variables restored by name); default: Glorot init")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--filters", type=int, default=96)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--compare-input", help="raw float32 NHWC input written by n2sp bench --write-input")
    p.add_argument("--compare-output", help="raw float32 output written by n2sp bench --write-output")
    a = p.parse_args()
    cfg = Config(filters=a.filters, channels=a.channels)
    rng = np.random.default_rng(1)
    result = {"framework": "tensorflow-cpu " + tf.__version__, "mode": a.mode, "repeats": a.repeat,
              "intra_op_threads": tf1.ConfigProto().intra_op_parallelism_threads or os.cpu_count(),
              "loadavg_before": " ".join(open("/proc/loadavg").read().split()[:3])}
    with tf1.Session() as s:
        if a.mode == "infer":
            x = tf1.placeholder(tf.float32, [1, a.size, a.size, cfg.channels])
            y = network(x, cfg, training=False)
            s.run(tf1.global_variables_initializer())
            if a.checkpoint:
                result["restored_variables"] = restore(s, a.checkpoint)
            feed = {x: rng.uniform(-1, 1, (1, a.size, a.size, cfg.channels)).astype(np.float32)}
            times, cpu = timed(lambda: s.run(y, feed), a.repeat)
            result.update(size=a.size, flops=2 * 1106880 * a.size * a.size if cfg.filters == 96 else None)
            if a.compare_input and a.compare_output:
                inp = np.fromfile(a.compare_input, np.float32).reshape(1, a.size, a.size, cfg.channels)
                ours = np.fromfile(a.compare_output, np.float32).reshape(1, a.size, a.size, cfg.channels)
                theirs = s.run(y, {x: inp})
                result["compare_max_abs_over_max_ref"] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
        else:
            shape = [a.batch, a.patch, a.patch, cfg.channels]
            x = tf1.placeholder(tf.float32, shape)
            mask = tf1.placeholder(tf.float32, shape)
            noise = tf1.placeholder(tf.float32, shape)
            masked = (1 - mask) * x + mask * noise  # §3.3 gaussian replacement
            preds = network(masked, cfg, training=True)
            raw = network(x, cfg, training=True)
            rec = tf.reduce_mean(tf.square(raw - x))
            inv = tf.reduce_sum(mask * tf.square(raw - preds)) / tf.reduce_sum(mask)
            loss = rec + 2.0 * tf.sqrt(inv)
            with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
                step = tf1.train.AdamOptimizer(4e-4).minimize(loss)
            s.run(tf1.global_variables_initializer())
            if a.checkpoint:
                result["restored_variables"] = restore(s, a.checkpoint)
            feed = {x: rng.uniform(-1, 1, shape).astype(np.float32),
                    mask: stratified_mask(rng, a.batch, a.patch, cfg.channels),
                    noise: (0.2 * rng.standard_normal(shape)).astype(np.float32)}
            times, cpu = timed(lambda: s.run(step, feed), a.repeat)
            result.update(batch=a.batch, patch=a.patch)
    result.update(seconds=times, median_seconds=statistics.median(times), peak_rss_bytes=peak_rss(),
                  cpu_seconds_per_run=cpu,
                  loadavg_after=" ".join(open("/proc/loadavg").read().split()[:3]))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
