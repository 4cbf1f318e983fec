"""``tradeterm`` with no command: the workstation screen on the pipeline of the profile.

The composition root: it builds the controller and the Textual app and runs both in one event
loop. The app only renders snapshots and sends intents; starting, supervising and stopping the
stages stays here and in the controller, so the App class never grows orchestration.
"""

from __future__ import annotations

import asyncio
import logging

from tradeterm.config import Settings
from tradeterm.errors import UserError
from tradeterm.pipeline.controller import PipelineController, PipelineOptions

log = logging.getLogger("tradeterm.workstation")


def workstation_options(settings: Settings, *, ephemeral: bool, speed: float | None) -> PipelineOptions:
    return PipelineOptions(symbols=tuple(settings.symbols), timeframes=tuple(settings.timeframes),
                           speed=speed, ephemeral=ephemeral)


async def run_workstation(settings: Settings, *, theme: str | None = None, ephemeral: bool = False,
                          speed: float | None = 60.0) -> int:
    from tradeterm.ui.app import TradetermApp

    controller = PipelineController(settings, workstation_options(settings, ephemeral=ephemeral, speed=speed))
    app = TradetermApp(controller, theme=theme or settings.ui.theme, max_fps=min(settings.ui.max_fps, 60))
    # Log records would scribble over the screen: while the app runs they go to the activity log.
    root = logging.getLogger("tradeterm")
    console = [h for h in root.handlers if getattr(h, "_tradeterm", False)]
    for h in console:
        root.removeHandler(h)

    async def boot() -> None:
        try:
            await controller.start()
        except UserError as exc:
            controller.feed_status = f"failed: {exc}"
            controller.activity.add("error", f"pipeline did not start: {exc}", "ERROR")
        except Exception as exc:  # shown on screen; the trader can still quit cleanly
            controller.feed_status = "failed"
            controller.activity.add("error", f"pipeline did not start: {type(exc).__name__}: {exc}", "ERROR")
            log.debug("pipeline start failed", exc_info=True)

    task = asyncio.create_task(boot(), name="pipeline-start")
    try:
        await app.run_async()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await controller.stop()
        for h in console:
            root.addHandler(h)
    return app.return_code or 0
