package state

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// A state file opened with Config.DeferSync is committed without fsync
// (DESIGN.md, "The state file is not fsync'd; the Raft log is"). While it
// is open, a marker file beside it (UnsyncedSuffix) holds the boot id of
// the kernel whose page cache holds its unsynced writes. A process that
// dies leaves the page cache, and so a consistent file, behind: the next
// start in the same boot keeps the file. A machine that restarts (power
// loss, kernel crash, a volume moved to another host) may have written
// the file's pages in any order: the next start removes the file and
// opens an empty one, which the node fills again from its Raft snapshot
// and log (consensus catchUpFromSnapshot, then Raft's replay). The file is
// removed, not kept aside: it holds nothing the snapshot and the log do
// not, and a copy would need the disk room the rebuild needs.
//
// UnsyncedSuffix names the marker: <state file>.unsynced.
const UnsyncedSuffix = ".unsynced"

// bootIDFile identifies this boot of the kernel (Linux; containers see
// the host's).
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// BootID is this boot's id, or "" where the kernel does not say: a marker
// then never matches, and every start after an unclean stop rebuilds.
func BootID() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// trustUnsynced looks at the marker of the state file at path before it is
// opened. It returns whether the marker is there. A marker of this boot
// keeps the file (its writes are in the page cache still); one of another
// boot, or of an unknown one, removes it: an empty one is then created in
// its place.
func trustUnsynced(path string, log *slog.Logger) (marked bool, err error) {
	raw, err := os.ReadFile(path + UnsyncedSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w (it says whether %s holds writes that were never fsync'd; if it is damaged, remove it together with %s: the node then rebuilds its state from its Raft snapshot and log)", path+UnsyncedSuffix, err, path, path)
	}
	was, now := strings.TrimSpace(string(raw)), BootID()
	if was != "" && was == now {
		return true, nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil // removed by an earlier start that stopped before writing the marker again
	}
	if err != nil {
		return false, err
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("remove the state file written without fsync before the machine restarted (it may be torn; the node rebuilds it from its Raft snapshot and log): %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return false, err
	}
	log.Warn("the machine restarted while the state file held writes that were never fsync'd: it may be torn, so it is removed and the state is rebuilt from the Raft snapshot and log",
		"file", path, "bytes", fi.Size(), "bootBefore", was, "bootNow", now)
	return true, nil
}

// markUnsynced writes the marker with this boot's id (fsync'd, with its
// directory) before the first unsynced commit.
func markUnsynced(path string) error {
	m := path + UnsyncedSuffix
	tmp := m + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(BootID() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, m)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", m, err)
	}
	return nil
}

// unmarkUnsynced removes the marker once the file is fsync'd whole.
func unmarkUnsynced(path string) error {
	if err := os.Remove(path + UnsyncedSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}
