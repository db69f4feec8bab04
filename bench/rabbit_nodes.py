"""A RabbitMQ cluster of loopback nodes started as child processes, without root (Debian's
``rabbitmq-server`` 3.10 with its MQTT plugin).

Each node has its own name (``rabbitN@localhost``), AMQP, MQTT and distribution ports, data, log and
config in a temporary folder; ``HOME`` points there so every node and ``rabbitmqctl`` share one Erlang
cookie. The port mapper (``epmd``) is started here too, on a port of its own, in the foreground, so that
it is stopped with the nodes instead of staying behind as a daemon. Nodes 2.. join node 1 at their first
boot (``classic_config`` peer discovery). Durable MQTT subscriptions are quorum queues
(``mqtt.durable_queue_type = quorum``, RabbitMQ 3.10 and later): replicated on every node; a subscriber
may hold 1,000 unacknowledged messages (``mqtt.prefetch``; the default 10 starves the collector, which
acknowledges a batch of up to 500 once it is stored).

Each node runs in a process group of its own: ``kill`` sends SIGKILL to the group (a crash), ``start``
starts it again on the same ports and data folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from stationpipe.testbed.services import free_port, tcp_open

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
EPMD = "epmd"


class ClusterError(RuntimeError):
    """A node did not start, or the cluster did not form."""


@dataclass
class Node:
    """One RabbitMQ node on loopback ports."""

    index: int
    root: Path
    amqp: int = field(default_factory=free_port)
    mqtt: int = field(default_factory=free_port)
    dist: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        """The Erlang node name."""
        return f"rabbit{self.index}@localhost"

    @property
    def folder(self) -> Path:
        """Data, logs and config of this node."""
        return self.root / f"node{self.index}"

    def write_config(self, peers: list[str]) -> Path:
        """The node's ``rabbitmq.conf``: loopback listeners, anonymous MQTT, quorum MQTT sessions."""
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "rabbitmq.conf"
        lines = [
            f"listeners.tcp.1 = 127.0.0.1:{self.amqp}",
            f"mqtt.listeners.tcp.1 = 127.0.0.1:{self.mqtt}",
            "mqtt.allow_anonymous = true",
            "mqtt.durable_queue_type = quorum",
            # unacknowledged messages per MQTT subscriber: the plugin's default, 10, starves a collector
            # that acknowledges a batch (up to 500 messages) once it is stored
            "mqtt.prefetch = 1000",
            "loopback_users = none",
            "log.console = false",
            "log.file.level = warning",
            "cluster_formation.peer_discovery_backend = classic_config",
            *(f"cluster_formation.classic_config.nodes.{i} = {p}" for i, p in enumerate(peers, 1)),
        ]
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def env(self, epmd_port: int) -> dict[str, str]:
        """The environment ``rabbitmq-server`` reads its node settings from."""
        base = self.folder
        return os.environ | {
            "HOME": str(self.root),
            "ERL_EPMD_PORT": str(epmd_port),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp),
            "RABBITMQ_DIST_PORT": str(self.dist),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins-expand"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        }

    def start(self, epmd_port: int, timeout: float) -> None:
        """Start the node (first boot or restart) and wait until its MQTT listener accepts."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        with (self.root / f"node{self.index}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [SERVER],
                env=self.env(epmd_port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not tcp_open("127.0.0.1", self.mqtt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(f"{self.name} did not start (see {self.root}/node{self.index}.log)")
            time.sleep(0.5)  # polling the real node, bounded by the deadline

    def kill(self) -> None:
        """SIGKILL the node's whole process group: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (the script's clean shutdown); SIGKILL to the group if still up after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # erl_child_setup and friends, if any are left


@dataclass
class Cluster:
    """``size`` nodes and their port mapper, in ``root``."""

    root: Path
    size: int = 3
    epmd_port: int = field(default_factory=free_port)
    nodes: list[Node] = field(default_factory=list)
    epmd: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.nodes = [Node(i + 1, self.root) for i in range(self.size)]

    def start(self, timeout: float = 120.0) -> None:
        """Start epmd, then each node in turn; return once every node is in the cluster."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "epmd.log").open("ab") as log:
            self.epmd = subprocess.Popen(
                [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        peers = [n.name for n in self.nodes]
        for node in self.nodes:
            node.write_config(peers)
            node.start(self.epmd_port, timeout)
        self.wait_members(self.size, timeout)

    def ctl(self, node: Node, *args: str, timeout: float = 60.0) -> str:
        """``rabbitmqctl -n node args``; its output (raises on failure)."""
        done = subprocess.run(
            [CTL, "-n", node.name, *args],
            env=node.env(self.epmd_port),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise ClusterError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def running(self, via: Node) -> list[str]:
        """The running nodes as ``via`` sees them."""
        status = json.loads(self.ctl(via, "cluster_status", "--formatter", "json"))
        return list(status.get("running_nodes", []))

    def wait_members(self, count: int, timeout: float) -> None:
        """Wait until node 1 sees ``count`` running nodes."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(ClusterError, subprocess.TimeoutExpired, ValueError):
                if len(self.running(self.nodes[0])) >= count:
                    return
            if time.monotonic() > deadline:
                raise ClusterError(f"cluster of {count} not formed after {timeout:.0f} s")
            time.sleep(1.0)  # polling rabbitmqctl, bounded by the deadline

    def stop(self) -> None:
        """Stop every node, then epmd; never raises for a dead child."""
        for node in reversed(self.nodes):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                node.stop()
        if self.epmd is not None and self.epmd.poll() is None:
            self.epmd.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.epmd.wait(10)
            if self.epmd.poll() is None:
                self.epmd.kill()
                self.epmd.wait(10)
