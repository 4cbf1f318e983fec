"""Store-test helpers: raw SQL against the test database (bypassing the store, to tamper with
it or to see exactly what it holds) and one valid sample of every stored contract."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from tradeterm.contracts import (
    DecisionV1,
    FeaturesV1,
    FundingWindowV1,
    NewsWindowV1,
    OrderUpdateV1,
    RegimeV1,
    SignalRawV1,
    SmcEventV1,
    TakeProfitLeg,
    ZoneV1,
)
from tradeterm.store.url import parse_url

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
HOUR = 3_600_000


class Raw:
    """Direct SQL on a store's database, outside the store."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.parsed = parse_url(url)

    async def execute(self, sql: str, *args: Any) -> None:
        if self.parsed.dialect == "sqlite":
            conn = sqlite3.connect(self.parsed.target)
            try:
                conn.execute(sql.replace("$1", "?").replace("$2", "?"), args)
                conn.commit()
            finally:
                conn.close()
            return
        pg = await asyncpg.connect(self.parsed.target)
        try:
            await pg.execute(sql, *args)
        finally:
            await pg.close()

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        if self.parsed.dialect == "sqlite":
            conn = sqlite3.connect(self.parsed.target)
            try:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        pg = await asyncpg.connect(self.parsed.target)
        try:
            return [tuple(r) for r in await pg.fetch(sql)]
        finally:
            await pg.close()

    async def tables(self) -> list[str]:
        if self.parsed.dialect == "sqlite":
            rows = await self.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        else:
            rows = await self.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        return [r[0] for r in rows]

    async def dump(self) -> dict[str, list[tuple[str, ...]]]:
        """Every row of every table as text, sorted; on Postgres with its ``xmin``, so a row
        rewritten with identical values still shows up as a difference."""
        out = {}
        for table in await self.tables():
            xmin = "xmin::text AS _xmin, " if self.parsed.dialect == "postgres" else ""
            rows = await self.fetch(f'SELECT {xmin}* FROM "{table}"')
            out[table] = sorted(tuple(repr(v) for v in row) for row in rows)
        return out


@pytest.fixture
def raw(db_url: str) -> Raw:
    return Raw(db_url)


@pytest.fixture
def samples() -> list[Any]:
    """One of each stored contract (two SMC events: a swing and a BOS go to different tables;
    two states of one zone: both are kept)."""
    series = {"venue": "binance-spot", "symbol": "BTCUSDT", "tf": "1h"}
    return [
        FeaturesV1(
            **series,
            time=T0,
            confirmed_at=T0 + HOUR - 1,
            values={"ema_20": 42000.123456789012, "rsi_14": None, "bb.upper": 1e-9},
        ),
        SmcEventV1(
            **series,
            time=T0 - 3 * HOUR,
            confirmed_at=T0 + HOUR - 1,
            event_id="sw-1",
            kind="SWING_HIGH",
            direction="BEAR",
            price=42100.5,
            label="HH",
        ),
        SmcEventV1(
            **series,
            time=T0,
            confirmed_at=T0 + HOUR - 1,
            event_id="bos-1",
            kind="BOS",
            direction="BULL",
            price=42110.25,
            ref_time=T0 - 3 * HOUR,
        ),
        ZoneV1(
            **series,
            time=T0 - 2 * HOUR,
            confirmed_at=T0 - HOUR - 1,
            zone_id="ob-1",
            kind="ORDER_BLOCK",
            direction="BULL",
            top=42000.5,
            bottom=41900.25,
        ),
        ZoneV1(
            **series,
            time=T0 - 2 * HOUR,
            confirmed_at=T0 + HOUR - 1,
            zone_id="ob-1",
            kind="ORDER_BLOCK",
            direction="BULL",
            top=42000.5,
            bottom=41900.25,
            state="PARTIAL",
            fill_pct=0.5,
        ),
        SignalRawV1(
            **series,
            time=T0,
            confirmed_at=T0 + HOUR - 1,
            signal_id="sig-1",
            strategy="retest",
            side="BUY",
            entry=Decimal("42000.10"),
            stop=Decimal("41800.05"),
            take_profits_r=[Decimal("1.5"), Decimal(2), Decimal("3.25")],
            score=0.8,
            ttl_bars=5,
            zone_id="ob-1",
            reasons=["order block retest", "trend up"],
        ),
        RegimeV1(
            **series,
            time=T0,
            confirmed_at=T0 + HOUR - 1,
            volatility="NORMAL",
            trend="UP",
            atr_percentile=55.5,
            ema_slope=-0.0012,
        ),
        NewsWindowV1(
            event_id="us-cpi-2023-11",
            title="US CPI",
            currency="USD",
            impact="HIGH",
            event_time=T0 + 2 * HOUR,
            block_from=T0 + HOUR,
            block_until=T0 + 3 * HOUR,
            source="calendar",
        ),
        FundingWindowV1(
            venue="binance-usdm",
            symbol="BTCUSDT",
            observed_at=T0,
            funding_time=T0 + 8 * HOUR,
            rate=Decimal("0.00010000"),
            mark_price=Decimal("42000.12345678"),
            block_from=T0 + 8 * HOUR - 60_000,
            block_until=T0 + 8 * HOUR + 60_000,
        ),
        DecisionV1(
            decision_id="d-1",
            signal_id="sig-1",
            venue="binance-spot",
            symbol="BTCUSDT",
            side="BUY",
            status="APPROVED",
            entry=Decimal("42000.10"),
            stop=Decimal("41800.05"),
            quantity=Decimal("0.003"),
            take_profits=[
                TakeProfitLeg(
                    price=Decimal("42300.18"), quantity=Decimal("0.001"), r_multiple=Decimal("1.5")
                ),
                TakeProfitLeg(
                    price=Decimal("42400.20"), quantity=Decimal("0.002"), r_multiple=Decimal(2)
                ),
            ],
            risk_amount=Decimal("0.60015"),
            created_at=T0 + HOUR,
            expires_at=T0 + 5 * HOUR,
            reasons=["ok"],
        ),
        OrderUpdateV1(
            venue="binance-spot",
            symbol="BTCUSDT",
            client_order_id="d-1-E",
            exchange_order_id="123",
            decision_id="d-1",
            leg="ENTRY",
            side="BUY",
            order_type="LIMIT",
            status="PARTIALLY_FILLED",
            price=Decimal("42000.10"),
            orig_qty=Decimal("0.003"),
            filled_qty=Decimal("0.001"),
            avg_price=Decimal("42000.10"),
            last_fill_qty=Decimal("0.001"),
            last_fill_price=Decimal("42000.10"),
            fee=Decimal("0.00000100"),
            fee_asset="BTC",
            event_time=T0 + HOUR + 5_000,
            sequence=2,
        ),
    ]


def _order(
    status: str, *, sequence: int, event_time: int, filled: str = "0", cid: str = "o-1", **kw: Any
) -> OrderUpdateV1:
    orig = Decimal(2)
    filled_qty = orig if status == "FILLED" else Decimal(filled)
    return OrderUpdateV1(
        venue="binance-spot",
        symbol="ETHUSDT",
        client_order_id=cid,
        side="SELL",
        order_type="LIMIT",
        status=status,
        price=Decimal("2500.5"),
        orig_qty=orig,
        filled_qty=filled_qty,
        avg_price=Decimal("2500.5") if filled_qty else None,
        event_time=event_time,
        sequence=sequence,
        **kw,
    )


@pytest.fixture
def make_order() -> Callable[..., OrderUpdateV1]:
    """Order updates of one SELL order (``o-1`` by default) in a given state."""
    return _order
