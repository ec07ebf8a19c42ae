"The test session's export cache (`mss_pose.export.cached_onnx`) is a temporary folder, not the user's ~/.cache/mss_pose."
import os
import tempfile


def pytest_configure(config):
    os.environ['MSS_POSE_CACHE'] = tempfile.mkdtemp(prefix='mss_pose_cache_')   # CLI subprocesses inherit it
