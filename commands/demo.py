"""``cli.py demo``: build the sample company workspace (data, demo users, models, scores)."""

from __future__ import annotations

import argparse
import time
from datetime import date

from data.errors import UserError
from data.users import create_demo_users
from data.workspace import open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build the demo workspace: a sample company with known churn causes")
    p.add_argument("--accounts", type=int, default=2000, help="number of accounts (default 2000)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same seed and end date give identical data")
    p.add_argument("--end", help="last day of history, YYYY-MM-DD (default: today)")
    p.add_argument("--force", action="store_true", help="replace the data already in the workspace")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the workspace already has data")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    build_demo(args.workspace, accounts=args.accounts, seed=args.seed, end=args.end,
               force=args.force, if_empty=args.if_empty)
    return 0


def _parse_end(end: str | date | None) -> date:
    if end is None:
        return date.today()
    if isinstance(end, date):
        return end
    try:
        return date.fromisoformat(end)
    except ValueError:
        raise UserError(f"--end {end!r} is not a date; use YYYY-MM-DD.") from None


def build_demo(workspace: str | None, *, accounts: int = 2000, seed: int = 42, end: str | date | None = None,
               force: bool = False, if_empty: bool = False, quiet: bool = False) -> bool:
    """Build the demo workspace; returns False when skipped because data exists (``if_empty``)."""
    from data.sample import generate_sample, write_sample  # deferred: import time (the CLI loads every command)

    def say(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    if accounts < 20 or accounts > 1_000_000:
        raise UserError("--accounts must be between 20 and 1,000,000.")
    ws = open_workspace(workspace)
    if force:
        ws.warehouse.discard_damaged_pointer()
    if ws.warehouse.has_data() and not force:
        if if_empty:
            say(f"Workspace {ws.path} already has data; leaving it as it is.")
            return False
        raise UserError(f"Workspace {ws.path} already has data; add --force to replace it with the demo.")
    end_date = _parse_end(end)
    t0 = time.perf_counter()
    say(f"Generating a sample company: {accounts:,} accounts, seed {seed}, history ending {end_date}...")
    tables = generate_sample(n_accounts=accounts, seed=seed, end=end_date)
    write_sample(ws.warehouse, tables, seed=seed, end=end_date)
    say(f"  data written in {time.perf_counter() - t0:.1f}s")
    users = create_demo_users(ws.settings.auth_file, tables["accounts"]["csm"].dropna().unique().tolist())
    say("  demo users: " + ", ".join(f"{u} ({r})" for u, r in users))
    for step in _post_demo_steps():
        step(ws, say)
    say(f"Demo workspace ready in {time.perf_counter() - t0:.1f}s: {ws.path}")
    return True


def _post_demo_steps():
    """Further demo steps from other rooms (train and score, playbook history), if present."""
    steps = []
    try:
        from models.demo import train_and_score_demo  # deferred: import time (the CLI loads every command)
    except ModuleNotFoundError:
        pass
    else:
        steps.append(train_and_score_demo)
    try:
        from playbooks.demo import seed_playbook_history  # deferred: import time (the CLI loads every command)
    except ModuleNotFoundError:
        pass
    else:
        steps.append(seed_playbook_history)
    return steps
