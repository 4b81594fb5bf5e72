# deploy/kafka/kafka.mk: a local Apache Kafka 4.x broker (KRaft, single node, 127.0.0.1).
# Included by the main Makefile, which must define PY (the venv interpreter) and the
# `install` target. Every target is idempotent. See `python -m tools.kafka --help`.
#
#   make kafka-up KAFKA_PORT=19092          # controller port defaults to KAFKA_PORT + 1
#   make kafka-down

KAFKA_PORT ?= 9092
# Empty: tools.kafka uses KAFKA_PORT + 1.
KAFKA_CONTROLLER_PORT ?=
KAFKA_DATA_DIR ?= var/kafka
KAFKA_LIBS_DIR ?= deploy/kafka/libs
KAFKA_BROKER = $(PY) -m tools.kafka
KAFKA_UP_ARGS = --port $(KAFKA_PORT) \
	$(if $(KAFKA_CONTROLLER_PORT),--controller-port $(KAFKA_CONTROLLER_PORT) )--data-dir \
	$(KAFKA_DATA_DIR) --libs-dir $(KAFKA_LIBS_DIR)

.PHONY: kafka-jars kafka-up kafka-down kafka-status

kafka-jars: install ## Fetch the Kafka broker jars from Maven Central (once; cached)
	$(KAFKA_BROKER) jars --libs-dir $(KAFKA_LIBS_DIR)

kafka-up: install ## Start the local Kafka broker on 127.0.0.1:KAFKA_PORT (default 9092), wait until ready
	$(KAFKA_BROKER) up $(strip $(KAFKA_UP_ARGS))

kafka-down: ## Stop the local Kafka broker (SIGTERM, SIGKILL after 30 s)
	$(KAFKA_BROKER) down --data-dir $(KAFKA_DATA_DIR)

kafka-status: ## Show whether the local Kafka broker runs (exit 1 if not)
	@$(KAFKA_BROKER) status --data-dir $(KAFKA_DATA_DIR)
