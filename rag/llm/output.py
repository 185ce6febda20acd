"""Turn the model's streamed text into draft sentences: citations parsed out, brand tone enforced, faults caught.

Text is released a whole sentence at a time (the compliance gate checks whole sentences anyway). Citation
marks (`[S1]`, `【P2】`, `[S1, P2]`) are taken out of the text and recorded; a mark naming an id the prompt
did not hold is dropped and noted. Nothing is released until enough letters show that the reply is Chinese.
An empty completion, one cut mid-sentence, or one far longer than asked raises an `LLMFault`.
"""

from __future__ import annotations

import re

from ..tone import enforce_tone
from ..types import ToneProfile
from .faults import LLMFault

LENGTH_FACTOR = 3  # a completion this many times the asked length has run away
LANGUAGE_SAMPLE = 8  # letters needed before the language is judged
MIN_CJK_SHARE = 0.5
_CITE = re.compile(r"[\[【［]\s*([SPR]\d+(?:\s*[,，、]\s*[SPR]\d+)*)\s*[\]】］]")
_ID = re.compile(r"[SPR]\d+")
_SENTENCE_END = re.compile(r"[。！？!?\n]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_CUT_TAIL = re.compile(r"[\u4e00-\u9fffA-Za-z0-9，,、；;：:（(《“]")
_MARKUP = re.compile(r"\*\*|^#+\s*|^\s*[-*]\s+", re.MULTILINE)


def cjk_share(text: str) -> float | None:
    """Return the share of Chinese characters among the letters of `text` (None below the sample size)."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin >= LANGUAGE_SAMPLE else None


class Shaper:
    """Cut streamed text into checked, cleaned sentences; collect citations and notices."""

    def __init__(self, sources: dict[str, str], tone: ToneProfile, *, asked_chars: int):
        self.sources = sources
        self.tone = tone
        self.asked_chars = asked_chars
        self.raw = ""
        self.cut = 0  # raw[:cut] has been turned into sentences
        self.body = ""  # the cleaned sentences so far
        self.held: list[str] = []  # cleaned sentences waiting for the language verdict
        self.judged = False
        self.cited: list[str] = []
        self.unknown: list[str] = []

    def feed(self, text: str) -> list[str]:
        """Take streamed text; return the sentences it completed that may be released."""
        self.raw += text
        if len(self.raw) > LENGTH_FACTOR * self.asked_chars:
            raise LLMFault(
                "too_long",
                f"大模型的回复远超要求的长度（已有 {len(self.raw)} 字，要求 {self.asked_chars} 字以内）。",
            )
        ends = [m.end() for m in _SENTENCE_END.finditer(self.raw, self.cut)]
        if not ends:
            return []
        done, self.cut = self.raw[self.cut : ends[-1]], ends[-1]
        return self._release([self._clean(s) for s in _split(done)])

    def finish(self, finish_reason: str | None) -> list[str]:
        """Take the end of the completion; return the last sentences, or raise if the completion is unusable."""
        rest = self.raw[self.cut :]
        if finish_reason == "length" or _cut_off(rest):
            raise LLMFault("truncated", "大模型的回复在句子中间断了（没有写完）。")
        out = self._release([self._clean(rest)], final=True)
        if not self.body.strip():
            raise LLMFault("empty", "大模型返回了空回复。")
        return out

    @property
    def notices(self) -> tuple[str, ...]:
        """Return what the agent should be told about the citations."""
        if not self.unknown:
            return ()
        ids = "、".join(f"[{i}]" for i in dict.fromkeys(self.unknown))
        return (f"大模型引用了提示里没有的来源 {ids}，已去掉。",)

    def citations(self) -> tuple[str, ...]:
        """Return the knowledge-base ids the model cited, in the order it first cited them."""
        return tuple(dict.fromkeys(self.sources[i] for i in self.cited))

    # ---- inside ----
    def _clean(self, sentence: str) -> str:
        def cite(match: re.Match) -> str:
            for sid in _ID.findall(match.group(1)):
                (self.cited if sid in self.sources else self.unknown).append(sid)
            return ""

        text = _MARKUP.sub("", _CITE.sub(cite, sentence)).strip()
        for plain, styled in self.tone.replacements:
            text = text.replace(plain, styled)
        return enforce_tone(text, self.tone).strip()

    def _release(self, sentences: list[str], final: bool = False) -> list[str]:
        sentences = [s for s in sentences if s]
        self.body += "".join(sentences)
        if self.judged:
            return sentences
        self.held += sentences
        share = cjk_share(self.body)
        if share is None and not final:
            return []
        if share is not None and share < MIN_CJK_SHARE:
            raise LLMFault("not_chinese", "大模型的回复不是中文。")
        self.judged, out, self.held = True, self.held, []
        return out


def _split(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _cut_off(rest: str) -> bool:
    """Return whether the text after the last sentence end stops mid-sentence (a word, a comma)."""
    tail = _CITE.sub("", rest).rstrip()
    return bool(tail) and bool(_CUT_TAIL.match(tail[-1]))
