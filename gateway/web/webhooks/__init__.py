"""Provider webhooks: messages in and delivery reports."""

from gateway.web.webhooks import routes  # noqa: F401 - registers the routes on bp
from gateway.web.webhooks.blueprint import bp

__all__ = ["bp"]
