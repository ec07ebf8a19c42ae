"Every public function and class a notebook exports is followed by its `show_doc` cell (`tools/add_show_doc.py` adds them)."
import importlib.util, json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('add_show_doc', ROOT/'tools'/'add_show_doc.py')
asd = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(asd)


@pytest.mark.parametrize('nb', asd.notebooks([]), ids=lambda p: p.name)
def test_every_public_name_has_show_doc(nb):
    gaps = [n for _, n in asd.missing(json.loads(nb.read_text(encoding='utf-8')))]
    assert not gaps, f"no show_doc cell after {gaps}: run `python tools/add_show_doc.py {nb.relative_to(ROOT)}`"


def _cell(text, kind='code'): return {'cell_type': kind, 'id': '0000', 'metadata': {}, 'source': text, **({'outputs': [], 'execution_count': None} if kind == 'code' else {})}


def test_add_show_doc_inserts_after_each_definition_once(tmp_path):
    nb = {'cells': [_cell('#| default_exp demo'), _cell('#| export\ndef f(): pass\nclass A: pass\ndef _private(): pass'),
                    _cell('A sentence.', 'markdown'), _cell('#| export\n@patch\ndef g(self: A): pass'),
                    _cell('#| hide\ndef h(): pass'), _cell('def k(): pass')],               # not exported: no show_doc
          'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    p = tmp_path/'demo.ipynb'
    p.write_text(json.dumps(nb))
    assert asd.main(['--check', str(p)]) == 1
    assert asd.main([str(p)]) == 0
    srcs = [''.join(c['source']) for c in json.loads(p.read_text())['cells']]
    assert srcs == ['#| default_exp demo', '#| hide\nfrom nbdev.showdoc import show_doc', '#| export\ndef f(): pass\nclass A: pass\ndef _private(): pass',
                    'show_doc(f)', 'show_doc(A)', 'A sentence.', '#| export\n@patch\ndef g(self: A): pass', 'show_doc(A.g)',
                    '#| hide\ndef h(): pass', 'def k(): pass']
    before = p.read_text()
    assert asd.main([str(p)]) == 0 and p.read_text() == before                  # idempotent
    assert asd.main(['--check', str(p)]) == 0
