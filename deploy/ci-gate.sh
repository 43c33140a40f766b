#!/usr/bin/env bash
# Gate a deploy on `odoo-heal check`: run it on the Odoo host (over SSH, or locally when no host is
# given), keep its JSON as a CI artifact, print a short summary and turn the Nagios status into a
# pass/fail for the pipeline. Use it before a deploy (is the target healthy enough to deploy onto?)
# and after it (did the deploy break anything?). Examples: deploy/gitlab-ci.example.yml,
# deploy/github-actions.example.yml.
#
# Usage: deploy/ci-gate.sh [--host USER@HOST] [--fail-on warning|critical] [--unknown fail|pass]
#                          [--out FILE] [--timeout MS] [--ssh-opt KEY=VALUE]...
# Environment (same meaning, flags win): ODOO_HEAL_HOST, ODOO_HEAL_FAIL_ON, ODOO_HEAL_UNKNOWN,
#   ODOO_HEAL_ARTIFACT, ODOO_HEAL_TIMEOUT_MS, ODOO_HEAL_CMD (the command on the target; default
#   `odoo-heal`, e.g. `sudo -n -u odoo-heal odoo-heal --config /etc/odoo-heal/config.yaml`).
#
# Exit codes of this script:
#   0  gate passed (status below the --fail-on level)
#   1  gate failed: the host is unhealthy (WARNING with --fail-on warning, CRITICAL, UNKNOWN)
#   2  the gate could not run: SSH failed, odoo-heal missing, a usage/config error, output that is
#      not odoo-heal/check@1 JSON. A pipeline should treat this as a failure too, but it says
#      "fix the pipeline", not "fix the host".
set -euo pipefail

host="${ODOO_HEAL_HOST:-}"
fail_on="${ODOO_HEAL_FAIL_ON:-critical}"
unknown="${ODOO_HEAL_UNKNOWN:-fail}"
out="${ODOO_HEAL_ARTIFACT:-odoo-heal-check.json}"
timeout_ms="${ODOO_HEAL_TIMEOUT_MS:-8000}"
remote_cmd="${ODOO_HEAL_CMD:-odoo-heal}"
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=10)

die() { echo "ci-gate: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --host) host="${2:?--host needs USER@HOST}"; shift 2 ;;
    --fail-on) fail_on="${2:?--fail-on needs warning or critical}"; shift 2 ;;
    --unknown) unknown="${2:?--unknown needs fail or pass}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --timeout) timeout_ms="${2:?--timeout needs milliseconds}"; shift 2 ;;
    --ssh-opt) ssh_opts+=(-o "${2:?--ssh-opt needs an ssh -o option}"); shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
case "$fail_on" in warning|critical) ;; *) die "--fail-on: expected warning or critical, got '$fail_on'" ;; esac
case "$unknown" in fail|pass) ;; *) die "--unknown: expected fail or pass, got '$unknown'" ;; esac
case "$timeout_ms" in ''|*[!0-9]*) die "--timeout: expected milliseconds, got '$timeout_ms'" ;; esac

err="$(mktemp)"
trap 'rm -f "$err"' EXIT

# odoo-heal check exits 0/1/2/3 by status; `|| rc=$?` keeps set -e from stopping on a non-zero code.
rc=0
if [ -n "$host" ]; then
  # The remote shell gets one command string: ODOO_HEAL_CMD is trusted pipeline config, the
  # timeout is validated digits above.
  ssh "${ssh_opts[@]}" "$host" "$remote_cmd check --json --timeout $timeout_ms" >"$out" 2>"$err" || rc=$?
  where="$host"
else
  # Word splitting of ODOO_HEAL_CMD is intended (a command with its options).
  # shellcheck disable=SC2086
  $remote_cmd check --json --timeout "$timeout_ms" >"$out" 2>"$err" || rc=$?
  where="$(hostname)"
fi

if [ "$rc" -eq 255 ] && [ -n "$host" ]; then
  cat "$err" >&2
  die "could not reach $host over SSH (exit 255)"
fi
if ! grep -q '"format": *"odoo-heal/check@1"' "$out"; then
  cat "$err" >&2
  die "odoo-heal check on $where gave no odoo-heal/check@1 JSON (exit $rc); see the lines above"
fi

# The top-level status: jq when there is one; else the pretty-printed form (two-space indent) or the
# one-line form `check` prints when it runs out of time.
if command -v jq >/dev/null 2>&1; then
  status="$(jq -r '.status // empty' "$out")"
else
  status="$(sed -n 's/^  "status": *"\([a-z]*\)".*/\1/p' "$out" | head -n 1)"
  [ -n "$status" ] || status="$(sed -n '1s/^{.*"format":"odoo-heal\/check@1","status":"\([a-z]*\)".*/\1/p' "$out")"
fi
case "$rc:$status" in
  0:ok|1:warning|2:critical|3:unknown) ;;
  *) die "odoo-heal check on $where: exit code $rc does not match status '$status'" ;;
esac

echo "odoo-heal check on $where: ${status^^} (artifact: $out)"
if command -v jq >/dev/null 2>&1; then
  jq -r '
    (.probes[]? | select(.status != "ok") | "  probe \(.probe): \(.status | ascii_upcase) — \(.summary)"),
    (.incidents[]? | "  incident \(.id) [\(.severity)] ×\(.count): \(.title)"),
    (.logScan.errors[]? | "  log scan: \(.)")' "$out"
fi

case "$status" in
  ok) exit 0 ;;
  warning) [ "$fail_on" = warning ] && { echo "ci-gate: FAILED (WARNING and --fail-on warning)"; exit 1; }; exit 0 ;;
  critical) echo "ci-gate: FAILED (CRITICAL)"; exit 1 ;;
  unknown) [ "$unknown" = pass ] && { echo "ci-gate: passing although UNKNOWN (--unknown pass)"; exit 0; }; echo "ci-gate: FAILED (UNKNOWN: the check could not tell)"; exit 1 ;;
esac
