"""README's Python API example runs as written (once the demo model ships in resources/)."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


DEMO = os.path.join(ROOT, "resources", "demo")


@pytest.mark.skipif(not (os.path.isfile(os.path.join(DEMO, "graph", "graph.json"))
                         and os.path.isfile(os.path.join(DEMO, "model", "config.yaml"))
                         and os.path.isfile(os.path.join(DEMO, "test", "text"))),
                    reason="the demo model, graph and test audio are not all in resources/demo")
def test_readme_python_api_example_runs(monkeypatch, capsys):
    pytest.importorskip("funasr")
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    example = re.search(r"## Python API.*?```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(ROOT)
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()[-3:]  # (funasr prints notices first)
    assert "'reached_final': True" in printed[0]
    assert re.match(r"%WER \d+\.\d\d \[ \d+ / \d+, \d+ ins, \d+ del, \d+ sub \]", printed[2])
