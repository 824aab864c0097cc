# shellcheck shell=sh
# Readiness gate, run over SSH as the admin user; the program sets data_dir in the line above.
# Succeeds once cloud-init has finished, the data volume is mounted and Docker answers. What it
# prints on failure is what `pulumi up` shows the operator.
: "${data_dir:?data_dir must be set before this script}"
: "${cloud_init_log:=/var/log/cloud-init-output.log}"

# The data-volume script's last lines in the cloud-init log (it runs at the first boot only).
show_mount_messages() {
  messages=$(sudo -n grep '^p2pvps-mount-data: ' "$cloud_init_log" | tail -n 5) || true
  if [ -n "$messages" ]; then
    printf 'the data-volume script (p2pvps-mount-data) said:\n%s\n' "$messages" >&2
  fi
}

status=0
cloud-init status --wait >/dev/null 2>&1 || status=$?
if [ "$status" -eq 2 ]; then
  echo "cloud-init finished with recoverable errors:" >&2
  cloud-init status --long >&2 || true
elif [ "$status" -ne 0 ]; then
  echo "cloud-init failed (exit $status)" >&2
  show_mount_messages
  echo "the end of $cloud_init_log:" >&2
  sudo -n tail -n 40 "$cloud_init_log" >&2
  exit 1
fi
if ! mountpoint -q "$data_dir"; then
  echo "the data volume is not mounted at $data_dir" >&2
  show_mount_messages
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "Docker does not answer for $(id -un); check 'systemctl status docker'" >&2
  exit 1
fi
echo "ready"
