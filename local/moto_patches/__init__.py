"""Where moto departs from AWS in ways the pipeline depends on, corrected in-process.

Each module replaces one moto behaviour, once per process (`patching.py`), and its tests
compare the result with AWS's documented behaviour: atomic conditional writes
(`atomic.py`), index queries that cost what they match (`index_queries.py`), FIFO topics
that deduplicate at the topic (`sns_fifo.py`), DynamoDB responses whose items are copied
rather than walked attribute by attribute (`attribute_values.py`), presigned PUTs bound
to their signed headers and conditional copies (`s3_writes.py`), an S3 that refuses
Signature Version 2 as AWS does for new buckets (`s3_sigv4_only.py`).
"""

from local.moto_patches.atomic import make_dynamodb_atomic
from local.moto_patches.attribute_values import make_attribute_values_fast
from local.moto_patches.index_queries import make_index_queries_fast
from local.moto_patches.s3_sigv4_only import make_s3_sigv4_only
from local.moto_patches.s3_writes import make_s3_writes_strict
from local.moto_patches.sns_fifo import make_sns_fifo_dedup


def install_all() -> None:
    """Every correction the local cloud and the in-process stack run with."""
    make_dynamodb_atomic()
    make_sns_fifo_dedup()
    make_index_queries_fast()
    make_attribute_values_fast()
    make_s3_writes_strict()
    make_s3_sigv4_only()
