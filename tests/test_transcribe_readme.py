"""README's Python API example runs as written (once the demo model ships in resources/)."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


DEMO = os.path.join(ROOT, "resources", "demo")


def test_readme_python_api_example_runs(monkeypatch, capsys):
    import funasr  # noqa: F401
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    example = re.search(r"## Python API.*?```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(ROOT)
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()[-3:]  # (funasr prints notices first)
    assert re.search(r"\[\('\w+', \(\d+\.\d+, \d+\.\d+\)\).*\] True$", printed[0])
    assert re.match(r"%WER \d+\.\d\d \[ \d+ / \d+, \d+ ins, \d+ del, \d+ sub \]", printed[2])
