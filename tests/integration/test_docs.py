"""The docs: they build strictly, and every console example prints what the page says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.docs_examples import examples, matches, normalise, pages_with_examples, run_page


def test_docs_build_strictly(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    reference = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "dcops site check" in reference


def test_every_command_group_has_a_checked_example_in_the_docs() -> None:
    from dcops.cli.reference import command_paths

    shown = " ".join(ex.command for page in pages_with_examples() for ex in examples(page))
    groups = sorted({path[0] for path in command_paths() if path})
    missing = [group for group in groups if f"dcops {group}" not in shown]
    assert not missing, f"command groups without a console example in docs/: {missing}"


@pytest.mark.parametrize("page", pages_with_examples(), ids=lambda p: str(p.relative_to(REPO)))
def test_console_examples_print_what_the_page_shows(page: Path, tmp_path: Path) -> None:
    for example, output, code in run_page(page, tmp_path / "site"):
        where = f"{example.page}:{example.line}: $ {example.command}"
        assert code == example.exit_code, f"{where}\nexit {code}\n{output}"
        assert matches(example.expected, normalise(output)), (
            f"{where}\n--- page shows\n"
            + "\n".join(example.expected)
            + "\n--- command printed\n"
            + output
        )
