"""The blueprint of the public ticket page at /tiket/<code>; its routes register on it."""

from flask import Blueprint

bp = Blueprint("ticket", __name__, template_folder="templates")
