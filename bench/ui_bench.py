"""UI costs: chart render per frame, key -> repaint latency, cold start, memory while streaming.

Usage: python bench/ui_bench.py [--section chart|latency|cold|cold-real|rss|rss-real|all] [options]
  chart:     [--bars 500] [--size 200x50] [--runs 200]
  latency:   [--size 200x50] [--presses 120] [--repeat 3] [--stream-interval 0.01] [--fps 10]
  cold:      [--cold-runs 3]         cold-real: [--cold-runs 3] [--size 200x50]
  rss:       [--duration 60] [--sample 5] [--stream-interval 0.01] [--fps 10]
  rss-real:  [--duration 60] [--sample 5] [--size 200x50]
  garbage:   [--duration 60] [--sample 5] [--size 200x50] [--speed 60] [--key-every 2]

Section ``chart``: the candle chart with every overlay on (EMA 20/50/200, Bollinger, VWAP, swings,
BOS/CHOCH, order blocks, FVGs, liquidity pools and sweeps, three order lines), synthetic BTCUSDT 1m data and its
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

Goal (TUI issue): <= 5 ms per frame at 200x50 with 500 candles and every overlay on.

Section ``latency`` — key -> repaint, goal p99 <= 50 ms while 20 symbols stream. The whole
workstation (``TradetermApp``) runs headless (``run_test``) at ``--size`` over a
``FakePipeline`` with 20 symbols, which a ``FakeFeed`` streams on the app's event loop (as the
live pipeline's ingest shares it): every ``--stream-interval`` seconds one more closed 1m bar
on every symbol, so at the default 0.01 s every poll of the read model (``--fps`` Hz, the
app's default 10) finds all 20 watchlist rows, the guards, the blotter marks and the chart
changed — the UI's worst case, whatever the market's real speed. The fake rebuilds its chart
(SMC pass and indicators over 300 bars) at each poll, as a pipeline would for a closed bar.

Method: ``App._display`` is wrapped (:class:`FrameProbe`). Headless, Textual composes every
frame but writes nothing; the probe then builds the terminal bytes with the app's console
(``render_segments``, what a real driver writes), so a frame ends when its ANSI exists. Keys are
sent through the driver (``driver.send_message(Key)``, the path of a terminal's input thread) at
random 50-150 ms gaps. A key's latency runs from that call to the end of the first frame whose
*fingerprint* — chart view state, charted symbol and timeframe, watchlist cursor, focused widget
— differs from the one before the key; streamed data never changes the fingerprint, so a frame
that only repainted prices does not count. The script cycles zoom in/out, pan left/right, an
overlay toggle on/off, timeframe up/down, focus to the watchlist, a cursor move, Enter (symbol
switch: intent, fresh snapshot, new chart) and focus back to the chart. Panning is left, then
End (jump to the latest bar), not left/right: a panned view keeps showing the same candles while
bars stream in, so at this speed it drifts into history by several bars a poll, and after a few
left/right pairs it reaches the first bar, where "left" changes the view state but not one
visible cell — the chart rightly repaints nothing, and the key would be timed until the next
poll's repaint. Printed: p50/p99/max of
each run and per key kind, and the median over ``--repeat`` runs. Machine load matters: the
runs share the CPU with whatever else runs.

Section ``cold`` — cold start to the first painted chart, goal <= 1.5 s: wall time from spawning
``python bench/ui_bench.py --cold-child`` (a subprocess, so interpreter start and every import
count) to that child reporting its first frame with candles on the chart. The child builds the
default ``FakePipeline`` (3 symbols x 24,000 1m bars generated from the seed, the SMC pass) and
runs the app headless at 200x50. Median of ``--cold-runs``.

Section ``cold-real`` — the same for the real thing: ``python -m tradeterm --ephemeral`` (demo
profile: built-in venue, ingest, analysis, paper broker, a temporary database) in a
pseudo-terminal of ``--size`` with empty config/data directories, truecolor; the time runs from
the fork to the first output containing a candle wick glyph (``╽``/``╿``, which only the chart
draws). Then ctrl+q, and the exit status is reported.

Section ``rss`` — resident memory while streaming, goal <= 200 MB and flat: the latency set-up
without keys, streaming for ``--duration`` seconds (the issue asks for 10 minutes:
``--duration 600``), the charted symbol or timeframe switched every 2 s (so every cache fills),
RSS read from ``/proc/self/statm`` every ``--sample`` seconds. Printed: start, after warm-up
(the first quarter of the run), end, max, and the least-squares slope after warm-up in MB/min.

Section ``rss-real`` — the same goal measured on the real thing: ``python -m tradeterm
--ephemeral`` started in a pseudo-terminal of ``--size`` exactly as ``cold-real`` does (fresh
config/data dirs, truecolor), left streaming the demo market for ``--duration`` seconds with its
output drained and nothing pressed. Every ``--sample`` seconds the child's ``VmRSS`` is read from
``/proc/PID/status``, its CPU time from ``/proc/PID/stat`` and its mappings from
``/proc/PID/maps``. Printed: RSS at start, after warm-up (first quarter), end and max, the
least-squares slope after warm-up in MB/min, the child's CPU % after warm-up (CPU seconds per
wall second, as ``ps``/``top`` show it), and whether — and when — numba's LLVM
(``llvmlite``'s shared library) was mapped: loading it costs ~110 MB, so a TUI should never do
it. The fake-pipeline ``rss`` section cannot see that, the real pipeline's analysis and chart
path can. The environment is inherited (e.g. ``TRADETERM_NO_NUMBA=1`` for a comparison); the
child runs ``-m tradeterm`` from the current directory's import path.

Section ``garbage`` — cyclic garbage per second of the real workstation: the demo pipeline
(``PipelineController`` with the ``--ephemeral`` options at ``--speed``) and ``TradetermApp``
headless at ``--size`` in this process, a key pressed every ``--key-every`` s (0: none). After a
15 s warm-up the automatic collector is held off (threshold 10^9) and every ``--sample`` s a full
collection runs under ``gc.DEBUG_SAVEALL``: what it finds is exactly what only the cyclic
collector could free (reference counting frees everything else at once). Printed: objects/s,
kB/s (``sys.getsizeof``), frames/s and the most common types. Garbage in cycles is what made the
TUI's heap creep (see BENCHMARKS.md, session 6); the fewer, the flatter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

T0 = 1_704_067_200_000
ALL_OVERLAYS = frozenset(
    {"ema", "bb", "vwap", "swings", "structure", "ob", "fvg", "liquidity", "sweeps", "orders"}
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
    from tradeterm.analysis.smc import analyze, codes
    from tradeterm.market.synthetic import SyntheticMarket
    from tradeterm.ui.widgets.chart import chart_data

    frame = SyntheticMarket("BTCUSDT", seed=7, start_ms=T0).generate(bars)
    last = float(frame.close[-1])
    orders = [
        ("entry", last * 1.001, "Entry"),
        ("stop", last * 0.997, "SL"),
        ("target", last * 1.006, "TP1"),
    ]
    smc = analyze(frame)
    data = chart_data(frame, smc=smc, orders=orders, price_decimals=2)
    # Sweeps travel with BOS/CHOCH in ``breaks`` (chart_data passes BOS/CHOCH only).
    return replace(data, breaks=smc.structure.of_kind(codes.BOS, codes.CHOCH, codes.SWEEP))


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


# ============================================================================ the live app
#
# Sections ``latency``, ``rss`` and ``cold`` drive the whole workstation (TradetermApp) with a
# streaming fake pipeline; see the module docstring for the method.

WATCH_20: tuple[str, ...] = (
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "AVAXUSDT",
    "DOTUSDT", "LINKUSDT", "LTCUSDT", "TRXUSDT", "ATOMUSDT", "NEARUSDT", "APTUSDT", "ARBUSDT",
    "OPUSDT", "FILUSDT", "INJUSDT", "SUIUSDT",
)  # fmt: skip


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


class FrameProbe:
    """Timestamps every frame the app hands to its driver, and builds the terminal bytes.

    Headless, ``App._display`` returns without writing anything; the probe wraps it and, after
    the original, renders the update to ANSI with the app's console (``render_segments``, which
    is what a real terminal driver writes), so a frame's cost includes the serialisation. For
    each frame it stores (start, end, bytes, fingerprint), where the fingerprint is the part of
    the UI state that keys change (chart view, symbol, timeframe, watchlist cursor, focus).
    """

    def __init__(self, app: Any, fingerprint: Callable[[], object]) -> None:
        from textual._compositor import CompositorUpdate

        self.frames: list[tuple[float, float, int, object]] = []
        self._fingerprint = fingerprint
        # (sent, fingerprint before, future): resolved with the end time of the first frame
        # that started after ``sent`` and shows a different fingerprint.
        self.waiting: tuple[float, object, asyncio.Future[float]] | None = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            t0 = time.perf_counter()
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            size = 0
            if isinstance(renderable, CompositorUpdate):
                size = len(renderable.render_segments(app.console).encode())
            end, fp = time.perf_counter(), self._fingerprint()
            self.frames.append((t0, end, size, fp))
            if self.waiting is not None:
                sent, before, future = self.waiting
                if t0 >= sent and fp != before and not future.done():
                    future.set_result(end)

        app._display = display


def _workstation(symbols: tuple[str, ...], fps: int) -> tuple[Any, Any]:
    from tradeterm.ui.app import TradetermApp
    from tradeterm.ui.fake import FakePipeline

    fake = FakePipeline(symbols)
    return TradetermApp(fake, max_fps=fps), fake


def _fingerprint(app: Any) -> Callable[[], object]:
    from tradeterm.ui.widgets.chart import ChartWidget
    from tradeterm.ui.widgets.watchlist import Watchlist

    chart = app.query_one(ChartWidget)
    watch = app.query_one(Watchlist)

    def fp() -> object:
        f = chart.data.frame
        focused = app.focused
        return (chart.state, f.symbol, str(f.tf), watch.cursor_row, id(focused))

    return fp


# (label, key): "j/k" moves the watchlist cursor down, or up at the last row.
KEY_SCRIPT: tuple[tuple[str, str], ...] = (
    ("zoom", "plus"),
    ("zoom", "minus"),
    ("pan", "left"),
    ("pan", "end"),  # back to the latest bar (see the note on panning in the docstring)
    ("overlay", "e"),
    ("overlay", "e"),
    ("timeframe", "right_square_bracket"),
    ("timeframe", "left_square_bracket"),
    ("focus", "f3"),
    ("cursor", "j/k"),
    ("symbol", "enter"),
    ("focus", "f2"),
)


class GcClock:
    """Milliseconds spent in the cyclic garbage collector (gc.callbacks), per generation."""

    def __init__(self) -> None:
        import gc

        self.spent = [0.0, 0.0, 0.0]
        self._start = 0.0
        self._gc = gc
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.spent[info["generation"]] += (time.perf_counter() - self._start) * 1000

    def close(self) -> None:
        self._gc.callbacks.remove(self._callback)


# (latency ms, key, ms waiting for a CPU, ms in full collections) of one key press
Slow = tuple[float, str, float, float]


async def _measure_keys(
    app: Any,
    probe: FrameProbe,
    presses: int,
    seed: int,
    gc_clock: GcClock,
    timeout: float = 2.0,
) -> tuple[dict[str, list[float]], int, list[Slow]]:
    """Send ``presses`` keys through the driver (as a terminal's input thread does) at random
    intervals of 50-150 ms, and for each the time until the end of the first frame whose
    fingerprint differs from the one before the key. Also returns, per key, how long the
    process waited for a CPU and sat in full GC collections meanwhile (to explain outliers)."""
    import random

    from textual import events

    from tradeterm.ui.widgets.watchlist import Watchlist

    rng = random.Random(seed)
    watch = app.query_one(Watchlist)
    fp = probe._fingerprint
    driver = app._driver
    out: dict[str, list[float]] = {}
    slow: list[Slow] = []
    misses = 0
    for i in range(presses):
        label, key = KEY_SCRIPT[i % len(KEY_SCRIPT)]
        if key == "j/k":
            key = "j" if watch.cursor_row < watch.row_count - 1 else "k"
        char = {"plus": "+", "minus": "-", "e": "e", "j": "j", "k": "k"}.get(key)
        char = char or {"right_square_bracket": "]", "left_square_bracket": "["}.get(key)
        char = char or ("\r" if key == "enter" else None)
        await asyncio.sleep(rng.uniform(0.05, 0.15))
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        before = fp()
        wait0, gc0 = _sched()[1], gc_clock.spent[2]
        sent = time.perf_counter()
        probe.waiting = (sent, before, future)
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)
        try:
            done = await asyncio.wait_for(future, timeout) - sent
        except TimeoutError:
            misses += 1
            print(f"    no repaint within {timeout:.0f} s after {key!r} ({label})")
            continue
        finally:
            probe.waiting = None
        out.setdefault(label, []).append(done)
        waited = (_sched()[1] - wait0) * 1000
        slow.append((done * 1000, key, waited, gc_clock.spent[2] - gc0))
    slow.sort(reverse=True)
    return out, misses, slow[:5]


def _sched() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of this thread, from the
    kernel's scheduler statistics: the second says how much the machine's load added."""
    with open("/proc/self/schedstat") as f:
        run_ns, wait_ns, _ = (int(v) for v in f.read().split())
    return run_ns / 1e9, wait_ns / 1e9


def bench_latency(args: argparse.Namespace) -> None:
    asyncio.run(_bench_latency(args))


async def _bench_latency(args: argparse.Namespace) -> None:
    from tradeterm.ui.fake import FakeFeed

    app, fake = _workstation(WATCH_20, args.fps)
    feed = FakeFeed(fake, interval=args.stream_interval)
    Result = tuple[
        dict[str, list[float]], int, int, float, list[int], tuple[float, float], list[Slow]
    ]
    results: list[Result] = []
    gc_clock = GcClock()
    async with app.run_test(size=(args.width, args.height)) as pilot:
        await pilot.pause()
        probe = FrameProbe(app, _fingerprint(app))

        async def run(seed: int) -> Result:
            frames0, ticks0, t0, s0 = len(probe.frames), feed.ticks, time.perf_counter(), _sched()
            by_key, misses, slow = await _measure_keys(
                app, probe, args.presses, seed=seed, gc_clock=gc_clock
            )
            elapsed = time.perf_counter() - t0
            s1 = _sched()
            sizes = [f[2] for f in probe.frames[frames0:]]
            cpu = ((s1[0] - s0[0]) / elapsed, (s1[1] - s0[1]) / elapsed)
            return by_key, misses, feed.ticks - ticks0, elapsed, sizes, cpu, slow

        feed.start()
        await asyncio.sleep(1.0)  # warm-up: the stream running, every cache filled once
        for i in range(args.repeat):
            results.append(await run(i))
        await feed.stop()
        baseline = await run(99)  # the same keys with the market frozen
    gc_clock.close()
    interval = "max (no sleep)" if args.stream_interval == 0 else f"{args.stream_interval}s"
    print(
        f"key -> repaint: TradetermApp headless {args.width}x{args.height}, {len(WATCH_20)} symbols "
        f"streaming (FakeFeed, tick every {interval}: one 1m bar on every symbol), "
        f"poll {args.fps} Hz, {args.presses} keys x {args.repeat} runs"
    )
    p50s, p99s = [], []

    def line(name: str, r: Result) -> tuple[float, float]:
        by_key, misses, ticks, elapsed, sizes, (busy, waited), slow = r
        every = [x * 1000 for v in by_key.values() for x in v]
        p50, p99 = _pct(every, 0.5), _pct(every, 0.99)
        print(
            f"  {name}: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  max {max(every):6.1f} ms"
            f"  (n={len(every)}, missed {misses}; {ticks / elapsed:,.0f} ticks/s, "
            f"{len(sizes) / elapsed:.1f} frames/s, median frame "
            f"{statistics.median(sizes or [0]) / 1024:.1f} KB; on CPU {busy:.0%}, "
            f"waiting for a CPU {waited:.0%})"
        )
        print(
            "    slowest (ms: key, of which waiting for a CPU / in full GC): "
            + "; ".join(f"{ms:.0f}: {k}, {w:.0f}/{g:.0f}" for ms, k, w, g in slow)
        )
        return p50, p99

    for i, r in enumerate(results, 1):
        p50, p99 = line(f"run {i}", r)
        p50s.append(p50)
        p99s.append(p99)
    merged: dict[str, list[float]] = {}
    for by_key, *_ in results:
        for k, v in by_key.items():
            merged.setdefault(k, []).extend(x * 1000 for x in v)
    for k, v in merged.items():
        print(f"    {k:<10} p50 {_pct(v, 0.5):6.1f} ms  p99 {_pct(v, 0.99):6.1f} ms  (n={len(v)})")
    print(
        f"  median of runs: p50 {statistics.median(p50s):.1f} ms, p99 {statistics.median(p99s):.1f} ms"
        f"  (goal p99 <= 50 ms)"
    )
    line("baseline, feed stopped", baseline)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 2**20


def bench_rss(args: argparse.Namespace) -> None:
    asyncio.run(_bench_rss(args))


async def _bench_rss(args: argparse.Namespace) -> None:
    """Stream for ``--duration`` seconds, switching symbol or timeframe every 2 s as a trader
    would (so every cache fills), and sample the resident set every ``--sample`` seconds."""
    import gc

    from tradeterm.ui.fake import FakeFeed

    app, fake = _workstation(WATCH_20, args.fps)
    feed = FakeFeed(fake, interval=args.stream_interval)
    samples: list[tuple[float, float]] = []
    async with app.run_test(size=(args.width, args.height)) as pilot:
        await pilot.pause()
        FrameProbe(app, lambda: None).frames = []  # frames are rendered to ANSI as in a terminal
        feed.start()
        t0 = time.perf_counter()
        next_sample = t0
        next_switch = t0 + 2.0
        step = 0
        while (now := time.perf_counter()) - t0 < args.duration:
            if now >= next_sample:
                samples.append((now - t0, _rss_mb()))
                next_sample += args.sample
            if now >= next_switch:
                step += 1
                screen = app.main_screen
                if step % 3:
                    screen.select(symbol=WATCH_20[step % len(WATCH_20)])
                else:
                    screen.select(tf=("1m", "5m", "15m", "1h")[step // 3 % 4])
                next_switch += 2.0
            await asyncio.sleep(0.05)
        samples.append((time.perf_counter() - t0, _rss_mb()))
        await feed.stop()
    gc.collect()
    xs = np.array([t for t, _ in samples]) / 60.0
    ys = np.array([m for _, m in samples])
    late = xs >= xs[-1] * 0.25  # the first quarter is warm-up (caches filling)
    slope = float(np.polyfit(xs[late], ys[late], 1)[0]) if late.sum() >= 2 else float("nan")
    print(
        f"RSS: TradetermApp headless {args.width}x{args.height}, {len(WATCH_20)} symbols streaming "
        f"({feed.ticks:,} ticks), symbol/timeframe switched every 2 s, {args.duration:.0f} s"
    )
    print(
        f"  start {ys[0]:.1f} MB  after warm-up {ys[late][0]:.1f} MB  end {ys[-1]:.1f} MB  "
        f"max {ys.max():.1f} MB  slope after warm-up {slope:+.2f} MB/min  (goal <= 200 MB, flat)"
    )
    print("  samples (s: MB): " + ", ".join(f"{t:.0f}: {m:.0f}" for t, m in samples))


COLD_MARK = "COLD-PAINTED"


def _cold_child() -> None:
    """Child of the ``cold`` section: import, build the app over the default fake (3 symbols,
    24,000 1m bars each generated from the seed), run headless and report the first frame
    whose chart has candles."""
    import os

    t_imports = time.perf_counter()
    from tradeterm.ui.app import TradetermApp
    from tradeterm.ui.fake import FakePipeline
    from tradeterm.ui.widgets.chart import ChartWidget

    t_imported = time.perf_counter()
    app = TradetermApp(FakePipeline())

    async def main() -> None:
        async with app.run_test(size=(200, 50)) as pilot:
            chart = app.query_one(ChartWidget)
            probe = FrameProbe(app, lambda: len(chart.data))
            while not any(f[3] for f in probe.frames):
                await asyncio.sleep(0.001)
            print(
                f"{COLD_MARK} imports {1000 * (t_imported - t_imports):.0f}",
                flush=True,
            )
            await pilot.pause()

    asyncio.run(main())
    os._exit(0)  # the measurement is done; skip interpreter teardown


def bench_cold(args: argparse.Namespace) -> None:
    """Wall time from spawning ``python bench/ui_bench.py --cold-child`` to the child's first
    frame with a painted chart: interpreter start, every import, the fake market's generation
    and SMC pass, app start and the first frame. Median of ``--cold-runs``."""
    import subprocess
    import sys

    times, imports = [], []
    for _ in range(args.cold_runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--cold-child"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(COLD_MARK):
                times.append(time.perf_counter() - t0)
                imports.append(float(line.split()[2]))
                break
        proc.wait(timeout=60)
    print(
        f"cold start to first painted chart (subprocess, headless TradetermApp over the default "
        f"fake): median {statistics.median(times):.2f} s over {len(times)} runs "
        f"({', '.join(f'{t:.2f}' for t in times)}); of which tradeterm.ui imports "
        f"{statistics.median(imports):.0f} ms  (goal <= 1.5 s)"
    )


def _spawn_demo_tui(home: str, width: int, height: int) -> tuple[int, int]:
    """``python -m tradeterm --ephemeral`` (the demo) in a ``width``×``height`` pty, as a user
    starts it, with a throwaway ``home`` for its config and data; returns (pid, pty fd)."""
    import fcntl
    import os
    import pty
    import signal
    import struct
    import sys
    import termios

    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, "config"),
        "XDG_DATA_HOME": os.path.join(home, "data"),
        "XDG_CACHE_HOME": os.path.join(home, "cache"),
    }
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "tradeterm", "--ephemeral"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    return pid, fd


def _quit_demo_tui(pid: int, fd: int) -> str:
    """Press ctrl+q in the TUI's pty, drain it until the child exits (or kill it after 10 s),
    close the pty; returns how it ended."""
    import os
    import select
    import signal

    os.write(fd, b"\x11")  # ctrl+q
    deadline = time.perf_counter() + 10
    note = "killed (no exit 10 s after ctrl+q)"
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError):
            select.select([fd], [], [], 0.2)
            os.read(fd, 65536)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            note = f"exit {os.waitstatus_to_exitcode(status)}"
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    return note


def bench_cold_real(args: argparse.Namespace) -> None:
    """``python -m tradeterm --ephemeral`` (demo profile: built-in venue, ingest, analysis,
    paper broker) in a pseudo-terminal of ``--size``, fresh config/data dirs: wall time from the
    spawn to the first output containing candle wick glyphs (``╽``/``╿``, drawn only by the
    chart), then ctrl+q. Median of ``--cold-runs``."""
    import os
    import select
    import tempfile

    times: list[float] = []
    exits: list[str] = []
    for _ in range(args.cold_runs):
        with tempfile.TemporaryDirectory() as home:
            t0 = time.perf_counter()
            pid, fd = _spawn_demo_tui(home, args.width, args.height)
            buf = b""
            painted = None
            while time.perf_counter() - t0 < 30:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                buf = buf[-8:] + chunk
                if "╽".encode() in buf or "╿".encode() in buf:
                    painted = time.perf_counter() - t0
                    break
            exits.append(_quit_demo_tui(pid, fd))
            if painted is None:
                print("  no chart painted within 30 s (is the demo pipeline working?)")
            else:
                times.append(painted)
    if times:
        print(
            f"cold start to first painted chart (python -m tradeterm --ephemeral in a "
            f"{args.width}x{args.height} pty): median {statistics.median(times):.2f} s over "
            f"{len(times)} runs ({', '.join(f'{t:.2f}' for t in times)})  (goal <= 1.5 s); "
            f"after ctrl+q: {', '.join(exits)}"
        )


def _proc_rss_mb(pid: int) -> float:
    """``VmRSS`` of another process in MB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (fields 14 and 15 of ``/proc/PID/stat``)."""
    import os

    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_maps_numba(pid: int) -> bool:
    """True once llvmlite's LLVM library (what ``import numba`` loads) is mapped in ``pid``."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any("llvmlite" in line for line in f)
    except OSError:
        return False


def _proc_smaps_kb(pid: int) -> dict[str, int]:
    """Resident kB of another process per kind of mapping: ``[heap]``, ``[stack]``, ``anon``
    (anonymous mmaps: large mallocs, thread arenas, thread stacks) and each mapped file by
    name. What grows there says whose memory it is (Python's own allocator is inside anon and
    heap, SQLite's page cache too; a library's file mapping growing means code paged in)."""
    import os

    out: dict[str, int] = {}
    name = "anon"
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split(None, 5)
                if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    path = head[5].strip() if len(head) > 5 else ""
                    name = os.path.basename(path) if path.startswith("/") else (path or "anon")
                elif line.startswith("Rss:"):
                    out[name] = out.get(name, 0) + int(line.split()[1])
    except OSError:
        pass
    return out


def bench_rss_real(args: argparse.Namespace) -> None:
    """Start ``python -m tradeterm --ephemeral`` in a pty of ``--size`` (as ``cold-real``), let
    the demo stream for ``--duration`` s and sample the child's RSS, CPU time and whether numba
    got loaded every ``--sample`` s; then ctrl+q."""
    import os
    import select
    import tempfile

    samples: list[tuple[float, float, float]] = []  # (s since spawn, RSS MB, CPU s)
    numba_at: float | None = None
    smaps_warm: dict[str, int] | None = None  # by mapping, at the end of the warm-up
    with tempfile.TemporaryDirectory() as home:
        t0 = time.perf_counter()
        pid, fd = _spawn_demo_tui(home, args.width, args.height)
        next_sample = t0
        alive = True
        while alive and (now := time.perf_counter()) - t0 < args.duration:
            if now >= next_sample:
                samples.append((now - t0, _proc_rss_mb(pid), _proc_cpu_s(pid)))
                if numba_at is None and _proc_maps_numba(pid):
                    numba_at = now - t0
                if smaps_warm is None and now - t0 >= args.duration * 0.25:
                    smaps_warm = _proc_smaps_kb(pid)
                next_sample += args.sample
            # Drain the screen output, or the child blocks writing to a full pty.
            ready, _, _ = select.select([fd], [], [], max(0.0, min(0.2, next_sample - now)))
            if ready:
                try:
                    os.read(fd, 1 << 16)
                except OSError:
                    alive = False
        samples.append((time.perf_counter() - t0, _proc_rss_mb(pid), _proc_cpu_s(pid)))
        if numba_at is None and _proc_maps_numba(pid):
            numba_at = samples[-1][0]
        smaps_end = _proc_smaps_kb(pid)
        exit_note = _quit_demo_tui(pid, fd)
    ts = np.array([t for t, _, _ in samples])
    ys = np.array([m for _, m, _ in samples])
    cpu = np.array([c for _, _, c in samples])
    late = ts >= ts[-1] * 0.25  # the first quarter is warm-up (history, caches filling)
    xs = ts / 60.0
    slope = float(np.polyfit(xs[late], ys[late], 1)[0]) if late.sum() >= 2 else float("nan")
    first = int(np.argmax(late))
    span = ts[-1] - ts[first]
    cpu_pct = 100.0 * (cpu[-1] - cpu[first]) / span if span > 0 else float("nan")
    numba = f"yes, mapped by {numba_at:.0f} s" if numba_at is not None else "no"
    print(
        f"RSS: python -m tradeterm --ephemeral in a {args.width}x{args.height} pty, demo "
        f"streaming, {args.duration:.0f} s; after ctrl+q: {exit_note}"
    )
    print(
        f"  start {ys[0]:.1f} MB  after warm-up {ys[late][0]:.1f} MB  end {ys[-1]:.1f} MB  "
        f"max {ys.max():.1f} MB  slope after warm-up {slope:+.2f} MB/min  (goal <= 200 MB, flat)"
    )
    print(f"  CPU after warm-up {cpu_pct:.1f} %  numba (llvmlite) loaded: {numba}")
    if smaps_warm is not None:
        grew = sorted(
            ((smaps_end.get(k, 0) - smaps_warm.get(k, 0), k) for k in smaps_end.keys() | smaps_warm),
            reverse=True,
        )
        print(
            "  RSS growth after warm-up by mapping (kB): "
            + ", ".join(f"{k} {d:+d}" for d, k in grew[:6] if d)
            + f"  (end: heap {smaps_end.get('[heap]', 0) // 1024} MB, "
            f"anon {smaps_end.get('anon', 0) // 1024} MB)"
        )
    print("  samples (s: MB): " + ", ".join(f"{t:.0f}: {m:.0f}" for t, m, _ in samples))


def bench_garbage(args: argparse.Namespace) -> None:
    asyncio.run(_bench_garbage(args))


async def _bench_garbage(args: argparse.Namespace) -> None:
    import collections
    import gc
    import logging
    import os
    import sys
    import tempfile

    from tradeterm.config import load_settings
    from tradeterm.pipeline.controller import PipelineController
    from tradeterm.ui.app import TradetermApp
    from tradeterm.workstation import workstation_options

    keys = ("right", "left", "tab", "j", "k", "plus", "minus", "tab")
    with tempfile.TemporaryDirectory() as home:
        for name in [k for k in os.environ if k.startswith("TRADETERM_")]:
            del os.environ[name]
        os.environ.update({"TRADETERM_DATA_DIR": home, "XDG_CONFIG_HOME": home})
        settings = load_settings(use_default_file=False)
        controller = PipelineController(
            settings, workstation_options(settings, ephemeral=True, speed=args.speed)
        )
        app = TradetermApp(controller, max_fps=settings.ui.max_fps)
        frames = [0]
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None:
                frames[0] += 1

        app._display = display  # type: ignore[method-assign]
        logging.getLogger("tradeterm").setLevel(logging.WARNING)
        count: collections.Counter[str] = collections.Counter()
        size: collections.Counter[str] = collections.Counter()
        wall = 0.0
        frames_seen = 0
        thresholds = gc.get_threshold()
        try:
            async with app.run_test(size=(args.width, args.height)) as pilot:
                await controller.start()
                await asyncio.sleep(15.0)  # warm-up: history loaded, every cache filled once
                gc.collect()
                gc.set_threshold(10**9, 10**9, 10**9)
                start = time.perf_counter()
                next_sample, pressed = start + args.sample, 0
                frames[0] = 0
                step = args.key_every if args.key_every > 0 else 1.0
                while time.perf_counter() - start < args.duration:
                    await asyncio.sleep(step)
                    if args.key_every > 0:
                        await pilot.press(keys[pressed % len(keys)])
                        pressed += 1
                    if time.perf_counter() >= next_sample:
                        gc.set_debug(gc.DEBUG_SAVEALL)
                        gc.collect()
                        gc.set_debug(0)
                        for obj in gc.garbage:
                            kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
                            count[kind] += 1
                            size[kind] += sys.getsizeof(obj)
                        gc.garbage.clear()
                        next_sample = time.perf_counter() + args.sample
                wall = time.perf_counter() - start
                frames_seen = frames[0]
        finally:
            gc.set_threshold(*thresholds)
            await controller.stop()
    n, b = sum(count.values()), sum(size.values())
    pressing = f"a key every {args.key_every:g} s" if args.key_every > 0 else "no keys"
    print(
        f"cyclic garbage: TradetermApp + demo pipeline (speed {args.speed:g}x) headless "
        f"{args.width}x{args.height}, {pressing}, {wall:.0f} s after a 15 s warm-up"
    )
    print(
        f"  {n / wall:,.0f} objects/s, {b / wall / 1024:,.1f} kB/s "
        f"({frames_seen / wall:.1f} frames/s)"
    )
    for kind, c in count.most_common(8):
        print(f"    {c / wall:8.1f}/s {size[kind] / wall / 1024:7.1f} kB/s  {kind}")


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "chart": lambda a: bench_chart(a.bars, a.width, a.height, a.runs),
    "latency": bench_latency,
    "cold": bench_cold,
    "cold-real": bench_cold_real,
    "rss": bench_rss,
    "rss-real": bench_rss_real,
    "garbage": bench_garbage,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--section", choices=[*SECTIONS, "all"], default="all")
    parser.add_argument("--bars", type=int, default=500)
    parser.add_argument("--size", default="200x50", help="WIDTHxHEIGHT in cells")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--fps", type=int, default=10, help="the app's snapshot poll rate")
    parser.add_argument(
        "--stream-interval",
        type=float,
        default=0.01,
        help="seconds between feed ticks (default 0.01: every symbol changes between any two "
        "polls, the UI's worst case; 0 = no sleep at all)",
    )
    parser.add_argument("--presses", type=int, default=120, help="keys per latency run")
    parser.add_argument("--repeat", type=int, default=3, help="latency runs")
    parser.add_argument("--duration", type=float, default=60.0, help="rss: seconds to stream")
    parser.add_argument("--sample", type=float, default=5.0, help="rss: seconds between samples")
    parser.add_argument("--speed", type=float, default=60.0, help="garbage: demo market speed")
    parser.add_argument(
        "--key-every", type=float, default=2.0, help="garbage: seconds between keys (0: none)"
    )
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        _cold_child()
        return
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    for name, fn in SECTIONS.items():
        if args.section in (name, "all"):
            fn(args)


if __name__ == "__main__":
    main()
