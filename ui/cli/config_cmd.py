"""`glimpse config show | path | keys`: the settings in force and where they live."""
from __future__ import annotations

import argparse

from assistant import config as cfg
from ui.cli.common import load_config, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show the settings in force, the config file's path, or "
                                      "every key with its default and allowed values")
    p.add_argument("action", choices=("show", "path", "keys"), nargs="?", default="show")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "path":
        print(cfg.config_path() if not args.config else args.config)
    elif args.action == "keys":
        for key, default, allowed, help_text in cfg.describe():
            print(f"{key} = {default!r}" + (f"  [{allowed}]" if allowed else "") + f"  # {help_text}")
    else:
        print_json(load_config(args).to_dict())
    return 0
