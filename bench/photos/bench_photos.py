"""Image bombs (issue 14): what one bomb costs before and after the header check, and one ordinary photo.

Baseline, measured in the same run: Pillow decoding a 1 x 16,000,000 grey PNG (a quarter of the report's bomb,
to keep the run short) in a child process, as the old code did for anything up to 64 MP. Then: the report's
bomb (1 x 64,000,000, 124 kB) through ``clean_photo`` now, and a 12 MP phone JPEG through ``clean_photo`` (header
check, forked child, 1 s and 1 GB bounds).

Run: PYTHONPATH=. .venv/bin/python bench/photos/bench_photos.py
"""

from __future__ import annotations

import io
import multiprocessing
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PIL import Image  # noqa: E402

from channels.photos import PhotoError, Upload, clean_photo  # noqa: E402
from tests.channels.test_photo_bombs import png_bomb  # noqa: E402


def _old_decode(data: bytes, sender) -> None:  # noqa: ANN001
    Image.MAX_IMAGE_PIXELS = None
    started = time.perf_counter()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
    sender.send((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def old_way(data: bytes) -> tuple[float, float]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_old_decode, args=(data, sender))
    child.start()
    result = receiver.recv()
    child.join()
    return result


def timed(upload: Upload) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        clean_photo(upload, 10 * 1024 * 1024)
        outcome = "kept"
    except PhotoError as error:
        outcome = f"refused ({error.reason})"
    return time.perf_counter() - started, outcome


def main() -> None:
    quarter = png_bomb(1, 16_000_000)
    seconds, peak_mb = old_way(quarter)
    print(f"baseline: old decode of a 1 x 16,000,000 PNG ({len(quarter) // 1024} kB): {seconds:.2f} s, "
          f"child peak {peak_mb:.0f} MB")
    bomb = png_bomb(1, 64_000_000)
    bomb_seconds, outcome = timed(Upload("bomb.png", bomb))
    print(f"now: the report's bomb, 1 x 64,000,000 PNG ({len(bomb) // 1024} kB): {bomb_seconds * 1000:.1f} ms, "
          f"{outcome}; {seconds / bomb_seconds:,.0f}x faster than the baseline (which is a quarter of it)")
    phone = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    buffer = io.BytesIO()
    phone.save(buffer, "JPEG", quality=85)
    photo_seconds, outcome = timed(Upload("phone.jpg", buffer.getvalue()))
    print(f"now: a 12 MP phone JPEG ({len(buffer.getvalue()) // 1024} kB): {photo_seconds * 1000:.0f} ms, {outcome} "
          f"(bound: 1000 ms)")
    print(f"this process's peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
