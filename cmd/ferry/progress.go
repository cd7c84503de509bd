package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/ferry-relay/ferry/clock"
	"github.com/ferry-relay/ferry/recovery"
)

// Progress reports of ferry recover: a bar redrawn on a terminal, JSON
// lines otherwise; at most one per interval within a phase, and one at
// every change of phase.
const (
	barInterval  = 100 * time.Millisecond
	lineInterval = time.Second
	barWidth     = 30
)

// progressPrinter prints a recovery's progress to a terminal or a log.
// It is called from one goroutine.
type progressPrinter struct {
	out   io.Writer
	tty   bool
	clock clock.Clock
	// last is the last event printed and when; pending is the latest one
	// held back by the interval, printed when the phase changes.
	last    recovery.Event
	lastAt  time.Time
	pending *recovery.Event
	drawn   bool // a bar is on the terminal's current line
}

var _ recovery.Progress = (*progressPrinter)(nil)

// newProgressPrinter prints to out: a bar if out is a terminal.
func newProgressPrinter(out io.Writer, clk clock.Clock) *progressPrinter {
	f, ok := out.(*os.File)
	return &progressPrinter{out: out, tty: ok && isatty.IsTerminal(f.Fd()), clock: clk}
}

// Report prints ev unless one of its phase was printed less than an
// interval ago.
func (p *progressPrinter) Report(ev recovery.Event) {
	now := p.clock.Now()
	interval := lineInterval
	if p.tty {
		interval = barInterval
	}
	same := ev.Coin == p.last.Coin && ev.Phase == p.last.Phase
	if same && now.Sub(p.lastAt) < interval && ev.Phase != recovery.PhaseFinished {
		p.pending = &ev
		return
	}
	if !same && p.pending != nil {
		p.print(*p.pending) // the phase's last state
	}
	p.pending = nil
	p.print(ev)
	p.last, p.lastAt = ev, now
}

// Done ends the bar's line.
func (p *progressPrinter) Done() {
	if p.pending != nil {
		p.print(*p.pending)
		p.pending = nil
	}
	if p.drawn {
		fmt.Fprintln(p.out)
		p.drawn = false
	}
}

func (p *progressPrinter) print(ev recovery.Event) {
	if !p.tty {
		line, _ := json.Marshal(struct {
			Time time.Time `json:"time"`
			recovery.Event
		}{p.clock.Now().UTC(), ev})
		p.out.Write(append(line, '\n'))
		return
	}
	// A new phase keeps the previous one's line.
	if p.drawn && (ev.Coin != p.last.Coin || ev.Phase != p.last.Phase) {
		fmt.Fprintln(p.out)
	}
	fmt.Fprintf(p.out, "\r\x1b[K%s", barLine(ev))
	p.drawn = true
}

// barLine renders an event as a terminal line: a bar for the passes over
// blocks, the phase's name otherwise.
func barLine(ev recovery.Event) string {
	found := fmt.Sprintf("addresses %d  payments %d  window %d", ev.Addresses, ev.Payments, ev.Window)
	switch ev.Phase {
	case recovery.PhaseScan, recovery.PhaseCatchUp:
		total := max(ev.To-ev.From+1, 1)
		done := min(max(ev.Height-ev.From+1, 0), total)
		filled := int(done * barWidth / total)
		return fmt.Sprintf("%s %-8s [%s%s] %3d%%  block %d of %d  %s", ev.Coin, ev.Phase,
			strings.Repeat("#", filled), strings.Repeat("-", barWidth-filled), done*100/total, ev.Height, ev.To, found)
	case recovery.PhaseRewind:
		return fmt.Sprintf("%s reorg: back to block %d", ev.Coin, ev.Height)
	}
	return fmt.Sprintf("%s %-8s block %d  %s", ev.Coin, ev.Phase, ev.Height, found)
}
