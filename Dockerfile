# syntax=docker/dockerfile:1
# Ferryman's controller image: `docker build -t ferryman:0.1.0 .`
#
# Two stages: the first builds the wheel from the sources (the same `pip wheel` step the install
# tests in tests/integration/install run), the second installs it into a slim Python with git
# (the pull-request and git-push strategies drive the git CLI) and nothing else. The process runs
# as an unprivileged user and never writes outside /tmp, so the Deployment can mount the root
# filesystem read-only (config/manager/deployment.yaml).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel . -w dist --no-deps

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 ferryman \
    && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin ferryman
COPY --from=build /src/dist/ /tmp/dist/
RUN pip install /tmp/dist/*.whl && rm -rf /tmp/dist
USER 65532:65532
WORKDIR /tmp
# webhook/API/UI; health probes and /metrics (the defaults of `ferryman controller`)
EXPOSE 8080 9440
# `ferryman controller` shuts down cleanly (releasing its Lease, so the other replica leads at
# once) on SIGINT; the container runtime sends the image's STOPSIGNAL when a pod is deleted.
STOPSIGNAL SIGINT
ENTRYPOINT ["ferryman", "controller"]
