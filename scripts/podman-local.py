#!/usr/bin/env python3
"""Local container images without a registry: rootful Podman's settings and a Debian root image from debootstrap.

    python3 scripts/podman-local.py setup [--etc /etc/containers]
        Makes rootful Podman run here: the four containers.conf settings of shared/research/scale-out.md
        (SETTINGS below). Writes ETC/containers.conf when it is absent; when it exists but lacks a setting (or
        sets another value) the file is left alone and ETC/containers.conf.d/50-clue-kit.conf, a drop-in that
        overrides it, is written instead (exit 1 when a drop-in sorting after it still overrides a setting).
        Prints what it did; nothing is written when every setting is there.
    python3 scripts/podman-local.py debian-root TAG [--suite bookworm] [--mirror URL] [--docker podman] [--force]
        `debootstrap --variant=minbase` with what llama-server and the kit need (PACKAGES below: libstdc++6,
        libgomp1, ca-certificates, python3 + python3-venv), apt's caches removed, then `podman import` as TAG
        (PATH, LANG=C.UTF-8 and CMD bash set). Skipped when TAG already exists unless --force. Needs root.

Used by `make debian-image` / `make images` and `.ci/run`. Standard library only (Python >= 3.11 for tomllib).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

# table → key → value: what rootful Podman 4.3 (Debian 12) needs in this kind of sandbox (scale-out.md)
SETTINGS: dict[str, dict[str, object]] = {
    "containers": {"default_ulimits": ["nofile=20000:20000", "nproc=32768:32768"]},
    "engine": {"runtime": "runc", "cgroup_manager": "cgroupfs", "events_logger": "file"},
}
DROP_IN = "containers.conf.d/50-clue-kit.conf"
PACKAGES = ("libstdc++6", "libgomp1", "ca-certificates", "python3", "python3-venv")
IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["/bin/bash"]',
)


def _toml_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def settings_text() -> str:
    """SETTINGS as containers.conf TOML."""
    lines = ["# written by clue-kit's scripts/podman-local.py (shared/research/scale-out.md)"]
    for table, keys in SETTINGS.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def effective(etc: Path) -> dict[str, dict[str, object]]:
    """The settings as Podman reads them: containers.conf, then the drop-ins in name order, later keys winning."""
    merged: dict[str, dict[str, object]] = {}
    drop_ins = sorted((etc / "containers.conf.d").glob("*.conf")) if (etc / "containers.conf.d").is_dir() else []
    for path in [etc / "containers.conf", *drop_ins]:
        if path.is_file():
            for table, keys in tomllib.loads(path.read_text()).items():
                if isinstance(keys, dict):
                    merged.setdefault(table, {}).update(keys)
    return merged


def missing(etc: Path) -> list[str]:
    """`table.key` of each setting that is absent or set to another value."""
    have = effective(etc)
    return [f"{table}.{key}" for table, keys in SETTINGS.items() for key, value in keys.items()
            if have.get(table, {}).get(key) != value]


def setup(etc: Path) -> str:
    """Write the settings where they are missing (see the module docstring); returns what was done, one line."""
    lacking = missing(etc)
    if not lacking:
        return f"podman settings: all present under {etc}"
    target = etc / "containers.conf"
    if target.exists():
        target = etc / DROP_IN
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(settings_text())
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    still = missing(etc)
    if still:  # a drop-in sorting after ours sets another value
        raise SystemExit(f"podman-local: wrote {target}, but a later file under {etc} still overrides "
                         f"{', '.join(still)}; set them there (shared/research/scale-out.md)")
    return f"podman settings: wrote {target} ({', '.join(lacking)} were missing)"


def image_exists(docker: str, tag: str) -> bool:
    return subprocess.run([docker, "image", "inspect", tag], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def debian_root(tag: str, *, suite: str, mirror: str, docker: str, force: bool) -> None:
    if not force and image_exists(docker, tag):
        print(f"{tag}: exists (make debian-image REBUILD=1 to build it again)")
        return
    if shutil.which("debootstrap") is None:
        sys.exit("podman-local: debootstrap is not installed (apt-get install --no-install-recommends debootstrap)")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="clue-debian-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root),
                        mirror], check=True)
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        print(f"debootstrap {suite}: {time.monotonic() - start:.0f} s", flush=True)
        changes = [arg for change in IMPORT_CHANGES for arg in ("--change", change)]
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run([docker, "import", *changes, "-", tag], stdin=tar.stdout)
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            sys.exit(f"podman-local: importing {root} as {tag} failed")
    print(f"{tag}: built in {time.monotonic() - start:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podman-local.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="write the containers.conf settings rootful Podman needs here")
    p_setup.add_argument("--etc", type=Path, default=Path("/etc/containers"))
    p_root = sub.add_parser("debian-root", help="debootstrap a minimal Debian and import it as an image")
    p_root.add_argument("tag")
    p_root.add_argument("--suite", default="bookworm")
    p_root.add_argument("--mirror", default="http://deb.debian.org/debian")
    p_root.add_argument("--docker", default="podman")
    p_root.add_argument("--force", action="store_true", help="build again even when the image exists")
    args = parser.parse_args(argv)
    if args.command == "setup":
        print(setup(args.etc))
    else:
        debian_root(args.tag, suite=args.suite, mirror=args.mirror, docker=args.docker, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
