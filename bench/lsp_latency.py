"""How long an editor waits for diagnostics: `autofix server`, from didChange to publishDiagnostics.

    python bench/lsp_latency.py [--lines 2000] [--edits 200] [--pauses 10] [--gaps 20] [--shape model|loops]

Starts the installed `autofix server`, opens a generated module of --lines lines (attention layers, heads whose
initialisation writes through `.detach()`, one training loop at the end: 16 GF101 findings at 2,000 lines; with
`--shape loops`, a training loop in every block instead), then sends --edits incremental didChange edits one after
another, as typing does: each types one character into a line of the module, and the next is sent as soon as
the previous one's diagnostics arrive. It prints the median and p95 of the didChange -> publishDiagnostics
latency (target p95 <= 100 ms), and, over --pauses edits each followed by a pause, how long after the edit the
diagnostics carrying each finding's quick fix arrive (built once typing pauses: server.IDLE_SECONDS, then
LibCST); and over --gaps edits, each sent a little longer after the previous one's diagnostics than the server
waits before it checks the whole text again (typing that resumes after a short pause), the didChange ->
publishDiagnostics latency of an edit that arrives while that check and the fixes' LibCST work run.
This is a benchmark, not a test: the figures go into docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
# The tests' stdio client, so that the benchmark speaks to the server as they do.
from lsp_client import Client

HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
CLEAN = '''class Block{i}(nn.Module):
    """A residual MLP block."""

    def __init__(self, dim=64, hidden=256, dropout=0.1):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)
        nn.init.zeros_(self.down.bias)

    def forward(self, x):
        h = self.up(self.norm(x))
        h = F.gelu(h)
        return x + self.drop(self.down(h))


def train_epoch{i}(model, loader, optimizer, scheduler, device="cpu"):
    model.train()
    total = 0.0
    for step, (x, y) in enumerate(loader):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()
    return total / max(1, step + 1)


'''
MODEL = '''class Attention{i}(nn.Module):
    """Multi-head self-attention."""

    def __init__(self, dim=64, heads=4, dropout=0.1):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)
        nn.init.xavier_uniform_(self.qkv.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, mask=None):
        b, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5
        if mask is not None:
            scores = scores.masked_fill(mask == 0, float("-inf"))
        weights = self.drop(scores.softmax(dim=-1))
        total = 0.0
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, d))


def count_parameters{i}(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


'''
TRAIN = '''def train(model, loader, epochs=1, lr=1e-3):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    for epoch in range(epochs):
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item()
    return model
'''
BUGGY = '''class Head{i}(nn.Module):
    def __init__(self, dim=64, classes=10):
        super().__init__()
        self.proj = nn.Linear(dim, classes)
        self.proj.weight.detach().zero_()

    def forward(self, x):
        return self.proj(x)


'''


def module(lines: int, shape: str = "model") -> str:
    """A modeling file (layers, a few initialisation bugs, one training loop at the end), or with `loops` a worst
    case: a training loop in every block, each of which the GF2xx and GF4xx flow analyses walk."""
    parts, i = [HEAD], 0
    tail = TRAIN if shape == "model" else ""
    while sum(p.count("\n") for p in parts) + tail.count("\n") < lines:
        parts.append(BUGGY.format(i=i) if i % 5 == 0 else (MODEL if shape == "model" else CLEAN).format(i=i))
        i += 1
    return "".join(parts) + tail


# Longer than the server's pause before it checks the whole text and builds fixes (server.IDLE_SECONDS, 0.3 s).
GAP_SECONDS = 0.4


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def server_cpu(client: Client) -> float:
    """CPU seconds the server process has used (Linux): less disturbed than wall time by other work on the machine."""
    fields = Path(f"/proc/{client.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_peak_rss_mb(client: Client) -> float:
    for line in Path(f"/proc/{client.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--pauses", type=int, default=10)
    parser.add_argument("--gaps", type=int, default=20)
    parser.add_argument("--shape", choices=("model", "loops"), default="model",
                        help="model: a modeling file with one training loop; loops: a training loop in every block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        text = module(args.lines, args.shape)
        path = root / "train.py"
        path.write_text(text)
        client = Client(root)
        client.initialize(root)
        document = client.open(path, text)
        findings = len(client.diagnostics(document, version=1))
        lines = text.split("\n")
        comment_lines = [n for n, line in enumerate(lines) if line.strip().startswith("total = 0.0")]

        def edit(version: int) -> None:
            line = comment_lines[version % len(comment_lines)]
            column = len(lines[line])
            lines[line] += "0"  # `total = 0.00...`: still valid Python, a finding-free line
            client.notify("textDocument/didChange", {
                "textDocument": {"uri": document, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": column},
                                              "end": {"line": line, "character": column}}, "text": "0"}],
            })

        latencies = []
        version = 1
        cpu_before, load_before = server_cpu(client), os.getloadavg()[0]
        for _ in range(args.edits):
            version += 1
            start = time.perf_counter()
            edit(version)
            got = client.diagnostics(document, version=version)
            latencies.append((time.perf_counter() - start) * 1000)
            assert len(got) == findings, (len(got), findings)
        cpu_per_edit = (server_cpu(client) - cpu_before) / args.edits * 1000
        load = (load_before + os.getloadavg()[0]) / 2

        with_fixes = []
        for _ in range(args.pauses):
            version += 1
            start = time.perf_counter()
            edit(version)
            client.diagnostics(document, version=version,
                               predicate=lambda ds: ds and all("fix" in d["data"] for d in ds))
            with_fixes.append((time.perf_counter() - start) * 1000)
        after_gap = []
        for _ in range(args.gaps):
            time.sleep(GAP_SECONDS)
            version += 1
            start = time.perf_counter()
            edit(version)
            client.diagnostics(document, version=version)
            after_gap.append((time.perf_counter() - start) * 1000)
        peak_mb = server_peak_rss_mb(client)
        assert client.shutdown() == 0

    print(f"Measured by `python bench/lsp_latency.py --lines {args.lines} --edits {args.edits} --pauses {args.pauses} --shape {args.shape}` "
          f"on {platform.machine()} ({os.cpu_count()} cores, load average {load:.1f} while typing), "
          f"Python {platform.python_version()}: a {len(lines)}-line module with {findings} findings; "
          f"the server used {cpu_per_edit:.0f} ms of CPU per edit, and {peak_mb:.0f} MB of memory at its peak.")
    print()
    print("| measure | median ms | p95 ms | samples |")
    print("|---|---:|---:|---:|")
    print(f"| didChange -> publishDiagnostics (typing) | {statistics.median(latencies):.1f} | "
          f"{percentile(latencies, 0.95):.1f} | {len(latencies)} |")
    print(f"| didChange -> diagnostics with quick fixes (after a pause) | {statistics.median(with_fixes):.1f} | "
          f"{percentile(with_fixes, 0.95):.1f} | {len(with_fixes)} |")
    if after_gap:
        print(f"| didChange {GAP_SECONDS:.2f} s after the last diagnostics -> publishDiagnostics (typing resumes "
              f"during the check after a pause) | {statistics.median(after_gap):.1f} | "
              f"{percentile(after_gap, 0.95):.1f} | {len(after_gap)} |")


if __name__ == "__main__":
    main()
