# deskpulse: `docker build -t deskpulse . && docker run -p 3000:3000 --env-file .env -v deskpulse-data:/data deskpulse`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/deskpulse.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY metrics ./metrics
COPY storage ./storage
# The user and group both get the fixed id 10001 (chown of a bind mount, fsGroup); /data is made
# empty, not from /etc/skel, since it becomes the data volume.
RUN pip install ".[postgres]" \
    && groupadd --gid 10001 deskpulse \
    && useradd --uid 10001 --gid deskpulse --home-dir /data --no-create-home deskpulse \
    && install -d -o deskpulse -g deskpulse /data

USER deskpulse
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DESKPULSE_PORT', '3000'), timeout=4)"

CMD ["deskpulse", "serve"]
