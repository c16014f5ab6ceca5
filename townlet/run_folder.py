"""One run per folder, and no folder left behind by a run that never started (DESIGN §14).

A run (or a whole sweep) claims its folder before Hydra writes anything there: it takes an
exclusive ``fcntl.flock`` on ``run.lock`` in the folder and writes its pid into it. The kernel
drops a flock when its holder dies, even by SIGKILL, so a lock file left behind never blocks:
only a live holder does. The claim is made by :class:`RunFolderCallback`, a Hydra callback whose
``on_run_start`` / ``on_multirun_start`` run after composition and before Hydra creates the
folder, saves ``.hydra/`` or opens the log file.

A run that stops with a config error (exit 2) removes the folder again when this process
created it and only Hydra's own files are in it: see :func:`release_folders`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from townlet.distributed import process_rank
from townlet.errors import TownletError

LOCK_FILE = "run.lock"
# What Hydra writes into a folder before the task runs; a folder holding only these (and job
# sub-folders holding only these) has no output of the run in it.
HYDRA_FILES = {".hydra", LOCK_FILE, "multirun.yaml"}


class RunFolderBusy(TownletError):
    """Another live process holds the run folder (exit code 2, like a config error)."""

    exit_code = 2


@dataclass
class Claim:
    """A folder this process holds: its lock, and the topmost folder this process created."""

    folder: Path
    fd: int
    created: Path | None


_claims: list[Claim] = []


def register_resolvers() -> None:
    """``${run_suffix:}``: this process's pid, which makes default folder names unique.

    Two runs started in the same second get the same ``${now:%H-%M-%S}``; no two live processes
    share a pid, so the suffix keeps their folders apart. Registered by the entry points (not on
    import, which changes no global state); ``replace`` makes it idempotent.

    ``${config_subdir:}``: ``.hydra`` in rank 0, null in the other DDP ranks (torchrun and SLURM
    start every rank with the same command), so one process writes the composed config.
    """
    OmegaConf.register_new_resolver("run_suffix", lambda: str(os.getpid()), replace=True)
    OmegaConf.register_new_resolver(
        "config_subdir", lambda: ".hydra" if process_rank() == 0 else None, replace=True
    )


def claim_folder(folder: str | Path, setting: str = "hydra.run.dir") -> Claim:
    """Create ``folder`` if needed and lock it for this process; raises RunFolderBusy if held.

    ``setting`` is the override that chose the folder, named in the error.
    """
    folder = Path(folder).absolute()
    created = _topmost_missing(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderBusy(
                f"run folder {folder} is in use by another run (pid {holder}); "
                f"choose another {setting} or wait for that run to end"
            ) from None
        # The holder before us may have removed the file between our open and our flock:
        # then we locked a file nobody else can see, so start again on the current one.
        if _same_file(fd, path):
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    claim = Claim(folder, fd, created)
    _claims.append(claim)
    return claim


def release_folders(discard_unused: bool = False) -> None:
    """Unlock every folder this process claimed; idempotent.

    With ``discard_unused`` (a config error ended the run) a folder this process created is
    removed, with any parents it created, when nothing but Hydra's files is in it.
    """
    while _claims:
        claim = _claims.pop()
        lock = claim.folder / LOCK_FILE
        # Remove the file while still holding the lock, so no one can lock the old file.
        lock.unlink(missing_ok=True)
        os.close(claim.fd)
        if discard_unused and claim.created is not None and _only_hydra_files(claim.folder):
            shutil.rmtree(claim.folder, ignore_errors=True)
            _remove_empty_parents(claim.folder.parent, claim.created)


def _topmost_missing(folder: Path) -> Path | None:
    """The highest folder on the way to ``folder`` that does not exist yet (None: it exists)."""
    missing = None
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing = candidate
    return missing


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _only_hydra_files(folder: Path) -> bool:
    """True when ``folder`` holds only Hydra's files, log files and job folders of the same."""
    for entry in folder.iterdir():
        if entry.name in HYDRA_FILES or (entry.is_file() and entry.suffix == ".log"):
            continue
        if entry.is_dir() and entry.name.isdigit() and _only_hydra_files(entry):
            continue
        return False
    return True


def _remove_empty_parents(folder: Path, created: Path) -> None:
    """Remove the empty folders from ``folder`` up to ``created``, which this process made."""
    if folder != created and created not in folder.parents:
        return
    for candidate in [folder, *folder.parents]:
        try:
            candidate.rmdir()
        except OSError:  # not empty: another run's folder is in it
            return
        if candidate == created:
            return


class RunFolderCallback(Callback):
    """Hydra callback: claim the run or sweep folder before Hydra writes into it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._claim(str(config.hydra.run.dir), "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # The sweep holds its folder as a whole; its jobs run in sub-folders of it.
        self._claim(str(config.hydra.sweep.dir), "hydra.sweep.dir")

    @staticmethod
    def _claim(folder: str, setting: str) -> None:
        if process_rank() != 0:
            # A DDP rank launched into rank 0's folder (Lightning passes it hydra.run.dir, and
            # torchrun/SLURM recipes set it): rank 0 holds the lock for the whole run.
            return
        try:
            claim_folder(folder, setting)
        except RunFolderBusy as err:
            # Hydra turns a callback's exception into a warning and carries on into the folder;
            # exiting here is the only way to stop before it writes there.
            print(err, file=sys.stderr)
            sys.exit(err.exit_code)


def in_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun (``-m``, any launcher)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
