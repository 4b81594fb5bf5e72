"""Every configuration key, table and environment variable the code reads is documented.

Each key set the code reads (a settings dataclass's keys, or a key-by-key reader's; found by
``code_facts``) belongs to one heading of the docs, and each of its keys must be the first cell of
a table row under that heading. A key set
that appears in the code without an entry in ``WHERE_DOCUMENTED`` fails too, naming itself.
"""

import pytest

from tests.docs import code_facts
from tests.docs.markdown import DOCS, code_spans, first_cells, headings, section

# key set (module.NAME or module.function) -> (page, heading that documents its keys)
WHERE_DOCUMENTED = {
    "ingest.settings.ServerSettings": ("configuration.md", "`[server]`"),
    "ingest.settings.AdobeIoSettings": ("configuration.md", "`[adobe_io]`"),
    "ingest.settings.LimitSettings": ("configuration.md", "`[limits]`"),
    "ingest.tenant_settings.Tenant": ("configuration.md", "`[[tenants]]`"),
    "ingest.tenant_settings.OAuthSettings": ("configuration.md", "`[tenants.oauth]`"),
    "ingest.tenant_settings.OAuthClientSettings": ("configuration.md", "`[oauth]`"),
    "pipeline.settings.KafkaSettings": ("configuration.md", "`[kafka]`"),
    "pipeline.settings.TopicSettings": ("configuration.md", "`[topics]`"),
    "pipeline.workers.settings.WorkerSettings": ("configuration.md", "`[worker]`"),
    "pipeline.consume.settings.ConsumeSettings": ("configuration.md", "`[worker]`"),
    "pipeline.workers.alerting.settings.AlertingSettings": ("configuration.md", "`[alerting]`"),
    "pipeline.workers.alerting.settings.WebhookSettings": ("configuration.md", "`[alerting]`"),
    "pipeline.workers.scoring.settings.ScoringSettings": ("configuration.md", "`[scoring]`"),
    "pipeline.marketo.settings.MarketoInstance": ("configuration.md", "`[[marketo]]`"),
    "ingest.recover.settings.JournalRegistration": ("configuration.md", "`[[journal]]`"),
    "ingest.recover.settings.RecoverySettings": ("configuration.md", "`[recovery]`"),
    "pipeline.workers.scoring.crossings.ScoreThreshold": (
        "configuration.md",
        "`[[scoring.thresholds]]`",
    ),
    "pipeline.workers.scoring.crossings.ScoreAction": ("configuration.md", "Crossing actions"),
    "pipeline.workers.scoring.settings.ScoringFile": ("workers.md", "The scoring file"),
    "pipeline.workers.scoring.settings.Coefficients": ("workers.md", "`[logistic_regression]`"),
    "pipeline.workers.scoring.models.parse_decayed_weights": ("workers.md", "`[decayed_weights]`"),
    "pipeline.workers.scoring.models.parse_logistic_regression": (
        "workers.md",
        "The coefficients file",
    ),
    "pipeline.workers.alerting.rule_file.RULE_KEYS": ("workers.md", "`[[rules]]`"),
    "pipeline.workers.alerting.rule_file._condition": ("workers.md", "`where` conditions"),
    "pipeline.workers.alerting.rule_file._threshold": ("workers.md", "`threshold`"),
    "pipeline.workers.alerting.rule_file._after": ("workers.md", "`after`"),
    "pipeline.workers.alerting.rule_file._silence": ("workers.md", "`silence`"),
}
# The tables of a file: each must have a heading of its own, as `[name]` or `[[name]]`.
TABLE_SETS = {"ingest.settings.SECTIONS", "pipeline.workers.settings.SECTIONS"}

KEY_SETS = code_facts.config_key_sets()


def test_the_key_sets_are_found_in_the_code() -> None:
    # Guards the AST reading itself: if it found nothing, every test below would pass vacuously.
    found = {k.where for k in KEY_SETS}
    assert {"ingest.settings.ServerSettings", "pipeline.settings.KafkaSettings"} <= found
    assert len(found) >= len(WHERE_DOCUMENTED)


def test_every_key_set_has_a_place_in_the_docs() -> None:
    unplaced = sorted({k.where for k in KEY_SETS} - set(WHERE_DOCUMENTED) - TABLE_SETS)
    assert not unplaced, (
        f"key sets without a documented place: {unplaced}; document their keys under a heading "
        "and add the heading to WHERE_DOCUMENTED"
    )


@pytest.mark.parametrize(
    "key_set", [k for k in KEY_SETS if k.where not in TABLE_SETS], ids=lambda k: k.where
)
def test_every_key_is_a_row_under_its_heading(key_set: code_facts.KeySet) -> None:
    page, heading = WHERE_DOCUMENTED[key_set.where]
    documented = first_cells(section(heading, page))
    missing = sorted(key_set.keys - documented)
    assert not missing, f"docs/{page} '{heading}' has no row for {missing}"


@pytest.mark.parametrize("where", sorted(TABLE_SETS))
def test_every_table_has_a_heading(where: str) -> None:
    (tables,) = [k.keys for k in KEY_SETS if k.where == where]
    present = headings("configuration.md")
    missing = sorted(t for t in tables if f"`[{t}]`" not in present and f"`[[{t}]]`" not in present)
    assert not missing, f"docs/configuration.md has no heading for the table(s) {missing}"


def test_every_environment_variable_is_in_the_override_table() -> None:
    variables = code_facts.environment_variables()
    assert "KAFKA_BOOTSTRAP_SERVERS" in variables  # the AST reading found them at all
    overrides = first_cells(section("Environment overrides", "configuration.md"))
    missing = sorted(variables - overrides)
    assert not missing, f"docs/configuration.md 'Environment overrides' lacks {missing}"
    stale = sorted(overrides - variables)
    assert not stale, f"docs/configuration.md 'Environment overrides' lists {stale}, unread"


def test_no_documented_key_is_unknown_to_the_code() -> None:
    # The other direction: a row left behind after a key was removed from the code.
    known = {key for k in KEY_SETS for key in k.keys}
    for where, (page, heading) in WHERE_DOCUMENTED.items():
        stale = sorted(first_cells(section(heading, page)) - known)
        assert not stale, f"docs/{page} '{heading}' documents {stale}, which {where} lacks"


def test_the_config_files_in_deploy_are_named() -> None:
    text = (DOCS / "configuration.md").read_text("utf-8")
    assert {"deploy/local/datastreams.toml", "deploy/workers/worker.toml"} <= code_spans(text)
