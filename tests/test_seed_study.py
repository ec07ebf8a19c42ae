"The seed study's driver (benchmarks/seed_study.py): its records rerun as recorded, and its swap counts."
import importlib.util, json
from pathlib import Path
import numpy as np
from mss_pose.readers import read_lsp
from mss_pose.skeleton import get_joint_set

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('seed_study', ROOT / 'benchmarks' / 'seed_study.py')
seed_study = importlib.util.module_from_spec(spec); spec.loader.exec_module(seed_study)


def test_every_recorded_command_is_the_one_that_reruns_it(monkeypatch):
    monkeypatch.setattr(seed_study, 'DATA', '../shared/data/lspet')   # as recorded, whatever MSS_DATA says here
    for f, name in ((seed_study.OUT / 'results.json', lambda e: f"{e['variant']}-s{e['seed']}"),
                    (seed_study.OCC_OUT / 'results.json', lambda e: f"ft-{'mask' if e['masking'] else 'plain'}-s{e['seed']}")):
        for e in json.loads(f.read_text())['runs']:
            assert e['command'] == ' '.join(seed_study.commands(name(e))[0]), name(e)


def test_swaps_counts_a_swapped_pair(tmp_path):
    recs = [r for r in read_lsp(ROOT / 'mss_pose' / 'sample') if r.vis.all()][:4]
    js = get_joint_set(recs[0].joint_set)
    kps = np.stack([r.kps for r in recs]).copy()
    l, r = js.index('l_wrist'), js.index('r_wrist')
    kps[0, [l, r]] = kps[0, [r, l]]                                    # one left/right swap in the first image
    preds = tmp_path / 'eval.json'
    preds.write_text(json.dumps(dict(predictions=[dict(image=rec.image.name, joints=[[*p, 1.] for p in k.tolist()])
                                                  for rec, k in zip(recs, kps)])))
    s = seed_study.swaps(recs, preds)
    far = np.linalg.norm(recs[0].kps[l] - recs[0].kps[r]) / np.linalg.norm(recs[0].kps[js.pck_ref[0]] - recs[0].kps[js.pck_ref[1]])
    assert far > 0.2                                                  # the wrists are apart: a swap is two misses
    assert s['swaps_mirror'] == round(1 / (len(js.flip_pairs) * len(recs)), 4) and s['swaps_limbs'] == 0


def test_add_swaps_fills_in_only_runs_whose_predictions_are_the_recorded_ones(tmp_path, monkeypatch):
    recs = [r for r in read_lsp(ROOT / 'mss_pose' / 'sample') if r.vis.all()][:4]
    monkeypatch.setattr(seed_study, 'OUT', tmp_path); monkeypatch.setattr(seed_study, 'valid_records', lambda: recs)
    preds = json.dumps(dict(predictions=[dict(image=r.image.name, joints=[[*p, 1.] for p in r.kps.tolist()]) for r in recs]))
    runs = [dict(variant='mss', seed=0, pck_eval=1.0), dict(variant='mss', seed=1, pck_eval=0.5), dict(variant='hourglass', seed=0, pck_eval=1.0)]
    (tmp_path / 'results.json').write_text(json.dumps(dict(protocol={}, runs=runs)))
    for name in ('mss-s0', 'mss-s1'): (tmp_path / 'runs' / name).mkdir(parents=True); (tmp_path / 'runs' / name / 'eval.json').write_text(preds)
    assert seed_study.add_swaps() == ['mss-s0']                        # mss-s1's predictions score 1.0, not its recorded 0.5; hourglass-s0 has none
    got = {(e['variant'], e['seed']): e for e in json.loads((tmp_path / 'results.json').read_text())['runs']}
    assert got['mss', 0]['swaps_limbs'] == 0 and got['mss', 0]['swaps_mirror'] == 0
    assert 'swaps_limbs' not in got['mss', 1] and 'swaps_limbs' not in got['hourglass', 0]
    assert seed_study.add_swaps() == []                                # nothing left to add
