"""Where the local broker's files are: the repository's ``deploy/kafka`` and a data dir.

The non-Python files stay in ``deploy/kafka`` beside ``kafka.mk``: the Maven pom that names the
jars, the ``server.properties`` template and the log4j2 config. A data dir holds one broker::

    server.properties   rendered from server.properties.template
    cluster.id          KRaft cluster id, generated once per data dir
    kraft/              log.dirs: metadata log and topic partitions
    logs/server.log     broker log (log4j2.properties, -Dkafka.logs.dir)
    broker.out          the JVM's stdout and stderr
    broker.pid          pid of the running broker (also its process-group id)
"""

from collections import deque
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_KAFKA = REPO_ROOT / "deploy" / "kafka"
POM = DEPLOY_KAFKA / "pom.xml"
TEMPLATE = DEPLOY_KAFKA / "server.properties.template"
LOG4J2_CONF = DEPLOY_KAFKA / "log4j2.properties"
DEFAULT_LIBS_DIR = DEPLOY_KAFKA / "libs"
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "kafka"

HOST = "127.0.0.1"
DEFAULT_PORT = 9092

CONF_NAME = "server.properties"
CLUSTER_ID_NAME = "cluster.id"
PIDFILE_NAME = "broker.pid"
STDOUT_NAME = "broker.out"
KRAFT_SUBDIR = "kraft"
LOGS_SUBDIR = "logs"
TAIL_LINES = 40


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` of a log, or why it cannot be read: for error reports."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip("\n") or "(empty)"
    except OSError as exc:
        return f"({exc.strerror or exc})"


def server_log(data_dir: Path) -> Path:
    return data_dir / LOGS_SUBDIR / "server.log"
