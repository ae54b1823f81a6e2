"""``cli.py users``: add, list, remove users and set passwords (no demo needed)."""

from __future__ import annotations

import argparse
import getpass
import sys

from data import users as user_store
from data.errors import UserError
from data.opstore import audit
from data.workspace import open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="manage who can log in")
    usub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = usub.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=user_store.ROLES)
    add.add_argument("--csm", help="for csm users: the CSM name on the accounts in their book")
    add.add_argument("--email")
    add.add_argument("--name", help="display name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_add)

    sp = usub.add_parser("set-password", help="set a user's password")
    sp.add_argument("username")
    sp.add_argument("--password-stdin", action="store_true")
    sp.set_defaults(func=_set_password)

    rm = usub.add_parser("remove", help="remove a user")
    rm.add_argument("username")
    rm.set_defaults(func=_remove)

    ls = usub.add_parser("list", help="list users and roles")
    ls.set_defaults(func=_list)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != pw:
            raise UserError("The two passwords differ.")
    if not pw:
        raise UserError("No password given.")
    return pw


def _add(args) -> int:
    ws = open_workspace(args.workspace)
    pw = _read_password(args.password_stdin)
    user = user_store.add_user(ws.settings.auth_file, args.username, role=args.role, password=pw,
                               csm=args.csm, email=args.email, name=args.name)
    with ws.engine.begin() as conn:
        audit(conn, "cli", "user.add", user.username, role=args.role, csm=args.csm)
    print(f"added {user.username} ({args.role})")
    return 0


def _set_password(args) -> int:
    ws = open_workspace(args.workspace)
    if user_store.get_user(ws.settings.auth_file, args.username) is None:
        raise UserError(f"No user {args.username!r}.")
    user_store.set_password(ws.settings.auth_file, args.username, _read_password(args.password_stdin))
    with ws.engine.begin() as conn:
        audit(conn, "cli", "user.set_password", args.username)
    print(f"password set for {args.username}")
    return 0


def _remove(args) -> int:
    ws = open_workspace(args.workspace)
    user_store.remove_user(ws.settings.auth_file, args.username)
    with ws.engine.begin() as conn:
        audit(conn, "cli", "user.remove", args.username)
    print(f"removed {args.username}")
    return 0


def _list(args) -> int:
    ws = open_workspace(args.workspace)
    rows = user_store.list_users(ws.settings.auth_file)
    print(f"{'username':<20} {'role':<15} {'csm':<22} {'status':<8} email")
    for u in rows:
        print(f"{u.username:<20} {','.join(u.roles):<15} {u.csm or '':<22} {'disabled' if u.disabled else 'active':<8} {u.email}")
    return 0
