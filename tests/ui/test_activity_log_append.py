"""The activity log writes only what a snapshot appended; anything else rewrites it whole."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import RichLog

from tradeterm.pipeline.readmodel import LogLine
from tradeterm.ui.widgets.activity_log import ActivityLog, _appended


def _lines(n: int, start: int = 0) -> list[LogLine]:
    return [LogLine(1_704_067_200_000 + i, "INFO", "order" if i % 2 else "signal", f"line {i}")
            for i in range(start, start + n)]


def test_appended_finds_the_tail_of_a_ring_that_moved_on() -> None:
    a = _lines(6)
    assert _appended(a, [*a, *_lines(2, 6)]) is not None
    assert [x.text for x in _appended(a, [*a[2:], *_lines(3, 6)]) or ()] == ["line 6", "line 7", "line 8"]
    tail = _appended(a, a[3:])  # only dropped from the front
    assert tail is not None and len(tail) == 0
    assert _appended((), a) is None  # nothing shown yet: write it whole
    assert _appended(a, _lines(6)) is None  # equal lines, other objects: a new ring
    assert _appended(a, [a[0], *_lines(1, 40), *a[1:]]) is None  # something inserted before the tail
    assert _appended(a, [*a[:2], *a[3:]]) is None  # something removed in the middle


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield ActivityLog()


async def test_append_writes_only_new_lines_and_honours_the_filter() -> None:
    app = _Host()
    async with app.run_test(size=(100, 20)) as pilot:
        widget = app.query_one(ActivityLog)
        rich_log = app.query_one("#log-lines", RichLog)
        writes: list[str] = []
        original = rich_log.write

        def counting(content: object, *a: object, **kw: object) -> RichLog:
            writes.append(str(getattr(content, "plain", content)))
            return original(content, *a, **kw)  # type: ignore[arg-type]

        rich_log.write = counting  # type: ignore[method-assign]
        ring = _lines(10)
        widget.show(ring)
        assert len(writes) == 10  # first show: whole
        writes.clear()
        ring = [*ring[3:], *_lines(2, 10)]  # the ring dropped 3, gained 2
        widget.show(ring)
        assert [w.split()[-1] for w in writes] == ["10", "11"]
        widget.show(list(ring))  # same lines again: nothing written
        assert len(writes) == 2
        widget.action_cycle_filter(1)  # what ``f`` does
        await pilot.pause()
        assert widget.kind == "order"
        writes.clear()
        widget.show([*ring, *_lines(2, 12)])  # line 12 is a signal, 13 an order
        assert [w.split()[-1] for w in writes] == ["13"]
        assert [x.text for x in widget.visible_lines()][-1] == "line 13"
        writes.clear()
        widget.show(_lines(3, 100))  # a different ring: rewritten whole (filtered)
        assert [w.split()[-1] for w in writes] == ["101"]
