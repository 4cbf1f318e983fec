"""The pure chart renderer: exact glyphs, axes, overlays, layering and degenerate inputs."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from rich.color import ColorSystem
from rich.console import Console
from textual.strip import Strip

from tests.ui import T0, small_frame, synthetic_chart, three_candles
from tradeterm.analysis.smc import StructureTable, Swings, ZoneTable, codes
from tradeterm.ui.theme import builtin_theme_dir, load_themes
from tradeterm.ui.widgets.chart import (
    ChartData,
    Crosshair,
    OrderLine,
    Series,
    ViewState,
    render_rows,
    render_text,
)
from tradeterm.ui.widgets.chart.axis import PriceScale
from tradeterm.ui.widgets.chart.candles import candle_cells, visible_columns
from tradeterm.ui.widgets.chart.model import Window
from tradeterm.ui.widgets.chart.palette import Palette, Role
from tradeterm.ui.widgets.chart.readout import readout_text
from tradeterm.ui.widgets.chart.render import render_base, render_top

ONE_COL = 3  # zoom index: one column per bar
TWO_COL = 4  # default: two columns per bar


def pane_text(canvas_ch: np.ndarray, rows: slice, cols: slice) -> list[str]:
    return [r.tobytes().decode("utf-32-le") for r in canvas_ch[rows, cols]]


def zone_table(rows: list[tuple[int, int, int, float, float, int]]) -> ZoneTable:
    """(kind, direction, bar, top, bottom, state) rows."""
    n = len(rows)
    col = list(zip(*rows)) if rows else [()] * 6
    return ZoneTable(
        zone=np.arange(n),
        kind=np.array(col[0], dtype=np.int8),
        direction=np.array(col[1], dtype=np.int8),
        bar=np.array(col[2], dtype=np.int64),
        aux_bar=np.full(n, -1, dtype=np.int64),
        born=np.array(col[2], dtype=np.int64),
        conf=np.array(col[2], dtype=np.int64),
        top=np.array(col[3], dtype=np.float64),
        bottom=np.array(col[4], dtype=np.float64),
        state=np.array(col[5], dtype=np.int8),
        fill=np.zeros(n),
    )


# ----------------------------------------------------------------------------- candles


def test_three_candles_exact_glyphs_on_a_known_scale() -> None:
    # 5 rows from 10 down to 0: price p sits at half-row floor(10 - p).
    scale = PriceScale(top=10.0, bottom=0.0, rows=5)
    cols = visible_columns(three_candles(), Window(0, 3, 1, 1, 3))
    glyphs, roles = candle_cells(cols, scale)
    text = ["".join(chr(c) for c in row) for row in glyphs]
    assert text == [
        "╷╽ ",  # up: wick tip in the lower half; down: wick over body
        "╽█╷",  # up: wick over body; down: body; doji: wick tip
        "█╿▀",  # down: body over wick; doji body: one half block, upper half
        "█│ ",
        "│╵ ",  # up: wick to the bottom; down: wick ends in the upper half
    ]
    up, down, wick = Role.CANDLE_UP, Role.CANDLE_DOWN, Role.CANDLE_WICK
    assert roles[:, 0].tolist() == [wick, up, up, up, wick]
    assert roles[:, 1].tolist() == [down, down, down, wick, wick]
    # The doji is neither up nor down: its body takes the wick colour.
    assert roles[1:3, 2].tolist() == [wick, wick]


def test_three_candles_full_frame() -> None:
    data = ChartData(three_candles(), price_decimals=1)
    rows = render_text(data, ViewState(zoom=ONE_COL), 40, 12)
    assert [r[:3] for r in rows[1:11]] == [
        "   ",
        "│╽ ",
        "╽█╷",
        "██╿",
        "█│ ",
        "╿│ ",
        "│╵ ",
        "   ",
        " █ ",  # volume pane: 10, 20, 5 over two rows of eighths
        "██▄",
    ]
    # Price axis: ticks every 5.0 in the symbol's precision, the last close boxed at its row.
    assert rows[1][34:] == "┤ 10.0"
    assert rows[5][34:] == "┤ 5.0 "
    assert rows[8][34:] == "┤ 0.0 "
    assert rows[4][34:] == "│ 6.0 "
    assert rows[9][34:] == "┤ 20  "  # volume of a full-height bar
    assert rows[11].startswith("01 Jan")
    assert rows[11].rstrip().endswith("UTC")


def test_two_columns_per_bar_leaves_gaps() -> None:
    rows = render_text(
        ChartData(three_candles(), price_decimals=1), ViewState(zoom=TWO_COL), 40, 12
    )
    assert [r[:5] for r in rows[2:8]] == ["│ ╽  ", "╽ █ ╷", "█ █ ╿", "█ │  ", "╿ │  ", "│ ╵  "]


def test_half_block_rounding() -> None:
    scale = PriceScale(top=10.0, bottom=0.0, rows=5)
    # 8.0 is the boundary between row 0's lower half (sub-row 1) and row 1's upper half (2):
    # a price on a boundary belongs to the half below it.
    assert scale.sub(8.0) == 2
    assert scale.sub(8.0 + 1e-6) == 1
    assert scale.sub(8.0 - 1e-6) == 2
    assert scale.row(8.0) == 1
    assert scale.row(8.0 + 1e-6) == 0
    # Boundaries computed in inexact floating point stay on the same side.
    inexact = PriceScale(top=0.3, bottom=0.1, rows=1)
    assert inexact.sub(0.2) == 1
    # A wick from exactly 8.0 to 7.0 stays inside row 1: nothing spills into row 0.
    cols = visible_columns(small_frame([(7.5, 8.0, 7.0, 7.5)]), Window(0, 1, 1, 1, 1))
    glyphs, _ = candle_cells(cols, scale)
    assert "".join(chr(c) for c in glyphs[:, 0]) == " ╿   "


# ----------------------------------------------------------------------------- axes


def test_price_ticks_are_nice_and_in_precision() -> None:
    from tradeterm.ui.widgets.chart.axis import nice_step, price_ticks, tick_step

    scale = PriceScale(top=60150.0, bottom=59200.0, rows=18)
    assert price_ticks(scale, 2) == [(2, 60000.0), (6, 59800.0), (10, 59600.0), (14, 59400.0)]
    assert nice_step(237) == 500
    assert nice_step(0.03) == pytest.approx(0.05)
    assert nice_step(1000) == 1000
    # Never finer than the tick size, however flat the market.
    assert tick_step(PriceScale(1.0005, 0.9995, 30), 2) == pytest.approx(0.01)
    assert tick_step(PriceScale(1.0005, 0.9995, 30), 4) == pytest.approx(0.0001)


def test_time_labels_follow_the_timeframe() -> None:
    from tradeterm.ui.widgets.chart.axis import choose_time_step, format_time_label, time_ticks

    assert choose_time_step(60_000, 2.0) == 5 * 60_000
    assert choose_time_step(60_000, 0.25) == 60 * 60_000
    assert format_time_label(T0, 5 * 60_000, 60_000) == "01 Jan"  # midnight shows the date
    assert format_time_label(T0 + 5 * 60_000, 5 * 60_000, 60_000) == "00:05"
    day = 86_400_000
    assert format_time_label(T0 + 31 * day, "week", day) == "01 Feb"
    assert format_time_label(T0 + 366 * day, "month", day) == "2025"  # 1 Jan shows the year
    assert format_time_label(T0 + 31 * day, "month", day) == "Feb"
    frame = small_frame([(1, 1, 1, 1)] * 30)
    cols = np.arange(30) * 2
    assert time_ticks(frame.open_time, 0, 30, cols, 60_000, 2.0, 60) == [
        (0, "01 Jan"),
        (10, "00:05"),
        (20, "00:10"),
        (30, "00:15"),
        (40, "00:20"),
        (50, "00:25"),
    ]
    # A view starting mid-bucket is not labelled at its left edge.
    assert time_ticks(frame.open_time, 3, 30, cols[:27], 60_000, 2.0, 60)[0] == (4, "00:05")


# ----------------------------------------------------------------------------- overlays


def _base(data: ChartData, state: ViewState, size: tuple[int, int] = (120, 40)):  # type: ignore[no-untyped-def]
    return render_base(data, state, *size)


def _pane(base) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    lay = base.layout
    sl = (slice(lay.pane_top, lay.pane_bottom), slice(0, lay.plot_width))
    return base.canvas.ch[sl], base.canvas.fg[sl], base.canvas.bg[sl]


def _text(ch: np.ndarray) -> str:
    return "\n".join(r.tobytes().decode("utf-32-le") for r in ch)


def _braille(ch: np.ndarray) -> np.ndarray:
    return (ch >= 0x2801) & (ch <= 0x28FF)


@pytest.mark.parametrize(
    ("overlay", "evidence"),
    [
        ("ema", lambda ch, fg, bg: bool((_braille(ch) & (fg == Role.EMA_FAST)).any())),
        ("bb", lambda ch, fg, bg: bool((_braille(ch) & (fg == Role.BB_BAND)).any())),
        ("vwap", lambda ch, fg, bg: bool((_braille(ch) & (fg == Role.VWAP)).any())),
        ("swings", lambda ch, fg, bg: any(s in _text(ch) for s in ("HH", "HL", "LH", "LL"))),
        ("structure", lambda ch, fg, bg: "BOS" in _text(ch) or "CHoCH" in _text(ch)),
        (
            "ob",
            lambda ch, fg, bg: bool(
                np.isin(
                    bg,
                    [
                        Role.ZONE_DEMAND,
                        Role.ZONE_SUPPLY,
                        Role.ZONE_DEMAND_DIM,
                        Role.ZONE_SUPPLY_DIM,
                    ],
                ).any()
            ),
        ),
        (
            "fvg",
            lambda ch, fg, bg: bool(
                np.isin(
                    bg, [Role.FVG_BULL, Role.FVG_BEAR, Role.FVG_BULL_DIM, Role.FVG_BEAR_DIM]
                ).any()
            ),
        ),
        (
            "orders",
            lambda ch, fg, bg: (
                "Entry" in _text(ch) and bool(((ch == ord("─")) & (fg == Role.ORDER_ENTRY)).any())
            ),
        ),
    ],
)
def test_each_overlay_toggles(overlay: str, evidence) -> None:  # type: ignore[no-untyped-def]
    data = synthetic_chart(300, with_orders=True)
    on = ViewState(overlays=frozenset({overlay}))
    off = ViewState(overlays=frozenset())
    assert evidence(*_pane(_base(data, on)))
    assert not evidence(*_pane(_base(data, off)))


def test_liquidity_toggle() -> None:
    frame = small_frame([(10, 11, 9, 10)] * 20)
    zones = zone_table(
        [
            (codes.LIQUIDITY, codes.BEAR, 3, 10.9, 10.8, codes.ACTIVE),  # equal highs
            (codes.LIQUIDITY, codes.BULL, 5, 9.2, 9.1, codes.ACTIVE),  # equal lows
            (codes.LIQUIDITY, codes.BULL, 5, 9.6, 9.5, codes.MITIGATED),  # swept: not drawn
        ]
    )
    data = ChartData(frame, zones=zones)
    ch, _, _ = _pane(_base(data, ViewState(overlays=frozenset({"liquidity"})), (60, 20)))
    assert "BSL" in _text(ch) and "SSL" in _text(ch)
    assert int((ch == ord("┈")).any(axis=1).sum()) == 2
    ch, _, _ = _pane(_base(data, ViewState(overlays=frozenset()), (60, 20)))
    assert "BSL" not in _text(ch) and not (ch == ord("┈")).any()


def test_zone_bands_run_to_the_right_edge_and_mitigated_ones_are_dimmed() -> None:
    frame = small_frame([(10, 11, 9, 10)] * 20)
    zones = zone_table(
        [
            (codes.ORDER_BLOCK, codes.BULL, 4, 9.6, 9.4, codes.ACTIVE),
            (codes.ORDER_BLOCK, codes.BEAR, 6, 10.6, 10.4, codes.MITIGATED),
        ]
    )
    state = ViewState(zoom=ONE_COL, overlays=frozenset({"ob"}))
    base = _base(ChartData(frame, zones=zones), state, (60, 20))
    _, _, bg = _pane(base)
    demand_cols = np.flatnonzero((bg == Role.ZONE_DEMAND).any(axis=0))
    assert demand_cols[0] == 4 and demand_cols[-1] == base.layout.plot_width - 1
    assert len(demand_cols) == base.layout.plot_width - 4
    assert (bg == Role.ZONE_SUPPLY_DIM).any() and not (bg == Role.ZONE_SUPPLY).any()
    assert np.flatnonzero((bg == Role.ZONE_SUPPLY_DIM).any(axis=0))[0] == 6


def test_structure_line_runs_from_broken_swing_to_break_bar() -> None:
    # Candles stay below the level except the last one, which stretches the scale above it.
    frame = small_frame([(10, 10.2, 9, 10)] * 19 + [(10, 12, 9, 10)])
    breaks = StructureTable(
        kind=np.array([codes.BOS], dtype=np.int8),
        direction=np.array([codes.BULL], dtype=np.int8),
        bar=np.array([15]),
        conf=np.array([15]),
        price=np.array([10.5]),
        label=np.zeros(1, dtype=np.int8),
        ref_bar=np.array([5]),
    )
    base = _base(
        ChartData(frame, breaks=breaks),
        ViewState(zoom=ONE_COL, overlays=frozenset({"structure"})),
        (60, 20),
    )
    ch, fg, _ = _pane(base)
    row = int(np.flatnonzero((fg == Role.BOS).any(axis=1))[0])
    line = ch[row].tobytes().decode("utf-32-le")
    assert "BOS" in line
    marked = np.flatnonzero(fg[row] == Role.BOS)
    assert marked[0] == 5 and marked[-1] == 15


def _sweeps(rows: list[tuple[int, int, int, float, int]]) -> StructureTable:
    """(kind, direction, bar, price, ref_bar) rows of a structure table."""
    n = len(rows)
    col = list(zip(*rows))
    return StructureTable(
        kind=np.array(col[0], dtype=np.int8),
        direction=np.array(col[1], dtype=np.int8),
        bar=np.array(col[2], dtype=np.int64),
        conf=np.array(col[2], dtype=np.int64),
        price=np.array(col[3], dtype=np.float64),
        label=np.zeros(n, dtype=np.int8),
        ref_bar=np.array(col[4], dtype=np.int64),
    )


def test_sweep_level_runs_from_the_pool_to_the_sweeping_candle_marked_by_its_wick() -> None:
    # Flat candles 9..10.2; bar 12 pokes above equal highs at 10.5 (a bearish sweep of buy-side
    # liquidity) and bar 16 below equal lows at 8.5 (a bullish sweep of sell-side liquidity).
    ohlc = [(10.0, 10.2, 9.0, 10.0)] * 20
    ohlc[12] = (10.0, 11.0, 9.0, 10.0)
    ohlc[16] = (10.0, 10.2, 8.0, 10.0)
    frame = small_frame(ohlc)
    table = _sweeps(
        [
            (codes.SWEEP, codes.BEAR, 12, 10.5, 4),
            (codes.SWEEP, codes.BULL, 16, 8.5, 7),
            (codes.BOS, codes.BULL, 18, 10.1, 2),  # not a sweep: left to "structure"
        ]
    )
    data = ChartData(frame, breaks=table)
    state = ViewState(zoom=ONE_COL, overlays=frozenset({"sweeps"}))
    base = _base(data, state, (60, 24))
    scale = base.scene.scale
    ch, fg, _ = _pane(base)
    # The swept highs: dotted in the sweep colour from the pool's newer swing up to the candle.
    y = scale.row(10.5)
    dotted = np.flatnonzero((ch[y] == ord("┈")) & (fg[y] == Role.SWEEP))
    assert dotted.tolist() == list(range(4, 12))
    y = scale.row(8.5)
    assert np.flatnonzero((ch[y] == ord("┈")) & (fg[y] == Role.SWEEP)).tolist() == list(
        range(7, 16)
    )
    # "$" one row beyond the wick tip, one column left of the candle.
    marks = {(int(r), int(c)) for r, c in zip(*np.nonzero(ch == ord("$")))}
    assert marks == {(scale.row(11.0) - 1, 11), (scale.row(8.0) + 1, 15)}
    assert all(fg[r, c] == Role.SWEEP for r, c in marks)
    # The BOS row is not drawn by the sweep overlay, and sweeps are not drawn as structure.
    assert "BOS" not in _text(ch)
    ch, fg, _ = _pane(
        _base(data, ViewState(zoom=ONE_COL, overlays=frozenset({"structure"})), (60, 24))
    )
    assert "BOS" in _text(ch) and not (fg == Role.SWEEP).any() and "$" not in _text(ch)
    ch, fg, _ = _pane(_base(data, ViewState(zoom=ONE_COL, overlays=frozenset()), (60, 24)))
    assert not (fg == Role.SWEEP).any() and "$" not in _text(ch)


def test_sweep_outside_the_view_draws_only_the_visible_part_of_its_level() -> None:
    ohlc = [(10.0, 10.2, 9.0, 10.0)] * 200
    ohlc[150] = (10.0, 11.0, 9.0, 10.0)
    ohlc[40] = (10.0, 11.0, 9.0, 10.0)  # keeps the level on scale when panned to the start
    data = ChartData(small_frame(ohlc), breaks=_sweeps([(codes.SWEEP, codes.BEAR, 150, 10.5, 20)]))
    # Following the latest bar at one column per bar: bar 150 is in view, bar 20 is not.
    base = _base(data, ViewState(zoom=ONE_COL, overlays=frozenset({"sweeps"})), (60, 24))
    window = base.scene.window
    assert window.start > 20 and window.start <= 150 < window.stop
    ch, fg, _ = _pane(base)
    y = base.scene.scale.row(10.5)
    dotted = np.flatnonzero((ch[y] == ord("┈")) & (fg[y] == Role.SWEEP))
    assert dotted[0] == 0 and dotted[-1] == window.col(150) - 1
    assert "$" in _text(ch)
    # Panned to the start: the sweep candle is off to the right; the level runs to the edge.
    base = _base(data, ViewState(zoom=ONE_COL, end=60, overlays=frozenset({"sweeps"})), (60, 24))
    ch, fg, _ = _pane(base)
    y = base.scene.scale.row(10.5)
    dotted = np.flatnonzero((ch[y] == ord("┈")) & (fg[y] == Role.SWEEP))
    assert dotted[0] == base.scene.window.col(20) and dotted[-1] == base.layout.plot_width - 1
    assert "$" not in _text(ch)


def test_swing_labels_sit_above_highs_and_below_lows() -> None:
    frame = small_frame(
        [(10, 11, 9, 10)] * 10 + [(10, 14, 9, 10)] + [(10, 11, 9, 10)] * 9 + [(10, 11, 6, 10)]
    )
    swings = Swings(
        bar=np.array([10, 20]),
        conf=np.array([15, 20]),
        price=np.array([14.0, 6.0]),
        is_high=np.array([True, False]),
        label=np.array([codes.HH, codes.LL], dtype=np.int8),
    )
    base = _base(
        ChartData(frame, swings=swings),
        ViewState(zoom=ONE_COL, overlays=frozenset({"swings"})),
        (60, 20),
    )
    ch, _, _ = _pane(base)
    text = _text(ch).split("\n")
    hh_row = next(i for i, r in enumerate(text) if "HH" in r)
    ll_row = next(i for i, r in enumerate(text) if "LL" in r)
    assert text[hh_row].index("HH") == 10 and text[ll_row].index("LL") == 20
    assert base.scene.scale.row(14.0) == hh_row + 1
    assert base.scene.scale.row(6.0) == ll_row - 1


def test_candles_hide_lines_but_gaps_show_them() -> None:
    frame = three_candles()
    line = Series("EMA", "ema", "ema-fast", np.full(3, 5.0))  # through the up candle's body
    state = ViewState(zoom=TWO_COL, overlays=frozenset({"ema"}))
    base = _base(ChartData(frame, series=(line,), price_decimals=1), state, (40, 12))
    ch, _, _ = _pane(base)
    row = base.scene.scale.row(5.0)
    assert chr(ch[row, 0]) == "█"  # the up candle's body wins its cell
    assert chr(ch[row, 2]) == "│"  # so does the down candle's wick
    assert _braille(ch[row, [1, 3]]).all()  # the gap columns carry the line


def test_order_off_scale_is_pinned_with_an_arrow() -> None:
    data = ChartData(
        three_candles(),
        orders=(OrderLine("target", 50.0, "TP1"), OrderLine("stop", -3.0, "SL")),
        price_decimals=1,
    )
    base = _base(data, ViewState(), (40, 12))
    lay = base.layout
    gutter = [r.tobytes().decode("utf-32-le") for r in base.canvas.ch[:, lay.plot_width :]]
    assert any("▲50.0" in g for g in gutter[lay.pane_top : lay.pane_bottom])
    assert "▼-3.0" in gutter[lay.pane_bottom - 1]
    assert not (base.canvas.ch == ord("┄")).any()  # no line for a level that is not on screen


# ----------------------------------------------------------------------------- degenerate input


def test_nan_overlays_do_not_crash_and_draw_nothing() -> None:
    frame = three_candles()
    all_nan = Series("EMA200", "ema", "ema-slow", np.full(3, np.nan))
    data = ChartData(frame, series=(all_nan,))
    ch, _, _ = _pane(_base(data, ViewState(overlays=frozenset({"ema"})), (40, 12)))
    assert not _braille(ch).any()
    text = readout_text(data, ViewState(overlays=frozenset({"ema"})), Window(0, 3, 2, 1, 30))
    assert "EMA200 —" in text


def test_warm_up_nans_start_the_line_at_the_first_value() -> None:
    frame = small_frame([(10, 11, 9, 10)] * 20)
    values = np.where(np.arange(20) < 10, np.nan, 10.0)
    data = ChartData(frame, series=(Series("EMA", "ema", "ema-fast", values),))
    ch, _, _ = _pane(_base(data, ViewState(zoom=TWO_COL, overlays=frozenset({"ema"})), (60, 20)))
    cols = np.flatnonzero(_braille(ch).any(axis=0))
    # Bar 10 is drawn in column 20 (where its candle hides the line); the line shows from the
    # gap after it and nowhere before.
    assert cols.min() == 21 and 35 <= cols.max() <= 39


@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("size", [(120, 40), (30, 8), (12, 4), (3, 2), (0, 0)])
def test_tiny_inputs_never_crash(n: int, size: tuple[int, int]) -> None:
    frame = small_frame([(5, 6, 4, 5.5), (5.5, 5.5, 5.5, 5.5)][:n])
    data = ChartData(
        frame,
        series=(Series("EMA", "ema", "ema-fast", np.full(n, np.nan)),),
        orders=(OrderLine("entry", 5.0, "E"),),
    )
    for state in (ViewState(), ViewState(zoom=0), ViewState(crosshair=Crosshair(0, 0))):
        rows = render_text(data, state, *size)
        assert len(rows) == size[1]
        assert all(len(r) == size[0] for r in rows)
    if size == (120, 40) and n == 0:
        assert "no data" in render_text(data, ViewState(), *size)[0]
    if size == (3, 2):
        assert render_text(data, ViewState(), *size)[0] == "cha"


def test_flat_market_draws_a_visible_candle() -> None:
    data = ChartData(small_frame([(5.0, 5.0, 5.0, 5.0)]))
    ch, _, _ = _pane(_base(data, ViewState(), (40, 12)))
    assert np.isin(ch, [ord(c) for c in "▀▄"]).sum() == 1


# ----------------------------------------------------------------------------- readout


def test_crosshair_readout() -> None:
    data = ChartData(three_candles(), price_decimals=1)
    state = ViewState(zoom=ONE_COL, crosshair=Crosshair(1, 2))
    text = readout_text(data, state, state.window(3, 30))
    assert text.startswith("TEST 1m  2024-01-01 00:01")
    assert "O 8.5 H 9.5 L 2.0 C 5.5 -35.29%" in text
    assert "V 20" in text
    # Without a crosshair the readout shows the newest visible bar.
    assert "00:02" in readout_text(data, ViewState(), ViewState().window(3, 30))
    # Zoomed out, the readout describes the whole aggregated column.
    agg = ViewState(zoom=2, crosshair=Crosshair(1, 2))  # two bars per column
    text = readout_text(data, agg, agg.window(3, 30))
    assert "00:00" in text and "O 3.0 H 9.5 L 1.0 C 5.5" in text and "V 30" in text


def test_crosshair_draws_lines_and_axis_boxes() -> None:
    data = ChartData(three_candles(), price_decimals=1)
    state = ViewState(zoom=TWO_COL, crosshair=Crosshair(2, 6))
    base = render_base(data, state, 40, 12)
    canvas = render_top(base, data, state)
    lay = base.layout
    assert lay is not None
    y = lay.pane_top + 6
    assert chr(canvas.ch[y, 10]) == "─" and chr(canvas.ch[y, 4]) == "┼"
    assert chr(canvas.ch[lay.pane_top, 4]) == "│"
    assert canvas.bg[y, lay.plot_width + 1] == Role.CROSSHAIR
    axis = canvas.ch[lay.axis_row].tobytes().decode("utf-32-le")
    assert "2024-01-01 00:02" in axis
    assert "00:02" in canvas.ch[0].tobytes().decode("utf-32-le")


# ----------------------------------------------------------------------------- colours


@pytest.mark.parametrize("system", ["standard", "256"])
def test_low_colour_terminals_render_and_keep_up_down_apart(
    system: Literal["standard", "256"],
) -> None:
    data = synthetic_chart(300, with_orders=True)
    state = ViewState(
        overlays=frozenset({"ema", "bb", "vwap", "ob", "fvg", "structure", "swings", "orders"})
    )
    console = Console(color_system=system, force_terminal=True, width=120)
    target = ColorSystem.STANDARD if system == "standard" else ColorSystem.EIGHT_BIT
    for theme in load_themes([builtin_theme_dir()], strict=True):
        variables = {**theme.to_color_system().generate(), **theme.variables}
        palette = Palette.from_variables(variables)
        rows = render_rows(data, state, palette, 120, 40)
        out = "".join(Strip(r, 120).render(console) for r in rows)
        assert "\x1b[" in out
        up = palette.colors[Role.CANDLE_UP].rich_color.downgrade(target)
        down = palette.colors[Role.CANDLE_DOWN].rich_color.downgrade(target)
        assert up != down, theme.name
