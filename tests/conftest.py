"""Root conftest: the shared fixtures (``tests/support``, registered as plugins) and the tiers.

Tiers are markers set here from where a test is and what it uses, so no test file declares one:

* ``kafka``: the test's fixtures reach ``kafka_bootstrap`` (directly or through others).
* ``deploy``: under tests/deploy; needs the tools of ``make deploy-tools``.
* ``slow``: starts processes (ingress, workers, simulator, bench) or brokers of its own, or took
  over 5 s on the 2-core machine (``--durations``); listed in ``SLOW``.

``make test-fast`` runs ``-m "not kafka and not slow and not deploy"``; ``make test`` runs all,
on two pytest-xdist workers (``--dist loadgroup``), each with a broker of its own. ``GROUPS`` keeps
the slowest tests together: a group runs on one worker, in order, and xdist hands out the
largest groups first, so the two long groups start at once while the rest fill in around them.
The fault scenarios never run two at a time (each starts a fleet of processes and judges
timings); the other slow tests share the second worker.
"""

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.kafka", "tests.support.ingress"]

TESTS = Path(__file__).resolve().parent
DEPLOY = "deploy/"
SLOW = (
    "reliability/",  # fault scenarios under load, brokers of their own
    "e2e/",  # the ingress and both workers end to end
    "tools/test_bench_smoke.py",  # `datastreams bench --smoke`: about 40 s
    "tools/test_e2e.py",  # the simulator under load through an ingress: about 6 s
    "pipeline/workers/test_worker_process.py",  # `datastreams worker` processes
    "ingest/test_processes.py",  # `datastreams ingress` with server.processes = 2
)
# group name: the tests in it (paths under tests/, as in SLOW)
GROUPS = {
    "faults": ("reliability/",),
    "processes": (
        "tools/test_bench_smoke.py",
        "e2e/",
        "tools/test_e2e.py",
        "pipeline/workers/test_worker_process.py",
        "pipeline/workers/effects/test_crash.py",  # redelivery after a killed worker: ~20 s
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    # A file that moved without its entry would silently join the fast tier.
    listed = [*SLOW, *(entry for entries in GROUPS.values() for entry in entries)]
    stale = [entry for entry in listed if not (TESTS / entry).exists()]
    if stale:
        raise pytest.UsageError(
            f"tests/conftest.py SLOW or GROUPS names what does not exist: {stale}"
        )


def _relative(item: pytest.Item) -> str:
    return item.path.relative_to(TESTS).as_posix()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = _relative(item)
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
        if where.startswith(DEPLOY):
            item.add_marker(pytest.mark.deploy)
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
        for group, entries in GROUPS.items():
            if where.startswith(entries):
                item.add_marker(pytest.mark.xdist_group(group))
