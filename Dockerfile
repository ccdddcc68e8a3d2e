# The console's production image. Two stages: the build stage installs the
# runtime requirements (requirements.txt only: no moto, pytest or playwright)
# into a virtualenv and collects the static files; the final stage carries the
# virtualenv, the code and nothing else, and runs as a non-root user.
#
# Python 3.12, the minor of the edge function's runtime (GATEHOUSE_EDGE_RUNTIME
# python3.12): the console compiles the edge zip's .pyc files itself, and
# they only load on the version that wrote them (docs/provisioning.md,
# "Byte-code for the function's runtime"). Both stages use the same tag.
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
WORKDIR /app
COPY . .
# collectstatic imports production settings, which insist on their secrets;
# these throwaway values never reach a running container.
RUN GATEHOUSE_ENV=production SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    GATEHOUSE_ENCRYPTION_KEYS=build-only GATEHOUSE_VAR_DIR=/tmp/var \
    python manage.py collectstatic --noinput

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    GATEHOUSE_ENV=production \
    GATEHOUSE_VAR_DIR=/app/var \
    GATEHOUSE_EDGE_BUILD_PYTHON=/usr/local/bin/python3.12
# Fails the image build, rather than every release silently shipping sources only.
RUN python3.12 -s -S -c "import base64, importlib.util, json, marshal"
RUN useradd --create-home --uid 1000 --user-group gatehouse
COPY --from=build /opt/venv /opt/venv
# Code and static files owned by root: the console cannot rewrite itself.
COPY --from=build /app /app
WORKDIR /app
# The only writable places: var/ (beat's schedule), a volume in
# docker-compose.yml, and /tmp (an upload's temporary file on the web, a
# staged zip read back on the worker). Staged uploads live in the S3 staging
# bucket (GATEHOUSE_STAGING_BUCKET, required: gatehouse.E010).
RUN mkdir -p /app/var/media /app/var/celery && chown -R gatehouse:gatehouse /app/var
VOLUME ["/app/var"]
USER gatehouse
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# gunicorn.conf.py: gthread workers and timeouts fit for build uploads.
CMD ["gunicorn", "console.wsgi", "--config", "gunicorn.conf.py"]
