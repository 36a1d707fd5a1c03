package cli

// SplitWords exposes the shell's word splitter to the external tests.
var SplitWords = splitWords
