package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// parseFlags parses args with fs, flags before or after the positional
// arguments, which it returns. Asked for help (-h), it prints usage and
// fs's flags to stdout and returns exit code 0; given a bad flag, it
// prints the error and usage to stderr and returns 2. It returns -1 to go
// on.
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer) ([]string, int) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var positional []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(fs, usage, stdout)
				return nil, 0
			}
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			printUsage(fs, usage, stderr)
			return nil, 2
		}
		if fs.NArg() == 0 {
			return positional, -1
		}
		positional, rest = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
}

// printUsage writes usage, then fs's flags, to w.
func printUsage(fs *flag.FlagSet, usage string, w io.Writer) {
	fmt.Fprint(w, usage)
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// usageError prints a usage error for cmd and its usage line to stderr,
// and returns exit code 2.
func usageError(stderr io.Writer, cmd, usage, format string, a ...any) int {
	fmt.Fprintf(stderr, "gatehouse %s: %s\n", cmd, fmt.Sprintf(format, a...))
	line, _, _ := strings.Cut(usage, "\n")
	fmt.Fprintf(stderr, "%s\nRun \"gatehouse %s -h\" for its flags.\n", line, cmd)
	return 2
}

// version is the build's version: the module version when installed
// with go install, else the commit it was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "gatehouse (unknown version)"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case v != "" && v != "(devel)":
	case rev != "":
		v = "commit " + rev + modified
	default:
		v = "(devel)"
	}
	return fmt.Sprintf("gatehouse %s (%s)", v, info.GoVersion)
}
