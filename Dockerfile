# datastreams: the ingress and the workers in one image.
#   docker build -t datastreams .
#   docker run -p 8080:8080 -e KAFKA_BOOTSTRAP_SERVERS=… datastreams                 # ingress
#   docker run -v "$PWD/deploy/workers:/etc/datastreams:ro"
#              -e DATASTREAMS_WORKER_CONFIG=/etc/datastreams/worker.toml
#              datastreams worker alerting                                          # a worker
# Configuration comes from outside (deploy/k8s mounts ConfigMaps); the image holds only code.
# Runs as uid 10001 with a read-only root filesystem (deploy/k8s); writes nothing but /tmp.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the project and its runtime dependencies (wheels only) --------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ONLY_BINARY=:all:
WORKDIR /src
RUN python -m venv /opt/datastreams
COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY pipeline ./pipeline
COPY tools ./tools
# PIP_ONLY_BINARY: every dependency and the build backend come as wheels: no compiler needed.
RUN /opt/datastreams/bin/pip install --no-cache-dir . \
    && /opt/datastreams/bin/python -m compileall -q /opt/datastreams/lib

# ---- runtime: the virtualenv only; no pip cache, no sources, no build tools ------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 datastreams \
    && useradd --system --uid 10001 --gid datastreams --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin datastreams
COPY --from=build /opt/datastreams /opt/datastreams
ENV PATH=/opt/datastreams/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001
# 8080: ingress (/v1/…, /healthz, /readyz, /metrics); 9101/9102: alerting/scoring worker.
EXPOSE 8080 9101 9102
ENTRYPOINT ["datastreams"]
CMD ["ingress"]
