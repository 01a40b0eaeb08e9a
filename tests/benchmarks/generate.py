"""Generate a synthetic, realistic RL-training monorepo of about N lines (deterministic).

    python tests/benchmarks/generate.py OUT_DIR --lines 1000000 [--seed 0] [--rl-share 0.08]

The tree is shaped like a large ML monorepo in which RL post-training is one project among
several. Most of the code holds no reasoning and no grader:

- ``models/`` transformer layers, attention, MoE, norms; ``kernels/`` fused ops in a
  Triton-like style; ``pretrain/`` data loaders, optimizers, schedulers, checkpointing;
  ``serving/`` batching and sampling; ``infra/`` distributed plumbing, config, launchers.
  These import each other the way such code does (infra <- kernels <- models <- pretrain).
- ``rl/`` the post-training stack (about ``--rl-share`` of the lines): ``rl/common`` text
  helpers with no vocabulary word in them that still carry text between modules,
  per-team packages with reward functions (leaking and clean ones mixed: answer extraction,
  think-tag stripping, raw completions reaching graders, reasoning fields reaching judges),
  rollouts that decode and parse think sections, trainers registering reward functions,
  and launch scripts.

Same arguments -> byte-identical tree.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

# ---------------------------------------------------------------------------------------
# Non-RL code: model, kernel, pretraining, serving and infra modules

_INFRA = '''"""{doc}"""

import os
import time
from dataclasses import dataclass, field


@dataclass
class {cls}Settings:
    world_size: int = {n1}
    rank: int = 0
    backend: str = "nccl"
    timeout_s: float = {f1}
    tags: list = field(default_factory=list)


def env_int(name, default={n2}):
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


def {fn}_barrier(group, attempts={n3}):
    start = time.monotonic()
    for attempt in range(attempts):
        if group is None:
            return attempt
        ok = group.wait(timeout={f1})
        if ok:
            return time.monotonic() - start
    raise TimeoutError("barrier timed out after %d attempts" % attempts)


class {cls}Group:
    def __init__(self, settings):
        self.settings = settings
        self.members = list(range(settings.world_size))
        self.alive = set(self.members)

    def shard(self, items):
        per = max(1, len(items) // max(1, len(self.members)))
        return [items[i:i + per] for i in range(0, len(items), per)]

    def drop(self, member):
        self.alive.discard(member)
        return len(self.alive)

    def wait(self, timeout=1.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.alive) == len(self.members):
                return True
        return False
'''

_KERNEL = '''"""{doc}"""

import math

from {infra} import env_int

BLOCK_{up} = {n1}
NUM_WARPS = {n2}


def _cdiv(a, b):
    return (a + b - 1) // b


def {fn}_fwd(x, weight, bias=None, eps={f1}):
    rows, cols = len(x), len(x[0]) if x else 0
    out = [[0.0] * cols for _ in range(rows)]
    for r in range(rows):
        acc = 0.0
        for c in range(cols):
            acc += x[r][c] * x[r][c]
        inv = 1.0 / math.sqrt(acc / max(1, cols) + eps)
        for c in range(cols):
            val = x[r][c] * inv * weight[c]
            if bias is not None:
                val += bias[c]
            out[r][c] = val
    return out


def {fn}_bwd(grad, x, weight, eps={f1}):
    rows = len(grad)
    dx = []
    dw = [0.0] * len(weight)
    for r in range(rows):
        row = []
        for c, g in enumerate(grad[r]):
            row.append(g * weight[c])
            dw[c] += g * x[r][c]
        dx.append(row)
    return dx, dw


def launch_{fn}(x, weight, grid=None):
    blocks = grid or _cdiv(len(x), BLOCK_{up})
    warps = env_int("NUM_WARPS", NUM_WARPS)
    chunks = []
    for b in range(blocks):
        lo, hi = b * BLOCK_{up}, min(len(x), (b + 1) * BLOCK_{up})
        chunks.append({fn}_fwd(x[lo:hi], weight))
    return [row for chunk in chunks for row in chunk], warps
'''

_MODEL = '''"""{doc}"""

import math

from {kernel} import launch_{kfn}
from {infra} import {icls}Settings


class {cls}Config:
    def __init__(self, hidden={n1}, heads={n2}, layers={n3}, dropout={f1}):
        self.hidden = hidden
        self.heads = heads
        self.layers = layers
        self.dropout = dropout
        self.head_dim = hidden // heads


class {cls}Attention:
    def __init__(self, config):
        self.config = config
        self.scale = 1.0 / math.sqrt(config.head_dim)
        self.q = [[0.01 * (i + j) for j in range(config.hidden)] for i in range(4)]

    def forward(self, hidden_states, mask=None):
        weights = []
        for i, h in enumerate(hidden_states):
            row = []
            for j, k in enumerate(hidden_states):
                dot = sum(a * b for a, b in zip(h, k)) * self.scale
                if mask is not None and not mask[i][j]:
                    dot = -1e9
                row.append(dot)
            top = max(row)
            exp = [math.exp(v - top) for v in row]
            total = sum(exp)
            weights.append([v / total for v in exp])
        attn_out = []
        for w in weights:
            attn_out.append([sum(wi * hs[c] for wi, hs in zip(w, hidden_states))
                             for c in range(len(hidden_states[0]))])
        return attn_out, weights


class {cls}MLP:
    def __init__(self, config):
        self.config = config
        self.up = [1.0] * config.hidden

    def forward(self, x):
        h, _ = launch_{kfn}(x, self.up)
        return [[v * (1.0 / (1.0 + math.exp(-v))) for v in row] for row in h]


class {cls}Block:
    def __init__(self, config):
        self.attn = {cls}Attention(config)
        self.mlp = {cls}MLP(config)

    def forward(self, hidden_states, mask=None):
        attn_out, _ = self.attn.forward(hidden_states, mask)
        hidden_states = [[a + b for a, b in zip(r1, r2)]
                         for r1, r2 in zip(hidden_states, attn_out)]
        mlp_out = self.mlp.forward(hidden_states)
        return [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(hidden_states, mlp_out)]


class {cls}Model:
    def __init__(self, config, settings=None):
        self.config = config
        self.settings = settings or {icls}Settings()
        self.blocks = [{cls}Block(config) for _ in range(config.layers)]

    def forward(self, input_embeds, mask=None):
        hidden_states = input_embeds
        for block in self.blocks:
            hidden_states = block.forward(hidden_states, mask)
        return hidden_states

    def num_parameters(self):
        per_block = 4 * self.config.hidden * self.config.hidden
        return per_block * len(self.blocks)
'''

_PRETRAIN = '''"""{doc}"""

import json
import os

from {model} import {mcls}Config, {mcls}Model


class {cls}Loader:
    def __init__(self, paths, batch_size={n1}, seq_len={n2}):
        self.paths = sorted(paths)
        self.batch_size = batch_size
        self.seq_len = seq_len

    def __iter__(self):
        buf = []
        for path in self.paths:
            with open(path) as fh:
                for line in fh:
                    record = json.loads(line)
                    buf.extend(record.get("ids", []))
                    while len(buf) >= self.batch_size * self.seq_len:
                        chunk = buf[: self.batch_size * self.seq_len]
                        buf = buf[self.batch_size * self.seq_len:]
                        yield [chunk[i:i + self.seq_len]
                               for i in range(0, len(chunk), self.seq_len)]


def cosine_lr(step, warmup={n3}, total={n4}, peak={f1}):
    if step < warmup:
        return peak * step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * peak * (1 + __import__("math").cos(3.141592653589793 * progress))


def {fn}_train(data_dir, steps={n4}, out_dir="ckpt"):
    config = {mcls}Config()
    model = {mcls}Model(config)
    loader = {cls}Loader([os.path.join(data_dir, f) for f in os.listdir(data_dir)])
    history = []
    for step, batch in enumerate(loader):
        if step >= steps:
            break
        lr = cosine_lr(step)
        embeds = [[float(t % 7) for t in seq[: config.hidden]] for seq in batch]
        hidden = model.forward(embeds)
        loss = sum(sum(abs(v) for v in row) for row in hidden) / max(1, len(hidden))
        history.append((step, lr, loss))
        if step % 100 == 0:
            os.makedirs(out_dir, exist_ok=True)
            with open(os.path.join(out_dir, "step_%d.json" % step), "w") as fh:
                json.dump({{"step": step, "loss": loss}}, fh)
    return history
'''

_LAUNCH = '''"""{doc}"""

import argparse
import subprocess
import sys

from {pretrain} import {fn}_train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="{doc}")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--steps", type=int, default={n1})
    parser.add_argument("--nodes", type=int, default={n2})
    parser.add_argument("--dry-run", action="store_true")
    return parser.parse_args(argv)


def build_command(args):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(args.nodes)]
    cmd += ["--data-dir", args.data_dir, "--steps", str(args.steps)]
    return cmd


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        return {fn}_train(args.data_dir, steps=args.steps)
    return subprocess.call(build_command(args))


if __name__ == "__main__":
    raise SystemExit(main())
'''

# ---------------------------------------------------------------------------------------
# RL post-training code: helpers, rewards (leaking and clean), rollouts, trainers

_RL_TEXT = '''"""Text helpers shared by the RL teams. No vocabulary word in here, yet text flows
through every function (a pre-filter that skipped this file would lose paths)."""

import re
import unicodedata


def normalize(text):
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\\s+", " ", text).strip()


def first_line(text):
    return text.splitlines()[0] if text else ""


def take_tail(text, n={n1}):
    return text[-n:]


def join_parts(parts, sep="\\n"):
    return sep.join(p for p in parts if p)


class TextBuffer:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def latest(self):
        return self.items[-1] if self.items else ""
'''

_RL_TAGS = '''"""Tag constants and answer extraction."""

import re

THINK_START = "<think>"
THINK_END = "</think>"
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def extract_answer(text):
    match = ANSWER_RE.search(text)
    return match.group(1).strip() if match else ""


def strip_think(text):
    return text.split(THINK_END)[-1]
'''

_RL_REWARD_HEAD = '''"""Reward functions of team {team}."""

import re

from rl.common.tags import THINK_END, extract_answer, strip_think
from rl.common.text import first_line, normalize, take_tail

'''

_REWARDS = [
    # clean: answer extraction
    '''def accuracy_reward_{i}(completions, solution, **kwargs):
    rewards = []
    for completion, sol in zip(completions, solution):
        answer = extract_answer(completion[0]["content"])
        rewards.append(1.0 if normalize(answer) == normalize(sol) else 0.0)
    return rewards

''',
    # leak: raw completion reaches a grader through a vocabulary-free helper
    '''def format_reward_{i}(completions, **kwargs):
    return [1.0 if first_line(c).startswith("<think>") else 0.0  # leakcheck: ignore[LC102]
            for c in completions]

''',
    # clean: think section stripped
    '''def length_reward_{i}(completions, **kwargs):
    out = []
    for c in completions:
        text = strip_think(c)
        out.append(min(1.0, len(text) / {n1}))
    return out

''',
    # leak: the text before </think> is reasoning
    '''def reasoning_bonus_{i}(completions, **kwargs):
    scores = []
    for c in completions:
        thought = c.split(THINK_END)[0]
        scores.append(0.1 * len(normalize(thought).split()))
    return scores

''',
    # clean: tail of the stripped answer only
    '''def tail_match_reward_{i}(completions, solution, **kwargs):
    rewards = []
    for completion, sol in zip(completions, solution):
        answer = strip_think(completion)
        rewards.append(float(sol in take_tail(answer)))
    return rewards

''',
]

_RL_JUDGE = '''"""LLM-judge client of team {team}."""

from rl.common.text import join_parts, normalize


class Judge{k}:
    def __init__(self, client, model="judge-{k}"):
        self.client = client
        self.model = model

    def judge(self, question, answer):
        prompt = join_parts(["Question: " + question, "Answer: " + answer])
        reply = self.client.complete(model=self.model, prompt=prompt)
        return float(normalize(reply.text) == "yes")


def judge_reasoning(judge, question, message):
    reasoning = message.reasoning_content
    return judge.judge(question, reasoning)


def judge_answer(judge, question, message):
    return judge.judge(question, message.content)
'''

_RL_ROLLOUT = '''"""Rollout workers of team {team}."""

from rl.common.text import TextBuffer, normalize
from rl.{team}.judge import Judge{k}


class Rollout{k}:
    def __init__(self, engine, tokenizer, client):
        self.engine = engine
        self.tokenizer = tokenizer
        self.judge = Judge{k}(client)
        self.buffer = TextBuffer()

    def generate(self, prompts, max_new={n1}):
        out = self.engine.generate(prompts, max_new_tokens=max_new)
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [normalize(t) for t in texts]

    def score_batch(self, prompts, questions):
        texts = self.generate(prompts)
        results = []
        for q, text in zip(questions, texts):
            answer = text.split("</think>")[-1]
            results.append(self.judge.judge(q, answer))
        return results

    def score_raw(self, prompts, questions):
        texts = self.generate(prompts)
        for text in texts:
            self.buffer.push(text)
        return [self.judge.judge(q, self.buffer.latest()) for q in questions]
'''

_RL_TRAINER = '''"""Trainer wiring of team {team}."""

from rl.{team} import rewards
from rl.{team}.rollout import Rollout{k}


def make_trainer(model, dataset, tokenizer, client, trainer_cls):
    funcs = [{funcs}]
    rollout = Rollout{k}(model, tokenizer, client)
    return trainer_cls(model=model, reward_funcs=funcs, train_dataset=dataset), rollout


def run(model, dataset, tokenizer, client, trainer_cls, steps={n1}):
    trainer, rollout = make_trainer(model, dataset, tokenizer, client, trainer_cls)
    for _ in range(steps):
        trainer.step()
    return trainer
'''

_RL_LAUNCH = '''"""Launch script of team {team}."""

import argparse

from rl.{team}.trainer import run


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default={n1})
    args = parser.parse_args(argv)
    return run(None, [], None, None, dict, steps=args.steps)
'''


def _names(rng: random.Random, n: int, stem: str) -> list[str]:
    return [f"{stem}{i:04d}" for i in range(n)]


def _fill(template: str, rng: random.Random, **names: str) -> str:
    nums = {f"n{k}": rng.randint(2, 4096) for k in range(1, 6)}
    floats = {f"f{k}": round(rng.uniform(1e-6, 2.0), 6) for k in range(1, 3)}
    return template.format(**nums, **floats, **names)


def _multi(template: str, rng: random.Random, own: tuple[str, ...], **names: str) -> str:
    """A module holding 3-6 variants of ``template`` (real modules hold several classes and
    functions): names in ``own`` get a suffix per variant, imports are kept once."""
    parts = []
    for j in range(rng.randint(3, 6)):
        variant = {k: (v if j == 0 or k not in own else f"{v}V{j}") for k, v in names.items()}
        text = _fill(template, rng, **variant)
        if j:
            lines = text.split("\n")
            body = [ln for ln in lines[1:] if not ln.startswith(("import ", "from "))]
            text = "\n".join(body).lstrip("\n")
        parts.append(text.rstrip("\n") + "\n")
    return "\n\n".join(parts)


class Tree:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.lines = 0
        self.files = 0

    def write(self, rel: str, text: str) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.lines += text.count("\n")
        self.files += 1

    def package(self, rel: str) -> None:
        self.write(f"{rel}/__init__.py", "")


def _gen_rl(tree: Tree, rng: random.Random, budget: int) -> None:
    tree.package("rl")
    tree.package("rl/common")
    tree.write("rl/common/text.py", _fill(_RL_TEXT, rng))
    tree.write("rl/common/tags.py", _RL_TAGS)
    k = 0
    while tree.lines < budget:
        team = f"team{k:03d}"
        base = f"rl/{team}"
        tree.package(base)
        body = [_RL_REWARD_HEAD.format(team=team)]
        funcs = []
        for i in range(rng.randint(6, 14)):
            # most reward functions are clean; a few leak (raw text or the think section)
            template = rng.choices(_REWARDS, weights=(10, 1, 10, 1, 10))[0]
            body.append(_fill(template, rng, i=str(i)))
            funcs.append("rewards." + template.split("(", 1)[0].split("def ", 1)[1]
                         .replace("{i}", str(i)))
        tree.write(f"{base}/rewards.py", "".join(body).rstrip() + "\n")
        judge = _fill(_RL_JUDGE, rng, team=team, k=str(k))
        if k % 8:  # one team in eight sends the reasoning to its judge
            judge = judge.replace("reasoning = message.reasoning_content", "text = message.content"
                                  ).replace("(question, reasoning)", "(question, text)"
                                            ).replace("judge_reasoning", "judge_final")
        tree.write(f"{base}/judge.py", judge)
        tree.write(f"{base}/rollout.py", _fill(_RL_ROLLOUT, rng, team=team, k=str(k)))
        tree.write(f"{base}/trainer.py", _fill(_RL_TRAINER, rng, team=team, k=str(k),
                                               funcs=", ".join(funcs)))
        tree.write(f"{base}/launch.py", _fill(_RL_LAUNCH, rng, team=team))
        k += 1


def _gen_rest(tree: Tree, rng: random.Random, target: int) -> None:
    # one "group" = an infra module, two kernels, three models, two pretraining modules and
    # a launcher, importing down the stack; groups repeat until the line budget is spent
    for top in ("infra", "kernels", "models", "pretrain", "launchers"):
        tree.package(top)
    g = 0
    while tree.lines < target:
        infra_mod = f"infra.dist{g:04d}"
        icls = f"Dist{g:04d}"
        tree.write(f"infra/dist{g:04d}.py", _multi(_INFRA, rng, ("cls", "fn"),
                                                   doc="Process-group plumbing.", cls=icls,
                                                   fn=f"dist{g:04d}"))
        kernels = []
        for j in range(2):
            name = f"k{g:04d}_{j}"
            kernels.append(name)
            tree.write(f"kernels/{name}.py", _multi(_KERNEL, rng, ("up", "fn"),
                                                     doc="Fused normalization.",
                                                     infra=infra_mod, up=name.upper(),
                                                     fn=f"rms_{name}"))
        models = []
        for j in range(3):
            mname = f"m{g:04d}_{j}"
            mcls = f"Net{g:04d}{j}"
            models.append((mname, mcls))
            kern = kernels[j % 2]
            tree.write(f"models/{mname}.py", _multi(
                _MODEL, rng, ("cls",), doc="Decoder-only transformer.", kernel=f"kernels.{kern}",
                kfn=f"rms_{kern}", infra=infra_mod, icls=icls, cls=mcls))
        for j in range(2):
            pname = f"p{g:04d}_{j}"
            mname, mcls = models[j]
            tree.write(f"pretrain/{pname}.py", _multi(
                _PRETRAIN, rng, ("cls", "fn"), doc="Pretraining loop.", model=f"models.{mname}",
                mcls=mcls,
                cls=f"Shard{g:04d}{j}", fn=f"pre{g:04d}_{j}"))
        tree.write(f"launchers/launch{g:04d}.py", _fill(
            _LAUNCH, rng, doc="Launch a pretraining job.", pretrain=f"pretrain.p{g:04d}_0",
            fn=f"pre{g:04d}_0"))
        g += 1


def generate(out: Path, lines: int, seed: int = 0, rl_share: float = 0.08) -> Tree:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(seed)
    tree = Tree(out)
    (out / "pyproject.toml").write_text('[project]\nname = "synthetic-monorepo"\n')
    _gen_rl(tree, rng, max(400, int(lines * rl_share)))
    _gen_rest(tree, rng, lines)
    return tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rl-share", type=float, default=0.08)
    args = ap.parse_args()
    tree = generate(args.out, args.lines, args.seed, args.rl_share)
    print(f"{args.out}: {tree.files} files, {tree.lines} lines")


if __name__ == "__main__":
    main()
