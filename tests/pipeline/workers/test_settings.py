"""Worker configuration: defaults, overrides, errors that name the key, secrets masked."""

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.workers.scoring.models import LogisticRegression
from pipeline.workers.settings import load_worker_settings, parse_worker_settings
from tests.pipeline.workers.fakes import OLD_SIGNING_SECRET, SIGNING_SECRET
from tests.pipeline.workers.harness import DEPLOY


def test_the_local_config_loads_for_both_workers() -> None:
    env = {"DATASTREAMS_WORKER_CONFIG": str(DEPLOY / "worker.toml")}
    alerting = load_worker_settings("alerting", env)
    scoring = load_worker_settings("scoring", env)
    assert alerting.alerting is not None
    assert alerting.scoring is None
    assert (alerting.port, scoring.port) == (9101, 9102)
    assert alerting.consume.group_id == "datastreams-alerting"
    assert alerting.consume.start_from == "latest"
    assert scoring.consume.start_from == "earliest"
    assert alerting.consume.dedup_window_s >= 24 * 3600
    assert len(alerting.alerting.rules.rules) == 12


def test_environment_overrides() -> None:
    env = {
        "DATASTREAMS_WORKER_CONFIG": str(DEPLOY / "worker.toml"),
        "DATASTREAMS_WORKER_PORT": "9300",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "DATASTREAMS_TOPIC_PREFIX": "staging",
        "DATASTREAMS_ALERT_WEBHOOK_URL": "https://hooks.example.com/T000/B000/XXXX",
        "DATASTREAMS_LOG_LEVEL": "debug",
    }
    s = load_worker_settings("alerting", env)
    assert (s.port, s.kafka.bootstrap_servers, s.topics.prefix, s.log_level) == (
        9300,
        "kafka:9092",
        "staging",
        "DEBUG",
    )
    assert s.alerting is not None
    assert s.alerting.webhook.url is not None
    assert s.alerting.webhook.url.reveal().endswith("XXXX")
    assert "XXXX" not in repr(s)


def test_marketo_secret_from_the_environment_never_shows(tmp_path: Path) -> None:
    doc = {
        "marketo": [
            {
                "munchkin_id": "123-ABC-456",
                "identity_url": "https://123-ABC-456.mktorest.com/identity/",
                "rest_url": "https://123-ABC-456.mktorest.com/rest",
                "client_id": "id",
                "client_secret_env": "MKTO_SECRET",
                "lists": {"followup": 1001},
            }
        ]
    }
    s = parse_worker_settings("scoring", doc, {"MKTO_SECRET": "s3cr3t-value"}, DEPLOY)
    [m] = s.marketo
    assert m.identity_url == "https://123-ABC-456.mktorest.com/identity"
    assert m.client_secret.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(s)
    assert m.lists == {"followup": 1001}
    with pytest.raises(ConfigError, match="client_secret_env naming a set environment variable"):
        parse_worker_settings("scoring", doc, {}, DEPLOY)


def test_worker_secrets_take_the_env_and_file_forms_and_never_show(tmp_path: Path) -> None:
    secret_file = tmp_path / "mkto-secret"
    secret_file.write_text("from-a-mounted-file\n")
    marketo = {
        "munchkin_id": "123-ABC-456",
        "identity_url": "https://123-ABC-456.mktorest.com/identity",
        "rest_url": "https://123-ABC-456.mktorest.com/rest",
        "client_id": "id",
        "client_secret": f"file:{secret_file}",
    }
    doc = {"alerting": {"webhook_url": "env:HOOK"}, "marketo": [marketo]}
    env = {"HOOK": "https://hooks.example.com/T000/B000/SECRETPATH"}
    s = parse_worker_settings("alerting", doc, env, DEPLOY)
    assert s.alerting is not None
    assert s.alerting.webhook.url is not None
    assert s.alerting.webhook.url.reveal() == env["HOOK"]
    assert s.marketo[0].client_secret.reveal() == "from-a-mounted-file"
    assert "SECRETPATH" not in repr(s)
    assert "mounted" not in repr(s)
    with pytest.raises(
        ConfigError, match=r"'alerting\.webhook_url' refers to environment variable"
    ):
        parse_worker_settings("alerting", doc, {}, DEPLOY)
    secret_file.unlink()
    with pytest.raises(ConfigError, match=r"'marketo\[0\].client_secret' refers to file"):
        parse_worker_settings("alerting", doc, env, DEPLOY)


def test_logistic_regression_model_from_the_example_file(tmp_path: Path) -> None:
    (tmp_path / "scoring.toml").write_text(
        f'model = "logistic-regression"\nemit_threshold = 2\n'
        f'[logistic_regression]\ncoefficients_file = "{DEPLOY / "lead-model.example.json"}"\n'
    )
    s = parse_worker_settings("scoring", {}, {}, tmp_path)
    assert s.scoring is not None
    assert isinstance(s.scoring.model, LogisticRegression)
    assert s.scoring.emit_threshold == 2.0


@pytest.mark.parametrize(
    ("kind", "doc", "message"),
    [
        (
            "alerting",
            {"worker": {"commit_interval_seconds": "1"}},
            "'worker.commit_interval_seconds'",
        ),
        ("alerting", {"worker": {"batch": 1}}, "Config [worker] has unknown key(s) ['batch']"),
        ("alerting", {"alerting": {"rules_file": "missing.toml"}}, "names"),
        ("alerting", {"alerting": {"start_from": "now"}}, "Expected one of ['earliest', 'latest']"),
        ("alerting", {"alerting": {"webhook_url": "hooks.slack.com"}}, "webhook_url"),
        ("alerting", {"ingress": {}}, "unknown section(s) ['ingress']"),
        ("scoring", {"scoring": {"config_file": "nope.toml"}}, "scoring.config_file"),
        ("reporting", {}, "Worker kind 'reporting'"),
        (
            "scoring",
            {"marketo": [{"munchkin_id": "x", "identity_url": "ftp://x", "rest_url": "https://x"}]},
            "'marketo[0].identity_url' has value 'ftp://x'. Expected a URL.",
        ),
        (
            "scoring",
            {"marketo": [{"munchkin_id": "x", "client_secret": "s", "rest_url": "https://x"}]},
            "'marketo[0]' needs identity_url and rest_url",
        ),
    ],
)
def test_errors_name_the_key(kind: str, doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_worker_settings(kind, doc, {}, DEPLOY)
    assert message in str(raised.value)


def test_webhook_signing_secrets_resolve_and_a_bad_one_is_refused_without_its_value(
    tmp_path: Path,
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SIGNING_SECRET + "\n")
    doc = {
        "alerting": {
            "webhook_url": "https://hooks.example.com/x",
            "webhook_signing_secrets": [f"file:{secret_file}", "env:OLD_SECRET"],
        }
    }
    s = parse_worker_settings("alerting", doc, {"OLD_SECRET": OLD_SIGNING_SECRET}, DEPLOY)
    assert s.alerting is not None
    secrets = s.alerting.webhook.secrets
    assert [x.reveal() for x in secrets] == [SIGNING_SECRET, OLD_SIGNING_SECRET]
    assert "whsec" not in repr(s)
    doc["alerting"]["webhook_signing_secrets"] = ["not-base64-!!!"]
    with pytest.raises(ConfigError, match="webhook_signing_secrets") as refused:
        parse_worker_settings("alerting", doc, {}, DEPLOY)
    assert "!!!" not in str(refused.value)


def test_a_threshold_reaches_the_scoring_settings() -> None:
    threshold = {"id": "mql", "tenant": "123-ABC-456", "up_at": 60, "down_at": 40}
    threshold["on_up"] = [{"action": "add_to_list", "list": "mql"}]
    s = parse_worker_settings("scoring", {"scoring": {"thresholds": [threshold]}}, {}, DEPLOY)
    assert s.scoring is not None
    [t] = s.scoring.thresholds
    assert (t.id, t.tenant, t.up_at, t.low, t.on_up[0].list_name) == (
        "mql",
        "123-ABC-456",
        60.0,
        40.0,
        "mql",
    )
