FROM python:3.11-slim

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
