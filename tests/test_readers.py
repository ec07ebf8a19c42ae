"Readers of LSP/LSPET, MPII and COCO annotations, from outside the package."
import json, shutil
from pathlib import Path
import numpy as np
import pytest
import scipy.io as sio
from mss_pose.readers import PoseRecord, read_coco, read_lsp, read_mpii, split_records
from data_paths import LSPET, need_lspet

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT/'mss_pose'/'sample'
SHARED = ROOT/'..'/'shared'/'data'
need_mpii = pytest.mark.skipif(not (SHARED/'mpii_sample').exists(), reason=f"MPII sample not found at {SHARED/'mpii_sample'}")
need_coco = pytest.mark.skipif(not (SHARED/'coco_sample').exists(), reason=f"COCO sample not found at {SHARED/'coco_sample'}")


def test_shipped_sample():
    recs = read_lsp(SAMPLE)
    assert len(recs) == 40 and [r.image.name for r in (recs[0], recs[-1])] == ['im07961.jpg', 'im08000.jpg']
    r = recs[0]
    assert r.kps.shape == (14, 2) and r.kps.dtype == np.float32 and r.vis.dtype == np.uint8
    assert r.joint_set == 'lsp' and r.center is None and r.size is None
    j = sio.loadmat(SAMPLE/'joints.mat')['joints']
    np.testing.assert_allclose(r.kps, j[:, :2, 0], rtol=1e-6)
    np.testing.assert_array_equal(np.stack([r.vis for r in recs]), np.where(j[:, 2].T > 0.5, 2, 0))
    assert (j[:, 2] == 0).any()                         # the sample has unlabelled (junk) joints, and they get vis 0
    assert sum(f.stat().st_size for f in SAMPLE.rglob('*') if f.is_file()) < 5e6


@need_lspet
def test_full_lspet_and_split():
    recs = read_lsp(LSPET)[:8000]                       # our copy holds images 1-8,000, the release 10,000
    tr, va = split_records(recs, 1000)
    assert (len(tr), len(va), va[0].image.name) == (7000, 1000, 'im07001.jpg')
    np.testing.assert_allclose(va[-40].kps, read_lsp(SAMPLE)[0].kps)


def test_split_records():
    recs = list(range(10))
    assert split_records(recs, 3) == (list(range(7)), [7, 8, 9])
    assert split_records(recs, 0) == (recs, [])
    with pytest.raises(ValueError, match=r'n_valid must be in \[0, 10\]'): split_records(recs, 11)


def _lsp_dir(tmp_path, joints, n_images=None, key='joints'):
    sio.savemat(tmp_path/'joints.mat', {key: joints})
    (tmp_path/'images').mkdir(exist_ok=True)
    for i in range(joints.shape[-1] if n_images is None else n_images):
        shutil.copy(SAMPLE/'images'/f'im{7961 + i:05d}.jpg', tmp_path/'images'/f'im{i + 1:05d}.jpg')
    return tmp_path


def test_lsp_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='LSP folder not found'): read_lsp(tmp_path/'nope')
    with pytest.raises(FileNotFoundError, match='joints.mat'): read_lsp(tmp_path)
    sio.savemat(tmp_path/'joints.mat', {'joints': np.ones((14, 3, 2))})
    with pytest.raises(FileNotFoundError, match='LSP image folder not found'): read_lsp(tmp_path)


def test_lsp_bad_mat(tmp_path):
    (tmp_path/'joints.mat').write_bytes(b'not a mat file at all' * 20)
    (tmp_path/'images').mkdir()
    with pytest.raises(ValueError, match='could not read .*joints.mat'): read_lsp(tmp_path)
    _lsp_dir(tmp_path, np.ones((14, 3, 2)), key='pts')
    with pytest.raises(KeyError, match=r"no 'joints' array; keys found: \['pts'\]"): read_lsp(tmp_path)


@pytest.mark.parametrize('shape, hint', [((3, 14, 2), 'original LSP layout'), ((14, 2, 2), ''), ((14, 3), '')])
def test_lsp_wrong_shape(tmp_path, shape, hint):
    sio.savemat(tmp_path/'joints.mat', {'joints': np.ones(shape)})
    (tmp_path/'images').mkdir()
    with pytest.raises(ValueError, match=r'must have shape \(14, 3, N\).*got') as e: read_lsp(tmp_path)
    assert hint in str(e.value)


def test_lsp_image_count(tmp_path):
    _lsp_dir(tmp_path, np.ones((14, 3, 3)), n_images=2)
    with pytest.raises(ValueError, match='has 3 people but .* has 2 images'): read_lsp(tmp_path)


def test_lsp_nan(tmp_path):
    j = np.ones((14, 3, 2)); j[10, 1, 1] = np.nan
    _lsp_dir(tmp_path, j)
    with pytest.raises(ValueError, match="im00002.jpg: labelled joint 'l_elbow' has non-finite"): read_lsp(tmp_path)
    j[10, 2, 1] = 0                                      # unlabelled: the NaN is harmless
    sio.savemat(tmp_path/'joints.mat', {'joints': j})
    r = read_lsp(tmp_path)[1]
    assert r.vis[10] == 0 and np.isfinite(r.kps).all()


def test_pose_record_checks():
    with pytest.raises(ValueError, match="unknown joint set 'h36m'"): PoseRecord('a.jpg', np.zeros((14, 2)), np.zeros(14), joint_set='h36m')
    with pytest.raises(ValueError, match=r'coco needs kps \(17, 2\)'): PoseRecord('a.jpg', np.zeros((14, 2)), np.zeros(14), joint_set='coco')
    with pytest.raises(ValueError, match='box size must be > 0'): PoseRecord('a.jpg', np.zeros((14, 2)), np.zeros(14), (1, 1), 0.)


@need_mpii
def test_mpii_both_formats():
    d = SHARED/'mpii_sample'
    hr = read_mpii(d/'test_mpii.json', d)
    assert len(hr) == 5 and all(r.joint_set == 'mpii' and r.kps.shape == (16, 2) for r in hr)
    r = hr[0]                                            # 005808361.jpg: center (966, 340), scale 4.718488
    np.testing.assert_allclose(r.center, [965, 339 + 15 * 4.718488], rtol=1e-6)
    assert r.size == pytest.approx(200 * 4.718488 * 1.25)
    np.testing.assert_allclose(r.kps[0], [803, 710])     # 1-based (804, 711) -> 0-based pixel centres
    assert list(hr[2].vis[[0, 5]]) == [0, 0] and (hr[2].kps[[0, 5]] == 0).all()   # (-1, -1): unlabelled
    big = read_mpii(d/'mpii_annotations.json.gz', d, split='val', missing='skip')
    assert sorted(r.image.name for r in big) == sorted(r.image.name for r in hr)
    by = {r.image.name: r for r in big}
    for r in hr:
        b = by[r.image.name]
        np.testing.assert_allclose(b.center, r.center, atol=0.02); assert b.size == pytest.approx(r.size, abs=0.2)
        np.testing.assert_allclose(b.kps[b.vis > 0], r.kps[b.vis > 0], atol=1e-3)
        assert ((b.vis > 0) == (r.vis > 0)).all()
    assert set(np.unique(np.stack([b.vis for b in big]))) == {0, 1, 2}   # occluded joints kept as vis 1
    assert big[0].meta['isValidation'] == 1


@need_mpii
def test_mpii_missing_and_split():
    d = SHARED/'mpii_sample'
    with pytest.raises(FileNotFoundError, match=r"of \d+ MPII images are missing, e.g. .*pass --missing skip \(mss_pose\) or missing='skip'"):
        read_mpii(d/'mpii_annotations.json.gz', d)
    assert read_mpii(d/'mpii_annotations.json.gz', d, split='train', missing='skip') == []   # the 5 local images are val
    with pytest.raises(ValueError, match='no isValidation flags'): read_mpii(d/'test_mpii.json', d, split='val')
    with pytest.raises(ValueError, match="split must be"): read_mpii(d/'test_mpii.json', d, split='test')
    with pytest.raises(ValueError, match="missing must be 'raise' or 'skip'"): read_mpii(d/'test_mpii.json', d, missing='ignore')


def test_mpii_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'): read_mpii(tmp_path/'nope.json', tmp_path)
    (tmp_path/'a.json').write_text('[{"image": "x.jpg", "pts": []}]')
    with pytest.raises(ValueError, match=r"unknown MPII layout, keys found: \['image', 'pts'\]"): read_mpii(tmp_path/'a.json', tmp_path)
    (tmp_path/'b.json').write_text('{"broken": ')
    with pytest.raises(ValueError, match='not valid JSON'): read_mpii(tmp_path/'b.json', tmp_path)
    p = dict(image='x.jpg', center=[50, 50], scale=1., joints=[[10, 10]] * 14, joints_vis=[1] * 14)
    (tmp_path/'c.json').write_text(json.dumps([p])); (tmp_path/'x.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='MPII needs 16 joints, got 14'): read_mpii(tmp_path/'c.json', tmp_path)
    p.update(joints=[[10, 10]] * 15 + [[float('nan'), 3]], joints_vis=[1] * 16)
    (tmp_path/'c.json').write_text(json.dumps([p]))
    with pytest.raises(ValueError, match="x.jpg: labelled joint 'l_wrist' has non-finite"): read_mpii(tmp_path/'c.json', tmp_path)
    with pytest.raises(FileNotFoundError, match='MPII image folder not found'): read_mpii(tmp_path/'c.json', tmp_path/'imgs')


@need_coco
def test_coco():
    d = SHARED/'coco_sample'
    recs = read_coco(d/'test_coco.json', d)
    data = json.loads((d/'test_coco.json').read_text())
    anns = [a for a in data['annotations'] if a['num_keypoints'] > 0]
    assert len(recs) == len(anns) == 12 and all(r.joint_set == 'coco' for r in recs)
    a, r = anns[0], recs[0]
    k = np.array(a['keypoints'], np.float32).reshape(17, 3)
    np.testing.assert_array_equal(r.kps, k[:, :2]); np.testing.assert_array_equal(r.vis, k[:, 2])
    x, y, w, h = a['bbox']
    np.testing.assert_allclose(r.center, [x + w / 2 - 0.5, y + h / 2 - 0.5], rtol=1e-6)
    assert r.size == pytest.approx(max(w, h) * 1.25) and r.meta['id'] == a['id']


def test_coco_bad_files(tmp_path):
    (tmp_path/'a.json').write_text('{"images": []}')
    with pytest.raises(ValueError, match="not a COCO file"): read_coco(tmp_path/'a.json', tmp_path)
    ann = dict(id=7, image_id=1, num_keypoints=1, iscrowd=0, bbox=[0, 0, 10, 20], keypoints=[1, 2, 2] * 17)
    (tmp_path/'b.json').write_text(json.dumps(dict(images=[dict(id=1, file_name='p.jpg')], annotations=[ann])))
    with pytest.raises(FileNotFoundError, match=r"1 of 1 COCO images are missing, e.g. \[.*p.jpg"): read_coco(tmp_path/'b.json', tmp_path)
    assert read_coco(tmp_path/'b.json', tmp_path, missing='skip') == []
    (tmp_path/'p.jpg').write_bytes(b'')
    assert len(read_coco(tmp_path/'b.json', tmp_path)) == 1
    ann['keypoints'] = [1, 2, 2] * 14
    (tmp_path/'b.json').write_text(json.dumps(dict(images=[dict(id=1, file_name='p.jpg')], annotations=[ann])))
    with pytest.raises(ValueError, match='annotation 7 has 14 keypoints, COCO needs 17'): read_coco(tmp_path/'b.json', tmp_path)
