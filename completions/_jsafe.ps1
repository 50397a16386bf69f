
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'jsafe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'jsafe'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'jsafe' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('read', 'read', [CompletionResultType]::ParameterValue, 'Print a file, or the outputs of a jq filter on it (takes no lock by default)')
            [CompletionResult]::new('write', 'write', [CompletionResultType]::ParameterValue, 'Replace a file''s content with the given JSON (argument, or stdin)')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Run a jq filter on a file and store its single result')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'List a file''s backups or bring one back (through the same safe write)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the health, locks, backups and last operation of managed files')
            [CompletionResult]::new('cleanup-locks', 'cleanup-locks', [CompletionResultType]::ParameterValue, 'Remove lock files nobody holds and temp files of writes that died (for cron)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Run a command while holding a file''s lock (nested jsafe calls on the file use it)')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print a file''s (filtered) value now and after every committed change')
            [CompletionResult]::new('append', 'append', [CompletionResultType]::ParameterValue, 'Append a value to a JSON Lines file (O(1)), or to an array in a JSON document')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Attach a JSON Schema to a file (every change is checked), show it, or detach it')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Self-test: check that locking, atomic replace and recovery work on this filesystem')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jsafe;read' {
            [CompletionResult]::new('--indent', '--indent', [CompletionResultType]::ParameterName, 'Indent with N spaces (0: compact)')
            [CompletionResult]::new('--arg', '--arg', [CompletionResultType]::ParameterName, 'Bind $NAME to the string VALUE in the filter')
            [CompletionResult]::new('--argjson', '--argjson', [CompletionResultType]::ParameterName, 'Bind $NAME to the parsed JSON value in the filter')
            [CompletionResult]::new('--slurpfile', '--slurpfile', [CompletionResultType]::ParameterName, 'Bind $NAME to an array of the JSON values in FILE')
            [CompletionResult]::new('--rawfile', '--rawfile', [CompletionResultType]::ParameterName, 'Bind $NAME to the text of FILE')
            [CompletionResult]::new('--default', '--default', [CompletionResultType]::ParameterName, 'JSON printed (or filtered) when FILE is missing; without it a missing file is exit 6')
            [CompletionResult]::new('--filter-memory', '--filter-memory', [CompletionResultType]::ParameterName, 'Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file''s size, at least 2G)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Print compact JSON, one value per line')
            [CompletionResult]::new('--compact', '--compact', [CompletionResultType]::ParameterName, 'Print compact JSON, one value per line')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Print strings without quotes')
            [CompletionResult]::new('--raw-output', '--raw-output', [CompletionResultType]::ParameterName, 'Print strings without quotes')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Like -r, and no newline after each output')
            [CompletionResult]::new('--join-output', '--join-output', [CompletionResultType]::ParameterName, 'Like -r, and no newline after each output')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Escape every non-ASCII character as \uXXXX')
            [CompletionResult]::new('--ascii-output', '--ascii-output', [CompletionResultType]::ParameterName, 'Escape every non-ASCII character as \uXXXX')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'Print object keys sorted')
            [CompletionResult]::new('--sort-keys', '--sort-keys', [CompletionResultType]::ParameterName, 'Print object keys sorted')
            [CompletionResult]::new('--tab', '--tab', [CompletionResultType]::ParameterName, 'Indent with a tab')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Exit 11 if the last output is false or null, 14 if there is none (jq''s -e)')
            [CompletionResult]::new('--exit-status', '--exit-status', [CompletionResultType]::ParameterName, 'Exit 11 if the last output is false or null, 14 if there is none (jq''s -e)')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'The ARGs after the filter are strings in $ARGS.positional')
            [CompletionResult]::new('--jsonargs', '--jsonargs', [CompletionResultType]::ParameterName, 'The ARGs after the filter are JSON values in $ARGS.positional')
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'Take a shared lock while reading (for files that non-jsafe writers change in place)')
            [CompletionResult]::new('--recover', '--recover', [CompletionResultType]::ParameterName, 'If the file is corrupt, quarantine it and restore the newest valid backup first')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Read FILE as JSON Lines (one value per line; the default for *.jsonl, *.ndjson)')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;write' {
            [CompletionResult]::new('--indent', '--indent', [CompletionResultType]::ParameterName, 'Indent with N spaces')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Refuse the change (exit 4) unless the result matches this JSON Schema')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--compact', '--compact', [CompletionResultType]::ParameterName, 'Write compact JSON (one line)')
            [CompletionResult]::new('--tab', '--tab', [CompletionResultType]::ParameterName, 'Indent with tabs')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;merge' {
            [CompletionResult]::new('--indent', '--indent', [CompletionResultType]::ParameterName, 'Indent with N spaces')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Refuse the change (exit 4) unless the result matches this JSON Schema')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--compact', '--compact', [CompletionResultType]::ParameterName, 'Write compact JSON (one line)')
            [CompletionResult]::new('--tab', '--tab', [CompletionResultType]::ParameterName, 'Indent with tabs')
            [CompletionResult]::new('--recover', '--recover', [CompletionResultType]::ParameterName, 'If the file is corrupt, quarantine it and restore the newest valid backup first')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'Read one patch per line from stdin and apply them in order (waiting ones in one write)')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;update' {
            [CompletionResult]::new('--arg', '--arg', [CompletionResultType]::ParameterName, 'Bind $NAME to the string VALUE in the filter')
            [CompletionResult]::new('--argjson', '--argjson', [CompletionResultType]::ParameterName, 'Bind $NAME to the parsed JSON value in the filter')
            [CompletionResult]::new('--slurpfile', '--slurpfile', [CompletionResultType]::ParameterName, 'Bind $NAME to an array of the JSON values in FILE')
            [CompletionResult]::new('--rawfile', '--rawfile', [CompletionResultType]::ParameterName, 'Bind $NAME to the text of FILE')
            [CompletionResult]::new('--default', '--default', [CompletionResultType]::ParameterName, 'The input when FILE is missing')
            [CompletionResult]::new('--filter-timeout', '--filter-timeout', [CompletionResultType]::ParameterName, 'Abort a filter still running after SECS (exit 4; the lock is released)')
            [CompletionResult]::new('--filter-memory', '--filter-memory', [CompletionResultType]::ParameterName, 'Abort a filter that allocates more than SIZE (exit 4; e.g. 512M, 2G; auto: 8 times the file''s size, at least 2G)')
            [CompletionResult]::new('--indent', '--indent', [CompletionResultType]::ParameterName, 'Indent with N spaces')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Refuse the change (exit 4) unless the result matches this JSON Schema')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'The ARGs after the filter are strings in $ARGS.positional')
            [CompletionResult]::new('--jsonargs', '--jsonargs', [CompletionResultType]::ParameterName, 'The ARGs after the filter are JSON values in $ARGS.positional')
            [CompletionResult]::new('--compact', '--compact', [CompletionResultType]::ParameterName, 'Write compact JSON (one line)')
            [CompletionResult]::new('--tab', '--tab', [CompletionResultType]::ParameterName, 'Indent with tabs')
            [CompletionResult]::new('--recover', '--recover', [CompletionResultType]::ParameterName, 'If the file is corrupt, quarantine it and restore the newest valid backup first')
            [CompletionResult]::new('--stream', '--stream', [CompletionResultType]::ParameterName, 'Read one JSON value per line from stdin as $in and run FILTER for each, in order')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;restore' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Restore the backup with this name (as printed by --list)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the backups: name, time, size, valid JSON or not')
            [CompletionResult]::new('--latest', '--latest', [CompletionResultType]::ParameterName, 'Restore the newest backup that is valid JSON')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --list: print JSON')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;status' {
            [CompletionResult]::new('--stale-after', '--stale-after', [CompletionResultType]::ParameterName, 'A lock held longer than this is a problem (exit 9)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--all-json', '--all-json', [CompletionResultType]::ParameterName, 'Also check plain *.json files that have no .jsafe state')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document (for monitoring)')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)')
            [CompletionResult]::new('--one-file-system', '--one-file-system', [CompletionResultType]::ParameterName, 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;cleanup-locks' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Also remove free lock files older than this, whoever recorded them ("0s": every free one)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be removed; remove nothing')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)')
            [CompletionResult]::new('--one-file-system', '--one-file-system', [CompletionResultType]::ParameterName, 'Stay on each PATH''s filesystem (kernel filesystems like /proc are never entered)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;lock' {
            [CompletionResult]::new('-E', '-E ', [CompletionResultType]::ParameterName, 'Exit N instead of 3 when the lock is not granted within --timeout (flock''s -E)')
            [CompletionResult]::new('--conflict-exit-code', '--conflict-exit-code', [CompletionResultType]::ParameterName, 'Exit N instead of 3 when the lock is not granted within --timeout (flock''s -E)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--shared', '--shared', [CompletionResultType]::ParameterName, 'Take the lock shared (like `read --lock`): other shared holders may run, writers wait')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;watch' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Print compact JSON: one line per change')
            [CompletionResult]::new('--compact', '--compact', [CompletionResultType]::ParameterName, 'Print compact JSON: one line per change')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Print strings without quotes')
            [CompletionResult]::new('--raw-output', '--raw-output', [CompletionResultType]::ParameterName, 'Print strings without quotes')
            [CompletionResult]::new('--changes-only', '--changes-only', [CompletionResultType]::ParameterName, 'Do not print the current value at start; only changes')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Wait for the next change, print it and exit 0')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Read FILE as JSON Lines (the default for *.jsonl, *.ndjson): print each appended line')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;append' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Append to the array at this path of a JSON document (e.g. .events, .a."b c"[0])')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Refuse the change (exit 4) unless the value matches this JSON Schema')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'FILE is JSON Lines whatever its name')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;schema' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'Remove the attached schema')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Attach even if the file''s current content does not match')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'The data file is JSON Lines whatever its name (the schema applies to each line)')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;test' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Run in this directory (on the filesystem to check) instead of a fresh temp dir')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Concurrent worker processes')
            [CompletionResult]::new('--ops', '--ops', [CompletionResultType]::ParameterName, 'Operations per worker')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a file''s lock before giving up with exit code 3')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Number of backups to keep per file')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'Print the suite names, one per line, and exit')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document')
            [CompletionResult]::new('--split-links', '--split-links', [CompletionResultType]::ParameterName, 'Replace a file that has other hard links (they keep the old content)')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Do not back up the version being replaced')
            [CompletionResult]::new('--no-sync', '--no-sync', [CompletionResultType]::ParameterName, 'Skip fsync of the temp file and the directory (tmpfs, tests): not durable')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not append to the audit journal (.jsafe/journal.jsonl)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors (--verbose wins over it)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (who holds a lock, what was backed up, ...)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jsafe;help' {
            [CompletionResult]::new('read', 'read', [CompletionResultType]::ParameterValue, 'Print a file, or the outputs of a jq filter on it (takes no lock by default)')
            [CompletionResult]::new('write', 'write', [CompletionResultType]::ParameterValue, 'Replace a file''s content with the given JSON (argument, or stdin)')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Apply an RFC 7386 JSON merge patch to a file (a missing file starts as {})')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Run a jq filter on a file and store its single result')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'List a file''s backups or bring one back (through the same safe write)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the health, locks, backups and last operation of managed files')
            [CompletionResult]::new('cleanup-locks', 'cleanup-locks', [CompletionResultType]::ParameterValue, 'Remove lock files nobody holds and temp files of writes that died (for cron)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Run a command while holding a file''s lock (nested jsafe calls on the file use it)')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print a file''s (filtered) value now and after every committed change')
            [CompletionResult]::new('append', 'append', [CompletionResultType]::ParameterValue, 'Append a value to a JSON Lines file (O(1)), or to an array in a JSON document')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Attach a JSON Schema to a file (every change is checked), show it, or detach it')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Self-test: check that locking, atomic replace and recovery work on this filesystem')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jsafe;help;read' {
            break
        }
        'jsafe;help;write' {
            break
        }
        'jsafe;help;merge' {
            break
        }
        'jsafe;help;update' {
            break
        }
        'jsafe;help;restore' {
            break
        }
        'jsafe;help;status' {
            break
        }
        'jsafe;help;cleanup-locks' {
            break
        }
        'jsafe;help;lock' {
            break
        }
        'jsafe;help;watch' {
            break
        }
        'jsafe;help;append' {
            break
        }
        'jsafe;help;schema' {
            break
        }
        'jsafe;help;test' {
            break
        }
        'jsafe;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
