"""Pages for records."""

from flask import Blueprint

bp = Blueprint("records", __name__)
