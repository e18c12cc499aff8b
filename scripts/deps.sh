# Sourced by scripts/lab and scripts/test: installs the Debian packages
# palisade needs at run time (nft for the agent, ip for the lab and the
# kernel tests) when they are missing and we may install them.
ensure_packages() {
  local missing=()
  command -v nft >/dev/null 2>&1 || missing+=(nftables)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  # The seeds' own probes, which the lab's verbatim test runs as written.
  command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
  command -v ping >/dev/null 2>&1 || missing+=(iputils-ping)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
  fi
}
