"""The embedded default for `make run`: SQLite under var/, eager Celery, console e-mail, sandbox payments."""

from config.env import VAR_DIR

from .base import *  # noqa: F403

DEBUG = True
VAR_DIR.mkdir(exist_ok=True)
