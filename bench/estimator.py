"""How far the admission token estimate (four characters a token) is from real token counts.

Run from the repository root:  python -m bench.estimator

Real counts come from OpenAI's o200k_base and cl100k_base vocabularies (the bpe-openai package
ships them; nothing is downloaded). Samples: this repository's prose, code and JSON, plus
German and Chinese text, cut into prompt-sized pieces.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import bpe_openai

from shared.limits import CHARS_PER_TOKEN, NON_ASCII_TOKENS, estimate_text_tokens

ROOT = Path(__file__).resolve().parents[1]
GERMAN = (
    "Die Schnittstelle nimmt Anfragen entgegen, prüft sie und reiht sie in die Warteschlange ein. "
    "Ein Arbeiter ruft den Anbieter auf und schickt jedes Token über Redis zurück zum Client. "
)
CHINESE = (
    "网关接收请求\uff0c验证后放入队列。工作进程调用模型提供商\uff0c"
    "并通过 Redis 将每个令牌流式返回给客户端。"
)


def samples() -> dict[str, list[str]]:
    def pieces(text: str, size: int = 1200) -> list[str]:
        return [text[i : i + size] for i in range(0, len(text) - size, size)][:40]

    prose = (ROOT / "README.md").read_text() + (ROOT / "deploy" / "README.md").read_text()
    code = "".join(p.read_text() for p in sorted((ROOT / "workers").rglob("*.py")))
    data = (ROOT / "deploy" / "config.example.yaml").read_text() * 3
    return {
        "english prose": pieces(prose),
        "python code": pieces(code),
        "yaml config": pieces(data),
        "german prose": pieces(GERMAN * 40),
        "chinese prose": pieces(CHINESE * 60, 400),
    }


def main() -> None:
    print(
        f"Estimate = ASCII characters / {CHARS_PER_TOKEN} + other characters x "
        f"{NON_ASCII_TOKENS} + 1, against real prompt token counts"
    )
    print(
        f"{'sample':>15} {'n':>4} {'encoding':>11} {'est/real p50':>13} {'|err| p50':>10} "
        f"{'|err| p90':>10}"
    )
    for encoding_name in ("o200k_base", "cl100k_base"):
        encoding = bpe_openai.get_encoding(encoding_name)
        for name, texts in samples().items():
            ratios = [estimate_text_tokens(t) / len(encoding.encode(t)) for t in texts]
            errors = sorted(abs(r - 1) for r in ratios)
            p90 = errors[min(len(errors) - 1, int(0.9 * len(errors)))]
            print(
                f"{name:>15} {len(texts):>4} {encoding_name:>11} "
                f"{statistics.median(ratios):>13.2f} {statistics.median(errors):>10.0%} "
                f"{p90:>10.0%}"
            )


if __name__ == "__main__":
    main()
