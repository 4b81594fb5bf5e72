"""deploy/k8s: rendered by kustomize, validated against the Kubernetes JSON schemas, and held to
the deployment rules of issue 7 (probes, drain budget, non-root, read-only, scrape annotations).

Schemas: the ``kubernetes-validate`` package ships them (strict variant: unknown fields fail),
so this runs offline. A scratch copy with broken manifests proves the check can fail.
"""

import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from ingest.cli import main as datastreams_cli
from ingest.settings import Settings, load_settings
from pipeline.config import Secret
from pipeline.publish import STOP_TIMEOUT_S
from pipeline.workers.settings import WorkerSettings, load_worker_settings
from tests.deploy.tooling import DEPLOY, kustomize_build

K8S = DEPLOY / "k8s"
BASE, EXAMPLE = K8S / "base", K8S / "overlays" / "example"
# The oldest Kubernetes minor still supported by the big managed offerings, and the newest the
# schema package knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SECRET_MOUNT = "/run/secrets/datastreams/"
WORKER_FILES = ("alert-rules.toml", "scoring.toml", "lead-model.example.json")
Manifest = dict[str, Any]


def schema_errors(docs: list[Manifest], version: str) -> list[str]:
    errors = []
    for doc in docs:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{name}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: {exc.message}")
    return errors


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {"base": kustomize_build(BASE), "example": kustomize_build(EXAMPLE)}


def find(docs: list[Manifest], kind: str, name: str | None = None) -> Iterator[Manifest]:
    for doc in docs:
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name):
            yield doc


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    [doc] = find(docs, kind, name)
    return doc


def containers(deployment: Manifest) -> list[Manifest]:
    spec: list[Manifest] = deployment["spec"]["template"]["spec"]["containers"]
    return spec


@pytest.mark.parametrize("overlay", ["base", "example"])
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_are_valid_kubernetes(
    rendered: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    docs = rendered[overlay]
    assert len(docs) >= 10
    assert schema_errors(docs, version) == []


BREAKAGES = {
    "unknown field": ("ingress-deployment.yaml", "  replicas: 2", "  replica: 2"),
    "wrong type": ("ingress-service.yaml", "      port: 80", '      port: "eighty"'),
    "missing required field": (
        "ingress-pdb.yaml",
        "  minAvailable: 1\n  selector:",
        "  minAvailable: 1\n  selectorr:",
    ),
    "container without a name": (
        "worker-scoring-deployment.yaml",
        "        - name: worker\n          image: datastreams",
        "        - image: datastreams",
    ),
    "port as a word": ("ingress-deployment.yaml", "containerPort: 8080", "containerPort: http"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_manifest_fails_validation(tmp_path: Path, breakage: str) -> None:
    """Negative control: the same check on a scratch copy with one manifest broken."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    file, old, new = BREAKAGES[breakage]
    path = copy / "base" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    errors = schema_errors(kustomize_build(copy / "overlays" / "example"), K8S_VERSIONS[0])
    assert errors, f"{breakage} in {file} was not caught"


def test_a_broken_kustomization_fails_to_render(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    (copy / "base" / "ingress-pdb.yaml").unlink()
    with pytest.raises(AssertionError, match=r"kustomize build .* failed"):
        kustomize_build(copy / "overlays" / "example")


def test_ingress_deployment_rules(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["example"]
    deployment = one(docs, "Deployment", "datastreams-ingress")
    hpa = one(docs, "HorizontalPodAutoscaler", "datastreams-ingress")
    assert deployment["spec"]["replicas"] >= 2
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["scaleTargetRef"]["name"] == "datastreams-ingress"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    [container] = containers(deployment)
    assert container["args"] == ["ingress"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


def test_ingress_shutdown_fits_the_termination_grace_period(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    for overlay, docs in rendered.items():
        deployment = one(docs, "Deployment", "datastreams-ingress")
        [container] = containers(deployment)
        settings = ingress_settings(docs, tmp_path / overlay)
        pre_stop_s = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
        readiness = container["readinessProbe"]
        assert settings.server.readiness_grace_s >= 2 * readiness["periodSeconds"], overlay
        budget = (
            pre_stop_s
            + settings.server.readiness_grace_s
            + settings.server.drain_timeout_s
            + STOP_TIMEOUT_S
        )
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert budget < grace, f"{overlay}: shutdown needs {budget} s, pods get {grace} s"


def test_worker_shutdown_fits_the_termination_grace_period(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    for overlay, docs in rendered.items():
        for kind in ("alerting", "scoring"):
            deployment = one(docs, "Deployment", f"datastreams-worker-{kind}")
            settings = worker_settings(docs, kind, tmp_path / overlay / kind)
            budget = settings.consume.drain_timeout_s + STOP_TIMEOUT_S
            grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            assert budget < grace, f"{overlay} {kind}: needs {budget} s, pods get {grace} s"


def test_every_pod_is_locked_down_and_sized(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, docs in rendered.items():
        for deployment in find(docs, "Deployment"):
            where = f"{overlay} {deployment['metadata']['name']}"
            pod = deployment["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["runAsUser"] >= 1000, where
            assert pod["automountServiceAccountToken"] is False, where
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, where
                assert security["allowPrivilegeEscalation"] is False, where
                assert security["capabilities"]["drop"] == ["ALL"], where
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(container["resources"][kind]), where
                assert container["image"].startswith("registry.example.com/datastreams:"), where


def test_every_pod_is_scraped_on_a_port_it_listens_on(
    rendered: dict[str, list[Manifest]],
) -> None:
    for deployment in find(rendered["example"], "Deployment"):
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        labels = template["metadata"]["labels"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        ports = {p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports
        # deploy/prometheus/prometheus.yml keeps part-of=datastreams and names the job after
        # the component: the alert rules expect these jobs.
        assert labels["app.kubernetes.io/part-of"] == "datastreams"
        assert labels["app.kubernetes.io/component"] in {
            "ingress",
            "worker-alerting",
            "worker-scoring",
            "journal-follower",
        }


def selected(docs: list[Manifest], selector: dict[str, str]) -> list[str]:
    """Names of the Deployments whose pods the label selector picks."""
    return [
        d["metadata"]["name"]
        for d in find(docs, "Deployment")
        if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]


def test_selectors_and_references_resolve(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, docs in rendered.items():
        service = one(docs, "Service", "datastreams-ingress")
        assert selected(docs, service["spec"]["selector"]) == ["datastreams-ingress"], overlay
        for pdb in find(docs, "PodDisruptionBudget"):
            selector = pdb["spec"]["selector"]["matchLabels"]
            assert selected(docs, selector) == [pdb["metadata"]["name"]], overlay
        config_maps = {d["metadata"]["name"] for d in find(docs, "ConfigMap")}
        for deployment in find(docs, "Deployment"):
            for volume in deployment["spec"]["template"]["spec"]["volumes"]:
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps, overlay
                if "secret" in volume:
                    assert volume["secret"]["secretName"] == "datastreams-credentials"
    ingress = one(rendered["example"], "Ingress", "datastreams")
    [rule] = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = one(rendered["example"], "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    timeout = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]
    assert int(timeout) < 10  # Adobe I/O gives up after 10 s


def test_containers_run_real_commands(rendered: dict[str, list[Manifest]]) -> None:
    for deployment in find(rendered["example"], "Deployment"):
        for container in containers(deployment):
            with pytest.raises(SystemExit) as exited:
                datastreams_cli([*container["args"], "--help"])
            assert exited.value.code == 0, container["args"]


# ---- the configuration in the ConfigMaps, read by the real loaders ----------------------------


def mounted(docs: list[Manifest], config_map: str, folder: Path) -> Path:
    """Write the ConfigMap's files into ``folder`` (secret paths redirected to dummy files)."""
    [doc] = (d for d in find(docs, "ConfigMap") if d["metadata"]["name"].startswith(config_map))
    secrets = folder / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    for name, text in doc["data"].items():
        for key in re.findall(re.escape(SECRET_MOUNT) + r"([\w.-]+)", text):
            (secrets / key).write_text(f"dummy-secret-value-for-{key}\n")
        (folder / name).write_text(text.replace(SECRET_MOUNT, f"{secrets}/"))
    return folder


def ingress_settings(docs: list[Manifest], folder: Path) -> Settings:
    path = mounted(docs, "datastreams-config-", folder) / "datastreams.toml"
    return load_settings({"DATASTREAMS_CONFIG": str(path)})


def worker_settings(docs: list[Manifest], kind: str, folder: Path) -> WorkerSettings:
    path = mounted(docs, "datastreams-worker-config-", folder) / "worker.toml"
    return load_worker_settings(kind, {"DATASTREAMS_WORKER_CONFIG": str(path)})


def test_the_config_maps_load_and_match_the_ports(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    for overlay, docs in rendered.items():
        settings = ingress_settings(docs, tmp_path / overlay / "ingress")
        [container] = containers(one(docs, "Deployment", "datastreams-ingress"))
        assert container["ports"][0]["containerPort"] == settings.server.port
        assert settings.tenants, overlay
        for kind in ("alerting", "scoring"):
            worker = worker_settings(docs, kind, tmp_path / overlay / kind)
            [container] = containers(one(docs, "Deployment", f"datastreams-worker-{kind}"))
            assert container["ports"][0]["containerPort"] == worker.port
            assert worker.host == "0.0.0.0"


def test_the_example_overlay_connects_to_a_managed_kafka(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    settings = ingress_settings(rendered["example"], tmp_path / "ingress")
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.sasl_password == Secret("dummy-secret-value-for-kafka-password")
    assert settings.topics.replication_factor == 3
    worker = worker_settings(rendered["example"], "scoring", tmp_path / "scoring")
    assert worker.kafka.security_protocol == "SASL_SSL"
    assert worker.topics.partitions == settings.topics.partitions


def test_the_base_ships_the_default_worker_files() -> None:
    """The ConfigMap copies of deploy/workers/ must not drift from the originals.

    kustomize reads only files below the kustomization (no symlinks out), hence the copies;
    ``make k8s-config`` refreshes them.
    """
    config = BASE / "config"
    for name in WORKER_FILES:
        original = DEPLOY / "workers" / name
        assert (config / name).read_bytes() == original.read_bytes(), (
            f"{config / name} differs from {original}: run `make k8s-config`"
        )
    kustomization = (BASE / "kustomization.yaml").read_text()
    for name in tomllib.loads((config / "worker.toml").read_text())["alerting"].values():
        if isinstance(name, str) and name.endswith(".toml"):
            assert f"{name}=config/{name}" in kustomization


def test_the_journal_follower_runs_alone_and_has_something_to_follow(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    """At most one follower pod, never two at once (they would race on the stored cursor); off in
    the base, whose config has no [[journal]]; on in the example overlay, whose config has one.
    Its grace period covers a page in flight and the producer's flush; it serves its metrics on
    the configured port."""
    replicas = {"base": 0, "example": 1}
    for overlay, docs in rendered.items():
        deployment = one(docs, "Deployment", "datastreams-journal-follower")
        assert deployment["spec"]["replicas"] == replicas[overlay], overlay
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}, overlay
        assert not [
            h
            for h in find(docs, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["name"] == "datastreams-journal-follower"
        ]
        settings = ingress_settings(docs, tmp_path / overlay / "journal")
        assert len(settings.journal) == replicas[overlay], overlay
        [container] = containers(deployment)
        assert container["args"] == ["journal", "--follow"]
        assert container["ports"][0]["containerPort"] == settings.recovery.metrics_port
        template = deployment["spec"]["template"]
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(
            settings.recovery.metrics_port
        )
        grace = template["spec"]["terminationGracePeriodSeconds"]
        for registration in settings.journal:
            assert registration.timeout_s + STOP_TIMEOUT_S < grace, overlay
