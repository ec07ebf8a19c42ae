"""Write README.md from the markdown cells of nbs/index.ipynb (quarto, and so `nbdev-readme`, is not available here).

    python tools/sync_readme.py          # rewrite README.md
    python tools/sync_readme.py --check  # exit 1 if README.md is out of step with nbs/index.ipynb
"""
from __future__ import annotations
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_text(index: Path) -> str:
    "The markdown cells of a notebook, one after the other, a blank line apart (code cells and their figures are left out)."
    cells = json.loads(index.read_text())['cells']
    return '\n\n'.join(''.join(c['source']).strip('\n') for c in cells if c['cell_type'] == 'markdown') + '\n'


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='only compare; exit 1 when they differ')
    p.add_argument('--index', default=str(ROOT / 'nbs' / 'index.ipynb'))
    p.add_argument('--readme', default=str(ROOT / 'README.md'))
    a = p.parse_args(argv)
    text, readme = readme_text(Path(a.index)), Path(a.readme)
    if not a.check: readme.write_text(text); return 0
    if readme.exists() and readme.read_text() == text: return 0
    print(f"{readme} is out of step with {a.index}: run python tools/sync_readme.py", file=sys.stderr)
    return 1


if __name__ == '__main__': sys.exit(main())
