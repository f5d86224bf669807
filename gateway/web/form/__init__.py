"""The web form at /aduan: plain HTML that works on a cheap phone with JavaScript off."""

from gateway.web.form import routes  # noqa: F401 - registers the routes on bp
from gateway.web.form.blueprint import bp

__all__ = ["bp"]
