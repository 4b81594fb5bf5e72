"""The fuzz run's knobs, from the environment (`make fuzz` sets them)."""

import os

# Requests Hypothesis generates: `make test` runs the default sample, `make fuzz` 10,000.
REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "500"))
# Unset: derandomized (the same requests every run, for CI). A number: that seed.
SEED = os.environ.get("FUZZ_SEED") or None
# 1: count every finding over the whole budget instead of stopping at the first to shrink it.
KEEP_GOING = os.environ.get("FUZZ_KEEP_GOING") == "1"
# 0: skip the regression examples (Hypothesis stops at failing explicit examples before it
# generates anything, so this shows what generation alone finds, shrunk).
REGRESSIONS = os.environ.get("FUZZ_REGRESSIONS") != "0"
# Generous: a failing run spends extra requests shrinking, each a real exchange.
TIMEOUT_S = 300 + REQUESTS // 5
# How much the ingress' RSS may grow over the run, against the warm-up baseline: what it still
# holds at the end (a leak), and at its peak (a 1 GiB gzip bomb decompressed without a bound
# goes far past it; bounded decompression of one costs about 65 MiB today).
RSS_LIMIT_MB = int(os.environ.get("FUZZ_RSS_LIMIT_MB", "150"))
RSS_PEAK_LIMIT_MB = int(os.environ.get("FUZZ_RSS_PEAK_LIMIT_MB", "300"))
