package main

import (
	"context"
	"fmt"
	"io"
)

func runOperator(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fmt.Fprintf(stderr, "gatehouse %s: not implemented yet\n", cmd)
	return 1
}
