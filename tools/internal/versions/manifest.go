// Package versions reads the versions manifest (versions.yaml at the
// repository root), checks that the go.mod files follow the versioning layout
// of docs/architecture.md, and rewrites go.mod files the way the release
// command tags them.
package versions

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// ManifestFile is the manifest's name at the repository root.
const ManifestFile = "versions.yaml"

// Prefix is the module path prefix shared by every module of the repository;
// a module's directory is its path after the prefix.
const Prefix = "github.com/tikvgo/tikvgo/"

// Placeholder is the version every go.mod on main requires its siblings at.
const Placeholder = "v0.0.0"

// ErrManifest is wrapped by every error about the manifest's syntax or content.
var ErrManifest = errors.New("versions: bad manifest")

// Manifest is the parsed versions manifest. The file is a small YAML subset:
//
//	modules:
//	  retry: v0.1.0      # published: tagged retry/v0.1.0
//	unpublished:
//	  - e2e              # in the repository, never tagged
//	  - peer/...         # peer and every module under it
//
// plus blank lines and # comments. Nothing else is accepted, so a typo fails
// loudly instead of being ignored.
type Manifest struct {
	// Versions maps a published module's directory to its current version.
	Versions map[string]string
	// Order lists the published modules in file order.
	Order []string
	// Unpublished lists modules that are never tagged (tests, comparisons).
	Unpublished map[string]bool

	lines []string
}

// ParseManifest parses the manifest text.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{Versions: map[string]string{}, Unpublished: map[string]bool{}}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m.lines = append(m.lines, line)
		body := line
		if i := strings.Index(body, "#"); i >= 0 {
			body = body[:i]
		}
		body = strings.TrimRight(body, " \t")
		if body == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%w: line %d %q: %s", ErrManifest, n, line, why)
		}
		if !strings.HasPrefix(body, " ") {
			switch body {
			case "modules:", "unpublished:":
				section = strings.TrimSuffix(body, ":")
			default:
				return nil, bad("want \"modules:\" or \"unpublished:\"")
			}
			continue
		}
		item := strings.TrimSpace(body)
		switch section {
		case "modules":
			name, ver, ok := strings.Cut(item, ":")
			name, ver = strings.TrimSpace(name), strings.TrimSpace(ver)
			if !ok || name == "" || ver == "" {
				return nil, bad("want \"  <module>: <version>\"")
			}
			if !semver.IsValid(ver) || semver.Canonical(ver) != ver {
				return nil, bad("version is not a canonical semantic version")
			}
			if semver.Major(ver) != "v0" {
				return nil, bad("modules are v0 while the API settles (docs/architecture.md)")
			}
			if ver == Placeholder {
				return nil, bad(Placeholder + " is the development placeholder, not a release version")
			}
			if _, dup := m.Versions[name]; dup || m.Unpublished[name] {
				return nil, bad("module listed twice")
			}
			m.Versions[name] = ver
			m.Order = append(m.Order, name)
		case "unpublished":
			name, ok := strings.CutPrefix(item, "- ")
			name = strings.TrimSpace(name)
			if !ok || name == "" || strings.ContainsAny(name, ": ") {
				return nil, bad("want \"  - <module>\"")
			}
			if _, dup := m.Versions[name]; dup || m.Unpublished[name] {
				return nil, bad("module listed twice")
			}
			m.Unpublished[name] = true
		default:
			return nil, bad("entry outside a section")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(m.Versions) == 0 {
		return nil, fmt.Errorf("%w: no published modules", ErrManifest)
	}
	return m, nil
}

// Has reports whether the manifest lists the module, published or not.
func (m *Manifest) Has(mod string) bool {
	_, ok := m.Versions[mod]
	return ok || m.IsUnpublished(mod)
}

// IsUnpublished reports whether the module is listed as unpublished, by
// name or by a "dir/..." entry, which covers dir and every module under it
// (the peer comparisons add modules there).
func (m *Manifest) IsUnpublished(mod string) bool {
	if m.Unpublished[mod] {
		return true
	}
	for entry := range m.Unpublished {
		if dir, ok := strings.CutSuffix(entry, "/..."); ok && (mod == dir || strings.HasPrefix(mod, dir+"/")) {
			return true
		}
	}
	return false
}

// WithVersions returns the manifest text with the given modules' versions
// replaced, every other byte (comments, order) unchanged.
func (m *Manifest) WithVersions(set map[string]string) ([]byte, error) {
	done := map[string]bool{}
	var out bytes.Buffer
	section := ""
	for _, line := range m.lines {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(trimmed, ":") {
			section = strings.TrimSuffix(trimmed, ":")
		}
		if section == "modules" && strings.HasPrefix(line, " ") {
			name, rest, ok := strings.Cut(line, ":")
			if ver, want := set[strings.TrimSpace(name)], strings.TrimSpace(name); ok && ver != "" {
				old := m.Versions[want]
				i := strings.Index(rest, old)
				if i < 0 {
					return nil, fmt.Errorf("%w: cannot find %s's version on its line", ErrManifest, want)
				}
				line = name + ":" + rest[:i] + ver + rest[i+len(old):]
				done[want] = true
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	for mod := range set {
		if !done[mod] {
			return nil, fmt.Errorf("%w: %s is not a published module", ErrManifest, mod)
		}
	}
	return out.Bytes(), nil
}
