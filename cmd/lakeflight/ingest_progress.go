package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakeflight/lakeflight/ingest"
)

// Progress refresh rates: a terminal line redraws 5 times a second, a log
// (a file, a CI job) gets a line every 5 seconds and one per file.
const (
	barEvery = 200 * time.Millisecond
	logEvery = 5 * time.Second
)

// progress reports an ingest's advance on stderr. It reads the counts of
// the stream being sent (Stats are safe to read from another goroutine)
// plus those of snapshots already committed (--each).
type progress struct {
	mode  string // bar, log or none
	w     io.Writer
	label string
	total int64 // bytes of all inputs, -1 when unknown (stdin)
	every time.Duration

	cur       atomic.Pointer[ingest.Concat]
	doneBytes atomic.Int64
	doneRows  atomic.Int64
	began     time.Time

	mu      sync.Mutex // serialises writes to w
	drawn   bool       // a bar line is on screen
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newProgress(mode string, w io.Writer, label string, total int64) *progress {
	p := &progress{mode: mode, w: w, label: label, total: total, quit: make(chan struct{}), stopped: make(chan struct{})}
	switch mode {
	case "bar":
		p.every = barEvery
	case "log":
		p.every = logEvery
	}
	return p
}

// start begins the periodic reports.
func (p *progress) start() {
	p.began = time.Now()
	if p.every == 0 {
		close(p.stopped)
		return
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.report()
			}
		}
	}()
}

// stop ends the reports and clears the bar; safe to call more than once.
func (p *progress) stop() {
	p.once.Do(func() {
		close(p.quit)
		<-p.stopped
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.drawn {
			_, _ = io.WriteString(p.w, "\r\x1b[K")
			p.drawn = false
		}
	})
}

// reading names the stream now being sent (nil between snapshots).
func (p *progress) reading(c *ingest.Concat) { p.cur.Store(c) }

// snapshotDone adds a committed snapshot's counts to the running totals.
func (p *progress) snapshotDone(st ingest.Stats) {
	p.doneBytes.Add(st.Bytes)
	p.doneRows.Add(st.Rows)
}

// fileDone is Concat.InputDone: a log line per finished file.
func (p *progress) fileDone(source string, st ingest.Stats) {
	if p.mode != "log" {
		return
	}
	line := fmt.Sprintf("lakeflight ingest: %s: read %s, %d rows", source, humanBytes(st.Bytes), st.Rows)
	if st.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped", st.Skipped)
	}
	if st.Rejected > 0 {
		line += fmt.Sprintf(", %d rejected", st.Rejected)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = fmt.Fprintln(p.w, line)
}

func (p *progress) report() {
	bytes, rows := p.doneBytes.Load(), p.doneRows.Load()
	if c := p.cur.Load(); c != nil {
		st := c.Stats()
		bytes += st.Bytes
		rows += st.Rows
	}
	line := p.line(bytes, rows, time.Since(p.began))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == "bar" {
		_, _ = io.WriteString(p.w, "\r"+line+"\x1b[K")
		p.drawn = true
		return
	}
	_, _ = fmt.Fprintln(p.w, "lakeflight ingest: "+line)
}

// line reads like `bronze.events: 45.2 MB of 120.0 MB (37%), 1234567 rows,
// 410000 rows/s, 15.1 MB/s, ETA 5s`.
func (p *progress) line(bytes, rows int64, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", p.label, humanBytes(bytes))
	if p.total > 0 {
		fmt.Fprintf(&b, " of %s (%d%%)", humanBytes(p.total), min(100, bytes*100/p.total))
	}
	fmt.Fprintf(&b, ", %d rows", rows)
	if secs := elapsed.Seconds(); secs > 0 {
		rate := float64(bytes) / secs
		fmt.Fprintf(&b, ", %.0f rows/s, %.1f MB/s", float64(rows)/secs, rate/1e6)
		if p.total > 0 && rate > 0 && bytes < p.total {
			eta := time.Duration(float64(p.total-bytes) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		}
	}
	return b.String()
}

// humanBytes prints a byte count in decimal units (kB, MB, GB).
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(js, '\n'))
	return err
}
