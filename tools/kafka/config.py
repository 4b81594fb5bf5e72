"""A node's ``server.properties``, rendered from the template in ``deploy/kafka``, and its
KRaft cluster id."""

import base64
import re
import secrets
from pathlib import Path

from tools.kafka.errors import BrokerError
from tools.kafka.layout import CLUSTER_ID_NAME, CONF_NAME, HOST, KRAFT_SUBDIR, TEMPLATE


def render_config(
    data_dir: Path,
    port: int,
    controller_port: int,
    node_id: int = 1,
    voters: str | None = None,
) -> Path:
    """Write ``data_dir/server.properties``; one node unless ``voters`` names a quorum."""
    kraft_dir = data_dir / KRAFT_SUBDIR
    nodes = 1 if voters is None else voters.count(",") + 1
    text = (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("@BROKER_PORT@", str(port))
        .replace("@CONTROLLER_PORT@", str(controller_port))
        .replace("@LOG_DIR@", str(kraft_dir))
        .replace("@NODE_ID@", str(node_id))
        .replace("@VOTERS@", voters or f"1@{HOST}:{controller_port}")
        .replace("@REPLICAS@", str(nodes))
        .replace("@MIN_ISR@", str(max(1, nodes - 1)))
    )
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise BrokerError(f"unrendered placeholders in {TEMPLATE}: {sorted(set(leftover))}")
    conf = data_dir / CONF_NAME
    conf.write_text(text, encoding="utf-8")
    return conf


def configured_port(data_dir: Path) -> int | None:
    """The client port of the config rendered in ``data_dir``; None if there is none."""
    try:
        text = (data_dir / CONF_NAME).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^advertised\.listeners=PLAINTEXT://[^:\s]+:(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def cluster_id(data_dir: Path) -> str:
    """The KRaft cluster id kept in ``data_dir``, generated on first use."""
    path = data_dir / CLUSTER_ID_NAME
    if path.is_file():
        existing = path.read_text(encoding="utf-8").strip()
        if existing:
            return existing
    while True:  # like Kafka's Uuid.randomUuid(): 22 url-safe base64 chars, no leading '-'
        new_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not new_id.startswith("-"):
            break
    path.write_text(new_id + "\n", encoding="utf-8")
    return new_id
