"""Implementation of :mod:`rtwidget.client`; import the public names from there."""

from __future__ import annotations

__all__: list[str] = []
