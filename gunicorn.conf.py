"""gunicorn for the console, fit for build uploads (the image's CMD uses it).

- gthread workers: a build upload (up to GATEHOUSE_BUILD_MAX_BYTES) holds a
  thread for as long as the client takes to send it; with sync workers one
  slow upload would hold a whole process and the probes behind it. Threads
  keep the other requests served meanwhile.
- timeout 120: the worker heartbeat timeout, long enough for a large upload
  to be read and staged, not so long that a stuck worker lingers. The proxy
  (Caddy) buffers nothing and has its own limits in front.
- graceful_timeout 60: an upload in flight on a deploy gets time to finish.
- keepalive 5: longer than nothing (the proxy reuses connections), shorter
  than the proxy's idle timeout so gunicorn never closes one the proxy reuses.
- limit_request_line / fields: gunicorn's defaults, named so they are known;
  bodies are bounded by Django (DATA_UPLOAD_MAX_MEMORY_SIZE) and the build
  size limit, not here.
- max_requests with jitter: a slow leak never grows without bound.
- worker_tmp_dir /dev/shm: the heartbeat file off the (possibly slow or
  read-only) container disk.
Every value can be overridden with GUNICORN_* environment variables.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "60"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = 100
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Only the proxy on the compose network talks to gunicorn; it sets
# X-Forwarded-Proto, which production settings trust (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
accesslog = "-"
errorlog = "-"
# The request id the console returns, so access lines match the app's lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'


def on_starting(server):
    # The system checks (sites/checks.py) before any worker takes a request:
    # a production console with a missing setting does not start at all.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("check", fail_level="ERROR")
