# bash completion for jsafe (made by `jsafe completions bash`).
# It asks jsafe for the candidates: file names, backup names for
# `restore --from`, suite names for `test`, subcommands and options.
_jsafe() {
    local IFS=$'\n'
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local words=("${COMP_WORDS[@]}")
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        words[COMP_CWORD]="$2"
        cur="$2"
    fi
    local out
    out=$( \
        _CLAP_IFS=$'\n' \
        _CLAP_COMPLETE_INDEX="$COMP_CWORD" \
        _CLAP_COMPLETE_COMP_TYPE="${COMP_TYPE:-9}" \
        _CLAP_COMPLETE_SPACE=true \
        JSAFE_COMPLETE=bash \
        jsafe -- "${words[@]}" 2>/dev/null \
    ) || return 0
    # Options only once a "-" is typed, unless nothing else fits.
    local c
    local -a operands=() options=()
    while IFS= read -r c; do
        if [[ "$c" == -* ]]; then
            options+=("$c")
        elif [[ -n "$c" ]]; then
            operands+=("$c")
        fi
    done <<< "$out"
    if [[ -z "$cur" && "${#operands[@]}" -gt 0 ]]; then
        COMPREPLY=("${operands[@]}")
    else
        COMPREPLY=("${operands[@]}" "${options[@]}")
    fi
    local first="${COMPREPLY[0]-}"
    if [[ -n "$first" && ( -e "$first" || -e "${first%/}" ) ]]; then
        compopt -o filenames 2>/dev/null
    fi
    if [[ "${#COMPREPLY[@]}" -eq 1 && "$first" == */ ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nosort -F _jsafe jsafe
else
    complete -F _jsafe jsafe
fi
