"""``tradeterm analyze``: run the whole analysis over a kline file and write its events.

Output is JSON Lines, one event per line, wrapped so a reader knows which model to parse it
with without guessing from its fields::

    {"topic": "smc_events.v1", "event": { …the SmcEventV1 in its v1 JSON form… }}

Lines come in the order the events became known (bar by bar; within a bar: features, SMC
structure and zones, regime, signals — see :mod:`tradeterm.analysis.pipeline`). With
``--calendar`` the file's ``news_window.v1`` events come first: a calendar is known in advance.
The file is written next to its final name and renamed at the end, so an interrupted run never
leaves a truncated file that looks complete.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tradeterm.contracts import Timeframe
from tradeterm.errors import UserError

DEFAULT_STRATEGY = "smc_retest"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="run indicators, SMC, regime and strategies over a kline file; write the events as JSON Lines",
        description="Run the analysis pipeline over a kline file (Binance CSV/zip/JSON) and write every "
        'event as one JSON line {"topic": …, "event": …}, in the order the events became known.',
    )
    parser.add_argument(
        "--data", required=True, type=Path, metavar="FILE", help="kline file (CSV, zip, gz, JSON)"
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="EVENTS.jsonl", help="where to write the events"
    )
    parser.add_argument(
        "--tf", metavar="TF", help="timeframe, e.g. 1h (default: from the file name or its times)"
    )
    parser.add_argument(
        "--symbol", metavar="S", help="symbol, e.g. BTCUSDT (default: from the file name)"
    )
    parser.add_argument(
        "--venue",
        metavar="NAME",
        help="venue named in the events (default: from the file name, else 'file')",
    )
    parser.add_argument(
        "--strategy",
        action="append",
        metavar="NAME",
        help=f"strategy to run (default {DEFAULT_STRATEGY}); repeat for several, 'none' for no signals",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="strategy parameter; with several strategies write NAME.KEY=VALUE",
    )
    parser.add_argument(
        "--no-features", action="store_true", help="leave out the per-bar features.v1 events"
    )
    parser.add_argument(
        "--calendar", type=Path, metavar="FILE", help="news calendar (TOML, CSV or iCalendar)"
    )
    parser.add_argument(
        "--news-before", type=int, default=30, metavar="MIN", help="news block before an event (30)"
    )
    parser.add_argument(
        "--news-after", type=int, default=30, metavar="MIN", help="news block after an event (30)"
    )
    parser.set_defaults(handler=analyze_command)


def analyze_command(args: argparse.Namespace, settings: object) -> int:
    from tradeterm.analysis.guards import GuardInputs, NewsSchedule
    from tradeterm.analysis.pipeline import AnalysisState, PipelineConfig, run_frame
    from tradeterm.market.loaders import load_klines

    tf = _timeframe(args.tf)
    data: Path = args.data
    if not data.is_file():
        raise UserError(f"{data}: no such file" if not data.exists() else f"{data} is not a file")
    out: Path = args.out
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: directory {out.parent} does not exist")
    strategies = _strategies(args.strategy, args.param)
    news_guard, windows = _news(args.calendar, args.news_before, args.news_after)

    frame = load_klines(data, symbol=args.symbol, tf=tf)
    venue = args.venue or _venue_from_name(data.name)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,31}", venue):
        raise UserError(
            f"--venue {venue!r}: use 2-32 lowercase letters, digits, '-' or '_' (like binance-usdm)"
        )
    if not re.fullmatch(r"[A-Z0-9]{2,20}", frame.symbol):
        raise UserError(f"symbol {frame.symbol!r} must be 2-20 letters or digits, like BTCUSDT")
    state = AnalysisState(
        venue=venue,
        symbol=frame.symbol,
        tf=frame.tf,
        config=PipelineConfig(features=not args.no_features),
        strategies=strategies,
    )
    schedule = NewsSchedule(windows)
    counts: Counter[str] = Counter()
    in_news = 0
    started = time.perf_counter()
    with _atomic_write(out) as fh, _progress(len(frame)) as progress:
        write = fh.write
        for w in windows:
            write(_line(w.TOPIC, w.model_dump_json()))
            counts[w.TOPIC] += 1
        try:
            for events in run_frame(frame, state, progress=progress):
                for e in events:
                    topic = e.TOPIC
                    write(_line(topic, e.model_dump_json()))
                    counts[topic] += 1
                    if (
                        topic == "signals_raw.v1"
                        and len(schedule)
                        and news_guard.evaluate(GuardInputs(news=schedule), e.confirmed_at).blocked
                    ):
                        in_news += 1
        except ValueError as exc:  # a bar the loader let through but analysis refuses
            raise UserError(f"{data.name}: {exc}") from None
    elapsed = time.perf_counter() - started
    order = (
        "news_window.v1",
        "features.v1",
        "smc_events.v1",
        "zones.v1",
        "regime.v1",
        "signals_raw.v1",
    )
    shown = ", ".join(f"{t} {counts[t]}" for t in order if t in counts or t != "news_window.v1")
    extra = f"; {in_news} signals inside news windows" if windows else ""
    print(
        f"{frame.symbol} {frame.tf.value} {len(frame)} bars -> {out}: {shown}{extra} "
        f"({elapsed:.1f} s, {len(frame) / max(elapsed, 1e-9):,.0f} bars/s)"
    )
    return 0


def _line(topic: str, event_json: str) -> str:
    return f'{{"topic":"{topic}","event":{event_json}}}\n'


def _timeframe(text: str | None) -> Timeframe | None:
    if text is None:
        return None
    try:
        return Timeframe(text.strip())
    except ValueError:
        raise UserError(
            f"unknown timeframe {text!r}; use one of {', '.join(t.value for t in Timeframe)}"
        ) from None


def _strategies(names: Sequence[str] | None, pairs: Sequence[str]) -> list[Any]:
    from tradeterm.analysis.strategies import StrategyError, create_strategy, parse_param_pairs

    chosen = list(names) if names else [DEFAULT_STRATEGY]
    if "none" in chosen:
        if len(chosen) > 1:
            raise UserError("--strategy none cannot be combined with other strategies")
        if pairs:
            raise UserError("--param given but no strategy runs (--strategy none)")
        return []
    dup = sorted({n for n in chosen if chosen.count(n) > 1})
    if dup:
        raise UserError(f"strategy {dup[0]!r} is given twice")
    try:
        params = parse_param_pairs(pairs)
        per: dict[str, dict[str, str]] = {n: {} for n in chosen}
        for key, value in params.items():
            prefix, dot, rest = key.partition(".")
            if dot and prefix in per:
                per[prefix][rest] = value
            elif dot:
                raise StrategyError(
                    f"parameter {key!r} names strategy {prefix!r}, which is not selected"
                )
            elif len(chosen) == 1:
                per[chosen[0]][key] = value
            else:
                raise StrategyError(
                    f"with several strategies write NAME.{key}=… (which one is {key!r} for?)"
                )
        return [create_strategy(n, per[n]) for n in chosen]
    except StrategyError as exc:
        raise UserError(str(exc)) from None


def _news(path: Path | None, before: int, after: int) -> tuple[Any, list[Any]]:
    from pydantic import ValidationError

    from tradeterm.analysis.guards import (
        NewsGuard,
        NewsGuardConfig,
        calendar_format,
        parse_calendar,
    )

    try:
        guard = NewsGuard(NewsGuardConfig(minutes_before=before, minutes_after=after))
    except ValidationError as exc:
        bad = exc.errors()[0]
        raise UserError(f"--news-{str(bad['loc'][0]).split('_')[1]}: {bad['msg']}") from None
    if path is None:
        return guard, []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read calendar {path}: {exc}") from None
    try:
        events = parse_calendar(text, calendar_format(path.name))
    except ValueError as exc:
        raise UserError(f"{path.name}: {exc}") from None
    return guard, guard.windows(events, source=path.name)


def _venue_from_name(name: str) -> str:
    lower = name.lower()
    for prefix, venue in (
        ("binance_um", "binance-usdm"),
        ("binance_spot", "binance-spot"),
        ("binanceus", "binance-us"),
    ):
        if lower.startswith(prefix):
            return venue
    return "file"


@contextmanager
def _atomic_write(path: Path) -> Iterator[IO[str]]:
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        with tmp.open("x", encoding="utf-8", buffering=1 << 20) as fh:  # "x": honours the umask
            yield fh
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr when a person is watching it; nothing otherwise (logs and
    pipes must not fill up with redraw sequences)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("analyzing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("bars", total=total)
        yield lambda done: bar.update(task, completed=done)
