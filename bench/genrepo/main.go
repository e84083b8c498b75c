// Command genrepo writes a synthetic monorepo for the scale benchmarks
// (bench/monorepo.sh): -files source files spread over -dirs directories,
// made of code-like lines over a Zipf-distributed vocabulary, committed as
// a git repository. The same seed gives the same tree. A handful of files
// hold the rare word "zqxrareword" so a rare-word search has a known answer.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "", "directory to create (must not exist)")
	files := flag.Int("files", 100000, "number of files")
	dirs := flag.Int("dirs", 2000, "number of directories")
	seed := flag.Int64("seed", 1, "random seed")
	rare := flag.Int("rare", 7, "files that contain the rare word")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genrepo: -out is required")
		os.Exit(2)
	}
	if err := gen(*out, *files, *dirs, *rare, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genrepo:", err)
		os.Exit(1)
	}
}

func gen(out string, files, dirs, rare int, seed int64) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists", out)
	}
	rng := rand.New(rand.NewSource(seed))
	vocab := make([]string, 4000)
	for i := range vocab {
		n := 3 + rng.Intn(9)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + rng.Intn(26))
		}
		vocab[i] = string(b)
	}
	zipf := rand.NewZipf(rng, 1.1, 4, uint64(len(vocab)-1))
	word := func() string { return vocab[zipf.Uint64()] }
	exts := []string{".go", ".ts", ".py", ".java", ".rs", ".js"}

	// Directories form a tree three levels deep.
	dirNames := make([]string, dirs)
	for i := range dirNames {
		dirNames[i] = filepath.Join(fmt.Sprintf("svc%02d", i%50), fmt.Sprintf("pkg%03d", (i/50)%40), fmt.Sprintf("m%04d", i))
	}
	rareAt := map[int]bool{}
	for len(rareAt) < rare && len(rareAt) < files {
		rareAt[rng.Intn(files)] = true
	}
	var sb strings.Builder
	for i := range files {
		dir := filepath.Join(out, dirNames[i%dirs])
		if i < dirs {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		sb.Reset()
		lines := 10 + rng.Intn(70)
		for l := range lines {
			switch rng.Intn(4) {
			case 0:
				fmt.Fprintf(&sb, "func %s(%s %s) %s {\n", word(), word(), word(), word())
			case 1:
				fmt.Fprintf(&sb, "\t%s := %s.%s(%s, %d)\n", word(), word(), word(), word(), rng.Intn(1000))
			case 2:
				fmt.Fprintf(&sb, "\t// %s %s %s %s\n", word(), word(), word(), word())
			default:
				fmt.Fprintf(&sb, "\treturn %s + %s\n}\n", word(), word())
			}
			if rareAt[i] && l == lines/2 {
				sb.WriteString("\tzqxrareword := true\n")
			}
		}
		name := filepath.Join(dir, fmt.Sprintf("f%06d%s", i, exts[i%len(exts)]))
		if err := os.WriteFile(name, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "genrepo"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=genrepo", "-c", "user.email=genrepo@example.invalid"}, args...)...)
		cmd.Dir = out
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git %v: %w", args, err)
		}
	}
	return nil
}
