# One image for every Workbench process; the command picks the process:
#   python -m services.apiserver | services.devops_server | services.syncer | services.event_proxy
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY workbench workbench
COPY libs libs
COPY services services
COPY protos protos
COPY tools tools
# tools/genproto.py runs with this interpreter: protoc, its mypy plugins, google/api protos.
RUN pip install --no-cache-dir -c constraints.txt \
        grpcio-tools mypy-protobuf googleapis-common-protos \
    && pip install --no-cache-dir --prefix=/install -c constraints.txt . \
    && python tools/genproto.py

FROM python:3.11-slim
RUN useradd --system --uid 10001 workbench
WORKDIR /app
COPY --from=build /install /usr/local
COPY --from=build /src/gen /app/gen
COPY --from=build /src/services/devops_server/migrations /app/services/devops_server/migrations
ENV PYTHONPATH=/app/gen \
    PYTHONUNBUFFERED=1 \
    WORKBENCH_BIND_HOST=0.0.0.0 \
    WORKBENCH_LOG_FORMAT=json
USER workbench
CMD ["python", "-m", "services.apiserver"]
