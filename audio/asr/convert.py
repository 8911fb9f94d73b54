"""Convert a CTranslate2 Whisper model into an openai-whisper checkpoint.

Why: faster-whisper models (CTranslate2 `model.bin` + `config.json` + vocabulary) are the form in
which Whisper weights are most often found offline (inside pip packages, in a faster-whisper
cache). openai-whisper and Glimpse's fast engine load a `.pt` holding
`{"dims": ModelDimensions as a dict, "model_state_dict": {...}}`; this writes exactly that, as
plain tensors, so `torch.load(path, weights_only=True)` reads it.

The CTranslate2 file (format version 6, spec "WhisperSpec"):

    u32 version | str spec name | u32 spec revision | u32 n_vars |
    n_vars x (str name | u8 rank | rank x u32 dims | u8 dtype | u32 nbytes | raw data) |
    u32 n_aliases | n_aliases x (str alias | str target)

where `str` is a u16 byte count (including a trailing NUL) followed by the bytes, and the dtype
ids are 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16. Names map one to one to
openai-whisper's, except that self-attention q/k/v are fused in `.../self_attention/linear_0`
and cross-attention k/v in `.../attention/linear_1` (openai-whisper's key projections have no
bias; CTranslate2 stores a zero one). int8-quantized models (a `.../weight_scale` beside the
weight) are dequantized.

A model may be split into `model.bin.part1`, `model.bin.part2`, ... (pip packages have a size
limit); `model_bin_parts()` finds those and they are read as one stream.
"""
from __future__ import annotations

import io
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from assistant.errors import ModelError

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_PART = re.compile(r"^model\.bin\.part(\d+)$")


# --------------------------------------------------------------------------- locating model.bin


def model_bin_parts(ct2_dir: Path) -> list[Path]:
    """The file(s) holding the model: `[model.bin]`, or `model.bin.partN` in N order.

    Raises ModelError naming the folder when there is neither.
    """
    ct2_dir = Path(ct2_dir)
    whole = ct2_dir / "model.bin"
    if whole.is_file():
        return [whole]
    parts = sorted((p for p in ct2_dir.glob("model.bin.part*") if _PART.match(p.name)),
                   key=lambda p: int(_PART.match(p.name).group(1)))  # type: ignore[union-attr]
    if parts:
        return parts
    raise ModelError(f"No Whisper model file in {ct2_dir} (expected model.bin or "
                     "model.bin.part1, part2, ...)",
                     "Point Glimpse at a faster-whisper (CTranslate2) model folder, or run "
                     "`glimpse models pull` again")


def assemble_split_model(parts: Sequence[Path], out_dir: Path,
                         extra_files: Iterable[Path] = ()) -> Path:
    """Write a CTranslate2 folder with one `model.bin` from split parts (for faster-whisper,
    which needs a single file), copying `extra_files` (config.json, vocabulary) beside it.

    Atomic: the folder's `model.bin` appears only once complete. Returns `out_dir`.
    """
    import shutil

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for extra in extra_files:
        shutil.copyfile(extra, out_dir / Path(extra).name)
    target = out_dir / "model.bin"
    expected = sum(Path(p).stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == expected:
        return out_dir
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".model.bin.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_dir


class _Concat(io.RawIOBase):
    """Several files read as one stream (the split model parts), without joining them on disk."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._files = [open(p, "rb") for p in paths]
        self._index = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while self._index < len(self._files):
            n = self._files[self._index].readinto(buffer)
            if n:
                return n
            self._index += 1
        return 0

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


# --------------------------------------------------------------------------- reading


class _Reader:
    def __init__(self, stream: BinaryIO, source: str) -> None:
        self.stream = stream
        self.source = source

    def exact(self, n: int) -> bytes:
        data = self.stream.read(n)
        if data is None or len(data) != n:
            raise ModelError(f"The Whisper model file {self.source} is truncated",
                             "Download the model again (it may have been cut short)")
        return data

    def unpack(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.exact(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("H")
        return self.exact(n)[:-1].decode("utf-8")


def read_ct2_variables(paths: Sequence[Path]) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 model file (possibly split), as numpy arrays by name.

    Aliases (one name sharing another's data) are resolved to the target array.
    """
    source = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} parts)"
    stream = io.BufferedReader(_Concat(paths), 16 << 20)
    try:
        r = _Reader(stream, source)
        version = r.unpack("I")
        if version < 5 or version > 6:
            raise ModelError(f"{source} is CTranslate2 format version {version}, which Glimpse "
                             "does not read (5 or 6 expected)",
                             "Use a model converted with CTranslate2 3.x or 4.x")
        spec = r.string()
        if "Whisper" not in spec:
            raise ModelError(f"{source} is a CTranslate2 '{spec}' model, not Whisper",
                             "Choose a Whisper model")
        r.unpack("I")  # spec revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(r.unpack("I")):
            name = r.string()
            shape = [r.unpack("I") for _ in range(r.unpack("B"))]
            dtype_id, nbytes = r.unpack("B"), r.unpack("I")
            raw = r.exact(nbytes)
            if dtype_id == 5:  # bfloat16: the high half of a float32
                array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
            elif dtype_id in _DTYPES:
                array = np.frombuffer(raw, _DTYPES[dtype_id])
            else:
                raise ModelError(f"{source}: variable {name} has unknown dtype id {dtype_id}",
                                 "The file may be corrupt; download the model again")
            variables[name] = array.reshape(shape)
        try:
            aliases = r.unpack("I")
        except ModelError:
            aliases = 0  # older writers end without an alias table
        for _ in range(aliases):
            alias, target = r.string(), r.string()
            variables[alias] = variables[target]
        return variables
    finally:
        stream.close()


# --------------------------------------------------------------------------- mapping


def _float(v: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A weight as float32, dequantizing int8 weights with their per-row scale."""
    array = v[name]
    if array.dtype == np.int8 or array.dtype == np.int16:
        scale = v.get(name + "_scale")
        if scale is None:
            raise ModelError(f"Quantized weight {name} has no scale", "The model file is corrupt")
        return array.astype(np.float32) / scale.astype(np.float32).reshape(-1, 1)
    return array.astype(np.float32)


def _layer_count(v: dict[str, np.ndarray], side: str) -> int:
    ids = set()
    for key in v:
        m = re.match(rf"^{side}/layer_(\d+)/", key)
        if m:
            ids.add(int(m.group(1)))
    if not ids:
        raise ModelError(f"The Whisper model has no {side} layers", "The model file is corrupt")
    return max(ids) + 1


def ct2_to_state_dict(v: dict[str, np.ndarray], dtype: str = "float16") -> dict:
    """The openai-whisper checkpoint dict (`dims` + `model_state_dict`) for CTranslate2 variables."""
    import torch

    torch_dtype = getattr(torch, dtype)
    sd: dict[str, torch.Tensor] = {}

    def put(dst: str, array: np.ndarray) -> None:
        sd[dst] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(torch_dtype)

    def linear(dst: str, src: str) -> None:
        put(f"{dst}.weight", _float(v, f"{src}/weight"))
        put(f"{dst}.bias", _float(v, f"{src}/bias"))

    def norm(dst: str, src: str) -> None:
        put(f"{dst}.weight", _float(v, f"{src}/gamma"))
        put(f"{dst}.bias", _float(v, f"{src}/beta"))

    def fused(dst: str, src: str, names: Sequence[str]) -> None:
        weights = np.split(_float(v, f"{src}/weight"), len(names))
        biases = np.split(_float(v, f"{src}/bias"), len(names))
        for name, w, b in zip(names, weights, biases):
            put(f"{dst}.{name}.weight", w)
            if name != "key":  # openai-whisper's key projections have no bias (CT2's is zero)
                put(f"{dst}.{name}.bias", b)

    try:
        linear("encoder.conv1", "encoder/conv1")
        linear("encoder.conv2", "encoder/conv2")
        put("encoder.positional_embedding", _float(v, "encoder/position_encodings/encodings"))
        norm("encoder.ln_post", "encoder/layer_norm")
        put("decoder.token_embedding.weight", _float(v, "decoder/embeddings/weight"))
        put("decoder.positional_embedding", _float(v, "decoder/position_encodings/encodings"))
        norm("decoder.ln", "decoder/layer_norm")
        layers = {side: _layer_count(v, side) for side in ("encoder", "decoder")}
        for side, count in layers.items():
            for i in range(count):
                dst, src = f"{side}.blocks.{i}", f"{side}/layer_{i}"
                fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
                linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
                norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
                linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
                linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
                norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
                if side == "decoder":
                    linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
                    fused(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
                    linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
                    norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        width = int(v["encoder/conv1/weight"].shape[0])
        dims = {
            "n_mels": int(v["encoder/conv1/weight"].shape[1]),
            "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
            "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
            "n_audio_state": width,
            "n_audio_head": int(np.asarray(v["encoder/num_heads"]).reshape(-1)[0]),
            "n_audio_layer": layers["encoder"],
            "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
            "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
            "n_text_head": int(np.asarray(v["decoder/num_heads"]).reshape(-1)[0]),
            "n_text_layer": layers["decoder"],
        }
    except KeyError as exc:
        raise ModelError(f"The Whisper model lacks the variable {exc.args[0]}",
                         "The file is not a complete CTranslate2 Whisper model; download it "
                         "again") from None
    return {"dims": dims, "model_state_dict": sd}


# --------------------------------------------------------------------------- entry point


def convert_ct2_to_openai(ct2_dir: Path, out_pt: Path) -> Path:
    """Convert the CTranslate2 Whisper model in `ct2_dir` (model.bin, or model.bin.part1..N)
    into an openai-whisper checkpoint at `out_pt` (float16 weights, `weights_only`-loadable).

    Written to a temporary file and renamed, so an interrupted run never leaves a half file.
    Returns `out_pt`. Raises ModelError for a missing, truncated or non-Whisper model.
    """
    import torch

    ct2_dir, out_pt = Path(ct2_dir), Path(out_pt)
    checkpoint = ct2_to_state_dict(read_ct2_variables(model_bin_parts(ct2_dir)))
    out_pt.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_pt.parent, prefix=f".{out_pt.name}.")
    os.close(fd)
    try:
        torch.save(checkpoint, tmp)
        os.replace(tmp, out_pt)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_pt


__all__ = [
    "assemble_split_model",
    "convert_ct2_to_openai",
    "ct2_to_state_dict",
    "model_bin_parts",
    "read_ct2_variables",
]
