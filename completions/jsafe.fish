# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_jsafe_global_optspecs
    string join \n timeout= keep= split-links no-backup no-sync no-journal q/quiet v/verbose h/help V/version
end

function __fish_jsafe_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_jsafe_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_jsafe_using_subcommand
    set -l cmd (__fish_jsafe_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c jsafe -n "__fish_jsafe_needs_command" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_needs_command" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_needs_command" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_needs_command" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_needs_command" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_needs_command" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_needs_command" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jsafe -n "__fish_jsafe_needs_command" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "read" -d 'Print a file, or the outputs of a jq filter on it (takes no lock by default)'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "write" -d 'Replace a file\'s content with the given JSON (argument, or stdin)'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "merge" -d 'Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "update" -d 'Run a jq filter on a file and store its single result'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "restore" -d 'List a file\'s backups or bring one back (through the same safe write)'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "status" -d 'Show the health, locks, backups and last operation of managed files'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "cleanup-locks" -d 'Remove lock files nobody holds and temp files of writes that died (for cron)'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "lock" -d 'Run a command while holding a file\'s lock (nested jsafe calls on the file use it)'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "watch" -d 'Print a file\'s (filtered) value now and after every committed change'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "append" -d 'Append a value to a JSON Lines file (O(1)), or to an array in a JSON document'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "schema" -d 'Attach a JSON Schema to a file (every change is checked), show it, or detach it'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "test" -d 'Self-test: check that locking, atomic replace and recovery work on this filesystem'
complete -c jsafe -n "__fish_jsafe_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l indent -d 'Indent with N spaces (0: compact)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l arg -d 'Bind $NAME to the string VALUE in the filter' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l argjson -d 'Bind $NAME to the parsed JSON value in the filter' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l slurpfile -d 'Bind $NAME to an array of the JSON values in FILE' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l rawfile -d 'Bind $NAME to the text of FILE' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l default -d 'JSON printed (or filtered) when FILE is missing; without it a missing file is exit 6' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l filter-memory -d 'Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file\'s size, at least 2G)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s c -l compact -d 'Print compact JSON, one value per line'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s r -l raw-output -d 'Print strings without quotes'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s j -l join-output -d 'Like -r, and no newline after each output'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s a -l ascii-output -d 'Escape every non-ASCII character as \\uXXXX'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s S -l sort-keys -d 'Print object keys sorted'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l tab -d 'Indent with a tab'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s e -l exit-status -d 'Exit 11 if the last output is false or null, 14 if there is none (jq\'s -e)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l args -d 'The ARGs after the filter are strings in $ARGS.positional'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l jsonargs -d 'The ARGs after the filter are JSON values in $ARGS.positional'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l lock -d 'Take a shared lock while reading (for files that non-jsafe writers change in place)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l recover -d 'If the file is corrupt, quarantine it and restore the newest valid backup first'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l lines -d 'Read FILE as JSON Lines (one value per line; the default for *.jsonl, *.ndjson)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand read" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l indent -d 'Indent with N spaces' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l schema -d 'Refuse the change (exit 4) unless the result matches this JSON Schema' -r -F
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l compact -d 'Write compact JSON (one line)'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l tab -d 'Indent with tabs'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand write" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l indent -d 'Indent with N spaces' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l schema -d 'Refuse the change (exit 4) unless the result matches this JSON Schema' -r -F
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l compact -d 'Write compact JSON (one line)'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l tab -d 'Indent with tabs'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l recover -d 'If the file is corrupt, quarantine it and restore the newest valid backup first'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l stream -d 'Read one patch per line from stdin and apply them in order (waiting ones in one write)'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand merge" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l arg -d 'Bind $NAME to the string VALUE in the filter' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l argjson -d 'Bind $NAME to the parsed JSON value in the filter' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l slurpfile -d 'Bind $NAME to an array of the JSON values in FILE' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l rawfile -d 'Bind $NAME to the text of FILE' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l default -d 'The input when FILE is missing' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l filter-timeout -d 'Abort a filter still running after SECS (exit 4; the lock is released)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l filter-memory -d 'Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file\'s size, at least 2G)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l indent -d 'Indent with N spaces' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l schema -d 'Refuse the change (exit 4) unless the result matches this JSON Schema' -r -F
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l args -d 'The ARGs after the filter are strings in $ARGS.positional'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l jsonargs -d 'The ARGs after the filter are JSON values in $ARGS.positional'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l compact -d 'Write compact JSON (one line)'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l tab -d 'Indent with tabs'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l recover -d 'If the file is corrupt, quarantine it and restore the newest valid backup first'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l stream -d 'Read one JSON value per line from stdin as $in and run FILTER for each, in order'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand update" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l from -d 'Restore the backup with this name (as printed by --list)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l list -d 'List the backups: name, time, size, valid JSON or not'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l latest -d 'Restore the newest backup that is valid JSON'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l json -d 'With --list: print JSON'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand restore" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l stale-after -d 'A lock held longer than this is a problem (exit 9)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l all-json -d 'Also check plain *.json files that have no .jsafe state'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l json -d 'Print one JSON document (for monitoring)'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -s x -l one-file-system -d 'Stay on each PATH\'s filesystem (kernel filesystems like /proc are never entered)'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand status" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l older-than -d 'Also remove free lock files older than this, whoever recorded them ("0s": every free one)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l dry-run -d 'Print what would be removed; remove nothing'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -s x -l one-file-system -d 'Stay on each PATH\'s filesystem (kernel filesystems like /proc are never entered)'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l json -d 'Print one JSON document'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand cleanup-locks" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -s E -l conflict-exit-code -d 'Exit N instead of 3 when the lock is not granted within --timeout (flock\'s -E)' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l shared -d 'Take the lock shared (like `read --lock`): other shared holders may run, writers wait'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jsafe -n "__fish_jsafe_using_subcommand lock" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -s c -l compact -d 'Print compact JSON: one line per change'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -s r -l raw-output -d 'Print strings without quotes'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l changes-only -d 'Do not print the current value at start; only changes'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l once -d 'Wait for the next change, print it and exit 0'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l lines -d 'Read FILE as JSON Lines (the default for *.jsonl, *.ndjson): print each appended line'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand watch" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l to -d 'Append to the array at this path of a JSON document (e.g. .events, .a."b c"[0])' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l schema -d 'Refuse the change (exit 4) unless the value matches this JSON Schema' -r -F
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l lines -d 'FILE is JSON Lines whatever its name'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand append" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l detach -d 'Remove the attached schema'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l force -d 'Attach even if the file\'s current content does not match'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l lines -d 'The data file is JSON Lines whatever its name (the schema applies to each line)'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand schema" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l dir -d 'Run in this directory (on the filesystem to check) instead of a fresh temp dir' -r -F
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l workers -d 'Concurrent worker processes' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l ops -d 'Operations per worker' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l timeout -d 'Seconds to wait for a file\'s lock before giving up with exit code 3' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l keep -d 'Number of backups to keep per file' -r
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l list -d 'Print the suite names, one per line, and exit'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l json -d 'Print one JSON document'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l split-links -d 'Replace a file that has other hard links (they keep the old content)'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l no-backup -d 'Do not back up the version being replaced'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l no-sync -d 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -l no-journal -d 'Do not append to the audit journal (.jsafe/journal.jsonl)'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -s q -l quiet -d 'Print nothing on stderr but errors (--verbose wins over it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -s v -l verbose -d 'Say more on stderr (who holds a lock, what was backed up, ...)'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -s h -l help -d 'Print help'
complete -c jsafe -n "__fish_jsafe_using_subcommand test" -s V -l version -d 'Print version'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "read" -d 'Print a file, or the outputs of a jq filter on it (takes no lock by default)'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "write" -d 'Replace a file\'s content with the given JSON (argument, or stdin)'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "merge" -d 'Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "update" -d 'Run a jq filter on a file and store its single result'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "restore" -d 'List a file\'s backups or bring one back (through the same safe write)'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "status" -d 'Show the health, locks, backups and last operation of managed files'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "cleanup-locks" -d 'Remove lock files nobody holds and temp files of writes that died (for cron)'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "lock" -d 'Run a command while holding a file\'s lock (nested jsafe calls on the file use it)'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "watch" -d 'Print a file\'s (filtered) value now and after every committed change'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "append" -d 'Append a value to a JSON Lines file (O(1)), or to an array in a JSON document'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "schema" -d 'Attach a JSON Schema to a file (every change is checked), show it, or detach it'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "test" -d 'Self-test: check that locking, atomic replace and recovery work on this filesystem'
complete -c jsafe -n "__fish_jsafe_using_subcommand help; and not __fish_seen_subcommand_from read write merge update restore status cleanup-locks lock watch append schema test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
