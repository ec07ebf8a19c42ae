"The occlusion benchmark from outside: deterministic bytes, atomic builds, scoring; the study's committed results files."
import hashlib, json
from pathlib import Path
import numpy as np
import pytest
from mss_pose import occlusion
from mss_pose.occlusion import build_occlusion_set, occlusion_plan, occlusion_pck
from mss_pose.readers import read_lsp

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / 'mss_pose' / 'sample'


def _bytes(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file() and p.name != 'joints.mat'}   # .mat headers carry a date


def test_same_seed_same_bytes(tmp_path):
    recs = read_lsp(SAMPLE)[:12]
    a, b, c = (build_occlusion_set(recs, tmp_path / n, seed=s) for n, s in (('a', 3), ('b', 3), ('c', 4)))
    assert _bytes(a) == _bytes(b) and len(_bytes(a)) == 13          # 12 images and occlusion.json
    assert _bytes(a) != _bytes(c)
    back = read_lsp(a)
    assert [r.image.stem for r in back] == [r.image.stem for r in recs]
    np.testing.assert_allclose(np.stack([r.kps for r in back]), np.stack([r.kps for r in recs]), atol=1e-4)


def test_plan_hides_its_target_with_another_image():
    recs = read_lsp(SAMPLE)
    plan = occlusion_plan(recs, seed=0)
    assert plan == occlusion_plan(recs, seed=0)
    for i, o in enumerate(plan):
        assert o['source'] != i and o['target'] in o['occluded'] and recs[i].vis[o['target']] == 2


def test_interrupted_build_leaves_no_folder(tmp_path, monkeypatch):
    recs = read_lsp(SAMPLE)[:6]
    calls = []
    def fail_on_fourth(*a):
        calls.append(1)
        if len(calls) == 4: raise KeyboardInterrupt
    monkeypatch.setattr(occlusion, '_write_occluded', fail_on_fourth)
    with pytest.raises(KeyboardInterrupt): build_occlusion_set(recs, tmp_path / 'occ', seed=0)
    assert list(tmp_path.iterdir()) == []                            # neither the folder nor a partial one


def test_needs_two_images():
    with pytest.raises(ValueError, match='at least 2 records'): occlusion_plan(read_lsp(SAMPLE)[:1])


def test_scoring_splits_hidden_and_other_joints():
    recs = read_lsp(SAMPLE)
    plan = occlusion_plan(recs, seed=0)
    kps = np.stack([r.kps for r in recs]).copy()
    for i, o in enumerate(plan): kps[i, o['occluded']] += 1000      # every hidden joint wrong, the rest right
    res = occlusion_pck(recs, kps, plan)
    assert res['pck_occluded'] == 0 and res['pck_unoccluded'] == 1 and res['n_occluded'] > 0


def _check(entry: dict, schema: dict):
    for k, t in schema.items():
        assert k in entry, f"missing {k!r} in {entry}"
        assert isinstance(entry[k], t) and not (t is int and isinstance(entry[k], bool)), f"{k!r} is {entry[k]!r}, not {t}"


def test_ablation_results_schema():
    r = json.loads((ROOT / 'docs' / 'ablation' / 'seeds' / 'results.json').read_text())
    assert isinstance(r['protocol'], dict) and r['runs']
    for e in r['runs']:
        _check(e, dict(variant=str, seed=int, pck_eval=float, pck_crops=float, epochs=int, images_per_epoch=int, cpu=str, images_per_s=float))
        assert 0 <= e['pck_eval'] <= 1 and 0 <= e['pck_crops'] <= 1
        assert (ROOT / 'docs' / 'ablation' / 'seeds' / f"{e['variant']}-s{e['seed']}.csv").is_file()   # its history
    assert len({(e['variant'], e['seed']) for e in r['runs']}) == len(r['runs'])


def check_occlusion_results(r: dict):
    assert isinstance(r['protocol'], dict) and r['runs']
    for e in r['runs']:
        _check(e, dict(seed=int, masking=bool, pck_occluded=float, pck_unoccluded=float, pck_clean=float))
        assert all(0 <= e[k] <= 1 for k in ('pck_occluded', 'pck_unoccluded', 'pck_clean'))
    assert len({(e['seed'], e['masking']) for e in r['runs']}) == len(r['runs'])


def test_occlusion_results_schema():
    f = ROOT / 'docs' / 'occlusion' / 'results.json'
    if f.exists(): check_occlusion_results(json.loads(f.read_text()))   # the study's fine-tunes, once one has finished
    good = dict(seed=0, masking=True, pck_occluded=0.3, pck_unoccluded=0.6, pck_clean=0.62)
    check_occlusion_results(dict(protocol={}, runs=[good, dict(good, masking=False)]))
    for bad in (dict(good, masking=1), dict(good, pck_clean=1.2), {k: v for k, v in good.items() if k != 'seed'}):
        with pytest.raises(AssertionError): check_occlusion_results(dict(protocol={}, runs=[bad]))
    with pytest.raises(AssertionError): check_occlusion_results(dict(protocol={}, runs=[good, good]))   # one entry per (seed, masking)
