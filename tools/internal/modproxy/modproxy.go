// Package modproxy writes a module proxy into a directory, in the layout the
// go command reads through GOPROXY=file://<dir> (and `go mod download`
// writes): <module>/@v/list, and <version>.info, .mod and .zip per version.
package modproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Module is one module version to serve.
type Module struct {
	Version module.Version
	// Dir is the module's directory on disk.
	Dir string
	// Files lists the module's files, slash-separated and relative to Dir.
	// Files of nested modules are dropped by the zip rules.
	Files []string
	// GoMod, when set, is served in place of Dir's go.mod, in the .mod file
	// and in the zip alike.
	GoMod []byte
	// Time is the version's time in the .info file.
	Time time.Time
}

// Write adds the modules to the proxy under dir.
func Write(dir string, mods []Module) error {
	lists := map[string][]string{}
	for _, m := range mods {
		esc, err := module.EscapePath(m.Version.Path)
		if err != nil {
			return err
		}
		escVer, err := module.EscapeVersion(m.Version.Version)
		if err != nil {
			return err
		}
		base := filepath.Join(dir, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return err
		}
		gomod := m.GoMod
		if gomod == nil {
			if gomod, err = os.ReadFile(filepath.Join(m.Dir, "go.mod")); err != nil {
				return err
			}
		}
		info, err := json.Marshal(struct {
			Version string
			Time    time.Time
		}{m.Version.Version, m.Time.UTC()})
		if err != nil {
			return err
		}
		var files []zip.File
		for _, f := range m.Files {
			if f == "go.mod" {
				files = append(files, memFile{name: f, data: gomod})
				continue
			}
			files = append(files, diskFile{name: f, path: filepath.Join(m.Dir, filepath.FromSlash(f))})
		}
		var z bytes.Buffer
		if err := zip.Create(&z, m.Version, files); err != nil {
			return fmt.Errorf("modproxy: zip %s: %w", m.Version, err)
		}
		for ext, data := range map[string][]byte{".info": info, ".mod": gomod, ".zip": z.Bytes()} {
			if err := os.WriteFile(filepath.Join(base, escVer+ext), data, 0o644); err != nil {
				return err
			}
		}
		lists[base] = append(lists[base], m.Version.Version)
	}
	for base, vers := range lists {
		sort.Strings(vers)
		if err := os.WriteFile(filepath.Join(base, "list"), []byte(strings.Join(vers, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

type diskFile struct{ name, path string }

func (f diskFile) Path() string                 { return f.name }
func (f diskFile) Lstat() (fs.FileInfo, error)  { return os.Lstat(f.path) }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.path) }

type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (fs.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (i memInfo) Name() string       { return path.Base(i.name) }
func (i memInfo) Size() int64        { return int64(len(i.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
