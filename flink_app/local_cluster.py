"""A local Flink session cluster of several TaskManager JVMs, started from the PyFlink wheel.

Why: in thread mode every Python operator of one JVM runs in that JVM's single embedded
CPython, so one JVM executes Python on one core at a time (the GIL), whatever the
parallelism. On MSF each KPU brings TaskManager capacity of its own; on a laptop the embedded
mini-cluster is one JVM. ``job.taskmanagers`` > 1 starts that many TaskManager JVMs (each its
own interpreter) plus a JobManager, submits the job to them with ``flink run``, and stops
them when the job ends. bench/job_throughput.py measures the difference. No Flink import:
the cluster is driven through the wheel's own scripts and REST API.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.util import find_spec
from pathlib import Path

log = logging.getLogger("wardwatch")

# Set in the environment of the job that ``flink run`` submits: it must build the job graph,
# not start a cluster of its own.
SUBMITTED_ENV = "WARDWATCH_SUBMITTED_TO_CLUSTER"
START_TIMEOUT_S = 120


class ClusterError(RuntimeError):
    """The local cluster did not start; the message names the log to read."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flink_home() -> Path:
    """The Flink distribution inside the apache-flink wheel (bin/, conf/, lib/, opt/)."""
    spec = find_spec("pyflink")
    if spec is None or not spec.origin:
        raise ClusterError("PyFlink is not installed in this interpreter (apache-flink in requirements.txt)")
    return Path(spec.origin).parent


class LocalCluster:
    """One JobManager and ``taskmanagers`` TaskManagers on localhost, ports chosen free.

    The processes stay in the caller's process group, so a signal to the job's group (as
    ``make run``, the benchmark and the tests send, SIGKILL included) stops them too, and
    ``stop()`` ends them when the job ends. A SIGKILL to the job process alone would leave
    them running: signal the group.
    """

    def __init__(self, taskmanagers: int, parallelism: int, work_dir: Path):
        if taskmanagers < 1:
            raise ValueError("taskmanagers must be >= 1")
        self.taskmanagers = taskmanagers
        self.slots = math.ceil(max(parallelism, taskmanagers) / taskmanagers)
        self.work_dir = Path(work_dir).resolve()
        self.log_dir = self.work_dir / "log"
        self.home = flink_home()
        self.rest_port = 0
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.rest_port}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "FLINK_CONF_DIR": str(self.home / "conf"), "FLINK_LOG_DIR": str(self.log_dir),
                "FLINK_PID_DIR": str(self.work_dir), "FLINK_IDENT_STRING": "wardwatch"}

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.rest_port = free_port()
        # Every port on loopback only: Flink's bind hosts default to all interfaces.
        dynamic = {"rest.port": self.rest_port, "rest.address": "127.0.0.1", "rest.bind-address": "127.0.0.1",
                   "jobmanager.rpc.port": free_port(), "jobmanager.rpc.address": "127.0.0.1",
                   "jobmanager.bind-host": "127.0.0.1", "taskmanager.bind-host": "127.0.0.1",
                   "taskmanager.host": "127.0.0.1", "taskmanager.numberOfTaskSlots": self.slots}
        args = [a for k, v in dynamic.items() for a in ("-D", f"{k}={v}")]
        bin_dir = self.home / "bin"
        roles = [("jobmanager", "jobmanager.sh")] + [(f"taskmanager-{i}", "taskmanager.sh")
                                                     for i in range(1, self.taskmanagers + 1)]
        for role, script in roles:
            with open(self.log_dir / f"{role}.out", "wb") as out:
                # start-foreground execs the JVM, so the PID here is the JVM's.
                self.processes.append(subprocess.Popen(["bash", str(bin_dir / script), "start-foreground", *args],
                                                       env=self._env(), stdout=out, stderr=subprocess.STDOUT))
        self._wait_ready(roles)
        log.info("local Flink cluster at http://%s: %d TaskManagers x %d slots; logs in %s",
                 self.address, self.taskmanagers, self.slots, self.log_dir)

    def _wait_ready(self, roles: list[tuple[str, str]]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for (role, _), proc in zip(roles, self.processes, strict=True):
                if proc.poll() is not None:
                    raise ClusterError(f"the local Flink {role} exited with code {proc.returncode}; "
                                       f"see {self.log_dir / (role + '.out')} and the logs beside it")
            try:
                with urllib.request.urlopen(f"http://{self.address}/overview", timeout=2) as resp:
                    if json.load(resp).get("taskmanagers", 0) >= self.taskmanagers:
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.5)
        raise ClusterError(f"the local Flink cluster did not register {self.taskmanagers} TaskManagers in "
                           f"{START_TIMEOUT_S} s; see the logs in {self.log_dir}")

    def submit(self, main_script: Path, args: list[str]) -> int:
        """Run the job on the cluster with ``flink run`` (attached): the exit code of the client."""
        cmd = ["bash", str(self.home / "bin" / "flink"), "run", "-m", self.address,
               "-pyclientexec", sys.executable, "-pyexec", sys.executable, "-py", str(main_script), *args]
        return subprocess.call(cmd, env={**self._env(), SUBMITTED_ENV: "1"})

    def stop(self) -> None:
        for proc in reversed(self.processes):  # TaskManagers first, then the JobManager
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()
