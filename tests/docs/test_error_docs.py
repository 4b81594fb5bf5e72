"""Every error code and dead-letter reason the code defines is documented, and nothing more."""

from pipeline.consume.record import Partition, Record
from pipeline.workers.effects.effect import Effect, failure
from pipeline.workers.errors import SinkError
from tests.docs import code_facts
from tests.docs.markdown import code_spans, column, first_cells, section


def test_every_error_code_is_on_the_http_page() -> None:
    codes = code_facts.error_codes()
    assert {"internal", "tenant_mismatch", "overloaded"} <= codes  # the subclass walk worked
    answers = section("Answers", "http.md")
    missing = sorted(codes - code_spans("\n".join(answers.lines)))
    assert not missing, f"docs/http.md 'Answers' does not mention {missing}"


def test_the_answers_table_names_only_real_codes() -> None:
    listed = column(section("Answers", "http.md"), 1)
    stale = sorted(listed - code_facts.error_codes())
    assert not stale, f"docs/http.md 'Answers' lists {stale}, which ingest/errors.py lacks"


def test_the_ingress_dead_letter_reasons_are_the_documented_ones() -> None:
    reasons = code_facts.ingress_dead_letter_reasons()
    assert {"unknown_type", "malformed_json"} <= reasons  # the AST reading worked
    documented = first_cells(section("Dead-letter reasons", "http.md"))
    assert documented == reasons, (
        f"undocumented: {sorted(reasons - documented)}; "
        f"documented but not in the code: {sorted(documented - reasons)}"
    )


def test_the_worker_dead_letter_reasons_are_the_documented_ones() -> None:
    reasons = code_facts.worker_dead_letter_reasons()
    assert "handler_error" in reasons
    documented = first_cells(section("Dead letters of the workers", "workers.md"))
    assert documented == reasons, (
        f"undocumented: {sorted(reasons - documented)}; "
        f"documented but not in the code: {sorted(documented - reasons)}"
    )


def test_the_sink_dead_letter_reasons_are_the_documented_ones() -> None:
    record = Record(Partition("t", 0), 0, 0, None, None, (), "", "", "", "")
    effect = Effect("webhook", "k", record)
    failing, refusing = SinkError("x"), SinkError("x")
    refusing.retriable = False
    reasons = {failure(effect, failing).reason, failure(effect, refusing).reason}
    documented = first_cells(section("Sink dead letters", "workers.md"))
    assert documented == reasons
