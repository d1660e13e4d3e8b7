#!/usr/bin/env bash
# Kills a test control plane whose owner died without stopping it (jest killed, a crash, SIGKILL), so no process
# outlives a test run. Started detached by the harness; exits as soon as the owner is gone and the plane is down.
#   watchdog.sh OWNER_PID PIDS_FILE STATE_DIR
# PIDS_FILE has one "PID COMMAND" line per component; a PID is signalled only while it still runs COMMAND.
set -u
owner=$1 pids_file=$2 state_dir=$3

while kill -0 "$owner" 2>/dev/null; do sleep 0.5; done

ours() { [[ -r /proc/$1/cmdline ]] && [[ "$(tr '\0' '\n' < "/proc/$1/cmdline" | head -n 1)" == "$2" ]]; }
signal_all() {
  [[ -r "$pids_file" ]] || return 0
  while read -r pid cmd; do ours "$pid" "$cmd" && kill "-$1" "$pid" 2>/dev/null; done < "$pids_file"
}
any_alive() {
  [[ -r "$pids_file" ]] || return 1
  while read -r pid cmd; do ours "$pid" "$cmd" && return 0; done < "$pids_file"
  return 1
}

signal_all TERM
for _ in $(seq 1 50); do any_alive || break; sleep 0.2; done
signal_all KILL
rm -rf -- "$state_dir"
