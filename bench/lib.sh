# Shared by the bench scripts: a temporary directory in $tmp and the PIDs in `pids`, killed and
# removed when the script exits. Usage: . bench/lib.sh NAME
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
