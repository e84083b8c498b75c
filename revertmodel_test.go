package main

// The model-based test of revert safety (issue 14). A small in-memory model
// says what every file of the project should contain after each operation;
// random, seeded sequences of operations (agent tool calls through the real
// server and a scripted provider, user edits straight on the disk, reverts to
// any message or part, unreverts, redo, prompts after a revert, restarts) are
// run against the real server over HTTP, and the disk, the HTTP answers and
// the session's revert state are compared with the model after every step. A
// failing sequence is shrunk (operations dropped while it still fails the
// same way) and printed with its seed.
//
// The property the model encodes:
//   - nothing the agent did not write is ever changed or deleted by revert,
//     unrevert or redo;
//   - where a file the operation would change has been changed by someone
//     else since this session last wrote it (the agent, or a revert of this
//     session), the operation answers 409 ConflictError naming every such
//     file and changes nothing at all;
//   - every agent change is undoable: created files removed, deleted files
//     and modes restored, for any name bytes and content;
//   - each tool call's patch part names exactly the files that call changed.
//
// Run more sequences with -revertmodel.n=5000 (or REVERTMODEL_N=5000), one
// seed with -revertmodel.seed=N, longer sequences with -revertmodel.len=N.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"ocgo/provider/fakellm"
	"ocgo/storage"
	"ocgo/trace"
)

var (
	revertModelN    = flag.Int("revertmodel.n", 0, "random operation sequences the revert model test runs (env REVERTMODEL_N; default 50 with -short, 300 without)")
	revertModelSeed = flag.Int64("revertmodel.seed", 0, "run only this seed of the revert model test")
	revertModelLen  = flag.Int("revertmodel.len", 0, "operations per sequence of the revert model test (default 14)")
	revertModelAll  = flag.Bool("revertmodel.all", false, "keep going after a failure: run every sequence, shrink the first failure of each kind")
)

// regressions are minimal sequences the model test once found failing,
// kept as they were printed (seeds change meaning when the generator does).
// TestRevertModelRegressions runs each in every kind of project.
var regressions = map[string][]op{
	// Redo resurrected a file the user deleted (fixed: the files that join
	// the reverted set are saved as they are when they join). Seed
	// 143014292 (-revertmodel.len=30): the agent created a.txt (call 2 of
	// prompt 1); the user deletes it; an undo further back (to before
	// call 2) finds a.txt already absent, 200; a redo back to prompt 2
	// then writes a.txt with the agent's old content. The redo target for
	// a file that joined the reverted set after the first revert is the
	// first revert's snapshot, taken when a.txt still held the agent's
	// content; the model expects the state the file had when it joined.
	"redo resurrects a file the user deleted": {
		{kind: opAgent, sess: 0, calls: []callSpec{
			{tool: "edit", path: "sp ace.txt", r: 4, data: "efa5b3d"},
			{tool: "patch", acts: []bashAct{{path: "a.txt", r: 1, path2: "b.txt", data: "t3155a2\n"}}},
			{tool: "patch", acts: []bashAct{{path: "a.txt", r: 4, path2: "a.txt", data: "tea310e\nt36d429\n"}, {path: "d/e/g.dat", r: 4, path2: "README.md", data: "t38ad29\nt7fcb20\n"}}},
		}},
		{kind: opRevert, sess: 0, r: 127181},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "edit", path: "d/e/g.dat", r: 6, data: "ec07c91"}}},
		{kind: opUserDelete, path: "a.txt"},
		{kind: opRevert, sess: 0, r: 706581},
		{kind: opRevert, sess: 0, r: 775452},
		{kind: opRevert, sess: 0, r: 162493},
	},
	// The directories the agent made are removed when a revert empties
	// them, and come back with the unrevert (checkEmptiedDirs).
	"agent-made directories removed": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "d/e/g.dat", data: "t1\n"}}},
		{kind: opRevert, sess: 0, r: 0},
		{kind: opUnrevert, sess: 0},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'r', path: "d/e/g.dat"}}}}},
		{kind: opRevert, sess: 1, r: 0},
		{kind: opUnrevert, sess: 1},
	},
	// A directory the agent made stayed after a revert emptied it: its two
	// files went back to two different trees, and the second tree has the
	// directory, for the file the first restore had just deleted (seed 1013).
	"directory emptied across two target trees": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "b.txt", r: 2, path2: "README.md", data: "taef52c\nt014234\n"}}}}},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "d/e/g.dat", data: "tccf8a3\n"}, {tool: "bash", acts: []bashAct{{kind: 'w', path: "d/c.txt", data: "c\n"}, {kind: 'r', path: "n\xff.txt"}}}}},
		{kind: opRevert, sess: 0, r: 123249},
	},
	// Unrevert overwrote another session's later write (seed 1).
	"unrevert over a later write": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "README.md", data: "t29ee07\n"}}},
		{kind: opRevert, sess: 0, r: 0},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "README.md", data: "\xffa"}}}, {tool: "write", path: "README.md", data: ""}}},
		{kind: opUnrevert, sess: 0},
	},
	// Moving a revert point that undid nothing restored the whole project
	// to the first revert's snapshot (seed 874386003).
	"redo restores the whole project": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'X', path: "a.txt"}}}}},
		{kind: opRevert, sess: 1, r: 0},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "b.txt"}, {kind: 'r', path: "README.md"}}}}},
		{kind: opRevert, sess: 1, r: 1},
	},
	// An unrevert removed the directories d and d/e the user had made
	// (seed 592251686, shrunk by hand; the printed sequence is in
	// concurrent): the agent's patch deleted the user's d/e/g.dat, the
	// revert brought it back, the unrevert deleted it again and removed
	// the emptied d/e and d, "born after the session's earliest change",
	// so taken for the agent's. Fixed: each call records the directories
	// it created (patch part "dirs"), and a revert or unrevert removes
	// only those of its calls, once emptied.
	"an unrevert removes the user's directories": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "write", path: "a.txt", data: "t0\n"}}},
		{kind: opUserWrite, path: "d/e/g.dat", data: "t1\nt2\n"},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "d/e/g.dat", r: 0, path2: "sp ace.txt", data: "t3\n"}}}}},
		{kind: opRevert, sess: 1, r: 0},
		{kind: opUnrevert, sess: 1},
	},
	// The user's chmod between two agent calls that changed the file is a
	// change by someone else in between (seed 574318093, -revertmodel.len=25):
	// a revert past both would drop it, and the server refuses (409), as it
	// compares content and mode. The model was wrong: its gap check looked at
	// the content only.
	"chmod between two of the reverted calls": {
		{kind: opAgent, sess: 0, calls: []callSpec{
			{tool: "patch", acts: []bashAct{{path: "b.txt", r: 4, path2: "sp ace.txt", data: "t6adce2\ntca4fee\ntf588fc\n"}, {path: "d/e/g.dat", r: 4, path2: "a.txt", data: "t36cb32\n"}}},
			{tool: "patch", acts: []bashAct{{path: "b.txt", r: 7, path2: "n\xff.txt", data: "te02819\nt5a7f52\n"}, {path: "README.md", r: 5, path2: "b.txt", data: "tf18420\n"}}},
			{tool: "write", path: "sp ace.txt", data: ""},
		}},
		{kind: opUserChmod, path: "b.txt"},
		{kind: opAgent, sess: 0, calls: []callSpec{
			{tool: "edit", path: "sp ace.txt", r: 0, data: "e23bac5"},
			{tool: "patch", acts: []bashAct{{path: "a.txt", r: 2, path2: "d/c.txt", data: "t5c7269\n"}, {path: "b.txt", r: 5, path2: "a.txt", data: ""}}},
		}},
		{kind: opRevert, sess: 0, r: 251093},
	},
	// A directory the agent made, that a revert removed and the user then
	// made again, was removed by the next revert of the same call (the
	// record was by path only; found by reading, not by a seed). Fixed:
	// the revert state lists the directories it left absent
	// (session.revert.dirs); one found again at the next operation is
	// someone else's and leaves the calls' records.
	"a directory the agent made, removed by a revert, remade by the user": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "d/c.txt", data: "t1\n"}}},
		{kind: opRevert, sess: 0, r: 0},
		{kind: opUserWrite, path: "d/c.txt", data: "t1\n"},
		{kind: opUnrevert, sess: 0},
		{kind: opRevert, sess: 0, r: 0},
		{kind: opUnrevert, sess: 0},
		{kind: opRevert, sess: 0, r: 0},
	},
	// A chmod by the user was not a conflict (seed 727313889).
	"chmod by the user": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "b.txt", data: "tde39af\n"}}},
		{kind: opUserChmod, path: "b.txt"},
		{kind: opRevert, sess: 0, r: 0},
	},
	// Redo reset a mode the user set on a restored file (seed 604890715).
	"chmod after a revert, then redo": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'r', path: "README.md"}}}, {tool: "write", path: "README.md", data: "ta74668\n"}}},
		{kind: opRevert, sess: 1, r: 0},
		{kind: opUserChmod, path: "README.md"},
		{kind: opRevert, sess: 1, r: 3},
	},
	// A non-UTF-8 name was not undone after a restart (seed 758808881).
	"non-UTF-8 name after a restart": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "write", path: "n\xff.txt", data: "t849fd9\n"}}},
		{kind: opRestart},
		{kind: opRevert, sess: 1, r: 0},
	},
	// The before-snapshot missed a user's edit the watcher had not
	// reported: the revert deleted the user's file (seed 99889801).
	"user edit just before the agent's": {
		{kind: opUserWrite, path: "b.txt", data: "t889032\n"},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "edit", path: "b.txt", r: 5, data: "e5fdb3c"}}},
		{kind: opRevert, sess: 0, r: 0},
	},
	// A revert restoring another session's content, then committed by a
	// prompt, does not make that content this session's (seed 884348964;
	// the model was wrong, the server right).
	"committed revert then revert further": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "a.txt", data: "ebc4a32\n"}}},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "write", path: "a.txt", data: "t2317e0\n"}}},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "a.txt", data: "ec5b198\n"}}},
		{kind: opRevert, sess: 0, r: 7},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "README.md", data: "t7fcc5a\n"}}},
		{kind: opRevert, sess: 0, r: 0},
	},
}

// regressionsCrash are sequences the crash operation (revertcrash_test.go)
// found failing; TestRevertModelRegressions runs them with the others.
var regressionsCrash = map[string][]op{
	// A revert killed between writing a file's temp copy and renaming it
	// over the file left the temp file in the project after the restart
	// finished the revert (seed 1047). Fixed: one temp name per file, which
	// the recovery removes (snapshot.RemoveTemps).
	"temp file left by a kill before the rename": {
		{kind: opUserDuringBash, sess: 1, path: "a.txt", data: "te36ffe\ntd83bcb\n", calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "d/e/g.dat", data: "t56d22b\nt4d0965\nte33aa2\n"}, {kind: 'w', path: "b.txt", data: "tf74edd\nt4fe948\nt3f50c6\n"}}}}},
		{kind: opCrash, sess: 1, r: 130815, at: 2},
		{kind: opCrash, sess: 1, r: -1, at: 9},
	},
	// A revert killed after deleting a file the agent created and before
	// removing the directory the agent made for it, which the deletion
	// emptied: the recovery found the file already absent, skipped it, and
	// the empty directory stayed (seed 125290063). Fixed: a file the
	// interrupted run deleted still goes to RestoreFiles, which counts the
	// directory of an absent file as emptied.
	"kill between a deletion and the removal of the directory it emptied": {
		{kind: opUserWrite, path: "n\xff.txt", data: "\"\xff\xff\"\x00\x00\xff%"},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "b.txt", data: "t2924d1\nt9b556c\n"}, {kind: 'm', path: "d/c.txt", path2: "a.txt"}}}, {tool: "patch", acts: []bashAct{{path: "sp ace.txt", r: 0, path2: "a.txt", data: "t8f6ab9\nt359d5d\nt075922\n"}, {path: "b.txt", r: 3, path2: "README.md", data: "tc9b922\ntf5efbc\n"}}}}},
		{kind: opRevert, sess: 1, r: 838179},
		{kind: opOtherDuringBash, sess: 1, r: 0, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'r', path: "a.txt"}, {kind: 'w', path: "n\xff.txt", data: "\x00a\n\n"}}}}},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "d/e/g.dat", r: 7, path2: "n\xff.txt", data: "t39d727\n"}}}, {tool: "edit", path: "d/e/g.dat", r: 7, data: "e6e7b68"}, {tool: "edit", path: "n\xff.txt", r: 5, data: "e55bbd8"}}},
		{kind: opCrash, sess: 1, r: 679631, at: 7},
	},
	// A revert killed after removing d/e and before removing d, both made
	// by the agent and emptied: the recovery tried d/e, found it gone and
	// stopped climbing; d stayed (seed 565346688). Fixed: a directory
	// already gone does not stop the climb in a revert.
	"kill between the removals of two emptied directories": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "edit", path: "b.txt", r: 4, data: "e37c189"}}},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "edit", path: "d/e/g.dat", r: 4, data: "ef81a8e"}}},
		{kind: opCrash, sess: 1, r: 707301, at: 6},
	},
	// Found by a long run with crashes, though no crash is needed: the
	// user deletes n\xff.txt after the agent's last write; an undo finds
	// it already absent; a redo leaves it out (back to the saved absent);
	// an undo of the agent's last write to it must refuse (it would
	// resurrect the file the user deleted). The model took the absent
	// state the first revert left as this session's (seed 878604703).
	"redo leaves a file out, an undo takes it back in": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "n\xff.txt", r: 6, path2: "b.txt", data: "t461c22\n"}}}, {tool: "edit", path: "d/e/g.dat", r: 7, data: "e59dc2e"}, {tool: "edit", path: "n\xff.txt", r: 0, data: "e1c1be2"}}},
		{kind: opUserDelete, path: "n\xff.txt"},
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "b.txt", data: "ta448be\nt381ef6\ntd0d305\n"}}},
		{kind: opRevert, sess: 0, r: 690845},
		{kind: opRevert, sess: 0, r: 267335},
		{kind: opRevert, sess: 0, r: 204413},
	},
	// A chmod by the user between two of the reverted calls is someone
	// else's change (the server refuses, 409); the model compared only the
	// content (seed 350427057, found by a crash operation that answered).
	"chmod between two reverted calls": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "b.txt", r: 0, path2: "a.txt", data: "tdc77b4\n"}}}, {tool: "bash", acts: []bashAct{{kind: 'w', path: "a.txt", data: "t680603\nt0aeef5\nt477bb8\n"}}}, {tool: "write", path: "a.txt", data: ""}}},
		{kind: opUserChmod, path: "a.txt"},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "a.txt", data: " \nb$"}}}}},
		{kind: opRevert, sess: 1, r: 393826},
	},
}

// examples are sequences that cover what random sequences reach rarely
// (not with -short: a revert of 6 MB files takes seconds).
var examples = map[string][]op{
	"a 6 MB file created, overwritten and patched": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'b', path: "big.bin", r: 6}, {kind: 'b', path: "README.md", r: 6}}}}},
		{kind: opRevert, sess: 0, r: 0},
		{kind: opUnrevert, sess: 0},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "a.txt", data: "t1\nt2\n"}, {path: "README.md", r: 0}}}}},
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "patch", acts: []bashAct{{path: "a.txt", path2: "d/moved.txt", r: 1, data: "t3\n"}}}}},
		{kind: opRevert, sess: 1, r: 0},
		{kind: opRevert, sess: 0, r: 0},
		{kind: opUnrevert, sess: 0},
		{kind: opUnrevert, sess: 1},
	},
}

// knownFailures are minimal sequences found failing and not fixed yet;
// TestRevertModelKnownFailures runs them and reports them as skips until
// they pass (-revertmodel.strict: as failures).
var knownFailures = map[string][]op{}

// concurrent are sequences with something happening while a command runs.
var concurrent = map[string][]op{
	// Seed 742634481 (-revertmodel.len=30): s1's agent creates a.txt
	// empty; s0's command writes a.txt with the same (empty) content, then,
	// while the command still runs, s1 reverts and deletes a.txt. The
	// command's patch named a.txt (it wrote it, and it changed between the
	// before and after trees), though the change was s1's revert, so a
	// revert of s0 brought back s1's file. Fixed: the tracer orders a
	// command's last write to a path against the restores ocgo makes
	// (trace.Tracer.Restored).
	"another session's revert during a command that rewrote the same bytes": {
		{kind: opAgent, sess: 1, calls: []callSpec{{tool: "write", path: "a.txt", data: ""}}},
		{kind: opOtherDuringBash, sess: 0, r: 669290, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "a.txt", data: ""}}}}},
	},
	// Seed 592251686 (-revertmodel.len=20), as printed: see "an unrevert
	// removes the user's directories".
	"user-made directories emptied by an unrevert": {
		{kind: opOtherDuringBash, sess: 1, r: 39259, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'r', path: "n\xff.txt"}, {kind: 'w', path: "n\xff.txt", data: ""}}}}},
		{kind: opUserWrite, path: "d/e/g.dat", data: "te119cb\ntfbcbfa\n"},
		{kind: opOtherDuringBash, sess: 1, r: 453798, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'm', path: "n\xff.txt", path2: "b.txt"}, {kind: 'm', path: "sp ace.txt", path2: "n\xff.txt"}}}}},
		{kind: opAgent, sess: 1, calls: []callSpec{
			{tool: "patch", acts: []bashAct{{path: "d/e/g.dat", r: 0, path2: "sp ace.txt", data: "t660824\n"}}},
			{tool: "patch", acts: []bashAct{{path: "sp ace.txt", r: 3, path2: "n\xff.txt", data: "td2dc3d\nt104286\n"}, {path: "README.md", r: 3, path2: "sp ace.txt", data: "t8cd644\nt95b940\n"}}},
		}},
		{kind: opOtherDuringBash, sess: 0, r: 1010518, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'X', path: "b.txt"}}}}},
		{kind: opUnrevert, sess: 1},
	},
	// Seed 789392894 (-revertmodel.len=30): s0's command deletes
	// "sp ace.txt"; while it runs, s1's revert writes the file back. The
	// server leaves it out of the command's patch (what the path holds is
	// the revert's, and a revert of the command must not put the older
	// content over it); the model expected it there. The model was wrong:
	// it now drops from the command's changes every path the revert
	// changed after them, as the tracer does.
	"another session's revert rewrites what a command deleted": {
		{kind: opAgent, sess: 0, calls: []callSpec{
			{tool: "bash", acts: []bashAct{{kind: 'w', path: "a.txt", data: "\x00%\\ ''\na\xff\xff$% \x00\xff%\nb\x00"}}},
			{tool: "patch", acts: []bashAct{{path: "sp ace.txt", r: 1, path2: "sp ace.txt", data: "t7f2224\n"}, {path: "d/c.txt", r: 6, path2: "d/e/g.dat", data: "tccc47c\n"}}},
		}},
		{kind: opAgent, sess: 1, calls: []callSpec{
			{tool: "bash", acts: []bashAct{{kind: 'w', path: "d/e/g.dat", data: ""}, {kind: 'w', path: "sp ace.txt", data: "\xff\xffb$ \xff"}}},
			{tool: "patch", acts: []bashAct{{path: "d/e/g.dat", r: 1, path2: "b.txt", data: "t921580\nt4f7b2f\n"}, {path: "a.txt", r: 5, path2: "a.txt", data: "teadce7\ntee4585\nt35e784\n"}}},
			{tool: "patch", acts: []bashAct{{path: "README.md", r: 7, path2: "sp ace.txt", data: "t51713e\n"}, {path: "sp ace.txt", r: 2, path2: "d/e/g.dat", data: ""}}},
		}},
		{kind: opUserDuringBash, sess: 0, path: "sp ace.txt", data: "", calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "d/c.txt", data: "tb4a220\n"}}}}},
		{kind: opOtherDuringBash, sess: 0, r: 990453, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'r', path: "sp ace.txt"}}}}},
	},
	// Seed 399411335 (-revertmodel.len=25): s0's command moves the user's
	// file onto d/e/g.dat; while it runs, s1's revert deletes d/e/g.dat
	// (it held what s1 left there). The command's patch named d/e/g.dat:
	// the tracer left out a path ocgo restored after the command's last
	// change, but not when that change was a rename. Fixed in the tracer
	// (a rename's path, and what lies below a renamed directory, restored
	// after it is not the command's).
	"another session's revert deletes a command's rename target": {
		{kind: opAgent, sess: 1, calls: []callSpec{
			{tool: "bash", acts: []bashAct{{kind: 'w', path: "n\xff.txt", data: " $\" \" bb"}, {kind: 'w', path: "d/e/g.dat", data: ""}}},
			{tool: "bash", acts: []bashAct{{kind: 'x', path: "a.txt"}}},
		}},
		{kind: opUserWrite, path: "n\xff.txt", data: ""},
		{kind: opOtherDuringBash, sess: 0, r: 666731, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'm', path: "n\xff.txt", path2: "d/e/g.dat"}}}}},
	},
	"another session reverts during a command": {
		{kind: opAgent, sess: 0, calls: []callSpec{{tool: "write", path: "a.txt", data: "t1\n"}}},
		{kind: opOtherDuringBash, sess: 1, r: 1, calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "b.txt", data: "t2\n"}}}}},
		{kind: opRevert, sess: 1, r: 0},
		{kind: opUnrevert, sess: 0},
	},
	"the user writes during a command": {
		{kind: opUserDuringBash, sess: 0, path: "a.txt", data: "u\n", calls: []callSpec{{tool: "bash", acts: []bashAct{{kind: 'w', path: "b.txt", data: "t2\n"}}}}},
		{kind: opRevert, sess: 0, r: 0},
	},
}

func TestRevertModelKnownFailures(t *testing.T) {
	for name, ops := range knownFailures {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			var problems []string
			for v := variant(0); v < nVariants; v++ {
				if f, step := runOps(t, v, ops); f != nil {
					problems = append(problems, fmt.Sprintf("%s: %s at step %d: %s", variantNames[v], f.kind, step, f.detail))
				}
			}
			knownFailing(t, true, "a fix (see knownFailures)", problems)
		})
	}
}

func TestRevertModelRegressions(t *testing.T) {
	for name, ops := range concurrent {
		regressions[name] = ops
	}
	for name, ops := range regressionsCrash {
		regressions[name] = ops
	}

	if !testing.Short() {
		for name, ops := range examples {
			regressions[name] = ops
		}
	}
	for name, ops := range regressions {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			for v := variant(0); v < nVariants; v++ {
				if only := os.Getenv("REVERTMODEL_VARIANT"); only != "" && only != strconv.Itoa(int(v)) {
					continue
				}
				if f, step := runOps(t, v, ops); f != nil {
					t.Errorf("%s: %s at step %d: %s\n%s", variantNames[v], f.kind, step, f.detail, formatOps(ops))
				}
			}
		})
	}
}

// Operation kinds.
type opKind int

const (
	opAgent           opKind = iota // a prompt answered by 1-3 file-changing tool calls, one per step
	opUserWrite                     // the user writes a file (creating its directories)
	opUserDelete                    // the user deletes a file
	opUserChmod                     // the user flips a file's executable bit
	opUserDuringBash                // a bash call during which the user edits another file
	opOtherDuringBash               // a bash call during which the other session reverts (r%4 != 0) or unreverts
	opRevert                        // revert to a message or part chosen among all of the session's
	opUnrevert
	opRestart // close the app, build a new one on the same directories
	opCrash   // a revert (r >= 0) or unrevert (r < 0) killed with SIGKILL at a checkpoint, then a restart (revertcrash_test.go)
	nOpKinds
)

var opNames = [...]string{"agent", "userWrite", "userDelete", "userChmod", "userDuringBash", "otherDuringBash", "revert", "unrevert", "restart", "crash"}

// excluded are operations known to fail on main, each with the work that
// fixes it and the minimal sequence that shows it. The model stays strict:
// these operations are only not generated (or, for "redo", skipped) until
// the fix lands; -revertmodel.strict generates them anyway.
var excluded = map[string]string{}

var revertModelStrict = flag.Bool("revertmodel.strict", false, "also generate the operations listed in excluded")

func isExcluded(name string) bool {
	_, ok := excluded[name]
	return ok && !*revertModelStrict
}

// The path pool: few names so operations collide; a non-UTF-8 name, a name
// with a space, nested directories, and a file that exists from the start.
var modelPaths = []string{"a.txt", "b.txt", "d/c.txt", "d/e/g.dat", "README.md", "n\xff.txt", "sp ace.txt"}

type bashAct struct {
	kind        byte // 'w' write, 'b' write a big file, 'r' remove, 'x' chmod +x, 'X' chmod -x, 'm' move
	path, path2 string
	data        string
	r           int // big file: size in MB; patch: which operation and line
}

type callSpec struct {
	tool string // write, edit, bash
	path string
	data string // content (write), new line (edit)
	r    int    // which line an edit replaces
	acts []bashAct
}

type op struct {
	kind  opKind
	sess  int
	calls []callSpec // agent, userDuringBash (one bash call)
	path  string     // user operations
	data  string
	r     int // revert target choice
	// at is the checkpoint a crash operation's server dies at; at2, if
	// not 0, that of the next start (during its recovery).
	at, at2 int
}

func (o op) String() string {
	var b strings.Builder
	b.WriteString(opNames[o.kind])
	switch o.kind {
	case opAgent, opUserDuringBash, opOtherDuringBash, opRevert, opUnrevert, opCrash:
		fmt.Fprintf(&b, " s%d", o.sess)
	}
	switch o.kind {
	case opUserWrite:
		fmt.Fprintf(&b, " %q %q", o.path, o.data)
	case opUserDelete, opUserChmod:
		fmt.Fprintf(&b, " %q", o.path)
	case opRevert:
		fmt.Fprintf(&b, " target#%d", o.r)
	case opCrash:
		if o.r < 0 {
			b.WriteString(" unrevert")
		} else {
			fmt.Fprintf(&b, " revert to target#%d", o.r)
		}
		fmt.Fprintf(&b, " killed at checkpoint %d", o.at)
		if o.at2 > 0 {
			fmt.Fprintf(&b, ", the next start killed at checkpoint %d", o.at2)
		}
	}
	for _, c := range o.calls {
		switch c.tool {
		case "bash":
			b.WriteString(" bash[")
			for i, a := range c.acts {
				if i > 0 {
					b.WriteString("; ")
				}
				switch a.kind {
				case 'w':
					fmt.Fprintf(&b, "write %q %q", a.path, a.data)
				case 'b':
					fmt.Fprintf(&b, "write %q (%d MB)", a.path, a.r)
				case 'r':
					fmt.Fprintf(&b, "rm %q", a.path)
				case 'x':
					fmt.Fprintf(&b, "chmod +x %q", a.path)
				case 'X':
					fmt.Fprintf(&b, "chmod -x %q", a.path)
				case 'm':
					fmt.Fprintf(&b, "mv %q %q", a.path, a.path2)
				}
			}
			b.WriteString("]")
		case "edit":
			fmt.Fprintf(&b, " edit[%q line#%d -> %q]", c.path, c.r, c.data)
		case "patch":
			b.WriteString(" patch[")
			for i, a := range c.acts {
				if i > 0 {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "%q #%d %q %q", a.path, a.r, a.path2, a.data)
			}
			b.WriteString("]")
		default:
			fmt.Fprintf(&b, " %s[%q %q]", c.tool, c.path, c.data)
		}
	}
	if o.kind == opUserDuringBash {
		fmt.Fprintf(&b, " while user writes %q %q", o.path, o.data)
	}
	if o.kind == opOtherDuringBash {
		if o.r%4 == 0 {
			fmt.Fprintf(&b, " while s%d unreverts", 1-o.sess)
		} else {
			fmt.Fprintf(&b, " while s%d reverts to target#%d", 1-o.sess, o.r)
		}
	}
	return b.String()
}

// ---- generation ----

func genText(rng *rand.Rand) string {
	var b strings.Builder
	for i := rng.Intn(4); i > 0; i-- {
		fmt.Fprintf(&b, "t%06x\n", rng.Intn(1<<24))
	}
	return b.String()
}

func genBytes(rng *rand.Rand) string {
	if rng.Intn(2) == 0 {
		return genText(rng)
	}
	const alphabet = "ab\x00\xff\n'\"\\%$ "
	b := make([]byte, rng.Intn(20))
	for i := range b {
		b[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(b)
}

func genPath(rng *rand.Rand) string {
	p := modelPaths[rng.Intn(len(modelPaths))]
	if !utf8.ValidString(p) && isExcluded("nonUTF8") {
		p = "n.txt"
	}
	return p
}

func genCall(rng *rand.Rand) callSpec {
	switch rng.Intn(4) {
	case 3:
		c := callSpec{tool: "patch"}
		for i := 1 + rng.Intn(2); i > 0; i-- {
			c.acts = append(c.acts, bashAct{path: genPath(rng), path2: genPath(rng), data: genText(rng), r: rng.Intn(8)})
		}
		return c
	case 0:
		return callSpec{tool: "write", path: genPath(rng), data: genText(rng)}
	case 1:
		return callSpec{tool: "edit", path: genPath(rng), data: fmt.Sprintf("e%06x", rng.Intn(1<<24)), r: rng.Intn(8)}
	}
	c := callSpec{tool: "bash"}
	for i := 1 + rng.Intn(2); i > 0; i-- {
		a := bashAct{path: genPath(rng)}
		switch k := rng.Intn(10); {
		case k < 5:
			a.kind, a.data = 'w', genBytes(rng)
			if rng.Intn(40) == 0 && !testing.Short() {
				a.kind, a.r = 'b', 1+rng.Intn(7) // a file of r MB: slow, so not with -short
			}
		case k < 7:
			a.kind = 'r'
		case k < 9 && isExcluded("chmod"):
			a.kind, a.data = 'w', genBytes(rng)
		case k < 8:
			a.kind = 'x'
		case k < 9:
			a.kind = 'X'
		default:
			a.kind, a.path2 = 'm', genPath(rng)
		}
		c.acts = append(c.acts, a)
	}
	return c
}

// bashTouches reports whether a bash call's actions name path.
func bashTouches(c callSpec, path string) bool {
	for _, a := range c.acts {
		if a.path == path || a.path2 == path {
			return true
		}
	}
	return false
}

func genOps(seed int64, n int) []op {
	rng := rand.New(rand.NewSource(seed))
	weights := map[opKind]int{opAgent: 34, opUserWrite: 12, opUserDelete: 5, opUserChmod: 4, opUserDuringBash: 5, opOtherDuringBash: 4, opRevert: 24, opUnrevert: 9, opRestart: 3}
	total := 0
	for k, w := range weights {
		if isExcluded(opNames[k]) || k == opUserChmod && isExcluded("chmod") {
			weights[k] = 0
		} else {
			total += w
		}
	}
	var ops []op
	for len(ops) < n {
		x := rng.Intn(total)
		k := opKind(0)
		for ; k < nOpKinds; k++ {
			if x < weights[k] {
				break
			}
			x -= weights[k]
		}
		o := op{kind: k, sess: rng.Intn(2)}
		switch k {
		case opAgent:
			for i := 1 + rng.Intn(3); i > 0; i-- {
				o.calls = append(o.calls, genCall(rng))
			}
		case opOtherDuringBash:
			c := genCall(rng)
			for c.tool != "bash" {
				c = genCall(rng)
			}
			o.calls, o.r = []callSpec{c}, rng.Intn(1<<20)
		case opUserDuringBash:
			c := genCall(rng)
			for c.tool != "bash" {
				c = genCall(rng)
			}
			o.calls = []callSpec{c}
			// The user edits a file the command leaves alone: when both write
			// the same file, who wrote last is unknowable from outside, and
			// the command's patch claims it.
			for o.path = genPath(rng); bashTouches(c, o.path); o.path = genPath(rng) {
			}
			o.data = genText(rng)
		case opUserWrite:
			o.path, o.data = genPath(rng), genBytes(rng)
		case opUserDelete, opUserChmod:
			o.path = genPath(rng)
		case opRevert:
			o.r = rng.Intn(1 << 20)
		}
		ops = append(ops, o)
	}
	addCrashes(seed, ops)
	return ops
}

// ---- the model ----

// fstate is one file as the model sees it; ok is false when it is absent.
type fstate struct {
	ok   bool
	data string
	exec bool
}

func (f fstate) String() string {
	if !f.ok {
		return "<absent>"
	}
	if f.exec {
		return fmt.Sprintf("%q +x", f.data)
	}
	return fmt.Sprintf("%q", f.data)
}

// mcall is one recorded agent tool call and what it changed.
type mcall struct {
	callID        string
	before, after map[string]fstate // only the files it changed
	step          int               // the step of the prompt that made it
	// dirs are the directories the call created: the missing parents of
	// a file the write, edit or patch tool (Add File, Move to) or a
	// command's "mkdir -p" creates; none for an untraced command.
	dirs map[string]bool
}

type msess struct {
	id    string
	calls []*mcall // live calls (not removed by a prompt after a revert), in order
	// revert is the session's revert point as the server must report it;
	// saved holds each reverted file's state from before it was reverted,
	// left what the reverts since then left each file as.
	revert      *storage.Revert
	saved, left map[string]fstate
	// removed are the directories the calls of the revert in effect made
	// that are absent: one found again at the next operation was made by
	// someone else, and leaves every call's record (mcall.dirs).
	removed map[string]bool
}

// mine is the state this session expects a file in: what its revert left
// it as while a revert is in effect, else what its last live call wrote.
// A file in another state was changed by someone else since. (What an
// earlier, committed revert restored is not this session's: it is whatever
// was there before the agent, often another session's or the user's.)
func (s *msess) mine(p string) fstate {
	if f, ok := s.left[p]; ok {
		return f
	}
	for i := len(s.calls) - 1; i >= 0; i-- {
		if f, ok := s.calls[i].after[p]; ok {
			return f
		}
	}
	return fstate{}
}

type model struct {
	disk map[string]fstate
	dirs map[string]bool // directories the user made (or that were there): never the agent's to remove
	sess []*msess
}

func (m *model) userDirs(p string) {
	for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
}

// userMkdir makes p's missing parent directories as the user would, and
// marks those (only those) the user's: a directory the agent made stays the
// agent's to remove once emptied, even after the user wrote a file into it.
func (r *runner) userMkdir(p string) {
	for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(r.abs(d)); err != nil {
			r.m.dirs[d] = true
		}
	}
	if err := os.MkdirAll(filepath.Dir(r.abs(p)), 0o755); err != nil {
		r.fail("harness", "user mkdir: %v", err)
	}
}

func (m *model) get(p string) fstate { return m.disk[p] }

func (m *model) set(p string, f fstate) {
	if f.ok {
		m.disk[p] = f
	} else {
		delete(m.disk, p)
	}
}

// ---- the runner ----

// recTB records failures instead of failing the test, so a sequence can be
// run (and shrunk) without deciding the test's outcome; it owns its
// cleanups and temporary directories.
type recTB struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	msgs     []string
	cleanups []func()
}

func (r *recTB) Helper() {}
func (r *recTB) Errorf(f string, a ...any) {
	r.mu.Lock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
	r.mu.Unlock()
}
func (r *recTB) Error(a ...any)            { r.Errorf("%s", fmt.Sprint(a...)) }
func (r *recTB) Fatalf(f string, a ...any) { r.Errorf(f, a...); runtime.Goexit() }
func (r *recTB) Fatal(a ...any)            { r.Error(a...); runtime.Goexit() }
func (r *recTB) Fail()                     { r.Errorf("failed") }
func (r *recTB) FailNow()                  { r.Fatal("failed") }
func (r *recTB) Log(a ...any)              {}
func (r *recTB) Logf(string, ...any)       {}
func (r *recTB) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recTB) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}

// TempDir is on a memory file system when there is one: each agent step
// writes a dozen fsync'ed files (parts, snapshot objects), which on a disk
// makes a sequence ten times slower; durability is tested elsewhere, this
// test checks which bytes end up where.
func (r *recTB) TempDir() string {
	base := os.Getenv("REVERTMODEL_TMP")
	if fi, err := os.Stat("/dev/shm"); base == "" && err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	d, err := os.MkdirTemp(base, "revertmodel")
	if err != nil {
		r.Fatal(err)
	}
	r.Cleanup(func() { _ = os.RemoveAll(d) }) // a temporary directory: nothing to report to
	return d
}
func (r *recTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// variant is the kind of project a sequence runs in.
type variant int

const (
	gitRoot   variant = iota // a git repository, the server at its root
	noGit                    // a plain directory
	gitSubdir                // a git repository, the server in a subdirectory (tools get absolute paths)
	nVariants
)

var variantNames = [...]string{"git project", "non-git project", "git project, server in its subdirectory sub/ (every path below is under sub/)"}

type runner struct {
	variant variant
	tb      *recTB
	h       *harness
	fake    *fakellm.Server
	m       *model
	nextID  int
	step    int
	// crashNote says where the last crash operation's server was killed.
	crashNote string
	// traced: bash calls are traced (not OCGO_TRACE=0), so the directories
	// a command makes are recorded as its own.
	traced bool
}

// failure is a failed check; kind classifies it for shrinking.
type failure struct{ kind, detail string }

func (r *runner) fail(kind, format string, a ...any) {
	r.tb.Errorf("%s\x00%s", kind, fmt.Sprintf(format, a...))
	runtime.Goexit()
}

// runOps runs a sequence on a fresh project and reports the first failed
// check (nil when every check held) and the index of the step it failed at.
func runOps(t *testing.T, v variant, ops []op) (*failure, int) {
	rec := &recTB{TB: t}
	r := &runner{tb: rec, step: -1, variant: v}
	if v == gitSubdir {
		ops = underSub(ops)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Now()
		r.setup()
		if os.Getenv("REVERTMODEL_TIMING") != "" {
			t.Logf("setup %v", time.Since(t0))
		}
		for i, o := range ops {
			r.step = i
			t0 := time.Now()
			r.apply(o)
			t1 := time.Now()
			r.checkDisk()
			r.checkRevertState()
			if os.Getenv("REVERTMODEL_TIMING") != "" {
				t.Logf("%s %v check %v", opNames[o.kind], t1.Sub(t0), time.Since(t1))
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		rec.Errorf("hang\x00step %d did not finish in 10 minutes", r.step)
	}
	rec.runCleanups()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !rec.failed {
		return nil, -1
	}
	kind, detail, ok := strings.Cut(rec.msgs[0], "\x00")
	if !ok {
		kind, detail = "harness", rec.msgs[0]
	}
	if r.crashNote != "" {
		detail += "\n(last crash: " + r.crashNote + ")"
	}
	if len(rec.msgs) > 1 {
		detail += "\n(also: " + strings.ReplaceAll(strings.Join(rec.msgs[1:], "; "), "\x00", ": ") + ")"
	}
	return &failure{kind, detail}, r.step
}

func (r *runner) setup() {
	r.fake = fakellm.NewAnthropic(r.tb)
	o := harnessOpts{config: `{"provider":{"anthropic":{"options":{"baseURL":"` + r.fake.URL + `"}}},"tools":{"patch":true}}`, env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true}
	if v, ok := os.LookupEnv("OCGO_TRACE"); ok {
		o.env["OCGO_TRACE"] = v // OCGO_TRACE=0: the untraced fall-back, where mid-command edits are the command's
	}
	switch r.variant {
	case noGit:
		o.noGit = true
	case gitSubdir:
		o.subdir = "sub"
		if isExcluded("emptyDir") {
			o.setup = func(dir string) {
				if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
					r.fail("harness", "setup: %v", err)
				}
				if err := os.WriteFile(filepath.Join(dir, "sub", ".keep"), nil, 0o644); err != nil {
					r.fail("harness", "setup: %v", err)
				}
			}
		}
	}
	r.h = newHarness(r.tb, o)
	r.m = &model{disk: map[string]fstate{}}
	r.m.disk = r.scanDisk()
	r.m.dirs = map[string]bool{}
	for p := range r.m.disk {
		r.m.userDirs(p)
	}
	if r.variant == gitSubdir {
		r.m.dirs["sub"] = true
	}
	for i := 0; i < 2; i++ {
		r.m.sess = append(r.m.sess, &msess{id: r.h.newSession()})
	}
	r.traced = trace.Supported && os.Getenv("OCGO_TRACE") != "0"
}

// dirsNow lists the directories on disk (slash paths, .git left out).
func (r *runner) dirsNow() map[string]bool {
	now := map[string]bool{}
	err := filepath.WalkDir(r.h.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		if rel, _ := filepath.Rel(r.h.dir, p); rel != "." {
			now[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		r.fail("harness", "scan directories: %v", err)
	}
	return now
}

// checkEmptiedDirs: a revert or unrevert removes exactly the directories
// that some call it reverts or puts back (those in ranges) created and
// that it emptied by deleting a file: such a directory left empty is a
// failure, and so is any other directory of dirsBefore gone. (A directory
// is the call's only if the call made it: not one that was there, not one
// the user made, even while the call ran; see mcall.dirs.)
func (r *runner) checkEmptiedDirs(s *msess, before map[string]fstate, dirsBefore map[string]bool, ranges ...map[string]bool) {
	made := madeBy(s, ranges...)
	now := r.dirsNow()
	for d := range dirsBefore {
		if !now[d] && !made[d] {
			r.fail("directory removed", "%q: removed by the operation, though no call it reverts or puts back made it", d)
		}
	}
	for p, f := range before {
		if !f.ok {
			continue
		}
		if _, err := os.Lstat(r.abs(p)); err == nil {
			continue
		}
		for d := filepath.ToSlash(filepath.Dir(p)); d != "." && made[d]; d = filepath.ToSlash(filepath.Dir(d)) {
			ents, err := os.ReadDir(r.abs(d))
			if err != nil {
				continue // removed: its parent may be emptied too
			}
			if len(ents) > 0 {
				break
			}
			r.fail("empty directory left", "%q: made by a call the operation reverts or puts back, emptied by it, and still there", d)
		}
	}
}

// madeBy lists the directories the calls in ranges made.
func madeBy(s *msess, ranges ...map[string]bool) map[string]bool {
	made := map[string]bool{}
	for _, c := range s.calls {
		for _, rng := range ranges {
			if rng[c.callID] {
				for d := range c.dirs {
					made[d] = true
				}
			}
		}
	}
	return made
}

// remade lists the directories the session's revert left absent that are
// there again (someone else made them).
func (r *runner) remade(s *msess) []string {
	var out []string
	for d := range s.removed {
		if fi, err := os.Lstat(r.abs(d)); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// disown takes directories out of every call's record of the session, and
// notes which of those the calls in ranges made are absent now.
func (r *runner) disown(s *msess, dirs []string, ranges ...map[string]bool) {
	for _, c := range s.calls {
		for _, d := range dirs {
			delete(c.dirs, d)
		}
	}
	s.removed = nil
	for d := range madeBy(s, ranges...) {
		if _, err := os.Lstat(r.abs(d)); err != nil {
			if s.removed == nil {
				s.removed = map[string]bool{}
			}
			s.removed[d] = true
		}
	}
}

func (r *runner) abs(p string) string { return filepath.Join(r.h.dir, filepath.FromSlash(p)) }

// underSub moves every path of ops into the subdirectory the server runs
// in: the tools may not write above it.
func underSub(ops []op) []op {
	out := make([]op, len(ops))
	for i, o := range ops {
		if o.path != "" {
			o.path = "sub/" + o.path
		}
		o.calls = append([]callSpec(nil), o.calls...)
		for j, c := range o.calls {
			c.path = "sub/" + c.path
			c.acts = append([]bashAct(nil), c.acts...)
			for k := range c.acts {
				c.acts[k].path = "sub/" + c.acts[k].path
				c.acts[k].path2 = "sub/" + c.acts[k].path2
			}
			o.calls[j] = c
		}
		out[i] = o
	}
	return out
}

// toolPath is how the agent names a file: relative to the server's
// directory, absolute when the server runs in a subdirectory.
func (r *runner) toolPath(p string) string {
	if r.variant == gitSubdir {
		return r.abs(p)
	}
	return p
}

func (r *runner) scanDisk() map[string]fstate {
	out := map[string]fstate{}
	err := filepath.WalkDir(r.h.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.h.dir, p)
		out[filepath.ToSlash(rel)] = fstate{ok: true, data: string(data), exec: fi.Mode()&0o100 != 0}
		return nil
	})
	if err != nil {
		r.fail("harness", "scan: %v", err)
	}
	return out
}

func (r *runner) checkDisk() {
	got := r.scanDisk()
	var diffs []string
	if !isExcluded("emptyDir") {
		for d := range r.m.dirs {
			if fi, err := os.Stat(r.abs(d)); err != nil || !fi.IsDir() {
				diffs = append(diffs, fmt.Sprintf("%q: the user's directory is gone", d))
			}
		}
	}
	for p, want := range r.m.disk {
		if got[p] != want {
			diffs = append(diffs, fmt.Sprintf("%q: disk %v, model %v", p, got[p], want))
		}
	}
	for p, g := range got {
		if _, ok := r.m.disk[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: disk %v, model <absent>", p, g))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		r.fail("disk differs from model", "%s", strings.Join(diffs, "; "))
	}
}

func (r *runner) checkRevertState() {
	for i, s := range r.m.sess {
		var got storage.Session
		if code := r.h.call("GET", "/session/"+s.id, nil, &got); code != 200 {
			r.fail("harness", "GET session: %d", code)
		}
		switch {
		case s.revert == nil && got.Revert != nil:
			r.fail("revert state", "s%d: server has a revert point %+v, model none", i, *got.Revert)
		case s.revert != nil && got.Revert == nil:
			r.fail("revert state", "s%d: server has no revert point, model %+v", i, *s.revert)
		case s.revert != nil && (got.Revert.MessageID != s.revert.MessageID || got.Revert.PartID != s.revert.PartID):
			r.fail("revert state", "s%d: server revert point %s/%s, model %s/%s", i, got.Revert.MessageID, got.Revert.PartID, s.revert.MessageID, s.revert.PartID)
		}
	}
}

func (r *runner) apply(o op) {
	switch o.kind {
	case opAgent, opUserDuringBash, opOtherDuringBash:
		r.agent(o)
	case opUserWrite:
		f := r.m.get(o.path)
		r.userMkdir(o.path)
		if err := os.WriteFile(r.abs(o.path), []byte(o.data), 0o644); err != nil {
			r.fail("harness", "user write: %v", err)
		}
		r.m.set(o.path, fstate{ok: true, data: o.data, exec: f.ok && f.exec})
	case opUserDelete:
		if f := r.m.get(o.path); f.ok {
			if err := os.Remove(r.abs(o.path)); err != nil {
				r.fail("harness", "user delete: %v", err)
			}
			r.m.set(o.path, fstate{})
		}
	case opUserChmod:
		if f := r.m.get(o.path); f.ok {
			f.exec = !f.exec
			mode := os.FileMode(0o644)
			if f.exec {
				mode = 0o755
			}
			if err := os.Chmod(r.abs(o.path), mode); err != nil {
				r.fail("harness", "user chmod: %v", err)
			}
			r.m.set(o.path, f)
		}
	case opRevert:
		r.revert(o)
	case opUnrevert:
		r.unrevert(o)
	case opRestart:
		r.h.restart()
	case opCrash:
		if o.r < 0 {
			r.unrevert(o)
		} else {
			r.revert(o)
		}
	}
}

// ---- agent calls ----

func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsAny(s, "\x00")
}

// shQuote makes a shell word whose value is exactly s (any bytes).
func shQuote(s string) string {
	var b strings.Builder
	b.WriteString(`"$(printf '`)
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\%03o`, s[i])
	}
	b.WriteString(`')"`)
	return b.String()
}

// shData writes exactly s to the file named by the shell word dst.
func shData(s, dst string) string {
	var b strings.Builder
	b.WriteString(`printf '`)
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\%03o`, s[i])
	}
	b.WriteString(`' > ` + dst)
	return b.String()
}

func shDir(p string) string {
	if d := filepath.Dir(p); d != "." {
		return "mkdir -p " + shQuote(d) + " && "
	}
	return ""
}

func (r *runner) newCallID() string {
	r.nextID++
	return "toolu_" + strconv.Itoa(r.nextID)
}

// plan turns a call into the fake model's turns and the model's
// prediction of its effect, computed on a scratch copy of the disk.
func (r *runner) plan(c callSpec, disk map[string]fstate, have map[string]bool, wait string) (turns []fakellm.Turn, id string, touched []string, made map[string]bool) {
	made = map[string]bool{}
	// mkdir makes p's missing parents, as writeFile or "mkdir -p" does;
	// own says whether the call's record will name them.
	mkdir := func(p string, own bool) {
		var ds []string
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			ds = append(ds, d)
		}
		for i := len(ds) - 1; i >= 0; i-- {
			if !have[ds[i]] {
				have[ds[i]] = true
				if own {
					made[ds[i]] = true
				}
			}
		}
	}
	get := func(p string) fstate { return disk[p] }
	set := func(p string, f fstate) {
		touched = append(touched, p)
		if f.ok {
			disk[p] = f
		} else {
			delete(disk, p)
		}
	}
	args := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	read := func(p string) {
		turns = append(turns, fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: r.newCallID(), Name: "read", Args: args(map[string]any{"filePath": r.toolPath(p)})}}})
	}
	if c.tool == "edit" {
		f := get(c.path)
		lines := strings.SplitAfter(f.data, "\n")
		if f.ok && isText(f.data) && utf8.ValidString(c.path) && !strings.HasSuffix(c.path, ".dat") {
			line := strings.TrimSuffix(lines[c.r%len(lines)], "\n")
			if line != "" && strings.Count(f.data, line) == 1 {
				read(c.path)
				id = r.newCallID()
				turns = append(turns, fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: id, Name: "edit", Args: args(map[string]any{"filePath": r.toolPath(c.path), "oldString": line, "newString": c.data})}}})
				f.data = strings.Replace(f.data, line, c.data, 1)
				set(c.path, f)
				return
			}
		}
		c = callSpec{tool: "write", path: c.path, data: c.data + "\n"}
	}
	if c.tool == "patch" {
		if text, ok := r.patchText(c, get, set, func(p string) { mkdir(p, true) }); ok {
			id = r.newCallID()
			turns = append(turns, fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: id, Name: "patch", Args: args(map[string]any{"patchText": text})}}})
			return
		}
		c = callSpec{tool: "write", path: c.acts[0].path, data: c.acts[0].data}
	}
	if c.tool == "write" {
		f := get(c.path)
		if utf8.ValidString(c.path) && !strings.HasSuffix(c.path, ".dat") && (!f.ok || isText(f.data)) {
			if f.ok {
				read(c.path)
			}
			id = r.newCallID()
			turns = append(turns, fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: id, Name: "write", Args: args(map[string]any{"filePath": r.toolPath(c.path), "content": c.data})}}})
			set(c.path, fstate{ok: true, data: c.data, exec: f.ok && f.exec})
			mkdir(c.path, true)
			return
		}
		c = callSpec{tool: "bash", acts: []bashAct{{kind: 'w', path: c.path, data: c.data}}}
	}
	var cmds []string
	for _, a := range c.acts {
		f := get(a.path)
		switch a.kind {
		case 'w':
			cmds = append(cmds, shDir(r.toolPath(a.path))+shData(a.data, shQuote(r.toolPath(a.path))))
			set(a.path, fstate{ok: true, data: a.data, exec: f.ok && f.exec})
			mkdir(a.path, r.traced)
		case 'b':
			data := bigData(a.r)
			cmds = append(cmds, shDir(r.toolPath(a.path))+"yes "+bigLine+" | head -c "+strconv.Itoa(len(data))+" > "+shQuote(r.toolPath(a.path)))
			set(a.path, fstate{ok: true, data: data, exec: f.ok && f.exec})
			mkdir(a.path, r.traced)
		case 'r':
			if f.ok {
				cmds = append(cmds, "rm -f -- "+shQuote(r.toolPath(a.path)))
				set(a.path, fstate{})
			}
		case 'x', 'X':
			if f.ok && f.exec != (a.kind == 'x') {
				cmds = append(cmds, "chmod "+map[byte]string{'x': "+x", 'X': "-x"}[a.kind]+" -- "+shQuote(r.toolPath(a.path)))
				f.exec = a.kind == 'x'
				set(a.path, f)
			}
		case 'm':
			if f.ok && a.path != a.path2 {
				cmds = append(cmds, shDir(r.toolPath(a.path2))+"mv -f -- "+shQuote(r.toolPath(a.path))+" "+shQuote(r.toolPath(a.path2)))
				set(a.path, fstate{})
				set(a.path2, f)
				mkdir(a.path2, r.traced)
			}
		}
	}
	if len(cmds) == 0 {
		cmds = append(cmds, "true")
	}
	cmd := strings.Join(cmds, " && ")
	if wait != "" {
		cmd += " && " + wait
	}
	id = r.newCallID()
	turns = append(turns, fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: id, Name: "bash", Args: args(map[string]any{"command": cmd, "description": "change files"})}}})
	return
}

// bigLine makes the big files: over the snapshot size cap, and plain
// enough for the model to know every byte.
const bigLine = "big"

func bigData(mb int) string {
	return strings.Repeat(bigLine+"\n", mb<<20/(len(bigLine)+1)+1)[:mb<<20]
}

// patchText writes a patch for c's operations that apply to the files as
// they are (add a missing file, update a line, delete, rename with an
// update), predicting the result; ok is false when none applies.
func (r *runner) patchText(c callSpec, get func(string) fstate, set func(string, fstate), mkdir func(string)) (string, bool) {
	var b strings.Builder
	b.WriteString("*** Begin Patch\n")
	n := 0
	seen := map[string]bool{}
	for _, a := range c.acts {
		f, dst := get(a.path), get(a.path2)
		if !utf8.ValidString(a.path) || seen[a.path] {
			continue
		}
		if !f.ok {
			fmt.Fprintf(&b, "*** Add File: %s\n", r.toolPath(a.path))
			for _, l := range strings.SplitAfter(a.data, "\n") {
				if l != "" {
					b.WriteString("+" + strings.TrimSuffix(l, "\n") + "\n")
				}
			}
			set(a.path, fstate{ok: true, data: a.data})
			mkdir(a.path)
			seen[a.path], n = true, n+1
			continue
		}
		if a.r%4 == 0 || !isText(f.data) || !strings.HasSuffix(f.data, "\n") {
			fmt.Fprintf(&b, "*** Delete File: %s\n", r.toolPath(a.path))
			set(a.path, fstate{})
			seen[a.path], n = true, n+1
			continue
		}
		lines := strings.Split(strings.TrimSuffix(f.data, "\n"), "\n")
		line := lines[a.r%len(lines)]
		if line == "" || strings.Count(f.data, line) != 1 || strings.ContainsAny(line, " *@+-") {
			continue
		}
		newLine := "p" + strings.TrimPrefix(strings.Fields(a.data + "x")[0], "t")
		fmt.Fprintf(&b, "*** Update File: %s\n", r.toolPath(a.path))
		out := fstate{ok: true, data: strings.Replace(f.data, line, newLine, 1), exec: f.exec}
		if a.r%4 == 1 && !dst.ok && !f.exec && utf8.ValidString(a.path2) && !seen[a.path2] && a.path2 != a.path {
			fmt.Fprintf(&b, "*** Move to: %s\n", r.toolPath(a.path2))
			set(a.path, fstate{})
			set(a.path2, out)
			mkdir(a.path2)
			seen[a.path2] = true
		} else {
			set(a.path, out)
		}
		fmt.Fprintf(&b, "@@\n-%s\n+%s\n", line, newLine)
		seen[a.path], n = true, n+1
	}
	b.WriteString("*** End Patch")
	return b.String(), n > 0
}

// cleanup is what a prompt after a revert does: the reverted calls are
// gone for good, the files stay as they are.
func (r *runner) cleanup(s *msess, msgs []storage.WithParts) {
	if s.revert == nil {
		return
	}
	gone := r.rangeOf(msgs, s.revert.MessageID, s.revert.PartID)
	var keep []*mcall
	for _, c := range s.calls {
		if !gone[c.callID] {
			keep = append(keep, c)
		}
	}
	s.calls, s.revert, s.saved, s.left, s.removed = keep, nil, nil, nil, nil
}

func (r *runner) agent(o op) {
	s := r.m.sess[o.sess]
	r.cleanup(s, r.messages(s))
	disk := map[string]fstate{}
	start := map[string]fstate{}
	for p, f := range r.m.disk {
		disk[p], start[p] = f, f
	}
	var turns []fakellm.Turn
	var calls []*mcall
	wait := ""
	var gate *bashGate
	if o.kind == opUserDuringBash || o.kind == opOtherDuringBash {
		gate = newBashGate(r.tb)
		wait = gate.cmd()
	}
	have := r.dirsNow()
	for _, c := range o.calls {
		before := map[string]fstate{}
		for p, f := range disk {
			before[p] = f
		}
		ts, id, touched, made := r.plan(c, disk, have, wait)
		turns = append(turns, ts...)
		mc := &mcall{callID: id, before: map[string]fstate{}, after: map[string]fstate{}, step: r.step, dirs: made}
		for _, p := range touched {
			if before[p] != disk[p] {
				mc.before[p], mc.after[p] = before[p], disk[p]
			}
		}
		if last := ts[len(ts)-1].ToolCalls; !r.traced && last[0].Name == "bash" {
			r.leaveOutBig(mc)
		}
		calls = append(calls, mc)
	}
	turns = append(turns, fakellm.Turn{Text: []string{"done"}})
	r.fake.Push(turns...)
	res := make(chan storage.WithParts, 1)
	go func() {
		var out storage.WithParts
		r.h.call("POST", "/session/"+s.id+"/message", textPrompt("change files"), &out)
		res <- out
	}()
	if o.kind == opUserDuringBash {
		if !gate.waitStarted(20 * time.Second) {
			r.fail("harness", "bash call never started")
		}
		f := r.m.get(o.path)
		r.userMkdir(o.path)
		if err := os.WriteFile(r.abs(o.path), []byte(o.data), 0o644); err != nil {
			r.fail("harness", "user write during bash: %v", err)
		}
		r.m.set(o.path, fstate{ok: true, data: o.data, exec: f.ok && f.exec})
		disk[o.path] = r.m.get(o.path)
		gate.release()
	}
	if o.kind == opOtherDuringBash {
		if !gate.waitStarted(20 * time.Second) {
			r.fail("harness", "bash call never started")
		}
		// The command's writes are on the disk now: the other session's
		// revert sees them, and what it changes is not the command's.
		r.m.disk = map[string]fstate{}
		for p, f := range disk {
			r.m.disk[p] = f
		}
		if o.r%4 == 0 {
			r.unrevert(op{kind: opUnrevert, sess: 1 - o.sess})
		} else {
			r.revert(op{kind: opRevert, sess: 1 - o.sess, r: o.r})
		}
		// A path the revert changed after the command's last change to it
		// holds the revert's content, not the command's: the command's
		// patch leaves it out (trace.Tracer.Restored; README, "What a
		// command changed": a file the command deleted and someone then
		// wrote is theirs).
		for p, f := range disk {
			if r.m.disk[p] != f {
				for _, mc := range calls {
					delete(mc.before, p)
					delete(mc.after, p)
				}
			}
		}
		for p, f := range r.m.disk {
			if _, ok := disk[p]; !ok && f.ok {
				for _, mc := range calls {
					delete(mc.before, p)
					delete(mc.after, p)
				}
			}
		}
		disk = map[string]fstate{}
		for p, f := range r.m.disk {
			disk[p] = f
		}
		gate.release()
	}
	var out storage.WithParts
	select {
	case out = <-res:
	case <-time.After(2 * time.Minute):
		r.fail("hang", "prompt did not return")
	}
	if out.Info.Error != nil || r.fake.Remaining() != 0 {
		r.fail("prompt failed", "%+v (turns left %d)", out.Info.Error, r.fake.Remaining())
	}
	for _, tp := range partsOf(out, "tool") {
		if tp.State == nil || tp.State.Status != storage.ToolCompleted {
			r.fail("tool failed", "%s: %+v", tp.Tool, tp.State)
		}
	}
	for p, f := range disk {
		r.m.disk[p] = f
	}
	for p := range r.m.disk {
		if _, ok := disk[p]; !ok {
			delete(r.m.disk, p)
		}
	}
	if !r.traced && gate != nil {
		// Untraced, every file that changed during the command is the
		// command's (README, "What a command changed"): the user's edit
		// and the other session's revert too.
		mc := calls[0]
		mc.before, mc.after = map[string]fstate{}, map[string]fstate{}
		for _, m := range []map[string]fstate{start, disk} {
			for p := range m {
				if start[p] != disk[p] {
					mc.before[p], mc.after[p] = start[p], disk[p]
				}
			}
		}
		r.leaveOutBig(mc)
	}
	s.calls = append(s.calls, calls...)
	r.checkPatches(s, r.messages(s))
}

// leaveOutBig applies the untraced rule for files over the snapshot cap
// (4 MiB) before a command: not in its patch, a revert leaves them as the
// command made them (README, "Revert guarantees and limits").
func (r *runner) leaveOutBig(mc *mcall) {
	for p, f := range mc.before {
		if len(f.data) > 4<<20 {
			delete(mc.before, p)
			delete(mc.after, p)
		}
	}
}

func (r *runner) messages(s *msess) []storage.WithParts {
	var msgs []storage.WithParts
	if code := r.h.call("GET", "/session/"+s.id+"/message", nil, &msgs); code != 200 {
		r.fail("harness", "GET messages: %d", code)
	}
	return msgs
}

// patchOf finds the patch part recorded for each tool call: the patch part
// following the call's tool part in the same message.
func patchOf(msgs []storage.WithParts) map[string]*storage.Part {
	out := map[string]*storage.Part{}
	for _, m := range msgs {
		cur := ""
		for i := range m.Parts {
			p := &m.Parts[i]
			switch p.Type {
			case storage.PartTool:
				cur = p.CallID
			case storage.PartPatch:
				if cur != "" {
					out[cur] = p
				}
			}
		}
	}
	return out
}

// checkPatches asserts exact attribution: each live call of the session has
// a patch part naming exactly the files it changed, or none when it changed
// nothing.
func (r *runner) checkPatches(s *msess, msgs []storage.WithParts) {
	patches := patchOf(msgs)
	for _, c := range s.calls {
		p := patches[c.callID]
		var want []string
		for f := range c.after {
			want = append(want, strings.ToValidUTF8(r.abs(f), "\uFFFD"))
		}
		sort.Strings(want)
		if p == nil {
			if len(want) > 0 {
				r.fail("attribution", "call %s changed %q but has no patch part", c.callID, want)
			}
			continue
		}
		var got []string
		for _, f := range p.Files {
			got = append(got, strings.ToValidUTF8(f, "\uFFFD"))
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			r.fail("attribution", "call %s: patch part names %q, the call changed %q", c.callID, got, want)
		}
	}
}

// ---- revert, redo, unrevert ----

// resolve maps a revert request to the revert point the server must
// record (a message revert, or a part revert with no text or tool part
// before it, becomes a revert to the user message that led to it) and the
// position of the cut in the session's parts, in order.
type position struct{ msg, part int } // part -1: the message itself

func resolve(msgs []storage.WithParts, messageID, partID string) (storage.Revert, position, bool) {
	lastUser := -1
	for mi, m := range msgs {
		if m.Info.Role == storage.RoleUser {
			lastUser = mi
		}
		if m.Info.ID != messageID {
			continue
		}
		if partID != "" {
			for pi, p := range m.Parts {
				if p.ID != partID {
					continue
				}
				for _, q := range m.Parts[:pi] {
					if q.Type == storage.PartText || q.Type == storage.PartTool {
						return storage.Revert{MessageID: messageID, PartID: partID}, position{mi, pi}, true
					}
				}
			}
		}
		if lastUser < 0 {
			lastUser = mi
		}
		return storage.Revert{MessageID: msgs[lastUser].Info.ID}, position{lastUser, -1}, true
	}
	return storage.Revert{}, position{}, false
}

// rangeOf is the set of calls a revert point undoes: those whose patch
// part lies at or after the cut.
func (r *runner) rangeOf(msgs []storage.WithParts, messageID, partID string) map[string]bool {
	_, cut, ok := resolve(msgs, messageID, partID)
	if !ok {
		r.fail("revert state", "revert point %s/%s not among the messages", messageID, partID)
	}
	out := map[string]bool{}
	for mi, m := range msgs {
		cur := ""
		for pi, p := range m.Parts {
			switch p.Type {
			case storage.PartTool:
				cur = p.CallID
			case storage.PartPatch:
				if mi > cut.msg || mi == cut.msg && pi >= cut.part {
					out[cur] = true
				}
			}
		}
	}
	return out
}

// files lists the files the calls in rng changed, with each one's state
// before the earliest of them.
func filesOf(s *msess, rng map[string]bool) map[string]fstate {
	out := map[string]fstate{}
	for _, c := range s.calls {
		if !rng[c.callID] {
			continue
		}
		for p, f := range c.before {
			if _, seen := out[p]; !seen {
				out[p] = f
			}
		}
	}
	return out
}

// verdict is the model's prediction for one file an operation would
// change.
type verdict int

const (
	clean    verdict = iota // as this session left it: must become the target
	ownOld                  // holds an earlier write of this session's: may become the target, or be refused
	already                 // already the target: stays, the operation may refuse
	keep                    // changed by someone else, but the target is what this session left: may stay as is, or be refused
	conflict                // changed by someone else and would be overwritten: must be refused and named
)

// expect applies the model's rule to each file an operation would change
// to its target.
// gapsOf lists the files someone else changed (content or mode) between two
// of the calls in rng that changed them (one call's after is not the next
// one's before):
// reverting past both must refuse unless the file is already the target.
func gapsOf(s *msess, rng map[string]bool) map[string]bool {
	gaps := map[string]bool{}
	last := map[string]fstate{}
	for _, c := range s.calls {
		if !rng[c.callID] {
			continue
		}
		for p, b := range c.before {
			if a, seen := last[p]; seen && a != b {
				gaps[p] = true
			}
		}
		for p, a := range c.after {
			last[p] = a
		}
	}
	return gaps
}

func (r *runner) expect(s *msess, targets map[string]fstate, gaps map[string]bool) map[string]verdict {
	own := map[string]map[fstate]bool{}
	for _, c := range s.calls {
		for p, f := range c.after {
			if own[p] == nil {
				own[p] = map[fstate]bool{}
			}
			own[p][f] = true
		}
	}
	out := map[string]verdict{}
	for p, t := range targets {
		cur := r.m.get(p)
		switch {
		case gaps[p] && cur != t:
			out[p] = conflict
		case cur == s.mine(p):
			out[p] = clean
		case cur == t:
			out[p] = already
		case t == s.mine(p):
			out[p] = keep
		case own[p][cur]:
			out[p] = ownOld
		default:
			out[p] = conflict
		}
	}
	return out
}

type apiErr struct {
	Name string
	Data map[string]any
}

func (r *runner) post(path string, body any) (int, apiErr) {
	var raw json.RawMessage
	code := r.h.call("POST", path, body, &raw)
	var e apiErr
	if code != 200 {
		_ = json.Unmarshal(raw, &e) // an answer without a JSON body leaves e empty
	}
	return code, e
}

// outcome checks the server's answer against the prediction and applies
// the operation to the model when it succeeded.
func (r *runner) outcome(what string, s *msess, targets map[string]fstate, gaps map[string]bool, code int, e apiErr) bool {
	verdicts := r.expect(s, targets, gaps)
	var required []string
	refusable := false
	for p, v := range verdicts {
		switch v {
		case conflict:
			required = append(required, p)
		case ownOld, already, keep:
			refusable = true
		}
	}
	sort.Strings(required)
	if code == crashUnknown {
		code = 200
		if len(required) > 0 {
			code = crashRolledBack
		}
	}
	switch {
	case code == crashRolledBack:
		return false
	case code == 409:
		if e.Name != "ConflictError" {
			r.fail("wrong error", "%s: 409 %+v", what, e)
		}
		if len(required) == 0 && !refusable {
			var detail []string
			for p, t := range targets {
				detail = append(detail, fmt.Sprintf("%q is %v, target %v", p, r.m.get(p), t))
			}
			sort.Strings(detail)
			r.fail("unexpected 409", "%s: 409 %v, model: no file changed by someone else (%s)", what, e.Data["message"], strings.Join(detail, "; "))
		}
		msg, _ := e.Data["message"].(string)
		for _, p := range required {
			if !strings.Contains(msg, strings.ToValidUTF8(p, "\uFFFD")) && !strings.Contains(msg, strconv.Quote(p)) && !strings.Contains(msg, p) {
				r.fail("conflict not named", "%s: 409 %q does not name %q", what, msg, p)
			}
		}
		return false
	case code != 200:
		r.fail("wrong status", "%s: %d %+v", what, code, e)
	case len(required) > 0:
		var detail []string
		for _, p := range required {
			detail = append(detail, fmt.Sprintf("%q is %v, this session left %v, target %v", p, r.m.get(p), s.mine(p), targets[p]))
		}
		r.fail("missing 409", "%s: 200, model: conflict on %s", what, strings.Join(detail, "; "))
	}
	for p, t := range targets {
		if v := verdicts[p]; v == clean || v == ownOld {
			r.m.set(p, t)
		}
		if s.left == nil {
			s.left = map[string]fstate{}
		}
		s.left[p] = t
	}
	return true
}

func (r *runner) revert(o op) {
	s := r.m.sess[o.sess]
	if s.revert != nil && isExcluded("redo") {
		return
	}
	msgs := r.messages(s)
	type target struct{ msg, part string }
	var ts []target
	for _, m := range msgs {
		ts = append(ts, target{m.Info.ID, ""})
		for _, p := range m.Parts {
			ts = append(ts, target{m.Info.ID, p.ID})
		}
	}
	if len(ts) == 0 {
		return
	}
	t := ts[o.r%len(ts)]
	point, _, _ := resolve(msgs, t.msg, t.part)
	rng := r.rangeOf(msgs, t.msg, t.part)
	newFiles := filesOf(s, rng)
	targets := map[string]fstate{}
	if s.revert != nil {
		for p := range filesOf(s, r.rangeOf(msgs, s.revert.MessageID, s.revert.PartID)) {
			targets[p] = s.saved[p]
		}
	}
	for p, f := range newFiles {
		targets[p] = f
	}
	disk := map[string]fstate{}
	for p := range targets {
		disk[p] = r.m.get(p)
	}
	dirs, remade := r.dirsNow(), r.remade(s)
	code, e := r.send(o, s, "/session/"+s.id+"/revert", map[string]any{"messageID": t.msg, "partID": t.part}, &point)
	if os.Getenv("REVERTMODEL_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "revert s%d to %s/%s (point %+v, was %+v): %d %v; targets %v; disk before %v\n", o.sess, t.msg, t.part, point, s.revert, code, e.Data["message"], targets, disk)
	}
	var oldRng map[string]bool
	if s.revert != nil {
		oldRng = r.rangeOf(msgs, s.revert.MessageID, s.revert.PartID)
	}
	if !r.outcome(fmt.Sprintf("revert s%d to %s/%s", o.sess, t.msg, t.part), s, targets, gapsOf(s, rng), code, e) {
		return
	}
	r.disown(s, remade, rng, oldRng)
	if !isExcluded("emptyDir") {
		r.checkEmptiedDirs(s, disk, dirs, rng, oldRng)
	}
	if s.saved == nil {
		s.saved = map[string]fstate{}
	}
	// A file the moved point no longer reverts is back to what the first
	// revert saved, which may be someone else's state (a file the user
	// deleted and the revert found absent): not this session's. If it
	// joins again, it is saved as it is then, and it must hold what the
	// agent last wrote, as the server checks (seed 878604703).
	for p := range targets {
		if _, ok := newFiles[p]; !ok {
			delete(s.left, p)
			delete(s.saved, p)
		}
	}
	for p := range newFiles {
		if _, ok := s.saved[p]; !ok {
			s.saved[p] = disk[p]
		}
	}
	s.revert = &point
}

func (r *runner) unrevert(o op) {
	s := r.m.sess[o.sess]
	targets := map[string]fstate{}
	disk := map[string]fstate{}
	var rng map[string]bool
	if s.revert != nil {
		rng = r.rangeOf(r.messages(s), s.revert.MessageID, s.revert.PartID)
		for p := range filesOf(s, rng) {
			targets[p] = s.saved[p]
			disk[p] = r.m.get(p)
		}
	}
	dirs, remade := r.dirsNow(), r.remade(s)
	code, e := r.send(o, s, "/session/"+s.id+"/unrevert", nil, nil)
	if r.outcome(fmt.Sprintf("unrevert s%d", o.sess), s, targets, nil, code, e) {
		r.disown(s, remade)
		if !isExcluded("emptyDir") {
			r.checkEmptiedDirs(s, disk, dirs, rng)
		}
		s.revert, s.saved, s.left = nil, nil, nil
	}
}

// ---- driving, shrinking ----

// shrink drops operations (delta debugging) while the sequence still fails
// with the same kind of failure, within a time budget.
func shrink(t *testing.T, v variant, ops []op, kind string, budget time.Duration) []op {
	deadline := time.Now().Add(budget)
	fails := func(c []op) bool {
		f, _ := runOps(t, v, c)
		return f != nil && f.kind == kind
	}
	n := 2
	for len(ops) >= 2 && time.Now().Before(deadline) {
		chunk := (len(ops) + n - 1) / n
		reduced := false
		for i := 0; i < len(ops) && time.Now().Before(deadline); i += chunk {
			cand := append(append([]op(nil), ops[:i]...), ops[min(i+chunk, len(ops)):]...)
			if fails(cand) {
				ops, reduced = cand, true
				n = max(n-1, 2)
				break
			}
		}
		if !reduced {
			if n >= len(ops) {
				break
			}
			n = min(2*n, len(ops))
		}
	}
	return ops
}

func formatOps(ops []op) string {
	var b strings.Builder
	for i, o := range ops {
		fmt.Fprintf(&b, "  %2d. %s\n", i, o)
	}
	return b.String()
}

func modelSeeds() []int64 {
	if *revertModelSeed != 0 {
		return []int64{*revertModelSeed}
	}
	n := *revertModelN
	if v, err := strconv.Atoi(os.Getenv("REVERTMODEL_N")); err == nil && n == 0 {
		n = v
	}
	if n == 0 {
		n = 300
		if testing.Short() {
			n = 50
		}
	}
	var seeds []int64
	// With -short (CI, and everyone's runs before integrating) a fixed
	// list, so a rare failure is found on purpose, not by someone else's
	// run; random seeds when more sequences are asked for or without -short.
	base := time.Now().UnixNano() % 1_000_000_000
	if testing.Short() && *revertModelN == 0 && os.Getenv("REVERTMODEL_N") == "" {
		base = 1000
	}
	for i := 0; len(seeds) < n; i++ {
		seeds = append(seeds, base+int64(i))
	}
	return seeds
}

func TestRevertModel(t *testing.T) {
	length := *revertModelLen
	if length == 0 {
		length = 14
	}
	start := time.Now()
	seeds := modelSeeds()
	type found struct {
		seed  int64
		count int
	}
	kinds := map[string]*found{}
	var order []string
	for _, seed := range seeds {
		ops := genOps(seed, length)
		v := variant(seed % int64(nVariants))
		f, step := runOps(t, v, ops)
		if f == nil {
			continue
		}
		if k := kinds[f.kind]; k != nil {
			k.count++
			continue
		}
		kinds[f.kind] = &found{seed, 1}
		order = append(order, f.kind)
		ops = ops[:step+1]
		small := shrink(t, v, ops, f.kind, 2*time.Minute)
		sf, sstep := runOps(t, v, small)
		if sf == nil {
			sf, sstep, small = f, step, ops // flaky after shrinking: report the original
		}
		t.Errorf("seed %d, %s (rerun with -run TestRevertModel -revertmodel.seed=%d): %s at step %d: %s\nminimal sequence (%d of %d operations):\n%s",
			seed, variantNames[v], seed, sf.kind, sstep, sf.detail, len(small), length, formatOps(small))
		if !*revertModelAll {
			break
		}
	}
	for _, k := range order {
		t.Logf("%q: %d sequences, first seed %d", k, kinds[k].count, kinds[k].seed)
	}
	t.Logf("%d sequences of %d operations in %v (excluded: %v)", len(seeds), length, time.Since(start).Round(time.Millisecond), excluded)
}
