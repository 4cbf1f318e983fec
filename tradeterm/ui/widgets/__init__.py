"""Textual widgets, grouped by screen area."""
