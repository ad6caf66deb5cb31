"""Build time: the nsfwjs npm package's MobileNetV2 (a TF.js Keras layers model) to ONNX.

nsfwjs@4.4.0 ships `dist/models/mobilenet_v2/model.min.js` (the model.json as a
browserify bundle: a JavaScript object literal, not JSON) and `group1-shard1of1.min.js`
(the weight shard as one base64 string). The weights are uint8-quantised per tensor
(value = q * scale + min). This module decodes both with numpy and rebuilds the Keras
graph layer by layer as ONNX (NHWC input, transposed once to NCHW), using only the
`onnx` package: the official tensorflowjs converter would pull in TensorFlow.

Supported Keras layers: the ones MobileNetV2 uses (InputLayer, ZeroPadding2D, Conv2D,
DepthwiseConv2D, BatchNormalization, ReLU, Add, AveragePooling2D,
GlobalAveragePooling2D, Flatten, Dense, Dropout); anything else raises.
Never run at run time: the Lambda package carries the .onnx file.
"""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
MODEL_DIR = "dist/models/mobilenet_v2"
OPSET = 13
_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "float16": np.float16,
}


# --- reading the bundles ---------------------------------------------------------------


def bundle_value(path: Path) -> Any:
    """The value a browserify bundle assigns to `module.exports` (`a.exports={...}`)."""
    source = path.read_text(encoding="utf-8")
    match = re.search(r"\w\.exports=(?=[{\[\"'])", source)
    if match is None:
        raise ValueError(f"{path}: no exported literal found")
    value, _ = _JsLiteral(source).parse(match.end())
    return value


class _JsLiteral:
    """A parser for the minified JavaScript literals terser emits: unquoted keys,
    `.5`/`1e-5` numbers, `!0`/`!1` booleans, `null`, `void 0`."""

    _NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    _KEY = re.compile(r"[A-Za-z_$][\w$]*|\d+")
    _STRING = {
        '"': re.compile(r'"(?:[^"\\]|\\.)*"', re.S),
        "'": re.compile(r"'(?:[^'\\]|\\.)*'", re.S),
    }
    _WORDS = {"!0": True, "!1": False, "true": True, "false": False, "null": None, "void 0": None}

    def __init__(self, source: str) -> None:
        self.s = source

    def parse(self, i: int) -> tuple[Any, int]:
        char = self.s[i]
        if char == "{":
            return self._object(i + 1)
        if char == "[":
            return self._array(i + 1)
        if char in self._STRING:
            return self._string(i)
        for word, value in self._WORDS.items():
            if self.s.startswith(word, i):
                return value, i + len(word)
        match = self._NUMBER.match(self.s, i)
        if match is None:
            raise ValueError(f"unexpected {self.s[i : i + 20]!r} at {i}")
        text = match.group(0)
        is_int = re.fullmatch(r"-?\d+", text) is not None
        return (int(text) if is_int else float(text)), match.end()

    def _string(self, i: int) -> tuple[str, int]:
        match = self._STRING[self.s[i]].match(self.s, i)
        if match is None:
            raise ValueError(f"unterminated string at {i}")
        body = match.group(0)
        if body[0] == "'":
            body = (
                '"' + body[1:-1].replace('\\"', '"').replace('"', '\\"').replace("\\'", "'") + '"'
            )
        return json.loads(body), match.end()

    def _object(self, i: int) -> tuple[dict, int]:
        out: dict[str, Any] = {}
        if self.s[i] == "}":
            return out, i + 1
        while True:
            if self.s[i] in self._STRING:
                key, i = self._string(i)
            else:
                match = self._KEY.match(self.s, i)
                if match is None:
                    raise ValueError(f"bad key at {i}: {self.s[i : i + 20]!r}")
                key, i = match.group(0), match.end()
            if self.s[i] != ":":
                raise ValueError(f"expected ':' at {i}")
            out[key], i = self.parse(i + 1)
            if self.s[i] == "}":
                return out, i + 1
            if self.s[i] != ",":
                raise ValueError(f"expected ',' or '}}' at {i}")
            i += 1

    def _array(self, i: int) -> tuple[list, int]:
        out: list[Any] = []
        if self.s[i] == "]":
            return out, i + 1
        while True:
            value, i = self.parse(i)
            out.append(value)
            if self.s[i] == "]":
                return out, i + 1
            if self.s[i] != ",":
                raise ValueError(f"expected ',' or ']' at {i}")
            i += 1


def load_layers_model(package_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The Keras model_config and the dequantised float32 weights by name."""
    model_dir = Path(package_dir) / MODEL_DIR
    model_json = bundle_value(model_dir / "model.min.js")
    buffers = []
    weights_manifest = model_json["weightsManifest"]
    for group in weights_manifest:
        for shard in group["paths"]:
            buffers.append(base64.b64decode(bundle_value(model_dir / f"{shard}.min.js")))
    data = b"".join(buffers)
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for spec in (w for group in weights_manifest for w in group["weights"]):
        shape = spec["shape"]
        count = math.prod(shape)
        quant = spec.get("quantization")
        stored = np.dtype(_DTYPES[quant["dtype"] if quant else spec["dtype"]])
        raw = np.frombuffer(data, dtype=stored, count=count, offset=offset)
        offset += count * stored.itemsize
        if quant and quant["dtype"] in ("uint8", "uint16"):
            values = raw.astype(np.float64) * quant["scale"] + quant["min"]
        else:
            values = raw
        weights[spec["name"]] = values.astype(_DTYPES[spec["dtype"]]).reshape(shape)
    if offset != len(data):
        raise ValueError(f"weight specs cover {offset} bytes, shards hold {len(data)}")
    return model_json["modelTopology"]["model_config"], weights


# --- building the ONNX graph -----------------------------------------------------------


class _Graph:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.shapes: dict[str, tuple[int, ...]] = {}  # NCHW / NC, batch left as -1

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, layer: str, key: str) -> np.ndarray:
        return self.weights[f"{layer}/{key}"]

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def activation(self, x: str, name: str, kind: str | None) -> str:
        if kind in (None, "linear"):
            return x
        if kind == "relu":
            return self.node("Relu", [x], name)
        if kind == "relu6":
            return self._clip(x, name, 0.0, 6.0)
        if kind == "softmax":
            return self.node("Softmax", [x], name, axis=-1)
        if kind == "sigmoid":
            return self.node("Sigmoid", [x], name)
        raise NotImplementedError(f"activation {kind!r}")

    def _clip(self, x: str, name: str, low: float, high: float) -> str:
        lo = self.const(f"{name}/min", np.array(low, np.float32))
        hi = self.const(f"{name}/max", np.array(high, np.float32))
        return self.node("Clip", [x, lo, hi], name)


def _same_pads(
    size: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
) -> list[int]:
    """TensorFlow's 'same' padding: any odd pixel goes at the end (bottom/right)."""
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, strides, dilation, strict=True):
        out = math.ceil(n / s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def _conv(g: _Graph, layer: dict, x: str, depthwise: bool) -> str:
    cfg, name = layer["config"], layer["name"]
    _, channels, h, w = g.shapes[x]
    if depthwise:
        kernel = g.weight(name, "depthwise_kernel")  # (kh, kw, cin, multiplier)
        kh, kw, cin, mult = kernel.shape
        weight = kernel.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
        group, out_channels = cin, cin * mult
    else:
        kernel = g.weight(name, "kernel")  # (kh, kw, cin, cout)
        kh, kw, _, out_channels = kernel.shape
        weight = kernel.transpose(3, 2, 0, 1)
        group = 1
    strides, dilation = tuple(cfg["strides"]), tuple(cfg.get("dilation_rate", (1, 1)))
    if cfg["padding"] == "same":
        pads = _same_pads((h, w), (kh, kw), strides, dilation)
    elif cfg["padding"] == "valid":
        pads = [0, 0, 0, 0]
    else:
        raise NotImplementedError(f"{name}: padding {cfg['padding']!r}")
    inputs = [x, g.const(f"{name}/W", weight)]
    if cfg.get("use_bias"):
        inputs.append(g.const(f"{name}/B", g.weight(name, "bias")))
    out = g.node(
        "Conv",
        inputs,
        f"{name}/conv",
        strides=list(strides),
        dilations=list(dilation),
        pads=pads,
        group=group,
        kernel_shape=[kh, kw],
    )
    oh = (h + pads[0] + pads[2] - dilation[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - dilation[1] * (kw - 1) - 1) // strides[1] + 1
    g.shapes[out] = (-1, out_channels, oh, ow)
    result = g.activation(out, name, cfg.get("activation"))
    g.shapes[result] = g.shapes[out]
    return result


def _layer(g: _Graph, layer: dict, inputs: list[str]) -> str:
    kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
    x = inputs[0]
    if kind in ("Conv2D", "DepthwiseConv2D"):
        return _conv(g, layer, x, depthwise=kind == "DepthwiseConv2D")
    if kind == "Dropout":
        return x  # inference: identity
    shape = g.shapes[x]
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = cfg["padding"]
        pads = g.const(f"{name}/pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
        out = g.node("Pad", [x, pads], name)
        g.shapes[out] = (shape[0], shape[1], shape[2] + top + bottom, shape[3] + left + right)
        return out
    if kind == "BatchNormalization":
        if cfg.get("axis", -1) not in (-1, 3):
            raise NotImplementedError(f"{name}: BatchNormalization axis {cfg['axis']}")
        mean, var = g.weight(name, "moving_mean"), g.weight(name, "moving_variance")
        gamma = g.weight(name, "gamma") if cfg.get("scale", True) else np.ones_like(mean)
        beta = g.weight(name, "beta") if cfg.get("center", True) else np.zeros_like(mean)
        params = [
            g.const(f"{name}/{k}", v)
            for k, v in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))
        ]
        out = g.node("BatchNormalization", [x, *params], name, epsilon=float(cfg["epsilon"]))
    elif kind == "ReLU":
        if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
            raise NotImplementedError(f"{name}: leaky or thresholded ReLU")
        top = cfg.get("max_value")
        out = g.node("Relu", [x], name) if top is None else g._clip(x, name, 0.0, float(top))
    elif kind == "Add":
        out = g.node("Add" if len(inputs) == 2 else "Sum", inputs, name)
    elif kind == "AveragePooling2D":
        if cfg["padding"] != "valid":
            raise NotImplementedError(f"{name}: pooling padding {cfg['padding']!r}")
        kernel, strides = cfg["pool_size"], cfg["strides"] or cfg["pool_size"]
        out = g.node("AveragePool", [x], name, kernel_shape=kernel, strides=strides)
        g.shapes[out] = (
            shape[0],
            shape[1],
            (shape[2] - kernel[0]) // strides[0] + 1,
            (shape[3] - kernel[1]) // strides[1] + 1,
        )
        return out
    elif kind == "GlobalAveragePooling2D":
        pooled = g.node("GlobalAveragePool", [x], f"{name}/pool")
        out = g.node("Flatten", [pooled], name, axis=1)
        g.shapes[out] = (shape[0], shape[1])
        return out
    elif kind == "Flatten":
        # Keras flattens NHWC: go back to channels-last first so the order matches.
        nhwc = g.node("Transpose", [x], f"{name}/nhwc", perm=[0, 2, 3, 1])
        out = g.node("Flatten", [nhwc], name, axis=1)
        g.shapes[out] = (shape[0], math.prod(shape[1:]))
        return out
    elif kind == "Dense":
        inputs = [x, g.const(f"{name}/W", g.weight(name, "kernel"))]
        if cfg.get("use_bias", True):
            inputs.append(g.const(f"{name}/B", g.weight(name, "bias")))
        dense = g.node("Gemm", inputs, f"{name}/gemm")
        out = g.activation(dense, name, cfg.get("activation"))
        g.shapes[out] = (shape[0], int(cfg["units"]))
        return out
    else:
        raise NotImplementedError(f"Keras layer {kind} ({name})")
    g.shapes[out] = shape
    return out


def to_onnx(
    model_config: dict, weights: dict[str, np.ndarray], metadata: dict[str, str]
) -> onnx.ModelProto:
    """The Keras functional model as an ONNX graph: input "input" (N, H, W, 3) float32
    in [0, 1], output "probabilities" (N, classes) after the model's own softmax."""
    config = model_config["config"]
    g = _Graph(weights)
    tensors: dict[str, str] = {}
    graph_inputs = []
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            _, h, w, c = layer["config"]["batch_input_shape"]
            graph_inputs.append(
                helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", h, w, c])
            )
            tensors[layer["name"]] = g.node(
                "Transpose", ["input"], f"{layer['name']}/nchw", perm=[0, 3, 1, 2]
            )
            g.shapes[tensors[layer["name"]]] = (-1, c, h, w)
            continue
        if len(layer["inbound_nodes"]) != 1:
            raise NotImplementedError(f"layer {layer['name']} is shared")
        inputs = [tensors[ref[0]] for ref in layer["inbound_nodes"][0]]
        tensors[layer["name"]] = _layer(g, layer, inputs)
    ((out_layer, _, _),) = config["output_layers"]
    classes = g.shapes[tensors[out_layer]][1]
    g.node("Identity", [tensors[out_layer]], "probabilities")
    graph = helper.make_graph(
        g.nodes,
        "nsfwjs_mobilenet_v2",
        graph_inputs,
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nsfwjs_convert"
    )
    model.ir_version = 8  # opset 13; readable by every onnxruntime since 1.10
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def convert(package_dir: Path, out_path: Path, metadata: dict[str, str]) -> Path:
    """Read nsfwjs from `package_dir` (node_modules/nsfwjs) and write the ONNX file."""
    model_config, weights = load_layers_model(package_dir)
    model = to_onnx(model_config, weights, {**metadata, "classes": ",".join(CLASSES)})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out_path)
    return out_path
