"""UI test setup: every app built in these tests renders for a truecolor terminal.

Why: the chart adapts its palette to the terminal's colour system (``App.console``), which
Textual detects from ``TERM``/``COLORTERM`` (or ``TEXTUAL_COLOR_SYSTEM``) when the app is built.
Snapshots must not depend on the shell the tests run in, so the system is pinned here; the
16- and 256-colour tests pin their own (see :func:`tests.ui.colour.colour_system`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual import constants


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(constants, "COLOR_SYSTEM", "truecolor")
    yield
