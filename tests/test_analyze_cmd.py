"""``tradeterm analyze``, driven through an argparse parser built with its ``register()``."""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tradeterm.commands import analyze
from tradeterm.contracts import CONTRACTS
from tradeterm.errors import UserError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "candles"
REAL_1H = DATA / "binance_um_BTCUSDT_1h_20250101-20260731.csv"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradeterm")
    analyze.register(p.add_subparsers(dest="command"))
    return p


def call(*argv: str) -> int:
    args = parser().parse_args(["analyze", *argv])
    return args.handler(args, None)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 hours of the real file (a temporary copy, never in the repo)."""
    if not REAL_1H.exists():
        pytest.skip(f"real data not available: {REAL_1H}")
    path = tmp_path_factory.mktemp("data") / REAL_1H.name
    with REAL_1H.open() as src:
        path.write_text("".join(line for _, line in zip(range(3001), src)))
    return path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_full_real_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not REAL_1H.exists():
        pytest.skip(f"real data not available: {REAL_1H}")
    out = tmp_path / "events.jsonl"
    assert call("--data", str(REAL_1H), "--out", str(out)) == 0
    lines = read(out)
    counts = Counter(line["topic"] for line in lines)
    summary = capsys.readouterr().out
    assert summary.startswith(f"BTCUSDT 1h 13848 bars -> {out}: ")
    for topic in ("features.v1", "smc_events.v1", "zones.v1", "regime.v1", "signals_raw.v1"):
        assert f"{topic} {counts[topic]}" in summary
    assert counts["features.v1"] == 13848 and counts["signals_raw.v1"] > 50
    last = ""
    for line in lines:
        assert set(line) == {"topic", "event"}
        event = CONTRACTS[line["topic"]].model_validate(line["event"])  # every line parses back
        assert (line["event"]["venue"], line["event"]["symbol"]) == ("binance-usdm", "BTCUSDT")
        assert event.TOPIC == line["topic"]
        assert line["event"]["confirmed_at"] >= last  # ISO-8601 UTC strings sort as times
        last = line["event"]["confirmed_at"]
    assert {line["event"]["strategy"] for line in lines if line["topic"] == "signals_raw.v1"} == {
        "smc_retest"
    }
    assert not list(tmp_path.glob(".*part"))


def test_no_features_several_strategies_and_prefixed_params(
    small_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "e.jsonl"
    assert call("--data", str(small_csv), "--out", str(out), "--no-features", "--strategy", "sma_cross",
                "--strategy", "rsi_reversion", "--param", "sma_cross.fast=5", "--param", "sma_cross.slow=12",
                "--param", "rsi_reversion.ttl_bars=2", "--venue", "paper-test") == 0  # fmt: skip
    lines = read(out)
    assert "features.v1" not in {line["topic"] for line in lines}
    sigs = [line["event"] for line in lines if line["topic"] == "signals_raw.v1"]
    assert {s["strategy"] for s in sigs} == {"sma_cross", "rsi_reversion"}
    assert all("SMA5 crossed" in s["reasons"][0] for s in sigs if s["strategy"] == "sma_cross")
    assert all(s["ttl_bars"] == 2 for s in sigs if s["strategy"] == "rsi_reversion")
    assert {line["event"]["venue"] for line in lines} == {"paper-test"}


def test_strategy_none_and_single_strategy_params(small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    assert (
        call("--data", str(small_csv), "--out", str(out), "--strategy", "none", "--no-features")
        == 0
    )
    assert "signals_raw.v1" not in {line["topic"] for line in read(out)}
    assert (
        call(
            "--data",
            str(small_csv),
            "--out",
            str(out),
            "--strategy",
            "fib_rsi",
            "--param",
            "take_profits_r=1,2",
        )
        == 0
    )
    sigs = [line["event"] for line in read(out) if line["topic"] == "signals_raw.v1"]
    assert sigs and all(s["take_profits_r"] == ["1", "2"] for s in sigs)


def test_calendar_windows_come_first(
    small_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cal = tmp_path / "news.csv"
    cal.write_text("time,title,impact\n2025-01-10T13:30:00Z,US NFP,high\n2025-02-12T13:30:00Z,US CPI,high\n"
                   "2025-02-13T13:30:00Z,US PPI,low\n")  # fmt: skip
    out = tmp_path / "e.jsonl"
    assert (
        call(
            "--data",
            str(small_csv),
            "--out",
            str(out),
            "--calendar",
            str(cal),
            "--news-before",
            "60",
        )
        == 0
    )
    lines = read(out)
    assert [line["topic"] for line in lines[:3]] == [
        "news_window.v1",
        "news_window.v1",
        "features.v1",
    ]
    assert (
        lines[0]["event"]["title"] == "US NFP"
        and lines[0]["event"]["block_from"] == "2025-01-10T12:30:00.000Z"
    )
    summary = capsys.readouterr().out
    assert "news_window.v1 2" in summary and "signals inside news windows" in summary


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--tf", "7m"], "unknown timeframe '7m'"),
        (["--strategy", "moon"], "unknown strategy 'moon'"),
        (["--param", "fast=1"], "unknown parameter 'fast'"),
        (["--param", "atr_buffer=-2"], "parameter 'atr_buffer'"),
        (["--param", "novalue"], "must look like key=value"),
        (["--strategy", "sma_cross", "--strategy", "fib_rsi", "--param", "fast=3"], "NAME.fast"),
        (["--strategy", "sma_cross", "--param", "fib_rsi.x=1"], "not selected"),
        (["--strategy", "none", "--strategy", "sma_cross"], "cannot be combined"),
        (["--strategy", "sma_cross", "--strategy", "sma_cross"], "given twice"),
        (["--venue", "Not A Venue"], "--venue 'Not A Venue': use 2-32 lowercase"),
        (["--symbol", "BTC/USDT"], "symbol 'BTC/USDT' must be"),
        (["--news-before", "-5"], "--news-before"),
        (["--tf", "4h"], "not on a 4h boundary"),
    ],
)
def test_bad_input_is_one_clear_line(
    small_csv: Path, tmp_path: Path, extra: list[str], words: str
) -> None:
    out = tmp_path / "e.jsonl"
    with pytest.raises(UserError) as info:
        call("--data", str(small_csv), "--out", str(out), *extra)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert not out.exists()


def test_bad_files(tmp_path: Path, small_csv: Path) -> None:
    out = tmp_path / "e.jsonl"
    with pytest.raises(UserError, match="no such file"):
        call("--data", str(tmp_path / "missing.csv"), "--out", str(out))
    with pytest.raises(UserError, match="does not exist"):
        call("--data", str(small_csv), "--out", str(tmp_path / "nodir" / "e.jsonl"))
    junk = tmp_path / "BTCUSDT-1h-2025-01.csv"
    junk.write_text("open_time,open,high,low,close,volume\n1735689600000,1,2,0.5,abc,3\n")
    with pytest.raises(UserError, match="BTCUSDT-1h-2025-01.csv"):
        call("--data", str(junk), "--out", str(out))
    cal = tmp_path / "cal.ics"
    cal.write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20250110T133000\nSUMMARY:NFP\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    with pytest.raises(UserError, match=r"cal.ics: line 3: .*floating time"):
        call("--data", str(small_csv), "--out", str(out), "--calendar", str(cal))
    with pytest.raises(UserError, match="no such file"):
        call("--data", str(small_csv), "--out", str(out), "--calendar", str(tmp_path / "none.toml"))
    assert not out.exists()


def test_an_interrupted_run_leaves_no_file(
    small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeterm.analysis import pipeline

    real = pipeline.run_frame

    def failing(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for i, events in enumerate(real(*args, **kwargs)):  # type: ignore[arg-type]
            if i == 100:
                raise KeyboardInterrupt
            yield events

    monkeypatch.setattr(pipeline, "run_frame", failing)
    out = tmp_path / "e.jsonl"
    out.write_text("previous results\n")
    with pytest.raises(KeyboardInterrupt):
        call("--data", str(small_csv), "--out", str(out))
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["e.jsonl"]


def test_through_the_cli_entry_point(small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """How it behaves once listed in COMMAND_MODULES: exit 0, or exit 2 with one line."""
    from tradeterm import cli

    if "tradeterm.commands.analyze" not in cli.COMMAND_MODULES:  # until the lead wires it in
        wired = (*cli.COMMAND_MODULES, "tradeterm.commands.analyze")
        monkeypatch.setattr(cli, "COMMAND_MODULES", wired)
    for key in [k for k in os.environ if k.startswith("TRADETERM_")]:
        monkeypatch.delenv(key)
    out = tmp_path / "e.jsonl"
    assert cli.main(["analyze", "--data", str(small_csv), "--out", str(out), "--no-features"]) == 0
    assert out.exists()
    capsys.readouterr()
    assert cli.main(["analyze", "--data", str(small_csv), "--out", str(out), "--tf", "2m"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tradeterm: error: unknown timeframe '2m'") and err.count("\n") == 1
