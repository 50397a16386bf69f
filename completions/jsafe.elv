
use builtin;
use str;

set edit:completion:arg-completer[jsafe] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'jsafe'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'jsafe'= {
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand read 'Print a file, or the outputs of a jq filter on it (takes no lock by default)'
            cand write 'Replace a file''s content with the given JSON (argument, or stdin)'
            cand merge 'Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})'
            cand update 'Run a jq filter on a file and store its single result'
            cand restore 'List a file''s backups or bring one back (through the same safe write)'
            cand status 'Show the health, locks, backups and last operation of managed files'
            cand cleanup-locks 'Remove lock files nobody holds and temp files of writes that died (for cron)'
            cand lock 'Run a command while holding a file''s lock (nested jsafe calls on the file use it)'
            cand watch 'Print a file''s (filtered) value now and after every committed change'
            cand append 'Append a value to a JSON Lines file (O(1)), or to an array in a JSON document'
            cand schema 'Attach a JSON Schema to a file (every change is checked), show it, or detach it'
            cand test 'Self-test: check that locking, atomic replace and recovery work on this filesystem'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jsafe;read'= {
            cand --indent 'Indent with N spaces (0: compact)'
            cand --arg 'Bind $NAME to the string VALUE in the filter'
            cand --argjson 'Bind $NAME to the parsed JSON value in the filter'
            cand --slurpfile 'Bind $NAME to an array of the JSON values in FILE'
            cand --rawfile 'Bind $NAME to the text of FILE'
            cand --default 'JSON printed (or filtered) when FILE is missing; without it a missing file is exit 6'
            cand --filter-memory 'Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file''s size, at least 2G)'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand -c 'Print compact JSON, one value per line'
            cand --compact 'Print compact JSON, one value per line'
            cand -r 'Print strings without quotes'
            cand --raw-output 'Print strings without quotes'
            cand -j 'Like -r, and no newline after each output'
            cand --join-output 'Like -r, and no newline after each output'
            cand -a 'Escape every non-ASCII character as \uXXXX'
            cand --ascii-output 'Escape every non-ASCII character as \uXXXX'
            cand -S 'Print object keys sorted'
            cand --sort-keys 'Print object keys sorted'
            cand --tab 'Indent with a tab'
            cand -e 'Exit 11 if the last output is false or null, 14 if there is none (jq''s -e)'
            cand --exit-status 'Exit 11 if the last output is false or null, 14 if there is none (jq''s -e)'
            cand --args 'The ARGs after the filter are strings in $ARGS.positional'
            cand --jsonargs 'The ARGs after the filter are JSON values in $ARGS.positional'
            cand --lock 'Take a shared lock while reading (for files that non-jsafe writers change in place)'
            cand --recover 'If the file is corrupt, quarantine it and restore the newest valid backup first'
            cand --lines 'Read FILE as JSON Lines (one value per line; the default for *.jsonl, *.ndjson)'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;write'= {
            cand --indent 'Indent with N spaces'
            cand --schema 'Refuse the change (exit 4) unless the result matches this JSON Schema'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --compact 'Write compact JSON (one line)'
            cand --tab 'Indent with tabs'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;merge'= {
            cand --indent 'Indent with N spaces'
            cand --schema 'Refuse the change (exit 4) unless the result matches this JSON Schema'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --compact 'Write compact JSON (one line)'
            cand --tab 'Indent with tabs'
            cand --recover 'If the file is corrupt, quarantine it and restore the newest valid backup first'
            cand --stream 'Read one patch per line from stdin and apply them in order (waiting ones in one write)'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;update'= {
            cand --arg 'Bind $NAME to the string VALUE in the filter'
            cand --argjson 'Bind $NAME to the parsed JSON value in the filter'
            cand --slurpfile 'Bind $NAME to an array of the JSON values in FILE'
            cand --rawfile 'Bind $NAME to the text of FILE'
            cand --default 'The input when FILE is missing'
            cand --filter-timeout 'Abort a filter still running after SECS (exit 4; the lock is released)'
            cand --filter-memory 'Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file''s size, at least 2G)'
            cand --indent 'Indent with N spaces'
            cand --schema 'Refuse the change (exit 4) unless the result matches this JSON Schema'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --args 'The ARGs after the filter are strings in $ARGS.positional'
            cand --jsonargs 'The ARGs after the filter are JSON values in $ARGS.positional'
            cand --compact 'Write compact JSON (one line)'
            cand --tab 'Indent with tabs'
            cand --recover 'If the file is corrupt, quarantine it and restore the newest valid backup first'
            cand --stream 'Read one JSON value per line from stdin as $in and run FILTER for each, in order'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;restore'= {
            cand --from 'Restore the backup with this name (as printed by --list)'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --list 'List the backups: name, time, size, valid JSON or not'
            cand --latest 'Restore the newest backup that is valid JSON'
            cand --json 'With --list: print JSON'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;status'= {
            cand --stale-after 'A lock held longer than this is a problem (exit 9)'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --all-json 'Also check plain *.json files that have no .jsafe state'
            cand --json 'Print one JSON document (for monitoring)'
            cand -x 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)'
            cand --one-file-system 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;cleanup-locks'= {
            cand --older-than 'Also remove free lock files older than this, whoever recorded them ("0s": every free one)'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --dry-run 'Print what would be removed; remove nothing'
            cand -x 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)'
            cand --one-file-system 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)'
            cand --json 'Print one JSON document'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;lock'= {
            cand -E 'Exit N instead of 3 when the lock is not granted within --timeout (flock''s -E)'
            cand --conflict-exit-code 'Exit N instead of 3 when the lock is not granted within --timeout (flock''s -E)'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --shared 'Take the lock shared (like `read --lock`): other shared holders may run, writers wait'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;watch'= {
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand -c 'Print compact JSON: one line per change'
            cand --compact 'Print compact JSON: one line per change'
            cand -r 'Print strings without quotes'
            cand --raw-output 'Print strings without quotes'
            cand --changes-only 'Do not print the current value at start; only changes'
            cand --once 'Wait for the next change, print it and exit 0'
            cand --lines 'Read FILE as JSON Lines (the default for *.jsonl, *.ndjson): print each appended line'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;append'= {
            cand --to 'Append to the array at this path of a JSON document (e.g. .events, .a."b c"[0])'
            cand --schema 'Refuse the change (exit 4) unless the value matches this JSON Schema'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --lines 'FILE is JSON Lines whatever its name'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;schema'= {
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --detach 'Remove the attached schema'
            cand --force 'Attach even if the file''s current content does not match'
            cand --lines 'The data file is JSON Lines whatever its name (the schema applies to each line)'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;test'= {
            cand --dir 'Run in this directory (on the filesystem to check) instead of a fresh temp dir'
            cand --workers 'Concurrent worker processes'
            cand --ops 'Operations per worker'
            cand --timeout 'Seconds to wait for a file''s lock before giving up with exit code 3'
            cand --keep 'Number of backups to keep per file'
            cand --list 'Print the suite names, one per line, and exit'
            cand --json 'Print one JSON document'
            cand --split-links 'Replace a file that has other hard links (they keep the old content)'
            cand --no-backup 'Do not back up the version being replaced'
            cand --no-sync 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable'
            cand --no-journal 'Do not append to the audit journal (.jsafe/journal.jsonl)'
            cand -q 'Print nothing on stderr but errors (--verbose wins over it)'
            cand --quiet 'Print nothing on stderr but errors (--verbose wins over it)'
            cand -v 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand --verbose 'Say more on stderr (who holds a lock, what was backed up, ...)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jsafe;help'= {
            cand read 'Print a file, or the outputs of a jq filter on it (takes no lock by default)'
            cand write 'Replace a file''s content with the given JSON (argument, or stdin)'
            cand merge 'Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})'
            cand update 'Run a jq filter on a file and store its single result'
            cand restore 'List a file''s backups or bring one back (through the same safe write)'
            cand status 'Show the health, locks, backups and last operation of managed files'
            cand cleanup-locks 'Remove lock files nobody holds and temp files of writes that died (for cron)'
            cand lock 'Run a command while holding a file''s lock (nested jsafe calls on the file use it)'
            cand watch 'Print a file''s (filtered) value now and after every committed change'
            cand append 'Append a value to a JSON Lines file (O(1)), or to an array in a JSON document'
            cand schema 'Attach a JSON Schema to a file (every change is checked), show it, or detach it'
            cand test 'Self-test: check that locking, atomic replace and recovery work on this filesystem'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jsafe;help;read'= {
        }
        &'jsafe;help;write'= {
        }
        &'jsafe;help;merge'= {
        }
        &'jsafe;help;update'= {
        }
        &'jsafe;help;restore'= {
        }
        &'jsafe;help;status'= {
        }
        &'jsafe;help;cleanup-locks'= {
        }
        &'jsafe;help;lock'= {
        }
        &'jsafe;help;watch'= {
        }
        &'jsafe;help;append'= {
        }
        &'jsafe;help;schema'= {
        }
        &'jsafe;help;test'= {
        }
        &'jsafe;help;help'= {
        }
    ]
    $completions[$command]
}
