// main.go — the robfig/cron (v3, Debian's golang-github-robfig-cron-dev)
// side of the cron differential test (cron_diff.py). Reads one query a line
// from stdin, ZONE <TAB> FROM_MS <TAB> COUNT <TAB> EXPRESSION, and prints
// "OK t1 t2 …" (ms since the epoch; robfig's Next gives up after five years
// and then prints a final "NONE"), or "ERR reason". Five fields use the
// standard parser, six the parser with seconds first. Built offline with
// GO111MODULE=off GOPATH=/usr/share/gocode.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron"
)

var sixFields = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month |
	cron.Dow | cron.Descriptor)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<16)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		parts := strings.SplitN(in.Text(), "\t", 4)
		if len(parts) != 4 {
			fmt.Fprintf(os.Stderr, "robfig driver: bad query line %q\n", in.Text())
			os.Exit(2)
		}
		zone, expr := parts[0], parts[3]
		from, _ := strconv.ParseInt(parts[1], 10, 64)
		count, _ := strconv.Atoi(parts[2])
		if zone == "" {
			zone = "UTC"
		}
		full := "CRON_TZ=" + zone + " " + expr
		var sched cron.Schedule
		var err error
		if len(strings.Fields(expr)) == 6 {
			sched, err = sixFields.Parse(full)
		} else {
			sched, err = cron.ParseStandard(full)
		}
		if err != nil {
			fmt.Fprintf(out, "ERR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		out.WriteString("OK")
		t := time.UnixMilli(from).UTC()
		for i := 0; i < count; i++ {
			t = sched.Next(t)
			if t.IsZero() {
				out.WriteString(" NONE")
				break
			}
			fmt.Fprintf(out, " %d", t.UnixMilli())
		}
		out.WriteString("\n")
		out.Flush()
	}
}
