"""WSGI entry point for gunicorn: ``gunicorn gateway.wsgi:app`` (``sambat web`` runs exactly this)."""

from gateway.app import create_app
from gateway.observability import configure_logging, use_directory
from gateway.settings import load_settings

settings = load_settings()
configure_logging(settings.observability.log_format)
use_directory(settings.observability.metrics_dir)  # every gunicorn worker counts into one place for /metrics
app = create_app(settings)
