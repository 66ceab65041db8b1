#!/usr/bin/env bash
# pg-cluster.sh — a throwaway PostgreSQL cluster for tests.
#
#   pg-cluster.sh start DIR   initdb into DIR/data, listen on 127.0.0.1 on a
#                             free port (unix sockets in DIR), create the
#                             database chore_test, write its URL to DIR/url
#   pg-cluster.sh stop DIR    stop the cluster and remove DIR
#   pg-cluster.sh pause DIR   stop the server (fast: sessions are cut), keep
#                             its data, port and URL: a server outage
#   pg-cluster.sh resume DIR  start a paused server again on the same port
#                             and wait until it accepts connections
#
# Runs the server as the postgres user when run as root (PostgreSQL refuses
# to run as root). Settings favour speed over durability: the data is
# thrown away. A failed start stops what it started and removes DIR.
set -Eeuo pipefail

usage() { echo "usage: $0 start|stop|pause|resume DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
fi

# Run a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The server's settings on a port; start and resume must agree.
server_opts() {
  echo "-c listen_addresses=127.0.0.1 -p $1 -c unix_socket_directories=$dir \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c shared_buffers=32MB -c max_connections=200"
}

# The port of a started cluster, from the URL it wrote.
url_port() {
  [ -f "$dir/url" ] || { echo "pg-cluster: no cluster in $dir (no $dir/url)" >&2; exit 1; }
  sed -n 's|^postgres://[^@]*@[^:]*:\([0-9][0-9]*\)/.*$|\1|p' "$dir/url"
}

stop_cluster() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

case "$cmd" in
start)
  # A cluster left by an earlier run that was not stopped.
  [ -d "$dir" ] && { stop_cluster; rm -rf "$dir"; }
  mkdir -p "$dir"
  # Any failure from here on (set -e exits, EXIT runs) leaves nothing behind.
  trap 'stop_cluster; rm -rf "$dir"' EXIT
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    # The owner must reach DIR through its parents.
    d=$(dirname "$(readlink -f "$dir")")
    while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; false; }
  # A free port: bind to 0, read it back. Another process could take it
  # before the server does; pg_ctl then fails and we try another.
  started=0
  for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
      -o "$(server_opts "$port")" start >/dev/null; then
      started=1
      break
    fi
  done
  [ $started -eq 1 ] || { echo "pg-cluster: the server did not start" >&2; tail -n 20 "$dir/server.log" >&2; false; }
  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres chore_test
  echo "postgres://postgres@127.0.0.1:$port/chore_test" >"$dir/url"
  trap - EXIT
  echo "pg-cluster: $(cat "$dir/url")"
  ;;
stop)
  [ -d "$dir" ] || exit 0
  stop_cluster
  rm -rf "$dir"
  ;;
pause)
  port=$(url_port)
  if [ ! -f "$dir/data/postmaster.pid" ]; then
    echo "pg-cluster: the server in $dir is not running" >&2
    exit 1
  fi
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  echo "pg-cluster: paused (port $port)"
  ;;
resume)
  port=$(url_port)
  [ -n "$port" ] || { echo "pg-cluster: no port in $dir/url" >&2; exit 1; }
  if [ -f "$dir/data/postmaster.pid" ]; then
    echo "pg-cluster: the server in $dir is already running" >&2
    exit 1
  fi
  # -w waits until the server accepts connections; the port was ours and is
  # free again unless another process took it meanwhile (then this fails).
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
    -o "$(server_opts "$port")" start >/dev/null; then
    echo "pg-cluster: the server did not start again on port $port" >&2
    tail -n 20 "$dir/server.log" >&2
    exit 1
  fi
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 ||
    { echo "pg-cluster: the server does not accept connections on port $port" >&2; exit 1; }
  echo "pg-cluster: resumed (port $port)"
  ;;
*)
  usage
  ;;
esac
