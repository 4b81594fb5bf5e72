"""Consuming (being split into one module per noun; until then everything is in ``loop``)."""

from pipeline.consume.loop import *  # noqa: F403
from pipeline.consume.loop import _tp as _tp
