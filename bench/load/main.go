// Command load is the measuring half of bench/compare.sh: a small loopback
// load driver that times server cold starts, drives GET requests with a
// bounded number of keep-alive clients, and seeds session files in the
// opencode 0.5.x storage layout. It knows nothing about which server it
// measures, so ocgo and the original opencode are timed the same way.
//
// Usage:
//
//	load start  -url U -runs N -- CMD ARGS...   median ms from spawn to the first 200 from U
//	load hit    -url U -c C -n N                 req/s and latency percentiles for N GETs over C clients
//	load seed   -dir INFO_DIR -n N               write N session files into INFO_DIR
//	load rss    -pid P                           VmRSS of P in MB
//	load mixed  -url U -pid P -n N -c C -sse S -vanish V [-model M]
//	                                             N mixed requests with S /event subscribers, V vanishing
//	                                             (bench/loadmix); errors, throughput, RSS, threads, fds
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ocgo/bench/loadmix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: load start|hit|seed|rss|mixed [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "start":
		err = cmdStart(os.Args[2:])
	case "hit":
		err = cmdHit(os.Args[2:])
	case "seed":
		err = cmdSeed(os.Args[2:])
	case "rss":
		err = cmdRSS(os.Args[2:])
	case "mixed":
		err = cmdMixed(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// cmdStart spawns the command runs times and reports the median time from
// spawn to the first 200 answer from url. Each run's process is stopped with
// SIGTERM (SIGKILL after 5 s) before the next starts.
func cmdStart(args []string) error {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	url := fs.String("url", "", "URL to poll until it answers 200")
	runs := fs.Int("runs", 5, "number of cold starts")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on one start after this")
	_ = fs.Parse(args)
	cmdArgs := fs.Args()
	if *url == "" || len(cmdArgs) == 0 {
		return errors.New("start needs -url and a command after --")
	}
	var times []float64
	for i := 0; i < *runs; i++ {
		ms, err := oneStart(*url, cmdArgs, *timeout)
		if err != nil {
			return err
		}
		times = append(times, ms)
	}
	slices.Sort(times)
	fmt.Printf("start_ms_median=%.1f start_ms_min=%.1f start_ms_max=%.1f runs=%d\n",
		times[len(times)/2], times[0], times[len(times)-1], len(times))
	return nil
}

func oneStart(url string, argv []string, timeout time.Duration) (float64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited: //nolint:errcheck // stopped by our signal: its exit status says nothing
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited //nolint:errcheck // as above
		}
	}
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ms := float64(time.Since(t0).Microseconds()) / 1000
				stop()
				return ms, nil
			}
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("%s exited before answering: %v", argv[0], err)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(t0) > timeout {
			stop()
			return 0, fmt.Errorf("%s did not answer %s within %s", argv[0], url, timeout)
		}
	}
}

// cmdHit sends n GETs to url over c keep-alive clients and reports
// throughput and latency percentiles. Every answer must be a complete 200.
// With -pid it also reports the CPU time the server process spent per
// request, beside the generator's own: both share the machine's cores.
func cmdHit(args []string) error {
	fs := flag.NewFlagSet("hit", flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	c := fs.Int("c", 8, "concurrent keep-alive clients")
	n := fs.Int("n", 2000, "total requests")
	warm := fs.Int("warm", 20, "requests sent first and not counted")
	pid := fs.Int("pid", 0, "server process id: report its CPU time per request")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up on the whole run after this")
	cpuprofile := fs.String("cpuprofile", "", "write the load generator's own CPU profile here")
	_ = fs.Parse(args)
	if *url == "" || *c < 1 || *n < 1 {
		return errors.New("hit needs -url, -c >= 1 and -n >= 1")
	}
	deadline := time.Now().Add(*timeout)
	clients := make([]*hitClient, *c)
	for i := range clients {
		hc, err := newHitClient(*url, deadline)
		if err != nil {
			return err
		}
		clients[i] = hc
		defer hc.close()
	}
	var firstLat time.Duration
	var bodyBytes int
	for i := 0; i < *warm; i++ {
		t := time.Now()
		nb, err := clients[0].get()
		if err != nil {
			return fmt.Errorf("GET %s: %w", *url, err)
		}
		if i == 0 {
			firstLat, bodyBytes = time.Since(t), nb
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	lat := make([]time.Duration, *n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	srv0 := procCPU(*pid)
	gen0 := selfCPU()
	t0 := time.Now()
	for _, hc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				t := time.Now()
				if _, err := hc.get(); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("GET %s: %w", *url, err))
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	gen := selfCPU() - gen0
	srv := procCPU(*pid) - srv0
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	perReq := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(*n) }
	fmt.Printf("rps=%.0f p50_ms=%.2f p99_ms=%.2f first_ms=%.2f bytes=%d n=%d c=%d gen_cpu_us=%.1f",
		float64(*n)/elapsed.Seconds(), pct(0.5), pct(0.99), float64(firstLat.Microseconds())/1000, bodyBytes, *n, *c, perReq(gen))
	if *pid != 0 {
		fmt.Printf(" srv_cpu_us=%.1f", perReq(srv))
	}
	fmt.Println()
	return nil
}

// selfCPU is this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's user + system CPU time (0 for pid 0 or when
// /proc cannot tell).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command's closing parenthesis: state is the 3rd
	// field of the line, utime and stime the 14th and 15th, in clock ticks
	// (100 per second on Linux).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// cmdSeed writes n session files into dir the way opencode 0.5.x lays them
// out: session/info/<id>.json, 2-space indented, descending IDs.
func cmdSeed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dir := fs.String("dir", "", "the storage/session/info directory")
	n := fs.Int("n", 10000, "sessions to write")
	_ = fs.Parse(args)
	if *dir == "" {
		return errors.New("seed needs -dir")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	now := time.Now().UnixMilli() - int64(*n)*1000
	for i := 0; i < *n; i++ {
		ms := now + int64(i)*1000
		id := sessionID(ms)
		body, err := json.MarshalIndent(map[string]any{
			"id": id, "version": "0.5.29", "title": "seeded session " + strconv.Itoa(i),
			"time": map[string]int64{"created": ms, "updated": ms},
		}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*dir, id+".json"), body, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("seeded=%d dir=%s\n", *n, *dir)
	return nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sessionID builds a descending opencode ID for time ms (reference §4).
func sessionID(ms int64) string {
	v := ^(uint64(ms)*0x1000 + 1)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	var sb strings.Builder
	sb.WriteString("ses_")
	fmt.Fprintf(&sb, "%x", b[2:])
	rnd := make([]byte, 14)
	_, _ = rand.Read(rnd)
	for _, r := range rnd {
		sb.WriteByte(base62[int(r)%62])
	}
	return sb.String()
}

// cmdRSS prints the resident set size of a process in MB.
func cmdRSS(args []string) error {
	fs := flag.NewFlagSet("rss", flag.ExitOnError)
	pid := fs.Int("pid", 0, "process id")
	_ = fs.Parse(args)
	p, err := loadmix.ProcStats(*pid)
	if err != nil {
		return err
	}
	if p.RSSKB == 0 {
		return errors.New("no VmRSS line")
	}
	// Anonymous memory is the heap, stacks and runtime; the rest is
	// file-backed, mostly the binary's own pages.
	fmt.Printf("rss_mb=%.1f anon_mb=%.1f file_mb=%.1f\n", float64(p.RSSKB)/1024, float64(p.AnonKB)/1024,
		float64(p.RSSKB-p.AnonKB)/1024)
	return nil
}

// cmdMixed runs bench/loadmix against a running server and reports whether
// it leaked: RSS, threads and open descriptors of pid before the load
// (after a warm-up without subscribers), at the peak and once idle again.
// It fails when any request failed.
func cmdMixed(args []string) error {
	fs := flag.NewFlagSet("mixed", flag.ExitOnError)
	url := fs.String("url", "", "server base URL")
	pid := fs.Int("pid", 0, "server process id (for /proc figures)")
	n := fs.Int("n", 1_000_000, "requests")
	c := fs.Int("c", 16, "concurrent keep-alive clients")
	sse := fs.Int("sse", 50, "/event subscribers")
	vanish := fs.Int("vanish", 10, "subscribers that vanish without closing")
	sessions := fs.Int("sessions", 50, "sessions shared by the clients")
	model := fs.String("model", "", "providerID/modelID for prompts (none: no prompts)")
	file := fs.String("file", "README.md", "project file for the file routes")
	pattern := fs.String("pattern", "func", "/find pattern")
	symbol := fs.String("symbol", "main", "/find/symbol query")
	settle := fs.Duration("settle", 5*time.Minute, "how long to wait for RSS to come back once idle")
	_ = fs.Parse(args)
	if *url == "" || *pid == 0 {
		return errors.New("mixed needs -url and -pid")
	}
	stats := func() loadmix.Proc {
		p, err := loadmix.ProcStats(*pid)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load: /proc:", err)
		}
		return p
	}
	mb := func(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
	opts := loadmix.Options{URL: *url, Requests: 2000, Concurrency: *c, Sessions: *sessions,
		Prompts: *model != "", Model: *model, File: *file, Pattern: *pattern, Symbol: *symbol, Seed: 1}
	cold := stats()
	if res, err := loadmix.Run(context.Background(), opts); err != nil || res.Errors > 0 {
		return fmt.Errorf("warm-up: %v %v", err, res.Samples)
	}
	time.Sleep(2 * time.Second)
	base := stats()
	var mu sync.Mutex
	peak := base
	opts.Requests, opts.Subscribers, opts.Vanish, opts.Seed = *n, *sse, *vanish, 2
	opts.Tick = func() {
		p := stats()
		mu.Lock()
		peak.RSSKB, peak.AnonKB, peak.Threads, peak.FDs = max(peak.RSSKB, p.RSSKB), max(peak.AnonKB, p.AnonKB), max(peak.Threads, p.Threads), max(peak.FDs, p.FDs)
		mu.Unlock()
	}
	last := time.Now()
	stopProgress := make(chan struct{})
	go func() { // a line a minute, so a long run shows it is alive
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				p := stats()
				fmt.Printf("  … %s, RSS %s (anonymous %s), threads %d, fds %d\n", time.Since(last).Round(time.Second), mb(p.RSSKB), mb(p.AnonKB), p.Threads, p.FDs)
			}
		}
	}()
	res, err := loadmix.Run(context.Background(), opts)
	close(stopProgress)
	if err != nil {
		return err
	}
	busy := stats()
	// Idle: wait for the server to return memory (the Go runtime collects
	// at least every 2 minutes and gives pages back in the background).
	t0 := time.Now()
	after := stats()
	for time.Since(t0) < *settle && (after.RSSKB > base.RSSKB*11/10+2048 || after.FDs > base.FDs) {
		time.Sleep(time.Second)
		after = stats()
	}
	fmt.Printf("requests %d in %s: %.0f req/s, errors %d\n", res.Requests, res.Elapsed.Round(time.Millisecond), res.RPS(), res.Errors)
	for _, e := range res.Samples {
		fmt.Println("  error:", e)
	}
	kinds := make([]string, 0, len(res.Kinds))
	for k, v := range res.Kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(kinds)
	fmt.Println("kinds:", strings.Join(kinds, ", "))
	fmt.Printf("subscribers %d: %d read %d frames (%d cut off), %d reset mid-run, %d stopped reading\n",
		*sse, *sse-res.Reset-res.Stalled, res.Frames, res.CutOff, res.Reset, res.Stalled)
	fmt.Printf("RSS: cold %s, baseline %s, peak %s, right after %s, after %s idle %s\n",
		mb(cold.RSSKB), mb(base.RSSKB), mb(peak.RSSKB), mb(busy.RSSKB), time.Since(t0).Round(time.Second), mb(after.RSSKB))
	fmt.Printf("of which anonymous (heap, stacks): cold %s, baseline %s, peak %s, right after %s, idle %s\n",
		mb(cold.AnonKB), mb(base.AnonKB), mb(peak.AnonKB), mb(busy.AnonKB), mb(after.AnonKB))
	fmt.Printf("threads: baseline %d, peak %d, after %d; open fds: baseline %d, peak %d, after %d\n",
		base.Threads, peak.Threads, after.Threads, base.FDs, peak.FDs, after.FDs)
	if res.Errors > 0 {
		return fmt.Errorf("%d errors", res.Errors)
	}
	return nil
}
