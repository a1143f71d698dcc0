"""The streaming server and its web page (``pip install .[serve]``, ``mouthpiece serve``)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
