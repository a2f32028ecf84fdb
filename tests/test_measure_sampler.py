import subprocess
import sys
import time

from harness.measure.sampler import Sample, Sampler, downsample


def test_sampler_sees_rss_grow_with_timestamps():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(0.3); b = bytearray(200 * 1024 * 1024); "
            "b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)",
        ]
    )
    s = Sampler(child.pid, 0.02).start()
    child.wait()
    s.stop()
    assert len(s.samples) >= 10
    ts = [x.t for x in s.samples]
    assert ts == sorted(ts)
    assert (s.peak_rss() or 0) - s.samples[0].rss > 150 * 1024 * 1024
    assert s.overhead()["mean_tick_us"] > 0


def test_sampler_off_takes_no_samples():
    s = Sampler(1, 0).start()
    time.sleep(0.05)
    s.stop()
    assert s.samples == []


def test_downsample_keeps_peaks_and_bounds_points():
    samples = [Sample(t=i * 0.01, rss=(10_000 if i == 537 else i), cpu=0, threads=1, ctx=0) for i in range(1000)]
    out = downsample(samples, 50)
    assert len(out) == 50 and max(r for _, r in out) == 10_000
