# Sourced by the S3 benchmarks: start_s3rver DIR starts an s3rver keeping its objects in DIR on a free loopback port
# and waits until it answers; it sets s3rver_pid and endpoint (the caller stops it).
start_s3rver() {
    local dir=$1 port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    endpoint="http://127.0.0.1:$port"
    mkdir -p "$dir"
    # s3rver 3.7.1 signs list continuation tokens with DES, which current Node offers only through the legacy provider.
    NODE_OPTIONS=--openssl-legacy-provider s3rver --directory "$dir" --address 127.0.0.1 --port "$port" --silent >"$dir.log" 2>&1 &
    s3rver_pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "$endpoint" && return 0
        sleep 0.1
    done
    echo "s3rver did not answer on $endpoint (see $dir.log)" >&2
    return 1
}
