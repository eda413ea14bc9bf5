"""Node classification: the DeepWalk / node2vec protocol for judging node embeddings.

Protocol (:func:`node_classification`), exactly:

1. keep the nodes that have both a vector and at least one label (the others are counted);
2. for each repeat ``r``, shuffle those nodes with a generator seeded ``(seed, r)`` and take the
   first ``round(train_ratio * n)`` as the training set, the rest as the test set (no
   stratification, as in the papers);
3. fit one binary logistic regression per label (one-vs-rest; liblinear, ``C=1``, no feature
   scaling, as DeepWalk's scoring script does); a label with no positive (or no negative)
   training node gets a constant score;
4. predict, for each test node, the ``k`` labels with the highest scores, where ``k`` is the
   node's true number of labels (DeepWalk and node2vec do this; it gives the classifier the
   label count, so the scores measure ranking, not thresholding). A single-label node gets
   the argmax;
5. Micro-F1 pools true/false positives over all labels; Macro-F1 is the mean of per-label F1
   over the labels that occur in the test set's truth or predictions (those of
   :func:`sklearn.metrics.f1_score` for label vectors);
6. report every repeat's scores and their mean and (population) standard deviation.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._io import InputError, check_readable
from ..embeddings import Embeddings


# -- labels -------------------------------------------------------------------------------------
def read_labels(path) -> pd.DataFrame:
    """Read node labels from a text file into a ``(node, label)`` DataFrame of strings.

    Each line is ``node label [label ...]``, separated by whitespace or commas; a node may
    appear on several lines (multi-label, as BlogCatalog's ``group-edges.csv``). A first line
    reading ``node label`` (any case) is a header and skipped, as are blank lines and ``#``
    comments. Ids are kept as given (``"007"`` stays ``"007"``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.txt"
    >>> _ = p.write_text("node label\\na x\\nb y\\nb z\\n")
    >>> read_labels(p).values.tolist()
    [['a', 'x'], ['b', 'y'], ['b', 'z']]
    """
    p = check_readable(path)
    nodes, labels = [], []
    with open(p, "rb") as fh:
        first = True
        for lineno, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not valid UTF-8 ({e.reason})", p, lineno) from None
            text = text.split("#", 1)[0].strip()
            if not text:
                continue
            fields = [f for f in (text.replace(",", " ").split())]
            if first and [f.lower() for f in fields] in (["node", "label"], ["node", "labels"], ["id", "label"]):
                first = False
                continue
            first = False
            if len(fields) < 2:
                raise InputError(f"expected 'node label [label ...]', found {len(fields)} field: {text!r}", p, lineno)
            nodes.extend([fields[0]] * (len(fields) - 1))
            labels.extend(fields[1:])
    if not nodes:
        raise InputError("no labels in file", p)
    return pd.DataFrame({"node": nodes, "label": labels}).drop_duplicates(ignore_index=True)


def as_label_pairs(labels) -> pd.DataFrame:
    """Normalise labels to a ``(node, label)`` DataFrame of strings without duplicate rows.

    Accepts a mapping ``node -> label`` or ``node -> [labels]``, a DataFrame (columns
    ``node``/``label``, else its first two columns), an iterable of ``(node, label)`` pairs, or
    a path to a label file (:func:`read_labels`).

    Examples
    --------
    >>> as_label_pairs({"a": ["x", "y"], "b": "x"}).values.tolist()
    [['a', 'x'], ['a', 'y'], ['b', 'x']]
    """
    if isinstance(labels, (str, os.PathLike)):
        return read_labels(labels)
    if isinstance(labels, pd.DataFrame):
        cols = ["node", "label"] if {"node", "label"} <= set(labels.columns) else list(labels.columns[:2])
        if len(cols) < 2:
            raise InputError("a label DataFrame needs two columns: node and label")
        df = labels[cols].copy()
        df.columns = ["node", "label"]
    elif isinstance(labels, dict):
        nodes, labs = [], []
        for node, value in labels.items():
            values = [value] if isinstance(value, (str, bytes, int, np.integer)) else list(value)
            nodes.extend([node] * len(values))
            labs.extend(values)
        df = pd.DataFrame({"node": nodes, "label": labs})
    else:
        try:
            df = pd.DataFrame(list(labels), columns=["node", "label"])
        except (TypeError, ValueError):
            raise InputError("labels must be a mapping node -> labels, (node, label) pairs, a DataFrame "
                             "or a label file path") from None
    if df[["node", "label"]].isna().any().any():
        raise InputError("labels hold missing values")
    df = df.astype({"node": str, "label": str})
    return df.drop_duplicates(ignore_index=True)


# -- metrics ------------------------------------------------------------------------------------
def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Micro- and Macro-F1 of two boolean indicator matrices ``(n_samples, n_labels)``.

    Micro-F1 pools counts over all labels: ``2 TP / (2 TP + FP + FN)``. Macro-F1 averages the
    per-label F1 over the labels that occur in ``y_true`` or ``y_pred`` (a label in neither has
    no defined F1 and is left out).

    Examples
    --------
    >>> t = np.array([[1, 0, 0], [0, 1, 1]], bool)
    >>> p = np.array([[1, 0, 0], [0, 1, 0]], bool)
    >>> micro, macro = f1_scores(t, p)
    >>> round(micro, 4), round(macro, 4)      # TP=2 FP=0 FN=1; per label 1, 1, 0
    (0.8, 0.6667)
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shapes differ: {y_true.shape} vs {y_pred.shape}")
    tp = np.count_nonzero(y_true & y_pred, axis=0).astype(np.float64)
    fp = np.count_nonzero(~y_true & y_pred, axis=0).astype(np.float64)
    fn = np.count_nonzero(y_true & ~y_pred, axis=0).astype(np.float64)
    denom = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = float(2 * tp.sum() / denom) if denom else 0.0
    per = 2 * tp + fp + fn
    present = per > 0
    macro = float(np.mean(2 * tp[present] / per[present])) if present.any() else 0.0
    return micro, macro


def top_k_predictions(scores: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Boolean matrix marking each row's ``k[i]`` highest scores (ties: lower label index first).

    Examples
    --------
    >>> top_k_predictions(np.array([[0.1, 0.9, 0.5], [0.7, 0.2, 0.6]]), np.array([1, 2])).astype(int)
    array([[0, 1, 0],
           [1, 0, 1]])
    """
    scores = np.asarray(scores, dtype=np.float64)
    k = np.asarray(k, dtype=np.int64)
    order = np.argsort(-scores, axis=1, kind="stable")
    rank = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    rank[rows, order] = np.arange(scores.shape[1])[None, :]
    return rank < k[:, None]


# -- result -------------------------------------------------------------------------------------
@dataclass
class NodeClassificationResult:
    """Scores of one :func:`node_classification` run.

    Attributes
    ----------
    micro_f1, macro_f1 : arrays with one score per repeat.
    train_ratio : share of the nodes used for training.
    n_nodes : nodes evaluated (with a vector and a label); ``n_train``/``n_test`` per split.
    n_labels : distinct labels among them.
    multilabel : whether top-k prediction with k = true label count was used (else argmax).
    n_labelled_without_vector, n_vectors_without_label : nodes left out, counted.
    """

    micro_f1: np.ndarray
    macro_f1: np.ndarray
    train_ratio: float
    n_nodes: int
    n_train: int
    n_test: int
    n_labels: int
    multilabel: bool
    n_labelled_without_vector: int = 0
    n_vectors_without_label: int = 0
    classifier: str = "one-vs-rest logistic regression"
    params: dict = field(default_factory=dict)

    @property
    def micro_f1_mean(self) -> float:
        return float(np.mean(self.micro_f1))

    @property
    def micro_f1_std(self) -> float:
        return float(np.std(self.micro_f1))

    @property
    def macro_f1_mean(self) -> float:
        return float(np.mean(self.macro_f1))

    @property
    def macro_f1_std(self) -> float:
        return float(np.std(self.macro_f1))

    @property
    def repeats(self) -> int:
        return len(self.micro_f1)

    def to_dict(self) -> dict:
        """Plain-Python dict (JSON-ready)."""
        return {
            "train_ratio": self.train_ratio, "repeats": self.repeats,
            "micro_f1_mean": self.micro_f1_mean, "micro_f1_std": self.micro_f1_std,
            "macro_f1_mean": self.macro_f1_mean, "macro_f1_std": self.macro_f1_std,
            "micro_f1": self.micro_f1.tolist(), "macro_f1": self.macro_f1.tolist(),
            "n_nodes": self.n_nodes, "n_train": self.n_train, "n_test": self.n_test, "n_labels": self.n_labels,
            "multilabel": self.multilabel, "n_labelled_without_vector": self.n_labelled_without_vector,
            "n_vectors_without_label": self.n_vectors_without_label, "classifier": self.classifier,
            "params": dict(self.params),
        }

    def summary(self) -> str:
        """One line: ``Micro-F1 0.3712 ± 0.0041  Macro-F1 0.2234 ± 0.0050 (train 50%, 10 repeats)``."""
        return (f"Micro-F1 {self.micro_f1_mean:.4f} ± {self.micro_f1_std:.4f}  "
                f"Macro-F1 {self.macro_f1_mean:.4f} ± {self.macro_f1_std:.4f}  "
                f"(train {self.train_ratio:.0%} = {self.n_train:,} nodes, test {self.n_test:,}, "
                f"{self.repeats} repeat{'s' if self.repeats != 1 else ''})")

    def __str__(self) -> str:
        kind = "multi-label, top-k with k = true label count" if self.multilabel else "single-label, argmax"
        head = (f"node classification: {self.n_nodes:,} nodes, {self.n_labels} labels ({kind}); "
                f"{self.classifier}")
        left = []
        if self.n_labelled_without_vector:
            left.append(f"{self.n_labelled_without_vector:,} labelled nodes without a vector")
        if self.n_vectors_without_label:
            left.append(f"{self.n_vectors_without_label:,} vectors without a label")
        if left:
            head += "\n  left out: " + ", ".join(left)
        return head + "\n  " + self.summary()


# -- the evaluation -----------------------------------------------------------------------------
def _load_embeddings(embeddings) -> Embeddings:
    if isinstance(embeddings, Embeddings):
        return embeddings
    if isinstance(embeddings, (str, os.PathLike)):
        return Embeddings.load(embeddings)
    raise InputError(f"expected Embeddings or a path to an embeddings file, got {type(embeddings).__name__}")


def align(embeddings, labels):
    """Rows of ``embeddings`` and an indicator matrix for the nodes that have both.

    Returns ``(X, Y, label_names, nodes, n_labelled_without_vector, n_vectors_without_label)``
    with ``X`` float32 ``(n, dim)`` and ``Y`` bool ``(n, n_labels)``, nodes in embedding order.
    """
    emb = _load_embeddings(embeddings)
    pairs = as_label_pairs(labels)
    idx = emb.key_to_index
    row = pairs["node"].map(idx)
    has_vec = row.notna().to_numpy()
    labelled_nodes = pd.unique(pairs["node"])
    n_lab_without = int(np.count_nonzero(~pd.Series(labelled_nodes).isin(idx).to_numpy()))
    pairs = pairs[has_vec]
    rows = row[has_vec].to_numpy(dtype=np.int64)
    uniq_rows, node_code = np.unique(rows, return_inverse=True)
    lab_code, lab_names = pd.factorize(pairs["label"], sort=True)
    Y = np.zeros((len(uniq_rows), len(lab_names)), dtype=bool)
    Y[node_code, lab_code] = True
    X = emb.vectors[uniq_rows]
    return X, Y, np.asarray(lab_names, dtype=object), emb.keys[uniq_rows], n_lab_without, len(emb) - len(uniq_rows)


def _require_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise InputError("this evaluation needs scikit-learn: pip install 'recembed[ml]'") from None


def _fit_scores(X_train, Y_train, X_test, C: float, solver: str, max_iter: int, n_jobs: int | None):
    """One binary logistic regression per label; ``(n_test, n_labels)`` decision scores."""
    from sklearn.linear_model import LogisticRegression

    def one(j):
        y = Y_train[:, j]
        pos = int(y.sum())
        if pos == 0 or pos == len(y):
            # nothing to learn: a constant score below (or above) every fitted one
            return np.full(len(X_test), np.inf if pos else -np.inf)
        clf = LogisticRegression(C=C, solver=solver, max_iter=max_iter)
        clf.fit(X_train, y)
        return clf.decision_function(X_test)

    labels = range(Y_train.shape[1])
    if n_jobs is not None and n_jobs != 1:
        from joblib import Parallel, delayed

        cols = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(j) for j in labels)
    else:
        cols = [one(j) for j in labels]
    return np.column_stack(cols) if cols else np.zeros((len(X_test), 0))


def node_classification(embeddings, labels, train_ratio: float = 0.5, repeats: int = 10, seed: int = 0,
                        multilabel: bool | None = None, C: float = 1.0, solver: str = "liblinear",
                        max_iter: int = 1000, n_jobs: int | None = None) -> NodeClassificationResult:
    """Node classification F1 of embeddings, by the DeepWalk / node2vec protocol.

    See the module docstring for the exact protocol.

    Parameters
    ----------
    embeddings : :class:`~recembed.Embeddings` or a path to an embeddings file.
    labels : mapping node -> label(s), ``(node, label)`` DataFrame or pairs, or a label file path.
    train_ratio : share of the labelled nodes used for training, in (0, 1).
    repeats : number of random splits; scores are reported per split and as mean ± std.
    seed : base seed; repeat ``r`` uses ``numpy.random.default_rng([seed, r])``.
    multilabel : ``None`` detects it (any node with more than one label); ``False`` predicts
        the argmax only (scored against all of a node's labels); ``True`` predicts the top ``k``
        with ``k`` = the node's true label count.
    C, solver, max_iter : of each :class:`sklearn.linear_model.LogisticRegression`.
    n_jobs : fit the per-label classifiers in this many threads (``None``/1: one).

    Returns
    -------
    NodeClassificationResult

    Examples
    --------
    >>> import numpy as np
    >>> from recembed import Embeddings
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> emb = Embeddings([str(i) for i in range(300)], np.eye(3)[y] + 0.1 * rng.normal(size=(300, 3)))
    >>> res = node_classification(emb, {str(i): [int(c)] for i, c in enumerate(y)}, repeats=3)
    >>> res.micro_f1_mean > 0.95, res.n_nodes, res.multilabel
    (True, 300, False)
    """
    _require_sklearn()
    if not (isinstance(train_ratio, (int, float, np.floating)) and 0 < float(train_ratio) < 1):
        raise InputError(f"train_ratio must be in (0, 1), got {train_ratio!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise InputError(f"repeats must be an integer >= 1, got {repeats!r}")
    X, Y, names, _, n_lab_without, n_vec_without = align(embeddings, labels)
    n = len(X)
    if n < 2:
        raise InputError(f"only {n} node(s) have both a vector and a label; check that the ids match")
    n_train = int(round(float(train_ratio) * n))
    n_train = min(max(n_train, 1), n - 1)
    counts = Y.sum(axis=1)
    if multilabel is None:
        multilabel = bool(counts.max() > 1)
    micro, macro = [], []
    for r in range(repeats):
        perm = np.random.default_rng([seed, r]).permutation(n)
        tr, te = perm[:n_train], perm[n_train:]
        scores = _fit_scores(X[tr], Y[tr], X[te], C, solver, max_iter, n_jobs)
        k = counts[te] if multilabel else np.ones(len(te), dtype=np.int64)
        pred = top_k_predictions(scores, k)
        mi, ma = f1_scores(Y[te], pred)
        micro.append(mi)
        macro.append(ma)
    return NodeClassificationResult(
        np.asarray(micro), np.asarray(macro), float(train_ratio), n, n_train, n - n_train, len(names),
        bool(multilabel), n_lab_without, n_vec_without,
        params={"C": C, "solver": solver, "max_iter": max_iter, "seed": seed})

