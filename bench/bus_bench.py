"""Event-bus throughput: events/s through one durable subscriber, and through durable + latest.

Usage: python bench/bus_bench.py [--events 200000] [--runs 5]
Prints the median of the runs. No goal is set for the bus in the issues; it is measured because
every stage of the pipeline crosses it (ingest's goal is 50k msgs/s end to end).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tradeterm.bus import EventBus


async def _one(events: int, with_latest: bool) -> float:
    bus = EventBus()
    sub = bus.subscribe("t", policy="durable", maxsize=1024)
    if with_latest:
        bus.subscribe("t", policy="latest", key=lambda e: e % 8)

    async def consume() -> None:
        async for _ in sub:
            pass

    task = asyncio.create_task(consume())
    t0 = time.perf_counter()
    for i in range(events):
        await bus.publish(i, "t")
    bus.close()
    await task
    return events / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for label, latest in (("durable only", False), ("durable + latest", True)):
        rates = [asyncio.run(_one(args.events, latest)) for _ in range(args.runs)]
        print(f"bus {label:18s} {statistics.median(rates):>12,.0f} events/s  (median of {args.runs}, {args.events:,} events)")


if __name__ == "__main__":
    main()
