"""Cross-references stay true: every notebook named in the notebooks, the READMEs and docs/ exists, and every
"see section X" (`section "X"`, `under "X"`, `see "X"`, `see Benchmarks)`) names a heading of the same document."""
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB_REF = re.compile(r'(?<![\w.-])(?:nbs/)?(\d{2}[a-z]?_[a-z][a-z0-9_]*|index)(?=\.ipynb\b)|(?<![\w./-])(\d{2}[a-z]?_[a-z][a-z0-9_]*)\b')
SECTION_REF = re.compile(r'\b(?:sections?|under|see)\s+["“]([^"”\n]{2,80})["”]|\bsee ([A-Z][a-z]+(?: [a-z]+){0,3})(?=[);.])')


def documents(root: Path = ROOT) -> dict[str, str]:
    "Text of every notebook (all cell sources), README and docs/ markdown file, by path."
    docs = {str(p.relative_to(root)): '\n'.join(''.join(c['source']) for c in json.loads(p.read_text())['cells'])
            for p in sorted((root / 'nbs').glob('*.ipynb'))}
    for p in [root / 'README.md', root / 'data' / 'README.md', *sorted((root / 'docs').rglob('*.md'))]:
        if p.exists(): docs[str(p.relative_to(root))] = p.read_text()
    return docs


def headings(text: str) -> list[str]:
    "Markdown headings of a document, without their #s (code blocks left out)."
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    return [m[1].strip() for m in re.finditer(r'^#{1,6}\s+(.+)$', text, flags=re.M)]


def bad_refs(docs: dict[str, str], notebooks: set[str]) -> list[str]:
    "Every reference to a notebook that does not exist and every section reference without a heading, one line each."
    bad = []
    for name, text in docs.items():
        for m in NB_REF.finditer(text):
            nb = m[1] or m[2]
            if nb not in notebooks: bad.append(f"{name}: notebook {nb!r} does not exist")
        heads = [h.lower() for h in headings(text)]
        for m in SECTION_REF.finditer(text):
            ref = (m[1] or m[2]).strip().lower()
            if not any(h.startswith(ref) for h in heads): bad.append(f"{name}: no heading {ref!r} for {m[0]!r}")
    return bad


def test_every_cross_reference_resolves():
    notebooks = {p.stem for p in (ROOT / 'nbs').glob('*.ipynb')}
    assert bad_refs(documents(), notebooks) == []


def test_it_finds_planted_bad_references():
    notebooks = {p.stem for p in (ROOT / 'nbs').glob('*.ipynb')}
    docs = {'planted.md': '# Title\n\n## Benchmarks\n\nSee `12_cli`, `nbs/14_study.ipynb` and `nbs/index.ipynb`; section "Title" and '
                          'see Benchmarks). But `12_clii`, nbs/99_gone.ipynb, section "Nowhere" and see Nothing).'}
    assert bad_refs(docs, notebooks) == ["planted.md: notebook '12_clii' does not exist", "planted.md: notebook '99_gone' does not exist",
                                         "planted.md: no heading 'nowhere' for 'section \"Nowhere\"'", "planted.md: no heading 'nothing' for 'see Nothing'"]


def test_it_reads_every_kind_of_document():
    docs = documents()
    assert {'README.md', 'data/README.md', 'nbs/index.ipynb', 'nbs/15_datasets.ipynb'} <= set(docs)
    assert 'Benchmarks' in headings(docs['README.md']) and 'The paired ablation' in headings(docs['nbs/14_study.ipynb'])
