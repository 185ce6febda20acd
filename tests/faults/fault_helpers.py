"""Helpers of the fault suite: run the real CLI in a fresh process (optionally under a fault) and read it."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import base_env, make_settings

from rag.settings import Settings

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


@dataclass(frozen=True)
class Run:
    """What a user saw: exit status, standard output and standard error."""

    code: int
    out: str
    err: str

    def clean(self) -> Run:
        """Assert no traceback and no crash reached the user; return self."""
        assert "Traceback" not in self.err + self.out, self.err
        assert self.code >= 0, f"killed by signal {-self.code}: {self.err}"
        return self


def env_of(settings: Settings, **extra: str) -> dict[str, str]:
    """Return the environment a CLI process over `settings` runs with."""
    env = base_env()
    env |= {"HUASHU_DATA_DIR": str(settings.data_dir), "HUASHU_KB_PATH": str(settings.kb_path)}
    if settings.chroma_path:
        env["HUASHU_CHROMA_PATH"] = str(settings.chroma_path)
    return env | extra


def cli(settings: Settings, *args: str | bytes, stdin: bytes = b"", preexec=None, **env: str) -> Run:
    """Run `huashu ARGS` in a fresh process; arguments may be bytes (what a non-UTF-8 terminal sends)."""
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        input=stdin,
        capture_output=True,
        env=env_of(settings, **env),
        preexec_fn=preexec,
        timeout=180,
    )
    return Run(
        proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    )


def draft_json(settings: Settings, message: str = "付款了什么时候发货", brand: str = "jianyi") -> dict:
    """Draft in a fresh process; return the result as JSON (script id, generation, text)."""
    run = cli(settings, "draft", message, "--brand", brand, "--json").clean()
    assert run.code == 0, run.err
    return json.loads(run.out)


def file_size_limit(limit: int):
    """Return a preexec function: files the child writes cannot grow past `limit` bytes (a full disk)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def without_override() -> None:
    """Preexec: the child obeys file permissions even as root (drops the capabilities that bypass them).

    Root reads and writes any file whatever its mode; without these two capabilities it is held to the owner's
    bits like anyone else. For an ordinary user the call fails and changes nothing, which is what we want.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


def gen_of(settings: Settings) -> int:
    """Return the generation the store's manifest serves, read in a fresh process."""
    run = cli(settings, "kb", "stats", "--json").clean()
    assert run.code == 0, run.err
    return json.loads(run.out)["gen"]


def tree_mode(path: Path, mode_dirs: int, mode_files: int) -> None:
    """Set the mode of a directory tree (dirs and files separately)."""
    for dirpath, _dirs, files in os.walk(path):
        os.chmod(dirpath, mode_dirs)
        for f in files:
            os.chmod(Path(dirpath) / f, mode_files)


def serve(settings: Settings, embeddings, message: str = "付款了什么时候发货", brand: str = "jianyi"):
    """Draft with a Huashu opened anew on the store, as a new process would see it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    from rag import Huashu

    SharedSystemClient.clear_system_cache()  # an embedded client caches what it loaded: read the files again
    with Huashu(settings, embeddings=embeddings) as app:
        return app.draft(message, brand=brand)


def fresh(settings: Settings, embeddings):
    """Return a Huashu on a newly opened store (for a re-index after the files changed behind its back)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    from rag import Huashu

    SharedSystemClient.clear_system_cache()
    return Huashu(settings, embeddings=embeddings)


@pytest.fixture(name="indexed")
def indexed_fixture(tmp_path, mini_kb, embeddings) -> Settings:
    """Settings over the small knowledge base, indexed once (generation 1)."""
    from rag import Huashu

    settings = make_settings(tmp_path, mini_kb)
    Huashu(settings, embeddings=embeddings).index()
    return settings
