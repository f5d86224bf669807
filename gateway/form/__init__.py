"""The web form at /aduan: plain HTML that works on a cheap phone with JavaScript off."""

from flask import Blueprint

bp = Blueprint("form", __name__, template_folder="templates")

from gateway.form import routes  # noqa: E402,F401 - registers the routes on bp
