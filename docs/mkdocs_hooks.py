"""mkdocs hooks for the tour: the chapters link files of the repository outside the tour with
relative links (``../../tinydl/core/autograd.py``: right when read in the repository); in the
built site those links point to copies of the files under ``source/``."""
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"\]\(((?:\.\./)+[^)#\s]+)")


def _outside(config, link):
    """The repository path of a link that leaves the docs folder, else None."""
    target = (Path(config["docs_dir"]) / link).resolve()
    docs = Path(config["docs_dir"]).resolve()
    if docs in target.parents or not target.is_file():
        return None
    return target.relative_to(ROOT).as_posix()


def on_files(files, config):
    docs = Path(config["docs_dir"])
    seen = set()
    for md in docs.glob("*.md"):
        for link in _LINK.findall(md.read_text()):
            rel = _outside(config, link)
            if rel is not None and rel not in seen:
                seen.add(rel)
                files.append(File.generated(config, f"source/{rel}.txt", content=(ROOT / rel).read_text()))
    return files


def on_page_markdown(markdown, page, config, files):
    def swap(m):
        rel = _outside(config, m.group(1))
        return m.group(0) if rel is None else f"](source/{rel}.txt"
    return _LINK.sub(swap, markdown)
