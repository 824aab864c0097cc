# Readiness gate, run over SSH as the admin user; the program sets data_dir in the line above.
# Succeeds once cloud-init has finished, the data volume is mounted and Docker answers.
: "${data_dir:?data_dir must be set before this script}"
status=0
cloud-init status --wait >/dev/null 2>&1 || status=$?
if [ "$status" -eq 2 ]; then
  echo "cloud-init finished with recoverable errors:" >&2
  cloud-init status --long >&2 || true
elif [ "$status" -ne 0 ]; then
  echo "cloud-init failed (exit $status); the end of /var/log/cloud-init-output.log:" >&2
  sudo -n tail -n 40 /var/log/cloud-init-output.log >&2
  exit 1
fi
if ! mountpoint -q "$data_dir"; then
  echo "the data volume is not mounted at $data_dir" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "Docker does not answer for $(id -un); check 'systemctl status docker'" >&2
  exit 1
fi
echo "ready"
