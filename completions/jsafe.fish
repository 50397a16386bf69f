complete --keep-order --exclusive --command jsafe --arguments "(JSAFE_COMPLETE=fish jsafe -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
