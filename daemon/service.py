"""Composition root: wire the database, the edges, the worker and the console.

No rules live here; `Service.start()` brings the pieces up in order and
`stop()` takes them down in reverse, finishing the mail in hand.
"""
from __future__ import annotations

import logging
import socket
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from waitress import create_server, wasyncore

from daemon.config import Config
from daemon.errors import PatroldeskError
from daemon.ingest.pipeline import Worker
from daemon.ingest.prepare import Preparer
from daemon.ingest.sources.imap import MailboxPoller
from daemon.ingest.sources.smtp import SMTPListener
from daemon import outbound
from daemon.outbound import installation_key, outbox
from daemon.store import cluster, db

log = logging.getLogger("patroldesk.service")


class WebServer:
    """The console on waitress, a production WSGI server, in threads the service stops."""

    def __init__(self, config: Config, wake_pipeline=None):
        from web import create_app
        # Bind here, so a taken port is one clear line naming the key.
        listener = socket.socket(socket.AF_INET6 if ":" in config.web.host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((config.web.host, config.web.port))
        except OSError as exc:
            listener.close()
            raise PatroldeskError(f"cannot serve the console on {config.web.host}:{config.web.port}: "
                                  f"{exc.strerror} (another daemon running? see [web] port in "
                                  f"{config.source})") from None
        self._map: dict = {}
        # ident=None: no Server header, so no version for a visitor to look up. Proxy headers are left
        # to the app ([web] behind_proxy), which waitress would otherwise strip.
        self._server = create_server(create_app(config, wake_pipeline), map=self._map, sockets=[listener],
                                     threads=8, ident=None, clear_untrusted_proxy_headers=False)
        self.port = listener.getsockname()[1]  # port 0 asks for any free one
        self._stopping = threading.Event()
        self._closing = threading.Lock()  # the trigger is pulled only while its socket is open
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        """waitress's loop, one poll at a time, so the sockets are closed by the thread that polls them."""
        while not self._stopping.is_set():
            wasyncore.loop(timeout=1, map=self._map, count=1)
        self._close()

    def _close(self) -> None:
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._server.task_dispatcher.shutdown(timeout=5)  # requests in hand are answered first
            wasyncore.close_all(self._map)

    def stop(self) -> None:
        self._stopping.set()
        if not self._thread.is_alive():  # never started: nobody else will close the socket
            self._close()
            return
        with self._closing:
            if not self._closed:  # the loop may have seen the flag and closed everything already
                self._server.pull_trigger()  # wake the poll now rather than at its timeout
        self._thread.join(10)


class Service:
    """The daemon's parts for the roles asked (all by default: ingest, outbox, scheduler, console)."""

    def __init__(self, config: Config, crash_at: str | None = None, roles: tuple[str, ...] = cluster.ROLES):
        self.config = config
        self.roles = tuple(role for role in cluster.ROLES if role in roles)
        ingest = "ingest" in self.roles
        self.membership = cluster.Membership(self.roles, config.cluster.heartbeat_seconds,
                                             config.cluster.dead_after_seconds)
        self.preparer = Preparer(config, config.ingest.parse_processes) if ingest else None
        self.worker = Worker(config, self.preparer) if ingest else None
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.smtp = SMTPListener(config.smtp, config.support.addresses, self.worker.wake) \
            if ingest and config.smtp.enabled else None
        self.pollers = [MailboxPoller(box, config, self.worker.wake, crash_at) for box in config.mailbox] \
            if ingest else []
        for poller in self.pollers:
            self.worker.after_batch.append(poller.poke)
        self.sender = outbox.Sender(config) if "outbox" in self.roles else None
        if self.sender:
            # Automatic mail is rendered here, after its ticket is stored: never while mail is being accepted.
            # Rendered by the ingest's helper processes where there are some: this process writes.
            elsewhere = self.preparer.call if self.preparer else None
            self.sender.before_send.append(lambda: outbound.render_pending(config, elsewhere=elsewhere))
            if self.worker:
                self.worker.after_batch.append(self.sender.wake)  # acknowledgements leave at once
        self.web = None
        self.jobs: cluster.ClusterJobs | None = None

    def start(self) -> None:
        db.require_current_schema()
        installation_key.check(self.config)  # one signing key for every daemon of the installation
        # Ports first: a taken port stops start-up before anything runs.
        if self.config.web.enabled and "console" in self.roles:
            self.web = WebServer(self.config, self.worker.wake if self.worker else None)
        self.membership.start()
        if self.smtp:
            self.smtp.start()
            log.info("%s listener on %s:%d", self.config.smtp.protocol.upper(),
                     self.config.smtp.host, self.smtp.port)
        if self.worker:
            self._start_ingest()
        if self.sender:
            self.sender.start()
            # The sender's safety net: retries fall due, and mail queued by other processes appears.
            self.scheduler.add_job(self.sender.wake, "interval", seconds=5,
                                   id="send-outbox", max_instances=1, coalesce=True)
        if "scheduler" in self.roles:
            self._schedule_cluster_jobs()
        self.scheduler.start()
        if self.worker:
            self.worker.wake()
        if self.sender:
            self.sender.wake()  # what was queued while the daemon was down
        if self.web:
            self.web.start()
            log.info("console on http://%s:%d/", self.config.web.host, self.web.port)
        log.info("running as %s: %s", cluster.process_identity(), ", ".join(self.roles))

    def _start_ingest(self) -> None:
        self.preparer.start()
        self.worker.start()
        # The safety net: mail spooled while nobody was awake still gets processed.
        self.scheduler.add_job(self.worker.wake, "interval", seconds=self.config.ingest.poll_seconds,
                               id="wake-pipeline", max_instances=1, coalesce=True)
        for poller in self.pollers:
            # Polling for servers without IDLE, and a safety net for those with it.
            self.scheduler.add_job(poller.poke, "interval", seconds=poller.box.poll_seconds,
                                   id=f"poll {poller.name}", max_instances=1, coalesce=True)
            poller.start()

    def _schedule_cluster_jobs(self) -> None:
        """Jobs that run once per period however many daemons schedule them."""
        self.jobs = cluster.ClusterJobs(self.config.cluster.dead_after_seconds)
        if self.config.patrol.digest_schedule.strip():
            from apscheduler.triggers.cron import CronTrigger

            from daemon.patrol import digest
            self.jobs.add(self.scheduler, "patrol-digest",
                          CronTrigger.from_crontab(self.config.patrol.digest_schedule, timezone="UTC"),
                          lambda period: digest.send_scheduled(self.config, period), grace_seconds=6 * 3600)
        knowledge = self.config.knowledge
        if knowledge.quality_schedule.strip() and knowledge.quality_sample:
            from apscheduler.triggers.cron import CronTrigger

            from daemon.knowledge import quality
            self.jobs.add(self.scheduler, "quality-sample",
                          CronTrigger.from_crontab(knowledge.quality_schedule, timezone="UTC"),
                          lambda period: quality.draw_scheduled(knowledge.quality_sample, period),
                          grace_seconds=24 * 3600)
        from apscheduler.triggers.cron import CronTrigger

        from daemon.patrol import deadlines
        self.jobs.add(self.scheduler, deadlines.JOB,
                      CronTrigger.from_crontab(self.config.sla.check_schedule, timezone="UTC"),
                      lambda period: deadlines.run_scheduled(self.config, period), grace_seconds=3600)
        # A period whose runner died is run by another daemon within seconds.
        self.scheduler.add_job(self.jobs.sweep, "interval", seconds=self.config.cluster.heartbeat_seconds,
                               id="cluster-jobs-sweep", max_instances=1, coalesce=True)

    def stop(self) -> None:
        if self.smtp:
            self.smtp.stop()
        if self.web:
            self.web.stop()
        for poller in self.pollers:
            poller.stop()
        self.scheduler.shutdown(wait=False)
        if self.worker:
            self.worker.stop()
        if self.sender:
            self.sender.stop()
        if self.preparer:
            self.preparer.stop()  # after the sender, which has it render automatic mail
        self.membership.stop()
        log.info("stopped")


def build_service(config: Config, crash_at: str | None = None, roles: tuple[str, ...] = cluster.ROLES) -> Service:
    db.open_database(config)
    return Service(config, crash_at, roles)
