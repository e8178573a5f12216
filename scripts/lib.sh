# Shared by scripts/demo.sh, scripts/test.sh and scripts/screenshot.sh: what a fresh Debian
# machine lacks, asked of dpkg (a file glob is fooled: these machines ship libclang-cpp.so
# without libclang.so, and a package can be half-removed).

# Prints the packages among "$@" that dpkg does not report as installed.
missing_pkgs() {
  local p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || echo "$p"
  done
}

# Installs the packages among "$@" that are missing; as root only, else says what to run.
ensure_pkgs() {
  local missing
  missing=$(missing_pkgs "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "note: not a Debian system; make sure these (Debian names) are installed: $missing" >&2
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages: $missing" >&2
    echo "       install them with: sudo apt-get install -y $missing   (or run this script as root)" >&2
    return 1
  fi
  echo "== installing $missing"
  # A machine whose last dpkg run was cut off (a killed apt, a power cut: seen on a CI machine)
  # refuses every install with "dpkg was interrupted" until that run is finished. Finish it,
  # as apt's own message asks, rather than fail the whole set-up on it.
  if [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]; then
    echo "note: an earlier package installation was interrupted; finishing it (dpkg --configure -a)" >&2
    DEBIAN_FRONTEND=noninteractive dpkg --configure -a >/dev/null
  fi
  # The package lists of a fresh machine are empty; refresh them once per run.
  if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq; _APT_UPDATED=1; fi
  # A boot-time apt run may hold the lock for a while: wait for it instead of failing at once.
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends $missing >/dev/null
}

# Build dependencies: a C toolchain and libclang for nokhwa's bindgen (V4L2 bindings), and
# cmake with a C++ compiler for zxing-cpp's bundled source (the zxing-cpp decoder backend).
BUILD_PKGS=(build-essential g++ cmake libclang-dev ca-certificates)
# What the kiosk window loads at run time (winit/glutin dlopen these): X11 and Wayland
# clients, EGL/GLX with Mesa's software renderer for machines without a GPU, aplay, and
# espeak-ng for the spoken verdicts (src/voice.rs; its tests speak every prompt).
RUNTIME_PKGS=(libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon0 libxkbcommon-x11-0
  libwayland-client0 libwayland-cursor0 libwayland-egl1 libgl1 libegl1 libgl1-mesa-dri alsa-utils
  espeak-ng)
# A virtual display and a window manager (fullscreen needs one) for headless machines.
XVFB_PKGS=(xvfb xauth matchbox-window-manager)

# A free TCP port on 127.0.0.1, without python: random candidates that nobody answers on.
free_port() {
  local port i
  for i in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "error: no free TCP port found on 127.0.0.1" >&2
  return 1
}

# Makes sure cargo is on PATH (rustup installs it under ~/.cargo/bin).
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install Rust 1.95 with rustup first" >&2
    return 1
  fi
}

# Debian's Chromium and its WebDriver, for the web console's browser tests.
BROWSER_PKGS=(chromium chromium-driver)

# A throwaway PostgreSQL unless DATABASE_URL is set: a temp directory, a free port, run as the
# unprivileged postgres user (initdb refuses root), stopped however the calling script ends.
# Exports DATABASE_URL. (Its variables stay global: the EXIT trap reads them.)
start_throwaway_postgres() {
  [ -n "${DATABASE_URL:-}" ] && return 0
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pgdir=$(mktemp -d)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
  trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # A port can be taken between the probe and the start: try a few.
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/pg.log" -w \
      -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
      break
    fi
    [ "$attempt" = 5 ] && { echo "error: PostgreSQL did not start; its log:" >&2; cat "$pgdir/pg.log" >&2; exit 2; }
  done
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "== PostgreSQL on port $port"
}

# The kiosk binary to run: $KIOSK_BIN (one already built) or a release build; prints its
# absolute path.
# (Called as bin=$(kiosk_bin): set -e does not reach inside, so each step says its own failure.)
kiosk_bin() {
  local bin=${KIOSK_BIN:-}
  if [ -z "$bin" ]; then
    cargo build --release --locked --quiet --bin kiosk >&2 || return 1
    bin=target/release/kiosk
  fi
  realpath -e "$bin" || { echo "error: no kiosk binary at $bin" >&2; return 1; }
}
