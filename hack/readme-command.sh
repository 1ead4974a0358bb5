#!/usr/bin/env bash
# Runs command N of the fenced block at the top of README.md exactly as written, so CI proves what README promises.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: readme-command.sh N}"
command=$(awk '/^```sh$/{inside=1; next} /^```$/{if (inside) exit} inside && !/^#/ && NF' README.md | sed -n "${n}p")
[ -n "$command" ] || { echo "README.md has no command $n in its first sh block" >&2; exit 1; }
echo "+ $command" >&2
eval "$command"
