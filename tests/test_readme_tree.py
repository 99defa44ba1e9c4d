"""README's "Where things are" table names every top-level package and every module and
package of asr/ (the table lists asr by its parts), and only paths that exist."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def table_paths():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, re.M)]


def test_where_things_are_matches_the_tree():
    paths = table_paths()
    assert paths, "no table"
    for path in paths:
        assert os.path.exists(os.path.join(ROOT, path)), f"README names {path}, which is gone"
    listed = {p.rstrip("/") for p in paths}
    top = {name for name in os.listdir(ROOT) if os.path.isfile(
        os.path.join(ROOT, name, "__init__.py")) and name != "asr"} | {"tests", "tools",
                                                                      "resources"}
    asr = {f"asr/{name}" for name in os.listdir(os.path.join(ROOT, "asr"))
           if os.path.isfile(os.path.join(ROOT, "asr", name, "__init__.py"))
           or (name.endswith(".py") and name != "__init__.py")}
    missing = sorted((top | asr) - listed)
    assert not missing, f"README's table lacks {missing}"
