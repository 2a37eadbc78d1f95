# syntax=docker/dockerfile:1
#
# Kefu's Python 3.11 processes in one image, from requirements/app.lock:
#   - the action server   python -m actions.server --actions actions --port 5055   (default command)
#   - the console         python -m console                                      (:8080, ONE replica)
#   - the notifier        python -m actions.notifier                             (:5056 /health, restock notices)
#   - the demo-store seed python -m actions.store seed --if-empty                  (one-shot)
#   - the migrations      python -m kernel.migrations upgrade (= kefu-migrate upgrade) (one-shot)
#
# Build from the project root (no model needed for this image):
#
#   docker build -f deploy/docker/Dockerfile.app -t kefu/app:0.1.0 .
#
# The knowledge-base index (var/kb) is built here, at image build time, from knowledge_base/faq,
# so every action-server replica serves the same index. The web widget bundle is built by esbuild
# in a Node stage (webchat/dist is never copied from the host). Runs as the user kefu (uid 10001).
#
# The optional English adaptation stack of the knowledge base (docs/operations.md, "Optional English
# adaptation stack": PyTorch, sentence-transformers, MiniLM, bge-small-en) is left out unless asked for with
# --build-arg KB_ENGLISH=1; then torch goes in first, as in scripts/ensure-venv: requirements/kb-english.lock
# pins the CPU build (torch==2.13.0+cpu), which comes from PyTorch's CPU index. TORCH_INDEX_URL points
# elsewhere for a local mirror.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# -- widget: webchat/dist/kefu-widget.js --------------------------------------------------------
FROM ${NODE_IMAGE} AS widget
WORKDIR /src/webchat
COPY webchat/package.json webchat/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY webchat/build.mjs ./
COPY webchat/src/ src/
RUN npm run build

# -- build: the virtualenv, exactly the lock file ----------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG KB_ENGLISH=0
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements/app.lock /tmp/app.lock
COPY requirements/kb-english.lock /tmp/kb-english.lock
# As scripts/ensure-venv: each lock with --require-hashes (every file is the one the lock names) and
# --no-deps (each layer installs its own lines, so nothing arrives unhashed; pip check proves the
# layers complete). torch, first and alone, stays outside hash mode (its CPU index is not PyPI); its
# dependencies come, hashed, from kb-english.lock.
RUN /opt/venv/bin/python -m pip install --upgrade pip \
 && if [ "${KB_ENGLISH}" = 1 ]; then /opt/venv/bin/python -m pip install --no-deps --index-url "${TORCH_INDEX_URL}" torch==2.13.0; fi \
 && /opt/venv/bin/python -m pip install --require-hashes --no-deps -r /tmp/app.lock \
 && if [ "${KB_ENGLISH}" = 1 ]; then /opt/venv/bin/python -m pip install --require-hashes --no-deps --extra-index-url "${TORCH_INDEX_URL}" -r /tmp/kb-english.lock; fi \
 && /opt/venv/bin/python -m pip check

# -- source: bot/ as the processes use it (texts; no training data, no test stories) -----------------
FROM ${PYTHON_IMAGE} AS source
WORKDIR /src
COPY bot/ bot/
RUN rm -rf bot/data bot/tests bot/tests-backend-down

# -- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG KB_ENGLISH=0
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/home/kefu \
    KEFU_CACHE=/opt/kefu-cache
RUN groupadd --system --gid 10001 kefu \
 && useradd --system --uid 10001 --gid kefu --home-dir /home/kefu --create-home --shell /usr/sbin/nologin kefu
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY actions/ actions/
COPY console/ console/
COPY knowledge_base/ knowledge_base/
COPY launcher/ launcher/
# bot/responses: the texts kernel.i18n serves to the actions; the Rasa-only parts are unused here.
COPY --from=source /src/bot/ bot/
COPY kernel/ kernel/
COPY webchat/demo/ webchat/demo/
COPY --from=widget /src/webchat/dist/kefu-widget.js webchat/dist/kefu-widget.js
COPY deploy/docker/healthcheck.py deploy/docker/healthcheck.py
# The FAQ index, built once here (encoders ship inside their packages: nothing is downloaded).
# var/kb stays owned by root, read-only for the processes; var/ itself is the user's, and var/uploads (the
# widget's photos and files, a volume in compose and Kubernetes) too.
# With the English stack (KB_ENGLISH=1), bge-small-en (English knowledge bases) is converted from its packaged
# ONNX export once, here, into $KEFU_CACHE/encoders: the containers' root filesystem is read-only.
RUN python -m knowledge_base build \
 && if [ "${KB_ENGLISH}" = 1 ]; then python -m knowledge_base.english.onnx_import; fi \
 && mkdir -p var/uploads && chown kefu:kefu var var/uploads && chmod 700 var/uploads
USER 10001:10001
EXPOSE 5055 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=4 \
  CMD ["python", "deploy/docker/healthcheck.py", "http://127.0.0.1:5055/health"]
CMD ["python", "-m", "actions.server", "--actions", "actions", "--port", "5055"]
