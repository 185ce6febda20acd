"""Read YAML keeping the line of every value, so rule errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from rag.errors import KnowledgeBaseError
from rag.kbfields import unknown_field_message

_STR_TAG = "tag:yaml.org,2002:str"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml composes the rules file ten times faster


@dataclass(frozen=True)
class Located:
    """A YAML value with the 1-based line it starts on."""

    value: Any
    line: int


def load_located(text: str, file: str) -> Located:
    """Parse `text` into nested Located values (dict keys stay plain strings)."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeBaseError(
            file, f"YAML 格式错误（{problem}），请检查缩进、冒号和引号", line=line
        ) from None
    if node is None:
        return Located(None, 1)
    return _Converter(file).convert(node)


class _Converter:
    """Turn a composed YAML node tree into Located values."""

    def __init__(self, file: str):
        self.file = file
        self.loader = yaml.SafeLoader("")

    def convert(self, node: yaml.Node) -> Located:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Located] = {}
            for key_node, value_node in node.value:
                key = str(self.scalar(key_node))
                if key in out:
                    raise KnowledgeBaseError(
                        self.file,
                        f"字段“{key}”重复出现，请只保留一个",
                        line=key_node.start_mark.line + 1,
                        field=key,
                    )
                out[key] = self.convert(value_node)
            return Located(out, line)
        if isinstance(node, yaml.SequenceNode):
            return Located([self.convert(item) for item in node.value], line)
        return Located(self.scalar(node), line)

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise KnowledgeBaseError(self.file, "这里应该是一个简单的值", line=node.start_mark.line + 1)
        if node.tag == _STR_TAG:
            return node.value
        try:
            return self.loader.construct_object(node)
        except yaml.YAMLError:
            return node.value


def check_fields(fields: dict[str, Located], allowed: tuple[str, ...], file: str) -> None:
    """Reject a field name that is not allowed, suggesting the closest allowed one."""
    for key, node in fields.items():
        if key not in allowed:
            raise KnowledgeBaseError(file, unknown_field_message(key, allowed), line=node.line, field=key)


def required_str(fields: dict[str, Located], name: str, item: Located, file: str) -> str:
    """Return a required non-empty text field."""
    node = fields.get(name)
    if node is None:
        raise KnowledgeBaseError(file, f"规则缺少必填字段 {name}", line=item.line, field=name)
    if not isinstance(node.value, str) or not node.value.strip():
        raise KnowledgeBaseError(file, f"{name} 应是一段非空文字", line=node.line, field=name)
    return node.value.strip()


def choice(fields: dict[str, Located], name: str, allowed: tuple[str, ...], item: Located, file: str) -> str:
    """Return a required field that must be one of `allowed`."""
    value = required_str(fields, name, item, file)
    if value not in allowed:
        raise KnowledgeBaseError(
            file,
            f"{name} “{value}”不在允许的取值里：{'、'.join(allowed)}",
            line=fields[name].line,
            field=name,
        )
    return value


def str_list(node: Located | None, file: str, name: str) -> list[Located]:
    """Return the items of an optional list of non-empty texts."""
    if node is None or node.value is None:
        return []
    if not isinstance(node.value, list):
        raise KnowledgeBaseError(file, f"{name} 应是列表（每行以“- ”开头）", line=node.line, field=name)
    for entry in node.value:
        if (
            not isinstance(entry.value, (str, int, float))
            or isinstance(entry.value, bool)
            or not str(entry.value).strip()
        ):
            raise KnowledgeBaseError(file, f"{name} 的每一项应是一段非空文字", line=entry.line, field=name)
    return node.value
