"""A seeded synthetic market: the data the demo venue replays when the user has no data of their own.

The goal is a market that *looks and behaves* like Binance closely enough that analysis, charts and
order handling meet the same situations they meet live: quiet and violent stretches (GARCH(1,1)
with Student-t shocks), trends and ranges (a regime chain switching drift and mean reversion),
a busier US afternoon and a calmer weekend, wicks drawn from a Brownian bridge (so they scale with
volatility and with the body), and prices and quantities already on the exchange's tick and step
grid. Everything is a pure function of ``(seed, symbol, tf)`` and the bar index, so a test, a demo
and a bug report all see the same bars, and streaming in any chunking gives the batch result.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from tradeterm.contracts import Timeframe
from tradeterm.contracts.timeframe import DAY_MS, HOUR_MS, MINUTE_MS
from tradeterm.market.frame import CandleFrame

__all__ = ["MarketParams", "SymbolSpec", "SyntheticMarket", "symbol_spec"]

_YEAR_MS = 365 * DAY_MS
# Random numbers come in fixed blocks of bars so that bar i always sees the same draws, however
# the caller chunks the stream (generate(100) == next_bars(50) + next_bars(50)).
_BLOCK = 1 << 16
# Below this many bars the plain-Python kernel beats numba's start-up (import + cache load).
_NUMBA_MIN_BARS = 200_000
# Small requests are served from a buffer of this many bars made in one go.
_READ_AHEAD = 2048

# Quote assets, longest first so "FDUSD" wins over "USD…" style prefixes.
_QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "BTC", "ETH", "BNB", "TRY", "EUR", "BRL", "JPY")
_STABLE = {"USDT", "USDC", "FDUSD", "TUSD", "BUSD"}
_MIN_NOTIONAL = {"BTC": Decimal("0.0001"), "ETH": Decimal("0.001"), "BNB": Decimal("0.01")}


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Exchange facts of a symbol: the venue builds PRICE_FILTER / LOT_SIZE / NOTIONAL from it, and
    the generator rounds to it, so synthetic bars never carry a price an order could not have."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    start_price: Decimal

    @property
    def price_decimals(self) -> int:
        return _decimals(self.tick_size)

    @property
    def qty_decimals(self) -> int:
        return _decimals(self.step_size)


_KNOWN: dict[str, tuple[str, str, str, str]] = {
    # symbol: tick, step, start price, min notional — spot BTCUSDT/ETHUSDT/SOLUSDT filters (2024-09).
    "BTCUSDT": ("0.01", "0.00001", "60000", "5"),
    "ETHUSDT": ("0.01", "0.0001", "3000", "5"),
    "SOLUSDT": ("0.01", "0.001", "150", "5"),
}


def _stable_hash(text: str) -> int:
    """A process-independent 64-bit hash (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _decimals(q: Decimal) -> int:
    exp = q.normalize().as_tuple().exponent
    return max(0, -int(exp))


def _split_symbol(symbol: str) -> tuple[str, str]:
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, "USDT"


def symbol_spec(symbol: str) -> SymbolSpec:
    """Tick, step and a starting price for ``symbol``.

    BTC/ETH/SOL against USDT use Binance's real spot filters. Any other name gets a plausible spec
    derived from a hash of the name (stable across runs and machines): a log-uniform price, a tick
    giving 4–5 significant digits, and a step worth roughly 0.1–1 quote units, like real listings.
    """
    sym = symbol.upper()
    base, quote = _split_symbol(sym)
    if sym in _KNOWN:
        tick_s, step_s, price_s, notional_s = _KNOWN[sym]
        step_d = Decimal(step_s)
        return SymbolSpec(sym, base, quote, Decimal(tick_s), step_d, step_d, Decimal(notional_s), Decimal(price_s))
    u = (_stable_hash("spec:" + sym) % 1_000_003) / 1_000_003
    lo, hi = (1e-5, 0.05) if quote in ("BTC", "ETH", "BNB") else (0.01, 2000.0)
    price_f = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    tick_exp = min(max(math.floor(math.log10(price_f)) - 4, -8), -2)
    step_exp = min(max(math.floor(math.log10(1.0 / price_f)), -8), 0)
    tick = Decimal(1).scaleb(tick_exp)
    step = Decimal(1).scaleb(step_exp)
    price = Decimal(repr(price_f)).quantize(tick)
    if price <= 0:
        price = tick * 10_000
    notional = _MIN_NOTIONAL.get(quote, Decimal(5) if quote in _STABLE else Decimal(10))
    return SymbolSpec(sym, base, quote, tick, step, step, notional, price)


@dataclass(frozen=True, slots=True)
class MarketParams:
    """Knobs of the model. Volatility and drift are per bar in units of the bar's unconditional
    sigma, so the same params give statistically similar charts on every timeframe."""

    annual_vol: float = 0.6
    garch_alpha: float = 0.07
    garch_beta: float = 0.91
    t_dof: float = 4.5
    range_bars: float = 480.0  # mean length of a ranging stretch
    trend_bars: float = 240.0  # mean length of a trending stretch
    trend_drift: float = 0.1  # drift per bar while trending, in bar sigmas
    range_kappa: float = 0.01  # pull per bar back to the range's anchor while ranging
    season_amp: float = 0.35  # intraday vol swing, peak ~15:00 UTC (US session)
    weekend_factor: float = 0.75
    turnover_per_min: float = 1.0e6  # quote volume per minute at average activity
    volume_sigma: float = 0.45
    volume_vol_beta: float = 1.0  # elasticity of volume to conditional vol
    volume_ret_beta: float = 0.35  # extra volume per unit |shock|
    open_jitter_prob: float = 0.3  # share of bars whose open is one tick off the previous close

    @classmethod
    def for_symbol(cls, symbol: str) -> MarketParams:
        """Defaults with a symbol-typical volatility and turnover."""
        sym = symbol.upper()
        known = {"BTCUSDT": (0.55, 1.5e6), "ETHUSDT": (0.7, 8.0e5), "SOLUSDT": (0.9, 3.0e5)}
        if sym in known:
            vol, turnover = known[sym]
        else:
            u = (_stable_hash("params:" + sym) % 10_007) / 10_007
            vol, turnover = 0.6 + 0.6 * u, math.exp(math.log(2e4) + u * math.log(10.0))
            if _split_symbol(sym)[1] in ("BTC", "ETH", "BNB"):
                turnover = turnover / 60_000.0
        return cls(annual_vol=vol, turnover_per_min=turnover)


def _path_kernel(
    z: np.ndarray,
    season: np.ndarray,
    mu: np.ndarray,
    kappa: np.ndarray,
    seg_start: np.ndarray,
    sigma_bar: float,
    alpha: float,
    beta: float,
    h: float,
    x: float,
    anchor: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]:
    """The only sequential part: GARCH variance, regime drift and range mean reversion.

    Only +, *, / and sqrt (all correctly rounded in IEEE), so the numba and Python builds agree
    bit for bit. ``h`` is the conditional variance in units of the unconditional one.
    """
    n = z.shape[0]
    r = np.empty(n)
    sd = np.empty(n)
    xo = np.empty(n)
    omega = 1.0 - alpha - beta
    for i in range(n):
        if seg_start[i]:
            anchor = x
        xo[i] = x
        s = sigma_bar * math.sqrt(h) * season[i]
        ri = sigma_bar * mu[i] - kappa[i] * (x - anchor) + s * z[i]
        r[i] = ri
        sd[i] = s
        x = x + ri
        h = omega + alpha * h * z[i] * z[i] + beta * h
    return r, sd, xo, h, x, anchor


_Kernel = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]]
_KERNELS: dict[str, _Kernel] = {}


def _kernel(n: int) -> _Kernel:
    """numba for big batches when installed (it is optional); plain Python otherwise."""
    if n < _NUMBA_MIN_BARS:
        return _path_kernel
    if "numba" not in _KERNELS:
        try:
            import numba

            _KERNELS["numba"] = numba.njit(cache=True, nogil=True)(_path_kernel)
        except Exception:  # noqa: BLE001 - any numba failure just means the slow path
            _KERNELS["numba"] = _path_kernel
    return _KERNELS["numba"]


@functools.lru_cache(maxsize=64)
def _grid(quantum: Decimal) -> tuple[int, int, float]:
    """``quantum`` as ``m * 10**-d`` (e.g. 0.05 → (5, 2)), plus its float."""
    _sign, digits, exp = quantum.normalize().as_tuple()
    return int("".join(map(str, digits))), -int(exp), float(quantum)


def _grid_round(values: np.ndarray, quantum: Decimal, how: str) -> np.ndarray:
    """Round to multiples of ``quantum`` and return the floats a decimal string would parse to.

    ``k * 0.01`` can be 0.30000000000000004; ``(k * m) / 10**d`` is the correctly rounded double of
    the decimal, i.e. what ``float("0.3")`` gives — the same floats a loader reads from Binance.
    """
    m, d, q = _grid(quantum)
    k = (np.rint if how == "nearest" else np.floor)(values / q)
    if d >= 0:
        return (k * m) / float(10**d)
    return k * m * float(10 ** (-d))


@dataclass(slots=True)
class _Segment:
    start: int  # first bar index
    length: int
    mu: float
    kappa: float


class SyntheticMarket:
    """An endless, seeded candle series for one symbol and timeframe.

    A cursor walks the path: ``generate(n)``/``next_bars(n)`` return the next ``n`` bars, so any
    chunking of calls yields the same bars as one big call, and ``reset()`` replays from the start.
    """

    def __init__(
        self,
        symbol: str,
        *,
        seed: int,
        start_ms: int,
        tf: Timeframe | str = Timeframe.M1,
        start_price: float | Decimal | None = None,
        params: MarketParams | None = None,
    ) -> None:
        self.tf = Timeframe(tf)
        if self.tf.bucket_start(int(start_ms)) != int(start_ms):
            raise ValueError(f"start_ms {start_ms} is not on a {self.tf.value} boundary")
        spec = symbol_spec(symbol)
        if start_price is not None:
            if not float(start_price) > 0:
                raise ValueError(f"start_price must be positive, got {start_price}")
            spec = replace(spec, start_price=Decimal(str(start_price)).quantize(spec.tick_size))
        self.spec = spec
        self.symbol = spec.symbol
        self.seed = int(seed)
        self.start_ms = int(start_ms)
        self.params = params or MarketParams.for_symbol(self.symbol)
        p = self.params
        if not (p.garch_alpha >= 0 and p.garch_beta >= 0 and p.garch_alpha + p.garch_beta < 1):
            raise ValueError("GARCH needs alpha, beta >= 0 and alpha + beta < 1")
        if p.t_dof <= 2:
            raise ValueError("t_dof must exceed 2 for a finite variance")
        tf_ms = 30.436875 * DAY_MS if self.tf is Timeframe.MO1 else self.tf.ms
        self._sigma_bar = p.annual_vol * math.sqrt(tf_ms / _YEAR_MS)
        self._bar_minutes = tf_ms / MINUTE_MS
        self._tick = float(spec.tick_size)
        self._step = float(spec.step_size)
        self._key = (_stable_hash(self.symbol), _stable_hash("tf:" + self.tf.value))
        self._rewind()

    def _rewind(self) -> None:
        spec = self.spec
        self._index = 0
        self._next_open_ms = self.start_ms
        self._h = 1.0
        self._x = math.log(float(spec.start_price))
        self._anchor = self._x
        self._last_close = float(spec.start_price)
        self._regime_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(*self._key, 0)))
        self._segments: list[_Segment] = []
        self._block_cache: dict[int, dict[str, np.ndarray]] = {}
        # Bars made ahead of demand: one-bar streaming would otherwise pay numpy's per-call
        # overhead for every bar. The path does not depend on chunking, so this changes nothing.
        self._ahead: CandleFrame | None = None
        self._ahead_pos = 0

    # ----------------------------------------------------------------- public API
    @property
    def cursor_ms(self) -> int:
        """Open time of the bar ``next_bars`` returns next."""
        if self._ahead is not None and self._ahead_pos < len(self._ahead):
            return int(self._ahead.open_time[self._ahead_pos])
        return self._next_open_ms

    @property
    def bars_emitted(self) -> int:
        ahead = len(self._ahead) - self._ahead_pos if self._ahead is not None else 0
        return self._index - ahead

    def generate(self, n: int) -> CandleFrame:
        """The next ``n`` bars — on a fresh market the first ``n`` from ``start_ms``.

        Same as :meth:`next_bars`: a venue preloads history with one call and keeps calling for
        live bars, and the concatenation is always the single long batch.
        """
        return self.next_bars(n)

    def reset(self) -> None:
        """Rewind to ``start_ms`` (the same path replays)."""
        self._rewind()

    def next_bars(self, n: int) -> CandleFrame:
        """The next ``n`` bars of the path, advancing the cursor."""
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return self._empty()
        have = len(self._ahead) - self._ahead_pos if self._ahead is not None else 0
        if have == 0 and n >= _READ_AHEAD:
            return self._produce(n)
        if have < n:
            fresh = self._produce(max(_READ_AHEAD, n - have))
            rest = [self._ahead.slice(self._ahead_pos, len(self._ahead))] if self._ahead is not None and have else []
            self._ahead = _concat([*rest, fresh]) if rest else fresh
            self._ahead_pos = 0
        assert self._ahead is not None
        out = self._ahead.slice(self._ahead_pos, self._ahead_pos + n)
        self._ahead_pos += n
        return _concat([out])  # a copy: callers may keep it while the buffer moves on

    def _produce(self, n: int) -> CandleFrame:
        """Advance the generator itself by ``n`` bars."""
        parts = []
        done = 0
        while done < n:
            # Work in slices that never cross a random block, keeping memory flat for huge n.
            take = min(n - done, _BLOCK - (self._index % _BLOCK))
            parts.append(self._advance(take, big=n >= _NUMBA_MIN_BARS))
            done += take
        if not parts:
            return self._empty()
        if len(parts) == 1:
            return parts[0]
        return _concat(parts)

    def next_bars_until(self, end_ms: int) -> CandleFrame:
        """Every bar that has closed by ``end_ms`` (close time < end_ms) and was not emitted yet:
        what a venue clock at ``end_ms`` should have published."""
        if self.tf is Timeframe.MO1:
            n, t = 0, self.cursor_ms
            while self.tf.bucket_end(t) <= end_ms:
                n, t = n + 1, self.tf.bucket_end(t)
        else:
            n = max(0, (end_ms - self.cursor_ms) // self.tf.ms)
        return self.next_bars(int(n))

    def stream(self, chunk: int = 1) -> Iterator[CandleFrame]:
        """Endless iterator of ``chunk``-bar frames continuing the cursor."""
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        while True:
            yield self.next_bars(chunk)

    # ----------------------------------------------------------------- internals
    def _empty(self) -> CandleFrame:
        e = np.empty(0)
        return CandleFrame.from_columns(self.symbol, self.tf, np.empty(0, np.int64), e, e, e, e, e)

    def _block(self, b: int) -> dict[str, np.ndarray]:
        cached = self._block_cache.get(b)
        if cached is not None:
            return cached
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(*self._key, 1, b)))
        nu = self.params.t_dof
        blk = {
            "z": rng.standard_t(nu, _BLOCK) * math.sqrt((nu - 2.0) / nu),
            "u_hi": rng.random(_BLOCK),
            "u_lo": rng.random(_BLOCK),
            "u_open": rng.random(_BLOCK),
            "n_vol": rng.standard_normal(_BLOCK),
            "n_vwap": rng.standard_normal(_BLOCK),
            "n_taker": rng.standard_normal(_BLOCK),
            "n_trade": rng.standard_normal(_BLOCK),
        }
        self._block_cache = {b: blk}  # streaming only ever needs the current block
        return blk

    def _regimes(self, i0: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-bar drift, mean-reversion strength and segment-start flags for bars [i0, i0+n).

        Segments come from their own sequential generator, so the regime path is independent of
        how bars are chunked; segments wholly before ``i0`` are forgotten.
        """
        p = self.params
        end = i0 + n
        while not self._segments or self._segments[-1].start + self._segments[-1].length < end:
            rng = self._regime_rng
            start = self._segments[-1].start + self._segments[-1].length if self._segments else 0
            prev_trending = bool(self._segments) and self._segments[-1].kappa == 0.0
            if self._segments and not prev_trending or (prev_trending and rng.random() > 0.75):
                # Range → trend, or (a quarter of the time) trend → another trend.
                direction = 1.0 if rng.random() < 0.5 else -1.0
                drift = direction * p.trend_drift * float(rng.lognormal(0.0, 0.3))
                seg = _Segment(start, int(rng.geometric(1.0 / p.trend_bars)), drift, 0.0)
            else:
                seg = _Segment(start, int(rng.geometric(1.0 / p.range_bars)), 0.0, p.range_kappa)
            self._segments.append(seg)
        while len(self._segments) > 1 and self._segments[0].start + self._segments[0].length <= i0:
            self._segments.pop(0)
        mu = np.empty(n)
        kappa = np.empty(n)
        seg_start = np.zeros(n, dtype=np.bool_)
        for seg in self._segments:
            a, b = max(seg.start, i0), min(seg.start + seg.length, end)
            if a >= b:
                continue
            mu[a - i0 : b - i0] = seg.mu
            kappa[a - i0 : b - i0] = seg.kappa
            if seg.start >= i0:
                seg_start[seg.start - i0] = True
        return mu, kappa, seg_start

    def _open_times(self, n: int) -> np.ndarray:
        if self.tf is Timeframe.MO1:
            out = np.empty(n, dtype=np.int64)
            t = self._next_open_ms
            for i in range(n):
                out[i] = t
                t = self.tf.bucket_end(t)
            return out
        return self._next_open_ms + np.arange(n, dtype=np.int64) * self.tf.ms

    def _season(self, open_time: np.ndarray) -> np.ndarray:
        """Volatility multiplier by UTC hour and weekday, normalised to average 1 over a week."""
        p = self.params
        if self.tf.ms >= DAY_MS:
            return np.ones(len(open_time))
        mid_hour = ((open_time % DAY_MS) + self.tf.ms / 2) / HOUR_MS
        day = 1.0 + p.season_amp * np.cos(2.0 * np.pi * (mid_hour - 15.0) / 24.0)
        weekday = (open_time // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        week = np.where(weekday >= 5, p.weekend_factor, 1.0)
        return day * week / ((5.0 + 2.0 * p.weekend_factor) / 7.0)

    def _advance(self, n: int, *, big: bool) -> CandleFrame:
        p = self.params
        i0 = self._index
        blk = self._block(i0 // _BLOCK)
        o = i0 % _BLOCK
        rnd = {k: v[o : o + n] for k, v in blk.items()}
        open_time = self._open_times(n)
        season = self._season(open_time)
        mu, kappa, seg_start = self._regimes(i0, n)
        kernel = _kernel(_NUMBA_MIN_BARS if big else n)
        r, sd, x_open, self._h, self._x, self._anchor = kernel(
            rnd["z"], season, mu, kappa, seg_start, self._sigma_bar, p.garch_alpha, p.garch_beta,
            self._h, self._x, self._anchor,
        )

        # Close on the tick grid; open is the previous close, sometimes one tick off (as on Binance).
        tick = self._tick
        close = np.maximum(_grid_round(np.exp(x_open + r), self.spec.tick_size, "nearest"), tick)
        prev_close = np.concatenate(([self._last_close], close[:-1]))
        jitter = np.where(rnd["u_open"] < p.open_jitter_prob, np.where(rnd["u_open"] < p.open_jitter_prob / 2, -1.0, 1.0), 0.0)
        open_ = np.maximum(_grid_round(prev_close + jitter * tick, self.spec.tick_size, "nearest"), tick)
        self._last_close = float(close[-1])

        # Wicks: the maximum of a Brownian bridge from 0 to b with variance sd² is
        # (b + sqrt(b² − 2 sd² ln u)) / 2 — exact, and it scales with both vol and body.
        lo_u = np.maximum(rnd["u_hi"], 1e-300)
        up = 0.5 * (r + np.sqrt(r * r - 2.0 * sd * sd * np.log(lo_u)))
        dn = 0.5 * (-r + np.sqrt(r * r - 2.0 * sd * sd * np.log(np.maximum(rnd["u_lo"], 1e-300))))
        high = _grid_round(np.exp(x_open + up), self.spec.tick_size, "nearest")
        low = _grid_round(np.exp(x_open - dn), self.spec.tick_size, "nearest")
        high = np.maximum(high, np.maximum(open_, close))
        low = np.maximum(np.minimum(low, np.minimum(open_, close)), tick)

        # Volume: lognormal, louder when conditional vol is high and when the bar's shock is big.
        z = rnd["z"]
        rel_vol = sd / self._sigma_bar  # sqrt(h) * season
        log_v = (
            math.log(p.turnover_per_min * self._bar_minutes)
            - np.log(close)
            + p.volume_vol_beta * np.log(rel_vol)
            + p.volume_ret_beta * (np.abs(z) - 0.75)
            + p.volume_sigma * rnd["n_vol"]
            - 0.5 * p.volume_sigma**2
        )
        volume = np.maximum(_grid_round(np.exp(log_v), self.spec.step_size, "floor"), self._step)
        typical = (open_ + high + low + close) / 4.0
        vwap = np.clip(typical + 0.1 * (high - low) * rnd["n_vwap"], low, high)
        quote_volume = np.round(volume * vwap, 8)
        # Takers lean with the bar's direction.
        frac = np.clip(0.5 + 0.2 * np.tanh(r / np.maximum(sd, 1e-300)) + 0.05 * rnd["n_taker"], 0.01, 0.99)
        taker_base = np.minimum(_grid_round(frac * volume, self.spec.step_size, "floor"), volume)
        taker_quote = np.minimum(np.round(taker_base * vwap, 8), quote_volume)
        trade_size = (p.turnover_per_min / 600.0) * np.exp(0.3 * rnd["n_trade"])
        trades = np.maximum(1, np.rint(quote_volume / trade_size)).astype(np.int64)

        self._index += n
        self._next_open_ms = int(open_time[-1]) + self.tf.ms if self.tf is not Timeframe.MO1 else self.tf.bucket_end(int(open_time[-1]))
        return CandleFrame.from_columns(
            self.symbol, self.tf, open_time, open_, high, low, close, volume,
            quote_volume=quote_volume, trades=trades, taker_buy_base=taker_base, taker_buy_quote=taker_quote,
        )


def _concat(parts: list[CandleFrame]) -> CandleFrame:
    """Concatenate frames of one symbol and timeframe (always copies)."""
    first = parts[0]
    cols = {
        name: np.concatenate([getattr(f, name) for f in parts])
        for name in ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
    }
    return CandleFrame.from_columns(first.symbol, first.tf, **cols)
