"""Archive: calls and breaker events kept in Parquet, partitioned by day.

- ``archive``: ``Archive`` (public as ``toolkit.Archive``), reads and writes;
- ``writer``: the background thread that writes a runner's records in batches;
- ``parts``, ``files``: the files one writer fills, written aside and renamed;
- ``reader``: reads that open only the partitions and row groups they need;
- ``schema``: the two tables and their conversions to and from frames;
- ``extras``: the error naming the ``archive`` extra when pyarrow is missing.
"""
