"""Collect English sentences for the TTS voices from text already on the machine.

Sources: man pages (/usr/share/man/man*/*.gz, roff stripped), licences
(/usr/share/common-licenses), package copyright files and READMEs (/usr/share/doc), and
/usr/share/dict/words when present (word lists become short pseudo-sentences). Sentences are
cleaned to plain ASCII of 4..25 words, deduplicated and shuffled with a fixed seed.

Usage:
    python -m recipes.voicebank.local.sentences --out data/voicebank/text/sentences.txt
    python -m recipes.voicebank.local.sentences --out s.txt --max-sentences 2000 --seed 1
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from recipes.voicebank.local.common import log, write_lines_atomic

MIN_WORDS = 4
MAX_WORDS = 25
_ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes \fB \f(CW \f[B]
    (re.compile(r"\\s[+-]?\d+"), ""),  # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # string registers
    (re.compile(r"\\\((em|en|hy)"), "-"),
    (re.compile(r"\\\((lq|rq|oq|cq|dq)"), '"'),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),  # other special characters
    (re.compile(r"\\[-e]"), "-"),
    (re.compile(r"\\[&|^/,%:]"), ""),  # zero-width escapes
    (re.compile(r"\\ "), " "),
    (re.compile(r"\\."), ""),
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_ALLOWED = re.compile(r"^[A-Za-z0-9 ,.;:!?'\"()-]+$")
_WORD = re.compile(r"[A-Za-z]+")


def strip_roff(text: str) -> str:
    """Plain prose from a roff (man page) source: requests dropped, escapes removed.

    Lines starting with ``.`` or ``'`` are requests (``.TH``, ``.SH``, ``.B word``); the text
    arguments of font requests (``.B``, ``.I``, ``.BR``...) are kept because they are often part
    of a sentence. Comment lines (``.\\"``) and tables or code blocks are not kept.
    """
    out: list[str] = []
    in_block = False
    for line in text.splitlines():
        if line.startswith((".nf", ".EX", ".TS", ".de", ".ig")):
            in_block = True
            continue
        if line.startswith((".fi", ".EE", ".TE", "..")):
            in_block = False
            continue
        if in_block or line.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if line.startswith((".", "'")):
            request, _, rest = line[1:].partition(" ")
            if request in {"B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB"}:
                line = rest.replace('"', "")
            else:
                out.append("")  # a paragraph break: sentences do not run across requests
                continue
        for pattern, replacement in _ROFF_ESCAPES:
            line = pattern.sub(replacement, line)
        out.append(line)
    return "\n".join(out)


def split_sentences(text: str) -> list[str]:
    """Sentences of running text: paragraphs (blank lines) first, then sentence-final punctuation."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        if flat:
            sentences.extend(part.strip() for part in _SENTENCE_END.split(flat) if part.strip())
    return sentences


def clean_sentence(sentence: str) -> str | None:
    """A sentence fit to be read aloud, or None.

    Keeps plain ASCII prose of MIN_WORDS..MAX_WORDS words that ends like a sentence; drops
    option lists, paths, URLs, e-mail addresses, code and all-capitals lines.
    """
    sentence = " ".join(sentence.replace("``", '"').replace("''", '"').split())
    sentence = sentence.strip(" -*#>")
    if not sentence or not _ALLOWED.match(sentence):
        return None
    if not sentence[0].isupper() or sentence[-1] not in ".!?":
        return None
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return None
    alpha_words = [w for w in words if _WORD.fullmatch(w.strip(",.;:!?'\"()"))]
    if len(alpha_words) < 0.8 * len(words):  # mostly words, not option names or numbers
        return None
    if sentence.upper() == sentence:
        return None
    if any(len(w) > 20 for w in words) or "--" in sentence or " -" in sentence or " ." in sentence:
        return None
    if sentence.count('"') % 2 or sentence.count("(") != sentence.count(")"):
        return None
    return sentence


def word_list_sentences(words: Iterable[str], seed: int, count: int) -> list[str]:
    """Pseudo-sentences of 5..9 random dictionary words (for /usr/share/dict/words)."""
    pool = sorted({w for w in (w.strip() for w in words) if w.isascii() and w.isalpha()})
    if len(pool) < 50:
        return []
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chosen = rng.sample(pool, rng.randint(5, 9))
        out.append(" ".join(chosen).capitalize() + ".")
    return out


def select_sentences(candidates: Iterable[str], seed: int, max_sentences: int | None) -> list[str]:
    """Clean, deduplicate (case-insensitively) and shuffle with ``seed``; first ``max_sentences``."""
    # sorted before deduplication, so the result does not depend on the order files were read
    cleaned = sorted({c for c in (clean_sentence(s) for s in candidates) if c is not None})
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in cleaned:
        if sentence.lower() not in seen:
            seen.add(sentence.lower())
            kept.append(sentence)
    random.Random(seed).shuffle(kept)
    return kept if max_sentences is None else kept[:max_sentences]


def _read_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            return handle.read(400_000)
    except (OSError, EOFError):
        return ""


def candidate_sentences(
    root: Path = Path("/usr/share"), max_files: int | None = None
) -> Iterator[str]:
    """Every raw sentence in the man pages, licences and package docs under ``root``.

    ``max_files`` reads only the first that many files of each kind (smoke runs).
    """
    for path in sorted(root.glob("man/man[1-8]/*"))[:max_files]:
        yield from split_sentences(strip_roff(_read_text(path)))
    for path in sorted((root / "common-licenses").glob("*"))[:max_files]:
        if path.is_file():
            yield from split_sentences(_read_text(path))
    for pattern in ("doc/*/copyright", "doc/*/README*", "doc/*/NEWS*"):
        for path in sorted(root.glob(pattern))[:max_files]:
            if path.is_file():
                yield from split_sentences(_read_text(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-sentences", type=int, default=None)
    parser.add_argument("--root", type=Path, default=Path("/usr/share"))
    parser.add_argument("--max-files", type=int, default=None, help="files per kind (smoke runs)")
    args = parser.parse_args(argv)
    candidates = list(candidate_sentences(args.root, args.max_files))
    dictionary = args.root / "dict" / "words"
    if dictionary.is_file():
        candidates += word_list_sentences(_read_text(dictionary).split(), args.seed, 2000)
    sentences = select_sentences(candidates, args.seed, args.max_sentences)
    if not sentences:
        log(f"no sentences found under {args.root}")
        return 1
    write_lines_atomic(args.out, sentences)
    log(f"{len(sentences)} sentences from {len(candidates)} candidates -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
