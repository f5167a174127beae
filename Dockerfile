# One image for the gateway, the relay, the worker, the migration step and JupyterLab.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 omniflow
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY stack ./stack
RUN pip install '.[lab]'

COPY notebooks ./notebooks
COPY lessons ./lessons
RUN chown -R omniflow:omniflow /app
USER omniflow

CMD ["python", "-m", "omniflow.gateway"]
