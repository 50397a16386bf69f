
set edit:completion:arg-completer[jsafe] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) JSAFE_COMPLETE="elvish" jsafe -- $@words) | to-lines
}

