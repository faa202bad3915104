#!/usr/bin/env python3
"""Driver of scripts/bench-daemon.sh (read that file for the options). Python stdlib + numpy only.

What it measures, per daemon run (each run has its own inbox/outbox/state in a fresh temp folder):
  * start-up: exec → READY=1 on a fake $NOTIFY_SOCKET (the way systemd sees readiness);
  * the first image after start (engine workspace, cold pages), timed apart from the rows;
  * latency: one image at a time, drop → output visible in the outbox (inotify on the outbox; the daemon
    links the finished file in under its final name, so IN_CREATE of that name is the moment a consumer can
    see it) and drop → input moved to done/. Two ways to drop:
      - "renamed": written to a staging folder on the same file system, then rename(2)d into the inbox, as
        uploaders are told to. The daemon takes a renamed-in file at once: settle_time does not apply.
      - "in place": written and closed directly in the inbox. The daemon waits until the file kept its size
        and mtime for settle_time, so this path costs settle_time on top of the processing.
  * throughput: a burst of BURST PNGs renamed in at once; files/minute from the first rename to the last
    output; every input must come out exactly once (outbox names, done/, failed/, processing area, ledger),
    and a few outputs must beat their noisy input in PSNR against the clean BSD68 image;
  * peak RSS (VmHWM) and CPU seconds (utime+stime) of the daemon after each phase, and the rusage of the
    reaped process (ru_maxrss is the whole life's peak); SIGTERM must give exit status 0.
Model-level numbers: `n2sp bench` (inference 256², 512², 4096² tiled through the predict path; one
training step) under /usr/bin/time -v for the peak RSS.
"""

import argparse
import ctypes
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import numpy as np

CLK_TCK = os.sysconf("SC_CLK_TCK")


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def percentile(values, q):
    """Linear-interpolation percentile (numpy's default), q in [0, 100]."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


def summarize(values):
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": statistics.median(values), "p90": percentile(values, 90),
            "min": min(values), "max": max(values)}


# ---------------------------------------------------------------------------------------------- inotify

class DirectoryWatch:
    """inotify (through libc) on one folder: names created or moved in, with their arrival time."""
    IN_CREATE, IN_MOVED_TO, IN_NONBLOCK, IN_CLOEXEC = 0x100, 0x80, 0o4000, 0o2000000

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, os.fsencode(path), self.IN_CREATE | self.IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        self.path = path
        self.seen = {}  # name → monotonic time of its first event

    def _drain(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return
        now = time.monotonic()
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        offset = 0
        while offset < len(data):
            _, _, _, length = struct.unpack_from("iIII", data, offset)
            name = data[offset + 16:offset + 16 + length].rstrip(b"\0").decode()
            offset += 16 + length
            if not name.startswith("."):
                self.seen.setdefault(name, now)

    def wait_for(self, names, timeout):
        """Returns {name: arrival time} once every name has arrived (or raises after timeout)."""
        names = set(names)
        deadline = time.monotonic() + timeout
        while not names <= self.seen.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                missing = sorted(names - self.seen.keys())
                raise TimeoutError(f"{len(missing)} name(s) never appeared in {self.path}: {missing[:5]}")
            self._drain(min(left, 0.5))
        return {n: self.seen[n] for n in names}

    def close(self):
        os.close(self.fd)


# ---------------------------------------------------------------------------------------------- images

def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png_gray16(path, array16):
    h, w = array16.shape
    raw = b"".join(b"\0" + array16[y].astype(">u2").tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0))
                + png_chunk(b"IDAT", zlib.compress(raw, 6)) + png_chunk(b"IEND", b""))


def image_header(path):
    """(format, width, height, bit depth, channels) read from a PNG's IHDR or a JPEG's SOF marker."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
        return ("png", w, h, depth, {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}[colour])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                depth, h, w, comps = struct.unpack(">BHHB", data[i + 4:i + 10])
                return ("jpeg", w, h, depth, comps)
            i += 2 + length
    raise ValueError(f"{path}: neither PNG nor JPEG")


def prepare_sources(shared, folder):
    """The latency images: {kind: (path, description)} (kinds that cannot be made here are skipped)."""
    sys.path.insert(0, os.path.join(shared, "data"))
    import pngio  # the shared benchmark data's own reader (numpy + stdlib)

    set12 = os.path.join(shared, "data/set12-noisy25/png")
    bsd68 = os.path.join(shared, "data/bsd68-noisy25/png")
    bsd_name = next(n for n in sorted(os.listdir(bsd68)) if image_header(os.path.join(bsd68, n))[1:3] == (481, 321))
    kinds = {
        "png8-256": (os.path.join(set12, "01.png"), "Set12 01, 256×256 8-bit gray PNG"),
        "png8-481x321": (os.path.join(bsd68, bsd_name), f"BSD68 {bsd_name}, 481×321 8-bit gray PNG"),
        "png8-512": (os.path.join(set12, "08.png"), "Set12 08, 512×512 8-bit gray PNG"),
    }
    png16 = os.path.join(folder, "set12-01-16bit.png")
    write_png_gray16(png16, pngio.read_png(os.path.join(set12, "01.png")).astype(np.uint16) * 257)
    kinds["png16-256"] = (png16, "Set12 01 ×257, 256×256 16-bit gray PNG")
    if shutil.which("cjpeg"):
        gray = pngio.read_png(kinds["png8-481x321"][0])
        pgm = os.path.join(folder, "bsd.pgm")
        with open(pgm, "wb") as f:
            f.write(b"P5 %d %d 255\n" % (gray.shape[1], gray.shape[0]) + gray.tobytes())
        jpg = os.path.join(folder, "bsd.jpg")
        subprocess.run(["cjpeg", "-quality", "90", "-outfile", jpg, pgm], check=True)
        kinds["jpeg-481x321"] = (jpg, f"BSD68 {bsd_name} as JPEG q90 (cjpeg), 481×321 gray")
    else:
        print("note: cjpeg not found, the JPEG latency row is skipped", file=sys.stderr)
    burst = [os.path.join(bsd68, n) for n in sorted(os.listdir(bsd68)) if n.endswith(".png")]
    return kinds, burst


# ---------------------------------------------------------------------------------------------- daemon

def proc_snapshot(pid):
    """VmHWM / VmRSS (bytes) and CPU seconds (utime + stime) of a live process."""
    result = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                parts = value.split()
                result[key] = int(parts[0]) * 1024 if key != "Threads" else int(parts[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5) are utime and stime; after the ")" split, field 3 is at index 0.
    result["cpu_seconds"] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    result["loadavg"] = loadavg()
    return result


class Daemon:
    """One n2spd process on its own folders, with a fake systemd notify socket."""

    def __init__(self, args, root, label, settle, finetune, ft_steps=30, ft_every=200):
        self.args = args
        self.root = os.path.join(root, label)
        self.label = label
        for sub in ("inbox", "outbox", "state", "staging", "done", "failed"):
            os.makedirs(os.path.join(self.root, sub))
        self.inbox, self.outbox = self.path("inbox"), self.path("outbox")
        self.done, self.failed, self.staging = self.path("done"), self.path("failed"), self.path("staging")
        self.state = self.path("state")
        self.config = self.path("n2spd.toml")
        with open(self.config, "w") as f:
            f.write(f"""# written by scripts/bench_daemon.py ({label})
state_directory = "{self.state}"
model = "{os.path.abspath(args.model)}"
worker_threads = {args.workers}
settle_time = {settle}
rescan_interval = "60s"
log_level = "info"

[[inbox]]
name = "bench"
path = "{self.inbox}"
outbox = "{self.outbox}"
done = "{self.done}"
failed = "{self.failed}"
train = {"true" if finetune else "false"}

[fine_tune]
enabled = {"true" if finetune else "false"}
every_images = {ft_every}
every_hours = 0
step_budget = {ft_steps}
""")
        self.log_path = self.path("daemon.log")
        self.process = None
        self.messages = []

    def path(self, name):
        return os.path.join(self.root, name)

    def start(self, timeout=120):
        sock_path = self.path("notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(sock_path)
        # Like systemd, keep reading for the daemon's whole life: n2spd's sendto blocks once the socket's
        # queue (net.unix.max_dgram_qlen, 10 by default) is full, and a fake systemd that only waited for
        # READY=1 would freeze the daemon's main loop after a dozen STATUS= updates.
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read_notifications, daemon=True)
        self.reader.start()
        env = dict(os.environ)
        env.pop("WATCHDOG_USEC", None)
        env["NOTIFY_SOCKET"] = sock_path
        env["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "Haswell")
        self.log = open(self.log_path, "wb")
        started = time.monotonic()
        self.process = subprocess.Popen([self.args.n2spd, "--config", self.config], env=env,
                                        stdout=self.log, stderr=self.log)
        deadline = started + timeout
        while not self.ready.wait(0.1):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.label}: no READY=1 (exit {self.process.poll()}); log:\n{self.tail()}")
        self.startup_seconds = self.ready_time - started
        return self.startup_seconds

    def _read_notifications(self):
        while True:
            try:
                message = self.sock.recv(4096).decode(errors="replace")
            except OSError:
                return  # closed by stop()
            if not message:
                return  # shut down by stop()
            now = time.monotonic()
            self.messages.append((now, message))
            if not self.ready.is_set() and "READY=1" in message.split("\n"):
                self.ready_time = now
                self.ready.set()

    def snapshot(self):
        return proc_snapshot(self.process.pid)

    def status(self):
        try:
            with open(os.path.join(self.state, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stop(self, timeout=60):
        """SIGTERM; returns (exit status, rusage of the whole process life)."""
        t0 = time.monotonic()
        os.kill(self.process.pid, signal.SIGTERM)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(self.process.pid, 0)
                break
            time.sleep(0.02)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.stop_seconds = time.monotonic() - t0
        self.log.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(2)
        return self.process.returncode, {"ru_maxrss_bytes": usage.ru_maxrss * 1024,
                                         "cpu_seconds": usage.ru_utime + usage.ru_stime}

    def tail(self, n=3000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def processing_times(self):
        """The daemon's own per-image seconds from its log: `name → output (model V, 0.06 s)`."""
        times = {}
        with open(self.log_path, errors="replace") as f:
            for line in f:
                m = re.search(r"bench: (.+?) → .+ \(model \S+, ([\d.]+) s\)$", line.strip())
                if m:
                    times[m.group(1)] = float(m.group(2))
        return times


def output_name(name):
    stem, ext = os.path.splitext(name)
    return stem + (".jpg" if ext.lower() in (".jpg", ".jpeg") else ext)


def drop_renamed(daemon, source, name):
    staged = os.path.join(daemon.staging, name)
    shutil.copyfile(source, staged)
    t0 = time.monotonic()
    os.rename(staged, os.path.join(daemon.inbox, name))
    return t0


def drop_in_place(daemon, source, name):
    with open(source, "rb") as f:
        data = f.read()
    with open(os.path.join(daemon.inbox, name), "wb") as f:
        f.write(data)
    # The settle clock starts at the last change the daemon sees, i.e. at the close.
    return time.monotonic()


def latency_phase(daemon, kinds, repeats, how, tag, timeout=120):
    """Drops each kind `repeats` times, one at a time, interleaving the kinds (A, B, C, A, B, C, …)."""
    out_watch, done_watch = DirectoryWatch(daemon.outbox), DirectoryWatch(daemon.done)
    drop = drop_renamed if how == "renamed" else drop_in_place
    samples = {kind: [] for kind in kinds}
    try:
        for r in range(repeats):
            for kind, (source, _) in kinds.items():
                name = f"{tag}-{kind}-{r}{os.path.splitext(source)[1]}"
                t0 = drop(daemon, source, name)
                out = output_name(name)
                t_out = out_watch.wait_for([out], timeout)[out]
                t_done = done_watch.wait_for([name], timeout)[name]
                inp, got = image_header(source), image_header(os.path.join(daemon.outbox, out))
                if inp != got:
                    raise RuntimeError(f"{name}: output header {got} differs from the input's {inp}")
                samples[kind].append({"name": name, "output_seconds": t_out - t0, "done_seconds": t_done - t0})
    finally:
        out_watch.close()
        done_watch.close()
    processing = daemon.processing_times()
    result = {}
    for kind, rows in samples.items():
        for row in rows:
            row["daemon_processing_seconds"] = processing.get(row["name"])
        result[kind] = {
            "samples": rows,
            "output": summarize([r["output_seconds"] for r in rows]),
            "done": summarize([r["done_seconds"] for r in rows]),
            "daemon_processing": summarize([r["daemon_processing_seconds"] for r in rows
                                            if r["daemon_processing_seconds"] is not None]),
        }
    return result


def ledger_counts(daemon):
    kinds = {}
    with open(os.path.join(daemon.state, "ledger.jsonl")) as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                kinds.setdefault(record.get("kind"), []).append(record.get("name"))
    return kinds


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")


def quality_check(daemon, names, files, clean_folder, samples=8):
    """PSNR against the clean BSD68 image for a few burst outputs (pure-Python PNG decoding is slow): a wrong
    output (not denoised, shifted, scrambled) shows up as no gain over the noisy input."""
    if not clean_folder or not os.path.isdir(clean_folder):
        return None
    import pngio
    rows = []
    for i in range(0, len(names), max(1, len(names) // samples)):
        source = files[i % len(files)]
        clean_path = os.path.join(clean_folder, os.path.basename(source))
        if not os.path.exists(clean_path):
            continue
        clean = pngio.read_png(clean_path)
        rows.append((psnr(pngio.read_png(source), clean), psnr(pngio.read_png(os.path.join(daemon.outbox, names[i])), clean)))
    if not rows:
        return None
    return {"images": len(rows), "input_psnr_mean": float(np.mean([r[0] for r in rows])),
            "output_psnr_mean": float(np.mean([r[1] for r in rows]))}


def burst_phase(daemon, files, count, clean_folder=None, timeout=900):
    """`count` PNGs renamed in at once; files/minute; every input must come out exactly once."""
    names = [f"burst-{i:03d}-{os.path.basename(files[i % len(files)])}" for i in range(count)]
    for name, i in zip(names, range(count)):
        shutil.copyfile(files[i % len(files)], os.path.join(daemon.staging, name))
    out_watch, done_watch = DirectoryWatch(daemon.outbox), DirectoryWatch(daemon.done)
    before = daemon.snapshot()
    t0 = time.monotonic()
    for name in names:
        os.rename(os.path.join(daemon.staging, name), os.path.join(daemon.inbox, name))
    t_dropped = time.monotonic()
    try:
        arrivals = out_watch.wait_for(names, timeout)
        done_arrivals = done_watch.wait_for(names, timeout)
    finally:
        out_watch.close()
        done_watch.close()
    after = daemon.snapshot()
    t_last = max(arrivals.values())
    elapsed = t_last - t0
    # Exactly once: the outbox holds exactly these names (no " (2)" copies), done/ all inputs, nothing failed
    # or left in the claim area, and the ledger one delivery per input.
    time.sleep(0.5)
    outbox = sorted(n for n in os.listdir(daemon.outbox) if n.startswith("burst-"))
    done = sorted(n for n in os.listdir(daemon.done) if n.startswith("burst-"))
    problems = []
    if outbox != sorted(names):
        problems.append(f"outbox: {len(outbox)} files, extra {sorted(set(outbox) - set(names))[:5]}, "
                        f"missing {sorted(set(names) - set(outbox))[:5]}")
    if done != sorted(names):
        problems.append(f"done/: {len(done)} files")
    failed = os.listdir(daemon.failed)
    if failed:
        problems.append(f"failed/: {failed[:5]}")
    leftover = [n for n in os.listdir(os.path.join(daemon.inbox, ".n2spd-processing"))]
    if leftover:
        problems.append(f"claim area not empty: {leftover[:5]}")
    delivered = [n for n in ledger_counts(daemon).get("delivered", []) if n.startswith("burst-")]
    if sorted(delivered) != sorted(names):
        problems.append(f"ledger: {len(delivered)} delivered records for {len(names)} inputs")
    for name in names[:: max(1, count // 8)]:
        src = files[names.index(name) % len(files)]
        if image_header(src) != image_header(os.path.join(daemon.outbox, name)):
            problems.append(f"{name}: output header differs from the input's")
    quality = quality_check(daemon, names, files, clean_folder)
    if quality and quality["output_psnr_mean"] <= quality["input_psnr_mean"]:
        problems.append(f"outputs are not denoised: PSNR {quality['output_psnr_mean']:.2f} dB vs the inputs' "
                        f"{quality['input_psnr_mean']:.2f} dB")
    processing = daemon.processing_times()
    per_image = [processing[n] for n in names if n in processing]
    gaps = np.diff(sorted(arrivals.values()))
    return {
        "count": count,
        "drop_seconds": t_dropped - t0,
        "elapsed_seconds": elapsed,
        "files_per_minute": count / elapsed * 60,
        "first_output_seconds": min(arrivals.values()) - t0,
        "all_done_seconds": max(done_arrivals.values()) - t0,
        "inter_output_gap": summarize(gaps.tolist()),
        "daemon_processing": summarize(per_image),
        "daemon_cpu_seconds": after["cpu_seconds"] - before["cpu_seconds"],
        "cpu_seconds_per_image": (after["cpu_seconds"] - before["cpu_seconds"]) / count,
        "quality": quality,
        "problems": problems,
        "loadavg_before": before["loadavg"],
        "loadavg_after": after["loadavg"],
    }


def finetune_phase(daemon, kinds, burst_files, args, timeout=600):
    """Fills the pool with a burst (fine-tune due after it), then probes latency while it trains."""
    result = {"burst": burst_phase(daemon, burst_files, args.ft_every)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = daemon.status()
        if status and status["fineTune"]["state"] == "running":
            break
        time.sleep(0.1)
    else:
        result["problems"] = ["fine-tune did not start within 60 s after the burst"]
        return result
    t_start = time.monotonic()
    # Probe at once: status.json shows the step count only every 10 s, but the state (running/idle) within 0.5 s,
    # so "still running after the probe" below tells whether the probe overlapped the training.
    probe = {"png8-256": kinds["png8-256"]}
    result["latency_during_finetune"] = latency_phase(daemon, probe, 3, "renamed", "ft")
    time.sleep(0.6)
    result["status_after_probe"] = daemon.status()["fineTune"]
    result["probe_overlapped_finetune"] = result["status_after_probe"]["state"] == "running"
    while time.monotonic() < t_start + timeout:
        status = daemon.status()
        if status and status["fineTune"]["state"] != "running" and status["fineTune"].get("lastResult"):
            break
        time.sleep(0.2)
    result["finetune_seconds_approx"] = time.monotonic() - t_start
    result["fine_tune_status"] = daemon.status()["fineTune"]
    result["after"] = daemon.snapshot()
    return result


# ---------------------------------------------------------------------------------------------- n2sp bench

def n2sp_bench(args, extra, label):
    command = ["/usr/bin/time", "-v", args.n2sp, "bench", "--model", args.model, "--json"] + extra
    load = loadavg()
    t0 = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if run.returncode != 0:
        return {"label": label, "command": "n2sp " + " ".join(command[3:]), "error": run.stderr[-2000:]}
    line = [l for l in run.stdout.splitlines() if l.strip().startswith("{")][-1]

    def time_v(field):
        m = re.search(re.escape(field) + r": ([\d.]+)", run.stderr)
        return float(m.group(1)) if m else None
    rss = time_v("Maximum resident set size (kbytes)")
    return {"label": label, "command": "n2sp " + " ".join(command[3:]), "bench": json.loads(line),
            "time_v_max_rss_bytes": int(rss) * 1024 if rss is not None else None,
            # The whole process (model load, warm-up pass, every timed pass).
            "process_wall_seconds": wall,
            "process_cpu_seconds": (time_v("User time (seconds)") or 0) + (time_v("System time (seconds)") or 0),
            "loadavg_before": load}


def model_benches(args):
    runs = [
        (["--size", "256", "--repeat", "5"], "inference 256² (bare network)"),
        (["--size", "512", "--repeat", "3"], "inference 512² (bare network)"),
        (["--predict", "--size", "4096", "--repeat", "1"], "inference 4096² (predict path, tiled, 1 GiB budget)"),
        (["--train", "--batch", "16", "--patch", "64", "--repeat", "3"], "training step, batch 16, 64²"),
    ]
    results = []
    for extra, label in runs:
        print(f"  n2sp bench {' '.join(extra)} …", file=sys.stderr, flush=True)
        results.append(n2sp_bench(args, extra, label))
    return results


# ---------------------------------------------------------------------------------------------- report

def machine():
    info = {"uname": platform.uname()._asdict(), "nproc": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info["cpu"] = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), None)
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        info["mem_total_kib"] = int(f.readline().split()[1])
    try:
        info["openblas"] = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}", "libopenblas0-pthread"],
                                          capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    return info


def mib(value):
    return f"{value / 1048576:.0f} MiB" if value is not None else "—"


def ms(value):
    return f"{value * 1000:.0f}" if value is not None else "—"


def markdown(results):
    lines = []
    m = results["machine"]
    lines.append(f"Run {results['started_utc']} → {results['finished_utc']} UTC, {m.get('cpu')} × {m['nproc']}, "
                 f"{m['mem_total_kib'] / 1048576:.1f} GiB, Linux {m['uname']['release']}, {m.get('openblas')}, "
                 f"OPENBLAS_CORETYPE={m.get('OPENBLAS_CORETYPE')}. Model `{results['model']}` "
                 f"(sha256 {results['model_sha256'][:12]}…). Daemon: worker_threads {results['workers']}, "
                 f"fine-tuning off unless stated. 1-min load average: {results['load_start'][0]:.2f} at the start, "
                 f"{results['load_end'][0]:.2f} at the end.")
    lines.append("")
    main, fast = results["runs"]["main"], results["runs"]["settle0"]
    lines.append(f"Start-up (exec → READY=1): {main['startup_seconds']:.2f} s (settle {results['settle']} s run), "
                 f"{fast['startup_seconds']:.2f} s (settle 0 run). First image after start (256² PNG, renamed in, "
                 f"not in the rows below): {ms(main['first_image_seconds'])} ms, {ms(fast['first_image_seconds'])} ms.")
    lines.append("")
    lines.append("**Latency, one image at a time** (ms; median / p90 of "
                 f"{results['repeats']} drops per row, kinds interleaved). *output*: drop → output visible in "
                 "the outbox; *done*: drop → input moved to done/; *daemon*: the daemon's own per-image time "
                 "from its log (claim → delivered).")
    lines.append("")
    lines.append("| image | drop | settle_time | output median | output p90 | done median | daemon median |")
    lines.append("|---|---|---|---|---|---|---|")

    def rows(run, phase, drop, settle):
        for kind, r in run["latency"][phase].items():
            desc = results["kinds"][kind]
            lines.append(f"| {desc} | {drop} | {settle} s | {ms(r['output']['median'])} | {ms(r['output']['p90'])} "
                         f"| {ms(r['done']['median'])} | {ms(r['daemon_processing'].get('median'))} |")
    rows(main, "renamed", "rename into inbox", results["settle"])
    rows(main, "in_place", "written in place", results["settle"])
    rows(fast, "renamed", "rename into inbox", 0)
    rows(fast, "in_place", "written in place", 0)
    lines.append("")
    b = main["burst"]
    lines.append(f"**Throughput**: {b['count']} BSD68 σ=25 PNGs (481×321 / 321×481, 8-bit) renamed in at once "
                 f"(in {b['drop_seconds'] * 1000:.0f} ms): all outputs after {b['elapsed_seconds']:.2f} s → "
                 f"**{b['files_per_minute']:.0f} files/minute**; first output after "
                 f"{b['first_output_seconds'] * 1000:.0f} ms; daemon per-image median "
                 f"{ms(b['daemon_processing'].get('median'))} ms; daemon CPU {b['cpu_seconds_per_image']:.3f} s per "
                 f"image; load {b['loadavg_before'][0]:.2f} → {b['loadavg_after'][0]:.2f}. "
                 + (f"PSNR vs clean BSD68 on {b['quality']['images']} of them: {b['quality']['input_psnr_mean']:.2f} dB "
                    f"in → {b['quality']['output_psnr_mean']:.2f} dB out. " if b.get("quality") else "")
                 + "Exactly once: "
                 + ("every input delivered once, nothing failed or left claimed." if not b["problems"]
                    else "**PROBLEMS: " + "; ".join(b["problems"]) + "**"))
    lines.append("")
    lines.append("**Daemon memory and CPU** (VmHWM = peak RSS so far, from /proc/PID/status; CPU = utime + stime):")
    lines.append("")
    lines.append("| after | VmHWM | VmRSS | CPU s | 1-min load |")
    lines.append("|---|---|---|---|---|")
    for run_name in ("main", "settle0", "finetune"):
        run = results["runs"].get(run_name)
        if not run:
            continue
        for phase, snap in run["snapshots"]:
            lines.append(f"| {run_name}: {phase} | {mib(snap['VmHWM'])} | {mib(snap['VmRSS'])} | "
                         f"{snap['cpu_seconds']:.2f} | {snap['loadavg'][0]:.2f} |")
        lines.append(f"| {run_name}: exit (rusage) | {mib(run['rusage']['ru_maxrss_bytes'])} | — | "
                     f"{run['rusage']['cpu_seconds']:.2f} | SIGTERM → exit {run['exit_status']} in "
                     f"{run['stop_seconds']:.2f} s |")
    ft = results["runs"].get("finetune")
    if ft:
        lines.append("")
        f = ft["finetune"]
        lat = f.get("latency_during_finetune", {}).get("png8-256", {}).get("output", {})
        lines.append(f"**Fine-tuning on** ({results['ft_steps']} steps after {results['ft_every']} images): "
                     f"256² latency while it trains {ms(lat.get('median'))} ms median (rename in"
                     f"{'' if f.get('probe_overlapped_finetune') else '; the fine-tune had ended before the probe did'}); fine-tune "
                     f"≈ {f.get('finetune_seconds_approx', 0):.1f} s; result: "
                     f"{(f.get('fine_tune_status') or {}).get('lastResult', {}).get('message')}. "
                     + ("; ".join(f.get("problems", [])) if f.get("problems") else ""))
    if results.get("model_bench"):
        lines.append("")
        lines.append("**Model alone** (`n2sp bench --model MODEL --json`, under `/usr/bin/time -v`):")
        lines.append("")
        lines.append("| what | command | median s | CPU s per pass | GFLOP/s | peak RSS (time -v) | whole process: wall s, CPU s "
                     "| 1-min load |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in results["model_bench"]:
            if "error" in r:
                lines.append(f"| {r['label']} | `{r['command']}` | error | | | | | |")
                continue
            j = r["bench"]
            cpu = j.get("cpu_seconds_per_run")
            lines.append(f"| {r['label']} | `{r['command']}` | {j.get('median_seconds', 0):.4f} | "
                         f"{f'{cpu:.4f}' if cpu is not None else '—'} | {j.get('gflops', float('nan')):.1f} | "
                         f"{mib(r['time_v_max_rss_bytes'])} | {r['process_wall_seconds']:.1f}, "
                         f"{r['process_cpu_seconds']:.1f} | {r['loadavg_before'][0]:.2f} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- main

def run_daemon(args, root, label, settle, kinds, burst_files, with_burst, in_place_kinds, finetune=False):
    daemon = Daemon(args, root, label, settle, finetune, ft_steps=args.ft_steps, ft_every=args.ft_every)
    result = {"settle_seconds": settle, "finetune": finetune, "config": open(daemon.config).read()}
    print(f"[{label}] starting n2spd (settle {settle} s, fine-tuning {'on' if finetune else 'off'})",
          file=sys.stderr, flush=True)
    try:
        result["startup_seconds"] = daemon.start()
        snapshots = [("start", daemon.snapshot())]
        # The first image after start pays for the engine's workspace and cold pages: timed, kept out of the rows.
        first = latency_phase(daemon, {"png8-256": kinds["png8-256"]}, 1, "renamed", "first")["png8-256"]
        result["first_image_seconds"] = first["output"]["median"]
        result["latency"] = {}
        if finetune:
            result["finetune"] = finetune_phase(daemon, kinds, burst_files, args)
            snapshots.append(("burst + fine-tune", daemon.snapshot()))
        else:
            print(f"[{label}] latency, renamed in", file=sys.stderr, flush=True)
            result["latency"]["renamed"] = latency_phase(daemon, kinds, args.repeats, "renamed", "ren")
            snapshots.append(("latency (renamed)", daemon.snapshot()))
            print(f"[{label}] latency, written in place", file=sys.stderr, flush=True)
            result["latency"]["in_place"] = latency_phase(daemon, in_place_kinds, args.repeats, "in_place", "inp")
            snapshots.append(("latency (in place)", daemon.snapshot()))
            if with_burst:
                print(f"[{label}] burst of {args.burst}", file=sys.stderr, flush=True)
                result["burst"] = burst_phase(daemon, burst_files, args.burst, os.path.join(args.shared, "data/BSD68"))
                snapshots.append((f"burst of {args.burst}", daemon.snapshot()))
        result["snapshots"] = snapshots
    except BaseException:
        print(daemon.tail(), file=sys.stderr)
        daemon.stop()
        raise
    result["exit_status"], result["rusage"] = daemon.stop()
    result["stop_seconds"] = daemon.stop_seconds
    result["notify_messages"] = len(daemon.messages)
    result["log_warnings"] = [l for l in daemon.tail(10 ** 7).splitlines() if l.startswith(("<3>", "<4>", "<2>"))][:20]
    if result["exit_status"] != 0:
        print(f"[{label}] n2spd exited with {result['exit_status']} after SIGTERM; log:\n{daemon.tail()}", file=sys.stderr)
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n2spd", required=True)
    p.add_argument("--n2sp", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--shared", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--burst", type=int, default=68)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--finetune", type=int, default=0)
    p.add_argument("--ft-steps", type=int, default=30)
    p.add_argument("--ft-every", type=int, default=40)
    p.add_argument("--model-bench", type=int, default=1)
    p.add_argument("--keep", type=int, default=0)
    args = p.parse_args()
    args.n2spd, args.n2sp = os.path.abspath(args.n2spd), os.path.abspath(args.n2sp)
    if not os.path.isfile(args.model):
        sys.exit(f"MODEL {args.model} does not exist")
    os.makedirs(args.out, exist_ok=True)
    root = tempfile.mkdtemp(prefix="n2spd-bench-")
    import hashlib
    with open(args.model, "rb") as f:
        model_hash = hashlib.sha256(f.read()).hexdigest()
    results = {"started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "load_start": loadavg(),
               "machine": machine(), "model": args.model, "model_sha256": model_hash, "n2spd": args.n2spd,
               "workers": args.workers, "settle": args.settle, "repeats": args.repeats, "ft_steps": args.ft_steps,
               "ft_every": args.ft_every, "runs": {}}
    t_start = time.monotonic()
    failed = False
    try:
        kinds, burst_files = prepare_sources(args.shared, root)
        results["kinds"] = {k: d for k, (_, d) in kinds.items()}
        small = {"png8-256": kinds["png8-256"]}
        # Configured settle: every kind renamed in; the in-place path (which waits settle_time) on 256² only.
        results["runs"]["main"] = run_daemon(args, root, "main", args.settle, kinds, burst_files, True, small)
        # The smallest allowed settle_time (0): both drop paths on 256².
        results["runs"]["settle0"] = run_daemon(args, root, "settle0", 0, small, burst_files, False, small)
        if args.finetune:
            results["runs"]["finetune"] = run_daemon(args, root, "finetune", args.settle, kinds, burst_files,
                                                     False, small, finetune=True)
        if args.model_bench:
            print("model benchmarks (n2sp bench)", file=sys.stderr, flush=True)
            results["model_bench"] = model_benches(args)
    except Exception as error:
        failed = True
        results["error"] = repr(error)
        print(f"benchmark failed: {error!r}", file=sys.stderr)
    finally:
        results["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        results["load_end"] = loadavg()
        results["total_seconds"] = time.monotonic() - t_start
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1, default=str)
        if args.keep:
            print(f"daemon folders kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if failed:
        sys.exit(1)
    text = markdown(results)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text)
    print(text)
    problems = [p for r in results["runs"].values() for p in (r.get("burst") or {}).get("problems", [])]
    bad_exit = [name for name, r in results["runs"].items() if r["exit_status"] != 0]
    print(f"results: {args.out}/results.json, {args.out}/summary.md ({results['total_seconds']:.0f} s)", file=sys.stderr)
    if problems or bad_exit:
        print(f"FAILED: problems {problems}, non-zero exit after SIGTERM: {bad_exit}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
