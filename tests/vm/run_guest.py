#!/usr/bin/env python3
"""Boot a 2-NUMA, cgroup-v2 Linux under qemu TCG and run tests/vm/test_guest.py inside it.

Usage: ``python tests/vm/run_guest.py [--python PATH] [--timeout SECONDS] [--cache-dir DIR]``

The guest is a Debian kernel with a busybox initramfs (lab-recipes §4). The host's ``/`` is
shared read-only over 9p and becomes the guest's root (chroot), so the guest runs the host's
own Python, venv and repo; a fresh host temp dir is shared read-write for the results.
This script prints the guest's pytest output and exits with the guest's pytest exit code
(or 2 with the serial log if the guest never reported). See tests/vm/README.md.
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import hashlib
import lzma
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = Path(os.environ.get("PINLET_VM_CACHE", "/var/cache/pinlet-vm"))
# The 9p stack and what it sits on; their dependencies are read from each module's modinfo.
TARGET_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
QEMU = "qemu-system-x86_64"
NO_REPORT = 2  # exit code when the guest wrote no result
# Part of the cached initramfs's name: bump it when build_initramfs changes the layout.
INITRAMFS_LAYOUT = 2

INIT = r"""#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
say() { echo "pinlet-vm: [$(cut -d' ' -f1 /proc/uptime) s] $*"; }
die() { say "FATAL: $*"; poweroff -f; }
mount -t proc proc /proc
say "init started"
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do
    insmod /modules/$m.ko || die "insmod $m"
done
O=trans=virtio,version=9p2000.L,msize=262144
R=/newroot
# The host root is read-only for the guest, so it may be cached aggressively (loose); Python
# startup over uncached 9p is otherwise most of the run.
mount -t 9p -o $O,ro,cache=loose hostroot $R || die "mount hostroot"
# Keep the host's /tmp reachable: things under it (a venv) are bound back over the tmpfs.
mkdir -p /hosttmp
mount --bind $R/tmp /hosttmp || die "bind host /tmp"
mount -t proc proc $R/proc || die "proc"
mount -t sysfs sys $R/sys || die "sysfs"
mount -t devtmpfs dev $R/dev || die "devtmpfs"
mount -t tmpfs tmpfs $R/tmp || die "tmpfs /tmp"
mount -t tmpfs tmpfs $R/run || die "tmpfs /run"
mkdir -p $R/run/pinlet-vm
mount -t 9p -o $O results $R/run/pinlet-vm || die "mount results"
for p in $(cat $R/run/pinlet-vm/keep-tmp); do
    mkdir -p $R/tmp/$p && mount --bind /hosttmp/$p $R/tmp/$p || die "bind /tmp/$p"
done
mount -t cgroup2 none $R/sys/fs/cgroup || die "cgroup2"
echo +cpuset > $R/sys/fs/cgroup/cgroup.subtree_control || die "+cpuset"
say "running guest tests"
chroot $R /bin/sh /run/pinlet-vm/guest.sh
say "guest script exited with $?"
sync
poweroff -f
"""

GUEST_SH = """\
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp PINLET_IN_VM=1 PYTHONDONTWRITEBYTECODE=1
# No third-party plugins and no tests/conftest.py (gRPC fixtures): they are not used here, and
# importing them over 9p under TCG costs tens of seconds.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
cd {repo} || exit 1
{python} -m pytest -q -p no:cacheprovider --noconftest -m vm tests/vm/test_guest.py \\
    >/run/pinlet-vm/pytest.out 2>&1
echo $? >/run/pinlet-vm/rc.tmp && mv /run/pinlet-vm/rc.tmp /run/pinlet-vm/rc
"""


def log(msg: str) -> None:
    print(f"[run_guest] {msg}", file=sys.stderr, flush=True)


class Apt:
    """apt-get, with ``apt-get update`` run at most once per invocation."""

    def __init__(self) -> None:
        self.updated = False

    def update(self) -> None:
        if not self.updated:
            log("apt-get update")
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            self.updated = True

    def install(self, *pkgs: str) -> None:
        self.update()
        log(f"apt-get install {' '.join(pkgs)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs],
            check=True,
            env=env,
        )


def installed(pkg: str) -> bool:
    r = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
    )
    return r.returncode == 0 and r.stdout.strip().endswith("installed")


def ensure_tools(apt: Apt) -> None:
    missing = []
    if shutil.which(QEMU) is None:
        missing.append("qemu-system-x86")
    if not installed("busybox-static"):
        missing.append("busybox-static")
    if missing:
        apt.install(*missing)


def resolve_kernel_package() -> str | None:
    r = subprocess.run(
        ["apt-cache", "depends", "linux-image-amd64"],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Depends:\s*(linux-image-\S+-amd64)\b", r.stdout)
    return m[1] if m else None


def fetch_kernel(apt: Apt, cache: Path) -> Path:
    """The cached kernel directory (vmlinuz, modules/, version), fetching it if needed."""
    kernels = cache / "kernels"
    ready = sorted(p.parent for p in kernels.glob("*/READY")) if kernels.is_dir() else []
    if ready:
        return ready[-1]
    pkg = resolve_kernel_package()
    if pkg is None:
        apt.update()
        pkg = resolve_kernel_package()
    if pkg is None:
        raise SystemExit("cannot resolve the package linux-image-amd64 depends on")
    with tempfile.TemporaryDirectory(prefix="pinlet-vm-kpkg-") as tmp:
        r = subprocess.run(["apt-get", "download", pkg], cwd=tmp, check=False)
        if r.returncode != 0 and not apt.updated:
            # A stale list names a version the mirror no longer has: refresh and re-resolve.
            apt.update()
            pkg = resolve_kernel_package() or pkg
            r = subprocess.run(["apt-get", "download", pkg], cwd=tmp, check=False)
        if r.returncode != 0:
            raise SystemExit(f"apt-get download {pkg} failed")
        (deb,) = Path(tmp).glob("*.deb")
        log(f"extracting {deb.name}")
        subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"], check=True)
        x = Path(tmp) / "x"
        (vmlinuz,) = (x / "boot").glob("vmlinuz-*")
        version = vmlinuz.name.removeprefix("vmlinuz-")
        dest = kernels / version
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "modules").mkdir(parents=True)
        shutil.copy2(vmlinuz, dest / "vmlinuz")
        moddir = _modules_root(x, version)
        order = _module_order(moddir)
        for name, path in order:
            data = path.read_bytes()
            if path.name.endswith(".ko.xz"):
                data = lzma.decompress(data)
            elif not path.name.endswith(".ko"):
                raise SystemExit(f"unsupported module compression: {path}")
            (dest / "modules" / f"{name}.ko").write_bytes(data)
        (dest / "modules" / "order").write_text("\n".join(n for n, _ in order) + "\n")
        (dest / "version").write_text(version + "\n")
        (dest / "READY").write_text(pkg + "\n")
        log(f"kernel {version} cached in {dest}; modules: {' '.join(n for n, _ in order)}")
        return dest


def _modules_root(x: Path, version: str) -> Path:
    for base in (x / "lib" / "modules" / version, x / "usr" / "lib" / "modules" / version):
        if base.is_dir():
            return base
    raise SystemExit(f"no lib/modules/{version} in the kernel package")


def _module_order(moddir: Path) -> list[tuple[str, Path]]:
    """The modules to insmod for TARGET_MODULES, dependencies first (from their modinfo)."""
    files: dict[str, Path] = {}
    for p in moddir.rglob("*.ko*"):
        name = p.name.split(".ko")[0].replace("-", "_")
        files[name] = p
    builtin_text = ""
    builtin = moddir / "modules.builtin"
    if builtin.exists():
        builtin_text = builtin.read_text()
    builtins = {
        Path(line).name.split(".ko")[0].replace("-", "_") for line in builtin_text.splitlines()
    }
    order: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name not in files:
            if name in builtins:
                return
            raise SystemExit(f"kernel module {name} is neither in the package nor built in")
        data = files[name].read_bytes()
        if files[name].name.endswith(".xz"):
            data = lzma.decompress(data)
        m = re.search(rb"\x00depends=([^\x00]*)\x00", data)
        deps = [d for d in (m[1].decode().split(",") if m else []) if d]
        for dep in deps:
            visit(dep.replace("-", "_"))
        order.append((name, files[name]))

    for target in TARGET_MODULES:
        visit(target)
    return order


def build_initramfs(kernel: Path, cache: Path) -> Path:
    busybox = Path("/bin/busybox")
    h = hashlib.sha256()
    h.update(f"{INITRAMFS_LAYOUT}\n{INIT}".encode())
    h.update(busybox.read_bytes())
    h.update((kernel / "modules" / "order").read_bytes())
    h.update(str(kernel).encode())
    out = cache / f"initramfs-{h.hexdigest()[:16]}.cpio.gz"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(prefix="pinlet-vm-initrd-") as tmp:
        root = Path(tmp) / "root"
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "newroot"):
            (root / d).mkdir(parents=True)
        shutil.copy2(busybox, root / "bin" / "busybox")
        (root / "bin" / "sh").symlink_to("busybox")  # for the #!/bin/sh of init
        shutil.copytree(kernel / "modules", root / "modules")
        init = root / "init"
        init.write_text(INIT)
        init.chmod(0o755)
        cpio = subprocess.run(
            f"find . | {busybox} cpio -o -H newc",
            shell=True,
            cwd=root,
            check=True,
            capture_output=True,
        ).stdout
        part = out.with_suffix(".part")
        part.write_bytes(gzip.compress(cpio, compresslevel=1))
        part.rename(out)
    log(f"initramfs built: {out}")
    return out


def _tmp_tops(paths: list[Path]) -> list[str]:
    """First components of the given paths under /tmp (hidden by the guest's tmpfs)."""
    tops = set()
    for p in paths:
        for q in (p, p.resolve()):
            parts = q.parts
            if len(parts) > 2 and parts[:2] == ("/", "tmp"):
                tops.add(parts[2])
    return sorted(tops)


def _die_with_parent() -> None:
    # qemu must not outlive this script, whatever kills it.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def boot(kernel: Path, initrd: Path, python: str, timeout: float) -> int:
    outdir = Path(tempfile.mkdtemp(prefix="pinlet-vm-out-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        py = Path(python)
        (outdir / "keep-tmp").write_text("\n".join(_tmp_tops([py, REPO])) + "\n")
        if any(ch.isspace() for ch in str(REPO) + python):
            raise SystemExit("paths with whitespace are not supported")
        (outdir / "guest.sh").write_text(
            GUEST_SH.format(repo=shlex.quote(str(REPO)), python=shlex.quote(python))
        )
        serial = outdir / "serial.log"
        cmd = [
            QEMU,
            "-accel", "tcg,thread=multi",
            "-machine", "q35",
            "-cpu", "Skylake-Server",
            "-m", "2G",
            "-smp", "8,sockets=2,cores=2,threads=2",
            "-object", "memory-backend-ram,id=m0,size=1G",
            "-object", "memory-backend-ram,id=m1,size=1G",
            "-numa", "node,nodeid=0,cpus=0-3,memdev=m0",
            "-numa", "node,nodeid=1,cpus=4-7,memdev=m1",
            "-numa", "dist,src=0,dst=1,val=21",
            "-kernel", str(kernel / "vmlinuz"),
            "-initrd", str(initrd),
            "-append", "console=ttyS0 panic=-1 rdinit=/init loglevel=4",
            "-virtfs",
            "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs", f"local,path={outdir},mount_tag=results,security_model=none",
            "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot",
            "-serial", f"file:{serial}",
        ]  # fmt: skip
        log("booting the guest")
        start = time.monotonic()
        # qemu's stderr (a warning per unsupported CPUID bit under TCG) is shown on failure only.
        qemu_err = outdir / "qemu.stderr"
        with open(qemu_err, "wb") as err:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stderr=err,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        try:
            qrc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"guest timed out after {timeout:.0f} s; killing qemu pid {proc.pid}")
            qrc = None
        log(f"qemu exited with {qrc} after {time.monotonic() - start:.1f} s")
        out = outdir / "pytest.out"
        rc_file = outdir / "rc"
        if out.exists():
            sys.stdout.write(out.read_text(errors="replace"))
            sys.stdout.flush()
        serial_text = serial.read_text(errors="replace") if serial.exists() else ""
        for line in serial_text.splitlines():
            if line.startswith("pinlet-vm:"):
                log(line)
        if rc_file.exists() and rc_file.read_text().strip().isdigit():
            return int(rc_file.read_text().strip())
        log("the guest did not report a pytest exit code; qemu stderr and serial log follow")
        noise = "TCG doesn't support requested feature"
        err_lines = qemu_err.read_text(errors="replace").splitlines()
        sys.stdout.writelines(f"{line}\n" for line in err_lines if noise not in line)
        sys.stdout.write(serial_text)
        return NO_REPORT
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(outdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable, help="interpreter to run in the guest")
    ap.add_argument("--timeout", type=float, default=600, help="limit for the boot, seconds")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args()
    # SIGTERM (e.g. from an outer timeout) unwinds through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    python = os.path.abspath(args.python)
    if not os.access(python, os.X_OK):
        raise SystemExit(f"{python} is not executable")
    apt = Apt()
    ensure_tools(apt)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    kernel = fetch_kernel(apt, args.cache_dir)
    initrd = build_initramfs(kernel, args.cache_dir)
    return boot(kernel, initrd, python, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
