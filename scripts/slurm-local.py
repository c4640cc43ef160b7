#!/usr/bin/env python3
"""A real single-node Slurm cluster on 127.0.0.1 for tests and trials: munged + slurmctld + slurmd.

    python scripts/slurm-local.py start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`; exit 0 when the node is idle
    python scripts/slurm-local.py stop DIR    # SIGTERM to the three daemons by their PID files, then waits

Everything lives in DIR (configuration, munge key and socket, state, spool, logs, PID files); nothing
under /etc, /run or /var is touched, and the ports are free ones picked at start, so it can run beside
a site's own Slurm. Needs root (SlurmUser=root, munged runs as the `munge` user) and the Debian 12
packages munge, slurmctld, slurmd, slurm-client (`.ci/run` installs them). The node advertises
`Gres=gpu:8` backed by eight empty stand-in files DIR/dev/nvidia0..7 (Slurm drops GPUs without a
`File=`), so `--gres=gpu:N` lines are scheduled, and CUDA_VISIBLE_DEVICES set, as on a GPU cluster. Settings and their reasons:
shared/research/scale-out.md. Standard library only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("slurmd", "slurmctld", "munged")  # stop order
GPUS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return max(1024, int(line.split()[1]) // 1024 - 1024)
    return 4096


def _config(d: Path, node: str) -> str:
    return f"""# written by scripts/slurm-local.py: single node, 127.0.0.1 only
ClusterName=cluekit
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/munge.socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
GresTypes=gpu
NodeName={node} NodeAddr=127.0.0.1 CPUs={max(4, os.cpu_count() or 1)} RealMemory={_memory_mb()} Gres=gpu:{GPUS} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _env(d: Path) -> dict[str, str]:
    return {**os.environ, "SLURM_CONF": str(d / "slurm.conf")}


def _wait(what: str, check, timeout: float, d: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    logs = "; ".join(f"{p.name}: {p.read_text(errors='replace').strip().splitlines()[-1:]}" for p in sorted((d / "log").glob("*.log")))
    raise SystemExit(f"slurm-local: {what} did not happen within {timeout:.0f} s ({logs})")


def _ok(argv: list[str], d: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=_env(d), capture_output=True, text=True, timeout=20)


def start(d: Path) -> None:
    missing = [b for b in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo") if not shutil.which(b)]
    if missing:
        raise SystemExit(f"slurm-local: {', '.join(missing)} not installed (apt-get install munge slurmctld slurmd slurm-client)")
    if os.geteuid() != 0:
        raise SystemExit("slurm-local: must run as root (SlurmUser=root; munged runs as the munge user)")
    munge = pwd.getpwnam("munge")
    d = d.resolve()
    for sub in ("state", "spool", "run", "log"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    d.chmod(0o755)  # munged: the socket's directory must be searchable by all
    (d / "munge").mkdir(mode=0o755, exist_ok=True)
    (d / "munge-key").mkdir(mode=0o700, exist_ok=True)
    for p in (d / "munge", d / "munge-key"):
        os.chown(p, munge.pw_uid, munge.pw_gid)
    key = d / "munge-key" / "munge.key"
    if not key.exists():
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, user="munge")
    key.chmod(0o400)
    subprocess.run(["munged", f"--socket={d}/munge/munge.socket", f"--key-file={key}", f"--pid-file={d}/munge/munged.pid",
                    f"--log-file={d}/munge/munged.log", f"--seed-file={d}/munge/munged.seed"], check=True, user="munge")
    node = socket.gethostname().split(".")[0]
    (d / "slurm.conf").write_text(_config(d, node))
    (d / "dev").mkdir(exist_ok=True)
    for i in range(GPUS):  # stand-ins for /dev/nvidiaN: Slurm drops file-less GPUs
        (d / "dev" / f"nvidia{i}").touch()
    (d / "gres.conf").write_text(f"NodeName={node} Name=gpu File={d}/dev/nvidia[0-{GPUS - 1}]\n")
    subprocess.run(["slurmctld", "-f", str(d / "slurm.conf")], env=_env(d), check=True)
    _wait("slurmctld answering `scontrol ping`", lambda: "UP" in _ok(["scontrol", "ping"], d).stdout, 20, d)
    subprocess.run(["slurmd", "-f", str(d / "slurm.conf"), "-N", node], env=_env(d), check=True)
    _wait("the node becoming idle", lambda: _ok(["sinfo", "-h", "-o", "%t"], d).stdout.strip() == "idle", 30, d)
    print(f"export SLURM_CONF={d / 'slurm.conf'}")


def _pid(d: Path, daemon: str) -> int | None:
    path = d / ("munge/munged.pid" if daemon == "munged" else f"run/{daemon}.pid")
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop(d: Path) -> None:
    d = d.resolve()
    for daemon in DAEMONS:
        pid = _pid(d, daemon)
        if pid is None or not _alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    (start if argv[0] == "start" else stop)(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
