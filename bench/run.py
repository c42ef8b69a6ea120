"""`make bench`: turn latency, throughput, memory and training time, written to docs/benchmarks.md.

For each setup (by default all three):
- `default`: endpoints.yml, one Rasa server process on a SQLite file (what `make run` starts),
  with the channels' limits lifted, so that the figures are the server's own;
- `shipped`: the same with the limits as shipped (channels/inputs.py), each visitor on its own
  loopback address (127.0.1.x) as patients would be: what a clinic's server does under this load;
  a visitor sending back to back is over the per-client limit (30 a minute, bursts of 10) within
  seconds, so refusals (429) are counted apart from failures;
- `production`: endpoints.production.yml, PostgreSQL + Redis from Debian's packages on
  loopback, SANIC_WORKERS Rasa workers (default 2), limits lifted,
the action server and the Rasa server are started on free loopback ports (footcare_testing/servers.py),
then:
1. one visitor's conversations, each turn followed by POST /model/parse of the same text (NLU
   only, the lower bound of a turn): turn and parse latency measured side by side;
2. real conversations through the REST channel at 1, 10 and 50 concurrent conversations
   (bench/loadgen.py): p50/p95/p99 turn latency, turns per second, errors, CPU per turn;
3. the peak memory (VmHWM) of every process of the stack.
Before that, a cold `rasa train` (empty cache, into a temporary folder, taking the same lock
as `make train`) gives the training time. The report, the plot (docs/latency.png) and the raw
figures (results/bench.json) are written at the end.

Nothing here asserts a target: the report says whether each was reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

ROOT = Path(__file__).resolve().parent.parent

from bench import loadgen, report  # noqa: E402
from footcare_testing.servers import MODEL, RASA, SHIPPED_LIMITS, ActionServer, RasaServer, base_env  # noqa: E402

TOKEN = "bench-token"
PROJECT_REST = {"channels.rest.RestInput": None}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- processes: CPU time and peak memory from /proc ------------------------------------------


#: as `make train` runs it (the Makefile's TRAIN_THREADS): the encoder may use every core while training
TRAIN_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": str(os.cpu_count() or 1), "TF_INTER_OP_PARALLELISM_THREADS": "1"}


def process_tree(root: int) -> list[int]:
    """The live process `root` and all its descendants (Sanic workers, PostgreSQL backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))  # fields[1] is the parent pid
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(found)


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def peak_memory_mb(pid: int) -> Optional[float]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


class OthersMeter:
    """CPU of the stack's parts, and of everything else on the machine, from now until `cores()`."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups
        self.before = {name: cpu_seconds(process_tree(pid)) for name, pid in groups.items()}
        self.after: dict[str, float] = {}
        self.started, self.machine, self.self_cpu = time.monotonic(), machine_busy_seconds(), sum(os.times()[:2])

    def cores(self) -> float:
        """Cores that processes outside the stack and this client used meanwhile."""
        self.after = {name: cpu_seconds(process_tree(pid)) for name, pid in self.groups.items()}
        ours = sum(self.after.values()) - sum(self.before.values()) + sum(os.times()[:2]) - self.self_cpu
        others = max(0.0, machine_busy_seconds() - self.machine - ours)
        return others / max(1e-6, time.monotonic() - self.started)


# --- the machine and the code --------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        os_name = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text()).group(1)
    import rasa

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rasa": rasa.__version__,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{sha} (with uncommitted changes)" if git("status", "--porcelain") else sha


# --- training time ------------------------------------------------------------------------

COMPONENT_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) .*(Starting to train|Finished training) component '([^']+)'"
)


def time_training() -> dict[str, Any]:
    """A cold `rasa train` (empty graph cache) into a temporary folder, under make train's lock."""
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="footcare-bench-train-") as folder:
        env = base_env(RASA_CACHE_DIRECTORY=str(Path(folder) / "cache"))
        log = Path(folder) / "train.log"
        started = time.monotonic()
        spacy = subprocess.run(
            [sys.executable, "-m", "footnlp.build", "--out", str(Path(folder) / "spacy")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        spacy_seconds = time.monotonic() - started
        print("  training (cold cache, this takes a few minutes)...", flush=True)
        # make train's lock, taken before the clock starts: waiting for someone else's training is not ours.
        with (ROOT / "build" / "train.lock").open("a") as lock, log.open("w") as out:
            fcntl.flock(lock, fcntl.LOCK_EX)
            started = time.monotonic()
            result = subprocess.run(
                [RASA, "train", "--fixed-model-name", "bench", "--out", folder],
                cwd=ROOT,
                env={**env, **TRAIN_THREADS},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            total = time.monotonic() - started
        text = log.read_text(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"rasa train failed:\n{text[-3000:]}")
        components: dict[str, float] = {}
        starts: dict[str, datetime] = {}
        for line in text.splitlines():
            match = COMPONENT_LINE.match(line)
            if not match:
                continue
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
            if match.group(2).startswith("Starting"):
                starts[match.group(3)] = stamp
            elif match.group(3) in starts:
                name = match.group(3)
                components[name] = components.get(name, 0) + (stamp - starts.pop(name)).total_seconds()
        model = next(Path(folder).glob("bench*.tar.gz"), None)
        return {
            "rasa_train_seconds": round(total, 1),
            "spacy_build_seconds": round(spacy_seconds, 1) if spacy.returncode == 0 else None,
            "components_seconds": components,
            "model_mb": round(model.stat().st_size / 1e6, 1) if model else None,
        }


# --- the sentence encoder on its own -------------------------------------------------------


def time_encoder(messages: int = 300) -> dict[str, Any]:
    """The encoder's own time for one message (as a turn calls it), on real questions' texts."""
    from rasa.shared.nlu.training_data.loading import load_data

    from footnlp.encoder import load_encoder

    texts = [m.get("text") for m in load_data(str(ROOT / "tests" / "nlu_real.yml")).intent_examples]
    encoder = load_encoder()
    encoder.embed(texts[:5])  # the first calls trace the graph
    times = []
    for i in range(messages):
        started = time.perf_counter()
        encoder.embed([texts[i % len(texts)]])
        times.append((time.perf_counter() - started) * 1000)
    summary = loadgen.summary(times)
    return {"messages": messages, "p50_ms": round(summary["p50"], 1), "p95_ms": round(summary["p95"], 1)}


# --- messages of real length, next to Rasa's default pipeline ---------------------------------

#: real questions quoted from public pages (training data: the test sets stay unread)
REAL_QUESTIONS = ("data/nlu/real_voices.yml", "data/nlu/real_quoted_*.yml")
#: DIET's epochs for the comparison model: a turn's latency does not depend on how long it was trained
DEFAULT_PIPELINE_EPOCHS = 1


def real_questions(seed: int = 2026) -> list[str]:
    """The real questions of REAL_QUESTIONS, in a fixed shuffled order (so lengths are mixed)."""
    import random

    from rasa.shared.nlu.training_data.loading import load_data

    texts = [
        m.get("text")
        for pattern in REAL_QUESTIONS
        for path in sorted(ROOT.glob(pattern))
        for m in load_data(str(path)).intent_examples
    ]
    random.Random(seed).shuffle(texts)
    return texts


def train_default_pipeline(folder: Path) -> tuple[Path, float]:
    """The project's domain and data trained with Rasa's default NLU pipeline (tests/configs/rasa_default.yml,
    DIET for DEFAULT_PIPELINE_EPOCHS epochs) and config.yml's policies: (model, seconds)."""
    import yaml

    config = yaml.safe_load((ROOT / "tests" / "configs" / "rasa_default.yml").read_text())
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["epochs"] = DEFAULT_PIPELINE_EPOCHS
    config["policies"] = yaml.safe_load((ROOT / "config.yml").read_text())["policies"]
    path = folder / "rasa-default.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"  training Rasa's default pipeline ({DEFAULT_PIPELINE_EPOCHS} epochs) for the comparison ...", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        [RASA, "train", "--config", str(path), "--fixed-model-name", "rasa-default", "--out", str(folder)],
        cwd=ROOT,
        env={**base_env(RASA_CACHE_DIRECTORY=str(folder / "cache")), **TRAIN_THREADS},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa train (default pipeline) failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return next(folder.glob("rasa-default*.tar.gz")), time.monotonic() - started


def band_figures(samples: list[tuple[str, float]]) -> dict[str, Any]:
    """p50 / p95 / max turn ms and count, for every length band and for all turns."""

    def row(times: list[float]) -> dict[str, Any]:
        figures = {**loadgen.summary(times), "max": max(times, default=float("nan"))}
        return {**{k: round(v, 1) for k, v in figures.items()}, "turns": len(times)}

    out = {
        label: row([ms for text, ms in samples if loadgen.band(text) == label]) for label, _, _ in loadgen.LENGTH_BANDS
    }
    return {**out, "all": row([ms for _, ms in samples])}


def measure_real_lengths(conversations: int) -> dict[str, Any]:
    """One visitor's conversations with real questions, on the assistant (as `make run` starts it, limits
    lifted) and on the same project trained with Rasa's default pipeline, turn by turn side by side."""
    with tempfile.TemporaryDirectory(prefix="footcare-bench-real-") as name:
        folder = Path(name)
        default_model, default_seconds = train_default_pipeline(folder)
        scripts = loadgen.real_length_conversations(real_questions(), conversations + 1)
        servers: list[Any] = []
        try:
            actions = ActionServer(folder)
            servers.append(actions)
            actions.start()
            urls = {}
            for label, model in ((report.ASSISTANT, MODEL), (report.DEFAULT_PIPELINE, default_model)):
                rasa = RasaServer(folder, actions.url, credentials=PROJECT_REST, api_token=TOKEN, model=model)
                servers.append(rasa)
                rasa.start()
                urls[label] = rasa.url
            print(f"  real-length messages: {conversations} conversations of one visitor on both", flush=True)
            meter = OthersMeter({f"server {n}": server.process.pid for n, server in enumerate(servers)})
            samples = asyncio.run(loadgen.alternating_latencies(urls, scripts))
            other_cores = meter.cores()
        finally:
            for server in reversed(servers):
                with contextlib.suppress(Exception):
                    server.stop()
    return {
        "conversations": conversations,
        "default_pipeline_epochs": DEFAULT_PIPELINE_EPOCHS,
        "default_pipeline_training_seconds": round(default_seconds, 1),
        "other_processes_cores": round(other_cores, 2),
        "pipelines": {name: band_figures(rows) for name, rows in samples.items()},
        "samples": {name: [[loadgen.words(t), round(ms, 1)] for t, ms in rows] for name, rows in samples.items()},
    }


# --- stacks -------------------------------------------------------------------------------


@contextlib.contextmanager
def stack(setup: str, workdir: Path, sanic_workers: int) -> Iterator[dict[str, Any]]:
    """The action server and the Rasa server (plus PostgreSQL and Redis for `production`)."""
    from footcare_testing.datastores import PostgreSQL, Redis, production_endpoints

    servers: list[Any] = []
    try:
        rasa_kwargs: dict[str, Any] = {"credentials": PROJECT_REST, "api_token": TOKEN}
        if setup == "shipped":
            rasa_kwargs["env"] = dict(SHIPPED_LIMITS)
        processes: dict[str, Any] = {}
        if setup == "production":
            pg, redis = PostgreSQL(durable=True).start(), Redis().start()
            servers += [pg, redis]
            tracker_store, lock_store, env = production_endpoints(pg, redis)
            rasa_kwargs.update(
                tracker_store=tracker_store, lock_store=lock_store, env={**env, "SANIC_WORKERS": str(sanic_workers)}
            )
            processes.update(postgresql=pg.process, redis=redis.process)
        actions = ActionServer(workdir)
        servers.append(actions)
        actions.start()
        rasa = RasaServer(workdir, actions.url, **rasa_kwargs)
        servers.append(rasa)
        rasa.start()
        processes.update(rasa=rasa.process, action_server=actions.process)
        yield {"rasa": rasa, "processes": processes}
    finally:
        for server in reversed(servers):
            with contextlib.suppress(Exception):
                server.remove() if hasattr(server, "remove") else server.stop()


def measure_setup(
    setup: str, levels: list[int], seconds: float, warmup: float, paired_conversations: int, sanic_workers: int
) -> dict[str, Any]:
    from footcare_content.apology import unavailable_text

    fallback = unavailable_text()

    def is_fallback(body: list[dict[str, Any]]) -> bool:
        return "\n\n".join(message.get("text", "") for message in body) == fallback

    with (
        tempfile.TemporaryDirectory(prefix=f"footcare-bench-{setup}-") as folder,
        stack(setup, Path(folder), sanic_workers) as running,
    ):
        rasa = running["rasa"]
        groups = {name: process.pid for name, process in running["processes"].items()}  # tree roots
        paired_others = OthersMeter(groups)
        paired_turn_ms, parse_ms = [], []
        if setup != "shipped":  # one visitor back to back would be over the shipped per-client limit
            print(
                f"  {setup}: {paired_conversations} conversations of one visitor, each turn with /model/parse",
                flush=True,
            )
            paired_turn_ms, parse_ms = asyncio.run(
                loadgen.paired_latencies(rasa.url, TOKEN, paired_conversations + 1, label=f"{setup}-paired")
            )
        paired_other_cores = paired_others.cores()
        results = []
        for concurrency in levels:
            print(f"  {setup}: {concurrency} concurrent conversations for {seconds:.0f} s", flush=True)
            label = f"{setup}-c{concurrency}"
            if warmup > 0:  # not counted: new connections, first conversations
                asyncio.run(
                    loadgen.run_level(
                        rasa.url,
                        concurrency,
                        warmup,
                        warmup_seconds=0,
                        is_fallback=is_fallback,
                        label=f"{label}-warmup",
                        own_addresses=setup == "shipped",
                    )
                )
            meter = OthersMeter(groups)
            level = asyncio.run(
                loadgen.run_level(
                    rasa.url,
                    concurrency,
                    seconds,
                    warmup_seconds=0,
                    is_fallback=is_fallback,
                    label=label,
                    own_addresses=setup == "shipped",
                )
            )
            others = meter.cores() * level.seconds
            before, after = meter.before, meter.after
            ok_turns = max(1, len(level.latencies_ms))
            results.append(
                {
                    "concurrency": concurrency,
                    "seconds": round(level.seconds, 1),
                    "turns": len(level.turns),
                    "turns_per_second": round(level.turns_per_second, 1),
                    "errors": level.errors,
                    "problems": level.problems(),
                    "latency_ms": {key: round(value, 1) for key, value in loadgen.summary(level.latencies_ms).items()},
                    "cpu_ms_per_turn": {
                        name: round((after[name] - before[name]) * 1000 / ok_turns, 1) for name in groups
                    },
                    "other_processes_cores": round(others / level.seconds, 2),
                    "samples_ms": [round(value, 1) for value in level.latencies_ms],
                }
            )
        memory: list[dict[str, Any]] = []
        for name, pid in groups.items():
            for member in process_tree(pid):
                peak = peak_memory_mb(member)
                if peak is None or peak <= 5:  # runuser and other tiny wrappers
                    continue
                command = process_name(member)
                row = next((r for r in memory if r["process"] == name and r["command"] == command), None)
                if row is None:
                    memory.append(
                        {
                            "process": name,
                            "command": command,
                            "processes": 1,
                            "peak_mb": round(peak),
                            "sum_mb": round(peak),
                        }
                    )
                else:
                    row.update(
                        processes=row["processes"] + 1,
                        peak_mb=max(row["peak_mb"], round(peak)),
                        sum_mb=row["sum_mb"] + round(peak),
                    )
    return {
        "setup": setup,
        "sanic_workers": sanic_workers if setup == "production" else 1,
        "parse_ms": {key: round(value, 1) for key, value in loadgen.summary(parse_ms).items()},
        "paired_turn_ms": {key: round(value, 1) for key, value in loadgen.summary(paired_turn_ms).items()},
        "paired_other_processes_cores": round(paired_other_cores, 2),
        "parse_requests": len(parse_ms),
        "levels": results,
        "memory": memory,
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--setups", default="default,shipped,production", help="comma-separated: default, shipped, production"
    )
    parser.add_argument("--levels", default="1,10,50", help="concurrent conversations, comma-separated")
    parser.add_argument("--seconds", type=float, default=30, help="measuring time per level")
    parser.add_argument("--warmup", type=float, default=5, help="warm-up per level, not counted")
    parser.add_argument(
        "--paired", type=int, default=60, help="conversations (5 turns each) of the paired turn / parse measurement"
    )
    parser.add_argument(
        "--real",
        type=int,
        default=60,
        help="conversations (5 turns, 2 real questions each) of the real-length run; 0 skips it",
    )
    parser.add_argument("--sanic-workers", type=int, default=2, help="Rasa workers in the production setup")
    parser.add_argument("--skip-training", action="store_true", help="keep the training figures of the last run")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "latency.png")
    parser.add_argument("--raw", type=Path, default=ROOT / "results" / "bench.json")
    args = parser.parse_args(argv)

    if not MODEL.exists():
        print(f"{MODEL} is missing: run `make train` first", file=sys.stderr)
        return 2
    setups = [setup.strip() for setup in args.setups.split(",") if setup.strip()]
    unknown = set(setups) - {"default", "shipped", "production"}
    if unknown:
        parser.error(f"unknown setup(s): {', '.join(sorted(unknown))}")
    levels = [int(level) for level in args.levels.split(",")]
    if "production" in setups:  # before minutes of measuring, not after
        from footcare_testing.datastores import MissingServer, PostgreSQL, Redis, check_installed

        try:
            check_installed(PostgreSQL, Redis)
        except MissingServer as exc:
            print(f"the production setup needs PostgreSQL and Redis: {exc}", file=sys.stderr)
            return 2

    figures: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": machine(),
        "model_mb": round(MODEL.stat().st_size / 1e6, 1),
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "levels": levels,
            "action_server_timeout": os.environ.get("ACTION_SERVER_TIMEOUT", "10 (default)"),
        },
    }
    print(f"Benchmark on {figures['machine']['cpu']} x {figures['machine']['cores']}, commit {figures['commit']}")
    if args.skip_training and args.raw.exists():
        figures["training"] = json.loads(args.raw.read_text()).get("training")
    elif not args.skip_training:
        figures["training"] = time_training()
    print("  the sentence encoder on its own ...", flush=True)
    figures["encoder"] = time_encoder()
    if args.real:
        figures["real_lengths"] = measure_real_lengths(args.real)
    figures["setups"] = [
        measure_setup(setup, levels, args.seconds, args.warmup, args.paired, args.sanic_workers) for setup in setups
    ]
    args.raw.parent.mkdir(parents=True, exist_ok=True)
    args.raw.write_text(json.dumps(figures, indent=1))
    report.plot(figures, args.plot)
    args.report.write_text(report.markdown(figures, plot=os.path.relpath(args.plot, args.report.parent)))
    print(report.console(figures))
    print(f"Wrote {args.report}, {args.plot} and {args.raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
