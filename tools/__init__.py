"""Developer tools around the ingress (not shipped): an upstream simulator, a benchmark, the
chaos run, the demo, the local Kafka broker, and the process runner they and the tests share."""
