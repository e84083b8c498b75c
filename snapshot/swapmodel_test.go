package snapshot

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"ocgo/gitrepo"
)

var swapSeeds = flag.Int("swapmodel.seeds", 0, "seeds of TestSwapModel (default 300, 60 with -short)")

// TestSwapModel checks, over random sequences of what a user (or another
// program) may do to the tree between a snapshot's walk and its reads, the
// promise that a snapshot never stores content under a path that the path
// did not have: whatever readForHash returns for a walked entry is either
// what the walk saw there, or what is at that path now read without
// following any link, or a skip; and a revert's currentBlob of a path is
// the hash of one of those, or an error. Every file in and outside the
// project has distinct content, so content read through a link (to another
// project file, or out of the project) is caught. The model of "what is
// there now" is an lstat of every component.
func TestSwapModel(t *testing.T) {
	n := *swapSeeds
	if n == 0 {
		n = 300
		if testing.Short() {
			n = 60
		}
	}
	work, outside := t.TempDir(), t.TempDir()
	s := openSnap(t, work)
	for seed := uint64(1); seed <= uint64(n); seed++ {
		if msg := swapRun(t, s, work, outside, seed); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
	}
}

var swapFiles = []string{"a", "b", "d/c", "d/e", "d/f/g", "h/i"}
var swapLinks = map[string]string{"l": "a", "d/m": "../b"}

// swapRun builds the tree, walks it (an lstat of each entry, as the real
// walk's fstatat), applies a random sequence of changes and checks every
// walked entry; it returns what went wrong with the sequence, or "".
func swapRun(t *testing.T, s *Snapshotter, work, outside string, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0x5a9))
	for _, dir := range []string{work, outside} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	abs := func(rel string) string { return filepath.Join(work, filepath.FromSlash(rel)) }
	walkedContent := map[string]string{}
	for _, f := range swapFiles {
		write(t, work, f, "walked "+f+"\n", 0o644)
		walkedContent[f] = "walked " + f + "\n"
	}
	for l, target := range swapLinks {
		if err := os.Symlink(target, abs(l)); err != nil {
			t.Fatal(err)
		}
		walkedContent[l] = target
	}
	write(t, outside, "x", "outside x\n", 0o644)
	write(t, outside, "sub/g", "outside g\n", 0o644)
	write(t, outside, "sub/c", "outside c\n", 0o644)

	entries := map[string]*fileEntry{}
	for rel := range walkedContent {
		fi, err := os.Lstat(abs(rel))
		if err != nil {
			t.Fatal(err)
		}
		mode := filemode.Regular
		if fi.Mode()&os.ModeSymlink != 0 {
			mode = filemode.Symlink
		}
		entries[rel] = &fileEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inodeOf(fi), mode: mode}
	}
	walkedInfo := map[string]os.FileInfo{}
	for rel := range walkedContent {
		walkedInfo[rel], _ = os.Lstat(abs(rel))
	}

	paths := append(append([]string(nil), swapFiles...), "l", "d/m")
	dirs := []string{"d", "d/f", "h"}
	var log []string
	touched := map[string]bool{} // paths and directories changed
	fresh := 0
	for i := 1 + rng.IntN(4); i > 0; i-- {
		p := paths[rng.IntN(len(paths))]
		fresh++
		newContent := fmt.Sprintf("new %d of %s\n", fresh, p)
		var err error
		switch k := rng.IntN(9); k {
		case 0: // rewrite in place (same inode)
			log = append(log, "rewrite "+p)
			err = rewrite(abs(p), newContent)
		case 1: // an editor's save: a new file renamed over
			log = append(log, "rename-over "+p)
			tmp := abs(p) + ".tmp"
			if err = os.WriteFile(tmp, []byte(newContent), 0o644); err == nil {
				err = os.Rename(tmp, abs(p))
			}
		case 2: // a link to another file of the project
			q := swapFiles[rng.IntN(len(swapFiles))]
			rel, _ := filepath.Rel(filepath.Dir(abs(p)), abs(q))
			log = append(log, "link "+p+" -> "+rel)
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Symlink(rel, abs(p))
			}
		case 3: // a link out of the project
			log = append(log, "link "+p+" -> outside")
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Symlink(filepath.Join(outside, "x"), abs(p))
			}
		case 4: // a directory swapped for a link (to a project directory or out)
			d := dirs[rng.IntN(len(dirs))]
			targets := []string{filepath.Join(outside, "sub"), abs("h"), abs("d/f"), abs(d) + ".old"}
			target := targets[rng.IntN(len(targets))]
			log = append(log, "dir "+d+" -> "+strings.TrimPrefix(strings.TrimPrefix(target, work), outside))
			if err = os.Rename(abs(d), abs(d)+".old"); err == nil {
				err = os.Symlink(target, abs(d))
			}
			touched[d] = true
		case 5:
			log = append(log, "remove "+p)
			err = os.RemoveAll(abs(p))
		case 6:
			log = append(log, "fifo "+p)
			if err = os.RemoveAll(abs(p)); err == nil {
				err = syscall.Mkfifo(abs(p), 0o644)
			}
		case 7: // a hard link to another project file
			q := swapFiles[rng.IntN(len(swapFiles))]
			log = append(log, "hardlink "+p+" = "+q)
			touched[q] = true // q has two links now
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Link(abs(q), abs(p))
			}
		case 8:
			log = append(log, "mkdir "+p)
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Mkdir(abs(p), 0o755)
			}
		}
		if err != nil {
			// A path below a swapped directory, say: the change did not
			// happen (or happened elsewhere); the model reads what is there.
			log = append(log, "  ("+err.Error()+")")
		}
		touched[p] = true
	}
	seq := strings.Join(log, "; ")

	for rel, e0 := range entries {
		e := *e0
		var buf []byte
		got, skip := s.readForHash(rel, &e, &buf)
		kind, now := noFollowState(work, rel)
		changed := touched[rel]
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			changed = changed || touched[d]
		}
		if skip != "" {
			if !changed {
				return fmt.Sprintf("%s skipped (%s) though nothing changed it [%s]", rel, skip, seq)
			}
		} else {
			ok := string(got) == walkedContent[rel] && e.mode == e0.mode ||
				kind == "file" && e.mode != filemode.Symlink && bytes.Equal(got, now) ||
				kind == "link" && e.mode == filemode.Symlink && bytes.Equal(got, now)
			if !ok {
				return fmt.Sprintf("%s read %q as mode %v; walked %q, now %s %q [%s]", rel, got, e.mode, walkedContent[rel], kind, now, seq)
			}
		}

		h, err := s.currentBlob(rel, walkedInfo[rel])
		if err == nil {
			walkedHash, _ := gitrepo.HashObject("blob", []byte(walkedContent[rel]))
			nowHash, _ := gitrepo.HashObject("blob", now)
			if h != walkedHash && (kind != "file" && kind != "hardlink" && kind != "link" || h != nowHash) {
				return fmt.Sprintf("%s: currentBlob %s is neither the walked content nor what is there now (%s %q) [%s]", rel, h, kind, now, seq)
			}
		}
	}
	return ""
}

// noFollowState is what is at rel now, every component lstat'ed: "file"
// (a regular file with one link, and its content), "hardlink" (a regular
// file with more, and its content), "link" (and its target), or
// "unreachable" (a component is a link or not a directory), "missing",
// "other".
func noFollowState(work, rel string) (string, []byte) {
	cur := work
	parts := strings.Split(rel, "/")
	for _, c := range parts[:len(parts)-1] {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if err != nil {
			return "missing", nil
		}
		if !fi.IsDir() {
			return "unreachable", nil
		}
	}
	p := filepath.Join(cur, parts[len(parts)-1])
	fi, err := os.Lstat(p)
	switch {
	case err != nil:
		return "missing", nil
	case fi.Mode()&os.ModeSymlink != 0:
		t, _ := os.Readlink(p)
		return "link", []byte(t)
	case fi.Mode().IsRegular() && linkCount(fi) == 1:
		b, _ := os.ReadFile(p)
		return "file", b
	case fi.Mode().IsRegular():
		b, _ := os.ReadFile(p)
		return "hardlink", b
	}
	return "other", nil
}

// rewrite writes content into the file at p in place, non-blocking: p may
// be a FIFO by now (an earlier step), which would wait for a reader.
func rewrite(p, content string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestRestoreSwapModel checks, over random sequences of agent edits and
// swaps made before a restore, the promise that a restore changes nothing
// but the paths it names: with directories swapped for links (to another
// project directory or out of the project), files swapped for links, hard
// links and removals, Restore and RestoreFiles of a snapshot taken before
// must leave every other path of the project, and everything outside it,
// byte for byte as it was; a named path is either left as it was or made
// the snapshot's content, never written through a link.
func TestRestoreSwapModel(t *testing.T) {
	n := *swapSeeds
	if n == 0 {
		n = 150
		if testing.Short() {
			n = 40
		}
	}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		if msg := restoreSwapRun(t, seed); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
	}
}

func restoreSwapRun(t *testing.T, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0x7e5))
	work, outside := t.TempDir(), t.TempDir()
	abs := func(rel string) string { return filepath.Join(work, filepath.FromSlash(rel)) }
	for _, f := range swapFiles {
		write(t, work, f, "snapshot "+f+"\n", 0o644)
	}
	write(t, outside, "x", "outside x\n", 0o644)
	for _, f := range []string{"c", "e", "g", "i", "f/g"} {
		write(t, outside, "sub/"+f, "outside "+f+"\n", 0o644)
	}
	s := openSnap(t, work)
	t1 := track(t, s)

	// The agent's edits (other sizes, so the restore writes), and a file
	// it created (the restore deletes it).
	targets := []string{} // not nil: Restore(nil) restores every path
	for _, f := range swapFiles {
		if rng.IntN(2) == 0 {
			write(t, work, f, fmt.Sprintf("agent's longer version of %s, seed %d\n", f, seed), 0o644)
			targets = append(targets, f)
		}
	}
	if rng.IntN(2) == 0 {
		write(t, work, "d/new", "made by the agent\n", 0o644)
		targets = append(targets, "d/new")
	}
	var log []string
	dirs := []string{"d", "d/f", "h"}
	for i := rng.IntN(4); i > 0; i-- {
		p := swapFiles[rng.IntN(len(swapFiles))]
		var err error
		switch rng.IntN(5) {
		case 0:
			d := dirs[rng.IntN(len(dirs))]
			ts := []string{filepath.Join(outside, "sub"), abs("h"), abs("d/f")}
			target := ts[rng.IntN(len(ts))]
			log = append(log, "dir "+d+" -> "+target)
			if err = os.Rename(abs(d), abs(d)+".old"); err == nil {
				err = os.Symlink(target, abs(d))
			}
		case 1:
			q := swapFiles[rng.IntN(len(swapFiles))]
			log = append(log, "link "+p+" -> "+q)
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Symlink(abs(q), abs(p))
			}
		case 2:
			log = append(log, "link "+p+" -> outside")
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Symlink(filepath.Join(outside, "x"), abs(p))
			}
		case 3:
			q := swapFiles[rng.IntN(len(swapFiles))]
			log = append(log, "hardlink "+p+" = "+q)
			if err = os.RemoveAll(abs(p)); err == nil {
				err = os.Link(abs(q), abs(p))
			}
		case 4:
			log = append(log, "remove "+p)
			err = os.RemoveAll(abs(p))
		}
		if err != nil {
			log = append(log, "  ("+err.Error()+")")
		}
	}
	exact := rng.IntN(2) == 0
	log = append(log, fmt.Sprintf("restore %v exact=%v", targets, exact))
	seq := strings.Join(log, "; ")

	beforeWork, beforeOut := state(t, work), state(t, outside)
	var err error
	if exact {
		_, err = s.RestoreFiles(context.Background(), t1, targets, nil)
	} else {
		_, err = s.Restore(context.Background(), t1, targets)
	}
	if err != nil {
		seq += "; restore: " + err.Error() // refusing is allowed; the trees are checked all the same
	}
	afterWork, afterOut := state(t, work), state(t, outside)
	if d := diffStates(beforeOut, afterOut); len(d) > 0 {
		return fmt.Sprintf("outside the project changed: %v [%s]", d, seq)
	}
	named := map[string]bool{}
	for _, p := range targets {
		named[p] = true
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			named[d+"/"] = true // a parent the restore may make or remove
		}
	}
	for _, line := range diffStates(beforeWork, afterWork) {
		p := line[strings.Index(line, ": ")+2:]
		if strings.HasPrefix(path.Base(p), ".ocgo-tmp-") && err != nil {
			continue
		}
		if !named[p] {
			return fmt.Sprintf("%s, not a path the restore names [%s]", line, seq)
		}
		if a, ok := afterWork[p]; ok && !strings.HasSuffix(p, "/") && a.content != "snapshot "+p+"\n" {
			return fmt.Sprintf("%s is now %q, neither as it was nor the snapshot's [%s]", p, a.content, seq)
		}
	}
	return ""
}
