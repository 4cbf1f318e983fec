"""Benchmarks of the built-in venue's USD-M futures over loopback.

1. Futures LIMIT order round trip: signed ``POST /fapi/v1/order`` (ACK) → response on one
   keep-alive connection from a minimal raw HTTP/1.1 client (the venue's figure, not a client
   library's), p50/p99; each order is then cancelled (``DELETE /fapi/v1/order``, timed too) so the
   symbol stays under MAX_NUM_ORDERS.
2. Algo orders: ``POST /fapi/v1/algoOrder`` (STOP_MARKET) → response, p50/p99; and trigger
   latency: from the control request that moves the replay across the trigger price
   (``POST /_venue/step``) to the triggered child's FILLED ``ORDER_TRADE_UPDATE`` arriving on the
   user-data WebSocket (``/private/ws/<listenKey>``): trigger, child order, fill, event, delivery.
   The replay is a hand-made market (every bar 50000 → ±50 → 50000), so every step crosses the
   stop; stops alternate BUY above and SELL below so the position stays flat.
3. Futures market streams: 10 WebSocket clients each on ``/market/stream`` with
   ``btcusdt@kline_1m/btcusdt@markPrice@1s/btcusdt@aggTrade`` while the venue replays at
   ``speed=max``; total messages per second received.

The venue runs in a child process (its own interpreter and GIL), as it would for a real client.
Run:  python bench/venue_futures_bench.py [--orders 3000] [--algos 1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import multiprocessing as mp
import socket
import statistics
import time
from decimal import Decimal
from typing import Any

import orjson
from _venue_common import count_stream_messages, stop_venue

KEY, SECRET = "bench-key", "bench-secret"
PRICE = 50_000.0


def _bench_source(bars: int) -> Any:
    """BTCUSDT 1m bars that each go 50000 → 50050 → 49950 → 50000 (so any stop 10 away triggers)."""
    import numpy as np

    from tradeterm.contracts import Timeframe
    from tradeterm.market.frame import CandleFrame
    from tradeterm.venue.datasource import FrameSource
    from tradeterm.venue.symbols import SymbolRules

    t0 = 1_700_000_040_000 - 1_700_000_040_000 % 60_000
    n = bars
    ot = t0 + np.arange(n, dtype=np.int64) * 60_000
    o = np.full(n, PRICE)
    vol = np.full(n, 10.0)
    frame = CandleFrame.from_columns("BTCUSDT", Timeframe.M1, ot, o, o + 50, o - 50, o.copy(), vol, vol * PRICE,
                                     np.full(n, 100), vol / 2, vol * PRICE / 2)
    rules = SymbolRules(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size=Decimal("0.1"),
                        step_size=Decimal("0.001"), min_qty=Decimal("0.001"), min_notional=Decimal(5),
                        min_price=Decimal("0.1"), max_price=Decimal(1000000), max_qty=Decimal(1000))
    return FrameSource(frame, rules)


def _serve(conn: Any, speed_max: bool, bars: int) -> None:
    from tradeterm.venue.app import VenueServer
    from tradeterm.venue.auth import Credential
    from tradeterm.venue.config import VenueConfig

    async def main() -> None:
        common: dict[str, Any] = {
            "credentials": [Credential(KEY, SECRET)], "futures_balance": Decimal(10**9),
            "weight_per_minute": 10**9, "orders_per_10s": 10**9, "orders_per_day": 10**9,
            "futures_weight_per_minute": 10**9, "futures_orders_per_10s": 10**9,
            "futures_orders_per_minute": 10**9}
        if speed_max:
            cfg = VenueConfig(synthetic=["BTCUSDT"], seed=3, speed=None, history_bars=1000, **common)
        else:
            cfg = VenueConfig(sources=[_bench_source(bars)], speed=None, paused=True, history_bars=5, **common)
        srv = VenueServer(cfg)
        await srv.start()
        conn.send(srv.port)
        while not conn.poll():
            await asyncio.sleep(0.05)
        await srv.stop()

    asyncio.run(main())


def _start(speed_max: bool, bars: int = 0) -> tuple[mp.Process, Any, int]:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(child, speed_max, bars), daemon=True)
    proc.start()
    return proc, parent, parent.recv()


def _request(method: str, path: str, params: str | None = None, body: bytes | None = None) -> bytes:
    """A raw HTTP/1.1 request; ``params`` are signed (form body, or query for GET)."""
    headers = b"Host: 127.0.0.1\r\n"
    if params is not None:
        q = f"{params}&timestamp={int(time.time() * 1000)}"
        q += "&signature=" + hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()
        headers += f"X-MBX-APIKEY: {KEY}\r\n".encode()
        if method == "GET":
            path, body = f"{path}?{q}", b""
        else:
            body = q.encode()
            headers += b"Content-Type: application/x-www-form-urlencoded\r\n"
    body = body or b""
    return (f"{method} {path} HTTP/1.1\r\n".encode() + headers + b"Content-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += sock.recv(65536)
    body, extra = rest[:length], rest[length:]
    buf[:] = extra
    return status, body


class _Http:
    """One keep-alive connection, timing each round trip."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def call(self, method: str, path: str, params: str | None = None, body: bytes | None = None) -> tuple[float, Any]:
        req = _request(method, path, params, body)
        t0 = time.perf_counter()
        self.sock.sendall(req)
        status, resp = _read_response(self.sock, self.buf)
        dt = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise RuntimeError(f"{method} {path} failed: {status} {resp!r}")
        return dt, orjson.loads(resp)

    def close(self) -> None:
        self.sock.close()


def _pct(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[max(int(len(xs) * 0.99) - 1, 0)]


def bench_orders(n: int, warmup: int = 200) -> dict[str, float]:
    proc, conn, port = _start(speed_max=False, bars=50)
    lat: list[float] = []
    cancel: list[float] = []
    try:
        http = _Http(port)
        for i in range(n + warmup):
            dt, _ = http.call("POST", "/fapi/v1/order", f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
                              f"&quantity=0.003&price=40000&newOrderRespType=ACK&newClientOrderId=f{i}")
            ct, _ = http.call("DELETE", "/fapi/v1/order", f"symbol=BTCUSDT&origClientOrderId=f{i}")
            if i >= warmup:
                lat.append(dt)
                cancel.append(ct)
        http.close()
    finally:
        stop_venue(proc, conn)
    p50, p99 = _pct(lat)
    c50, c99 = _pct(cancel)
    return {"n": len(lat), "p50_ms": p50, "p99_ms": p99, "max_ms": max(lat), "cancel_p50_ms": c50,
            "cancel_p99_ms": c99}


async def _trigger_loop(port: int, http: _Http, n: int, warmup: int) -> tuple[list[float], list[float]]:
    from websockets.asyncio.client import connect

    http.sock.sendall(f"POST /fapi/v1/listenKey HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: {KEY}\r\n"
                      "Content-Length: 0\r\n\r\n".encode())  # USER_STREAM: key only, unsigned
    status, raw = _read_response(http.sock, http.buf)
    if status != 200:
        raise RuntimeError(f"listenKey failed: {status} {raw!r}")
    lk = orjson.loads(raw)
    place: list[float] = []
    trigger: list[float] = []
    async with connect(f"ws://127.0.0.1:{port}/private/ws/{lk['listenKey']}", max_queue=None) as ws:
        await asyncio.sleep(0.2)
        for i in range(n + warmup):
            buy = i % 2 == 0
            side, px = ("BUY", PRICE + 10) if buy else ("SELL", PRICE - 10)
            dt, algo = http.call("POST", "/fapi/v1/algoOrder",
                                 f"algoType=CONDITIONAL&symbol=BTCUSDT&side={side}&type=STOP_MARKET"
                                 f"&quantity=0.003&triggerPrice={px:.1f}&clientAlgoId=s{i}")
            while True:  # ALGO_UPDATE NEW
                ev = orjson.loads(await ws.recv())
                if ev.get("e") == "ALGO_UPDATE" and ev["o"]["caid"] == f"s{i}":
                    break
            # Time from the market move (the step request) to the child's fill on the user stream.
            t0 = time.perf_counter()
            http.sock.sendall(_request("POST", "/_venue/step", body=b'{"bars": 1}'))
            while True:
                ev = orjson.loads(await ws.recv())
                o = ev.get("o", {})
                if ev.get("e") == "ORDER_TRADE_UPDATE" and o.get("ot") == "STOP_MARKET" and o.get("X") == "FILLED":
                    t1 = time.perf_counter()
                    break
            status, _ = _read_response(http.sock, http.buf)
            if status != 200:
                raise RuntimeError(f"step failed: {status}")
            if algo["algoStatus"] != "NEW":
                raise RuntimeError(f"algo not accepted: {algo}")
            if i >= warmup:
                place.append(dt)
                trigger.append((t1 - t0) * 1000)
            while True:  # drain the rest of this trigger's events (ACCOUNT_UPDATE, ALGO_UPDATE FINISHED)
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.002)
                except TimeoutError:
                    break
                ev = orjson.loads(raw)
    return place, trigger


def bench_algos(n: int, warmup: int = 50) -> dict[str, float]:
    proc, conn, port = _start(speed_max=False, bars=n + warmup + 20)
    try:
        http = _Http(port)
        place, trigger = asyncio.run(_trigger_loop(port, http, n, warmup))
        http.close()
    finally:
        stop_venue(proc, conn)
    p50, p99 = _pct(place)
    t50, t99 = _pct(trigger)
    return {"n": len(place), "place_p50_ms": p50, "place_p99_ms": p99, "trigger_p50_ms": t50, "trigger_p99_ms": t99}


def bench_stream(clients: int, seconds: float) -> dict[str, float]:
    proc, conn, port = _start(speed_max=True)
    try:
        url = f"ws://127.0.0.1:{port}/market/stream?streams=btcusdt@kline_1m/btcusdt@markPrice@1s/btcusdt@aggTrade"
        total, dt = asyncio.run(count_stream_messages(url, clients, seconds))
    finally:
        stop_venue(proc, conn)
    return {"clients": clients, "messages": total, "seconds": dt, "msgs_per_s": total / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=3000)
    ap.add_argument("--algos", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    o = bench_orders(args.orders)
    print(f"futures LIMIT order round trip (ACK), {o['n']} orders over loopback: p50 {o['p50_ms']:.3f} ms, "
          f"p99 {o['p99_ms']:.3f} ms, max {o['max_ms']:.3f} ms")
    print(f"  cancel round trip: p50 {o['cancel_p50_ms']:.3f} ms, p99 {o['cancel_p99_ms']:.3f} ms")
    a = bench_algos(args.algos)
    print(f"algo STOP_MARKET place round trip, {a['n']} orders: p50 {a['place_p50_ms']:.3f} ms, "
          f"p99 {a['place_p99_ms']:.3f} ms")
    print(f"  trigger → child FILLED on user data: p50 {a['trigger_p50_ms']:.3f} ms, p99 {a['trigger_p99_ms']:.3f} ms")
    s = bench_stream(args.clients, args.seconds)
    print(f"futures market streams (kline_1m + markPrice@1s + aggTrade) to {s['clients']} clients at speed=max: "
          f"{s['messages']:.0f} messages in {s['seconds']:.2f} s = {s['msgs_per_s']:,.0f} msgs/s")


if __name__ == "__main__":
    main()
