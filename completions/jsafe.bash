# bash completion for jsafe (made by `jsafe completions bash`).
# It asks jsafe for the candidates: file names, backup names for
# `restore --from`, suite names for `test`, subcommands and options.
# Each candidate arrives as one NUL-ended record: a kind letter (f: a name
# on disk, o: an option, w: another word) and the word's bytes.
_jsafe() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local words=("${COMP_WORDS[@]}")
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        words[COMP_CWORD]="$2"
        cur="$2"
    fi
    local c
    local -a files=() operands=() options=()
    while IFS= read -r -d '' c; do
        case "${c:0:1}" in
            f) files+=("${c:1}") ;;
            o) options+=("${c:1}") ;;
            w) [[ -n "${c:1}" ]] && operands+=("${c:1}") ;;
        esac
    done < <( \
        _CLAP_COMPLETE_INDEX="$COMP_CWORD" \
        _CLAP_COMPLETE_COMP_TYPE="${COMP_TYPE:-9}" \
        _CLAP_COMPLETE_SPACE=true \
        JSAFE_COMPLETE=bash \
        jsafe -- "${words[@]}" 2>/dev/null \
    )
    # Options only once a "-" is typed, unless nothing else fits.
    operands=("${files[@]}" "${operands[@]}")
    if [[ -z "$cur" && "${#operands[@]}" -gt 0 ]]; then
        COMPREPLY=("${operands[@]}")
    else
        COMPREPLY=("${operands[@]}" "${options[@]}")
    fi
    if [[ "${#files[@]}" -gt 0 ]]; then
        compopt -o filenames 2>/dev/null
    fi
    if [[ "${#COMPREPLY[@]}" -eq 1 && "${COMPREPLY[0]}" == */ ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nosort -F _jsafe jsafe
else
    complete -F _jsafe jsafe
fi
