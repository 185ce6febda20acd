"""Long work the pages start and watch: a re-index in its own `huashu index` process, an eval run in a thread.

The server keeps one job of each kind (shared by every session): a page polls it for progress and shows the
outcome; while it runs, drafts go on being served by the last good index. A re-index runs in another process
because Chroma's writes hold the GIL for 100-150 ms at a time, which would stall drafts in this one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import rag

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Job:
    """One piece of background work: its progress, and its outcome once it ends."""

    kind: str
    started: float = field(default_factory=time.time)
    done: int = 0
    total: int | None = None
    state: str = "running"  # running | finished | failed
    error: str = ""
    result: dict | None = None
    label: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class Jobs:
    """The server's background jobs, at most one running per kind."""

    def __init__(self):
        self._lock = threading.Lock()
        self.latest: dict[str, Job] = {}

    def get(self, kind: str) -> Job | None:
        return self.latest.get(kind)

    def _claim(self, kind: str, label: str = "") -> Job:
        with self._lock:
            current = self.latest.get(kind)
            if current is not None and current.running:
                raise rag.BusyError("上一次还在进行中，等它完成再开始新的一次。")
            job = self.latest[kind] = Job(kind, label=label)
            return job

    # ---- re-index ----
    def start_reindex(
        self, settings: rag.Settings, *, full: bool = False, allow_mass_delete: bool = False
    ) -> Job:
        """Start `huashu index` in its own process over the settings' knowledge base and store."""
        job = self._claim("reindex")
        out = Path(tempfile.mkstemp(prefix="huashu-index-", suffix=".json")[1])
        args = [sys.executable, "-m", "rag.cli", "index", "--progress-lines", "--json", str(out)]
        if full:
            args.append("--full")
        if allow_mass_delete:
            args.append("--allow-mass-delete")
        env = os.environ | _env(settings)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        try:
            proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        except OSError as exc:
            job.state, job.error = "failed", f"启动不了重新索引的进程：{exc}"
            return job
        threading.Thread(target=_watch_index, args=(job, proc, out), daemon=True, name="reindex").start()
        return job

    # ---- eval ----
    def start_eval(self, app: rag.Huashu, files: list[str], folder: Path, label: str) -> Job:
        """Run eval files through `app` in a thread and save the results as a run under `folder`."""
        job = self._claim("eval", label)
        threading.Thread(target=_run_eval, args=(job, app, files, folder), daemon=True, name="eval").start()
        return job


def _env(settings: rag.Settings) -> dict[str, str]:
    """Return the HUASHU_* variables that make another process use this server's index and knowledge base."""
    env = {"HUASHU_DATA_DIR": str(settings.data_dir), "HUASHU_KB_PATH": str(settings.kb_path)}
    if settings.chroma_path:
        env["HUASHU_CHROMA_PATH"] = str(settings.chroma_path)
    if settings.chroma_url:
        env["HUASHU_CHROMA_URL"] = settings.chroma_url
    return env


def _watch_index(job: Job, proc: subprocess.Popen, out: Path) -> None:
    tail: list[str] = []
    for line in proc.stderr:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "progress":
            job.done, job.total = int(parts[1]), int(parts[2])
        elif line.strip():
            tail = (tail + [line.rstrip()])[-5:]
    summary = proc.stdout.read()
    code = proc.wait()
    try:
        if code == 0:
            job.result = json.loads(out.read_text(encoding="utf-8")) | {"printed": summary.strip()}
            job.state = "finished"
        else:
            job.state = "failed"
            job.error = "\n".join(tail) or f"huashu index 退出码 {code}"
    except (OSError, ValueError) as exc:
        job.state, job.error = "failed", f"读不到重新索引的报告：{exc}"
    finally:
        out.unlink(missing_ok=True)


def _run_eval(job: Job, app: rag.Huashu, files: list[str], folder: Path) -> None:
    def start(total: int) -> None:
        job.total = total

    def advance(_result) -> None:
        job.done += 1

    try:
        evalset = rag.read_eval_files(files)
        run = rag.EvalRunner(app).run(evalset, on_case=advance, on_start=start)
        results = rag.results_json(run)
        path = rag.save_run(results, folder, job.label)
        job.result = {"path": str(path), "results": results}
        job.state = "finished"
    except rag.HuashuError as exc:
        job.state, job.error = "failed", str(exc)
    except Exception as exc:  # a bug: logged in full, told in one line
        log.exception("eval run failed")
        job.state, job.error = "failed", f"评测出错（{type(exc).__name__}: {exc}），详情见服务日志。"
