"""SMS webhooks through a PostgreSQL restart: how many are answered 503 (lost: Twilio does not retry), with the
spool against the baseline without it, measured in the same run.

A private PostgreSQL and a private redis-server (AOF, fsync every second) on free ports; the app in-process
(Flask's test client, signed Twilio requests) from POSTERS threads; PostgreSQL is stopped for DOWN seconds in
the middle of each run. After each run the spool is drained and the stored messages counted against every
MessageSid answered 2xx.

Usage: PYTHONPATH=. .venv/bin/python bench/spool/run.py [seconds per run, default 12] [seconds down, default 4]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from gateway.app import create_app  # noqa: E402
from gateway.jobs.queue import RQQueue  # noqa: E402
from gateway.jobs.spool import drain  # noqa: E402
from models import InboundMessage  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from tests.channels.test_twilio import SMS_PATH, form  # noqa: E402
from tests.channels.twilio_payloads import SMS  # noqa: E402
from tests.conftest import make_settings, post_twilio  # noqa: E402
from tests.support.outage import private_postgres, private_redis  # noqa: E402

POSTERS = 2


def run(pg, redis_url: str, spool: bool, seconds: float, down: float, prefix: str) -> dict[str, int]:  # noqa: ANN001
    queue = RQQueue(redis_url, name=f"bench-{prefix}")
    app = create_app(make_settings(pg.url), queue=queue, start_embedded=False)
    runtime = app.extensions["sambat"]
    if not spool:
        runtime.spool = None
    answers: Counter[int] = Counter()
    accepted: set[str] = set()
    numbers = count()
    stop = threading.Event()
    lock = threading.Lock()

    def post() -> None:
        client = app.test_client()
        while not stop.is_set():
            sid = f"SM{prefix}{next(numbers):030d}"
            status = post_twilio(client, SMS_PATH, form(SMS, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)).status_code
            with lock:
                answers[status] += 1
                if status < 300:
                    accepted.add(sid)

    threads = [threading.Thread(target=post) for _ in range(POSTERS)]
    for thread in threads:
        thread.start()
    time.sleep((seconds - down) / 2)
    pg.stop()
    time.sleep(down)
    pg.start()
    time.sleep((seconds - down) / 2)
    stop.set()
    for thread in threads:
        thread.join()
    spooled = runtime.spool.depth() if runtime.spool else 0
    while drain(runtime):
        pass
    with runtime.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(InboundMessage)
                                .where(InboundMessage.provider_message_id.like(f"SM{prefix}%")))
    runtime.db.dispose()
    return {"requests": sum(answers.values()), "2xx": sum(n for s, n in answers.items() if s < 300),
            "503": answers[503], "other": sum(n for s, n in answers.items() if s >= 300 and s != 503),
            "spooled": spooled, "stored": stored, "accepted but not stored": len(accepted) - stored}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 12.0
    down = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    with private_postgres() as pg, private_redis(Path(tempfile.mkdtemp()) / "redis") as redis:
        upgrade(pg.url)
        baseline = run(pg, redis.url, spool=False, seconds=seconds, down=down, prefix="B")
        spooled = run(pg, redis.url, spool=True, seconds=seconds, down=down, prefix="S")
    print(f"{seconds:.0f} s of SMS webhooks from {POSTERS} threads, PostgreSQL stopped for {down:.0f} s in the middle")
    print("| figure | baseline (no spool) | with the spool |\n| --- | --- | --- |")
    for key in baseline:
        print(f"| {key} | {baseline[key]} | {spooled[key]} |")
    lost_before, lost_after = baseline["503"] + baseline["other"], spooled["503"] + spooled["other"]
    print(f"ratio of SMS refused (lost), spool / baseline: {lost_after}/{lost_before} = "
          f"{lost_after / lost_before if lost_before else float('nan'):.3f}")


if __name__ == "__main__":
    main()
