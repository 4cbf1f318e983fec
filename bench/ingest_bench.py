"""Market-data ingest: throughput of the hot path and venue-to-book latency.

Usage: python bench/ingest_bench.py [--symbols 50] [--bars 40] [--runs 3] [--rate 1000] [--seconds 10]

1. **Throughput** — kline messages decoded (orjson), validated and applied per second on one core:
   book update (plus two derived timeframes in the second variant), latest-topic publish, and for
   closed candles the CandleV1 contract, the sequencer and the durable ``candles.v1`` publish. The
   messages are pre-encoded combined-stream frames with Binance's cadence (29 open updates, then the
   close, per 1m bar) over ``--symbols`` symbols, ``--batch`` of them per event-loop turn (what one
   socket read delivers under load); no socket is involved. Goal: >= 50,000 msgs/s.
2. **Latency** — the built-in venue (in this process, over its real uvicorn WebSocket) sends open
   kline updates at ``--rate`` msgs/s across 10 symbols, each stamped with the wall-clock µs of the
   send; the latency is measured right after the update landed in the candle book. Goal: p99 <= 5 ms.

Prints the median of ``--runs`` for throughput and the p50/p99/max of all latency samples.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
import orjson
from websockets.asyncio.server import ServerConnection, serve

from tradeterm.bus import EventBus
from tradeterm.contracts import CandleV1, Timeframe
from tradeterm.market.ingest import IngestConfig, MarketIngest
from tradeterm.market.rest import RestClient
from tradeterm.market.spec import SPOT
from tradeterm.market.stream import StreamConfig
from tradeterm.market.synthetic import SyntheticMarket
from tradeterm.venue.app import VenueServer
from tradeterm.venue.config import VenueConfig

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT", "DOTUSDT",
           "LINKUSDT"]


# ----------------------------------------------------------------------------- throughput
def _messages(symbols: list[str], bars: int, per_bar: int = 29) -> list[bytes]:
    frames = {s: SyntheticMarket(s, seed=i + 1, start_ms=T0).generate(bars) for i, s in enumerate(symbols)}
    out = []
    for b in range(bars):
        for u in range(1, per_bar + 2):
            closed = u == per_bar + 1
            for s in symbols:
                f = frames[s]
                t = int(f.open_time[b])
                o, h, lo, c, v = (float(getattr(f, n)[b]) for n in ("open", "high", "low", "close", "volume"))
                frac = 1.0 if closed else u / (per_bar + 1)
                cur = c if closed else o + (c - o) * frac
                hi, low = (h, lo) if closed else (max(o, cur), min(o, cur))
                k = {"t": t, "T": t + 59_999, "s": s, "i": "1m", "f": 1, "L": 2, "o": f"{o:.8f}", "c": f"{cur:.8f}",
                     "h": f"{hi:.8f}", "l": f"{low:.8f}", "v": f"{v * frac:.8f}", "n": 10 * u, "x": closed,
                     "q": f"{v * frac * c:.8f}", "V": f"{v * frac / 2:.8f}", "Q": f"{v * frac * c / 2:.8f}", "B": "0"}
                e = t + (60_000 * u) // (per_bar + 1)
                out.append(orjson.dumps({"stream": f"{s.lower()}@kline_1m",
                                         "data": {"e": "kline", "E": e, "s": s, "k": k}}))
    return out


def _history(request: httpx.Request) -> httpx.Response:
    """REST stand-in: every series starts with its first bar forming at T0."""
    tf = Timeframe(request.url.params["interval"])
    t = tf.bucket_start(T0)
    return httpx.Response(200, json=[[t, "1", "1", "1", "1", "0", tf.close_time(t), "0", 0, "0", "0", "0"]])


async def _ack_server(ws: ServerConnection) -> None:
    async for raw in ws:
        await ws.send(orjson.dumps({"result": None, "id": orjson.loads(raw)["id"]}))


async def throughput(symbols: list[str], bars: int, derived: tuple[str, ...], batch: int) -> tuple[float, int, int]:
    msgs = _messages(symbols, bars)
    server = await serve(_ack_server, "127.0.0.1", 0)
    ws_url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    http = httpx.AsyncClient(transport=httpx.MockTransport(_history))
    bus = EventBus()
    bus.subscribe("candles.live", policy="latest")
    durable = bus.subscribe(CandleV1, maxsize=100_000)
    cfg = IngestConfig(history_bars=10, stream=StreamConfig(ping_interval=None))
    ing = MarketIngest(SPOT, rest_url="http://rest.test", ws_url=ws_url, bus=bus, config=cfg,
                       rest=RestClient("http://rest.test", SPOT, http=http))
    await ing.start()
    await ing.subscribe_many([(s, tf) for s in symbols for tf in ("1m", *derived)])
    for s in symbols:
        for tf in ("1m", *derived):
            await ing.wait_ready(s, tf, 30)
    loads = orjson.loads
    feed = ing.feed
    t0 = time.perf_counter()
    for i in range(0, len(msgs), batch):
        for raw in msgs[i : i + batch]:
            feed(loads(raw))
        await asyncio.sleep(0)  # one event-loop turn per socket read of ``batch`` frames
    await ing.flush()
    elapsed = time.perf_counter() - t0
    closed = durable.pending()
    assert ing.rejects.total == 0, ing.rejects.counts
    await ing.stop()
    await http.aclose()
    server.close()
    return len(msgs) / elapsed, len(msgs), closed


# ----------------------------------------------------------------------------- latency
async def latency(rate: int, seconds: float) -> list[float]:
    srv = VenueServer(VenueConfig(synthetic=SYMBOLS, speed=None, paused=True, history_bars=200))
    await srv.start()
    srv.venue.step(1)
    bus = EventBus()
    bus.subscribe("candles.live", policy="latest")
    cfg = IngestConfig(history_bars=100, stream=StreamConfig(ping_interval=None))
    ing = MarketIngest(SPOT, rest_url=srv.rest_url, ws_url=srv.ws_url, bus=bus, config=cfg)
    await ing.start()
    await ing.subscribe_many([(s, tf) for s in SYMBOLS for tf in ("1m", "5m", "15m")])
    for s in SYMBOLS:
        await ing.wait_ready(s, "15m", 30)
    samples: list[float] = []

    def timed(msg: Any) -> None:
        ing.feed(msg)
        samples.append((time.time_ns() // 1000 - msg["data"]["E"]) / 1000.0)

    ing.stream.on_message = timed
    now = srv.venue.market_ms
    bars = {s: srv.venue.series[s].bar(srv.venue.series[s].index_at(now), now) for s in SYMBOLS}
    hub = srv.venue.streams
    n = int(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        s = SYMBOLS[i % len(SYMBOLS)]
        b = bars[s]
        k = {"t": b.open_time, "T": b.close_time, "s": s, "i": "1m", "f": 1, "L": 2, "o": f"{b.open:.8f}",
             "c": f"{b.close:.8f}", "h": f"{b.high:.8f}", "l": f"{b.low:.8f}", "v": f"{b.volume:.8f}", "n": i,
             "x": False, "q": f"{b.quote_volume:.8f}", "V": f"{b.taker_buy_base:.8f}",
             "Q": f"{b.taker_buy_quote:.8f}", "B": "0"}
        # E carries the send time (µs since the epoch): the venue's own path serialises and sends it.
        hub.publish(f"{s.lower()}@kline_1m", {"e": "kline", "E": time.time_ns() // 1000, "s": s, "k": k})
    while len(samples) < n:
        await asyncio.sleep(0.01)
    await ing.stop()
    await srv.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--bars", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20, help="frames handled per event-loop turn")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    symbols = [f"S{i:03d}USDT" for i in range(args.symbols)]
    for label, derived in (("1m only", ()), ("1m + derived 5m,15m", ("5m", "15m"))):
        results = [asyncio.run(throughput(symbols, args.bars, derived, args.batch)) for _ in range(args.runs)]
        rate = statistics.median(r[0] for r in results)
        n, closed = results[0][1], results[0][2]
        print(f"ingest throughput {label:22s} {rate:>10,.0f} msgs/s  (median of {args.runs}; {n:,} msgs, "
              f"{args.symbols} symbols, {args.batch} per loop turn, {closed:,} closed candles published)")
    lat = sorted(asyncio.run(latency(args.rate, args.seconds)))
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"venue send -> candle book @ {args.rate} msgs/s: p50 {p(0.5):.2f} ms  p99 {p(0.99):.2f} ms  "
          f"max {lat[-1]:.2f} ms  ({len(lat):,} samples, venue and ingest in one process)")


if __name__ == "__main__":
    main()
