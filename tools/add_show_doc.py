#!/usr/bin/env python
"""Put a `show_doc(name)` cell right after each exported definition of a public function or class, as fastai's notebooks do.

Usage, from the repository root:

    python tools/add_show_doc.py                          # every notebook in nbs/ that exports a module
    python tools/add_show_doc.py nbs/13_plotting.ipynb    # only these
    python tools/add_show_doc.py --check                  # change nothing; list what is missing, exit 1 if anything is

The names are the ones nbdev's own `add_show_docs` processor documents on the website: functions and classes defined at
the top level of a `#| export` (or `exports`) cell, not starting with `_`, an `@patch`ed method as `Class.method`
(`nbdev.showdoc.showdoc_nm`). Each new cell goes straight after its definition's cell, in definition order, and a
hidden `from nbdev.showdoc import show_doc` cell goes after the `#| default_exp` cell once per notebook. It is
idempotent: a name already followed by its `show_doc` cell is left alone, so it can run again after any edit. The new
cells have no outputs: run `tools/run_notebooks.py` on the notebooks it changed, then commit them.
"""
from __future__ import annotations
import argparse, ast, json, re, secrets, sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPORT = 'from nbdev.showdoc import show_doc'
SHOW = re.compile(r'^show_doc\(([\w.]+)\)\s*$')
DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)', re.M)


def src(cell: dict) -> str: return ''.join(cell['source'])


def public_defs(cell: dict) -> list[str]:
    "Names `show_doc` should show for a code cell: its public top-level functions and classes, if it is an export cell."
    from nbdev.showdoc import showdoc_nm
    s, dirs = src(cell), set(DIRECTIVE.findall(src(cell)))
    if cell['cell_type'] != 'code' or not dirs & {'export', 'exports'} or 'hide' in dirs: return []
    code = '\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in s.splitlines())   # magics are not Python
    defs = [n for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return [showdoc_nm(n) for n in defs if not n.name.startswith('_')]


def shown(cell: dict) -> str | None:
    "The name a cell that is only `show_doc(name)` shows, else None."
    m = SHOW.match(src(cell).strip()) if cell['cell_type'] == 'code' else None
    return m[1] if m else None


def missing(nb: dict) -> list[tuple[int, str]]:
    "`(cell index, name)` of each public definition not followed by its `show_doc` cell."
    cells, out = nb['cells'], []
    for i, c in enumerate(cells):
        after, k = set(), i + 1
        while k < len(cells) and (n := shown(cells[k])): after.add(n); k += 1
        out += [(i, n) for n in public_defs(c) if n not in after]
    return out


def new_cell(text: str) -> dict:
    return dict(cell_type='code', execution_count=None, id=secrets.token_hex(4), metadata={}, outputs=[], source=text.splitlines(True))


def add_show_docs(nb: dict) -> int:
    "Insert the missing `show_doc` cells (and the import, once) into `nb`; the number of cells added."
    todo, cells = missing(nb), nb['cells']
    for i in sorted({i for i, _ in todo}, reverse=True):                      # from the end, so indices stay valid
        k = i + 1
        while k < len(cells) and shown(cells[k]): k += 1                      # after the show_doc cells already there
        cells[k:k] = [new_cell(f'show_doc({n})') for j, n in todo if j == i]
    has_import = any(IMPORT in src(c) for c in cells if c['cell_type'] == 'code')
    if (todo or any(shown(c) for c in cells)) and not has_import:
        at = next((i + 1 for i, c in enumerate(cells) if 'default_exp' in DIRECTIVE.findall(src(c))), 0)
        cells.insert(at, new_cell(f'#| hide\n{IMPORT}'))
        return len(todo) + 1
    return len(todo)


def notebooks(names) -> list[Path]:
    if names: return [Path(n) for n in names]
    return sorted(p for p in (REPO / 'nbs').glob('*.ipynb') if '"#| default_exp' in p.read_text(encoding='utf-8'))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to change (default: every nbs/*.ipynb with #| default_exp)')
    ap.add_argument('--check', action='store_true', help='change nothing; list the missing show_doc cells, exit 1 if any')
    a = ap.parse_args(argv)
    bad = 0
    for p in notebooks(a.notebooks):
        if not p.is_file(): print(f"add_show_doc: error: no notebook {p}", file=sys.stderr); return 2
        nb = json.loads(p.read_text(encoding='utf-8'))
        if a.check:
            for i, n in missing(nb): print(f"{p}: cell {i} defines {n} without a show_doc({n}) cell after it"); bad += 1
            continue
        if n := add_show_docs(nb):
            p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
            print(f"{p}: {n} cells added")
    return 1 if bad else 0


if __name__ == '__main__': sys.exit(main())
