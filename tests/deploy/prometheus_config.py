"""deploy/prometheus/prometheus.yml turned into configurations that run here.

Debian's Prometheus has no Kubernetes service discovery, so ``kubernetes_sd_configs`` becomes
``static_configs`` whose targets carry the ``__meta_kubernetes_*`` labels a pod would have; the
relabelling of the real file then runs unchanged (keep on part-of, port from the annotation,
job from the component label).
"""

from pathlib import Path
from typing import Any

import yaml

from tests.deploy.tooling import DEPLOY, load_yaml

PROMETHEUS = DEPLOY / "prometheus"
META = "__meta_kubernetes_"


def pod_target(
    address: str, component: str, port: int, part_of: str = "datastreams"
) -> dict[str, Any]:
    """A static target that looks like a pod of deploy/k8s to the relabelling."""
    return {
        "targets": [address],
        "labels": {
            f"{META}pod_label_app_kubernetes_io_part_of": part_of,
            f"{META}pod_label_app_kubernetes_io_component": component,
            f"{META}pod_annotation_prometheus_io_scrape": "true",
            f"{META}pod_annotation_prometheus_io_path": "/metrics",
            f"{META}pod_annotation_prometheus_io_port": str(port),
            f"{META}namespace": "e2e",
            f"{META}pod_name": f"{component}-0",
        },
    }


def static_variant(targets: list[dict[str, Any]], **global_: str) -> dict[str, Any]:
    """The real scrape config with its discovery replaced by ``targets``."""
    config: dict[str, Any] = load_yaml(PROMETHEUS / "prometheus.yml")
    config["global"] |= global_
    jobs = []
    for job in config["scrape_configs"]:
        job = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
        job["static_configs"] = targets
        jobs.append(job)
    config["scrape_configs"] = jobs
    config["rule_files"] = [str(PROMETHEUS / f) for f in config["rule_files"]]
    return config


def fast_rules(folder: Path, for_: str) -> list[str]:
    """Copies of the rule files with every alert's ``for`` shortened (expressions unchanged)."""
    paths = []
    for source in sorted((PROMETHEUS / "rules").glob("*.yml")):
        doc = load_yaml(source)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = for_
        path = folder / source.name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(str(path))
    return paths


def write(config: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
