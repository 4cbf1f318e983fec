"""UI rendering costs.

Usage: python bench/ui_bench.py [--section chart] [--bars 500] [--size 200x50] [--runs 200]

Section ``chart``: the candle chart with every overlay on (EMA 20/50/200, Bollinger, VWAP, swings,
BOS/CHOCH, order blocks, FVGs, liquidity, three order lines), synthetic BTCUSDT 1m data and its
SMC pass. It prints the median and p99 time of one *frame* — every line of the widget rendered —
in these cases:

* ``renderer cold``: the pure renderer alone (base + crosshair layer + segments + Strips), at
  three zoom levels (2 columns per bar, the default; 1 column per bar; 4 bars per column, which
  shows all 500 bars), and once more with the palette's Segment cache emptied before each frame
  (the first frame after a theme change);
* ``widget cold``: ``render_line`` for every row inside a headless Textual app, caches cleared;
* ``widget cached``: the same with nothing changed (what a repaint costs when only another
  widget changed);
* ``widget crosshair``: the crosshair moved (base layer reused, top layer and segments rebuilt);
* ``widget live tick``: ``set_data`` with the open candle moved (full rebuild + row diff), and
  how many rows it refreshed.

The goal (TUI issue) is <= 5 ms per frame at 200x50 with 500 candles and every overlay on.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

T0 = 1_704_067_200_000
ALL_OVERLAYS = frozenset(
    {"ema", "bb", "vwap", "swings", "structure", "ob", "fvg", "liquidity", "orders"}
)


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):6.2f} ms   p99 {p99:6.2f} ms   (n={len(ms)})"


def _time(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _chart_data(bars: int) -> Any:
    from tradeterm.analysis.smc import analyze
    from tradeterm.market.synthetic import SyntheticMarket
    from tradeterm.ui.widgets.chart import chart_data

    frame = SyntheticMarket("BTCUSDT", seed=7, start_ms=T0).generate(bars)
    last = float(frame.close[-1])
    orders = [
        ("entry", last * 1.001, "Entry"),
        ("stop", last * 0.997, "SL"),
        ("target", last * 1.006, "TP1"),
    ]
    return chart_data(frame, smc=analyze(frame), orders=orders, price_decimals=2)


def _moved(data: Any, i: int) -> Any:
    """The open candle's close moved by a cent (alternating), as a live tick does."""
    f = data.frame
    close = f.close.copy()
    close[-1] += 0.01 if i % 2 else -0.01
    high = np.maximum(f.high, close)
    low = np.minimum(f.low, close)
    return data.with_frame(replace(f, close=close, high=high, low=low))


def bench_chart(bars: int, width: int, height: int, runs: int) -> None:
    from textual.strip import Strip

    from tradeterm.ui.theme import builtin_theme_dir, load_themes
    from tradeterm.ui.widgets.chart import Crosshair, Palette, ViewState
    from tradeterm.ui.widgets.chart.render import render_base, render_top

    data = _chart_data(bars)
    theme = next(t for t in load_themes([builtin_theme_dir()]) if t.name == "tradeterm-dark")
    palette = Palette.from_variables({**theme.to_color_system().generate(), **theme.variables})
    print(f"chart: {bars} bars, {width}x{height}, every overlay on, {runs} runs per case")

    for label, zoom in (("2 cols/bar", 4), ("1 col/bar", 3), ("4 bars/col", 1)):
        state = ViewState(zoom=zoom, overlays=ALL_OVERLAYS, crosshair=Crosshair(bars - 3, 10))
        window = state.window(bars, width - 11)

        def frame(state: ViewState = state) -> object:
            canvas = render_top(render_base(data, state, width, height), data, state)
            return [Strip(row, width) for row in canvas.to_segments(palette)]

        visible = window.count
        print(
            f"  renderer cold, {label:<10} ({visible:3d} bars visible): {_stats(_time(frame, runs))}"
        )

    def first_frame() -> object:
        palette.segments.clear()  # as right after a theme change: no Segment reused
        canvas = render_top(render_base(data, state, width, height), data, state)
        return [Strip(row, width) for row in canvas.to_segments(palette)]

    print(f"  renderer cold, new palette (no Segment reuse):  {_stats(_time(first_frame, runs))}")

    asyncio.run(_bench_widget(data, width, height, runs))


async def _bench_widget(data: Any, width: int, height: int, runs: int) -> None:
    from textual.app import App, ComposeResult

    from tradeterm.ui.theme import builtin_theme_dir, load_themes, register_themes
    from tradeterm.ui.widgets.chart import ChartWidget, Crosshair, ViewState

    class BenchApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ChartWidget(data, state=ViewState(overlays=ALL_OVERLAYS), id="chart")

        def on_mount(self) -> None:
            register_themes(self, load_themes([builtin_theme_dir()]))
            self.theme = "tradeterm-dark"

    app = BenchApp()
    async with app.run_test(size=(width, height)) as pilot:
        await pilot.pause()
        chart = app.query_one(ChartWidget)
        rows = range(height)

        def all_lines() -> None:
            for y in rows:
                chart.render_line(y)

        def cold() -> None:
            chart._bases.clear()
            chart._frames.clear()
            chart._shown = None
            all_lines()

        print(f"  widget cold      (render_line x {height}):        {_stats(_time(cold, runs))}")
        print(
            f"  widget cached    (render_line x {height}):        {_stats(_time(all_lines, runs))}"
        )
        n = len(chart.data)
        step = iter(range(10**9))

        def crosshair() -> None:
            i = next(step)
            chart._state = chart.state.with_crosshair(Crosshair(n - 1 - i % 40, 5 + i % 20))
            all_lines()

        print(
            f"  widget crosshair (render_line x {height}):        {_stats(_time(crosshair, runs))}"
        )
        chart._state = chart.state.with_crosshair(None)
        refreshed: list[int] = []
        original = chart.refresh

        def spy(*regions: Any, **kw: Any) -> Any:
            refreshed.append(len(regions) or height)
            return original(*regions, **kw)

        chart.refresh = spy  # type: ignore[method-assign]
        ticks = [_moved(data, i) for i in range(runs + 3)]
        it = iter(ticks)

        def tick() -> None:
            chart.set_data(next(it))
            all_lines()

        samples = _time(tick, runs)
        chart.refresh = original  # type: ignore[method-assign]
        rows_per_tick = statistics.median(refreshed) if refreshed else 0
        print(f"  widget live tick (set_data + row diff):      {_stats(samples)}")
        print(f"    rows refreshed per tick: median {rows_per_tick:.0f} of {height}")


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "chart": lambda a: bench_chart(a.bars, a.width, a.height, a.runs),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--section", choices=[*SECTIONS, "all"], default="all")
    parser.add_argument("--bars", type=int, default=500)
    parser.add_argument("--size", default="200x50", help="WIDTHxHEIGHT in cells")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    for name, fn in SECTIONS.items():
        if args.section in (name, "all"):
            fn(args)


if __name__ == "__main__":
    main()
