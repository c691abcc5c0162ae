"""MNIST loading: npz, IDX folders (plain and gzipped), env var, and clear errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from digitedge.train.data import ENV_VAR, DataError, load_mnist


def _write_idx(path, array, gz=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def _idx_folder(root, m, gz):
    names = {
        "train-images-idx3-ubyte": m.x_train,
        "train-labels-idx1-ubyte": m.y_train,
        "t10k-images-idx3-ubyte": m.x_test,
        "t10k-labels-idx1-ubyte": m.y_test,
    }
    for name, arr in names.items():
        _write_idx(root / (name + (".gz" if gz else "")), arr, gz)
    return root


def test_npz_loads_all_splits(mnist_path):
    m = load_mnist(mnist_path)
    assert m.x_train.shape == (60000, 28, 28) and m.x_test.shape == (10000, 28, 28)
    assert m.x_train.dtype == np.uint8 and set(np.unique(m.y_test)) == set(range(10))


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_equals_npz(small_mnist, tmp_path, gz):
    ref = load_mnist(small_mnist)
    got = load_mnist(_idx_folder(tmp_path, ref, gz))
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(got, key), getattr(ref, key))
    assert got.sha256() == ref.sha256()  # the hash is of the data, not the file format


def test_env_var_is_used_when_no_path(small_mnist, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(small_mnist))
    assert load_mnist().source == str(small_mnist)


def test_missing_path_names_it(tmp_path):
    with pytest.raises(DataError, match="nope.npz: no such file"):
        load_mnist(tmp_path / "nope.npz")


def test_garbage_npz(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match="bad.npz: not a readable .npz"):
        load_mnist(bad)


def test_npz_missing_key(tmp_path, small_mnist):
    m = load_mnist(small_mnist)
    bad = tmp_path / "partial.npz"
    np.savez(bad, x_train=m.x_train, y_train=m.y_train, x_test=m.x_test)
    with pytest.raises(DataError, match=r"partial.npz: missing keys \['y_test'\]"):
        load_mnist(bad)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "x_train must be uint8"),
        (lambda a: a.update(x_test=a["x_test"][:, :27]), r"x_test must be uint8 \(N, 28, 28\)"),
        (lambda a: a.update(y_train=a["y_train"][:-1]), "y_train must be 600 integer labels"),
        (lambda a: a.update(y_test=a["y_test"] + 5), "y_test labels must be 0..9"),
    ],
)
def test_malformed_arrays(tmp_path, small_mnist, change, message):
    m = load_mnist(small_mnist)
    arrays = {k: getattr(m, k) for k in ("x_train", "y_train", "x_test", "y_test")}
    change(arrays)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(DataError, match=message):
        load_mnist(bad)


def test_idx_truncated_and_bad_magic(tmp_path, small_mnist):
    m = load_mnist(small_mnist)
    folder = _idx_folder(tmp_path, m, gz=False)
    images = folder / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: IDX header says"):
        load_mnist(folder)
    images.write_bytes(b"\x00\x00\x09\x03" + b"\x00" * 20)
    with pytest.raises(DataError, match="bad magic"):
        load_mnist(folder)


def test_idx_corrupt_gzip_and_missing_file(tmp_path, small_mnist):
    m = load_mnist(small_mnist)
    folder = _idx_folder(tmp_path, m, gz=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: unreadable"):
        load_mnist(folder)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing IDX file train-labels-idx1-ubyte"):
        load_mnist(folder)


def _usps_file(path, n=40):
    rng = np.random.default_rng(0)
    x = np.zeros((n, 16, 16), np.uint8)
    x[:, 2:14, 6:10] = 255  # a bar filling the frame's height, as USPS digits do
    np.savez(path, x=x, y=rng.integers(0, 10, n), split=np.array(["train", "test"] * (n // 2)))
    return path


def test_usps_is_laid_out_as_mnist_and_shuffled_into_train(small_mnist, tmp_path):
    from digitedge.train.data import load_usps, with_usps

    usps = load_usps(_usps_file(tmp_path / "usps.npz"))
    assert usps.x_train.shape == (20, 28, 28) and usps.x_test.shape == (20, 28, 28)
    rows, cols = np.nonzero(usps.x_train[0])
    assert rows.min() >= 4 and rows.max() <= 23 and cols.min() >= 4 and cols.max() <= 23  # the 20x20 box
    assert rows.max() - rows.min() >= 14  # scaled up from 16 px, as MNIST's digits fill 20
    mnist = load_mnist(small_mnist)
    both = with_usps(mnist, usps)
    assert len(both.x_train) == len(mnist.x_train) + 20 and np.array_equal(both.x_test, mnist.x_test)
    is_usps = (both.x_train[:, 4:24, 4:24] > 0).sum(axis=(1, 2)) == (usps.x_train[0] > 0).sum()
    tail = is_usps[-len(both.x_train) // 3 :]  # where validation images are held out
    assert 0 < tail.sum() < len(tail), "validation must hold both populations of writers"
    assert "usps.npz" in both.source


@pytest.mark.parametrize("bad", ["missing", "no split", "labels"])
def test_usps_errors_name_the_file(tmp_path, bad):
    from digitedge.train.data import load_usps

    path = tmp_path / "usps.npz"
    if bad == "no split":
        np.savez(path, x=np.zeros((4, 16, 16), np.uint8), y=np.zeros(4, int))
    elif bad == "labels":
        np.savez(path, x=np.zeros((4, 16, 16), np.uint8), y=np.full(4, 12), split=np.array(["train", "test"] * 2))
    with pytest.raises(DataError, match="usps.npz"):
        load_usps(path)


def test_mnist_lookup_order_env_shared_copy_keras_cache(small_mnist, tmp_path, monkeypatch):
    import shutil

    from digitedge.train.data import find_mnist

    work, home = tmp_path / "clone", tmp_path / "keras"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(home))
    (home / "datasets").mkdir(parents=True)
    shutil.copy(small_mnist, home / "datasets" / "mnist.npz")
    assert find_mnist() == home / "datasets" / "mnist.npz"  # Keras' cache, last before a download
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    shutil.copy(small_mnist, tmp_path / "shared" / "datasets" / "mnist.npz")
    assert find_mnist().resolve() == (tmp_path / "shared" / "datasets" / "mnist.npz").resolve()  # before the cache
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "named.npz"))
    assert find_mnist() == tmp_path / "named.npz"  # the variable wins, even when wrong: the error names it
    with pytest.raises(DataError, match="named.npz: no such file"):
        load_mnist()


def test_no_mnist_anywhere_and_no_download_is_one_clear_message(tmp_path, monkeypatch):
    from digitedge.train.backend import keras
    from digitedge.train.data import find_mnist

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as err:
        find_mnist()
    message = str(err.value)
    for where in ("$DIGITEDGE_MNIST", "../shared/datasets/mnist.npz", str(tmp_path / "keras"), "no network", "--data"):
        assert where in message
