"""The blueprint of the web form at /aduan; its routes register on it."""

from flask import Blueprint

bp = Blueprint("form", __name__, template_folder="templates")
