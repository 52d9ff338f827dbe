# User-code image for Dagster on Kubernetes (see docs/deploy.md): the code location serves
# assets.definitions over gRPC; runs launched by K8sRunLauncher start from this same image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RUNTIME__DLTHUB_TELEMETRY=false \
    UV_VERSION=0.13.8

WORKDIR /opt/sourcegate

# Dependencies first, from the hash-pinned lock file, so code changes reuse this layer.
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv pip install --system --no-cache --require-hashes -r requirements.lock \
    && pip install --no-cache-dir dagster-k8s==0.29.27

COPY pipelines/ pipelines/
COPY assets/ assets/
COPY quality/ quality/
COPY sources/ sources/
COPY data/ data/
COPY .dlt/config.toml .dlt/config.toml
COPY workspace.yaml dagster.yaml ./
RUN uv pip install --system --no-cache --no-deps -e . \
    && python -c "import assets.definitions"  # fail the build on a broken code location

EXPOSE 4000
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "assets.definitions"]
