# json-safe-operations.sh: the safe_json_* shell functions, on top of jsafe.
#
# A drop-in for the old hand-made wrappers (flock + temp file + mv): the
# functions keep their names and arguments, and every change now goes through
# jsafe, which locks, backs up, writes atomically and durably, and journals.
#
# Switching: in each script, replace the line that sourced the old wrappers with
#
#     source /path/to/json-safe-operations.sh
#
# jsafe is looked up at each call: $JSAFE_BIN if set (a path, or a command
# name looked up on PATH), else `jsafe` on PATH, so sourcing works even where
# jsafe is missing. Sourcing only defines functions: it never exits the calling
# shell and sets no shell options (no set -e / -u / pipefail); the functions
# also work in scripts that use `set -euo pipefail`. Needs bash (sourced from
# another shell it returns 2 and defines nothing).
# jsafe's own variables (JSAFE_TIMEOUT, JSAFE_NO_BACKUP, ...; see `man jsafe`)
# pass through the environment as usual.
#
# Functions (each returns jsafe's exit code):
#
#   safe_json_read FILE [DEFAULT]
#       Print FILE as it is. If FILE does not exist: print DEFAULT (JSON,
#       checked and pretty-printed by jsafe) when given, else fail with 6.
#       No lock is needed: jsafe replaces files atomically.
#   safe_json_write FILE JSON
#       Replace FILE's content with JSON ("-" reads it from stdin).
#   safe_json_merge FILE JSON
#       Merge the JSON object into FILE (RFC 7386 merge patch: null deletes a
#       key); a missing FILE starts as {}.
#   safe_json_update FILE EXPR [OPTION...]
#       Run the jq filter EXPR on FILE and store its one result. EXPR runs in
#       jsafe's built-in jq engine (jaq), not in a jq binary; no jq is needed.
#       OPTIONs go to `jsafe update`, e.g. --arg NAME VALUE, --argjson NAME JSON,
#       --default JSON (the input when FILE is missing; default {}).
#   safe_jq [OPTION...] FILTER FILE [ARG...]
#       Read-only jq on one file, through `jsafe read FILE FILTER`. Every
#       option of jsafe read passes through, anywhere on the line: jq's
#       -r/--raw-output, -c/--compact-output, -j/--join-output,
#       -a/--ascii-output, -S/--sort-keys, -e/--exit-status, -s/--slurp,
#       -n/--null-input (short ones also combined: -rc, -er, -sc), --tab,
#       --indent N, --arg NAME VALUE, --argjson NAME JSON, --slurpfile NAME
#       PATH, --rawfile NAME PATH, --args/--jsonargs (their values follow
#       FILE), and jsafe's --default JSON, --lock, --recover, --lines,
#       --filter-memory SIZE, --timeout DURATION; `--` ends options. FILE -
#       reads stdin. With -e the result is jsafe read's: 11 when the last
#       output is false or null, 14 when there is none, so `if safe_jq -e
#       '.enabled' f` works as with jq. Anything else (--seq, --stream,
#       several files, no file, ...) is refused with 2 and a message; use jq
#       itself for those.
#   cleanup_orphaned_locks [DIR...]
#       jsafe cleanup-locks --older-than 1h DIR... (default: .): remove lock
#       files nobody holds and temp files of writes that died.
#   cleanup_all_locks force [DIR...]
#       Remove every lock file nobody holds right now (--older-than 0s). Refuses
#       with 2 unless the first argument is the word `force`.
#   show_json_status [PATH...]
#       jsafe status PATH... (default: .): health, locks, backups, last change.
#   is_critical_json_file FILE
#       0 if FILE is in the list of protected files, 1 if not. The list is the
#       file $JSAFE_CRITICAL_FILES, default
#       ${XDG_CONFIG_HOME:-$HOME/.config}/jsafe/critical-files: one path per
#       line; blank lines and lines starting with # are ignored; ~/ means $HOME;
#       a relative path is relative to the list's directory. Paths are compared
#       canonically (realpath -m: symlinks, "..", "//"). A missing list means
#       nothing is listed (1); an unreadable one is 7.
#   test_json_operations
#       Run `jsafe test basic` (in a fresh temp dir); print nothing if it
#       passes, its report on stderr if it does not.
#
# Return codes (jsafe's, see `man jsafe`):
#   0 ok                    4 bad input: JSON, merge patch or filter
#   1 internal error        5 target file is corrupt (not valid JSON)
#   2 usage error           6 not found (missing file without DEFAULT)
#   3 lock timeout          7 I/O error (permission, disk full, ...)
#   127 jsafe not found (not on PATH and JSAFE_BIN unset, or JSAFE_BIN wrong)
# is_critical_json_file uses 0 and 1 as yes and no.

# Everything below is bash; refuse politely in another shell, before it parses
# anything it cannot (return works in a sourced file; exit if run directly).
if [ -z "${BASH_VERSION:-}" ]; then
    echo "json-safe-operations.sh: needs bash (source it from a bash script)" >&2
    return 2 2>/dev/null || exit 2
fi
# `return` works only in a sourced file (or a function): run directly, explain.
if ! (return 0 2>/dev/null); then
    echo "json-safe-operations.sh: source this file (source $0), do not run it" >&2
    exit 2
fi

# Print the jsafe to run. Looked up at call time, so a script may set JSAFE_BIN
# or PATH after sourcing this file.
_jsafe_locate() {
    local caller=$1 found
    if [[ -n "${JSAFE_BIN:-}" ]]; then
        if [[ "$JSAFE_BIN" == */* ]]; then
            if [[ -f "$JSAFE_BIN" && -x "$JSAFE_BIN" ]]; then
                printf '%s\n' "$JSAFE_BIN"
                return 0
            fi
        elif found=$(type -P -- "$JSAFE_BIN"); then
            printf '%s\n' "$found"
            return 0
        fi
        echo "$caller: jsafe not found: JSAFE_BIN=$JSAFE_BIN is not an executable file (fix JSAFE_BIN, or unset it to use jsafe from PATH)" >&2
        return 127
    fi
    if found=$(type -P jsafe); then
        printf '%s\n' "$found"
        return 0
    fi
    echo "$caller: jsafe not found on PATH (install it, or set JSAFE_BIN to its path)" >&2
    return 127
}

# Run jsafe with the arguments; the status is jsafe's, or 127 if it is missing.
_jsafe() {
    local bin
    bin=$(_jsafe_locate "${FUNCNAME[1]:-jsafe}") || return 127
    "$bin" "$@"
}

# $1: the calling function's usage line. Status 2, like jsafe's usage errors.
_jsafe_usage() {
    echo "usage: $1" >&2
    return 2
}

safe_json_read() {
    case $# in
        1) _jsafe read -- "$1" ;;
        2) _jsafe read --default "$2" -- "$1" ;;
        *) _jsafe_usage "safe_json_read FILE [DEFAULT]" ;;
    esac
}

safe_json_write() {
    if (($# != 2)); then
        _jsafe_usage "safe_json_write FILE JSON"
        return
    fi
    _jsafe write -- "$1" "$2"
}

safe_json_merge() {
    if (($# != 2)); then
        _jsafe_usage "safe_json_merge FILE JSON"
        return
    fi
    _jsafe merge -- "$1" "$2"
}

safe_json_update() {
    if (($# < 2)); then
        _jsafe_usage "safe_json_update FILE EXPR [--arg NAME VALUE | --argjson NAME JSON | --default JSON]..."
        return
    fi
    _jsafe update "${@:3}" -- "$1" "$2"
}

safe_jq() {
    local -a options=() operands=()
    local arg flags i positional=0
    local takes="-r -c -j -a -S -e -s -n (also combined), --tab, --indent N, --arg, --argjson, --slurpfile, --rawfile, --args, --jsonargs, --default, --lock, --recover, --lines, --filter-memory, --timeout"
    while (($# > 0)); do
        arg=$1
        shift
        case $arg in
            --)
                operands+=("$@")
                break
                ;;
            -r | --raw-output | --raw) options+=(--raw-output) ;;
            -c | --compact-output) options+=(--compact) ;;
            -j | --join-output) options+=(--join-output) ;;
            -a | --ascii-output) options+=(--ascii-output) ;;
            -S | --sort-keys) options+=(--sort-keys) ;;
            -e | --exit-status) options+=(--exit-status) ;;
            -s | --slurp) options+=(--slurp) ;;
            -n | --null-input) options+=(--null-input) ;;
            --args | --jsonargs)
                options+=("$arg")
                positional=1
                ;;
            --tab | --lock | --recover | --lines) options+=("$arg") ;;
            --indent | --default | --filter-memory | --timeout)
                if (($# < 1)); then
                    echo "safe_jq: $arg needs a value" >&2
                    return 2
                fi
                options+=("$arg" "$1")
                shift
                ;;
            --arg | --argjson | --slurpfile | --rawfile)
                if (($# < 2)); then
                    echo "safe_jq: $arg needs NAME and a value" >&2
                    return 2
                fi
                options+=("$arg" "$1" "$2")
                shift 2
                ;;
            -[rcjaSesn]*)
                # Combined short flags, as jq allows: -rc, -cr, -er, -sc.
                flags=${arg#-}
                if [[ -n "${flags//[rcjaSesn]/}" ]]; then
                    echo "safe_jq: unsupported jq option '$arg' (jsafe read takes: $takes); run jq directly for others" >&2
                    return 2
                fi
                for ((i = 0; i < ${#flags}; i++)); do
                    case ${flags:i:1} in
                        r) options+=(--raw-output) ;;
                        c) options+=(--compact) ;;
                        j) options+=(--join-output) ;;
                        a) options+=(--ascii-output) ;;
                        S) options+=(--sort-keys) ;;
                        e) options+=(--exit-status) ;;
                        s) options+=(--slurp) ;;
                        n) options+=(--null-input) ;;
                    esac
                done
                ;;
            -?*)
                echo "safe_jq: unsupported jq option '$arg' (jsafe read takes: $takes); run jq directly for others" >&2
                return 2
                ;;
            *) operands+=("$arg") ;;
        esac
    done
    if ((${#operands[@]} < 2 || (!positional && ${#operands[@]} != 2))); then
        echo "safe_jq: needs exactly a FILTER and one FILE (got ${#operands[@]} operands; FILE - is stdin; with --args/--jsonargs the values follow FILE); several files are not supported" >&2
        _jsafe_usage "safe_jq [OPTION...] FILTER FILE [ARG...]"
        return
    fi
    # ${a[@]+"${a[@]}"}: an empty array under set -u in bash before 4.4.
    _jsafe read ${options[@]+"${options[@]}"} -- "${operands[1]}" "${operands[0]}" "${operands[@]:2}"
}

cleanup_orphaned_locks() {
    _jsafe cleanup-locks --older-than 1h -- "$@"
}

cleanup_all_locks() {
    if [[ "${1:-}" != force ]]; then
        echo "cleanup_all_locks: this removes every lock file nobody holds right now, however recent; to do that, call: cleanup_all_locks force [DIR...]" >&2
        return 2
    fi
    _jsafe cleanup-locks --older-than 0s -- "${@:2}"
}

show_json_status() {
    _jsafe status -- "$@"
}

is_critical_json_file() {
    if (($# != 1)) || [[ -z "$1" ]]; then
        _jsafe_usage "is_critical_json_file FILE"
        return
    fi
    local list=${JSAFE_CRITICAL_FILES:-${XDG_CONFIG_HOME:-${HOME:-}/.config}/jsafe/critical-files}
    if [[ ! -e "$list" ]]; then
        return 1
    fi
    if [[ ! -f "$list" || ! -r "$list" ]]; then
        echo "is_critical_json_file: cannot read the list of critical files $list (fix it, or point JSAFE_CRITICAL_FILES to another)" >&2
        return 7
    fi
    local base line
    base=$(dirname -- "$list")
    local -a entries=()
    while IFS= read -r line || [[ -n "$line" ]]; do
        # Trim blanks (and a CR from a list edited on Windows).
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        case $line in
            '' | '#'*) continue ;;
            '~/'*) line=${HOME:-}/${line#'~/'} ;;
            /*) ;;
            *) line=$base/$line ;;
        esac
        entries+=("$line")
    done <"$list"
    if ((${#entries[@]} == 0)); then
        return 1
    fi
    local file listed entry
    if ! file=$(realpath -m -- "$1") || ! listed=$(realpath -m -- "${entries[@]}"); then
        echo "is_critical_json_file: realpath -m failed (it needs GNU coreutils' realpath)" >&2
        return 127
    fi
    local -a canonical=()
    mapfile -t canonical <<<"$listed"
    for entry in "${canonical[@]}"; do
        if [[ "$entry" == "$file" ]]; then
            return 0
        fi
    done
    return 1
}

test_json_operations() {
    local report status=0
    report=$(_jsafe test basic 2>&1) || status=$?
    if ((status != 0)); then
        printf '%s\n' "$report" >&2
    fi
    return "$status"
}
