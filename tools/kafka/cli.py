"""``python -m tools.kafka {jars,up,down,status}``: the local broker from a shell (kafka.mk)."""

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tools.kafka import jvm
from tools.kafka.broker import broker_status, start_broker, stop_broker
from tools.kafka.errors import BrokerError
from tools.kafka.jars import ensure_jars
from tools.kafka.layout import DEFAULT_DATA_DIR, DEFAULT_LIBS_DIR, DEFAULT_PORT, HOST, server_log
from tools.kafka.readiness import port_open


def _default_port() -> int:
    raw = os.environ.get("KAFKA_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        raise BrokerError(f"KAFKA_PORT must be an integer, got {raw!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.kafka", description="Single-node Apache Kafka (KRaft) on 127.0.0.1."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data_dir_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="default: %(default)s"
        )

    def libs_dir_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--libs-dir", type=Path, default=DEFAULT_LIBS_DIR, help="default: %(default)s"
        )

    up = sub.add_parser("up", help="fetch jars if needed, start the broker, wait until ready")
    up.add_argument("--port", type=int, default=None, help="default: $KAFKA_PORT or 9092")
    up.add_argument("--controller-port", type=int, default=None, help="default: port + 1")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds (default: 60)")
    data_dir_arg(up)
    libs_dir_arg(up)

    down = sub.add_parser("down", help="stop the broker (SIGTERM, SIGKILL after --timeout)")
    down.add_argument("--timeout", type=float, default=30.0, help="seconds (default: 30)")
    data_dir_arg(down)

    status = sub.add_parser("status", help="exit 0 if the broker runs, 1 otherwise")
    data_dir_arg(status)

    jars = sub.add_parser("jars", help="fetch the Kafka jars from Maven Central (once)")
    libs_dir_arg(jars)
    return parser


def _cmd_jars(args: argparse.Namespace) -> int:
    ensure_jars(args.libs_dir)
    print(f"Kafka jars ready in {args.libs_dir.resolve()}")
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    port: int = args.port if args.port is not None else _default_port()
    controller_port: int = args.controller_port or port + 1
    ensure_jars(args.libs_dir)
    data_dir: Path = args.data_dir.resolve()
    already = jvm.running_pid(data_dir)
    started = time.monotonic()
    pid = start_broker(data_dir, port, controller_port, args.libs_dir, args.timeout)
    if already == pid:
        print(f"Kafka broker already running: pid {pid}, bootstrap {HOST}:{port}")
    else:
        print(
            f"Kafka broker up: pid {pid}, bootstrap {HOST}:{port} "
            f"(ready in {time.monotonic() - started:.1f}s; log {server_log(data_dir)})"
        )
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    pid = jvm.running_pid(data_dir)
    stop_broker(data_dir, args.timeout)
    print(f"Kafka broker stopped (pid {pid})" if pid else "Kafka broker not running")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    pid, port = broker_status(data_dir)
    if pid is None:
        print(f"Kafka broker not running (data dir {data_dir})")
        return 1
    answering = port is not None and port_open(port)
    state = "answering" if answering else "NOT answering"
    print(f"Kafka broker running: pid {pid}, bootstrap {HOST}:{port} ({state})")
    return 0 if answering else 1


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "jars": _cmd_jars,
    "up": _cmd_up,
    "down": _cmd_down,
    "status": _cmd_status,
}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
