"""The Cost page's what-if workload, built in the data layer from the stack's outputs."""

from dashboard.data.workload import (
    AnalyticsLoad,
    CacheLoad,
    EdgeLoad,
    Workload,
    stack_workload,
    with_animations,
    with_reuse,
)
from lambdas.common.contract import Output


def test_a_stack_without_outputs_gets_the_model_defaults():
    w = stack_workload(1_000, "arm64", {}, {})
    default = Workload(jobs_per_month=1_000.0, architecture="arm64")
    assert w == default
    assert w.sns_fifo is True
    assert (w.caching, w.edge, w.analytics) == (None, None, None)


def test_the_topic_kind_and_function_memory_come_from_the_outputs():
    first = Workload(jobs_per_month=1.0).functions[0].name
    outputs = {
        Output.NOTIFICATION_TOPIC_ARN: "arn:aws:sns:eu-west-1:1:moderation-events",
        Output.FUNCTION_MEMORY: {first: 2048},
    }
    w = stack_workload(10, "x86_64", outputs, {})
    assert w.sns_fifo is False
    assert w.architecture == "x86_64"
    memory = {f.name: f.memory_mb for f in w.functions}
    assert memory[first] == 2048.0
    default = {f.name: f.memory_mb for f in Workload(jobs_per_month=1.0).functions}
    assert {k: v for k, v in memory.items() if k != first} == {
        k: v for k, v in default.items() if k != first
    }


def test_each_optional_feature_adds_its_line():
    cache = CacheLoad(node_type="cache.t4g.micro", engine="redis", data_gb=1.0)
    features = {"caching": True, "edge_auth": True, "analytics": True}
    w = stack_workload(10, "arm64", {}, features, cache)
    assert (w.caching, w.edge, w.analytics) == (cache, EdgeLoad(), AnalyticsLoad())
    assert stack_workload(10, "arm64", {}, {"caching": True}).caching == CacheLoad()


def test_the_what_if_shares():
    base = Workload(jobs_per_month=1.0)
    animated = with_animations(base, 0.25, 8)
    assert (animated.animated_share, animated.frames_per_animated_job) == (0.25, 8.0)
    off = with_reuse(base, False, 0.0, 0.1)
    assert (off.verdict_reuse, off.reuse_share, off.rekognition_skip_share) == (False, 0.0, 0.1)
    assert with_reuse(base, False, 0.2, 0.0).verdict_reuse is True
    assert with_reuse(base, True, 0.0, 0.0).verdict_reuse is True
