"""Masking: 1 MiB of text with 20 declared secrets, against a literal replace of the same secrets.

``redact_text`` finds every spelling of each secret (raw, percent-, JSON-, repr-encoded)
and the credential patterns (``token=``, userinfo, ``Bearer``); the baseline is one compiled
pattern of the raw secrets only (``re.escape`` joined by ``|``), the least a single-pass
masking must do. Texts: prose
with separators, and four texts without any (one letter repeated, ``a.a.``, ``k=k=``,
``"k": "``) that used to take time quadratic in their length. The last line shows the
cost per MiB at 64 KiB and at 1 MiB: equal when masking is linear. Goal: every text of
1 MiB under 1 s, and the 64 KiB and 1 MiB costs per MiB within 2x of each other.

Run: ``.venv/bin/python benchmarks/bench_redact.py``
"""

from __future__ import annotations

import re
from collections.abc import Callable

from timing import best

from toolkit._engine.redact import redact_text

MIB = 1 << 20
SECRETS = [f"secret-{i:02d}-p@ss wörd!-{'x' * i}" for i in range(20)]
REPEATS = 3


def _texts(size: int) -> dict[str, str]:
    prose = "GET https://api.example.com/v1/items?page=2 returned 503 Service Unavailable; "
    return {
        "prose": (prose * (size // len(prose) + 1))[:size],
        "one letter": "a" * size,
        "a.a.a.": "a." * (size // 2),
        "k=k=k=": "k=" * (size // 2),
        '"k": "': ('"k": "' * (size // 6 + 1))[:size],
    }


def _best(fn: Callable[[], object]) -> float:
    return best(fn, REPEATS)


_RAW = re.compile("|".join(re.escape(s) for s in sorted(SECRETS, key=len, reverse=True)))


def _literal(text: str) -> str:
    return _RAW.sub("***", text)


def main() -> None:
    print(f"1 MiB texts, {len(SECRETS)} secrets; baseline: one pattern of the raw secrets")
    worst = 0.0
    for name, text in _texts(MIB).items():
        ours = _best(lambda text=text: redact_text(text, SECRETS))  # type: ignore[misc]
        base = _best(lambda text=text: _literal(text))  # type: ignore[misc]
        worst = max(worst, ours)
        print(
            f"{name:12} redact_text {ours * 1000:8.1f} ms   baseline {base * 1000:7.1f} ms"
            f"   {ours / base:7.1f}x"
        )
    small = max(_best(lambda t=t: redact_text(t, SECRETS)) for t in _texts(MIB // 16).values())  # type: ignore[misc]
    print(
        f"slowest text: {worst * 1000:.1f} ms per MiB at 1 MiB, "
        f"{small * 16 * 1000:.1f} ms per MiB at 64 KiB ({worst / (small * 16):.2f}x)"
    )


if __name__ == "__main__":
    main()
