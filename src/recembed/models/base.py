"""The estimator contract every recembed method follows.

scikit-learn conventions: ``__init__`` only stores keyword hyperparameters under
the same names, ``fit`` validates, learns and returns ``self``, learned state lives
in attributes ending in ``_`` (always ``embeddings_``, an :class:`Embeddings`).
:meth:`save`/:meth:`load` round-trip parameters and learned state through one
``.npz`` file without pickle.
"""
from __future__ import annotations

import inspect
import json

import numpy as np

from .._io import InputError, atomic_write, check_readable
from ..data.vocab import Vocab
from ..embeddings import Embeddings

_FORMAT = "recembed-estimator-1"


class EmbeddingEstimator:
    """Base class: parameter handling and persistence. Subclasses implement ``fit``."""

    # -- parameters (scikit-learn's get_params/set_params, from the signature) --
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise InputError(f"unknown parameter {k!r} for {type(self).__name__}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if sig.parameters[k].default is inspect.Parameter.empty or sig.parameters[k].default != v]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_fitted(self):
        if not hasattr(self, "embeddings_"):
            raise InputError(f"{type(self).__name__} is not fitted: call fit() first")

    # -- persistence --------------------------------------------------------
    def _state(self) -> dict:
        """Learned attributes to persist: every attribute ending in ``_`` (override to add more)."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)

    def save(self, path) -> None:
        """Save hyperparameters and learned state to one ``.npz`` file (atomically, no pickle)."""
        self._check_fitted()
        arrays, meta = {}, {}
        for name, value in self._state().items():
            if isinstance(value, Embeddings):
                arrays[f"{name}.keys"] = value.keys.astype(str)
                arrays[f"{name}.vectors"] = value.vectors
                meta[name] = "embeddings"
            elif isinstance(value, Vocab):
                arrays[f"{name}.keys"] = value.keys.astype(str)
                arrays[f"{name}.counts"] = value.counts
                meta[name] = "vocab"
            elif isinstance(value, np.ndarray):
                arrays[name] = value
                meta[name] = "array"
            elif value is None or isinstance(value, (bool, int, float, str, list, dict)):
                meta[name] = ["json", value]
            else:
                raise TypeError(f"cannot save attribute {name} of type {type(value).__name__}")
        header = {"format": _FORMAT, "class": type(self).__name__, "params": self.get_params(), "state": meta}
        arrays["__header__"] = np.frombuffer(json.dumps(header, default=_json_default).encode(), dtype=np.uint8)
        with atomic_write(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` (the class must match)."""
        p = check_readable(path)
        try:
            z = np.load(p, allow_pickle=False)
            header = json.loads(bytes(z["__header__"]).decode())
        except Exception as e:
            raise InputError(f"not a recembed model file ({e})", p) from None
        if header.get("format") != _FORMAT:
            raise InputError("not a recembed model file", p)
        if header["class"] != cls.__name__ and cls is not EmbeddingEstimator:
            raise InputError(f"file holds a {header['class']}, not a {cls.__name__}", p)
        target = cls if cls.__name__ == header["class"] else _find_class(header["class"])
        model = target(**header["params"])
        state = {}
        for name, kind in header["state"].items():
            if kind == "embeddings":
                state[name] = Embeddings(z[f"{name}.keys"].tolist(), z[f"{name}.vectors"])
            elif kind == "vocab":
                state[name] = Vocab(z[f"{name}.keys"].astype(object), z[f"{name}.counts"])
            elif kind == "array":
                state[name] = z[name]
            else:
                state[name] = kind[1]
        model._set_state(state)
        return model


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (tuple, set)):
        return list(o)
    raise TypeError(f"hyperparameter of type {type(o).__name__} is not JSON-serialisable")


def _find_class(name: str):
    import importlib

    def walk(c):
        for s in c.__subclasses__():
            yield s
            yield from walk(s)

    def known():
        return next((c for c in walk(EmbeddingEstimator) if c.__name__ == name), None)

    if known() is None:
        # a class is found only once its module is imported; the models package knows where each lives
        models = importlib.import_module("recembed.models")
        if name in models._WHERE:
            getattr(models, name)
        else:
            importlib.import_module("recembed.word2vec")
    found = known()
    if found is None:
        raise InputError(f"unknown model class {name!r}")
    return found
