# bulwark's box-side helper (remote mode). Sent with every call as the script of `sh -c`, so nothing
# is installed on the box. POSIX sh only: it must run under dash, busybox ash and bash 3.2, with the
# coreutils of CentOS 5 or busybox (ls, cat, cp, mv, rm, mkdir, chmod, chown, readlink, tar, sync).
# Never Node, Python, Perl or bash features. Checked with `shellcheck -s sh` in the test suite.
#
# Usage: sh -c "$HELPER" bulwark-helper OP ARGS...
#   meta PATH...          one line per path: "- " (absent) or "TYPE MODE UID GID SIZE" from ls -lnd
#                         (TYPE is ls's first character: - file, l link, d directory, other)
#   resolve PATH...       one line per path: the path with every symlink resolved, as a chroot at /
#                         would; a missing last part is kept; "!" after 40 links
#   readlink PATH...      one line per path: the link's target ("" when not a link)
#   read FOLLOW PATH...   header lines, then a line ".", then a tar archive (names relative to /) of
#                         the regular files among them. FOLLOW=1 resolves each path first. Header per
#                         path: "INDEX REALPATH" then its meta line (as `meta`), then for a symlink
#                         its target on the next line.
#   preload ROOT...       the box's configuration in one round trip. Lines "P DIR" each followed by
#                         `ls -lnL DIR` of a program directory; a line "M", then `ls -lnd` of every
#                         path under the ROOTs; a line "."; then a gzip'ed tar of the regular files
#                         under the ROOTs up to 1 MiB, but for secrets bulwark never reads (shadow
#                         files, SSH host keys, /etc/ssl/private: listed, never sent)
#   list DIR              the names in DIR (after resolving it), one a line, without . and ..
#   programs NAME...      "NAME PATH" for each program found in the usual directories
#   write                 stdin: a tar archive of the contents (members 0, 1, ...) and "specs", one
#                         line a file: "MEMBER MODE UID GID NOFOLLOW FORCEMETA PATH". Each file is
#                         written as Host.writeAtomic does (temp file in the target's directory,
#                         mode and owner, rename; an existing file keeps its own mode and owner unless
#                         FORCEMETA); the archive is unpacked whole before the first rename, and
#                         hang-ups are ignored from then on, so a dropped connection never leaves
#                         half the files written. Prints "D DIR" for every directory it created,
#                         "F MODE UID GID REALPATH" for every file written, then "wrote N".
#   symlink PATH TARGET [UID GID]   replaces PATH itself with a link (temp link, rename)
#   mkdir DIR             prints "D DIR" for every directory it created
#   remove PATH           removes the path itself (a link, not its target)
#   rmdir DIR             prints "removed" or "kept" (not empty)
#   chmod MODE PATH
# bulwark's own state directory (journal, snapshots, lock, guard), in the format the local side writes:
#   durable FILE MODE [keep]  stdin: the content; written to a temp file, synced, renamed over FILE
#                         (with keep: left alone if FILE exists — content-addressed objects)
#   excl FILE             stdin: the content; creates FILE only if it does not exist (noclobber:
#                         O_EXCL); prints "created" or "exists"
#   privdir DIR           makes DIR (0700; parents 0755) and tightens it if looser
#   writable DIR          exit 0 when DIR can be written
#   age FILE              seconds since FILE last changed; "-" when absent
#   proc PID              "alive STARTTIME" (field 22 of /proc/PID/stat) or "dead"
#   serve                 answers many requests in one session, and owns the lock while it lasts
#                         (see serve() below)
#   keeper LOCKFILE       prints "PID STARTTIME" of itself, then waits until its stdin closes (the
#                         workstation's run ended, or its connection died) and removes LOCKFILE if
#                         it still names this process: the lock's owner on the box in remote mode
set -u
LC_ALL=C
export LC_ALL
PROGRAM_DIRS='/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin'

fail() {
  printf 'bulwark-helper: %s\n' "$*" >&2
  exit 70
}

# The first fields of `ls -lnd`: type and permission string, uid, gid, size.
meta_line() {
  if [ ! -e "$1" ] && [ ! -h "$1" ]; then
    printf -- '- \n'
    return
  fi
  # shellcheck disable=SC2046 # word splitting of ls's fields is the point
  set -- $(ls -lnd -- "$1")
  printf '%s %s %s %s\n' "$1" "$3" "$4" "$5"
}

resolve_path() {
  rest=$1
  out=
  hops=0
  while [ -n "$rest" ]; do
    case $rest in
      /*) rest=${rest#/}; continue ;;
    esac
    part=${rest%%/*}
    if [ "$part" = "$rest" ]; then rest=; else rest=${rest#*/}; fi
    case $part in
      '' | .) continue ;;
      ..) out=${out%/*}; continue ;;
    esac
    candidate=$out/$part
    if [ -h "$candidate" ]; then
      hops=$((hops + 1))
      if [ "$hops" -gt 40 ]; then
        printf '!\n'
        return
      fi
      target=$(readlink -- "$candidate")
      case $target in
        /*) out= ;;
      esac
      if [ -n "$rest" ]; then rest=$target/$rest; else rest=$target; fi
    elif [ -e "$candidate" ]; then
      out=$candidate
    else
      # A missing part: the rest is kept as written (the path of a file to create).
      out=$candidate
      while [ -n "$rest" ]; do
        part=${rest%%/*}
        if [ "$part" = "$rest" ]; then rest=; else rest=${rest#*/}; fi
        case $part in '' | .) ;; *) out=$out/$part ;; esac
      done
    fi
  done
  printf '%s\n' "${out:-/}"
}

# Permission string (rwxr-sr-T...) to octal, as chmod wants it.
mode_octal() {
  perms=$1
  special=0
  total=0
  for shift_by in 6 3 0; do
    triple=$(printf '%s' "$perms" | cut -c1-3)
    perms=$(printf '%s' "$perms" | cut -c4-)
    value=0
    case $triple in r??) value=$((value + 4)) ;; esac
    case $triple in ?w?) value=$((value + 2)) ;; esac
    case $triple in ??x | ??s | ??t) value=$((value + 1)) ;; esac
    case $triple in
      ??s | ??S) if [ "$shift_by" -eq 6 ]; then special=$((special + 4)); else special=$((special + 2)); fi ;;
      ??t | ??T) special=$((special + 1)) ;;
    esac
    total=$((total * 8 + value))
  done
  printf '%o\n' $((special * 512 + total))
}

# mkdir -p that reports each directory it made (for the rollback), parents first.
make_dirs() {
  dir=$1
  missing=
  while [ "$dir" != / ] && [ -n "$dir" ] && [ ! -e "$dir" ] && [ ! -h "$dir" ]; do
    missing="$dir
$missing"
    dir=$(dirname -- "$dir")
  done
  old_ifs=$IFS
  IFS='
'
  for dir in $missing; do
    [ -n "$dir" ] || continue
    mkdir -m 755 -- "$dir" || fail "cannot create $dir"
    printf 'D %s\n' "$dir"
  done
  IFS=$old_ifs
}

# Sets meta_mode (octal), meta_uid and meta_gid of an existing path.
file_meta() {
  # shellcheck disable=SC2046 # word splitting of ls's fields is the point
  set -- $(ls -lnd -- "$1")
  meta_mode=$(mode_octal "$(printf '%s' "$1" | cut -c2-10)")
  meta_uid=$3
  meta_gid=$4
}

# Field 22 of /proc/PID/stat (the start time); the command name may hold spaces and parentheses.
start_time() {
  stat_line=
  read -r stat_line <"/proc/$1/stat" 2>/dev/null || return 1
  # shellcheck disable=SC2086 # the fields after the command name, split on spaces
  set -- ${stat_line##*) }
  # A zombie (Z) has ended; only its parent has not collected it yet.
  [ "$1" = Z ] && return 1
  shift 19
  printf '%s\n' "$1"
}

sync_if_possible() {
  if command -v sync >/dev/null 2>&1; then sync; fi
}

# One operation: its arguments after the name.
main() {
op=${1:-}
[ $# -gt 0 ] && shift
case $op in
  meta)
    for path in "$@"; do meta_line "$path"; done
    ;;
  resolve)
    for path in "$@"; do resolve_path "$path"; done
    ;;
  readlink)
    for path in "$@"; do
      if [ -h "$path" ]; then printf '%s\n' "$(readlink -- "$path")"; else printf '\n'; fi
    done
    ;;
  read)
    follow=$1
    shift
    index=0
    files=
    for path in "$@"; do
      if [ "$follow" = 1 ]; then real=$(resolve_path "$path"); else real=$path; fi
      printf '%s %s\n' "$index" "$real"
      meta_line "$real"
      if [ -h "$real" ]; then printf '%s\n' "$(readlink -- "$real")"; fi
      if [ -f "$real" ] && [ ! -h "$real" ] && [ -r "$real" ]; then
        files="$files
${real#/}"
      fi
      index=$((index + 1))
    done
    printf '.\n'
    if [ -n "$files" ]; then
      old_ifs=$IFS
      IFS='
'
      # shellcheck disable=SC2086 # one name a line: split on newlines only
      set -- $files
      IFS=$old_ifs
      cd / && tar -cf - -- "$@"
    fi
    ;;
  preload)
    for dir in $PROGRAM_DIRS; do
      printf 'P %s\n' "$dir"
      # shellcheck disable=SC2010,SC2012 # names and modes of one directory; find -printf is GNU only
      ls -lnL -- "$dir" 2>/dev/null | grep -v '^total '
    done
    printf 'M\n'
    roots=
    cd / || fail 'cannot enter /'
    for root in "$@"; do
      # the directories above each root (a link among them, /lib -> usr/lib, decides where paths lead)
      above=${root%/*}
      while [ "$above" != "$root" ] && [ -n "$above" ]; do
        ls -lnd -- "$above" 2>/dev/null
        case $above in */*) above=${above%/*} ;; *) above= ;; esac
      done
      if [ -e "$root" ] || [ -h "$root" ]; then roots="$roots $root"; fi
    done
    if [ -n "$roots" ]; then
      # shellcheck disable=SC2086 # the roots are bulwark's own fixed list, without spaces
      find $roots -exec ls -lnd {} + 2>/dev/null
    fi
    printf '.\n'
    if [ -n "$roots" ]; then
      # shellcheck disable=SC2086
      find $roots \( -path etc/shadow -o -path etc/gshadow -o -path 'etc/shadow-' -o -path 'etc/gshadow-' -o -path 'etc/ssh/ssh_host_*key' -o -path etc/ssl/private -o -path etc/pki/tls/private \) -prune -o -type f -size -2048 -print 2>/dev/null | tar -cf - -T - 2>/dev/null | gzip -1
    fi
    ;;
  list)
    dir=$(resolve_path "$1")
    if [ -d "$dir" ]; then
      # shellcheck disable=SC2012 # find -mindepth/-printf are not in busybox or CentOS 5's find
      ls -a -- "$dir" | while IFS= read -r name; do
        case $name in . | ..) ;; *) printf '%s\n' "$name" ;; esac
      done
    fi
    ;;
  programs)
    for name in "$@"; do
      for dir in $PROGRAM_DIRS; do
        real=$(resolve_path "$dir/$name")
        if [ -f "$real" ] && [ -x "$real" ]; then
          printf '%s %s\n' "$name" "$dir/$name"
          break
        fi
      done
    done
    ;;
  write)
    umask 077
    stage=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-stage.XXXXXX") || fail 'cannot make a staging directory'
    trap 'rm -rf "$stage"' EXIT
    (cd "$stage" && tar -xf -) || fail 'the files did not arrive whole: nothing was written'
    [ -f "$stage/specs" ] || fail 'the files did not arrive whole: nothing was written'
    # Everything is here: from now on a dropped connection must not stop the renames halfway.
    trap '' HUP PIPE
    i=0
    while IFS=' ' read -r member mode uid gid nofollow forcemeta path; do
      if [ "$nofollow" = 1 ]; then real=$path; else real=$(resolve_path "$path"); fi
      dir=$(dirname -- "$real")
      base=$(basename -- "$real")
      make_dirs "$dir"
      if [ -f "$real" ] && [ ! -h "$real" ] && [ "$forcemeta" != 1 ]; then
        # an existing file keeps its own mode and owner
        file_meta "$real"
        mode=$meta_mode uid=$meta_uid gid=$meta_gid
      fi
      temp=$dir/.$base.bulwark-$$-$i
      cat "$stage/$member" >"$temp" || fail "cannot write $temp"
      chmod "$mode" "$temp" || fail "cannot chmod $temp"
      chown "$uid:$gid" "$temp" 2>/dev/null || [ "$(id -u)" != 0 ] || fail "cannot chown $temp"
      # rename(2) replaces a link itself, but mv would move into a linked directory: unlink first
      if [ -h "$real" ]; then rm -f -- "$real"; fi
      mv -f -- "$temp" "$real" || { rm -f -- "$temp"; fail "cannot rename $temp to $real"; }
      printf 'F %s %s %s %s\n' "$mode" "$uid" "$gid" "$real"
      i=$((i + 1))
    done <"$stage/specs"
    sync_if_possible
    printf 'wrote %s\n' "$i"
    ;;
  symlink)
    path=$1 target=$2
    dir=$(dirname -- "$path")
    make_dirs "$dir"
    temp=$dir/.$(basename -- "$path").bulwark-$$
    ln -s -- "$target" "$temp" || fail "cannot make the link $temp"
    if [ $# -ge 4 ]; then chown -h "$3:$4" "$temp" 2>/dev/null || true; fi
    if [ -h "$path" ] || [ -f "$path" ]; then rm -f -- "$path"; fi
    mv -f -- "$temp" "$path" || { rm -f -- "$temp"; fail "cannot rename $temp to $path"; }
    ;;
  mkdir)
    make_dirs "$1"
    ;;
  remove)
    rm -f -- "$1" || fail "cannot remove $1"
    ;;
  rmdir)
    if rmdir -- "$1" 2>/dev/null; then printf 'removed\n'; else printf 'kept\n'; fi
    ;;
  chmod)
    chmod "$1" "$2" || fail "cannot chmod $2"
    ;;
  durable)
    file=$1 mode=$2
    if [ "${3:-}" = keep ] && [ -e "$file" ]; then
      cat >/dev/null
      exit 0
    fi
    umask 077
    temp=$(dirname -- "$file")/.$(basename -- "$file").$$.tmp
    cat >"$temp" || { rm -f -- "$temp"; fail "cannot write $temp"; }
    chmod "$mode" "$temp" || fail "cannot chmod $temp"
    sync_if_possible
    mv -f -- "$temp" "$file" || { rm -f -- "$temp"; fail "cannot rename $temp"; }
    sync_if_possible
    ;;
  excl)
    umask 077
    if (set -C && cat >"$1") 2>/dev/null; then
      sync_if_possible
      printf 'created\n'
    elif [ -e "$1" ]; then
      printf 'exists\n'
    else
      fail "cannot create $1"
    fi
    ;;
  privdir)
    parent=$(dirname -- "$1")
    make_dirs "$parent" >/dev/null
    [ -d "$1" ] || mkdir -m 700 -- "$1" || fail "cannot create $1"
    chmod 700 -- "$1" || fail "cannot chmod $1"
    ;;
  writable)
    if [ ! -d "$1" ] || [ ! -w "$1" ]; then fail "$1 is not writable"; fi
    ;;
  age)
    if [ -e "$1" ]; then
      printf '%s\n' $(($(date +%s) - $(date -r "$1" +%s 2>/dev/null || stat -c %Y -- "$1")))
    else
      printf -- '-\n'
    fi
    ;;
  proc)
    if kill -0 "$1" 2>/dev/null && started=$(start_time "$1"); then
      printf 'alive %s\n' "$started"
    else
      printf 'dead\n'
    fi
    ;;
  keeper)
    trap '' HUP PIPE
    printf '%s %s\n' "$$" "$(start_time $$)"
    cat >/dev/null
    if grep -q "\"pid\":$$," "$1" 2>/dev/null; then rm -f -- "$1"; fi
    ;;
  *)
    fail "unknown operation '$op'"
    ;;
esac
}

# serve: requests on stdin, one a line — "helper OP ARG..." or "run PROGRAM ARG...", each argument
# quoted for sh ('...'); "input LENGTH helper OP ARG..." is followed by LENGTH bytes, the operation's
# stdin (small state files: dd reads them a byte at a time, exactly, leaving the next request alone).
# Answered in order on stdout as "CODE OUTLEN ERRLEN", a newline, then OUTLEN bytes of output and
# ERRLEN bytes of errors. One SSH session then carries a whole run's reads, state writes and
# read-only commands, each costing one round trip instead of a session of its own.
# The session is also the lock's owner on the box in remote mode: "own LOCKFILE" names the lock file
# it answers for; "disown" (the run let the lock go) and the end of the session (the run ended, or its
# connection died) remove that file if it still names this process.
# "par PROGRAM ARG..." runs a read-only program in the background, beside the others sent with it
# (the plan's fail2ban-regex proofs use every core); their answers are sent, in order, at the next
# "flush" or before the next other request — which therefore still sees the box after them.
# shellcheck disable=SC2120 # it sets its own positional parameters, from each request
serve() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-serve.XXXXXX") || fail 'cannot make a temporary directory'
  lockfile=
  pending=
  n=0
  trap 'rm -rf "$tmp"; release_lock' EXIT
  trap 'exit 129' HUP
  trap 'exit 143' TERM
  printf 'ready %s %s\n' "$$" "$(start_time $$)"
  while IFS= read -r request; do
    eval "set -- $request"
    kind=$1
    shift
    : >"$tmp/in"
    if [ "$kind" = input ]; then
      if [ "$1" -gt 0 ]; then dd bs=1 count="$1" of="$tmp/in" 2>/dev/null; fi
      shift
      kind=$1
      shift
    fi
    if [ "$kind" = par ]; then
      n=$((n + 1))
      mv -f -- "$tmp/in" "$tmp/in.$n"
      (
        ("$@") <"$tmp/in.$n" >"$tmp/out.$n" 2>"$tmp/err.$n"
        echo "$?" >"$tmp/code.$n"
      ) &
      pending="$pending $n"
      continue
    fi
    flush_jobs
    [ "$kind" = flush ] && continue
    case $kind in
      own) lockfile=$1; : >"$tmp/out"; : >"$tmp/err" ;;
      disown) release_lock; : >"$tmp/out"; : >"$tmp/err" ;;
      helper) (main "$@") <"$tmp/in" >"$tmp/out" 2>"$tmp/err" ;;
      run) ("$@") <"$tmp/in" >"$tmp/out" 2>"$tmp/err" ;;
      *) printf 'unknown request %s\n' "$kind" >"$tmp/err"; : >"$tmp/out"; false ;;
    esac
    answer "$?" "$tmp/out" "$tmp/err"
  done
}

# The background programs' answers, in the order they were asked for.
flush_jobs() {
  [ -n "$pending" ] || return 0
  wait
  for job in $pending; do
    answer "$(cat "$tmp/code.$job" 2>/dev/null || echo 70)" "$tmp/out.$job" "$tmp/err.$job"
    rm -f -- "$tmp/in.$job" "$tmp/out.$job" "$tmp/err.$job" "$tmp/code.$job"
  done
  pending=
}

# One write for the whole answer: sshd does not set TCP_NODELAY on a session without a terminal, so a
# second small write would wait a round trip for the first one's acknowledgement (Nagle).
answer() {
  {
    printf '%s %s %s\n' "$1" "$(($(wc -c <"$2")))" "$(($(wc -c <"$3")))"
    cat "$2" "$3"
  } >"$tmp/answer"
  cat "$tmp/answer"
}

release_lock() {
  if [ -n "${lockfile:-}" ] && grep -q "\"pid\":$$," "$lockfile" 2>/dev/null; then rm -f -- "$lockfile"; fi
  lockfile=
}

# shellcheck disable=SC2119
if [ "${1:-}" = serve ]; then serve; else main "$@"; fi
