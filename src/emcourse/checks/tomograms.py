"""Checks of the subtomogram-averaging sheets (tomograms)."""

from __future__ import annotations

__all__: list[str] = []
