"""A synthetic order book around the replayed price.

Candles carry no book, yet market orders need something to sweep and ``/depth`` must answer.
The book is a pure function of (price, tick, step, size): best bid on or below the price, best
ask one tick above, levels spaced ~0.2 bp apart growing in size — deterministic, so fills are
reproducible. The user's own resting orders are not in it (no self-trade to model)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from tradeterm.venue.symbols import floor_to


@dataclass(frozen=True, slots=True)
class SyntheticBook:
    price: Decimal
    tick: Decimal
    step: Decimal
    level_qty: Decimal

    @property
    def best_bid(self) -> Decimal:
        return floor_to(self.price, self.tick)

    @property
    def best_ask(self) -> Decimal:
        return self.best_bid + self.tick

    @property
    def gap(self) -> Decimal:
        g = floor_to(self.price * Decimal("0.00002"), self.tick)
        return g if g > 0 else self.tick

    def level_size(self, k: int) -> Decimal:
        return floor_to(self.level_qty * (1 + Decimal(k % 8) / 4), self.step) or self.step

    def asks(self) -> Iterator[tuple[Decimal, Decimal]]:
        k = 0
        while True:
            yield self.best_ask + self.gap * k, self.level_size(k)
            k += 1

    def bids(self) -> Iterator[tuple[Decimal, Decimal]]:
        k = 0
        while True:
            p = self.best_bid - self.gap * k
            if p <= 0:
                return
            yield p, self.level_size(k)
            k += 1

    def levels(self, side: str, n: int) -> list[tuple[Decimal, Decimal]]:
        it = self.bids() if side == "bids" else self.asks()
        out = []
        for _ in range(n):
            try:
                out.append(next(it))
            except StopIteration:
                break
        return out

    def sweep(self, side: str, qty: Decimal | None = None, quote: Decimal | None = None,
              limit: Decimal | None = None) -> list[tuple[Decimal, Decimal]]:
        """Fills (price, qty) for a taker of ``side`` until ``qty`` base or ``quote`` is used up, never
        beyond ``limit`` (a limit price)."""
        it = self.asks() if side == "BUY" else self.bids()
        fills: list[tuple[Decimal, Decimal]] = []
        left_q, left_quote = qty, quote
        for price, size in it:
            if limit is not None and ((side == "BUY" and price > limit) or (side == "SELL" and price < limit)):
                break
            if left_q is not None:
                take = min(size, left_q)
            else:
                assert left_quote is not None
                take = min(size, floor_to(left_quote / price, self.step))
            if take <= 0:
                break
            fills.append((price, take))
            if left_q is not None:
                left_q -= take
                if left_q <= 0:
                    break
            else:
                assert left_quote is not None
                left_quote -= take * price
            if len(fills) >= 10_000:
                break
        return fills
