"""``python -m tools.chaos --bootstrap HOST:PORT [--short] [--only NAME ...] [--out DIR]``

Runs the fault scenarios under simulator load (the Makefile starts the shared broker; the
broker-outage and cluster scenarios start brokers of their own from ``--libs-dir``), prints one
table, writes ``DIR/chaos.json`` and exits 1 if any scenario lost an event, had a duplicate
effect, did not recover or found another problem.
"""

import argparse
import asyncio
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tools.chaos.report import table, write_report
from tools.chaos.run import run_all
from tools.chaos.scenarios import SCENARIOS
from tools.chaos.settings import FULL, SHORT
from tools.kafka import DEFAULT_LIBS_DIR as LIBS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.chaos", description=__doc__)
    parser.add_argument("--bootstrap", required=True, help="the broker the scenarios may share")
    parser.add_argument("--out", type=Path, default=Path("var/chaos"))
    parser.add_argument("--libs-dir", type=Path, default=LIBS_DIR, help="the broker's jars")
    parser.add_argument("--short", action="store_true", help="the CI durations (seconds each)")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    # Refused connections to a stopped or killed broker are the point here, not news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    settings = SHORT if args.short else FULL
    work = args.out / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    env = dict(os.environ)  # an entrypoint: the children inherit the environment
    started = time.monotonic()
    results = asyncio.run(run_all(settings, args.bootstrap, work, env, args.only, args.libs_dir))
    print(table(results))
    report = args.out / "chaos.json"
    write_report(
        report,
        results,
        {
            "settings": "short" if args.short else "full",
            "started": work.name,
            "elapsed_s": round(time.monotonic() - started, 1),
            "load_average": os.getloadavg(),
            "cores": os.cpu_count(),
            "work_dir": str(work),
        },
    )
    print(f"report: {report}   logs and ack files: {work}/")
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
