"""Drive a real CoordinatorService over the simulated zigpy radio inside a test, without a broker."""

from __future__ import annotations

import asyncio
import time

from han.coordinator.service import CoordinatorService
from han.coordinator.simulated import SimulatedControllerApplication, SimulatedNetwork
from han.protocol import ReplayGuard, report_detail_open
from han.services.head_end_keys import head_end_box_key, head_end_box_public_key_hex, head_end_public_key_hex


def run_coordinator(identity, envelopes, devices=(), *, until=lambda reports: False, timeout: float = 10.0, replay_guard=None):
    """Hand each envelope to a fresh coordinator; return its signed reports once ``until(reports)`` holds."""
    public_key = head_end_public_key_hex()

    async def main():
        app = await SimulatedControllerApplication.new(SimulatedControllerApplication.default_config(), auto_form=True)
        app.sim_network = SimulatedNetwork(list(devices))
        reports: list[dict] = []
        service = CoordinatorService(
            identity=identity,
            head_end_public_hex=public_key,
            head_end_box_public_hex=head_end_box_public_key_hex(),
            app=app,
            replay_guard=replay_guard or ReplayGuard(),
            consumer=object(),
            send_report=reports.append,
        )
        for envelope in envelopes:
            await service.handle(envelope)
        deadline = time.monotonic() + timeout
        while not until(reports) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # let the report thread drain
        await app.shutdown()
        return reports

    return asyncio.run(main())


def events(reports):
    return [r["event"] for r in reports]


def detail(report):
    """A report's sealed detail, opened as the head-end opens it."""
    return report_detail_open(report=report, head_end_box_key=head_end_box_key())


class CoordinatorDriver:
    """One coordinator kept alive across steps, so the test can use the database between them.

    Its event loop runs only inside ``send``; the simulated devices' timers fire then.
    """

    def __init__(self, identity, devices=()) -> None:
        self.loop = asyncio.new_event_loop()
        self.reports: list[dict] = []

        async def start():
            app = await SimulatedControllerApplication.new(SimulatedControllerApplication.default_config(), auto_form=True)
            app.sim_network = SimulatedNetwork(list(devices))
            service = CoordinatorService(
                identity=identity,
                head_end_public_hex=head_end_public_key_hex(),
                head_end_box_public_hex=head_end_box_public_key_hex(),
                app=app,
                replay_guard=ReplayGuard(),
                consumer=object(),
                send_report=self.reports.append,
            )
            return app, service

        self.app, self.service = self.loop.run_until_complete(start())

    def send(self, envelopes, *, until=lambda reports: False, timeout: float = 10.0) -> list[dict]:
        """Handle the envelopes; return the reports they led to once ``until(those reports)`` holds."""
        first = len(self.reports)

        async def step():
            for envelope in envelopes:
                await self.service.handle(envelope)
            deadline = time.monotonic() + timeout
            while not until(self.reports[first:]) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)  # let the report thread drain

        self.loop.run_until_complete(step())
        return self.reports[first:]

    def close(self) -> None:
        for task in list(self.service._background):  # permit windows still open
            task.cancel()
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()
