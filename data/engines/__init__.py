"""Batch engines other than the embedded one (DuckDB + numpy in ``data.metrics``).

``spark`` (optional, ``requirements-spark.txt``): :mod:`data.engines.spark_session` opens
the session from the settings, :mod:`data.engines.spark_metrics` computes the metric
layer, observation rows and labels with Spark, and :mod:`models.spark_scoring` scores and
explains every account per partition (``mapInPandas``) and attaches the Parquet outputs
to the warehouse as a new results snapshot. Nothing here imports pyspark at import time
of the app.
"""
