"""What the routes share, taken from the app's state (set once by ``create_app``)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.chain import Bot
from bot.settings import Settings
from web.auth import AdminGate
from web.documents import Library


def _bot(request: Request) -> Bot:
    return request.app.state.bot


def _library(request: Request) -> Library:
    return request.app.state.library


def _gate(request: Request) -> AdminGate:
    return request.app.state.admin


def _settings(request: Request) -> Settings:
    return request.app.state.settings


BotDep = Annotated[Bot, Depends(_bot)]
LibraryDep = Annotated[Library, Depends(_library)]
GateDep = Annotated[AdminGate, Depends(_gate)]
SettingsDep = Annotated[Settings, Depends(_settings)]
