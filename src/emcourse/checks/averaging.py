"""Checks of the subtomogram-averaging sheets (averaging)."""

from __future__ import annotations

__all__: list[str] = []
