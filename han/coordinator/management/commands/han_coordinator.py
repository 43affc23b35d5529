"""Run one or more premise coordinators: ``python manage.py han_coordinator --name gw-sp-100001``.

In production one runs per premise gateway with a real radio, chosen by the gateway's
configuration: ``AMI_HAN_RADIO`` (simulated, ezsp, znp, deconz, zigate, xbee) and
``AMI_HAN_RADIO_PATH`` (its serial port), each also as ``..._FILE``; ``--radio`` and
``--device`` override them. With the simulated radio one process can host many
premises (``--name a --name b ...``) for demos and scale tests. The process
never touches the head-end database: it knows only its own key file, the
head-end's public key and its queue on the broker.

A coordinator that cannot start (a missing serial port, an unreadable radio, key or
state file, an unknown radio) exits with status 1 and one line on stderr saying why.
Once up, it never exits because the broker went away: it reconnects with backoff
(``han/coordinator/consumer.py``, ``reports.py``). SIGTERM or SIGINT stops it
gracefully, with a signed ``offline`` report.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import zigpy.config as zigpy_config
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from amiportal.env import env_choice, env_str
from han.coordinator.consumer import CommandConsumer
from han.coordinator.durable import CoordinatorState, StateUnusable, identity_load_or_create
from han.coordinator.head_end import HeadEndPublicKeys, head_end_public_keys_from_env
from han.coordinator.radios import RADIO_TYPES, RadioUnavailable, controller_class_for, join_refusal
from han.coordinator.reports import ReportSender
from han.coordinator.service import CoordinatorService
from han.coordinator.simulated import SimulatedNetwork

logger = logging.getLogger("han.coordinator")


def default_key_dir() -> Path:
    return Path(settings.VAR_DIR) / "han" / "coordinators"


def default_simulated_devices() -> Path:
    return Path(settings.VAR_DIR) / "han" / "simulated_devices.json"


def head_end_public_keys() -> HeadEndPublicKeys:
    """The head-end's public keys from the environment; outside production, derived from the local head-end secret."""
    try:
        configured = head_end_public_keys_from_env()
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
    if configured is not None:
        return configured
    if settings.IS_PRODUCTION:
        raise CommandError(
            "Set AMI_HAN_HEAD_END_PUBLIC_KEY and AMI_HAN_HEAD_END_BOX_PUBLIC_KEY:"
            " a production coordinator holds only the head-end's public keys (manage.py han_head_end_keys prints them)."
        )
    # Development and tests: this machine is the head-end too.
    from han.services.head_end_keys import head_end_box_public_key_hex, head_end_public_key_hex

    return HeadEndPublicKeys(verify_hex=head_end_public_key_hex(), box_hex=head_end_box_public_key_hex())


class StartupFailed(Exception):
    """Why this coordinator cannot start, in one line."""


async def radio_start(controller, config: dict, name: str):
    """Start the radio; on failure shut zigpy down (its database thread too, or the process would hang) and say why."""
    app = await controller.new(config, auto_form=True, start_radio=False)
    try:
        await app.startup(auto_form=True)
    except Exception as exc:
        try:
            await app.shutdown()
        except Exception:  # noqa: S110 (already failing: the first reason is the one to give)
            pass
        cause = exc.__cause__ if exc.__cause__ is not None and not str(exc) else exc
        raise StartupFailed(f"coordinator {name}: the radio did not start: {type(cause).__name__}: {cause}") from None
    return app


def zigpy_database(key_dir: Path, name: str) -> Path:
    """The coordinator's zigpy database, created private: zigpy may keep network backups (with the network key) in it."""
    path = key_dir / f"{name}.zigbee.db"
    key_dir.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return path


class Command(BaseCommand):
    help = "Run HAN coordinators that take signed commands from their broker queues."

    def add_arguments(self, parser):
        parser.add_argument("--name", action="append", required=True, help="Coordinator name (repeat to host several simulated premises).")
        parser.add_argument("--radio", default="", help="Overrides AMI_HAN_RADIO: simulated (default), ezsp, znp, deconz, zigate or xbee.")
        parser.add_argument("--device", default="", help="Serial port of a real radio (overrides AMI_HAN_RADIO_PATH).")
        parser.add_argument("--key-dir", default="", help="Directory of <name>.key files (created on first start).")
        parser.add_argument("--simulated-devices", default="", help="JSON list of simulated devices in range.")
        parser.add_argument(
            "--zigpy-log-level",
            default=env_str("AMI_HAN_ZIGPY_LOG_LEVEL", "WARNING"),
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="zigpy's own logging (default WARNING: at INFO it writes about ten lines per joining device).",
        )

    def handle(self, *args, **options):
        # zigpy narrates every join and interview step at INFO; that cost ~10 % of the coordinator's CPU per
        # device. This process's own lines (commands taken, refused, failed) stay at the configured level.
        logging.getLogger("zigpy").setLevel(options["zigpy_log_level"])
        try:
            options["radio"] = options["radio"] or env_choice("AMI_HAN_RADIO", "simulated", tuple(RADIO_TYPES))
            options["device"] = options["device"] or env_str("AMI_HAN_RADIO_PATH", "") or ""
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        try:
            controller = controller_class_for(options["radio"])
        except RadioUnavailable as exc:
            raise CommandError(str(exc)) from None
        if options["radio"] != "simulated" and not options["device"]:
            raise CommandError(f"The {options['radio']} radio needs its serial port: set AMI_HAN_RADIO_PATH (or --device).")
        key_dir = Path(options["key_dir"]) if options["key_dir"] else default_key_dir()
        devices_file = Path(options["simulated_devices"]) if options["simulated_devices"] else default_simulated_devices()
        try:
            asyncio.run(self._run(controller, options, key_dir, devices_file))
        except KeyboardInterrupt:
            pass
        except StartupFailed as exc:
            raise CommandError(str(exc)) from None

    async def _run(self, controller, options, key_dir: Path, devices_file: Path) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        head_end = head_end_public_keys()
        services, apps, states = [], [], []
        reports = ReportSender()  # one batching sender for every coordinator in this process
        consumer = CommandConsumer()  # one broker connection for every coordinator in this process
        try:
            for name in options["name"]:
                app, state, identity = await self._start_one(controller, options, key_dir, devices_file, name)
                apps.append(app)
                states.append(state)
                services.append(
                    CoordinatorService(
                        identity=identity,
                        head_end_public_hex=head_end.verify_hex,
                        head_end_box_public_hex=head_end.box_hex,
                        app=app,
                        reports=reports,
                        consumer=consumer,
                        state=state,
                        radio_type=options["radio"],
                    )
                )
                self.stdout.write(
                    f"coordinator {name} up ({options['radio']} radio;"
                    f" X25519 {identity.box_public_hex[:16]}..., Ed25519 {identity.verify_public_hex[:16]}...)"
                )
            if (refusal := join_refusal(options["radio"])) is not None:
                self.stdout.write(f"permit commands will be refused on this radio: {refusal}")
            self.stdout.flush()
            running = [asyncio.create_task(service.run(stop)) for service in services]
            await asyncio.sleep(0)  # every service is ready for deliveries before the consumer starts
            consumer.start()
            await asyncio.gather(*running)
        finally:
            await loop.run_in_executor(None, consumer.stop)
            for app in apps:
                await app.shutdown()
            await loop.run_in_executor(None, reports.close)  # send the reports still waiting (offline included)
            for state in states:
                state.close()

    async def _start_one(self, controller, options, key_dir: Path, devices_file: Path, name: str):
        """One hosted coordinator's key, durable state and radio; any reason it cannot start is a ``StartupFailed``."""
        try:
            identity = identity_load_or_create(key_dir, name)
            state = CoordinatorState.open(key_dir, name)
        except StateUnusable as exc:
            raise StartupFailed(f"coordinator {name}: {exc}") from None
        except OSError as exc:
            raise StartupFailed(f"coordinator {name}: {exc.filename or key_dir}: {exc.strerror or exc}") from None
        if hasattr(controller, "default_config"):  # the simulated radio: its "NVRAM" file sits next to the key file
            config = controller.default_config()
            config["device"]["path"] = str(key_dir / f"{name}.radio.json")
        else:
            config = {"device": {"path": options["device"]}}
        # zigpy's own device database (its sqlite appdb), so a restarted coordinator knows the devices
        # that joined it; zigpy loads it in ControllerApplication.new().
        config[zigpy_config.CONF_DATABASE] = str(zigpy_database(key_dir, name))
        try:
            app = await radio_start(controller, config, name)
        except StartupFailed:
            state.close()
            raise
        if hasattr(app, "sim_network"):
            try:
                app.sim_network = SimulatedNetwork.from_file(devices_file, coordinator=name)
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                await app.shutdown()
                state.close()
                raise StartupFailed(f"coordinator {name}: {devices_file}: not a list of simulated devices ({exc})") from None
        return app, state, identity
