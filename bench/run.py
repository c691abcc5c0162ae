"""digitedge benchmark: every figure measured in one run, written to bench/report.md.

    python bench/run.py --data ../shared/datasets/mnist.npz [--run runs/edge] [--quick]

Needs the [train] and [bench] extras (TensorFlow makes the float peers; tf2onnx and
onnxruntime are the ONNX peer). Reports medians and ratios against peers measured in this
same run: these machines are noisy, so compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from digitedge.edge import interpreter as interp  # noqa: E402
from digitedge.edge.cuts import split_options  # noqa: E402
from digitedge.edge.images import to_gray  # noqa: E402
from digitedge.edge.model import DEFAULT_MODEL, Classifier  # noqa: E402
from digitedge.edge.preprocess import prepare  # noqa: E402
from digitedge.edge.recognize import Recognizer  # noqa: E402
from digitedge.edge.segment import find_marks  # noqa: E402
from digitedge.train.data import load_mnist, prepare_data  # noqa: E402
from digitedge.train.scenes import make_scene  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def machine() -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(), "cores": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(
            line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")
        )
        flags = next(line for line in cpuinfo.splitlines() if line.startswith("flags")).split()
        info["simd"] = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in flags)
        info["mhz"] = float(next(line.split(":", 1)[1] for line in cpuinfo.splitlines() if line.startswith("cpu MHz")))
        info["family"] = int(
            next(line.split(":", 1)[1] for line in cpuinfo.splitlines() if line.startswith("cpu family"))
        )
    except (OSError, StopIteration):
        pass
    return info


# --- 1. per-digit inference: the edge runtime against float peers on the same network ------
def peers(run: Path, workdir: Path) -> dict:
    """Float32 versions of the bundled network: LiteRT .tflite, ONNX (tf2onnx), OpenCV DNN."""
    from digitedge.train import nets
    from digitedge.train.backend import keras, tf

    model = nets.to_logits(keras.models.load_model(run / "model.keras"))
    f32 = workdir / "f32.tflite"
    f32.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    import onnxruntime as ort
    import tf2onnx

    proto, _ = tf2onnx.convert.from_keras(
        model, input_signature=(tf.TensorSpec((None, 28, 28, 1), tf.float32, name="x"),), opset=13
    )
    onnx_path = workdir / "model.onnx"
    onnx_path.write_bytes(proto.SerializeToString())
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    cv2.setNumThreads(1)
    net = cv2.dnn.readNetFromTFLite(str(f32))
    lite = interp.make_interpreter(f32, num_threads=1)
    clf = Classifier(DEFAULT_MODEL, num_threads=1)

    def cv_dnn(x):
        net.setInput(x.transpose(0, 3, 1, 2))
        return net.forward()

    return {
        "edge runtime (LiteRT int8, uint8 in)": lambda x: clf.probabilities(x),
        "LiteRT float32": lambda x: interp.run_batch(lite, x),
        "ONNX Runtime float32": lambda x: session.run(None, {"x": x.astype(np.float32) / 255})[0],
        "OpenCV DNN float32": lambda x: cv_dnn(x.astype(np.float32) / 255),
    }


def per_digit(fns: dict, x: np.ndarray, repeats: int) -> list[dict]:
    rows = []
    for batch in (1, 6):
        chunks = [x[i : i + batch] for i in range(0, len(x) - batch + 1, batch)][:64]
        for name, fn in fns.items():
            t = median_time(lambda: [fn(c) for c in chunks], repeats) / (len(chunks) * batch)
            rows.append({"batch": batch, "engine": name, "us_per_digit": t * 1e6})
        best_peer = min(r["us_per_digit"] for r in rows if r["batch"] == batch and not r["engine"].startswith("edge"))
        for r in rows:
            if r["batch"] == batch:
                r["ratio_to_fastest_peer"] = r["us_per_digit"] / best_peer
    return rows


def per_layer(run: Path, x: np.ndarray, workdir: Path, repeats: int, batch: int = 6) -> list[dict]:
    """Each conv and dense layer of the network alone, as an int8 and as a float32 LiteRT
    model (int8 in and out, so no quantize ops), timed at batch 6 on one thread: which
    layers int8 wins or loses on this CPU."""
    from digitedge.train import nets
    from digitedge.train.backend import keras, tf

    model = nets.to_logits(keras.models.load_model(run / "model.keras"))
    rows = []
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            continue
        acts = keras.Model(model.inputs, layer.input).predict(x.astype(np.float32) / 255, verbose=0)
        single = keras.Sequential(
            [keras.layers.InputLayer(input_shape=acts.shape[1:]), layer.__class__.from_config(layer.get_config())]
        )
        single.layers[-1].set_weights(layer.get_weights())
        times = {}
        for kind in ("int8", "float32"):
            conv = tf.lite.TFLiteConverter.from_keras_model(single)
            if kind == "int8":
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
                conv.representative_dataset = lambda: ([a[None]] for a in acts[:200])
                conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                conv.inference_input_type = conv.inference_output_type = tf.int8
            path = workdir / f"layer-{kind}.tflite"
            path.write_bytes(conv.convert())
            lite = interp.make_interpreter(path, num_threads=1)
            inp = lite.get_input_details()[0]
            lite.resize_tensor_input(inp["index"], [batch, *acts.shape[1:]])
            lite.allocate_tensors()
            sample = acts[:batch]
            if kind == "int8":
                scale, zero = inp["quantization"]
                sample = np.clip(np.round(sample / scale + zero), -128, 127).astype(np.int8)
            lite.set_tensor(inp["index"], sample)
            times[kind] = median_time(lite.invoke, repeats * 20) / batch * 1e6
        rows.append(
            {
                "layer": f"{layer.__class__.__name__} {tuple(acts.shape[1:])} -> {tuple(single.output_shape[1:])}",
                "macs": nets.macs(single),
                "int8_us": times["int8"],
                "float32_us": times["float32"],
                "ratio": times["int8"] / times["float32"],
            }
        )
    return rows


# --- 2. the frame pipeline on one core -------------------------------------------------------
def pipeline_scenes(mnist, rng: np.random.Generator) -> list:
    """The frames the pipeline is timed on (bench/knobs.py times the same): 20 clean 640x480
    pages with two lines of numbers, about 6.8 digits each."""
    return [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "clean", n_lines=2) for _ in range(20)]


def pipeline(mnist, repeats: int) -> dict:
    cv2.setNumThreads(1)
    rec = Recognizer(num_threads=1)
    rng = np.random.default_rng(5)
    scenes = pipeline_scenes(mnist, rng)
    stages = {"gray": 0.0, "segment": 0.0, "cuts": 0.0, "prepare": 0.0, "classify": 0.0, "total": 0.0}
    digits = inputs = cut_marks = 0
    for s in scenes:
        stages["gray"] += median_time(lambda: to_gray(s.image), repeats)
        gray = to_gray(s.image)
        stages["segment"] += median_time(lambda: find_marks(gray), repeats)
        marks = find_marks(gray)
        candidates = rec.read(marks)
        pieces = [p.mark for c in candidates for p in c.pieces]  # what the recognizer classified
        batch = (
            np.stack([p.input for c in candidates for p in c.pieces])[..., None]
            if pieces
            else np.empty((0, 28, 28, 1), np.uint8)
        )
        # split, for want of a sure whole reading: more pieces than the mark, its core and its rest
        unsettled = [m for m, c in zip(marks, candidates) if len(c.pieces) > 1 + 2 * (m.core is not None)]
        stages["cuts"] += median_time(lambda: split_options(unsettled, rec.config), repeats) if unsettled else 0.0
        stages["prepare"] += median_time(lambda: [prepare(p.ink) for p in pieces], repeats)
        stages["classify"] += median_time(lambda: rec.classifier.classify(batch), repeats)
        inputs, cut_marks = inputs + len(pieces), cut_marks + len(unsettled)
        stages["total"] += median_time(lambda: rec.recognize(s.image), repeats)
        digits += len(s.boxes)
    out = {k: v / len(scenes) * 1e3 for k, v in stages.items()}  # ms per frame
    out["digits_per_frame"] = digits / len(scenes)
    out["inputs_per_frame"] = inputs / len(scenes)
    out["cut_marks_per_frame"] = cut_marks / len(scenes)
    out["fps"] = 1e3 / out["total"]
    growth = []
    for lines in (1, 2, 3):
        scs = [make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "clean", n_lines=lines) for _ in range(10)]
        t = np.mean([median_time(lambda: rec.recognize(s.image), repeats) for s in scs])
        growth.append({"size": "640x480", "digits": np.mean([len(s.boxes) for s in scs]), "ms": t * 1e3})
    for size in ((1280, 720), (1920, 1080)):
        scs = [make_scene(mnist.x_test, mnist.y_test, rng, size, "clean", n_lines=2) for _ in range(10)]
        t = np.mean([median_time(lambda: rec.recognize(s.image), repeats) for s in scs])
        growth.append({"size": f"{size[0]}x{size[1]}", "digits": np.mean([len(s.boxes) for s in scs]), "ms": t * 1e3})
    out["growth"] = growth
    return out


# --- 3-4. the command line: batch throughput and cold start ----------------------------------
def cli(mnist, workdir: Path, n_images: int) -> dict:
    folder = workdir / "scenes"
    folder.mkdir()
    rng = np.random.default_rng(9)
    for i in range(n_images):
        cv2.imwrite(
            str(folder / f"{i:04d}.jpg"), make_scene(mnist.x_test, mnist.y_test, rng, (640, 480), "clean").image
        )
    out = {"images": n_images}
    for workers in (1, 2):
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "digitedge",
                "classify",
                str(folder),
                "--workers",
                str(workers),
                "--out",
                str(workdir / f"w{workers}.jsonl"),
            ],
            check=True,
            capture_output=True,
        )
        out[f"images_per_s_workers_{workers}"] = n_images / (time.perf_counter() - t)
    out["speedup_2_workers"] = out["images_per_s_workers_2"] / out["images_per_s_workers_1"]
    one = str(folder / "0000.jpg")
    code = (
        f"import sys; from digitedge.edge.cli import main; main(['classify', {one!r}]); "
        "print(any(m.startswith('tensorflow') for m in sys.modules), file=sys.stderr)"
    )
    starts, tf_loaded = [], []
    for _ in range(5):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        starts.append(time.perf_counter() - t)
        tf_loaded.append(r.stderr.strip().splitlines()[-1] == "True")
    out["cold_start_s"] = float(np.median(starts))
    out["tensorflow_imported"] = any(tf_loaded)
    return out


# --- 5. physical context ---------------------------------------------------------------------
PEAK_MAC_PER_CYCLE = {  # per core, rough public figures: (int8, fp32, GHz)
    "Raspberry Pi 4 (Cortex-A72, 1.8 GHz, NEON, no dot product)": (16, 8, 1.8),
    "Raspberry Pi 5 (Cortex-A76, 2.4 GHz, NEON + SDOT)": (32, 8, 2.4),
}


def physical(macs: int, rows: list[dict], info: dict) -> dict:
    batch6 = [r for r in rows if r["batch"] == 6]
    edge_t = next(r["us_per_digit"] for r in batch6 if r["engine"].startswith("edge")) * 1e-6
    float_t = min(r["us_per_digit"] for r in batch6 if not r["engine"].startswith("edge")) * 1e-6
    achieved = macs / edge_t  # MAC/s on one core
    ghz = info.get("mhz", 0) / 1e3
    simd = info.get("simd", "")
    # Nominal per-cycle peaks on two vector ports. A 256-bit port: VNNI's VPDPBUSD does 32
    # int8 MACs per op; without it VPMADDUBSW + VPMADDWD + VPADDD need three ops for 32; FMA 8
    # fp32. Zen 4 runs AVX-512 on 256-bit ports; Zen 5 (AMD family 26) and Intel server cores
    # with AVX-512 have two 512-bit ports, twice those figures.
    vnni = "vnni" in simd
    amd = "AMD" in info.get("cpu", "")
    ports_512 = "avx512f" in simd and (info.get("family", 0) >= 26 if amd else True)
    width = 2 if ports_512 else 1
    peak_int8 = (64 if vnni else 21) * width * ghz * 1e9
    peak_fp32 = 16 * width * ghz * 1e9
    out = {
        "macs": macs,
        "achieved_gmac_s": achieved / 1e9,
        "int8_dot_product": vnni,
        "vector_bits": 512 if ports_512 else 256,
        "fraction_int8_peak": achieved / peak_int8 if ghz else None,
        "float_peer_gmac_s": macs / float_t / 1e9,
        "fraction_fp32_peak_float_peer": macs / float_t / peak_fp32 if ghz else None,
        "pi": {},
    }
    frac = min(1.0, out["fraction_int8_peak"] or 0.05)  # above 1: the clock turbos past the nominal one
    for name, (i8, _f32, pghz) in PEAK_MAC_PER_CYCLE.items():
        out["pi"][name] = macs / (i8 * pghz * 1e9 * frac) * 1e6  # µs per digit at the same efficiency
    return out


def report(info, rows, layers, pipe, cli_figs, phys, train_figs) -> str:
    md = [
        "# digitedge benchmark",
        "",
        f"Machine: {json.dumps(info)}",
        "",
        f"Model: the bundled `{Classifier().metadata.about['arch']}` network; peers converted from its run folder.",
        "",
        "Command: `python bench/run.py " + " ".join(sys.argv[1:]) + "`",
        "",
    ]
    md += [
        "## 1. Per-digit inference (same network, same 384 MNIST test digits, 1 thread)",
        "",
        "| batch | engine | µs/digit (median) | ratio to fastest peer |",
        "|---|---|---|---|",
    ]
    md += [
        f"| {r['batch']} | {r['engine']} | {r['us_per_digit']:.1f} | {r['ratio_to_fastest_peer']:.2f} |" for r in rows
    ]
    edge6 = next(r for r in rows if r["batch"] == 6 and r["engine"].startswith("edge"))
    md += [
        "",
        (
            "This CPU has an int8 dot-product instruction (VNNI)"
            if phys["int8_dot_product"]
            else "This CPU has no int8 dot-product instruction (no VNNI)"
        )
        + f": at batch 6 the int8 edge runtime costs {edge6['ratio_to_fastest_peer']:.2f}x the fastest float peer.",
    ]
    md += [
        "",
        "Per layer (each conv/dense layer alone, int8 in and out, batch 6, 1 thread):",
        "",
        "| layer | MACs | int8 µs | float32 µs | int8 / float32 |",
        "|---|---|---|---|---|",
    ]
    md += [
        f"| {r['layer']} | {r['macs']:,} | {r['int8_us']:.1f} | {r['float32_us']:.1f} | {r['ratio']:.2f} |"
        for r in layers
    ]
    md += [
        "",
        f"## 2. Frame pipeline (640x480, {pipe['digits_per_frame']:.1f} digits/frame, one core)",
        "",
        f"{pipe['fps']:.0f} frames/s; per frame: colour to gray {pipe['gray']:.2f} "
        f"ms, segmentation {pipe['segment']:.2f} ms, cut search {pipe['cuts']:.2f} ms "
        f"({pipe['cut_marks_per_frame']:.1f} marks no whole reading settled), preparation {pipe['prepare']:.2f} ms and "
        f"classification {pipe['classify']:.2f} ms of "
        f"{pipe['inputs_per_frame']:.1f} model inputs (in two calls: marks whole, "
        f"then those cuts), total {pipe['total']:.2f} ms (the rest: choosing readings, boxes "
        "and lines, the second call, and stages run together costing more than alone).",
        "",
        "| frame | digits | ms/frame |",
        "|---|---|---|",
    ]
    md += [f"| {g['size']} | {g['digits']:.1f} | {g['ms']:.2f} |" for g in pipe["growth"]]
    md += [
        "",
        f"## 3-4. digitedge classify ({cli_figs['images']} JPEG scenes)",
        "",
        f"- workers 1: {cli_figs['images_per_s_workers_1']:.1f} images/s; "
        f"workers 2: {cli_figs['images_per_s_workers_2']:.1f} images/s; "
        f"speed-up {cli_figs['speedup_2_workers']:.2f}x",
        f"- cold start (import + model load + first result, one image): {cli_figs['cold_start_s']:.2f} s median of 5; "
        f"TensorFlow imported: {cli_figs['tensorflow_imported']}",
        "",
    ]
    md += [
        "## 5. Physical context",
        "",
        f"- {phys['macs'] / 1e6:.2f} M MACs per digit; the edge runtime "
        f"reaches {phys['achieved_gmac_s']:.2f} GMAC/s on one core"
        + (
            f" = {100 * phys['fraction_int8_peak']:.0f}% of this core's nominal int8 peak; the fastest float peer "
            f"{phys['float_peer_gmac_s']:.1f} GMAC/s = "
            f"{100 * phys['fraction_fp32_peak_float_peer']:.0f}% of its fp32 peak "
            f"(peaks for two {phys['vector_bits']}-bit vector ports at "
            f"the {info.get('mhz', 0):.0f} MHz /proc/cpuinfo reports; "
            f"a core that turbos above it makes the true fractions lower, as a figure above 100% shows)"
            if phys["fraction_int8_peak"]
            else ""
        ),
        "- estimated per digit at the same efficiency (at most 100%): "
        + "; ".join(f"{name}: {us:.0f} µs" for name, us in phys["pi"].items()),
        "",
    ]
    md += ["## 6. Training (from the run folders)", "", "| run | images/s | wall time |", "|---|---|---|"]
    md += [
        f"| {name} | {f['train_images_per_second']:.0f} | {f['wall_seconds'] / 60:.1f} min |"
        for name, f in train_figs.items()
    ]
    return "\n".join(md) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="MNIST .npz or IDX folder")
    p.add_argument(
        "--run",
        type=Path,
        help="run folder of the bundled model, for the float peers (default: the --out of its train command)",
    )
    p.add_argument("--quick", action="store_true", help="fewer repeats and images")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "report.md")
    args = p.parse_args()
    repeats = 3 if args.quick else 15
    mnist = load_mnist(args.data)
    x = prepare_data(mnist, 0, 10, 384).x_test
    info = machine()
    if args.run is None:  # the peers must be the very network the bundled model was made from
        cmd = shlex.split(Classifier().metadata.about["train_command"])
        args.run = REPO / cmd[cmd.index("--out") + 1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("per-digit inference...", file=sys.stderr)
        rows = per_digit(peers(args.run, work), x, repeats)
        layers = per_layer(args.run, x, work, repeats)
        print("frame pipeline...", file=sys.stderr)
        pipe = pipeline(mnist, repeats)
        print("command line...", file=sys.stderr)
        cli_figs = cli(mnist, work, 200 if args.quick else 1000)
    phys = physical(Classifier().metadata.about["macs"], rows, info)
    train_figs = {
        f"runs/{r.name}": json.loads((r / "metrics.json").read_text())
        for r in sorted((REPO / "runs").glob("*"))
        if (r / "metrics.json").exists()
    }
    text = report(info, rows, layers, pipe, cli_figs, phys, train_figs)
    args.out.write_text(text)
    (args.out.with_suffix(".json")).write_text(
        json.dumps(
            {
                "machine": info,
                "per_digit": rows,
                "per_layer": layers,
                "pipeline": pipe,
                "cli": cli_figs,
                "physical": phys,
            },
            indent=1,
            default=float,
        )
        + "\n"
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
