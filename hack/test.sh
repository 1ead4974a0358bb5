#!/usr/bin/env bash
# All the tests: installs the tools they run (helm, kubectl, lua) first, then runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/install-tools.sh >/dev/null
dotnet test ConsulOperator.sln
