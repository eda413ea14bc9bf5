"""Spark backend: behaviour logs -> item graph -> random walks past one machine.

Only the data preparation scales out; training stays local (:mod:`recembed.word2vec`),
reading the walk Parquet in streaming chunks (:func:`read_walks`).

* :func:`build_item_graph_spark` — the same item graph as
  :func:`recembed.graphs.build_item_graph` (same sessions, ties, filters), as edge and
  vocabulary Parquet;
* :func:`spark_walks` — DeepWalk / Node2Vec walks, either with the graph broadcast to
  every executor (``mode="broadcast"``, the local numba kernel) or with one join per step
  (``mode="join"``, graphs larger than an executor);
* :func:`read_walks` — walk Parquet -> :class:`recembed.Corpus`.

Needs ``pip install 'recembed[spark]'`` and a Java 17+ runtime. Plain PySpark DataFrame
and Arrow APIs only: no GraphFrames, no extra jars.
"""
from __future__ import annotations

from .io import read_walks, vocab_path

__all__ = ["build_item_graph_spark", "spark_walks", "read_walks", "vocab_path", "get_spark", "require_pyspark"]


def require_pyspark():
    """Import pyspark or raise :class:`recembed.InputError` saying how to install it."""
    from .._io import InputError

    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError("the Spark backend needs pyspark and a Java 17+ runtime: "
                         "pip install 'recembed[spark]' (and e.g. apt-get install openjdk-17-jre-headless)") from None
    return pyspark


def get_spark(master: str | None = None, shuffle_partitions: int | None = None, app_name: str = "recembed",
              conf: dict | None = None):
    """The active SparkSession, or a new one (``master`` default: spark-submit's, else ``local[*]``).

    In local mode Python workers use this interpreter, so they import the same recembed
    and numba cache, and the UI is off. Times are read in UTC, as the local reader does.
    ``conf`` holds further settings (e.g. ``{"spark.driver.memory": "8g"}``).
    """
    import os
    import sys

    require_pyspark()
    # under spark-submit the JVM launched us (PYSPARK_GATEWAY_PORT) and its master stands
    submitted = master is None and "PYSPARK_GATEWAY_PORT" in os.environ
    local = not submitted and (master or "local[*]").startswith("local")
    if local:
        # local mode starts Python workers from PYSPARK_PYTHON: make them this interpreter
        # (on a cluster the executors' Python is the deployment's business)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    b = SparkSession.builder.appName(app_name).config("spark.sql.session.timeZone", "UTC") \
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    if not submitted:
        b = b.master(master or "local[*]")
    if local:
        b = b.config("spark.pyspark.python", sys.executable).config("spark.pyspark.driver.python", sys.executable) \
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    if shuffle_partitions:
        b = b.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    for k, v in (conf or {}).items():
        b = b.config(k, str(v))
    return b.getOrCreate()


def __getattr__(name):
    # lazy: importing recembed.spark must not start (or need) a JVM
    if name == "build_item_graph_spark":
        from .graph import build_item_graph_spark

        return build_item_graph_spark
    if name == "spark_walks":
        from .walks import spark_walks

        return spark_walks
    raise AttributeError(name)
