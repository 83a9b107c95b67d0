"""The documentation stays true of the code, cheaply: every relative link in README.md and docs/ (and
the benchmark and study write-ups) reaches a file and, with a #fragment, a heading there; the
README's command table names exactly the commands `imr --help` lists; every `--flag` written after
`imr <command>` in the docs is one that command takes; every config key docs/training.md names
exists, and every key a config can have is named there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from training.imr import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "benchmarks" / "README.md",
    *sorted((ROOT / "research").glob("*/README.md")),
]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def without_code_blocks(text: str) -> str:
    """The text outside fenced code blocks, line for line (a fenced line is blanked)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else line)
    return "\n".join(lines)


def anchors(page: Path) -> set[str]:
    """The #fragments GitHub gives the page's headings: lower case, punctuation other than `-` and
    `_` dropped, spaces to `-`, and `-1`, `-2` ... after a repeated slug."""
    found: dict[str, int] = {}
    out = set()
    for line in without_code_blocks(page.read_text()).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
        n = found.get(slug, 0)
        out.add(slug if n == 0 else f"{slug}-{n}")
        found[slug] = n + 1
    return out


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", without_code_blocks(page.read_text()))  # links inside code spans are not links
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_a_heading(page):
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading #{fragment} in {dest.relative_to(ROOT)}")
    assert broken == [], f"{page.relative_to(ROOT)}: {broken}"


def test_the_pages_are_there_and_link_each_other():
    docs = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert len(docs) >= 5, docs
    readme_links = {t.partition("#")[0] for t in relative_links(ROOT / "README.md")}
    assert {f"docs/{name}" for name in docs} <= readme_links, "the README links every docs page"
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


@pytest.fixture
def commands(capsys) -> set[str]:
    usage = re.search(r"\{([a-z,]+)\}", help_text(capsys))
    return set(usage.group(1).split(","))


def command_table(readme: str) -> set[str]:
    """The commands in the first column of the README's command table."""
    section = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\|\s*`imr ([a-z]+)", section, re.MULTILINE))


def test_the_readme_command_table_lists_exactly_the_imr_commands(commands):
    listed = command_table((ROOT / "README.md").read_text())
    assert listed == commands, f"in the table but not in imr --help: {listed - commands}; missing: {commands - listed}"


def test_the_quick_start_is_the_two_make_targets():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.DOTALL).group(1)
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.MULTILINE) and re.search(r"^test:", makefile, re.MULTILINE)


def documented_invocations() -> list[tuple[str, str, str]]:
    """(page, command, the text after it) for each `imr <command> ...` written in the docs, in code
    spans and code blocks, up to the end of the span or line."""
    found = []
    for page in PAGES:
        text = page.read_text()
        snippets = re.findall(r"`([^`\n]+)`", text) + text.splitlines()
        for snippet in snippets:
            for match in re.finditer(r"(?:^|[\s/])imr ([a-z]+)((?: [^`|]*)?)", snippet):
                found.append((str(page.relative_to(ROOT)), match.group(1), match.group(2)))
    return found


def test_every_documented_flag_is_one_the_command_takes(capsys, commands):
    invocations = documented_invocations()
    assert len(invocations) > 20
    options = {command: set(re.findall(r"--[a-z][a-z-]*", help_text(capsys, command))) for command in commands}
    wrong = sorted(
        f"{page}: imr {command} {flag}"
        for page, command, rest in invocations
        if command in options
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest.split(" imr ")[0])
        if flag not in options[command]
    )
    unknown = sorted({f"{page}: imr {command}" for page, command, _ in invocations if command not in options})
    assert wrong == [] and unknown == [], (wrong, unknown)


def config_keys() -> set[str]:
    """Every key a run's config can have: the common sections' and each family's `model:` section,
    nested sections walked (a section that may be null, like model.treatment_tfidf, counts as one key)."""
    from pydantic import BaseModel

    from training.config import DataConfig, EvaluationConfig, MlflowConfig
    from training.families.registry import FAMILIES

    def walk(model: type[BaseModel], prefix: str) -> set[str]:
        keys = set()
        for name, field in model.model_fields.items():
            inner = field.annotation
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                keys |= walk(inner, f"{prefix}{name}.")
            else:
                keys.add(f"{prefix}{name}")
        return keys

    keys = {"seed"}
    for section, model in (("data", DataConfig), ("evaluation", EvaluationConfig), ("mlflow", MlflowConfig)):
        keys |= walk(model, f"{section}.")
    for family in FAMILIES.values():
        keys |= walk(family.config, "model.")
    return keys


def test_every_config_key_is_documented_and_every_documented_key_exists():
    documented = set(
        re.findall(
            r"^\| `((?:seed|data|model|evaluation|mlflow)(?:\.[A-Za-z0-9_]+)*)` \|",
            (ROOT / "docs" / "training.md").read_text(),
            re.MULTILINE,
        )
    )
    keys = config_keys()
    assert documented - keys == set(), f"documented but not a config key: {sorted(documented - keys)}"
    assert keys - documented == set(), f"config keys docs/training.md does not list: {sorted(keys - documented)}"
