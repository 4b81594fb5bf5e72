"""The benchmark: the ingress measured side by side with the ceilings of its stack."""
