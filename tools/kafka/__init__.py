"""A local Apache Kafka 4.x broker (KRaft) on 127.0.0.1, from Maven Central jars: for
``make kafka-up``, the test session, the demo, the benchmark and the chaos run.

    python -m tools.kafka up [--port N] [--controller-port N]
                             [--data-dir DIR] [--libs-dir DIR] [--timeout S]
    python -m tools.kafka down [--data-dir DIR]
    python -m tools.kafka status [--data-dir DIR]
    python -m tools.kafka jars [--libs-dir DIR]

``layout`` says where the files are, ``jars`` fetches the broker (Maven), ``config`` renders a
node's ``server.properties``, ``jvm`` runs the process, ``readiness`` waits for an admin call to
succeed, ``broker`` puts them together (start, stop, kill, a cluster), ``cli`` is the command.
Only the standard library is imported until a readiness check imports aiokafka.
"""

from tools.kafka.broker import (
    broker_status,
    kill_broker,
    restart_node,
    start_broker,
    start_cluster,
    stop_broker,
)
from tools.kafka.errors import BrokerError
from tools.kafka.jars import ensure_jars
from tools.kafka.layout import DEFAULT_DATA_DIR, DEFAULT_LIBS_DIR

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_LIBS_DIR",
    "BrokerError",
    "broker_status",
    "ensure_jars",
    "kill_broker",
    "restart_node",
    "start_broker",
    "start_cluster",
    "stop_broker",
]
