# invoicebot as a service: `invoicebot serve --http` on port 3000, /health and /ready for the orchestrator.
# Build from the repository root:  docker build -t invoicebot .
FROM python:3.11-slim

# `invoicebot serve` restarts itself under python -OO (no docstrings: 5 MB less at idle); its
# .opt-2.pyc files are compiled at build time below, since the running user cannot write them
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY providers ./providers
# compile the gettext catalogs (.po -> .mo) so the image does not parse them at start-up; the
# bot reads a .po directly when its .mo is missing, so this step is an optimisation, not a must
RUN pip install "babel>=2.14,<3" \
 && python -c "import pathlib; from babel.messages.pofile import read_po; from babel.messages.mofile import write_mo; \
[write_mo(p.with_suffix('.mo').open('wb'), read_po(p.open('rb'))) for p in pathlib.Path('commands/i18n/locale').glob('*/LC_MESSAGES/*.po')]" \
 && pip install . \
 && python -OO -m compileall -q -j 0 /usr/local/lib/python3.11 \
 && rm -rf /src

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin invoicebot
USER invoicebot
WORKDIR /home/invoicebot

EXPOSE 3000
# process up; the load balancer asks /ready (503 while starting, migrating or shutting down)
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/health', timeout=2).status == 200 else 1)"]
# SIGTERM: /ready turns 503, in-flight provider calls finish (INVOICEBOT_SHUTDOWN_GRACE_SECONDS), exit 0
STOPSIGNAL SIGTERM
ENTRYPOINT ["invoicebot"]
CMD ["serve", "--http", "--host", "0.0.0.0", "--port", "3000"]
