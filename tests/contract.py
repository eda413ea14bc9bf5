"""One behavioural contract every estimator passes (as implicit's tests do for its models).

A model's test module subclasses :class:`EstimatorContract` and says how to build the
model and its input; pytest then runs every check below for it.
"""
import numpy as np

from recembed import Embeddings, InputError


class EstimatorContract:
    """Subclass and implement ``make_estimator(seed)`` and ``make_input()``."""

    def make_estimator(self, seed=1):
        raise NotImplementedError

    def make_input(self):
        raise NotImplementedError

    def fit(self, seed=1):
        return self.make_estimator(seed).fit(self.make_input())

    def test_fit_returns_self_with_finite_embeddings(self):
        est = self.make_estimator()
        out = est.fit(self.make_input())
        assert out is est
        assert isinstance(est.embeddings_, Embeddings)
        assert len(est.embeddings_) > 0
        assert np.all(np.isfinite(est.embeddings_.vectors))
        assert est.embeddings_.vectors.std() > 0

    def test_same_seed_same_embeddings(self):
        a, b = self.fit(seed=3), self.fit(seed=3)
        assert a.embeddings_.keys.tolist() == b.embeddings_.keys.tolist()
        np.testing.assert_array_equal(a.embeddings_.vectors, b.embeddings_.vectors)

    def test_other_seed_other_embeddings(self):
        a, b = self.fit(seed=3), self.fit(seed=4)
        assert not np.array_equal(a.embeddings_.vectors, b.embeddings_.vectors)

    def test_save_load_round_trip(self, tmp_path):
        est = self.fit()
        path = tmp_path / "model.npz"
        est.save(path)
        loaded = type(est).load(path)
        assert loaded.get_params() == est.get_params()
        assert loaded.embeddings_.keys.tolist() == est.embeddings_.keys.tolist()
        np.testing.assert_array_equal(loaded.embeddings_.vectors, est.embeddings_.vectors)

    def test_params_clone(self):
        est = self.make_estimator()
        clone = type(est)(**est.get_params())
        assert clone.get_params() == est.get_params()
        assert not hasattr(clone, "embeddings_")

    def test_unknown_param_is_rejected(self):
        est = self.make_estimator()
        try:
            est.set_params(no_such_parameter=1)
        except InputError:
            return
        raise AssertionError("set_params accepted an unknown parameter")
