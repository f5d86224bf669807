"""The blueprint of Provider webhooks; its routes register on it."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
