package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// ErrTruncated is returned by CheckBoltFile for a database file shorter
// than its own metadata says it is.
var ErrTruncated = errors.New("database file is truncated")

// CheckBoltFile checks, before bbolt opens path, that the file is as long
// as its newest valid meta page says. bbolt validates meta pages itself, but
// with an unsynced freelist it then walks every page in a goroutine and
// panics on a truncated file, which no caller can recover into a clear
// message. A missing file is fine (it will be created).
//
// Layout read here (bbolt's on-disk format, stable across releases): each
// of the first two pages is a 16-byte page header followed by a meta:
// magic, version, pageSize, flags (uint32 each), root bucket (16 bytes),
// freelist pgid, high-water pgid, txid, checksum (uint64 each); the checksum
// is FNV-1a 64 over the 56 bytes before it.
func CheckBoltFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil
	}
	type meta struct{ pageSize, pgid, txid uint64 }
	read := func(off int64) (meta, bool) {
		buf := make([]byte, 16+64)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return meta{}, false
		}
		m := buf[16:]
		if binary.LittleEndian.Uint32(m[0:4]) != 0xED0CDAED {
			return meta{}, false
		}
		h := fnv.New64a()
		h.Write(m[:56])
		if h.Sum64() != binary.LittleEndian.Uint64(m[56:64]) {
			return meta{}, false
		}
		return meta{pageSize: uint64(binary.LittleEndian.Uint32(m[8:12])), pgid: binary.LittleEndian.Uint64(m[40:48]),
			txid: binary.LittleEndian.Uint64(m[48:56])}, true
	}
	m0, ok0 := read(0)
	ps := int64(4096)
	if ok0 && m0.pageSize > 0 {
		ps = int64(m0.pageSize)
	}
	m1, ok1 := read(ps)
	best, ok := m0, ok0
	if ok1 && (!ok0 || m1.txid > m0.txid) {
		best, ok = m1, true
	}
	if !ok {
		return fmt.Errorf("%s: no valid bbolt meta page (not a database, or both meta pages damaged)", path)
	}
	if want := int64(best.pgid) * int64(best.pageSize); fi.Size() < want {
		return fmt.Errorf("%s: %w: %d bytes, its metadata needs %d", path, ErrTruncated, fi.Size(), want)
	}
	return nil
}
