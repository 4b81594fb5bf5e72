"""`make fuzz`: Hypothesis against the real ingress process and a real broker (issue 12).

Every route and method, hostile header bytes, content encodings, mutated deliveries of every
tenant kind with and without valid credentials, extreme values in time, id and number fields.
Each request must get a JSON answer that is not a 5xx; every record on every topic must be
accounted for by the accepted delivery that reported it, for a tenant its credential may publish
for; a tenant's identity provider must never be asked about a delivery naming another tenant; no
credential may appear in the log; RSS must stay bounded. A failure is shrunk to a minimal request.
"""

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings

from tests.fuzz.harness import Harness
from tests.fuzz.model import FuzzCase
from tests.fuzz.regressions import EXAMPLES
from tests.fuzz.settings import REGRESSIONS, REQUESTS, SEED, TIMEOUT_S
from tests.fuzz.strategies import fuzz_cases


@pytest.mark.timeout(TIMEOUT_S)
def test_fuzz_ingress(fuzz_harness: Harness) -> None:
    @settings(
        max_examples=REQUESTS,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        report_multiple_bugs=True,
        print_blob=False,
    )
    @given(case=fuzz_cases())
    def one_request(case: FuzzCase) -> None:
        fuzz_harness.check(case)

    for case in EXAMPLES if REGRESSIONS else ():
        one_request = example(case=case)(one_request)
    if SEED is not None:
        one_request = seed(int(SEED))(one_request)
    failure: Exception | None = None
    try:
        one_request()
    except Exception as exc:  # re-raised below, after the whole-run checks
        failure = exc
    problems = fuzz_harness.finish()
    if failure is not None:
        for problem in problems:
            failure.add_note(problem)
        raise failure
    report = (
        [*problems, fuzz_harness.findings_report()] if fuzz_harness.tally.findings else problems
    )
    assert not report, "\n\n".join(report)
