"""Benchmarks of the built-in venue over loopback.

1. LIMIT order round trip: signed ``POST /api/v3/order`` (newOrderRespType=ACK) → response, on one
   keep-alive connection from a minimal raw HTTP/1.1 client (so the figure is the venue's, not a
   client library's); p50/p99 over N orders. Goal: p99 <= 2 ms.
2. Kline stream throughput: 10 WebSocket clients on ``<symbol>@kline_1m`` while the venue replays
   at ``speed=max``; total messages per second received. Goal: >= 20,000/s.

The venue runs in a child process (its own interpreter and GIL), as it would for a real client.
Run:  python bench/venue_bench.py [--orders 5000] [--seconds 5]
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

from _venue_common import count_stream_messages, stop_venue


def _serve(conn: Any, speed_max: bool, paused: bool) -> None:
    from tradeterm.venue.app import VenueServer
    from tradeterm.venue.auth import Credential
    from tradeterm.venue.config import VenueConfig

    async def main() -> None:
        cfg = VenueConfig(synthetic=["BTCUSDT"], seed=3, speed=None if speed_max else 60.0, paused=paused,
                          history_bars=1000, balances={"USDT": Decimal(100000000)},
                          credentials=[Credential("bench-key", "bench-secret")],
                          weight_per_minute=10**9, orders_per_10s=10**9, orders_per_day=10**9)
        srv = VenueServer(cfg)
        await srv.start()
        price = srv.venue.last_price("BTCUSDT")
        conn.send((srv.port, str(price)))
        while not conn.poll():
            await asyncio.sleep(0.05)
        await srv.stop()

    asyncio.run(main())


def _start(speed_max: bool, paused: bool) -> tuple[mp.Process, Any, int, Decimal]:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(child, speed_max, paused), daemon=True)
    proc.start()
    port, price = parent.recv()
    return proc, parent, port, Decimal(price)


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


def bench_orders(n: int) -> dict[str, float]:
    proc, conn, port, price = _start(speed_max=False, paused=True)
    try:
        limit_price = (price * Decimal("0.7")).quantize(Decimal("0.01"))
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        lat: list[float] = []
        cancel_lat: list[float] = []
        for i in range(n + 200):
            q = (f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price={limit_price}"
                 f"&newOrderRespType=ACK&newClientOrderId=b{i}&timestamp={int(time.time() * 1000)}")
            sig = hmac.new(b"bench-secret", q.encode(), hashlib.sha256).hexdigest()
            body = f"{q}&signature={sig}".encode()
            req = (b"POST /api/v3/order HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: bench-key\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                   + str(len(body)).encode() + b"\r\n\r\n" + body)
            t0 = time.perf_counter()
            sock.sendall(req)
            status, resp = _read_response(sock, buf)
            dt = time.perf_counter() - t0
            if status != 200:
                raise RuntimeError(f"order failed: {status} {resp!r}")
            # Cancel so the symbol stays under MAX_NUM_ORDERS (200); timed separately.
            cq = f"symbol=BTCUSDT&origClientOrderId=b{i}&timestamp={int(time.time() * 1000)}"
            csig = hmac.new(b"bench-secret", cq.encode(), hashlib.sha256).hexdigest()
            cbody = f"{cq}&signature={csig}".encode()
            creq = (b"DELETE /api/v3/order HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: bench-key\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                    + str(len(cbody)).encode() + b"\r\n\r\n" + cbody)
            c0 = time.perf_counter()
            sock.sendall(creq)
            cstatus, cresp = _read_response(sock, buf)
            cdt = time.perf_counter() - c0
            if cstatus != 200:
                raise RuntimeError(f"cancel failed: {cstatus} {cresp!r}")
            if i >= 200:  # warm-up excluded
                lat.append(dt * 1000)
                cancel_lat.append(cdt * 1000)
        sock.close()
    finally:
        stop_venue(proc, conn)
    lat.sort()
    cancel_lat.sort()
    return {"n": len(lat), "p50_ms": statistics.median(lat), "p99_ms": lat[int(len(lat) * 0.99) - 1],
            "max_ms": lat[-1], "cancel_p50_ms": statistics.median(cancel_lat),
            "cancel_p99_ms": cancel_lat[int(len(cancel_lat) * 0.99) - 1]}


def bench_stream(clients: int, seconds: float) -> dict[str, float]:
    proc, conn, port, _ = _start(speed_max=True, paused=False)
    try:
        total, dt = asyncio.run(count_stream_messages(f"ws://127.0.0.1:{port}/ws/btcusdt@kline_1m", clients, seconds))
    finally:
        stop_venue(proc, conn)
    return {"clients": clients, "messages": total, "seconds": dt, "msgs_per_s": total / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    o = bench_orders(args.orders)
    print(f"LIMIT order round trip (ACK), {o['n']} orders over loopback: p50 {o['p50_ms']:.3f} ms, "
          f"p99 {o['p99_ms']:.3f} ms, max {o['max_ms']:.3f} ms  (goal p99 <= 2 ms)")
    print(f"  cancel round trip: p50 {o['cancel_p50_ms']:.3f} ms, p99 {o['cancel_p99_ms']:.3f} ms")
    s = bench_stream(args.clients, args.seconds)
    print(f"kline stream to {s['clients']} clients at speed=max: {s['messages']:.0f} messages in "
          f"{s['seconds']:.2f} s = {s['msgs_per_s']:,.0f} msgs/s  (goal >= 20,000/s)")


if __name__ == "__main__":
    main()
