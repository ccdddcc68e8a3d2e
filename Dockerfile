# The edge function runs on python3.12 (GATEHOUSE_EDGE_RUNTIME); its .pyc
# files must be written by a CPython 3.12 (docs/provisioning.md). Only the
# interpreter is taken, from the official image (both -slim tags follow the
# same Debian release); it never runs the console.
FROM python:3.12-slim AS edge-python

FROM python:3.11-slim
COPY --from=edge-python /usr/local/bin/python3.12 /usr/local/bin/python3.12
COPY --from=edge-python /usr/local/lib/libpython3.12.so.1.0 /usr/local/lib/
COPY --from=edge-python /usr/local/lib/python3.12 /usr/local/lib/python3.12
# Fails the image build, rather than every release silently shipping sources only.
RUN ldconfig && python3.12 -s -S -c "import base64, importlib.util, json, marshal"

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 1000 gatehouse
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .

# collectstatic imports production settings, which insist on their secrets;
# these throwaway values never reach a running container.
RUN GATEHOUSE_ENV=production SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    GATEHOUSE_ENCRYPTION_KEYS=build-only python manage.py collectstatic --noinput

USER gatehouse
ENV GATEHOUSE_ENV=production
EXPOSE 8000
CMD ["gunicorn", "console.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
