"""docs/benchmarks.md, docs/latency.png and the console summary, from bench/run.py's figures.

`python -m bench.report` writes the report and the plot again from results/bench.json.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

# The targets for this 2-core machine.
MAX_TURN_P95_MS = 40  # one visitor's turn, p95, with the sentence encoder
MIN_TURNS_PER_SECOND = 40  # at 50 concurrent conversations, with 0 errors
MAX_RASA_PEAK_MB = 1024  # the Rasa server's peak memory
TRAINING_LIMIT_S = 180  # rasa train, cold
# messages of real length, one visitor (bench/run.py measure_real_lengths)
REAL_MAX_P50_MS = 30
REAL_MAX_P95_MS = 60
REAL_MAX_TURN_MS = 150
ASSISTANT, DEFAULT_PIPELINE = "assistant", "Rasa default pipeline"

SETUP_NAMES = {
    "default": "default: endpoints.yml, SQLite, 1 Rasa process, limits lifted",
    "shipped": "as shipped: the default setup with the shipped limits, each visitor on its own address",
    "production": "production: endpoints.production.yml, PostgreSQL + Redis, {workers} Rasa workers",
}


def setup_name(setup: dict[str, Any]) -> str:
    return SETUP_NAMES[setup["setup"]].format(workers=setup["sanic_workers"])


def level(setup: dict[str, Any], concurrency: int) -> Optional[dict[str, Any]]:
    return next((lv for lv in setup["levels"] if lv["concurrency"] == concurrency), None)


def fmt(value: Optional[float], unit: str = "", digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def targets(figures: dict[str, Any]) -> list[tuple[str, str, str, Optional[bool]]]:
    """(setup, target, measured, reached) for each setup and target."""
    rows: list[tuple[str, str, str, Optional[bool]]] = []
    for setup in figures["setups"]:
        name = setup["setup"]
        if setup.get("parse_requests"):
            p95 = setup["paired_turn_ms"]["p95"]
            rows.append(
                (
                    name,
                    f"1 conversation: p95 turn latency at most {MAX_TURN_P95_MS} ms",
                    f"{fmt(p95, ' ms', 1)} (/model/parse p95 {fmt(setup['parse_ms']['p95'], ' ms', 1)})",
                    p95 <= MAX_TURN_P95_MS,
                )
            )
        rasa = [p for p in setup.get("memory", []) if p["process"] == "rasa"]
        if rasa:
            peak = max(p["peak_mb"] for p in rasa)
            rows.append(
                (
                    name,
                    f"the Rasa server's peak memory at most {MAX_RASA_PEAK_MB} MB (per process)",
                    fmt(peak, " MB"),
                    peak <= MAX_RASA_PEAK_MB,
                )
            )
        fifty = level(setup, 50)
        if fifty and name == "shipped":  # what the shipped limits do to visitors sending back to back: reported
            refused = fifty["problems"].get("HTTP 429", 0)
            rows.append(
                (
                    name,
                    "50 conversations, limits as shipped: answered, and refused by a limit (429)",
                    f"{fmt(fifty['turns_per_second'], ' turns/s', 1)} answered; {refused} refused (429); "
                    f"{fifty['errors'] - refused} other errors",
                    fifty["errors"] == refused,
                )
            )
        elif fifty:
            rows.append(
                (
                    name,
                    f"50 conversations: at least {MIN_TURNS_PER_SECOND} turns/s with 0 errors",
                    f"{fmt(fifty['turns_per_second'], ' turns/s', 1)}, {fifty['errors']} errors",
                    fifty["turns_per_second"] >= MIN_TURNS_PER_SECOND and fifty["errors"] == 0,
                )
            )
    rows += real_length_targets(figures.get("real_lengths"))
    encoder = figures.get("encoder")
    if encoder:
        rows.append(
            (
                "-",
                "the sentence encoder's own time per message (reported)",
                f"p50 {fmt(encoder['p50_ms'], ' ms', 1)}, p95 {fmt(encoder['p95_ms'], ' ms', 1)}",
                None,
            )
        )
    training = figures.get("training")
    if training:
        seconds = training["rasa_train_seconds"]
        rows.append(
            ("-", "training (cold `rasa train`) under 3 minutes", fmt(seconds, " s", 0), seconds < TRAINING_LIMIT_S)
        )
    return rows


def real_length_targets(real: Optional[dict[str, Any]]) -> list[tuple[str, str, str, Optional[bool]]]:
    """The targets on messages of real length: the assistant's p50, p95 (also against Rasa's default
    pipeline in the same run) and slowest turn."""
    if not real:
        return []
    ours, theirs = real["pipelines"][ASSISTANT]["all"], real["pipelines"][DEFAULT_PIPELINE]["all"]
    return [
        (
            "real length",
            f"1 conversation: p50 at most {REAL_MAX_P50_MS} ms, p95 at most {REAL_MAX_P95_MS} ms and below "
            "Rasa's default pipeline's p95",
            f"p50 {fmt(ours['p50'], ' ms', 1)}, p95 {fmt(ours['p95'], ' ms', 1)} "
            f"(default pipeline p95 {fmt(theirs['p95'], ' ms', 1)})",
            ours["p50"] <= REAL_MAX_P50_MS and ours["p95"] <= REAL_MAX_P95_MS and ours["p95"] < theirs["p95"],
        ),
        (
            "real length",
            f"no turn over {REAL_MAX_TURN_MS} ms",
            f"slowest {fmt(ours['max'], ' ms', 1)}",
            ours["max"] <= REAL_MAX_TURN_MS,
        ),
    ]


def real_length_section(real: Optional[dict[str, Any]]) -> list[str]:
    if not real:
        return []
    lines = [
        "## Messages of real length",
        "",
        f"One visitor, {real['conversations']} conversations of five turns: a greeting, a real question, a short",
        "follow-up, another real question and thanks. The questions are quoted from public pages",
        "(the training files data/nlu/real_voices.yml and real_quoted_*.yml; the test sets stay unread), in",
        "a fixed shuffled order, so their lengths are mixed as people write them. Each message goes to the",
        "assistant and to the same project trained with Rasa's default NLU pipeline (tests/configs/rasa_default.yml,",
        f"DIET for {real['default_pipeline_epochs']} epochs: a turn's latency does not depend on the training length;",
        f"trained in {fmt(real['default_pipeline_training_seconds'], ' s')}), one after the other, alternating which goes",
        f"first; both use the same action server. Other processes used {fmt(real['other_processes_cores'], ' cores', 2)} meanwhile.",
        "",
        "| pipeline | message length | turns | p50 ms | p95 ms | slowest ms |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, bands in real["pipelines"].items():
        for label, row in bands.items():
            lines.append(
                f"| {name} | {label if label != 'all' else '**all turns**'} | {row['turns']} | {fmt(row['p50'], '', 1)} "
                f"| {fmt(row['p95'], '', 1)} | {fmt(row['max'], '', 1)} |"
            )
    return lines + [""]


def mark(reached: Optional[bool]) -> str:
    return "n/a" if reached is None else ("yes" if reached else "**no**")


def markdown(figures: dict[str, Any], plot: str = "latency.png") -> str:
    m = figures["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (bench/run.py) on {figures['date']}, commit `{figures['commit']}`.",
        "Every figure below comes from that one run; run `make bench` again to refresh them.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory_gb']} GB; {m['os']} (Linux {m['kernel']})",
        f"- Python {m['python']}, Rasa {m['rasa']}; model `models/footcare.tar.gz` {fmt(figures['model_mb'], ' MB', 1)}",
        f"- load average when the run started: {', '.join(str(v) for v in m['load_average_at_start'])} "
        "(the machine is shared, so other work can slow a run down)",
        "",
        "## Targets",
        "",
        "| setup | target | measured | reached |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {s} | {t} | {v} | {mark(r)} |" for s, t, v, r in targets(figures)]
    lines += [
        "",
        "The default setup is the assistant as `make run` starts it (endpoints.yml). The production",
        "setup (endpoints.production.yml) is held to the same targets here, on the same machine, which",
        "then also runs PostgreSQL, Redis and a second Rasa worker; in a real deployment those run on",
        "their own machines.",
    ]
    busiest = max(
        [lv.get("other_processes_cores", 0) for setup in figures["setups"] for lv in setup["levels"]]
        + [setup.get("paired_other_processes_cores", 0) for setup in figures["setups"]],
        default=0,
    )
    if busiest > 0.2:
        lines += [
            "",
            f"Other processes on the machine used up to {busiest:.2f} cores while this ran (see below): "
            "throughput and latency are lower, and their spread wider, than on an idle machine.",
        ]
    lines += [
        "",
        "## Conversations through the REST channel",
        "",
        "Each simulated visitor walks scripted conversations (greeting, topic questions, yes/no",
        "follow-ups, a condition, thanks; bench/loadgen.py) and sends the next message as soon as",
        f"the reply arrives, for {fmt(figures['settings']['seconds'], ' s')} per level after a "
        f"{fmt(figures['settings']['warmup'], ' s')} warm-up. A turn is one POST to",
        "/webhooks/rest/webhook: NLU, the policies, the custom action on the action server and the",
        "tracker store read and write. Errors are failed requests, non-200 answers, empty replies",
        "and never-silent fallback replies.",
        "",
        f"![Turn latency and throughput]({plot})",
        "",
    ]
    for setup in figures["setups"]:
        lines += [
            f"### {setup_name(setup)}",
            "",
            "| concurrent conversations | turns | turns/s | errors | p50 ms | p95 ms | p99 ms "
            "| CPU ms/turn: Rasa | action server | PostgreSQL + Redis | other processes on the machine, cores |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for lv in setup["levels"]:
            latency, cpu = lv["latency_ms"], lv["cpu_ms_per_turn"]
            stores = cpu.get("postgresql", 0) + cpu.get("redis", 0) if "postgresql" in cpu else None
            lines.append(
                f"| {lv['concurrency']} | {lv['turns']} | {fmt(lv['turns_per_second'], '', 1)} | {lv['errors']} "
                f"| {fmt(latency['p50'], '', 1)} | {fmt(latency['p95'], '', 1)} | {fmt(latency['p99'], '', 1)} "
                f"| {fmt(cpu.get('rasa'), '', 1)} | {fmt(cpu.get('action_server'), '', 1)} | "
                f"{fmt(stores, '', 1) if stores is not None else '-'} | {fmt(lv.get('other_processes_cores'), '', 2)} |"
            )
            if lv["problems"]:
                lines.append(
                    f"| | errors: {', '.join(f'{k}: {v}' for k, v in lv['problems'].items())} | | | | | | | | | |"
                )
        parse, paired = setup["parse_ms"], setup["paired_turn_ms"]
        if not setup["parse_requests"]:  # the shipped setup: the same server as the default one
            lines += [
                "",
                "(One visitor's turn and `/model/parse` side by side: see the default setup, the same server.)",
                "",
            ]
        else:
            lines += [
                "",
                f"One visitor, each turn followed by `/model/parse` of the same text ({setup['parse_requests']} of each, "
                f"same server, same run; other processes used {fmt(setup.get('paired_other_processes_cores'), ' cores', 2)} "
                "meanwhile):",
                "",
                "| request | p50 ms | p95 ms | p99 ms |",
                "| --- | ---: | ---: | ---: |",
                f"| turn (REST channel) | {fmt(paired['p50'], '', 1)} | {fmt(paired['p95'], '', 1)} | {fmt(paired['p99'], '', 1)} |",
                f"| NLU only (`/model/parse`) | {fmt(parse['p50'], '', 1)} | {fmt(parse['p95'], '', 1)} | {fmt(parse['p99'], '', 1)} |",
                "",
            ]
        lines += [
            "Peak memory (VmHWM) of each process:",
            "",
            "| part | command | processes | peak MB of one | sum of peaks MB |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {p['process']} | {p['command']} | {p['processes']} | {p['peak_mb']} | {p['sum_mb']} |"
            for p in setup["memory"]
        ]
        lines.append("")
    lines += real_length_section(figures.get("real_lengths"))
    training = figures.get("training")
    lines += ["## Training", ""]
    if training:
        lines += [
            f"A cold `rasa train` (empty graph cache, so every component is trained) took "
            f"**{fmt(training['rasa_train_seconds'], ' s')}**; the spaCy pipeline build before it "
            f"{fmt(training['spacy_build_seconds'], ' s', 1)}; the model is {fmt(training['model_mb'], ' MB', 1)}.",
            "",
            "| component | seconds |",
            "| --- | ---: |",
        ]
        components = sorted(training["components_seconds"].items(), key=lambda item: -item[1])
        lines += [f"| {name} | {fmt(seconds)} |" for name, seconds in components]
    else:
        lines.append("Not measured in this run (`--skip-training`).")
    lines += [
        "",
        "## How it was measured",
        "",
        "- `make bench` starts everything itself on free loopback ports (footcare_testing/servers.py,",
        "  footcare_testing/datastores.py): the action server, the Rasa server with the project's REST channel,",
        "  and for the production setup PostgreSQL and Redis from Debian's packages.",
        "- The load generator is an asyncio client (aiohttp) in the same machine; it uses little CPU",
        "  next to the servers but shares the cores with them.",
        "- CPU ms per turn is the CPU time a part (the process and its children: Sanic workers,",
        '  PostgreSQL backends) used during the measured time, divided by the turns. "Other',
        '  processes" is the CPU the rest of the machine used meanwhile, in cores: the figures',
        "  are only comparable between runs where it is near 0. Peak memory is the kernel's",
        "  high-water mark (VmHWM) of each process at the end of the setup's run.",
        "- Raw figures, with every latency sample: results/bench.json.",
        "",
    ]
    return "\n".join(lines)


def plot(figures: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency_ax, throughput_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"default": "tab:blue", "shipped": "tab:green", "production": "tab:orange"}
    for setup in figures["setups"]:
        color = colors.get(setup["setup"], "tab:gray")
        levels = [lv["concurrency"] for lv in setup["levels"]]
        for key, style in (("p50", ":"), ("p95", "-"), ("p99", "--")):
            latency_ax.plot(
                levels,
                [lv["latency_ms"][key] for lv in setup["levels"]],
                style,
                marker="o",
                color=color,
                label=f"{setup['setup']} {key}",
            )
        latency_ax.axhline(MAX_TURN_P95_MS, color=color, alpha=0.4, linewidth=1)
        throughput_ax.plot(
            levels,
            [lv["turns_per_second"] for lv in setup["levels"]],
            marker="o",
            color=color,
            label=setup_name(setup).split(":")[0],
        )
    latency_ax.set_xscale("log")
    latency_ax.set_yscale("log")
    latency_ax.set_xlabel("concurrent conversations")
    latency_ax.set_ylabel("turn latency, ms")
    latency_ax.set_title("Turn latency (faint line: 2 x /model/parse p95)")
    latency_ax.legend(fontsize=7, ncol=2)
    throughput_ax.axhline(MIN_TURNS_PER_SECOND, color="gray", linestyle="--", linewidth=1, label="target")
    throughput_ax.set_xscale("log")
    throughput_ax.set_ylim(bottom=0)
    throughput_ax.set_xlabel("concurrent conversations")
    throughput_ax.set_ylabel("turns per second")
    throughput_ax.set_title("Throughput")
    throughput_ax.legend(fontsize=8)
    for ax in (latency_ax, throughput_ax):
        ax.set_xticks([lv["concurrency"] for lv in figures["setups"][0]["levels"]])
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.grid(alpha=0.3)
    fig.suptitle(f"Footcare assistant, {figures['machine']['cores']} cores, commit {figures['commit'].split()[0]}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def console(figures: dict[str, Any]) -> str:
    lines = []
    for setup in figures["setups"]:
        parse, paired = setup["parse_ms"], setup["paired_turn_ms"]
        lines.append(
            f"{setup_name(setup)}: side by side, turn p50 {fmt(paired['p50'], ' ms', 1)} "
            f"p95 {fmt(paired['p95'], ' ms', 1)}; /model/parse p50 {fmt(parse['p50'], ' ms', 1)} "
            f"p95 {fmt(parse['p95'], ' ms', 1)}"
        )
        for lv in setup["levels"]:
            latency = lv["latency_ms"]
            lines.append(
                f"  {lv['concurrency']:>3} conversations: {fmt(lv['turns_per_second'], ' turns/s', 1)}, "
                f"{lv['errors']} errors, p50 {fmt(latency['p50'], ' ms', 1)} p95 {fmt(latency['p95'], ' ms', 1)} "
                f"p99 {fmt(latency['p99'], ' ms', 1)}"
            )
    for setup_label, target, measured, reached in targets(figures):
        lines.append(f"target [{setup_label}] {target}: {measured} -> {mark(reached).strip('*')}")
    return "\n".join(lines)


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    figures = json.loads((root / "results" / "bench.json").read_text())
    plot(figures, root / "docs" / "latency.png")
    (root / "docs" / "benchmarks.md").write_text(markdown(figures, plot="latency.png"))
    print(console(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
