package spool

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// blobStore keeps bodies too large for the database, one file each,
// written and synced (with their directory) before the write that refers
// to them commits. A file no body refers to (a crash between the two
// writes) is removed at open.
type blobStore struct {
	fs  vfs.FS
	dir string
}

func openBlobs(fs vfs.FS, dir string) (blobStore, error) {
	return blobStore{fs: fs, dir: dir}, nil
}

func (s blobStore) path(name string) string { return s.fs.PathJoin(s.dir, name) }

// write stores payload as file name, synced, and returns its path.
func (s blobStore) write(name string, payload []byte) (string, error) {
	path := s.path(name)
	f, err := s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", fmt.Errorf("%w: writing a body: %v", ErrUnavailable, err)
	}
	_, err = f.Write(payload)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		s.fs.Remove(path)
		return "", fmt.Errorf("%w: writing a body: %v", ErrUnavailable, err)
	}
	return path, nil
}

func (s blobStore) syncDir() error {
	d, err := s.fs.OpenDir(s.dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// remove removes a blob file. A failure leaves an orphan, removed at the
// next open.
func (s blobStore) remove(path string) { _ = s.fs.Remove(path) }

// removeOrphans removes the blob files no stored body refers to: neither
// a body key nor a record that holds its body (kept).
func (s blobStore) removeOrphans(db *pebble.DB, kept map[string]bool) error {
	names, err := s.fs.List(s.dir)
	if err != nil {
		return fmt.Errorf("spool: listing blobs: %w", err)
	}
	for _, name := range names {
		i := strings.LastIndexByte(name, '.')
		part, err := strconv.Atoi(name[i+1:])
		if i <= 0 || err != nil || kept[name] {
			continue
		}
		_, c, err := db.Get(bodyKey(tagBody, name[:i], part))
		if err == nil {
			c.Close()
			continue
		}
		if errors.Is(err, pebble.ErrNotFound) {
			s.fs.Remove(s.path(name))
		}
	}
	return nil
}
