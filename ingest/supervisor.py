"""The parent of several ingress processes on one port (``server.processes`` above 1).

It serves nothing itself: it starts ``server.processes`` children (``ingest.child``, with
multiprocessing's spawn: fresh interpreters, the parent's settings handed over as they are, not
read again), and then only waits on them and on signals.

* SIGTERM or SIGINT: forwarded as SIGTERM to every child; each drains as a lone ingress does
  (``/readyz`` 503, listener closed, in-flight deliveries answered after Kafka's acks, producer
  flushed) and exits. The parent exits 0 once all did, 1 if any exited otherwise than 0.
* A child that exits before it listened (it could not bind the port, a startup error): the
  environment is wrong and restarting will not fix it, so the others are stopped and the parent
  exits 1 (a service manager may then retry the whole).
* A child that exits after it listened (a crash, the OOM killer): restarted after a back-off, 1 s
  doubling to 30 s, back to 1 s once a child has run a minute; the others serve meanwhile.

Each of these is logged with the process' number and pid. The parent also owns the directory of
the children's metrics files (``ingest.child``): fresh at start, removed at exit, and the gauge
file of a dead child removed so that its last values are not reported as alive.
"""

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from ingest.child import LISTENING, run_child
from ingest.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0  # a child that ran this long before it died starts the back-off over
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's name for it
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def next_backoff(previous_s: float, ran_s: float) -> float:
    """The delay before restarting a child that ran ``ran_s`` and was last restarted after
    ``previous_s`` (0 if never)."""
    if previous_s <= 0 or ran_s >= STABLE_S:
        return BACKOFF_FIRST_S
    return max(BACKOFF_FIRST_S, min(2 * previous_s, BACKOFF_MAX_S))


def describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:  # a real-time signal has no name
            return f"signal {-code}"
    return f"exit code {code}"


@dataclass
class Slot:
    """The place of one child: restarted children keep their number."""

    number: int
    process: BaseProcess | None = None
    pipe: Connection | None = None
    listening: bool = False
    started_at: float = 0.0
    backoff_s: float = 0.0
    restart_at: float | None = None


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.slots = [Slot(n + 1) for n in range(settings.server.processes)]
        self.metrics_dir = Path()
        self.signalled: int | None = None
        self.stopping = False
        self.failed = False
        self.all_listening = False

    def run(self) -> int:
        """Start the children, supervise them until they are all stopped; the exit status."""
        server = self.settings.server
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="datastreams-metrics-"))
        # The children inherit it; prometheus_client reads it when they import it.
        os.environ[METRICS_DIR_ENV] = str(self.metrics_dir)
        wake, wake_signal = socket.socketpair()
        for sock in (wake, wake_signal):
            sock.setblocking(False)
        previous_wakeup = signal.set_wakeup_fd(wake_signal.fileno())
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            log.info(
                "starting %d ingress processes on %s:%d (SO_REUSEPORT); metrics in %s",
                len(self.slots),
                server.host,
                server.port,
                self.metrics_dir,
            )
            for slot in self.slots:
                self._start(slot)
            while not self.stopping or any(slot.process for slot in self.slots):
                self._step(wake)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_wakeup)
            wake.close()
            wake_signal.close()
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        log.info("every ingress process stopped%s", "; some failed" if self.failed else "")
        return 1 if self.failed else 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = signum  # acted on by the loop, which the wakeup fd wakes

    def _step(self, wake: socket.socket) -> None:
        waiting: list[object] = [wake]
        for slot in self.slots:
            if slot.process is not None:
                waiting.append(slot.process.sentinel)
            if slot.pipe is not None:
                waiting.append(slot.pipe)
        due = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        ready = wait(waiting, timeout)  # type: ignore[arg-type]
        if wake in ready:
            with contextlib.suppress(BlockingIOError):
                while wake.recv(64):
                    pass
        if self.signalled is not None and not self.stopping:
            log.info(
                "received %s: stopping the ingress processes",
                signal.Signals(self.signalled).name,
            )
            self._stop_all()
        for slot in self.slots:
            if slot.pipe is not None and slot.pipe in ready:
                self._message(slot)
            if slot.process is not None and slot.process.sentinel in ready:
                self._exited(slot)
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is not None and slot.restart_at <= now:
                self._start(slot)

    def _start(self, slot: Slot) -> None:
        pipe, child_end = self.context.Pipe()
        process = self.context.Process(
            target=run_child,
            args=(self.settings, slot.number, child_end),
            name=f"ingress-{slot.number}",
        )
        process.start()
        child_end.close()
        slot.process, slot.pipe, slot.listening = process, pipe, False
        slot.started_at, slot.restart_at = time.monotonic(), None
        log.info("started ingress process %d (pid %s)", slot.number, process.pid)

    def _message(self, slot: Slot) -> None:
        assert slot.pipe is not None
        try:
            message = slot.pipe.recv()
        except (EOFError, OSError):  # the child is gone: its sentinel says how
            slot.pipe.close()
            slot.pipe = None
            return
        if message == LISTENING and not slot.listening:
            slot.listening = True
            if not self.all_listening and all(s.listening for s in self.slots):
                self.all_listening = True
                log.info("all %d ingress processes are listening", len(self.slots))

    def _exited(self, slot: Slot) -> None:
        process = slot.process
        assert process is not None
        process.join()
        pid, code = process.pid, process.exitcode
        process.close()
        if slot.pipe is not None:
            slot.pipe.close()
        slot.process = slot.pipe = None
        for stale in self.metrics_dir.glob(f"gauge_*_{pid}.db"):
            stale.unlink(missing_ok=True)  # its last gauge values would read as alive
        how = describe_exit(code)
        if self.stopping:
            if code == 0:
                log.info("ingress process %d (pid %s) stopped", slot.number, pid)
            else:
                log.error("ingress process %d (pid %s) stopped with %s", slot.number, pid, how)
                self.failed = True
            return
        if not slot.listening:
            log.error(
                "ingress process %d (pid %s) exited with %s before it listened: stopping",
                slot.number,
                pid,
                how,
            )
            self.failed = True
            self._stop_all()
            return
        ran_s = time.monotonic() - slot.started_at
        slot.backoff_s = next_backoff(slot.backoff_s, ran_s)
        slot.restart_at = time.monotonic() + slot.backoff_s
        log.error(
            "ingress process %d (pid %s) exited unexpectedly with %s after %.0f s; "
            "restarting it in %.0f s",
            slot.number,
            pid,
            how,
            ran_s,
            slot.backoff_s,
        )

    def _stop_all(self) -> None:
        self.stopping = True
        for slot in self.slots:
            slot.restart_at = None
            if slot.process is not None:
                slot.process.terminate()  # SIGTERM: the child drains
