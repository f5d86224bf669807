"""WSGI entry point for gunicorn: ``gunicorn gateway.wsgi:app`` (``sambat web`` runs exactly this)."""

import gc

from gateway.app import create_app
from gateway.observability import configure_logging, use_directory
from gateway.settings import load_settings

settings = load_settings()
configure_logging(settings.observability.log_format)
use_directory(settings.observability.metrics_dir)  # every gunicorn worker counts into one place for /metrics
app = create_app(settings)
# What is loaded now (the app, its modules, settings, the router's tables: ~190,000 objects) lives as long as the
# process. Out of the collector's sight, a full collection no longer walks it all again: under load that walk was
# about 0.08 ms of every webhook's CPU (bench/RESULTS.md).
gc.freeze()
