"""The base of every error whose message is meant for the people using the bot."""
from __future__ import annotations


class UserFacingError(Exception):
    """An error with a Chinese message shown to users as is (``message_zh``); str() is for the logs.

    Subclasses set ``message_zh`` as a class attribute, in ``__init__`` or as a property. The web layer
    maps each subclass to an HTTP status in one place (web/errors.py).
    """

    message_zh: str = "操作未能完成，请稍后再试"
