"""Files a knowledge manager uploads: checked, given a safe name and put where the knowledge base keeps them.

Each file is judged alone: one that fails (wrong type, too big, not text, unreadable) is reported with its
reason and the rest are still saved. Nothing here indexes; the caller runs `huashu index` afterwards.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError, KnowledgeBaseError

# kind -> (folder in the knowledge base, the suffixes it takes, what to call it in a message)
UPLOAD_KINDS = {
    "reference": ("references", (".md", ".txt", ".docx", ".pdf", ".html", ".htm"), "参考资料"),
    "script": ("scripts/uploaded", (".yaml", ".yml"), "话术"),
    "policy": ("policies", (".md",), "政策"),
}
_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Upload:
    """What happened to one uploaded file: saved under `path` (relative to the knowledge base) or not."""

    name: str
    saved: bool
    path: str = ""
    reason: str = ""
    replaced: bool = False


def safe_file_name(name: str) -> str:
    """Return a file name with no folders, no leading dots and only letters, digits, CJK, `.`, `-`, `_`."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "upload"
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def _check_content(kind: str, suffix: str, data: bytes, name: str) -> None:
    """Raise KnowledgeBaseError when the bytes cannot be what the kind needs."""
    if kind == "reference":
        from .documents import extract_text

        if not extract_text(suffix, data, name).strip():
            raise KnowledgeBaseError(name, "读不出任何文字（是扫描图片吗？请上传带文字的版本）。")
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KnowledgeBaseError(
            name, f"不是 UTF-8 文字（第 {exc.start} 字节）：请另存为 UTF-8 再上传。"
        ) from None
    if kind == "script":
        import yaml

        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise KnowledgeBaseError(name, f"YAML 格式不对：{exc}".splitlines()[0]) from None
        if not isinstance(loaded, list):
            raise KnowledgeBaseError(
                name, "话术文件应该是一个列表，每一项一条话术（见 knowledge_base/README.md）。"
            )
    elif kind == "policy" and not text.lstrip().startswith("---"):
        raise KnowledgeBaseError(name, "政策文件要以 front matter（--- 开头的 id、title 等）开头。")


def save_upload(kb_path: Path, kind: str, name: str, data: bytes, *, max_bytes: int, types) -> Upload:
    """Check one uploaded file and save it into the knowledge base; report why when it is not saved."""
    if kind not in UPLOAD_KINDS:
        raise BadInputError(f"不认识的文件类别 {kind!r}：可选 {', '.join(UPLOAD_KINDS)}。")
    folder, suffixes, label = UPLOAD_KINDS[kind]
    clean = safe_file_name(name)
    suffix = Path(clean).suffix
    allowed = [s for s in suffixes if s.lstrip(".") in types]
    if suffix not in allowed:
        return Upload(
            name, False, reason=f"{label}只收 {' '.join(allowed) or '（设置里没有允许的类型）'} 文件。"
        )
    if len(data) > max_bytes:
        return Upload(
            name, False, reason=f"文件有 {len(data) / 1e6:.1f} MB，超过上限 {max_bytes / 1e6:.1f} MB。"
        )
    try:
        _check_content(kind, suffix, data, clean)
    except KnowledgeBaseError as exc:
        return Upload(name, False, reason=exc.detail)
    target = Path(kb_path) / folder / clean
    replaced = target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{clean}.part")
    tmp.write_bytes(data)
    tmp.replace(target)  # a re-index running meanwhile never reads half a file
    return Upload(name, True, path=f"{folder}/{clean}", replaced=replaced)
