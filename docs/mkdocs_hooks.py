"""mkdocs hooks for the tour: the chapters link tinydl's source as ``../../path`` (right when read in
the repository); in the built site those links point to copies of the files under ``source/``."""
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"\]\(\.\./\.\./([^)#\s]+)")


def _referenced(config):
    docs = Path(config["docs_dir"])
    return sorted({m for md in docs.glob("*.md") for m in _LINK.findall(md.read_text())})


def on_files(files, config):
    for rel in _referenced(config):
        files.append(File.generated(config, f"source/{rel}.txt", content=(ROOT / rel).read_text()))
    return files


def on_page_markdown(markdown, page, config, files):
    return _LINK.sub(lambda m: f"](source/{m.group(1)}.txt", markdown)
