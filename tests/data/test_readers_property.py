"""Property-based tests of the image readers: any bytes give an image or a clear DataError."""

import numpy as np
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsbench.data.images import read_plane, read_planes
from vsbench.data.source import DataError

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".tif", ".tiff", ".png"]))
def test_arbitrary_bytes_never_crash_the_reader(tmp_path, data, suffix):
    path = tmp_path / f"field{suffix}"
    path.write_bytes(data)
    try:
        planes = read_planes(path)
    except DataError as exc:
        assert str(path) in str(exc)  # the error names the file
    else:
        assert planes.ndim == 3


@SETTINGS
@given(shape=st.tuples(st.integers(1, 3), st.integers(4, 24), st.integers(4, 24)),
       dtype=st.sampled_from([np.uint8, np.uint16, np.float32]), seed=st.integers(0, 2**16))
def test_tiff_roundtrip(tmp_path, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    image = (rng.uniform(0, 200, shape)).astype(dtype)
    path = tmp_path / "x.tif"
    # minisblack: planes as pages, never guessed to be RGB samples
    tifffile.imwrite(path, image if shape[0] > 1 else image[0], photometric="minisblack")
    planes = read_planes(path)
    assert planes.shape == shape and planes.dtype == dtype
    np.testing.assert_array_equal(planes, image)
    np.testing.assert_array_equal(read_plane(path, 0 if shape[0] > 1 else None), image[0])
