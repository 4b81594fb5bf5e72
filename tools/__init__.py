"""Developer tools around the ingress: an upstream simulator and a benchmark (not shipped)."""
