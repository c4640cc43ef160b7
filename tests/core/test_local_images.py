"""Local images without a registry, checked without a container engine: scripts/podman-local.py's containers.conf
settings (written only where missing, the user's file never rewritten), the build lines `make` prints for docker and
for podman, the two image files (hadolint where installed) and the order of .ci/run's steps.

The real builds and runs (debootstrap, podman build, llama-server in a container, `clue demo` in the kit's image)
are .ci/run's job: scripts/llama-image-check.sh, scripts/ci-reproduce.sh, make docker-demo.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

# shared/research/scale-out.md, "Containers on HPC": what rootful Podman 4.3 needs here, typed out by hand
WANTED = {
    "containers": {"default_ulimits": ["nofile=20000:20000", "nproc=32768:32768"]},
    "engine": {"runtime": "runc", "cgroup_manager": "cgroupfs", "events_logger": "file"},
}
CI = (ROOT / ".ci" / "run").read_text()


def _script():
    spec = importlib.util.spec_from_file_location("podman_local", ROOT / "scripts" / "podman-local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _snapshot(etc: Path) -> dict[str, str]:
    return {str(p.relative_to(etc)): p.read_text() for p in sorted(etc.rglob("*")) if p.is_file()}


def test_setup_writes_containers_conf_when_there_is_none(tmp_path):
    etc = tmp_path / "containers"
    line = _script().setup(etc)
    assert "wrote" in line and "containers.conf" in line
    assert list(_snapshot(etc)) == ["containers.conf"]
    assert tomllib.loads((etc / "containers.conf").read_text()) == WANTED
    assert oct((etc / "containers.conf").stat().st_mode & 0o777) == "0o644"
    assert "all present" in _script().setup(etc)  # a second run writes nothing
    assert list(_snapshot(etc)) == ["containers.conf"]


def test_setup_leaves_a_complete_conf_alone(tmp_path):
    etc = tmp_path / "containers"
    etc.mkdir()
    # the settings in another order and layout, with comments and settings of the site's own
    (etc / "containers.conf").write_text(
        '# site config\n[engine]\nevents_logger="file"\ncgroup_manager = "cgroupfs"  # no systemd\nruntime = \'runc\'\n'
        'num_locks = 4096\n\n[containers]\nlog_size_max = -1\ndefault_ulimits = [\n  "nofile=20000:20000",\n'
        '  "nproc=32768:32768",\n]\n')
    before = _snapshot(etc)
    assert "all present" in _script().setup(etc)
    assert _snapshot(etc) == before


def test_setup_adds_a_drop_in_instead_of_rewriting_the_users_conf(tmp_path):
    etc = tmp_path / "containers"
    etc.mkdir()
    own = '[engine]\nruntime = "crun"\nnum_locks = 4096\n[network]\nnetwork_backend = "cni"\n'
    (etc / "containers.conf").write_text(own)
    line = _script().setup(etc)
    assert (etc / "containers.conf").read_text() == own
    assert "containers.conf.d/50-clue-kit.conf" in line
    for key in ("containers.default_ulimits", "engine.runtime", "engine.cgroup_manager", "engine.events_logger"):
        assert key in line
    assert tomllib.loads((etc / "containers.conf.d" / "50-clue-kit.conf").read_text()) == WANTED


def test_setup_sees_a_drop_in_that_undoes_a_setting(tmp_path):
    """containers.conf is complete, but a drop-in (read after it, in name order) switches back to crun."""
    etc = tmp_path / "containers"
    (etc / "containers.conf.d").mkdir(parents=True)
    (etc / "containers.conf").write_text(
        '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    (etc / "containers.conf.d" / "10-site.conf").write_text('[engine]\nruntime = "crun"\n')
    assert "engine.runtime" in _script().setup(etc)
    assert tomllib.loads((etc / "containers.conf.d" / "50-clue-kit.conf").read_text())["engine"]["runtime"] == "runc"
    # a drop-in sorting after the kit's still wins: one line naming the setting, exit non-zero
    (etc / "containers.conf.d" / "90-site.conf").write_text('[engine]\nevents_logger = "journald"\n')
    with pytest.raises(SystemExit) as exc:
        _script().setup(etc)
    assert "engine.events_logger" in str(exc.value) and "\n" not in str(exc.value)


def _make_n(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    proc = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), *args], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_docker_build_for_registries_is_unchanged():
    line = _make_n("docker-build", "HOST_CA=/etc/ssl/certs/ca-certificates.crt")
    assert line.split() == ["docker", "build", "--build-arg", "EXTRAS=''", "-t", "clue-kit:0.1.0", "."]


def test_local_build_lines_with_podman():
    out = _make_n("docker-build", "DOCKER=podman", "BASE=localhost/clue-debian:bookworm", "HOST_CA=/tmp/site-ca.pem")
    assert out.split() == ["podman", "build", "-v", "'/tmp/site-ca.pem:/etc/ssl/certs/ca-certificates.crt:ro'",
                           "--build-arg", "BASE='localhost/clue-debian:bookworm'", "--build-arg", "EXTRAS=''",
                           "-t", "clue-kit:0.1.0", "."]
    assert "-v" not in _make_n("docker-build", "DOCKER=podman", "HOST_CA=").split()
    images = " ".join(_make_n("-o", ".venv/.llama", "-o", ".venv/.installed", "images", "DOCKER=podman")
                      .replace("\\\n", " ").split())
    assert "scripts/podman-local.py debian-root 'localhost/clue-debian:bookworm' --docker 'podman'" in images
    assert ("--build-arg BASE='localhost/clue-debian:bookworm' -f containers/llama-server/Containerfile "
            "-t localhost/clue-llama-server:local build/llama-server") in images
    assert "docker-build BASE='localhost/clue-debian:bookworm'" in images


def test_image_files_keep_their_contracts():
    docker = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^FROM .*$", docker, re.M) == ["FROM ${BASE}"]
    assert "ARG BASE=python:3.11.15-slim-trixie\n" in docker  # users with a registry get the same base as before
    assert "USER 10001:10001" in docker
    llama = (ROOT / "containers" / "llama-server" / "Containerfile").read_text()
    assert re.findall(r"^FROM .*$", llama, re.M) == ["FROM ${BASE}"]
    assert "ARG BASE=localhost/clue-debian:bookworm\n" in llama
    # the official ghcr.io/ggml-org/llama.cpp:server layout the serving backend relies on
    assert 'ENTRYPOINT ["/app/llama-server"]' in llama and "ENV LD_LIBRARY_PATH=/app" in llama
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LLAMA_IMAGE\s+\?= localhost/clue-llama-server:local$", makefile, re.M)
    assert re.search(r"^DEBIAN_IMAGE\s+\?= localhost/clue-debian:bookworm$", makefile, re.M)


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or next((str(p) for p in (ROOT / ".venv" / "bin").glob("hadolint")), None)
    if hadolint is None:
        pytest.skip("hadolint is not installed (make docker-lint installs it)")
    proc = subprocess.run([hadolint, "Dockerfile", "containers/llama-server/Containerfile"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _ci_position(text: str) -> int:
    words = text.split()
    hits = [i for i, line in enumerate(CI.splitlines()) if line.split("#")[0].split()[:len(words)] == words]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def test_ci_order():
    """Images before the tests that need them; the podman requirement set before make test; the real-engine steps."""
    order = ["python3 scripts/podman-local.py setup", "make llama", "make debian-image", "make llama-image",
             "scripts/llama-image-check.sh", "export CLUE_REQUIRE_PODMAN=1", "make test", "make test-llama",
             "scripts/ci-reproduce.sh", "make docker-build", "make docker-demo"]
    positions = [_ci_position(text) for text in order]
    assert positions == sorted(positions), dict(zip(order, positions))
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"^\s*make ([a-z-]+)", CI, re.M):
        assert target in targets, target
    for script in re.findall(r"(scripts/[\w.-]+)", CI):
        assert os.access(ROOT / script, os.X_OK), script
    for script in ("ci-reproduce.sh", "llama-image-check.sh"):
        assert subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)]).returncode == 0, script
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")]).returncode == 0
